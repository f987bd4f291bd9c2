// Request ids: a client's (or a proxy's) X-Request-Id is kept when it is
// sane, so one id follows a request through every hop; otherwise one is
// made here. The application sees it as the request's X-Request-Id header,
// the response carries it, and the access log has it.
import { randomBytes } from 'node:crypto';
import type { HttpRequest } from './request-parser.js';

/** longest id kept from a client; a longer one is replaced (a log line must stay bounded) */
export const MAX_REQUEST_ID_LENGTH = 128;

// A random prefix per process and a counter: unique without a random draw per request.
const PREFIX = randomBytes(6).toString('hex');
let counter = 0;

export function newRequestId(): string {
  counter = counter === Number.MAX_SAFE_INTEGER ? 1 : counter + 1;
  return `${PREFIX}-${counter.toString(36)}`;
}

/** Visible ASCII only (no space, no control), 1 to MAX_REQUEST_ID_LENGTH characters. */
export function isValidRequestId(value: string): boolean {
  if (value.length === 0 || value.length > MAX_REQUEST_ID_LENGTH) return false;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

/**
 * The request's id: its X-Request-Id when there is exactly one and it is
 * valid; otherwise a new one, which replaces what the client sent (so the
 * application sees the id that is logged).
 */
export function adoptRequestId(request: HttpRequest): string {
  const headers = request.headers;
  let at = -1;
  let count = 0;
  for (let i = 0; i < headers.length; i += 2) {
    if (headers[i] !== 'x-request-id') continue;
    if (at < 0) at = i;
    count++;
  }
  if (count === 1 && isValidRequestId(headers[at + 1])) return headers[at + 1];
  const id = newRequestId();
  if (at < 0) {
    headers.push('x-request-id', id);
    return id;
  }
  headers[at + 1] = id;
  // Repeated: none of them is believed, and only the one made here is left.
  for (let i = headers.length - 2; i > at; i -= 2) if (headers[i] === 'x-request-id') headers.splice(i, 2);
  return id;
}
