// Runs inside each worker thread: the job module of the HTTP pool. It imports
// the application once, then turns each HttpJob into a `Request`, calls the
// application's `fetch`, and reads its `Response` back into plain data.
import { MessageChannel, threadId, type MessagePort } from 'node:worker_threads';
import type { JobContext } from '../pool/job-module.js';
import { readAhead, sendBody } from './body-stream.js';
import { decodeHttpJob, encodeHttpResult, type AppSetup, type HttpJob, type HttpJobResult } from './http-job.js';
import { GlobalRequest, WorkerRequest, createGlobalFetch } from './worker-request.js';
import { WorkerResponse } from './worker-response.js';

/** The fetch-handler convention of Bun, Deno, Cloudflare Workers and Hono. */
export interface FetchApp {
  fetch(request: Request, ...rest: unknown[]): Response | Promise<Response>;
}

let app: FetchApp;

/**
 * Response bodies still streaming after their jobs ended: a worker of a
 * generation being retired (a reload) lets them finish before it exits.
 */
const streams = {
  count: 0,
  onIdle: null as (() => void) | null,
  open(port: MessagePort): void {
    this.count++;
    port.once('close', () => {
      if (--this.count === 0) this.onIdle?.();
    });
  },
};

/** The pool awaits this once the worker's last job has ended, before the thread exits. */
export function drain(): Promise<void> {
  if (streams.count === 0) return Promise.resolve();
  return new Promise((resolve) => {
    streams.onIdle = resolve;
  });
}

/** Jobs come through the pool's shared queue encoded by encodeHttpJob. */
export const decodePayload = decodeHttpJob;
/** Results go back through the worker's mailbox, for decodeHttpResult. */
export const encodeResult = encodeHttpResult;

export async function setup(data: AppSetup): Promise<void> {
  // The application sees Spindle's cheap Request and Response as the globals
  // of its thread; they behave as the native classes through the standard API.
  const nativeFetch = globalThis.fetch;
  Object.assign(globalThis, {
    Request: GlobalRequest,
    Response: WorkerResponse,
    fetch: createGlobalFetch(nativeFetch),
  });
  const mod = (await import(data.appModule)) as { default?: unknown };
  const candidate = (mod.default ?? mod) as Partial<FetchApp> | undefined;
  if (candidate === undefined || candidate === null || typeof candidate.fetch !== 'function') {
    throw new TypeError(`${data.appModule}: the default export has no fetch(request) method`);
  }
  app = candidate as FetchApp;
}

export default function runHttpJob(job: HttpJob, context: JobContext): HttpJobResult | Promise<HttpJobResult> {
  const startedAt = performance.timeOrigin + performance.now();
  const request = new WorkerRequest(job, context) as unknown as Request;
  const response = app.fetch(request);
  const result = response instanceof Promise
    ? response.then((r) => readResponse(r, job.method, context))
    : readResponse(response, job.method, context);
  return result instanceof Promise ? result.then((r) => stamp(r, startedAt)) : stamp(result, startedAt);
}

/** When the job started and on which thread, for the access log and the metrics. */
function stamp(result: HttpJobResult, startedAt: number): HttpJobResult {
  result.startedAt = startedAt;
  result.worker = threadId;
  return result;
}

function readResponse(response: Response, method: string, context: JobContext): HttpJobResult | Promise<HttpJobResult> {
  if (response instanceof WorkerResponse) {
    const plain = WorkerResponse.plain(response);
    if (plain !== null) {
      const body = plain.body;
      if (body === null || typeof body === 'string') return { status: plain.status, headers: plain.headers, body };
      // Copy the bytes once into a buffer of our own, then move it: the
      // application may still hold (and reuse) the buffer it gave.
      const view = body instanceof ArrayBuffer ? new Uint8Array(body) : new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
      const bytes = view.slice().buffer;
      context.transfer(bytes);
      return { status: plain.status, headers: plain.headers, body: [bytes] };
    }
  } else if (!(response instanceof Response)) {
    throw new TypeError(`fetch() must return a Response, got ${describeValue(response)}`);
  }
  return readNativeResponse(response, method, context);
}

async function readNativeResponse(response: Response, method: string, context: JobContext): Promise<HttpJobResult> {
  const headers: string[] = [];
  for (const [name, value] of response.headers) {
    if (name !== 'set-cookie') headers.push(name, value);
  }
  for (const cookie of response.headers.getSetCookie()) headers.push('set-cookie', cookie);
  let body: ArrayBuffer[] | null = null;
  if (response.body !== null && method === 'HEAD') {
    // HEAD never runs the stream: the head says what a GET would send.
    response.body.cancel().catch(() => {});
  } else if (WorkerResponse.isStream(response)) {
    const reader = response.body!.getReader();
    const ahead = await readAhead(reader);
    if (ahead.isDone && agreesWithDeclaredLength(headers, ahead.chunks)) {
      // Whole already: sent with its length, like any other body. One that
      // contradicts the Content-Length it declared is streamed instead, so
      // that the connection cuts it off and logs it, as it does any stream.
      const parts = ahead.chunks.map((chunk) => {
        const bytes = new Uint8Array(chunk).buffer;
        context.transfer(bytes);
        return bytes;
      });
      return { status: response.status, headers, body: parts.length === 0 ? null : parts };
    }
    // The job ends here and frees its lane; the body goes on streaming
    // through a channel of its own, read only as fast as the client takes it.
    const { port1, port2 } = new MessageChannel();
    sendBody(reader, ahead, port1, () => context.abort());
    streams.open(port1);
    context.transfer(port2);
    return { status: response.status, headers, body: null, stream: port2 };
  } else if (response.body !== null) {
    // Read to the end for now; the parts are moved, not copied, to the I/O thread.
    const bytes = await response.arrayBuffer();
    body = [bytes];
    context.transfer(bytes);
  }
  return { status: response.status, headers, body };
}

function agreesWithDeclaredLength(headers: string[], chunks: Uint8Array[]): boolean {
  for (let i = 0; i < headers.length; i += 2) {
    if (headers[i] !== 'content-length') continue;
    let total = 0;
    for (const chunk of chunks) total += chunk.byteLength;
    return headers[i + 1] === String(total);
  }
  return true;
}

function describeValue(value: unknown): string {
  if (value === null || typeof value !== 'object') return String(value);
  return value.constructor?.name ?? 'an object';
}
