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
//
// This file takes jobs in, hands their results back and gives up on jobs
// (deadline passed, cancelled); worker-lifecycle.ts starts the threads and
// replaces them, and job-table.ts keeps the jobs by id.
import { MessageChannel, MessagePort, type TransferListItem } from 'node:worker_threads';
import { DeadlineClock } from './deadlines.js';
import { createJob, JobTable, settle, type Job } from './job-table.js';
import { JobError, PoolError } from './pool-errors.js';
import {
  resolvePoolOptions, type ExecuteOptions, type JobCallback, type JobTicket, type PoolStats, type ResolvedPoolOptions, type ThreadPoolOptions,
} from './pool-options.js';
import type { PoolWorker } from './pool-worker.js';
import { ResultMailboxes } from './result-mailbox.js';
import { SharedQueue } from './shared-queue.js';
import { WakePolicy } from './wake-policy.js';
import { WorkerLifecycle, type JobMessage } from './worker-lifecycle.js';


export type { ExecuteOptions, JobCallback, JobTicket, PoolStats, RestartCause, ThreadPoolOptions } from './pool-options.js';

const MIN_MAILBOX_SLOTS = 8;
const MAX_MAILBOX_SLOTS = 64;


export class ThreadPool implements AsyncDisposable {
  readonly size: number;
  #options: ResolvedPoolOptions;
  #queue: SharedQueue;
  #mailboxes: ResultMailboxes;
  #jobs: JobTable;
  #lifecycle: WorkerLifecycle;
  /** the lifecycle's live workers (it adds and removes them) */
  #workers: ReadonlySet<PoolWorker>;
  #wakePolicy: WakePolicy;
  #deadlines: DeadlineClock;
  #isClosing = false;
  #closed: Promise<void> | null = null;

  constructor(options: ThreadPoolOptions) {
    const resolved = resolvePoolOptions(options);
    const size = resolved.size;
    this.size = size;
    this.#options = resolved;
    this.#queue = SharedQueue.create(resolved.queueSize, size, resolved.concurrency, resolved.payloadSlotBytes);
    this.#jobs = new JobTable(this.#queue);
    // Room for the results of jobs that end together (a burst of timers); past it they come by message.
    const mailboxSlots = Math.min(MAX_MAILBOX_SLOTS, Math.max(MIN_MAILBOX_SLOTS, resolved.concurrency));
    this.#mailboxes = ResultMailboxes.create(size, resolved.resultSlotBytes, mailboxSlots);
    this.#wakePolicy = new WakePolicy(this.#queue, size);
    this.#deadlines = new DeadlineClock(resolved.jobTimeoutMs, () => this.#checkDeadlines());
    this.#lifecycle = new WorkerLifecycle({
      options: resolved,
      jobModule: options.module instanceof URL ? options.module.href : options.module,
      moduleData: options.moduleData,
      queue: this.#queue,
      mailboxes: this.#mailboxes,
      jobs: this.#jobs,
      events: {
        onJobMessage: (worker, message) => this.#onJobMessage(worker, message),
        onWorkerExit: (worker) => {
          if (resolved.decodeResult !== null) this.#drainMailbox(worker, true); // results it left behind
        },
        isClosing: () => this.#isClosing,
      },
    });
    this.#workers = this.#lifecycle.workers;
    this.#lifecycle.start();
  }

  /** Resolves once every worker has loaded the job module; rejects with the error if one cannot. */
  ready(): Promise<void> {
    return this.#lifecycle.ready;
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
      ...this.#lifecycle.stats,
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
      this.#lifecycle.failStrandedJobs();
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
      if (worker.isReady && worker.recycling === null && worker.graceTimers.size === 0 && this.#queue.inFlight(worker.index) === 0) idle++;
    }
    return idle;
  }

  /** Lanes of ready workers that run no job and may take one (a recycling worker takes none). */
  #freeLanes(): number {
    let free = 0;
    for (const worker of this.#workers) {
      if (worker.isReady && worker.recycling === null && worker.graceTimers.size === 0) free += this.#options.concurrency - this.#queue.inFlight(worker.index);
    }
    return free;
  }

  /** Where job id runs, or null when no lane runs it (queued, or finished). */
  #workerRunning(id: number): PoolWorker | null {
    for (const worker of this.#workers) {
      if (this.#queue.inFlight(worker.index) === 0) continue;
      for (const lane of worker.lanes(this.#options.concurrency)) {
        if (this.#queue.runningOn(lane) === id) return worker;
      }
    }
    return null;
  }

  /** Stops the pool's timers and joins every worker. */
  async #joinAll(): Promise<void> {
    this.#deadlines.stop();
    this.#wakePolicy.stop();
    this.#queue.close();
    await this.#lifecycle.join();
  }

  #onJobMessage(worker: PoolWorker, message: JobMessage): void {
    switch (message.type) {
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
      for (const lane of worker.lanes(this.#options.concurrency)) {
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
}

/** Closes the message ports among a result's own values. */
function closePorts(result: unknown): void {
  if (result === null || typeof result !== 'object') return;
  for (const value of Object.values(result)) if (value instanceof MessagePort) value.close();
}
