// The thread pool's options, their defaults and validation, and the types of
// its API (stats, tickets, callbacks).
import type { TransferListItem } from 'node:worker_threads';
import os from 'node:os';
import v8 from 'node:v8';
import type { ResourceLimits } from 'node:worker_threads';
import { PoolCreationError } from './pool-errors.js';

export interface ThreadPoolOptions {
  /** the module each worker imports once; its default export runs every job */
  module: string | URL;
  /** handed to the module's optional `setup(data)` export in each worker */
  moduleData?: unknown;
  /** workers (default os.availableParallelism()) */
  size?: number;
  /**
   * jobs each worker runs at once (default 1, the book's worker). A job that
   * returns a promise lets its worker take the next one while it awaits, up
   * to this many; a job that does not await keeps its thread meanwhile.
   */
  concurrency?: number;
  /** jobs that may wait for a worker (default 1024) */
  queueSize?: number;
  /** deadline of a running job; 0 for none (default 30 s) */
  jobTimeoutMs?: number;
  /** after a job is aborted, how long it may keep its worker before the worker is terminated (default 1 s) */
  abortGraceMs?: number;
  /** heap limits of each worker (node:worker_threads resourceLimits) */
  resourceLimits?: ResourceLimits;
  /**
   * a worker that has run this many jobs (plus a random tenth, so that
   * workers do not all go at once, as gunicorn's max_requests_jitter) takes
   * no more, finishes the ones it has, and is replaced; 0 never (default)
   */
  maxJobsPerWorker?: number;
  /** a worker whose heap is past this many bytes after a job is replaced the same way; 0 never (default) */
  maxWorkerHeapBytes?: number;
  /**
   * Writes a payload into the shared queue: returns its length, or -1 when
   * it does not fit (it is then posted as a message). The job module's
   * `decodePayload` reads it back. Default: v8.serialize / v8.deserialize.
   */
  encodePayload?: (payload: any, target: Buffer) => number;
  /** bytes of each payload slot in the shared queue (default 4096) */
  payloadSlotBytes?: number;
  /** bytes of each slot in a worker's result mailbox (default 4096) */
  resultSlotBytes?: number;
  /**
   * Reads a result the job module's `encodeResult` wrote into a worker's
   * result mailbox (bytes are reused afterwards: copy what you keep).
   * Without it, results come by message.
   */
  decodeResult?: (bytes: Buffer) => unknown;
  /** where the pool reports what a caller cannot see: workers terminated and the jobs they took with them (default console.error) */
  log?: (message: string) => void;
}

export interface ExecuteOptions {
  /** ArrayBuffers of the payload to move to the worker instead of copying (the payload then goes by message) */
  transfer?: TransferListItem[];
  /** aborting drops a queued job, or aborts a running one (its worker is replaced if it does not stop) */
  signal?: AbortSignal;
}

export interface PoolStats {
  threads: number;
  /** jobs each worker may run at once */
  concurrency: number;
  /** workers running at least one job */
  busy: number;
  /** jobs running, on all workers */
  inFlight: number;
  /** jobs running on each worker */
  inFlightPerWorker: number[];
  /** jobs waiting for a worker */
  queued: number;
  /** workers started and ready for jobs (not counting one still running a job given up on) */
  ready: number;
  /** workers that died or were terminated and were replaced, since start */
  restarts: number;
  /**
   * the same, by cause: `terminated` (a job ignored its abort or deadline),
   * `out_of_memory`, `error` (an uncaught exception), `exit` (process.exit
   * or a crash), `start_failed` (it never became ready)
   */
  restartsByCause: Record<RestartCause, number>;
  /** when workers keep failing to start, the delay before the next attempt */
  backoffMs: number;
  /** the latest reason a worker failed to start or died */
  lastError: string | null;
}

export type RestartCause = 'recycled' | 'terminated' | 'out_of_memory' | 'error' | 'exit' | 'start_failed';

/** Called once when a job settles: with an error, or with null and the result. */
export type JobCallback = (err: Error | null, result?: unknown) => void;

/** A submitted job, for cancel(). */
export interface JobTicket {
  readonly isSettled: boolean;
}


export interface ResolvedPoolOptions {
  size: number;
  concurrency: number;
  queueSize: number;
  jobTimeoutMs: number;
  abortGraceMs: number;
  resourceLimits: ResourceLimits | undefined;
  maxJobsPerWorker: number;
  maxWorkerHeapBytes: number;
  encodePayload: (payload: unknown, target: Buffer) => number;
  payloadSlotBytes: number;
  resultSlotBytes: number;
  decodeResult: ((bytes: Buffer) => unknown) | null;
  log: (message: string) => void;
}

export const POOL_DEFAULTS = {
  concurrency: 1,
  queueSize: 1024,
  jobTimeoutMs: 30_000,
  abortGraceMs: 1000,
  payloadSlotBytes: 4096,
  resultSlotBytes: 4096,
} as const;

/** More jobs than this per thread buys nothing: each costs memory, and they share one core. */
export const MAX_CONCURRENCY = 4096;

/** Fills in the defaults; throws PoolCreationError for an impossible value. */
export function resolvePoolOptions(options: ThreadPoolOptions): ResolvedPoolOptions {
  const size = options.size ?? os.availableParallelism();
  if (!Number.isInteger(size) || size < 1) {
    throw new PoolCreationError(`a thread pool needs a whole number of threads, at least 1; got ${String(size)}`);
  }
  const concurrency = options.concurrency ?? POOL_DEFAULTS.concurrency;
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > MAX_CONCURRENCY) {
    throw new PoolCreationError(`concurrency must be a whole number from 1 to ${MAX_CONCURRENCY}; got ${String(concurrency)}`);
  }
  return {
    size,
    concurrency,
    queueSize: wholeNumber('queueSize', options.queueSize ?? POOL_DEFAULTS.queueSize, 'a whole number, at least 0'),
    jobTimeoutMs: wholeNumber('jobTimeoutMs', options.jobTimeoutMs ?? POOL_DEFAULTS.jobTimeoutMs, 'a whole number of milliseconds'),
    abortGraceMs: wholeNumber('abortGraceMs', options.abortGraceMs ?? POOL_DEFAULTS.abortGraceMs, 'a whole number of milliseconds'),
    resourceLimits: options.resourceLimits,
    maxJobsPerWorker: wholeNumber('maxJobsPerWorker', options.maxJobsPerWorker ?? 0, 'a whole number, 0 for no limit'),
    maxWorkerHeapBytes: wholeNumber('maxWorkerHeapBytes', options.maxWorkerHeapBytes ?? 0, 'a whole number of bytes, 0 for no limit'),
    encodePayload: options.encodePayload ?? encodeWithV8,
    payloadSlotBytes: options.payloadSlotBytes ?? POOL_DEFAULTS.payloadSlotBytes,
    resultSlotBytes: options.resultSlotBytes ?? POOL_DEFAULTS.resultSlotBytes,
    decodeResult: options.decodeResult ?? null,
    log: options.log ?? ((message) => console.error(message)),
  };
}

function wholeNumber(name: string, value: number, what: string): number {
  if (!Number.isInteger(value) || value < 0) throw new PoolCreationError(`${name} must be ${what}; got ${String(value)}`);
  return value;
}

function encodeWithV8(payload: unknown, target: Buffer): number {
  const bytes = v8.serialize(payload);
  if (bytes.byteLength > target.byteLength) return -1;
  target.set(bytes);
  return bytes.byteLength;
}
