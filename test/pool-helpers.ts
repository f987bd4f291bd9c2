// Helpers for the thread pool's tests and the end-to-end tests of the server
// running applications on it: the fixture modules, a promise whose
// settlement can be watched, and a one-shot HTTP client (a fresh connection
// per request, so requests in flight never share or queue on a socket).
import assert from 'node:assert/strict';
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import { PoolError, type PoolErrorCode } from '../src/pool/pool-errors.js';
import type { PoolStats } from '../src/pool/thread-pool.js';
import { PATIENCE_MS } from './helpers.js';

/** The compiled job module of test/fixtures/jobs.ts. */
export const JOBS_MODULE = new URL('./fixtures/jobs.js', import.meta.url);

/** The URL of a compiled fixture module, e.g. fixtureUrl('hono-app.js'). */
export function fixtureUrl(name: string): URL {
  return new URL(`./fixtures/${name}`, import.meta.url);
}

/** The file path of a compiled fixture module. */
export function fixturePath(name: string): string {
  return fileURLToPath(fixtureUrl(name));
}

export interface Watched<T> {
  promise: Promise<T>;
  readonly isSettled: boolean;
}

/** Wraps a promise so a test can ask whether it has settled yet; its rejection counts as handled. */
export function watch<T>(promise: Promise<T>): Watched<T> {
  let isSettled = false;
  const settle = (): void => {
    isSettled = true;
  };
  promise.then(settle, settle);
  return {
    promise,
    get isSettled() {
      return isSettled;
    },
  };
}

/** Asserts that promise rejects with a PoolError of the given code. */
export async function assertPoolError(promise: Promise<unknown>, code: PoolErrorCode): Promise<PoolError> {
  let caught: unknown;
  await assert.rejects(promise, (err) => {
    caught = err;
    return true;
  });
  assert.ok(caught instanceof PoolError, `expected a PoolError ${code}, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  return caught;
}

// ─── HTTP ────────────────────────────────────────────────────────────────────

export interface HttpResult {
  status: number;
  /** Node's parsed headers: names lower-cased, set-cookie an array */
  headers: http.IncomingHttpHeaders;
  /** field lines as received: name, value, name, value, ... */
  rawHeaders: string[];
  body: Buffer;
  text: string;
}

export interface HttpRequestOptions {
  method?: string;
  /** header fields in order; repeat a name to send it twice */
  headers?: Array<[string, string]>;
  body?: string | Uint8Array;
  timeoutMs?: number;
}

/** Sends one request on a connection of its own and reads the whole response. */
export function httpRequest(url: string, options: HttpRequestOptions = {}): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    // Raw headers as an array keep repeated names apart, but then Node adds no Host of its own.
    const fields = options.headers ?? [];
    const rawHeaders: string[] = fields.some(([name]) => name.toLowerCase() === 'host') ? [] : ['Host', new URL(url).host];
    for (const [name, value] of fields) rawHeaders.push(name, value);
    const request = http.request(url, { method: options.method ?? 'GET', agent: false, headers: rawHeaders, timeout: options.timeoutMs ?? PATIENCE_MS * 2 });
    request.on('timeout', () => request.destroy(new Error(`${options.method ?? 'GET'} ${url}: no response within the timeout`)));
    request.on('error', reject);
    request.on('response', (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('error', reject);
      response.on('end', () => {
        const body = Buffer.concat(chunks);
        resolve({ status: response.statusCode!, headers: response.headers, rawHeaders: response.rawHeaders, body, text: body.toString('utf8') });
      });
    });
    request.end(options.body);
  });
}

/** The body of GET /healthz: the pool's stats, a status word, and the connections. */
export interface Health extends PoolStats {
  status: string;
  connections: number;
  maxConnections: number;
}

export async function getHealth(baseUrl: string): Promise<Health> {
  const response = await httpRequest(`${baseUrl}/healthz`);
  assert.match(String(response.headers['content-type']), /^application\/json/);
  return JSON.parse(response.text) as Health;
}

/** Polls GET /healthz until `isDone` holds for its answer; fails the test after the timeout. */
export async function waitForHealth(baseUrl: string, isDone: (health: Health) => boolean, what: string, timeoutMs = PATIENCE_MS): Promise<Health> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const health = await getHealth(baseUrl);
    if (isDone(health)) return health;
    if (Date.now() > deadline) assert.fail(`timed out after ${timeoutMs} ms waiting until ${what}; last /healthz: ${JSON.stringify(health)}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
