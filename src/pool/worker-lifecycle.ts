// The workers' lives, on the main side: starting each thread, knowing when
// it has loaded the job module, and replacing it when it leaves, so the pool
// returns to full strength. A worker that exits takes the jobs it had taken
// with it: they may have had side effects, so each fails rather than runs
// again. Why it left is counted by cause for the metrics.
//
//   spawn ─▶ loading ──ready──▶ taking jobs ──recycling──▶ finishing its own
//               │                    │                           │
//        init-error, exit          exit                        exit
//               └────────────────────┴─────────────┬─────────────┘
//                                                  ▼
//                  fail the jobs it had taken, then replace it: at once, or
//                  after a growing delay if it never became ready
//                  (start-backoff.ts); while the pool closes it is joined
//                  instead, unless it died with jobs still to run
//
// Messages about jobs (need, results, done, failed) go to the pool; this
// module handles the rest (ready, init-error, recycling).
import type { FromWorker, InitErrorMessage, ReadyMessage, RecyclingMessage, WorkerData } from './messages.js';
import { settle, type JobTable } from './job-table.js';
import { JobError, PoolError } from './pool-errors.js';
import type { PoolStats, ResolvedPoolOptions, RestartCause } from './pool-options.js';
import { PoolWorker, startThread } from './pool-worker.js';
import type { ResultMailboxes } from './result-mailbox.js';
import type { SharedQueue } from './shared-queue.js';
import { StartBackoff } from './start-backoff.js';

export type JobMessage = Exclude<FromWorker, ReadyMessage | InitErrorMessage | RecyclingMessage>;

/** What the lifecycle needs from the pool. */
export interface WorkerEvents {
  onJobMessage(worker: PoolWorker, message: JobMessage): void;
  /** its thread has ended and the jobs it took are about to fail: collect the results it left behind */
  onWorkerExit(worker: PoolWorker): void;
  /** close() or terminate() was called */
  isClosing(): boolean;
}

export interface WorkerLifecycleSetup {
  options: ResolvedPoolOptions;
  /** URL of the job module, and what its setup() export is handed */
  jobModule: string;
  moduleData: unknown;
  queue: SharedQueue;
  mailboxes: ResultMailboxes;
  jobs: JobTable;
  events: WorkerEvents;
}

export type RestartStats = Pick<PoolStats, 'restarts' | 'restartsByCause' | 'backoffMs' | 'lastError'>;

export class WorkerLifecycle {
  /** the workers whose threads have not exited yet */
  readonly workers: ReadonlySet<PoolWorker>;
  /** resolves once every worker has loaded the job module; rejects with the error if one cannot */
  readonly ready: Promise<void>;
  #workers = new Set<PoolWorker>();
  #setup: WorkerLifecycleSetup;
  #freeIndexes: number[] = [];
  #nextWorkerId = 1;
  #restarts = 0;
  #restartsByCause: Record<RestartCause, number> = { recycled: 0, terminated: 0, out_of_memory: 0, error: 0, exit: 0, start_failed: 0 };
  #backoff = new StartBackoff();
  #lastError: string | null = null;
  #isReady = false;
  #resolveReady!: () => void;
  #rejectReady!: (err: Error) => void;

  constructor(setup: WorkerLifecycleSetup) {
    this.#setup = setup;
    this.workers = this.#workers;
    for (let i = setup.options.size - 1; i >= 0; i--) this.#freeIndexes.push(i);
    this.ready = new Promise((resolve, reject) => {
      this.#resolveReady = resolve;
      this.#rejectReady = reject;
    });
    this.ready.catch(() => {}); // observed through the pool's ready()
  }

  get stats(): RestartStats {
    return {
      restarts: this.#restarts,
      restartsByCause: { ...this.#restartsByCause },
      backoffMs: this.#backoff.delayMs,
      lastError: this.#lastError,
    };
  }

  /** Starts the pool's workers. */
  start(): void {
    for (let i = 0; i < this.#setup.options.size; i++) this.#spawn();
  }

  /** The book's `join` of each worker: ready ones end their loops themselves; one still loading has nothing to finish. */
  async join(): Promise<void> {
    this.#backoff.cancel();
    const exits: Promise<number>[] = [];
    for (const worker of this.#workers) {
      if (!worker.isReady) void worker.thread.terminate();
      exits.push(worker.exited);
    }
    await Promise.all(exits);
  }

  /**
   * Closing, with jobs queued and no worker left to run them: each failed to
   * start and none is respawned while closing. Fail the jobs, or close()
   * would wait for them forever.
   */
  failStrandedJobs(): void {
    const { events, jobs } = this.#setup;
    if (!events.isClosing() || this.#workers.size > 0 || jobs.size === 0) return;
    jobs.failAll(new PoolError('ERR_POOL_CLOSED', 'the thread pool closed before a worker could start to run the job'));
  }

  #spawn(): void {
    const { options, queue, mailboxes } = this.#setup;
    const index = this.#freeIndexes.pop()!;
    queue.resetWorker(index);
    mailboxes.reset(index);
    const workerData: WorkerData = {
      jobModule: this.#setup.jobModule,
      jobData: this.#setup.moduleData,
      queue: queue.memory,
      index,
      results: mailboxes.memory,
      hasResultDecoder: options.decodeResult !== null,
      recycleAfterJobs: withJitter(options.maxJobsPerWorker),
      recycleAboveHeapBytes: options.maxWorkerHeapBytes,
    };
    const thread = startThread(workerData, options.resourceLimits);
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
        this.#lastError = `cannot load ${this.#setup.jobModule}: ${err.message}`;
        if (!this.#isReady) this.#rejectReady(err);
        break;
      }
      case 'recycling':
        worker.recycling = message.reason;
        // It may have been the one woken for a queued job: someone else takes it.
        if (this.#setup.queue.length > 0) this.#setup.queue.wakeOne();
        break;
      default:
        this.#setup.events.onJobMessage(worker, message);
    }
  }

  #onWorkerExit(worker: PoolWorker, code: number): void {
    const { options, queue, jobs, events } = this.#setup;
    events.onWorkerExit(worker);
    this.#workers.delete(worker);
    worker.clearGraceTimers();
    const err = worker.exitError;
    const lost = this.#failJobsOf(worker, code);
    queue.resetWorker(worker.index);
    this.#freeIndexes.push(worker.index);
    if (!this.#isReady && !worker.isReady) {
      this.#rejectReady(err ?? new Error(`a worker exited with code ${code} while loading ${this.#setup.jobModule}`));
    }
    // Joined: its loop found the channel closed and empty and ended.
    if (events.isClosing() && (jobs.size === 0 || (lost === 0 && code === 0 && err === null))) return;
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
      options.log(`spindle: ${this.#lastError}; ${lost} job${lost === 1 ? '' : 's'} in flight on it failed`);
    }
    this.#restarts++;
    this.#restartsByCause[cause === 'recycled' ? 'exit' : cause]++;
    if (!worker.isReady) {
      this.#backoff.onStartFailed(() => {
        if (!events.isClosing()) this.#spawn();
        else this.failStrandedJobs();
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
    const { options, queue, jobs } = this.#setup;
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
    for (const lane of worker.lanes(options.concurrency)) {
      const id = queue.runningOn(lane);
      const job = id === 0 ? undefined : jobs.get(id);
      if (job === undefined) continue;
      jobs.forget(job);
      if (!job.isSettled) lost++;
      settle(job, failure);
    }
    return lost;
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
