// A strict, incremental HTTP/1.1 request parser (RFC 9112). It takes bytes and
// gives requests or throws an HttpError; it never touches a socket, so it can
// be tested at every byte split.
//
// Pull model: the connection push()es each chunk, then calls advance() until
// it says NEED_MORE. A message with a body first yields HEAD (the connection
// may answer 100-continue), then MESSAGE once the body is complete; a message
// without one yields MESSAGE at once. Bytes of the next pipelined request stay
// buffered until the connection asks for it, which is how it applies
// backpressure.
import { CR, IS_TARGET, IS_TOKEN, LF, SLASH, SP } from './bytes.js';
import { ChunkedDecoder } from './chunked-decoder.js';
import { readFieldLine } from './field-line.js';
import { HttpError } from './http-error.js';
import { applyHeaderSemantics } from './request-semantics.js';

export interface ParserLimits {
  /** request line → 414 */
  maxRequestLineBytes: number;
  /** request line and header fields together → 431 */
  maxHeaderBytes: number;
  /** header fields → 431 */
  maxHeaderCount: number;
  /** body → 413, judged from Content-Length before reading and while reading chunked */
  maxBodyBytes: number;
  /** chunk-ext bytes of one message → 413 */
  maxChunkExtensionBytes: number;
}

export const DEFAULT_PARSER_LIMITS: ParserLimits = {
  maxRequestLineBytes: 8 * 1024,
  maxHeaderBytes: 16 * 1024,
  maxHeaderCount: 100,
  maxBodyBytes: 1024 * 1024,
  maxChunkExtensionBytes: 16 * 1024,
};

/** A parsed request. Plain data, so it can be posted to a worker thread as it is. */
export interface HttpRequest {
  method: string;
  /** the request-target as sent */
  target: string;
  /** path and query for origin-form and absolute-form; "*" or the authority otherwise */
  path: string;
  /** 0 for HTTP/1.0, 1 for HTTP/1.1 (and any later HTTP/1.x) */
  versionMinor: number;
  /** header fields in order, flat: lower-cased name, value, name, value, ... */
  headers: string[];
  /** Host, or the authority of an absolute-form target (RFC 9112 §3.2.2) */
  authority: string;
  /** whether the client allows the connection to persist (RFC 9112 §9.3) */
  keepAlive: boolean;
  expectContinue: boolean;
  /** 0 when there is no body; -1 when chunked */
  contentLength: number;
  body: Buffer;
  /** chunked trailer fields, flat as headers */
  trailers: string[];
}

/** advance() results */
export const NEED_MORE = 0;
export const HEAD = 1;
export const MESSAGE = 2;
export type ParseStep = typeof NEED_MORE | typeof HEAD | typeof MESSAGE;

const S_HEAD = 0;
const S_LENGTH_BODY = 1;
const S_CHUNKED_BODY = 2;
const S_DONE = 3;

const EMPTY = Buffer.alloc(0);
const HTTP_PREFIX = 0x50545448; // "HTTP" read as a little-endian uint32

export class RequestParser {
  #limits: ParserLimits;
  #buf: Buffer = EMPTY;
  #pos = 0;
  #state = S_HEAD;
  /** S_HEAD: bytes after #pos already searched for the end of the head */
  #scanned = 0;
  /**
   * S_HEAD: length of the request line with its CRLF, once seen. Counted from
   * #pos, not an index into #buf: push() moves the unconsumed bytes of a
   * pipelined head (RFC 9112 §9.3.2) to the front of a new buffer.
   */
  #requestLineBytes = -1;
  #request: HttpRequest | null = null;
  #remaining = 0;
  #parts: Buffer[] = [];
  #chunked: ChunkedDecoder | null = null;
  /**
   * The body of the request being received goes to its handler as it comes
   * (takeBodyParts) rather than into request.body. The caller pauses the
   * body by not pushing more bytes: the parser holds only what it was given.
   */
  streamsBody = false;

  constructor(limits: ParserLimits = DEFAULT_PARSER_LIMITS) {
    this.#limits = limits;
  }

  /** True when no byte of a next request has been received. */
  get isIdle(): boolean {
    return this.#state === S_HEAD && this.#pos === this.#buf.length;
  }

  /** True while the head of a request is being received. */
  get isReadingHead(): boolean {
    return this.#state === S_HEAD && this.#pos < this.#buf.length;
  }

  /** True between a request's HEAD and its MESSAGE. */
  get isReadingBody(): boolean {
    return this.#state === S_LENGTH_BODY || this.#state === S_CHUNKED_BODY;
  }

  /**
   * The body bytes parsed since the last call, for a request whose body
   * streams. The parser keeps no reference to a socket chunk it has used up,
   * so a part that is a whole chunk is the caller's to move to another thread.
   */
  takeBodyParts(): Buffer[] {
    const parts = this.#parts;
    this.#parts = [];
    if (this.#pos === this.#buf.length) {
      this.#buf = EMPTY;
      this.#pos = 0;
    }
    return parts;
  }

