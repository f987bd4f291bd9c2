// The book's ThreadPool: a fixed set of workers fed through one channel.
//
//   execute(job) ─▶ queue full? ──yes──▶ reject ERR_QUEUE_FULL (the caller answers 503)
//                       │ no
//                       ▼
//                  SharedQueue (FIFO, bounded, in shared memory)
//                       │  an idle worker takes the next job itself
//                       ▼
//                  worker runs it ─▶ { done | failed } message ─▶ promise settles
//
// Invariants: a worker runs one job at a time; every job with an id is in
// #jobs until its result arrives, it is cancelled before a worker took it,
// or its worker exits; a job's payload slot is freed exactly then. Deadlines
// start when a worker takes the job, not while it waits.
import os from 'node:os';
import v8 from 'node:v8';
import { MessageChannel, Worker, type MessagePort, type ResourceLimits } from 'node:worker_threads';
import type { FromWorker, ToWorker, WorkerData } from './messages.js';
import { JobError, PoolCreationError, PoolError } from './pool-errors.js';
import { ResultMailboxes } from './result-mailbox.js';
import { SharedQueue } from './shared-queue.js';

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
  /**
   * Writes a payload into the shared queue: returns its length, or -1 when
   * it does not fit (it is then posted as a message). The job module's
   * `decodePayload` reads it back. Default: v8.serialize / v8.deserialize.
   */
  encodePayload?: (payload: any, target: Buffer) => number;
  /** bytes of each payload slot in the shared queue (default 4096) */
  payloadSlotBytes?: number;
  /**
   * Reads a result the job module's `encodeResult` wrote into a worker's
   * result mailbox (bytes are reused afterwards: copy what you keep).
   * Without it, results come by message.
   */
  decodeResult?: (bytes: Buffer) => unknown;
}

export interface ExecuteOptions {
  /** ArrayBuffers of the payload to move to the worker instead of copying (the payload then goes by message) */
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
  /** workers started and ready for jobs (not counting one still running a job given up on) */
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
  /** kept only while it may still have to be posted (it did not fit the shared queue) */
  payload: unknown;
  /** a payload with buffers to move waits in a channel of its own, its buffers already detached here */
  channel: MessagePort | null;
  onSettled: JobCallback;
  isSettled: boolean;
  /** its position in the shared queue, and its payload slot there (-1: by message) */
  position: number;
  slot: number;
}

/** The book's `Worker`: an id and the thread's JoinHandle. */
class PoolWorker {
  readonly id: number;
  /** its cells in the shared queue */
  readonly index: number;
  readonly thread: Worker;
  isReady = false;
  /** running once its job was given up on: the worker is terminated if the job does not end */
  graceTimer: NodeJS.Timeout | null = null;
  exitError: Error | null = null;
  readonly exited: Promise<number>;

  constructor(id: number, index: number, thread: Worker) {
    this.id = id;
    this.index = index;
    this.thread = thread;
    this.exited = new Promise((resolve) => thread.once('exit', resolve));
  }

  post(message: ToWorker, transfer?: readonly (ArrayBuffer | MessagePort)[]): void {
    this.thread.postMessage(message, transfer as ArrayBuffer[] | undefined);
  }
}

const WORKER_FILE = new URL('./worker-main.js', import.meta.url);
const MAX_BACKOFF_MS = 5000;
const MAX_JOB_ID = 0x7fffffff;
/** A job that waits this long wakes a sleeping worker (see #armWakeCheck). */
const WAKE_AFTER_MS = 1;

/**
 * The parent's node flags a worker can take: loaders and the like (an app in
 * TypeScript may need --import), but not --eval or --input-type (they would
 * stop the worker file from loading) nor V8's heap flags, which a Worker
 * refuses (set its resourceLimits instead).
 */
function workerExecArgv(parent: string[]): string[] {
  return parent.filter((arg) =>
    !/^--(input-type|eval|print|test|max-|min-|semi-space|initial-|stack-size|expose-gc|expose_gc)/.test(arg) && arg !== '-e' && arg !== '-p');
}

function encodeWithV8(payload: unknown, target: Buffer): number {
  const bytes = v8.serialize(payload);
  if (bytes.byteLength > target.byteLength) return -1;
  target.set(bytes);
  return bytes.byteLength;
}

