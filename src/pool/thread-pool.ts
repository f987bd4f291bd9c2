// The book's ThreadPool: a fixed set of workers fed through one channel.
//
//   execute(job) ─▶ idle worker? ──yes──▶ worker.run(job) ─▶ { done | failed } ─▶ promise settles
//                       │ no                    ▲                                      │
//                       ▼                       └────── next job from the queue ◀──────┘
//                  queue full? ──yes──▶ reject ERR_QUEUE_FULL (the caller answers 503)
//                       │ no
//                       ▼
//                  JobQueue (FIFO, bounded)
//
// Invariants: a worker runs at most one job; a job is in exactly one place
// (the queue, a worker, or settled); #idle holds exactly the ready workers
// with no job. Deadlines start when a job starts running, not while it waits.
import os from 'node:os';
import { Worker, type ResourceLimits } from 'node:worker_threads';
import { JobQueue } from './job-queue.js';
import type { FromWorker, ToWorker, WorkerData, WorkerSetup } from './messages.js';
import { JobError, PoolCreationError, PoolError } from './pool-errors.js';

export interface ThreadPoolOptions {
  /** the module each worker imports once; its default export runs every job */
  module: string | URL;
  /** handed to the module's optional `setup(data)` export in each worker */
  moduleData?: unknown;
  /** workers (default os.availableParallelism()) */
  size?: number;
  /** jobs that may wait for a worker (default 1024) */
  queueSize?: number;
  /** deadline of a running job; 0 for none (default 30 s) */
  jobTimeoutMs?: number;
  /** after a job is aborted, how long it may keep its worker before the worker is terminated (default 1 s) */
  abortGraceMs?: number;
  /** heap limits of each worker (node:worker_threads resourceLimits) */
  resourceLimits?: ResourceLimits;
}

export interface ExecuteOptions {
  /** ArrayBuffers of the payload to move to the worker instead of copying */
  transfer?: ArrayBuffer[];
  /** aborting drops a queued job, or aborts a running one (its worker is replaced if it does not stop) */
  signal?: AbortSignal;
}

export interface PoolStats {
  threads: number;
  /** workers running a job */
  busy: number;
  /** jobs waiting for a worker */
  queued: number;
  /** workers started and ready for jobs */
  ready: number;
  /** workers that died or were terminated and were replaced, since start */
  restarts: number;
  /** when workers keep failing to start, the delay before the next attempt */
  backoffMs: number;
  /** the latest reason a worker failed to start or died */
  lastError: string | null;
}

/** Called once when a job settles: with an error, or with null and the result. */
export type JobCallback = (err: Error | null, result?: unknown) => void;

/** A submitted job, for cancel(). */
export interface JobTicket {
  readonly isSettled: boolean;
}

interface Job extends JobTicket {
  id: number;
  payload: unknown;
  transfer: ArrayBuffer[] | undefined;
  onSettled: JobCallback;
  /** the worker running it, once it runs */
  worker: PoolWorker | null;
  startedAt: number;
  isSettled: boolean;
}

/** The book's `Worker`: an id and the thread's JoinHandle. */
class PoolWorker {
  readonly id: number;
  /** index of this worker's cell in the pool's shared finished-job array */
  readonly slot: number;
  readonly thread: Worker;
  /** the job it runs now, until its result arrives or poll() sees it finished */
  job: Job | null = null;
  isReady = false;
  /** set once the current job was given up on; the worker is terminated if it does not finish soon */
  graceTimer: NodeJS.Timeout | null = null;
  deadlineTimer: NodeJS.Timeout | null = null;
  exitError: Error | null = null;
  readonly startedAt = Date.now();
  readonly exited: Promise<number>;

  constructor(id: number, slot: number, thread: Worker) {
    this.id = id;
    this.slot = slot;
    this.thread = thread;
    this.exited = new Promise((resolve) => thread.once('exit', resolve));
  }

  post(message: ToWorker, transfer?: ArrayBuffer[]): void {
    this.thread.postMessage(message, transfer);
  }
}

const WORKER_FILE = new URL('./worker-main.js', import.meta.url);
const MAX_BACKOFF_MS = 5000;
/**
 * The longest delay setTimeout honours; a longer one fires after 1 ms. A
 * longer deadline is waited for in steps: #onDeadline re-arms until it passes.
 */