  /** True when bytes are waiting that the parser has not consumed. */
  get hasBufferedBytes(): boolean {
    return this.#pos < this.#buf.length;
  }

  /** The request whose HEAD or MESSAGE advance() reported last. */
  get request(): HttpRequest {
    return this.#request!;
  }

  push(chunk: Buffer): void {
    if (this.#pos === this.#buf.length) {
      this.#buf = chunk;
    } else {
      this.#buf = Buffer.concat([this.#buf.subarray(this.#pos), chunk]);
    }
    this.#pos = 0;
  }

  /**
   * Parses as far as the buffered bytes allow. After MESSAGE, the next call
   * starts on the next request.
   */
  advance(): ParseStep {
    if (this.#state === S_DONE) this.#resetForNextMessage();
    switch (this.#state) {
      case S_HEAD:
        return this.#advanceHead();
      case S_LENGTH_BODY:
        return this.#advanceLengthBody();
      case S_CHUNKED_BODY:
        return this.#advanceChunkedBody();
    }
    return NEED_MORE;
  }

  /**
   * The request line of the message being parsed, once it is complete; null
   * before. For the log line of a request that fails after it (a bad header,
   * a body too large): the raw bytes as latin1, which the log escapes.
   */
  get requestLine(): string | null {
    const request = this.#request;
    if (request !== null) return `${request.method} ${request.target} HTTP/1.${request.versionMinor}`;
    if (this.#state !== S_HEAD || this.#requestLineBytes < 0) return null;
    return this.#buf.toString('latin1', this.#pos, this.#pos + this.#requestLineBytes - 2);
  }

  #resetForNextMessage(): void {
    this.#state = S_HEAD;
    this.#scanned = 0;
    this.#requestLineBytes = -1;
    this.#request = null;
    this.#parts = [];
    this.#chunked = null;
    this.streamsBody = false;
  }

  #advanceHead(): ParseStep {
    const buf = this.#buf;
    const limits = this.#limits;
    let lineStart = this.#pos + this.#scanned;
    for (;;) {
      const lf = buf.indexOf(LF, lineStart);
      if (lf < 0) break;
      // The limits before the line's syntax, as for the pending bytes below:
      // then the answer to a head never depends on where TCP split it.
      const headBytes = lf + 1 - this.#pos;
      if (this.#requestLineBytes < 0 && headBytes > limits.maxRequestLineBytes) {
        throw new HttpError(414, 'ERR_REQUEST_LINE_TOO_LONG', `request line is longer than ${limits.maxRequestLineBytes} bytes`);
      }
      if (headBytes > limits.maxHeaderBytes) throw headerSectionTooLarge(limits);
      if (lf === this.#pos || buf[lf - 1] !== CR) {
        // RFC 9112 §2.2 allows a recipient to accept a bare LF; Spindle does
        // not, because parsers that disagree on line ends enable smuggling.
        throw new HttpError(400, 'ERR_BARE_LF', 'cannot parse request head: bare LF line terminator');
      }
      const isEmptyLine = lf - 1 === lineStart;
      if (this.#requestLineBytes < 0) {
        if (isEmptyLine) {
          // RFC 9112 §2.2: ignore empty lines before the request line.
          this.#pos = lf + 1;
          lineStart = this.#pos;
          continue;
        }
        this.#requestLineBytes = headBytes;
      } else if (isEmptyLine) {
        return this.#finishHead(lf + 1);
      }
      lineStart = lf + 1;
    }
    // No complete head yet: bound what is waiting.
    const pending = buf.length - this.#pos;
    if (pending === 0) {
      // Idle: let go of the last chunk, so an idle connection holds no bytes.
      this.#buf = EMPTY;
      this.#pos = 0;
      return NEED_MORE;
    }
    if (this.#requestLineBytes < 0 && pending > limits.maxRequestLineBytes) {
      throw new HttpError(414, 'ERR_REQUEST_LINE_TOO_LONG', `request line is longer than ${limits.maxRequestLineBytes} bytes`);
    }
    if (pending > limits.maxHeaderBytes) throw headerSectionTooLarge(limits);
    this.#scanned = lineStart - this.#pos;
    return NEED_MORE;
  }

