import type { HttpResponse } from './response.js';

// Methods the IANA HTTP Method Registry knows (RFC 9110 §18.2 and the
// registrations it points to). RFC 9110 §9.1: an origin server answers a
// method it does not recognize with 501, and a known one it does not allow
// on a resource with 405 and Allow.
const REGISTERED = new Set([
  'ACL', 'BASELINE-CONTROL', 'BIND', 'CHECKIN', 'CHECKOUT', 'CONNECT', 'COPY', 'DELETE', 'GET', 'HEAD', 'LABEL', 'LINK',
  'LOCK', 'MERGE', 'MKACTIVITY', 'MKCALENDAR', 'MKCOL', 'MKREDIRECTREF', 'MKWORKSPACE', 'MOVE', 'OPTIONS', 'ORDERPATCH',
  'PATCH', 'POST', 'PRI', 'PROPFIND', 'PROPPATCH', 'PUT', 'QUERY', 'REBIND', 'REPORT', 'SEARCH', 'TRACE', 'UNBIND',
  'UNCHECKOUT', 'UNLINK', 'UNLOCK', 'UPDATE', 'UPDATEREDIRECTREF', 'VERSION-CONTROL',
]);

/** The status for a method a resource does not allow: 405 when the method is registered, else 501. */
export function disallowedMethodStatus(method: string): 405 | 501 {
  return REGISTERED.has(method) ? 405 : 501;
}

/** The answer to a method a resource does not allow: 405 with Allow, or 501 for an unknown method. */
export function disallowedMethod(method: string, allow: string): HttpResponse {
  const status = disallowedMethodStatus(method);
  return {
    status,
    // Allow also tells a client of an unknown method what does work (RFC 9110 §10.2.1).
    headers: ['Allow', allow, 'Content-Type', 'text/plain; charset=utf-8'],
    body: status === 405 ? '405 Method Not Allowed\n' : '501 Not Implemented\n',
  };
}
