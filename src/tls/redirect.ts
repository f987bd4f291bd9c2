// The plain-HTTP listener beside HTTPS (--redirect-http): every request is
// sent to the same path on the HTTPS origin with 308, which keeps the
// method and body (RFC 9110 §15.4.9), except /healthz, so that a load
// balancer's plain-HTTP health check still sees the server's state.
import type { Handler } from '../http/exchange.js';
import { isHealthPath } from '../router.js';
import { hostOfAuthority } from './certificates.js';

export function createRedirect(router: Handler, httpsPort: () => number): Handler {
  return (request, exchange) => {
    const path = request.path;
    if (isHealthPath(path)) return router(request, exchange);
    // No Host (HTTP/1.0): the redirect cannot name the origin, so it names nothing.
    if (request.authority === '') {
      return { status: 400, headers: ['Content-Type', 'text/plain; charset=utf-8'], body: 'This port redirects to HTTPS: send a Host header\n' };
    }
    const host = hostOfAuthority(request.authority);
    const port = httpsPort();
    const origin = `https://${host.includes(':') ? `[${host}]` : host}${port === 443 ? '' : `:${port}`}`;
    const location = origin + (path.charCodeAt(0) === 0x2f ? path : '/');
    return {
      status: 308,
      headers: ['Location', location, 'Content-Type', 'text/plain; charset=utf-8'],
      body: `Moved to ${location}\n`,
    };
  };
}
