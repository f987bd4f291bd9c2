// The built-in demo application, written the way users write theirs: a module
// whose default export has `fetch(request) → Response`. It runs on the worker
// threads, so /sleep and /cpu block a worker, never the server; /async
// awaits, so one worker runs many of them at once.
//
//   GET|HEAD /        the hello page
//   GET /sleep?ms=N   blocks its thread N ms (default 5000), as thread::sleep does
//   GET /cpu?ms=N     a busy CPU loop for N ms (default 100)
//   GET /async?ms=N   awaits a timer of N ms (default 20): the thread serves others meanwhile
//   any /echo         the request body back, with its Content-Type
//   GET /events       server-sent events: a counter every ?interval=MS (default
//                     1000), ?count=N of them (default: until the client leaves),
//                     then an `end` event; /events/page reads them in a browser
//   GET /stream       ?bytes=N (default 1 MiB) generated in ?chunk=K-byte chunks
//                     (default 64 KiB), each made only when the client can take it
//   POST /upload      counts the body's bytes as they arrive, answers the total;
//                     ?rate=N reads at most N bytes a second
//   GET /panic        throws: the client gets 500, the worker carries on
import { setTimeout as delay } from 'node:timers/promises';
import { disallowedMethodStatus } from '../http/methods.js';
import { EVENTS_PAGE, HELLO_PAGE, NOT_FOUND_PAGE } from './pages.js';

const HTML = 'text/html; charset=utf-8';
/** The pages' headers: nosniff, so a browser never takes them for anything but HTML. */
const PAGE = { 'content-type': HTML, 'x-content-type-options': 'nosniff' };
const TEXT = 'text/plain; charset=utf-8';
const MAX_MS = 600_000;
const sleepCell = new Int32Array(new SharedArrayBuffer(4));

function msParam(url: URL, fallback: number, name = 'ms'): number {
  return Math.min(intParam(url, name, fallback), MAX_MS);
}

function intParam(url: URL, name: string, fallback: number): number {
  const text = url.searchParams.get(name);
  return text !== null && /^\d{1,15}$/.test(text) ? Number(text) : fallback;
}

/** Server-sent events (the WHATWG HTML spec's text/event-stream): `count` events, `interval` ms apart. */
function events(count: number, interval: number): Response {
  const encoder = new TextEncoder();
  let n = 0;
  let timer: NodeJS.Timeout | undefined;
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(encoder.encode('retry: 1000\n\n'));
    },
    // Called again only when the client has taken the last event.
    pull(controller) {
      return new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          n++;
          controller.enqueue(encoder.encode(`id: ${n}\ndata: ${JSON.stringify({ n, at: Date.now() })}\n\n`));
          if (count > 0 && n >= count) {
            controller.enqueue(encoder.encode('event: end\ndata: \n\n'));
            controller.close();
          }
          resolve();
        }, n === 0 ? 0 : interval);
      });
    },
    cancel() {
      clearTimeout(timer); // the client left
    },
  });
  return new Response(stream, { headers: { 'content-type': 'text/event-stream', 'cache-control': 'no-store' } });
}

/** `bytes` bytes of generated text, `chunk` at a time, each made when the stream is pulled. */
function generated(bytes: number, chunk: number): Response {
  let left = bytes;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      const size = Math.min(chunk, left);
      // As the node:http baseline makes its chunks: filled once, not zeroed first.
      controller.enqueue(Buffer.alloc(size, 0x61));
      left -= size;
      if (left === 0) controller.close();
    },
  }, { highWaterMark: 0 });
  return new Response(bytes === 0 ? '' : stream, { headers: { 'content-type': 'application/octet-stream', 'content-length': String(bytes) } });
}

/**
 * Reads a request body chunk by chunk as it arrives, counting its bytes; at
 * most `rate` bytes a second when given (a slow consumer, for backpressure).
 */
async function countBody(request: Request, rate: number): Promise<number> {
  if (request.body === null) return 0;
  const started = performance.now();
  let total = 0;
  for await (const chunk of request.body as unknown as AsyncIterable<Uint8Array>) {
    total += chunk.byteLength;
    if (rate > 0) {
      const due = (total / rate) * 1000 - (performance.now() - started);
      if (due > 0) await delay(due);
    }
  }
  return total;
}