export class ThreadPool implements AsyncDisposable {
  readonly size: number;
  #options: {
    queueSize: number;
    jobTimeoutMs: number;
    abortGraceMs: number;
    resourceLimits: ResourceLimits | undefined;
    encodePayload: (payload: unknown, target: Buffer) => number;
    decodeResult: ((bytes: Buffer) => unknown) | null;
  };
  #jobModule: string;
  #moduleData: unknown;
  #queue: SharedQueue;
  #mailboxes: ResultMailboxes;
  #workers = new Set<PoolWorker>();
  #freeIndexes: number[] = [];
  #jobs = new Map<number, Job>();
  #nextJobId = 1;
  #nextWorkerId = 1;
  #wakeTimer: NodeJS.Timeout | null = null;
  #deadlineTimer: NodeJS.Timeout | null = null;
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
    const abortGraceMs = options.abortGraceMs ?? 1000;
    if (!Number.isInteger(abortGraceMs) || abortGraceMs < 0) {
      throw new PoolCreationError(`abortGraceMs must be a whole number of milliseconds; got ${String(abortGraceMs)}`);
    }
    this.size = size;
    this.#options = {
      queueSize,
      jobTimeoutMs,
      abortGraceMs,
      resourceLimits: options.resourceLimits,
      encodePayload: options.encodePayload ?? encodeWithV8,
      decodeResult: options.decodeResult ?? null,
    };
    this.#jobModule = options.module instanceof URL ? options.module.href : options.module;
    this.#moduleData = options.moduleData;
    this.#queue = SharedQueue.create(queueSize, size, options.payloadSlotBytes ?? 4096);
    this.#mailboxes = ResultMailboxes.create(size);
    for (let i = size - 1; i >= 0; i--) this.#freeIndexes.push(i);
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
    let busy = 0;
    for (const worker of this.#workers) {
      // A worker still running a job that was given up on is not ready: it
      // is about to be replaced unless the job ends within its grace period.
      if (worker.isReady && worker.graceTimer === null) ready++;
      if (this.#queue.runningOn(worker.index) !== 0) busy++;
    }
    let waiting = 0;
    for (const job of this.#jobs.values()) {
      if (this.#queue.isWaiting(job.position, job.id)) waiting++;
    }
    return {
      threads: this.size,
      busy,
      // An idle worker is about to take a waiting job: it is not queued behind anyone.
      queued: Math.max(0, waiting - this.#idleWorkers()),
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
    const job: Job = { id: 0, payload, channel: null, onSettled, isSettled: false, position: 0, slot: -1 };
    if (this.#options.decodeResult !== null) this.#collectResults();
    if (this.#isClosing) {
      this.#settle(job, new PoolError('ERR_POOL_CLOSED', 'the thread pool is closed'));
      return job;
    }
    const queued = this.#queue.length;
    const queueSize = this.#options.queueSize;
    if (queued >= queueSize && queued >= queueSize + this.#idleWorkers()) {
      this.#settle(job, this.#queueFull());
      return job;
    }
    job.id = this.#nextJobId;
    this.#nextJobId = this.#nextJobId === MAX_JOB_ID ? 1 : this.#nextJobId + 1;
    // A payload with buffers to move cannot go through shared memory: it is
    // posted into a channel of its own now (moving the buffers, as the caller
    // expects), and the channel goes to the worker that takes the job.
    const encode = transfer === undefined ? (target: Buffer) => this.#options.encodePayload(payload, target) : null;
    const position = this.#queue.push(job.id, encode);
    if (position === -1) {
      this.#settle(job, this.#queueFull());
      return job;
    }
    if (transfer !== undefined) {
      const { port1, port2 } = new MessageChannel();
      port1.postMessage(payload, transfer);
      port1.close();
      job.channel = port2;
      job.payload = null;
    }
    job.position = position;
    job.slot = this.#queue.slotOf(position);
    if (this.#queue.sleepers === this.size) this.#queue.wakeOne(); // nobody awake to take it
    if (this.#wakeTimer === null) this.#armWakeCheck(WAKE_AFTER_MS);
    if (job.slot >= 0) job.payload = null; // it is in the queue now
    this.#jobs.set(job.id, job);
    if (this.#deadlineTimer === null && this.#options.jobTimeoutMs > 0) this.#startDeadlineChecks();
    return job;
  }

  /**
   * Gives up on a job: a queued one is dropped without running; a running
   * one is asked to stop through its signal, and its worker is terminated
   * and replaced if it does not stop within the grace period. The job
   * settles with ERR_JOB_ABORTED.
   */
  cancel(ticket: JobTicket): void {
    const job = ticket as Job;
    if (job.isSettled) return;
    const aborted = new PoolError('ERR_JOB_ABORTED', 'the job was aborted');
    if (this.#queue.cancel(job.position, job.id)) {
      // No worker took it: drop it without running.
      this.#forget(job);
      this.#settle(job, aborted);
      return;
    }
    const worker = this.#workerRunning(job.id);
    if (worker !== null) this.#giveUp(worker, job, aborted);
    else this.#settle(job, aborted); // finished: its result is on the way and will be dropped
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
      if (this.#jobs.size > 0) {
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
    for (const job of [...this.#jobs.values()]) {
      this.#queue.cancel(job.position, job.id);
      this.#forget(job);
      this.#settle(job, closed);
    }
    for (const worker of this.#workers) void worker.thread.terminate();
    await this.#joinAll();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #queueFull(): PoolError {
    return new PoolError('ERR_QUEUE_FULL', `all ${this.size} workers are busy and ${this.#options.queueSize} jobs are waiting`);
  }

  #idleWorkers(): number {
    let idle = 0;
    for (const worker of this.#workers) {
      if (worker.isReady && this.#queue.runningOn(worker.index) === 0) idle++;
    }
    return idle;
  }

  #workerRunning(id: number): PoolWorker | null {
    for (const worker of this.#workers) {
      if (this.#queue.runningOn(worker.index) === id) return worker;
    }
    return null;
  }

  async #joinAll(): Promise<void> {
    for (const timer of this.#respawnTimers) clearTimeout(timer);
    this.#respawnTimers.clear();
    this.#stopDeadlineChecks();
    if (this.#wakeTimer !== null) clearTimeout(this.#wakeTimer);
    const exits: Promise<number>[] = [];
    for (const worker of this.#workers) {
      if (worker.isReady) worker.post({ type: 'close' });
      else void worker.thread.terminate();
      exits.push(worker.exited);
    }
    await Promise.all(exits);
  }

  #spawn(): void {
    const index = this.#freeIndexes.pop()!;
    this.#queue.clearRunning(index);
    this.#mailboxes.reset(index);
    const workerData: WorkerData = {
      jobModule: this.#jobModule,
      jobData: this.#moduleData,
      queue: this.#queue.memory,
      index,
      results: this.#mailboxes.memory,
      hasResultDecoder: this.#options.decodeResult !== null,
    };
    const thread = new Worker(WORKER_FILE, {
      workerData,
      execArgv: workerExecArgv(process.execArgv),
      resourceLimits: this.#options.resourceLimits,
      stderr: false,
      stdout: false,
    });
    const worker = new PoolWorker(this.#nextWorkerId++, index, thread);
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
        break;
      case 'init-error': {
        const err = new JobError(message.error.name, message.error.message, message.error.stack);
        worker.exitError = err;
        this.#lastError = `cannot load ${this.#jobModule}: ${err.message}`;
        if (!this.#isReady) this.#rejectReady(err);
        break;
      }
      case 'need': {
        const job = this.#jobs.get(message.id);
        if (job === undefined || job.isSettled) {
          worker.post({ type: 'skip', id: message.id });
          break;
        }
        if (job.channel !== null) {
          worker.post({ type: 'run', id: job.id, payload: null, channel: job.channel }, [job.channel]);
          job.channel = null;
        } else {
          worker.post({ type: 'run', id: job.id, payload: job.payload, channel: null });
          job.payload = null;
        }
        break;
      }
      case 'results':
        this.#drainMailbox(worker, true);
        break;
      case 'done':
        this.#onResult(worker, message.id, null, message.result);
        break;
      case 'failed':
        this.#onResult(worker, message.id, new JobError(message.error.name, message.error.message, message.error.stack));
        break;
    }
  }

  #drainMailbox(worker: PoolWorker, isDoorbell: boolean): void {
    const decode = this.#options.decodeResult!;
    this.#mailboxes.drain(worker.index, isDoorbell, (id, bytes) => {
      if (!this.#jobs.has(id)) return;
      let result: unknown;
      try {
        result = decode(bytes);
      } catch (err) {
        this.#onResult(worker, id, err as Error);
        return;
      }
      this.#onResult(worker, id, null, result);
    });
  }

  /** Takes the results waiting in every worker's mailbox (cheap when there are none). */
  #collectResults(): void {
    for (const worker of this.#workers) this.#drainMailbox(worker, false);
  }

  /** A job's result or failure, from a message or a mailbox. */
  #onResult(worker: PoolWorker, id: number, err: Error | null, result?: unknown): void {
    const job = this.#jobs.get(id);
    if (job === undefined) return;
    this.#forget(job);
    if (worker.graceTimer !== null) {
      // Given up on, but it ended within its grace period: keep the worker.
      clearTimeout(worker.graceTimer);
      worker.graceTimer = null;
    }
    this.#settle(job, err, result);
  }

  /**
   * Who wakes sleeping workers, and when. On a machine with few cores, a
   * worker woken for every small job costs more than it helps (measured on
   * two cores: one worker taking every GET / answers 60 % more requests than
   * four woken in turn). So a sleeping worker is woken at once only when no
   * worker is awake; otherwise only when a job has waited WAKE_AFTER_MS,
   * that is, when the awake workers are busy with longer jobs.
   */
  #armWakeCheck(delayMs: number): void {
    this.#wakeTimer = setTimeout(this.#checkWaiting, delayMs);
    this.#wakeTimer.unref();
  }

  #checkWaiting = (): void => {
    this.#wakeTimer = null;
    const waitedMs = this.#queue.oldestWaitMs(performance.now());
    if (waitedMs < 0) return;
    if (waitedMs >= WAKE_AFTER_MS) {
      this.#queue.wakeOne();
      this.#armWakeCheck(WAKE_AFTER_MS);
    } else {
      this.#armWakeCheck(WAKE_AFTER_MS - waitedMs);
    }
  };

  /** Deadlines are checked a few times per timeout while jobs are in flight: O(threads) each. */
  #startDeadlineChecks(): void {
    const timeoutMs = this.#options.jobTimeoutMs;
    const everyMs = Math.max(10, Math.min(1000, Math.floor(timeoutMs / 10)));
    this.#deadlineTimer = setInterval(() => this.#checkDeadlines(), everyMs);
    this.#deadlineTimer.unref();
  }

  #stopDeadlineChecks(): void {
    if (this.#deadlineTimer !== null) clearInterval(this.#deadlineTimer);
    this.#deadlineTimer = null;
  }

  #checkDeadlines(): void {
    if (this.#jobs.size === 0) {
      this.#stopDeadlineChecks();
      return;
    }
    const timeoutMs = this.#options.jobTimeoutMs;
    const now = Date.now();
    for (const worker of this.#workers) {
      const id = this.#queue.runningOn(worker.index);
      if (id === 0) continue;
      const job = this.#jobs.get(id);
      if (job === undefined || job.isSettled) continue;
      if (now - this.#queue.startedAt(worker.index) >= timeoutMs) {
        this.#giveUp(worker, job, new PoolError('ERR_JOB_TIMEOUT', `the job ran longer than ${timeoutMs} ms`));
      }
    }
  }

  /**
   * Settles a running job with err, asks it to stop through its signal, and
   * terminates its worker if it is still running it after the grace period.
   */
  #giveUp(worker: PoolWorker, job: Job, err: PoolError): void {
    this.#settle(job, err);
    worker.post({ type: 'abort', id: job.id });
    if (worker.graceTimer !== null) clearTimeout(worker.graceTimer);
    worker.graceTimer = setTimeout(() => {
      worker.graceTimer = null;
      if (this.#queue.runningOn(worker.index) === job.id) void worker.thread.terminate();
    }, this.#options.abortGraceMs);
    worker.graceTimer.unref();
  }

  #onWorkerExit(worker: PoolWorker, code: number): void {
    if (this.#options.decodeResult !== null) this.#drainMailbox(worker, true); // results it left behind
    this.#workers.delete(worker);
    if (worker.graceTimer !== null) clearTimeout(worker.graceTimer);
    const err = worker.exitError;
    const id = this.#queue.runningOn(worker.index);
    this.#queue.clearRunning(worker.index);
    this.#freeIndexes.push(worker.index);
    const job = id === 0 ? undefined : this.#jobs.get(id);
    if (job !== undefined) {
      this.#forget(job);
      const isOutOfMemory = (err as NodeJS.ErrnoException | null)?.code === 'ERR_WORKER_OUT_OF_MEMORY';
      this.#settle(job, isOutOfMemory
        ? new PoolError('ERR_WORKER_OUT_OF_MEMORY', 'the worker running the job ran out of memory')
        : new PoolError('ERR_WORKER_DIED', `the worker running the job exited (code ${code})${err ? `: ${err.message}` : ''}`));
    }
    if (!this.#isReady && !worker.isReady) {
      this.#rejectReady(err ?? new Error(`a worker exited with code ${code} while loading ${this.#jobModule}`));
    }
    if (this.#isClosing && this.#jobs.size === 0) return;
    if (err !== null) this.#lastError = err.message;
    else if (job === undefined && !worker.isReady) this.#lastError = `a worker exited with code ${code} while starting`;
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
    if (!this.#isClosing || this.#workers.size > 0 || this.#jobs.size === 0) return;
    const closed = new PoolError('ERR_POOL_CLOSED', 'the thread pool closed before a worker could start to run the job');
    for (const job of [...this.#jobs.values()]) {
      this.#queue.cancel(job.position, job.id);
      this.#forget(job);
      this.#settle(job, closed);
    }
  }

  /** The job's fate is final: no worker will read its payload or send its result. */
  #forget(job: Job): void {
    if (!this.#jobs.delete(job.id)) return;
    this.#queue.freeSlot(job.slot);
    job.slot = -1;
    job.channel?.close();
    job.channel = null;
    if (this.#jobs.size === 0 && this.#onIdle !== null) this.#onIdle();
  }

  #settle(job: Job, err: Error | null, value?: unknown): void {
    if (job.isSettled) return;
    job.isSettled = true;
    job.onSettled(err, value);
  }
}
