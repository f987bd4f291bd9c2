// Decides who answers a request. Built-in routes answer on the I/O thread;
// everything else goes to the application.
//
//   OPTIONS *   → 204 with Allow (RFC 9110 §9.3.7)
//   CONNECT     → 501: Spindle is an origin server, not a tunnel
//   /healthz    → liveness and readiness, never waiting on the application
//   else        → the application
import type { Handler } from './connection.js';
import { methodNotAllowed, pathOf } from './demo/demo-routes.js';
import type { HttpRequest } from './http/request-parser.js';
import type { HttpResponse } from './http/response.js';

export interface RouterState {
  /** true once graceful shutdown has begun: /healthz answers 503 so balancers stop sending work */
  readonly isShuttingDown: boolean;
}

const ALLOW_ALL = 'GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS';

export function createRouter(app: Handler, state: RouterState): Handler {
  return (request, connection) => {
    const path = request.path;
    if (path === '*') return { status: 204, headers: ['Allow', ALLOW_ALL], body: null };
    if (request.method === 'CONNECT') {
      return { status: 501, headers: ['Content-Type', 'text/plain; charset=utf-8'], body: '501 Not Implemented\n' };
    }
    if (path.startsWith('/healthz') && pathOf(path) === '/healthz') return health(request, state);
    return app(request, connection);
  };
}

function health(request: HttpRequest, state: RouterState): HttpResponse {
  if (request.method !== 'GET' && request.method !== 'HEAD') return methodNotAllowed('GET, HEAD');
  const status = state.isShuttingDown ? 'shutting-down' : 'ok';
  return {
    status: state.isShuttingDown ? 503 : 200,
    headers: ['Content-Type', 'application/json', 'Cache-Control', 'no-store'],
    body: JSON.stringify({ status }) + '\n',
  };
}
