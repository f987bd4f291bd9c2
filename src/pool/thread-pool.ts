// The book's ThreadPool: a fixed set of workers fed through one channel.
//
//   execute(job) ─▶ queue full? ──yes──▶ reject ERR_QUEUE_FULL (the caller answers 503)
//                       │ no
//                       ▼
//                  SharedQueue (FIFO, bounded, in shared memory)
//                       │  a worker with a free lane takes the next job itself
//                       ▼
//                  worker runs it ─▶ { done | failed } ─▶ promise settles
//
// Invariants: a worker runs at most `concurrency` jobs at once, one per
// lane; every job with an id is in #jobs until its result arrives, it is
// cancelled before a worker took it, or its worker exits; a job's payload
// slot is freed exactly then. Deadlines start when a worker takes the job,
// not while it waits.
import { MessageChannel, MessagePort, type TransferListItem } from 'node:worker_threads';
import { DeadlineClock } from './deadlines.js';
import { createJob, JobTable, settle, type Job } from './job-table.js';
import type { FromWorker, WorkerData } from './messages.js';
import { JobError, PoolError } from './pool-errors.js';
import {
  resolvePoolOptions, type ExecuteOptions, type JobCallback, type JobTicket, type PoolStats, type ResolvedPoolOptions, type RestartCause,
  type ThreadPoolOptions,
} from './pool-options.js';
import { PoolWorker, startThread } from './pool-worker.js';
import { ResultMailboxes } from './result-mailbox.js';
import { SharedQueue } from './shared-queue.js';
import { StartBackoff } from './start-backoff.js';
import { WakePolicy } from './wake-policy.js';


export type { ExecuteOptions, JobCallback, JobTicket, PoolStats, RestartCause, ThreadPoolOptions } from './pool-options.js';

const MIN_MAILBOX_SLOTS = 8;
const MAX_MAILBOX_SLOTS = 64;


export class ThreadPool implements AsyncDisposable {
  readonly size: number;
  #options: ResolvedPoolOptions;
  #jobModule: string;
  #moduleData: unknown;
  #queue: SharedQueue;
  #mailboxes: ResultMailboxes;
  #workers = new Set<PoolWorker>();
  #freeIndexes: number[] = [];
  #jobs: JobTable;
  #nextWorkerId = 1;
  #wakePolicy: WakePolicy;
  #deadlines: DeadlineClock;
  #restarts = 0;
  #restartsByCause: Record<RestartCause, number> = { recycled: 0, terminated: 0, out_of_memory: 0, error: 0, exit: 0, start_failed: 0 };
  #backoff = new StartBackoff();
  #lastError: string | null = null;
  #isClosing = false;
  #closed: Promise<void> | null = null;
  #ready: Promise<void>;
  #resolveReady!: () => void;
  #rejectReady!: (err: Error) => void;
  #isReady = false;