  /** Parses the complete head buf[#pos, headEnd) and decides how the body is framed. */
  #finishHead(headEnd: number): ParseStep {
    const buf = this.#buf;
    const requestLineEnd = this.#pos + this.#requestLineBytes;
    const request = parseRequestLine(buf, this.#pos, requestLineEnd - 2);
    const headers = request.headers;
    let lineStart = requestLineEnd;
    while (lineStart < headEnd - 2) {
      const lf = buf.indexOf(LF, lineStart);
      readFieldLine(buf, lineStart, lf - 1, headers);
      lineStart = lf + 1;
    }
    if (headers.length / 2 > this.#limits.maxHeaderCount) {
      throw new HttpError(431, 'ERR_TOO_MANY_HEADERS', `more than ${this.#limits.maxHeaderCount} header fields`);
    }
    applyHeaderSemantics(request, this.#limits);
    this.#pos = headEnd;
    this.#request = request;
    if (request.contentLength === -1) {
      this.#chunked = new ChunkedDecoder(this.#limits);
      this.#state = S_CHUNKED_BODY;
      return HEAD;
    }
    if (request.contentLength > 0) {
      this.#remaining = request.contentLength;
      this.#state = S_LENGTH_BODY;
      return HEAD;
    }
    this.#state = S_DONE;
    return MESSAGE;
  }

  #advanceLengthBody(): ParseStep {
    const available = this.#buf.length - this.#pos;
    if (available > 0) {
      const take = Math.min(available, this.#remaining);
      this.#parts.push(this.#buf.subarray(this.#pos, this.#pos + take));
      this.#pos += take;
      this.#remaining -= take;
    }
    if (this.#remaining > 0) return NEED_MORE;
    return this.#finishBody();
  }

  #advanceChunkedBody(): ParseStep {
    const decoder = this.#chunked!;
    this.#pos = decoder.decode(this.#buf, this.#pos, this.#parts);
    if (!decoder.isDone) return NEED_MORE;
    this.#request!.trailers = decoder.trailers;
    return this.#finishBody();
  }

  #finishBody(): ParseStep {
    const parts = this.#parts;
    if (this.streamsBody) this.#request!.body = EMPTY;
    else this.#request!.body = parts.length === 1 ? parts[0] : Buffer.concat(parts);
    this.#state = S_DONE;
    return MESSAGE;
  }
}

/** The first value of a request header field (names are lower-cased by the parser), or undefined. */
export function getRequestHeader(request: HttpRequest, lowerName: string): string | undefined {
  const headers = request.headers;
  for (let i = 0; i < headers.length; i += 2) {
    if (headers[i] === lowerName) return headers[i + 1];
  }
  return undefined;
}

function headerSectionTooLarge(limits: ParserLimits): HttpError {
  return new HttpError(431, 'ERR_HEADERS_TOO_LARGE', `header section is larger than ${limits.maxHeaderBytes} bytes`);
}

/**
 * request-line = method SP request-target SP HTTP-version (RFC 9112 §3),
 * with exactly one SP between the parts. end is the position of the CR.
 */
function parseRequestLine(buf: Buffer, start: number, end: number): HttpRequest {
  let i = start;
  while (i < end && IS_TOKEN[buf[i]] === 1) i++;
  if (i === start || i === end || buf[i] !== SP) {
    throw new HttpError(400, 'ERR_INVALID_METHOD', 'cannot parse request line: method is not a token followed by one space');
  }
  const method = buf.toString('latin1', start, i);
  const targetStart = i + 1;
  i = targetStart;
  while (i < end && IS_TARGET[buf[i]] === 1) i++;
  if (i === targetStart || i === end || buf[i] !== SP) {
    throw new HttpError(400, 'ERR_INVALID_TARGET', 'cannot parse request line: request-target has an invalid byte or is not followed by one space');
  }
  const target = buf.toString('latin1', targetStart, i);
  const versionMinor = parseVersion(buf, i + 1, end);
  return {
    method,
    target,
    path: target,
    versionMinor,
    headers: [],
    authority: '',
    keepAlive: versionMinor === 1,
    expectContinue: false,
    contentLength: 0,
    body: EMPTY,
    trailers: [],
  };
}

/** HTTP-version = "HTTP/" DIGIT "." DIGIT (RFC 9112 §2.3). Returns the minor version to use. */
function parseVersion(buf: Buffer, start: number, end: number): number {
  if (
    end - start !== 8 ||
    buf.readUInt32LE(start) !== HTTP_PREFIX ||
    buf[start + 4] !== SLASH ||
    !isDigit(buf[start + 5]) ||
    buf[start + 6] !== 0x2e ||
    !isDigit(buf[start + 7])
  ) {
    throw new HttpError(400, 'ERR_INVALID_VERSION', 'cannot parse request line: missing or malformed HTTP version');
  }
  const major = buf[start + 5] - 0x30;
  const minor = buf[start + 7] - 0x30;
  if (major !== 1) {
    throw new HttpError(505, 'ERR_VERSION_NOT_SUPPORTED', `HTTP/${major}.${minor} is not supported`);
  }
  // RFC 9110 §6.2: a later 1.x minor version is answered as HTTP/1.1.
  return minor === 0 ? 0 : 1;
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}
