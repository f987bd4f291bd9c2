// What a handler answers, and how it becomes bytes on the wire (RFC 9112 §4,
// §6). The types are plain data so a response can come back from a worker
// thread as it is, its body bytes transferred.
import { STATUS_CODES } from 'node:http';
import { isFieldValue, isToken } from './bytes.js';
import { HttpError } from './http-error.js';

/** A response body: nothing, text (sent as UTF-8), bytes, or a stream of byte chunks. */
export type ResponseBody = null | string | Uint8Array | AsyncIterable<Uint8Array>;

/** A body sent as it is, in one write: not a stream. */
export function isWholeBody(body: ResponseBody): body is null | string | Uint8Array {
  return body === null || typeof body === 'string' || body instanceof Uint8Array;
}

export interface HttpResponse {
  status: number;
  /** header fields, flat: name, value, name, value, ... */
  headers: string[];
  body: ResponseBody;
  /** the length of a streamed body, when known (a file): sent as Content-Length instead of chunked */
  contentLength?: number;
  /**
   * Called when this response's turn comes, before its head is written: the
   * response to send instead, its body made ready (a file opened) or an
   * error response when it could not be. A response waiting behind earlier
   * pipelined ones therefore holds nothing open.
   */
  prepare?: () => Promise<HttpResponse>;
}

/**
 * Hop-by-hop and framing fields belong to the connection, so the engine sets
 * them itself and drops a handler's (RFC 9110 §7.6.1, RFC 9112 §6).
 */
const ENGINE_OWNED = new Set(['connection', 'content-length', 'transfer-encoding', 'keep-alive', 'upgrade', 'proxy-connection']);

// RFC 9110 §6.6.1: an origin server with a clock sends Date. Formatting it
// costs more than the rest of a small response, so it is made once a second.
let cachedDate = '';
function currentDate(): string {
  if (cachedDate === '') {
    cachedDate = new Date().toUTCString();
    setTimeout(() => { cachedDate = ''; }, 1000 - (Date.now() % 1000)).unref();
  }
  return cachedDate;
}

export function reasonPhrase(status: number): string {
  return STATUS_CODES[status] ?? 'Unknown';
}

/** How the body of a response is delimited on the wire. */
export const FRAMING_NONE = 0; // no body at all (HEAD, 1xx, 204, 304)
export const FRAMING_LENGTH = 1; // Content-Length
export const FRAMING_CHUNKED = 2; // Transfer-Encoding: chunked
export const FRAMING_CLOSE = 3; // HTTP/1.0 client and unknown length: read until close
export type Framing = typeof FRAMING_NONE | typeof FRAMING_LENGTH | typeof FRAMING_CHUNKED | typeof FRAMING_CLOSE;

/**
 * How a response's body is delimited (RFC 9112 §6.1-6.3), and the
 * Content-Length to send (-1 for none): no body for HEAD and the statuses
 * that never have one (which may still carry the length the body would
 * have, RFC 9110 §8.6; 204 never does, §8.6); a length for bytes, text and
 * streams of known length; chunked for other streams to HTTP/1.1 clients;
 * and to an HTTP/1.0 client, read until close.
 */
export function chooseFraming(response: HttpResponse, isHead: boolean, versionMinor: number): { framing: Framing; length: number } {
  const body = response.body;
  if (statusHasNoBody(response.status) || isHead) {
    if (response.status === 204) return { framing: FRAMING_NONE, length: -1 };
    let length: number;
    if (typeof body === 'string') length = Buffer.byteLength(body);
    else if (body instanceof Uint8Array) length = body.byteLength;
    else if (body === null) length = declaredLength(response);
    else length = response.contentLength ?? -1;
    return { framing: FRAMING_NONE, length };
  }
  if (body === null) return { framing: FRAMING_LENGTH, length: 0 };
  if (typeof body === 'string') return { framing: FRAMING_LENGTH, length: Buffer.byteLength(body) };
  if (body instanceof Uint8Array) return { framing: FRAMING_LENGTH, length: body.byteLength };
  if (response.contentLength !== undefined) return { framing: FRAMING_LENGTH, length: response.contentLength }; // a file
  return { framing: versionMinor === 1 ? FRAMING_CHUNKED : FRAMING_CLOSE, length: -1 };
}

