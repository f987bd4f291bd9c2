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
import { scanParameters, scanToken, splitList, trimOws } from './field-grammar.js';
import { readFieldLine } from './field-line.js';
import { HttpError } from './http-error.js';
import { parseRequestTarget } from './request-target.js';
import { isValidAuthority } from './uri-host.js';

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

  #resetForNextMessage(): void {
    this.#state = S_HEAD;
    this.#scanned = 0;
    this.#requestLineBytes = -1;
    this.#request = null;
    this.#parts = [];
    this.#chunked = null;
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
    this.#request!.body = parts.length === 1 ? parts[0] : Buffer.concat(parts);
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

/**
 * Applies the header fields that the engine itself acts on: the target form,
 * Host, message framing (Content-Length, Transfer-Encoding), Connection and
 * Expect.
 */
function applyHeaderSemantics(request: HttpRequest, limits: ParserLimits): void {
  const headers = request.headers;
  let host: string | null = null;
  let hostCount = 0;
  let contentLength = -1;
  let transferEncoding: string | null = null;
  let connection: string | null = null;
  let expect: string | null = null;
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i];
    switch (name.length) {
      case 4:
        if (name === 'host') {
          host = headers[i + 1];
          hostCount++;
        }
        break;
      case 6:
        if (name === 'expect') expect = expect === null ? headers[i + 1] : `${expect}, ${headers[i + 1]}`;
        break;
      case 10:
        if (name === 'connection') connection = connection === null ? headers[i + 1] : `${connection}, ${headers[i + 1]}`;
        break;
      case 14:
        if (name === 'content-length') contentLength = parseContentLength(headers[i + 1], contentLength);
        break;
      case 17:
        if (name === 'transfer-encoding') {
          transferEncoding = transferEncoding === null ? headers[i + 1] : `${transferEncoding}, ${headers[i + 1]}`;
        }
        break;
    }
  }

  applyTarget(request, host, hostCount);

  if (connection !== null) {
    // RFC 9112 §9.3: "close" ends the connection after this response; HTTP/1.0
    // persists only with "keep-alive".
    const options = splitList(connection.toLowerCase());
    if (options.includes('close')) request.keepAlive = false;
    else if (request.versionMinor === 0 && options.includes('keep-alive')) request.keepAlive = true;
  }

  if (transferEncoding !== null) {
    if (contentLength >= 0) {
      // RFC 9112 §6.1: Transfer-Encoding with Content-Length is how requests
      // are smuggled past a proxy. Reject, and the connection closes.
      throw new HttpError(400, 'ERR_TE_WITH_CL', 'request has both Transfer-Encoding and Content-Length');
    }
    if (request.versionMinor === 0) {
      // RFC 9112 §6.1: an HTTP/1.0 message with Transfer-Encoding has faulty framing.
      throw new HttpError(400, 'ERR_TE_IN_HTTP10', 'HTTP/1.0 request has Transfer-Encoding');
    }
    checkTransferCodings(transferEncoding);
    request.contentLength = -1;
  } else if (contentLength > 0) {
    if (contentLength > limits.maxBodyBytes) {
      throw new HttpError(413, 'ERR_BODY_TOO_LARGE', `request body is larger than ${limits.maxBodyBytes} bytes`);
    }
    request.contentLength = contentLength;
  }

  if (expect !== null && request.versionMinor === 1) {
    // RFC 9110 §10.1.1: 100-continue is the only expectation defined; a server
    // ignores it in an HTTP/1.0 request.
    const expectations = splitList(expect.toLowerCase());
    for (const expectation of expectations) {
      if (expectation !== '100-continue') {
        throw new HttpError(417, 'ERR_EXPECTATION_FAILED', 'the only expectation supported is 100-continue');
      }
    }
    // An empty Expect field (RFC 9110 §5.6.1: a list may be empty) asks for nothing.
    request.expectContinue = expectations.length > 0 && request.contentLength !== 0;
  }
}

