// What an HTTPS connection does differently from a plain one, given to its
// Connection as options: requests for a host its certificate does not cover
// are misdirected (but for the server's own /healthz and /metrics, which
// probes reach by address), and every response may carry HSTS.
import type { ConnectionOptions } from '../connection-host.js';
import { errorResponse, type HttpResponse } from '../http/response.js';
import { isServerRoute } from '../router.js';
import { covers, hostOfAuthority, type LoadedCertificate } from './certificates.js';

/**
 * RFC 9110 §15.5.20: this connection cannot answer for that host (a client
 * reused it for another name). The client may retry on a new connection,
 * so this one stays open.
 */
const MISDIRECTED = { response: errorResponse(421), close: false };

/** nginx's 497, sent as 400: the client spoke plain HTTP to the HTTPS port. */
const PLAIN_HTTP_RESPONSE: HttpResponse = {
  status: 400,
  headers: ['Content-Type', 'text/plain; charset=utf-8'],
  body: 'This port speaks HTTPS: a plain HTTP request was sent to it; use https://\n',
};

/** Options of a Connection on the raw socket of an HTTPS port whose client sent plain HTTP: every request is refused and the connection closed. */
export const PLAIN_HTTP_ON_HTTPS: ConnectionOptions = {
  screen: () => ({ response: PLAIN_HTTP_RESPONSE, close: true }),
};

/** Options of a Connection over TLS; `certificate` is the one its handshake chose. */
export function httpsOptions(certificate: () => LoadedCertificate, hstsMaxAge: number | null): ConnectionOptions {
  return {
    screen: (request) => (request.authority === '' || isServerRoute(request.path) || covers(certificate(), hostOfAuthority(request.authority)) ? null : MISDIRECTED),
    extraHead: hstsMaxAge === null ? undefined : hstsHead(hstsMaxAge),
  };
}

const hstsHeads = new Map<number, string>();

/** One string per max-age, made once. */
function hstsHead(maxAge: number): string {
  let head = hstsHeads.get(maxAge);
  if (head === undefined) {
    head = `Strict-Transport-Security: max-age=${maxAge}\r\n`;
    hstsHeads.set(maxAge, head);
  }
  return head;
}