/** Really blocks this thread, like the book's `thread::sleep`. */
function sleepBlocking(ms: number): void {
  if (ms > 0) Atomics.wait(sleepCell, 0, 0, ms);
}

/** Spins the CPU for ms of wall time on an xorshift stream the compiler cannot drop. */
function spin(ms: number): number {
  const end = performance.now() + ms;
  let x = 0x9e3779b9 | 0;
  do {
    for (let i = 0; i < 4096; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
    }
  } while (performance.now() < end);
  return x >>> 0;
}

/**
 * Awaits a timer of ms, or less if the client leaves or the deadline passes
 * (request.signal aborts it). Says whether the whole wait ran.
 */
async function waitAsync(ms: number, signal: AbortSignal): Promise<boolean> {
  try {
    await delay(ms, undefined, { signal });
    return true;
  } catch (err) {
    if (signal.aborted) return false;
    throw err;
  }
}

/** 405 with Allow for a method this route does not take; 501 for a method nobody registered (RFC 9110 §9.1). */
function notAllowed(method: string, allow: string): Response {
  const status = disallowedMethodStatus(method);
  const text = status === 405 ? '405 Method Not Allowed\n' : '501 Not Implemented\n';
  return new Response(text, { status, headers: { allow, 'content-type': TEXT } });
}

export default {
  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const method = request.method;
    switch (url.pathname) {
      case '/':
        if (method !== 'GET' && method !== 'HEAD') return notAllowed(method, 'GET, HEAD');
        return new Response(HELLO_PAGE, { headers: PAGE });
      case '/sleep': {
        if (method !== 'GET' && method !== 'HEAD') return notAllowed(method, 'GET, HEAD');
        const ms = msParam(url, 5000);
        sleepBlocking(ms);
        return new Response(`slept ${ms} ms\n`, { headers: { 'content-type': TEXT } });
      }
      case '/cpu': {
        if (method !== 'GET' && method !== 'HEAD') return notAllowed(method, 'GET, HEAD');
        const ms = msParam(url, 100);
        const x = spin(ms);
        return new Response(`cpu ${ms} ms, ${x}\n`, { headers: { 'content-type': TEXT } });
      }
      case '/async': {
        if (method !== 'GET' && method !== 'HEAD') return notAllowed(method, 'GET, HEAD');
        const ms = msParam(url, 20);
        // Aborted, nobody reads the answer: the pool has already settled the job.
        if (!(await waitAsync(ms, request.signal))) return new Response('aborted\n', { status: 503, headers: { 'content-type': TEXT } });
        return new Response(`async ${ms} ms\n`, { headers: { 'content-type': TEXT } });
      }
      case '/echo':
        return new Response(await request.arrayBuffer(), {
          headers: { 'content-type': request.headers.get('content-type') ?? 'application/octet-stream' },
        });
      case '/events':
        if (method !== 'GET' && method !== 'HEAD') return notAllowed(method, 'GET, HEAD');
        return events(intParam(url, 'count', 0), msParam(url, 1000, 'interval'));
      case '/events/page':
        if (method !== 'GET' && method !== 'HEAD') return notAllowed(method, 'GET, HEAD');
        return new Response(EVENTS_PAGE, { headers: PAGE });
      case '/stream':
        if (method !== 'GET' && method !== 'HEAD') return notAllowed(method, 'GET, HEAD');
        return generated(intParam(url, 'bytes', 1 << 20), Math.max(1, Math.min(intParam(url, 'chunk', 65536), 1 << 24)));
      case '/upload':
        if (method !== 'POST' && method !== 'PUT') return notAllowed(method, 'POST, PUT');
        return new Response(`${await countBody(request, intParam(url, 'rate', 0))} bytes\n`, { headers: { 'content-type': TEXT } });
      case '/panic':
        throw new Error('panic requested by GET /panic');
      default:
        return new Response(NOT_FOUND_PAGE, { status: 404, headers: PAGE });
    }
  },
};
