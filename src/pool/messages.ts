// The protocol between the pool (main thread) and its workers, imported by
// both sides so neither can drift from the other.
//
//   main ──{ run }────▶ worker      one job at a time per worker
//   main ──{ abort }──▶ worker      the job's deadline passed or its client left
//   main ──{ close }──▶ worker      finish up and exit (the book's Terminate)
//   main ◀─{ ready }─── worker      the job module loaded; send jobs
//   main ◀─{ init-error }─ worker   the job module failed to load
//   main ◀─{ done }──── worker      the job's result (transferables moved, not copied)
//   main ◀─{ failed }── worker      the job threw or rejected

export interface RunMessage {
  type: 'run';
  id: number;
  payload: unknown;
}

export interface AbortMessage {
  type: 'abort';
  id: number;
}

export interface CloseMessage {
  type: 'close';
}

export type ToWorker = RunMessage | AbortMessage | CloseMessage;

export interface ReadyMessage {
  type: 'ready';
}

export interface InitErrorMessage {
  type: 'init-error';
  error: SerializedError;
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

export type FromWorker = ReadyMessage | InitErrorMessage | DoneMessage | FailedMessage;

export interface SerializedError {
  name: string;
  message: string;
  stack?: string;
}

/** What every worker is started with (`workerData`). */
export interface WorkerSetup {
  /** URL of the job module; its default export runs each job */
  jobModule: string;
  /** handed to the job module's optional `setup(data)` export */
  jobData: unknown;
}

/** workerData: the setup plus this worker's cell for telling poll() a job finished */
export interface WorkerData extends WorkerSetup {
  finished: Int32Array;
  slot: number;
}

export function serializeError(err: unknown): SerializedError {
  if (err instanceof Error) return { name: err.name, message: err.message, stack: err.stack };
  return { name: 'Error', message: String(err) };
}
