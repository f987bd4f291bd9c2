// Errors of the thread pool. Each has a stable code the HTTP side maps to a status.

/** The book's `PoolCreationError`: the pool was asked for an impossible size. */
export class PoolCreationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PoolCreationError';
  }
}

export type PoolErrorCode =
  | 'ERR_QUEUE_FULL' // every worker busy and the queue full: try again later (503)
  | 'ERR_JOB_TIMEOUT' // the job ran past its deadline (504)
  | 'ERR_JOB_ABORTED' // the caller's signal aborted the job
  | 'ERR_WORKER_DIED' // the worker running the job exited (500)
  | 'ERR_WORKER_OUT_OF_MEMORY' // the worker ran out of its heap (503)
  | 'ERR_WORKER_TERMINATED' // the worker was terminated (another job on it would not stop) (503)
  | 'ERR_POOL_CLOSED'; // the pool no longer takes or runs jobs

export class PoolError extends Error {
  readonly code: PoolErrorCode;

  constructor(code: PoolErrorCode, message: string) {
    super(message);
    this.name = 'PoolError';
    this.code = code;
  }
}

/** The job itself threw or rejected inside its worker; stack is the worker's. */
export class JobError extends Error {
  constructor(name: string, message: string, stack: string | undefined) {
    super(message);
    this.name = name;
    if (stack !== undefined) this.stack = stack;
  }
}