  constructor(options: ThreadPoolOptions) {
    const resolved = resolvePoolOptions(options);
    const size = resolved.size;
    this.size = size;
    this.#options = resolved;
    this.#jobModule = options.module instanceof URL ? options.module.href : options.module;
    this.#moduleData = options.moduleData;
    this.#queue = SharedQueue.create(resolved.queueSize, size, resolved.concurrency, resolved.payloadSlotBytes);
    this.#jobs = new JobTable(this.#queue);
    // Room for the results of jobs that end together (a burst of timers); past it they come by message.
    const mailboxSlots = Math.min(MAX_MAILBOX_SLOTS, Math.max(MIN_MAILBOX_SLOTS, resolved.concurrency));
    this.#mailboxes = ResultMailboxes.create(size, resolved.resultSlotBytes, mailboxSlots);
    this.#wakePolicy = new WakePolicy(this.#queue, size);
    this.#deadlines = new DeadlineClock(resolved.jobTimeoutMs, () => this.#checkDeadlines());
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
    let inFlight = 0;
    const inFlightPerWorker: number[] = [];
    for (const worker of [...this.#workers].sort((a, b) => a.index - b.index)) {
      // A worker still running a job that was given up on is not ready: it
      // is about to be replaced unless the job ends within its grace period.
      if (worker.isReady && worker.graceTimers.size === 0) ready++;
      const jobs = this.#queue.inFlight(worker.index);
      if (jobs > 0) busy++;
      inFlight += jobs;
      inFlightPerWorker.push(jobs);
    }
    let waiting = 0;
    for (const job of this.#jobs.values()) {
      if (this.#queue.isWaiting(job.position, job.id)) waiting++;
    }
    return {
      threads: this.size,
      concurrency: this.#options.concurrency,
      busy,
      inFlight,
      inFlightPerWorker,
      // An idle worker is about to take a waiting job: it is not queued behind
      // anyone. (A worker with jobs in flight may be blocked in one of them.)
      queued: Math.max(0, waiting - this.#idleWorkers()),
      ready,
      restarts: this.#restarts,
      restartsByCause: { ...this.#restartsByCause },
      backoffMs: this.#backoff.delayMs,
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
  submit(payload: unknown, transfer: TransferListItem[] | undefined, onSettled: JobCallback): JobTicket {
    const job = createJob(payload, onSettled);
    if (this.#options.decodeResult !== null) this.#collectResults();
    if (this.#isClosing) {
      settle(job, new PoolError('ERR_POOL_CLOSED', 'the thread pool is closed'));
      return job;
    }
    const queued = this.#queue.length;
    const queueSize = this.#options.queueSize;
    if (queued >= queueSize && queued >= queueSize + this.#freeLanes()) {
      settle(job, this.#queueFull());
      return job;
    }
    job.id = this.#jobs.takeId();
    // A payload with buffers to move cannot go through shared memory: it is
    // posted into a channel of its own now (moving the buffers, as the caller
    // expects), and the channel goes to the worker that takes the job.
    const encode = transfer === undefined ? (target: Buffer) => this.#options.encodePayload(payload, target) : null;
    const position = this.#queue.push(job.id, encode);
    if (position === -1) {
      settle(job, this.#queueFull());
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
    this.#wakePolicy.onJobPushed();
    if (job.slot >= 0) job.payload = null; // it is in the queue now
    this.#jobs.add(job);
    this.#deadlines.start();
    return job;
  }

  /**
   * The job's deadline runs the whole timeout again from now: for a job
   * that makes progress on input it waits for, such as a request body that
   * arrives as it runs. A job that stops taking it times out as usual.
   */
  restartDeadline(ticket: JobTicket): void {
    (ticket as Job).deadlineFrom = Date.now();
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
      this.#jobs.forget(job);
      settle(job, aborted);
      return;
    }
    const worker = this.#workerRunning(job.id);
    if (worker !== null) this.#giveUp(worker, job, aborted);
    else settle(job, aborted); // finished: its result is on the way and will be dropped
  }

  /**
   * The book's `Drop`: close the channel, so that each worker finishes the
   * jobs still queued and its loop ends when it finds the queue closed and
   * empty (the book's `recv` error and `break`); then join every worker.
   * Idempotent.
   */
  close(): Promise<void> {
    if (this.#closed !== null) return this.#closed;
    this.#isClosing = true;
    this.#closed = (async () => {
      this.#failStrandedJobs();
      this.#queue.close();
      if (this.#jobs.size > 0) await this.#jobs.whenEmpty();
      await this.#joinAll();
    })();
    return this.#closed;
  }

  /** Stops at once: fails running and queued jobs with ERR_POOL_CLOSED and terminates every worker. */
  async terminate(): Promise<void> {
    this.#isClosing = true;
    this.#queue.close(false);
    this.#jobs.failAll(new PoolError('ERR_POOL_CLOSED', 'the thread pool was terminated'));
    for (const worker of this.#workers) void worker.thread.terminate();
    await this.#joinAll();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #queueFull(): PoolError {
    const lanes = this.size * this.#options.concurrency;
    return new PoolError('ERR_QUEUE_FULL', `all ${lanes} job lanes of ${this.size} workers are busy and ${this.#options.queueSize} jobs are waiting`);
  }

  /** Ready workers that run no job. */
  #idleWorkers(): number {
    let idle = 0;
    for (const worker of this.#workers) {
      if (worker.isReady && worker.graceTimers.size === 0 && this.#queue.inFlight(worker.index) === 0) idle++;
    }
    return idle;
  }

  /** Lanes of ready workers that run no job and may take one. */
  #freeLanes(): number {
    let free = 0;
    for (const worker of this.#workers) {
      if (worker.isReady && worker.graceTimers.size === 0) free += this.#options.concurrency - this.#queue.inFlight(worker.index);
    }
    return free;
  }

  /** Where job id runs, or null when no lane runs it (queued, or finished). */
  #workerRunning(id: number): PoolWorker | null {
    for (const worker of this.#workers) {
      if (this.#queue.inFlight(worker.index) === 0) continue;
      for (const lane of this.#lanesOf(worker)) {
        if (this.#queue.runningOn(lane) === id) return worker;
      }
    }
    return null;
  }

  /** The lane numbers of a worker in the shared queue. */
  *#lanesOf(worker: PoolWorker): Generator<number> {
    const lanes = this.#options.concurrency;
    for (let lane = worker.index * lanes; lane < (worker.index + 1) * lanes; lane++) yield lane;
  }

  /** The book's `join` of each worker: ready ones end their loops themselves; one still loading has nothing to finish. */
  async #joinAll(): Promise<void> {
    this.#backoff.cancel();
    this.#deadlines.stop();
    this.#wakePolicy.stop();
    this.#queue.close();
    const exits: Promise<number>[] = [];
    for (const worker of this.#workers) {
      if (!worker.isReady) void worker.thread.terminate();
      exits.push(worker.exited);
    }
    await Promise.all(exits);
  }

  #spawn(): void {
    const index = this.#freeIndexes.pop()!;
    this.#queue.resetWorker(index);
    this.#mailboxes.reset(index);
    const workerData: WorkerData = {
      jobModule: this.#jobModule,
      jobData: this.#moduleData,
      queue: this.#queue.memory,
      index,
      results: this.#mailboxes.memory,
      hasResultDecoder: this.#options.decodeResult !== null,
      recycleAfterJobs: withJitter(this.#options.maxJobsPerWorker),
      recycleAboveHeapBytes: this.#options.maxWorkerHeapBytes,
    };
    const thread = startThread(workerData, this.#options.resourceLimits);
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
        this.#backoff.onStarted();
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
      case 'recycling':
        worker.recycling = message.reason;
        // It may have been the one woken for a queued job: someone else takes it.
        if (this.#queue.length > 0) this.#queue.wakeOne();
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
    if (job === undefined) {
      closePorts(result); // nobody waits for it: a port it carries closes, and the worker's end learns so
      return;
    }
    this.#jobs.forget(job);
    // Given up on, but it ended within its grace period: keep the worker.
    if (worker.clearGraceTimer(id) && worker.graceTimers.size === 0) this.#queue.setRetiring(worker.index, false);
    settle(job, err, result);
  }

  /** Gives up on each running job past its deadline; false once no job is in flight. */
  #checkDeadlines(): boolean {
    if (this.#jobs.size === 0) return false;
    const timeoutMs = this.#options.jobTimeoutMs;
    const now = Date.now();
    for (const worker of this.#workers) {
      if (this.#queue.inFlight(worker.index) === 0) continue;
      for (const lane of this.#lanesOf(worker)) {
        const id = this.#queue.runningOn(lane);
        if (id === 0 || now - this.#queue.startedAt(lane) < timeoutMs) continue;
        const job = this.#jobs.get(id);
        if (job === undefined || job.isSettled || now - job.deadlineFrom < timeoutMs) continue;
        this.#giveUp(worker, job, new PoolError('ERR_JOB_TIMEOUT', `the job ran longer than ${timeoutMs} ms`));
      }
    }
    return true;
  }

  /**
   * Settles a running job with err and asks it to stop through its signal.
   * Until it ends its worker takes no new job; if it has not ended after the
   * grace period the worker is terminated, and the other jobs it runs fail
   * with ERR_WORKER_TERMINATED.
   */
  #giveUp(worker: PoolWorker, job: Job, err: PoolError): void {
    settle(job, err);
    worker.post({ type: 'abort', id: job.id });
    if (worker.graceTimers.has(job.id)) return;
    this.#queue.setRetiring(worker.index, true);
    const timer = setTimeout(() => {
      worker.graceTimers.delete(job.id);
      if (!this.#jobs.has(job.id) || worker.terminatedFor !== null) return;
      worker.terminatedFor = `a job given up on (${err.message}) did not stop within ${this.#options.abortGraceMs} ms of its abort`;
      void worker.thread.terminate();
    }, this.#options.abortGraceMs);
    timer.unref();
    worker.graceTimers.set(job.id, timer);
  }

  #onWorkerExit(worker: PoolWorker, code: number): void {
    if (this.#options.decodeResult !== null) this.#drainMailbox(worker, true); // results it left behind
    this.#workers.delete(worker);
    worker.clearGraceTimers();
    const err = worker.exitError;
    const lost = this.#failJobsOf(worker, code);
    this.#queue.resetWorker(worker.index);
    this.#freeIndexes.push(worker.index);
    if (!this.#isReady && !worker.isReady) {
      this.#rejectReady(err ?? new Error(`a worker exited with code ${code} while loading ${this.#jobModule}`));
    }
    // Joined: its loop found the channel closed and empty and ended.
    if (this.#isClosing && (this.#jobs.size === 0 || (lost === 0 && code === 0 && err === null))) return;
    const cause = restartCause(worker, err);
    if (cause === 'recycled' && code === 0 && lost === 0) {
      // Planned: it reached its limit and left with nothing in flight. Not a failure.
      this.#restartsByCause.recycled++;
      this.#spawn();
      return;
    }
    if (worker.terminatedFor !== null) this.#lastError = `worker ${worker.id} was terminated: ${worker.terminatedFor}`;
    else if (err !== null) this.#lastError = err.message;
    else if (lost === 0 && !worker.isReady) this.#lastError = `a worker exited with code ${code} while starting`;
    else this.#lastError = `worker ${worker.id} exited with code ${code}`;
    if (lost > 0 || worker.terminatedFor !== null) {
      this.#options.log(`spindle: ${this.#lastError}; ${lost} job${lost === 1 ? '' : 's'} in flight on it failed`);
    }
    this.#restarts++;
    this.#restartsByCause[cause === 'recycled' ? 'exit' : cause]++;
    if (!worker.isReady) {
      this.#backoff.onStartFailed(() => {
        if (!this.#isClosing) this.#spawn();
        else this.#failStrandedJobs();
      });
    } else {
      this.#spawn();
    }
  }

  /**
   * Fails every job a worker that exited had taken: they may have had side
   * effects, so none is run again. Returns how many had not settled yet
   * (a job given up on has its answer already).
   */
  #failJobsOf(worker: PoolWorker, code: number): number {
    const err = worker.exitError as NodeJS.ErrnoException | null;
    let failure: PoolError;
    if (err?.code === 'ERR_WORKER_OUT_OF_MEMORY') {
      failure = new PoolError('ERR_WORKER_OUT_OF_MEMORY', 'the worker running the job ran out of memory');
    } else if (worker.terminatedFor !== null) {
      failure = new PoolError('ERR_WORKER_TERMINATED', `the worker running the job was terminated: ${worker.terminatedFor}`);
    } else {
      failure = new PoolError('ERR_WORKER_DIED', `the worker running the job exited (code ${code})${err ? `: ${err.message}` : ''}`);
    }
    let lost = 0;
    for (const lane of this.#lanesOf(worker)) {
      const id = this.#queue.runningOn(lane);
      const job = id === 0 ? undefined : this.#jobs.get(id);
      if (job === undefined) continue;
      this.#jobs.forget(job);
      if (!job.isSettled) lost++;
      settle(job, failure);
    }
    return lost;
  }

  /**
   * Closing, with jobs queued and no worker left to run them: each failed to
   * start and none is respawned while closing. Fail the jobs, or close()
   * would wait for them forever.
   */
  #failStrandedJobs(): void {
    if (!this.#isClosing || this.#workers.size > 0 || this.#jobs.size === 0) return;
    this.#jobs.failAll(new PoolError('ERR_POOL_CLOSED', 'the thread pool closed before a worker could start to run the job'));
  }
}

/** A job limit plus up to a tenth more, at random, so that workers started together are not recycled together. */
function withJitter(limit: number): number {
  return limit === 0 ? 0 : limit + Math.floor(Math.random() * (Math.floor(limit / 10) + 1));
}

/** Why a worker that left had to be replaced, for the metrics. */
function restartCause(worker: PoolWorker, err: (Error & { code?: string }) | null): RestartCause {
  if (!worker.isReady) return 'start_failed';
  if (worker.recycling !== null && err === null && worker.terminatedFor === null) return 'recycled';
  if (worker.terminatedFor !== null) return 'terminated';
  if (err?.code === 'ERR_WORKER_OUT_OF_MEMORY') return 'out_of_memory';
  return err !== null ? 'error' : 'exit';
}

/** Closes the message ports among a result's own values. */
function closePorts(result: unknown): void {
  if (result === null || typeof result !== 'object') return;
  for (const value of Object.values(result)) if (value instanceof MessagePort) value.close();
}
