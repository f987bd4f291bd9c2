// The protocol between the pool (main thread) and its workers, imported by
// both sides so neither can drift from the other. Jobs themselves travel
// through the shared queue (shared-queue.ts); messages carry the rest.
//
//   main ──{ run }────▶ worker      a payload too large for the shared queue (asked for with need)
//   main ──{ skip }───▶ worker      that job was cancelled meanwhile
//   main ──{ abort }──▶ worker      the job's deadline passed or its client left
//   main ◀─{ ready }─── worker      the job module loaded; the worker now takes jobs
//   main ◀─{ init-error }─ worker   the job module failed to load
//   main ◀─{ need }──── worker      send me the payload of job id
//   main ◀─{ results }─ worker      results wait in the worker's mailbox (result-mailbox.ts)
//   main ◀─{ done }──── worker      the job's result (transferables moved, not copied)
//   main ◀─{ failed }── worker      the job threw or rejected
import type { MessagePort } from 'node:worker_threads';
import type { ResultMailboxMemory } from './result-mailbox.js';
import type { SharedQueueMemory } from './shared-queue.js';

export interface RunMessage {
  type: 'run';
  id: number;
  payload: unknown;
  /** when the payload moved buffers: the channel it waits in */
  channel: MessagePort | null;
}

export interface SkipMessage {
  type: 'skip';
  id: number;
}

export interface AbortMessage {
  type: 'abort';
  id: number;
}

export type ToWorker = RunMessage | SkipMessage | AbortMessage;

export interface ReadyMessage {
  type: 'ready';
}

export interface InitErrorMessage {
  type: 'init-error';
  error: SerializedError;
}

export interface NeedMessage {
  type: 'need';
  id: number;
}

export interface ResultsMessage {
  type: 'results';
}

export interface DoneMessage {
  type: 'done';
  id: number;
  result: unknown;
}

export interface FailedMessage {
  type: 'failed';
  id: number;
  error: SerializedError;
}

export type FromWorker = ReadyMessage | InitErrorMessage | NeedMessage | ResultsMessage | DoneMessage | FailedMessage | RecyclingMessage;

/** The worker reached its job or heap limit: it takes no more jobs, and exits once its own have ended. */
export interface RecyclingMessage {
  type: 'recycling';
  reason: string;
}

export interface SerializedError {
  name: string;
  message: string;
  stack?: string;
}

/** What every worker is started with (`workerData`). */
export interface WorkerData {
  /** URL of the job module; its default export runs each job */
  jobModule: string;
  /** handed to the job module's optional `setup(data)` export */
  jobData: unknown;
  /** the shared queue the worker takes jobs from */
  queue: SharedQueueMemory;
  /** this worker's index in the queue's per-worker cells */
  index: number;
  /** the mailboxes results go back through */
  results: ResultMailboxMemory;
  /** whether the pool can read results from the mailboxes (it has a decodeResult) */
  hasResultDecoder: boolean;
  /** recycle after this many jobs (jitter included); 0 never */
  recycleAfterJobs: number;
  /** recycle when the heap is past this many bytes after a job; 0 never */
  recycleAboveHeapBytes: number;
}

export function serializeError(err: unknown): SerializedError {
  if (err instanceof Error) return { name: err.name, message: err.message, stack: err.stack };
  return { name: 'Error', message: String(err) };
}