const MAX_TIMER_MS = 2 ** 31 - 1;

export class ThreadPool implements AsyncDisposable {
  readonly size: number;
  #options: Required<Omit<ThreadPoolOptions, 'resourceLimits' | 'moduleData'>> & Pick<ThreadPoolOptions, 'resourceLimits' | 'moduleData'>;
  #setup: WorkerSetup;
  #workers = new Set<PoolWorker>();
  #idle: PoolWorker[] = [];
  #queue: JobQueue<Job>;
  #nextWorkerId = 1;
  #nextJobId = 1;
  #busy = 0;
  /** jobs sent to a worker whose result has not arrived yet, by id */
  #inFlight = new Map<number, Job>();
  /**
   * One cell per worker slot, shared with the workers: a worker stores the id
   * of each job whose result it has posted. See poll().
   */
  #finished: Int32Array;
  #freeSlots: number[] = [];
  #restarts = 0;
  #startFailures = 0;
  #backoffMs = 0;
  #respawnTimers = new Set<NodeJS.Timeout>();
  #lastError: string | null = null;
  #isClosing = false;
  #closed: Promise<void> | null = null;
  #onIdle: (() => void) | null = null;
  #ready: Promise<void>;
  #resolveReady!: () => void;
  #rejectReady!: (err: Error) => void;
  #isReady = false;