function applyTarget(request: HttpRequest, host: string | null, hostCount: number): void {
  // RFC 9112 §3.2: an HTTP/1.1 request has exactly one Host, and any Host
  // must be valid; 400 otherwise. An empty Host is valid: a client sends one
  // when the target URI has no authority.
  if (hostCount > 1) throw new HttpError(400, 'ERR_INVALID_HOST', 'request has more than one Host header field');
  if (hostCount === 0 && request.versionMinor === 1) {
    throw new HttpError(400, 'ERR_MISSING_HOST', 'HTTP/1.1 request has no Host header field');
  }
  if (host !== null && host !== '' && !isValidAuthority(host)) {
    throw new HttpError(400, 'ERR_INVALID_HOST', 'Host header field is not a valid host');
  }
  const target = parseRequestTarget(request.method, request.target);
  request.path = target.path;
  // RFC 9112 §3.2.2: the authority of an absolute-form target overrides Host.
  request.authority = target.authority ?? host ?? '';
}

/**
 * Content-Length = 1*DIGIT (RFC 9110 §8.6). A list of identical values, or
 * identical repeated fields, is accepted as one value; anything else is 400.
 */
function parseContentLength(value: string, previous: number): number {
  let result = previous;
  // Not splitList: Content-Length is not a list (RFC 9110 §8.6), and a list
  // of identical values is only tolerated, so an empty element ("5,") is
  // rejected here rather than skipped.
  for (const item of value.split(',')) {
    // Only OWS surrounds an element (field-grammar.ts says why not trim).
    const digits = trimOws(item);
    if (digits.length === 0 || digits.length > 16 || !/^[0-9]+$/.test(digits)) {
      throw new HttpError(400, 'ERR_INVALID_CONTENT_LENGTH', 'Content-Length is not a non-negative decimal integer');
    }
    const n = Number(digits);
    if (n > Number.MAX_SAFE_INTEGER) {
      throw new HttpError(400, 'ERR_INVALID_CONTENT_LENGTH', 'Content-Length is larger than 2^53 - 1');
    }
    if (result >= 0 && result !== n) {
      throw new HttpError(400, 'ERR_INVALID_CONTENT_LENGTH', 'Content-Length has different values');
    }
    result = n;
  }
  return result;
}

/**
 * RFC 9112 §6.3: with Transfer-Encoding in a request, chunked must be the
 * final coding (else the length cannot be determined: 400). Spindle decodes
 * only chunked; any other coding is 501 (RFC 9112 §6.1).
 */
function checkTransferCodings(value: string): void {
  const codings = splitList(value.toLowerCase());
  if (codings.length === 0 || codings[codings.length - 1] !== 'chunked') {
    throw new HttpError(400, 'ERR_TE_NOT_CHUNKED', 'Transfer-Encoding does not end with chunked');
  }
  for (let i = 0; i < codings.length - 1; i++) {
    if (codings[i] === 'chunked') {
      throw new HttpError(400, 'ERR_TE_CHUNKED_TWICE', 'Transfer-Encoding applies chunked more than once');
    }
    if (!isTransferCoding(codings[i])) {
      throw new HttpError(400, 'ERR_TE_INVALID', 'Transfer-Encoding has an invalid coding');
    }
  }
  if (codings.length > 1) {
    throw new HttpError(501, 'ERR_TE_NOT_IMPLEMENTED', `Transfer-Encoding ${codings[0]} is not implemented`);
  }
}

/**
 * transfer-coding = token *( OWS ";" OWS transfer-parameter ), where
 * transfer-parameter = token BWS "=" BWS ( token / quoted-string ) (RFC 9112 §7).
 */
function isTransferCoding(element: string): boolean {
  const nameEnd = scanToken(element, 0);
  return nameEnd > 0 && scanParameters(element, nameEnd, null, true) === element.length;
}
