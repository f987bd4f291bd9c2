// What the engine itself reads from a parsed request head (RFC 9112 §3.2,
// §6, §9.3, RFC 9110 §7.2, §10.1.1): the request-target and Host, the
// message's framing (Content-Length, Transfer-Encoding), Connection and
// Expect. The parser calls it once the head is complete; everything else
// in the head is the handler's to read.
import { scanParameters, scanToken, splitList, trimOws } from './field-grammar.js';
import { HttpError } from './http-error.js';
import type { HttpRequest, ParserLimits } from './request-parser.js';
import { parseRequestTarget } from './request-target.js';
import { isValidAuthority } from './uri-host.js';

/**
 * Applies the header fields that the engine itself acts on: the target form,
 * Host, message framing (Content-Length, Transfer-Encoding), Connection and
 * Expect.
 */
export function applyHeaderSemantics(request: HttpRequest, limits: ParserLimits): void {
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