  constructor(options: ThreadPoolOptions) {
    const size = options.size ?? os.availableParallelism();
    if (!Number.isInteger(size) || size < 1) {
      throw new PoolCreationError(`a thread pool needs a whole number of threads, at least 1; got ${String(size)}`);
    }
    const queueSize = options.queueSize ?? 1024;
    if (!Number.isInteger(queueSize) || queueSize < 0) {
      throw new PoolCreationError(`queueSize must be a whole number, at least 0; got ${String(queueSize)}`);
    }
    const jobTimeoutMs = options.jobTimeoutMs ?? 30_000;
    if (!Number.isInteger(jobTimeoutMs) || jobTimeoutMs < 0) {
      throw new PoolCreationError(`jobTimeoutMs must be a whole number of milliseconds; got ${String(jobTimeoutMs)}`);
    }
    this.size = size;
    this.#options = {
      module: options.module,
      moduleData: options.moduleData,
      size,
      queueSize,
      jobTimeoutMs,
      abortGraceMs: options.abortGraceMs ?? 1000,
      resourceLimits: options.resourceLimits,
    };
    const moduleUrl = options.module instanceof URL ? options.module.href : options.module;
    this.#setup = { jobModule: moduleUrl, jobData: options.moduleData };
    this.#queue = new JobQueue(queueSize);
    this.#finished = new Int32Array(new SharedArrayBuffer(4 * size));
    for (let i = size - 1; i >= 0; i--) this.#freeSlots.push(i);
    this.#ready = new Promise((resolve, reject) => {
      this.#resolveReady = resolve;
      this.#rejectReady = reject;
    });
    this.#ready.catch(() => {}); // observed through ready()
    for (let i = 0; i < size; i++) this.#spawn();
  }

  /** Resolves once every worker has loaded the job module; rejects with the error if one cannot. */
  ready(): Promise<void> {
    return this.#ready;
  }

  get stats(): PoolStats {
    let ready = 0;
    for (const worker of this.#workers) if (worker.isReady) ready++;
    return {
      threads: this.size,
      busy: this.#busy,
      queued: this.#queue.length,
      ready,
      restarts: this.#restarts,
      backoffMs: this.#backoffMs,
      lastError: this.#lastError,
    };
  }

  /**
   * Runs a job on the next idle worker: the book's `execute`. Rejects at once
   * with ERR_QUEUE_FULL when every worker is busy and the queue is full.
   */
  execute<R = unknown>(payload: unknown, options?: ExecuteOptions): Promise<R> {
    const signal = options?.signal;
    if (signal?.aborted) return Promise.reject(new PoolError('ERR_JOB_ABORTED', 'the job was aborted before it ran'));
    return new Promise<R>((resolve, reject) => {
      let onAbort: (() => void) | null = null;
      const ticket = this.submit(payload, options?.transfer, (err, result) => {
        if (onAbort !== null) signal!.removeEventListener('abort', onAbort);
        if (err === null) resolve(result as R);
        else reject(err);
      });
      if (signal !== undefined && !ticket.isSettled) {
        onAbort = () => this.cancel(ticket);
        signal.addEventListener('abort', onAbort, { once: true });
      }
    });
  }

  /**
   * execute() without a promise: onSettled is called once, possibly before
   * submit returns (ERR_QUEUE_FULL, ERR_POOL_CLOSED). The I/O thread uses
   * this to spare a promise and an AbortSignal per request.
   */
  submit(payload: unknown, transfer: ArrayBuffer[] | undefined, onSettled: JobCallback): JobTicket {
    const job: Job = { id: 0, payload, transfer, onSettled, worker: null, startedAt: 0, isSettled: false };
    if (this.#idle.length === 0) this.poll();
    if (this.#isClosing) {
      this.#settle(job, new PoolError('ERR_POOL_CLOSED', 'the thread pool is closed'));
    } else if (this.#idle.length > 0) {
      this.#run(this.#idle.pop()!, job);
    } else if (this.#queue.isFull) {
      this.#settle(job, new PoolError('ERR_QUEUE_FULL', `all ${this.size} workers are busy and ${this.#queue.capacity} jobs are waiting`));
    } else {
      this.#queue.push(job);
    }
    return job;
  }

  /**
   * Gives up on a job: a queued one is dropped without running; a running
   * one is asked to stop through its signal, and its worker is terminated
   * and replaced if it does not stop within the grace period. The job
   * settles with ERR_JOB_ABORTED.
   */
  cancel(ticket: JobTicket): void {
    this.#abortJob(ticket as Job);
  }

  /**
   * The book's `Drop`: stop taking jobs, finish running and queued ones, then
   * join every worker. Idempotent.
   */
  close(): Promise<void> {
    if (this.#closed !== null) return this.#closed;
    this.#isClosing = true;
    this.#closed = (async () => {
      this.#failStrandedJobs();
      if (this.#busy > 0 || this.#queue.length > 0) {
        await new Promise<void>((resolve) => { this.#onIdle = resolve; });
      }
      await this.#joinAll();
    })();
    return this.#closed;
  }

  /** Stops at once: fails running and queued jobs with ERR_POOL_CLOSED and terminates every worker. */
  async terminate(): Promise<void> {
    this.#isClosing = true;
    const closed = new PoolError('ERR_POOL_CLOSED', 'the thread pool was terminated');
    for (const job of this.#queue.drain()) this.#settle(job, closed);
    for (const worker of this.#workers) {
      if (worker.job !== null) this.#settle(worker.job, closed);
      void worker.thread.terminate();
    }
    await this.#joinAll();
  }

  /**
   * Hands the next queued job to every worker that has finished its job but
   * whose result message has not been delivered yet.
   *
   * Why: a result message is handled only when the I/O thread's event loop
   * gets to it, after the socket reads of that turn. Under load that turn is
   * long, and a worker waiting for it would sit idle, so the pool would run
   * one job per worker per turn. A worker also stores the finished job's id
   * in shared memory, and this check (a few atomic loads) lets the I/O
   * thread keep it busy from wherever it is. submit() calls it whenever no
   * worker is idle.
   */
  poll(): void {
    if (this.#busy === 0) return;
    for (const worker of this.#workers) {
      const job = worker.job;
      if (job !== null && Atomics.load(this.#finished, worker.slot) === job.id) {
        this.#finishRun(worker);
        this.#onWorkerIdle(worker);
      }
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  async #joinAll(): Promise<void> {
    for (const timer of this.#respawnTimers) clearTimeout(timer);
    this.#respawnTimers.clear();
    const exits: Promise<number>[] = [];
    for (const worker of this.#workers) {
      if (worker.isReady) worker.post({ type: 'close' });
      else void worker.thread.terminate();
      exits.push(worker.exited);
    }
    await Promise.all(exits);
  }

  #spawn(): void {
    const slot = this.#freeSlots.pop()!;
    Atomics.store(this.#finished, slot, 0);
    const workerData: WorkerData = { ...this.#setup, finished: this.#finished, slot };
    const thread = new Worker(WORKER_FILE, {
      workerData,
      // Not the parent's --input-type or --eval: they would stop the worker file from loading.
      execArgv: process.execArgv.filter((arg) => !/^--(input-type|eval|print|test)/.test(arg) && arg !== '-e' && arg !== '-p'),
      resourceLimits: this.#options.resourceLimits,
      stderr: false,
      stdout: false,
    });
    const worker = new PoolWorker(this.#nextWorkerId++, slot, thread);
    this.#workers.add(worker);
    thread.on('message', (message: FromWorker) => this.#onWorkerMessage(worker, message));
    thread.on('error', (err) => { worker.exitError = err; });
    thread.on('exit', (code) => this.#onWorkerExit(worker, code));
  }

  #onWorkerMessage(worker: PoolWorker, message: FromWorker): void {
    switch (message.type) {
      case 'ready':
        worker.isReady = true;
        this.#startFailures = 0;
        this.#backoffMs = 0;
        if (!this.#isReady && [...this.#workers].every((w) => w.isReady)) {
          this.#isReady = true;
          this.#resolveReady();
        }
        this.#onWorkerIdle(worker);
        break;
      case 'init-error': {
        const err = new JobError(message.error.name, message.error.message, message.error.stack);
        worker.exitError = err;
        this.#lastError = `cannot load ${this.#setup.jobModule}: ${err.message}`;
        if (!this.#isReady) this.#rejectReady(err);
        break;
      }
      case 'done':
      case 'failed': {
        const job = this.#inFlight.get(message.id);
        if (job === undefined) return;
        this.#inFlight.delete(message.id);
        if (message.type === 'done') this.#settle(job, null, message.result);
        else this.#settle(job, new JobError(message.error.name, message.error.message, message.error.stack));
        if (worker.job === job) {
          // poll() has not seen it finish: free the worker now.
          this.#finishRun(worker);
          this.#onWorkerIdle(worker);
        }
        break;
      }
    }
  }

  #onWorkerIdle(worker: PoolWorker): void {
    if (worker.graceTimer !== null) {
      // Its job was given up on, but it finished within the grace period: keep it.
      clearTimeout(worker.graceTimer);
      worker.graceTimer = null;
    }
    for (;;) {
      const job = this.#queue.shift();
      if (job === undefined) break;
      if (job.isSettled) continue;
      this.#run(worker, job);
      return;
    }
    this.#idle.push(worker);
    if (this.#busy === 0 && this.#onIdle !== null) this.#onIdle();
  }

  #run(worker: PoolWorker, job: Job): void {
    worker.job = job;
    job.id = this.#nextJobId++;
    job.worker = worker;
    job.startedAt = Date.now();
    this.#busy++;
    this.#inFlight.set(job.id, job);
    worker.post({ type: 'run', id: job.id, payload: job.payload }, job.transfer);
    const timeoutMs = this.#options.jobTimeoutMs;
    if (timeoutMs > 0) {
      // One timer per worker, refreshed per job rather than created.
      if (worker.deadlineTimer === null) {
        worker.deadlineTimer = setTimeout(() => this.#onDeadline(worker), Math.min(timeoutMs, MAX_TIMER_MS));
        worker.deadlineTimer.unref();
      } else {
        worker.deadlineTimer.refresh();
      }
    }
  }

  #finishRun(worker: PoolWorker): void {
    worker.job = null;
    this.#busy--;
  }

  #onDeadline(worker: PoolWorker): void {
    const job = worker.job;
    if (job === null || worker.graceTimer !== null) return;
    const elapsed = Date.now() - job.startedAt;
    const timeoutMs = this.#options.jobTimeoutMs;
    if (elapsed < timeoutMs) {
      worker.deadlineTimer = setTimeout(() => this.#onDeadline(worker), Math.min(timeoutMs - elapsed, MAX_TIMER_MS));
      worker.deadlineTimer.unref();
      return;
    }
    this.#giveUp(worker, new PoolError('ERR_JOB_TIMEOUT', `the job ran longer than ${timeoutMs} ms`));
  }

  #abortJob(job: Job): void {
    if (job.isSettled) return;
    const aborted = new PoolError('ERR_JOB_ABORTED', 'the job was aborted');
    if (job.worker === null) {
      // Still queued: drop it without running.
      this.#queue.remove(job);
      this.#settle(job, aborted);
      if (this.#busy === 0 && this.#queue.length === 0 && this.#onIdle !== null) this.#onIdle();
    } else if (job.worker.job === job) {
      this.#giveUp(job.worker, aborted);
    }
  }

  /**
   * Settles the running job with err, asks the job to stop through its
   * signal, and terminates the worker if it has not finished within the
   * grace period. The worker takes no new job meanwhile.
   */
  #giveUp(worker: PoolWorker, err: PoolError): void {
    const job = worker.job!;
    this.#settle(job, err);
    worker.post({ type: 'abort', id: job.id });
    worker.graceTimer = setTimeout(() => {
      if (worker.job !== null) void worker.thread.terminate();
      else {
        worker.graceTimer = null;
        this.#onWorkerIdle(worker);
      }
    }, this.#options.abortGraceMs);
    worker.graceTimer.unref();
  }

  #onWorkerExit(worker: PoolWorker, code: number): void {
    this.#workers.delete(worker);
    const idleAt = this.#idle.indexOf(worker);
    if (idleAt >= 0) this.#idle.splice(idleAt, 1);
    if (worker.graceTimer !== null) clearTimeout(worker.graceTimer);
    if (worker.deadlineTimer !== null) clearTimeout(worker.deadlineTimer);
    this.#freeSlots.push(worker.slot);
    const job = worker.job;
    const err = worker.exitError;
    if (job !== null) this.#finishRun(worker);
    // Its running job, and any whose result it posted that never arrived.
    for (const [id, lost] of this.#inFlight) {
      if (lost.worker !== worker) continue;
      this.#inFlight.delete(id);
      const isOutOfMemory = (err as NodeJS.ErrnoException | null)?.code === 'ERR_WORKER_OUT_OF_MEMORY';
      this.#settle(lost, isOutOfMemory
        ? new PoolError('ERR_WORKER_OUT_OF_MEMORY', 'the worker running the job ran out of memory')
        : new PoolError('ERR_WORKER_DIED', `the worker running the job exited (code ${code})${err ? `: ${err.message}` : ''}`));
    }
    if (!this.#isReady && !worker.isReady) {
      this.#rejectReady(err ?? new Error(`a worker exited with code ${code} while loading ${this.#setup.jobModule}`));
    }
    if (this.#isClosing && this.#queue.length === 0) {
      if (this.#busy === 0 && this.#onIdle !== null) this.#onIdle();
      return;
    }
    if (err !== null) this.#lastError = err.message;
    else if (job === null && !worker.isReady) this.#lastError = `a worker exited with code ${code} while starting`;
    this.#restarts++;
    if (!worker.isReady) {
      // Died while starting: back off so a broken module does not spin the CPU.
      this.#startFailures++;
      this.#backoffMs = Math.min(100 * 2 ** (this.#startFailures - 1), MAX_BACKOFF_MS);
      const timer = setTimeout(() => {
        this.#respawnTimers.delete(timer);
        if (!this.#isClosing) this.#spawn();
        else this.#failStrandedJobs();
      }, this.#backoffMs);
      this.#respawnTimers.add(timer);
    } else {
      this.#spawn();
    }
  }

  /**
   * Closing, with jobs queued and no worker left to run them: each failed to
   * start and none is respawned while closing. Fail the jobs, or close()
   * would wait for them forever.
   */
  #failStrandedJobs(): void {
    if (!this.#isClosing || this.#workers.size > 0 || this.#queue.length === 0) return;
    const closed = new PoolError('ERR_POOL_CLOSED', 'the thread pool closed before a worker could start to run the job');
    for (const job of this.#queue.drain()) this.#settle(job, closed);
    if (this.#busy === 0 && this.#onIdle !== null) this.#onIdle();
  }

  #settle(job: Job, err: Error | null, value?: unknown): void {
    if (job.isSettled) return;
    job.isSettled = true;
    job.onSettled(err, value);
  }
}
