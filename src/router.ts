// Decides who answers a request. Built-in routes and static files answer on
// the I/O thread; everything else goes to the application.
//
//   OPTIONS *   → 204 with Allow (RFC 9110 §9.3.7)
//   CONNECT     → 501: Spindle is an origin server, not a tunnel
//   /healthz    → liveness and readiness, never waiting on the application
//   /metrics    → Prometheus metrics, with --metrics
//   a file      → the static root, when one is served
//   else        → the application, or 404 when there is none
import { NOT_FOUND_PAGE } from './demo/pages.js';
import type { Handler } from './http/exchange.js';
import { disallowedMethod } from './http/methods.js';
import type { HttpRequest } from './http/request-parser.js';
import type { HttpResponse } from './http/response.js';
import type { PoolStats } from './pool/thread-pool.js';
import type { StaticFiles } from './static/static-files.js';

export interface RouterState {
  /** true once graceful shutdown has begun: /healthz answers 503 so balancers stop sending work */
  readonly isShuttingDown: boolean;
  /** the drain delay before shutdown: still serving, but /healthz says draining (503) */
  readonly isDraining: boolean;
  /** the application's pool, null with an inline handler */
  readonly poolStats: PoolStats | null;
  /** open connections, and the cap on them */
  readonly connectionCount: number;
  readonly maxConnections: number;
  /** the application's generation (reloads), null without one */
  readonly generation: number | null;
  /** with --metrics: the Prometheus text of GET /metrics */
  readonly metrics: { render(): string } | null;
}

const ALLOW_ALL = 'GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS';

export function createRouter(app: Handler | null, staticFiles: StaticFiles | null, state: RouterState): Handler {
  const fallback: Handler = app ?? (() => NOT_FOUND);
  return (request, exchange) => {
    const path = request.path;
    if (path === '*') return { status: 204, headers: ['Allow', ALLOW_ALL], body: null };
    if (request.method === 'CONNECT') {
      return { status: 501, headers: ['Content-Type', 'text/plain; charset=utf-8'], body: '501 Not Implemented\n' };
    }
    if (isHealthPath(path)) return health(request, state);
    if (state.metrics !== null && isMetricsPath(path)) return metrics(request, state.metrics);
    if (staticFiles === null) return fallback(request, exchange);
    // A file that exists is served; anything else goes on to the application.
    const response = staticFiles.handle(request);
    if (!(response instanceof Promise)) return response === null ? fallback(request, exchange) : fromFile(response, exchange);
    return response.then((found) => (found === null ? fallback(request, exchange) : fromFile(found, exchange)));
  };
}

function fromFile(response: HttpResponse, exchange: Parameters<Handler>[1]): HttpResponse {
  exchange.facts.answeredBy = 'static';
  return response;
}

const NOT_FOUND: HttpResponse = { status: 404, headers: ['Content-Type', 'text/html; charset=utf-8'], body: NOT_FOUND_PAGE };

/** /healthz, with or without a query */
export const isHealthPath = (path: string): boolean => path.startsWith('/healthz') && pathOf(path) === '/healthz';
const isMetricsPath = (path: string): boolean => path.startsWith('/metrics') && pathOf(path) === '/metrics';

/**
 * The routes the server answers itself, alike for every host name: health
 * checks and scrapers reach them by address (a Kubernetes probe's Host is
 * the pod's IP), so HTTPS answers them whatever the Host.
 */
export function isServerRoute(path: string): boolean {
  return isHealthPath(path) || isMetricsPath(path);
}

/** The path of a target without its query. */
function pathOf(target: string): string {
  const q = target.indexOf('?');
  return q < 0 ? target : target.slice(0, q);
}

/** The Prometheus text exposition format, version 0.0.4. */
function metrics(request: HttpRequest, source: { render(): string }): HttpResponse {
  if (request.method !== 'GET' && request.method !== 'HEAD') return disallowedMethod(request.method, 'GET, HEAD');
  return {
    status: 200,
    headers: ['Content-Type', 'text/plain; version=0.0.4; charset=utf-8', 'Cache-Control', 'no-store'],
    body: source.render(),
  };
}

/**
 * Liveness and readiness in one answer, computed on the I/O thread:
 *   ok            every worker is ready
 *   degraded      some workers are being replaced (200: the server still serves)
 *   unavailable   no worker is ready, e.g. the application keeps crashing (503)
 *   draining      the drain delay after SIGTERM: still serving, but send new work elsewhere (503)
 *   shutting-down graceful shutdown has begun (503: send new work elsewhere)
 */
function health(request: HttpRequest, state: RouterState): HttpResponse {
  if (request.method !== 'GET' && request.method !== 'HEAD') return disallowedMethod(request.method, 'GET, HEAD');
  const pool = state.poolStats;
  let status = 'ok';
  if (state.isDraining) status = 'draining';
  else if (state.isShuttingDown) status = 'shutting-down';
  else if (pool !== null && pool.ready === 0) status = 'unavailable';
  else if (pool !== null && pool.ready < pool.threads) status = 'degraded';
  const connections = { connections: state.connectionCount, maxConnections: state.maxConnections };
  const body = pool === null
    ? { status, ...connections }
    : {
        status,
        threads: pool.threads,
        concurrency: pool.concurrency,
        busy: pool.busy,
        inFlight: pool.inFlight,
        inFlightPerWorker: pool.inFlightPerWorker,
        queued: pool.queued,
        ready: pool.ready,
        restarts: pool.restarts,
        backoffMs: pool.backoffMs,
        lastError: pool.lastError,
        generation: state.generation,
        ...connections,
      };
  return {
    status: status === 'ok' || status === 'degraded' ? 200 : 503,
    headers: ['Content-Type', 'application/json', 'Cache-Control', 'no-store'],
    body: JSON.stringify(body) + '\n',
  };
}