/** Content-Length a handler declared for a HEAD or 304 answer without a body. */
function declaredLength(response: HttpResponse): number {
  const value = getHeader(response.headers, 'content-length');
  return value !== undefined && /^[0-9]{1,15}$/.test(value) ? Number(value) : -1;
}

export interface HeadOptions {
  versionMinor: number;
  keepAlive: boolean;
  framing: Framing;
  contentLength: number;
  /** header lines the server adds to every response, serialized ("Name: value\r\n") */
  extraHead?: string;
  /** sent as X-Request-Id unless the handler set one */
  requestId?: string;
}

/**
 * Serializes a response head. Throws HttpError 500 when the handler gave an
 * invalid status, header name or value: a CR or LF in a value must never
 * split the response.
 */
export function serializeHead(response: HttpResponse, options: HeadOptions): string {
  const status = response.status;
  if (!Number.isInteger(status) || status < 200 || status > 599) {
    throw new HttpError(500, 'ERR_INVALID_STATUS', `handler gave an invalid status ${String(status)}`);
  }
  // RFC 9110 §6.2: the status line carries the server's own version, 1.1;
  // versionMinor only decides framing and keep-alive.
  let head = `HTTP/1.1 ${status} ${reasonPhrase(status)}\r\n`;
  let hasDate = false;
  let hasRequestId = false;
  const headers = response.headers;
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i];
    const value = headers[i + 1];
    if (!isToken(name)) throw new HttpError(500, 'ERR_INVALID_HEADER_NAME', `handler gave an invalid header name ${JSON.stringify(name)}`);
    if (typeof value !== 'string' || !isFieldValue(value)) {
      throw new HttpError(500, 'ERR_INVALID_HEADER_VALUE', `handler gave an invalid value for header ${name}`);
    }
    const lower = name.toLowerCase();
    if (ENGINE_OWNED.has(lower)) continue;
    if (lower === 'date') hasDate = true;
    else if (lower === 'x-request-id') hasRequestId = true;
    head += `${name}: ${value}\r\n`;
  }
  if (!hasDate) head += `Date: ${currentDate()}\r\n`;
  if (options.requestId !== undefined && !hasRequestId) head += `X-Request-Id: ${options.requestId}\r\n`;
  if (options.extraHead !== undefined) head += options.extraHead;
  switch (options.framing) {
    case FRAMING_LENGTH:
      head += `Content-Length: ${options.contentLength}\r\n`;
      break;
    case FRAMING_CHUNKED:
      head += 'Transfer-Encoding: chunked\r\n';
      break;
    case FRAMING_NONE:
      // HEAD and 304 may carry the length the body would have (RFC 9110 §8.6).
      if (options.contentLength >= 0) head += `Content-Length: ${options.contentLength}\r\n`;
      break;
  }
  if (!options.keepAlive) head += 'Connection: close\r\n';
  else if (options.versionMinor === 0) head += 'Connection: keep-alive\r\n';
  return head + '\r\n';
}

/** The first value of a response header field (names as the handler wrote them), matched case-insensitively. */
export function getHeader(headers: string[], lowerName: string): string | undefined {
  for (let i = 0; i < headers.length; i += 2) {
    if (headers[i].toLowerCase() === lowerName) return headers[i + 1];
  }
  return undefined;
}

/** A small plain-text response for an error status. */
export function errorResponse(status: number, extraHeaders: string[] = []): HttpResponse {
  return {
    status,
    headers: ['Content-Type', 'text/plain; charset=utf-8', ...extraHeaders],
    body: `${status} ${reasonPhrase(status)}\n`,
  };
}

/** RFC 9110 §6.4.1: these never have content. */
export function statusHasNoBody(status: number): boolean {
  return status === 204 || status === 304 || (status >= 100 && status < 200);
}
