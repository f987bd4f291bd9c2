// The contract of a job module: the code each worker imports once and runs
// jobs with. The book's `Job` is a boxed closure; closures cannot cross
// threads in JavaScript, so the code lives in a module and a job is data.
import type { TransferListItem } from 'node:worker_threads';

/** Handed to every job as it runs inside a worker. */
export interface JobContext {
  /** aborted when the job's deadline passes or its client goes away */
  readonly signal: AbortSignal;
  /** marks buffers (or message ports) of the result to be moved to the main thread rather than copied */
  transfer(...items: TransferListItem[]): void;
  /**
   * aborts `signal` as the pool would: for work that outlives the job's
   * result, such as a streamed body whose client has left
   */
  abort(): void;
}

/** The default export of a job module. */
export type JobFunction = (payload: any, context: JobContext) => unknown;

export interface JobModule {
  default: JobFunction;
  /** optional: awaited once when the worker starts, with the pool's moduleData */
  setup?: (data: unknown) => unknown;
  /**
   * optional: reads a payload written by the pool's `encodePayload` option
   * (default: v8.deserialize, matching the default v8.serialize)
   */
  decodePayload?: (bytes: Buffer) => unknown;
  /**
   * optional: writes a result into the worker's result mailbox, for the
   * pool's `decodeResult` option; returns its length, or -1 when it does not
   * fit (it then goes by message). Without it, results go by message.
   */
  encodeResult?: (result: any, target: Buffer) => number;
  /**
   * optional: when the pool is closed and the worker's last job has ended,
   * awaited before the worker exits, for work that outlives its job (a
   * response body still streaming). The pool's close() waits for it;
   * terminate() does not.
   */
  drain?: () => Promise<void> | void;
}
