// The I/O-thread side of the application: turns each parsed request into a
// job for the thread pool and the job's result into a response. Application
// code never runs here; this only moves data and maps failures to statuses.
import type { Exchange, Handler } from '../http/exchange.js';
import { describeError } from '../http/http-error.js';
import type { HttpRequest } from '../http/request-parser.js';
import { errorResponse, getHeader, type HttpResponse } from '../http/response.js';
import { PoolError } from '../pool/pool-errors.js';
import type { ThreadPool } from '../pool/thread-pool.js';
import { MessageChannel, type TransferListItem } from 'node:worker_threads';
import { WorkerBody, sendRequestBody } from './body-stream.js';
import { SHARED_BODY_BYTES, type HttpJob, type HttpJobResult } from './http-job.js';
import type { JobOutcome } from '../observe/server-metrics.js';

export interface AppDispatcherOptions {
  /** scheme of the absolute URL handed to the application */
  scheme: 'http' | 'https';
  /** authority when the request has an empty Host */
  fallbackAuthority: () => string;
  log: (message: string) => void;
  /** each job's outcome, for the metrics */
  onJobSettled?: (outcome: JobOutcome) => void;
}

/** `currentPool` gives the pool new jobs go to (a reload swaps it); each job stays with the one it was given to. */
export function createAppDispatcher(currentPool: () => ThreadPool, options: AppDispatcherOptions): Handler {
  return (request: HttpRequest, exchange: Exchange): Promise<HttpResponse> => {
    const pool = currentPool();
    const facts = exchange.facts;
    // Trusted proxies (--trust-proxy) may say which scheme and Host the client used.
    const authority = facts.forwardedHost ?? (request.authority === '' ? options.fallbackAuthority() : request.authority);
    const path = request.path.charCodeAt(0) === 0x2f ? request.path : '/';
    const job: HttpJob = {
      method: request.method,
      url: `${facts.forwardedProto ?? options.scheme}://${authority}${path}`,
      headers: request.headers,
      body: null,
    };
    let transfer: TransferListItem[] | undefined;
    const bodyBytes = request.body.byteLength;
    if (exchange.body !== null) {
      // The body is still arriving: it follows the job through a channel.
      const { port1, port2 } = new MessageChannel();
      sendRequestBody(exchange.body, port1);
      exchange.onFinish(() => port1.close());
      exchange.onClientGone(() => port1.close());
      job.bodyPort = port2;
      transfer = [port2];
    } else if (bodyBytes > 0 && bodyBytes <= SHARED_BODY_BYTES) {
      job.body = request.body; // copied into the shared queue with the head
    } else if (bodyBytes > 0) {
      // The parser's body is a view into socket chunks; copy it once into a
      // buffer of its own, which is then moved to the worker, not copied again.
      const bytes = new Uint8Array(bodyBytes);
      bytes.set(request.body);
      job.body = bytes.buffer;
      transfer = [bytes.buffer];
    }
    facts.answeredBy = 'app';
    const submittedAt = performance.timeOrigin + performance.now();
    return new Promise((resolve) => {
      const ticket = pool.submit(job, transfer, (err, result) => {
        options.onJobSettled?.(err === null ? 'ok' : outcomeOf(err));
        if (err !== null) return resolve(failureResponse(request, err, options.log));
        const answer = result as HttpJobResult;
        if (answer.startedAt !== undefined && answer.startedAt > 0) {
          facts.queueMs = Math.max(0, answer.startedAt - submittedAt);
          facts.runMs = Math.max(0, performance.timeOrigin + performance.now() - answer.startedAt);
          facts.workerId = answer.worker ?? -1;
        }
        resolve(toResponse(answer, exchange));
      });
      // A client that leaves takes its job with it: dropped if still queued,
      // aborted (request.signal) if running.
      if (!ticket.isSettled) exchange.onClientGone(() => pool.cancel(ticket));
      // An upload as long as its client takes: each part the job is given
      // restarts its deadline, which runs out only once it stops reading.
      if (exchange.body !== null && !ticket.isSettled) exchange.body.onProgress = () => pool.restartDeadline(ticket);
    });
  };
}

function toResponse(result: HttpJobResult, exchange: Exchange): HttpResponse {
  if (result.stream !== undefined) {
    const body = new WorkerBody(result.stream);
    exchange.onClientGone(() => body.cancel());
    // A Content-Length the application set is kept, and the connection holds
    // the stream to it; without one the body is chunked (or close-delimited).
    const declared = getHeader(result.headers, 'content-length');
    const contentLength = declared !== undefined && /^[0-9]{1,15}$/.test(declared) ? Number(declared) : undefined;
    return { status: result.status, headers: result.headers, body, contentLength };
  }
  const parts = result.body;
  if (parts === null || typeof parts === 'string' || parts instanceof Uint8Array) {
    return { status: result.status, headers: result.headers, body: parts };
  }
  const body = parts.length === 1 ? new Uint8Array(parts[0]) : Buffer.concat(parts.map((part) => new Uint8Array(part)));
  return { status: result.status, headers: result.headers, body };
}

function outcomeOf(err: Error): JobOutcome {
  if (!(err instanceof PoolError)) return 'failed';
  if (err.code === 'ERR_JOB_TIMEOUT') return 'timed_out';
  if (err.code === 'ERR_JOB_ABORTED') return 'aborted';
  if (err.code === 'ERR_QUEUE_FULL' || err.code === 'ERR_POOL_CLOSED') return 'rejected';
  return 'failed';
}

/** Maps a pool failure to the status the client gets. */
function failureResponse(request: HttpRequest, err: unknown, log: (message: string) => void): HttpResponse {
  const line = `${request.method} ${request.target} HTTP/1.${request.versionMinor}`;
  if (err instanceof PoolError) {
    switch (err.code) {
      case 'ERR_QUEUE_FULL':
        return errorResponse(503, ['Retry-After', '1']);
      case 'ERR_JOB_TIMEOUT':
        log(`spindle: "${line}" timed out: ${err.message}`);
        return errorResponse(504);
      case 'ERR_WORKER_OUT_OF_MEMORY':
        log(`spindle: "${line}" failed: ${err.message}`);
        return errorResponse(503, ['Retry-After', '1']);
      case 'ERR_WORKER_TERMINATED': // the pool logs it once, with the count of jobs lost
        return errorResponse(503, ['Retry-After', '1']);
      case 'ERR_WORKER_DIED':
        log(`spindle: "${line}" failed: ${err.message}`);
        return errorResponse(500);
      case 'ERR_JOB_ABORTED':
      case 'ERR_POOL_CLOSED':
        return errorResponse(503);
    }
  }
  log(`spindle: "${line}" failed: ${describeError(err)}`);
  return errorResponse(500);
}
