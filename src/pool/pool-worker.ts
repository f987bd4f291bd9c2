// The book's `Worker`: an id and the thread's JoinHandle, on the main side.
// Also where a thread is started: which node flags it inherits, and the
// data it is started with.
import { Worker, type MessagePort, type ResourceLimits } from 'node:worker_threads';
import type { ToWorker, WorkerData } from './messages.js';

const WORKER_FILE = new URL('./worker-main.js', import.meta.url);

export class PoolWorker {
  readonly id: number;
  /** its cells in the shared queue and the result mailboxes */
  readonly index: number;
  readonly thread: Worker;
  /** the job module has loaded: the worker takes jobs */
  isReady = false;
  /**
   * Per job given up on (deadline passed, client gone) that is still
   * running here: the worker is terminated if the job does not end within
   * its grace period. Meanwhile the worker takes no new job.
   */
  readonly graceTimers = new Map<number, NodeJS.Timeout>();
  /** why the pool terminated it, once it did */
  terminatedFor: string | null = null;
  /** why it is being recycled (its job or heap limit), once it said so */
  recycling: string | null = null;
  exitError: Error | null = null;
  /** the JoinHandle: resolves with the exit code once the thread has ended */
  readonly exited: Promise<number>;

  constructor(id: number, index: number, thread: Worker) {
    this.id = id;
    this.index = index;
    this.thread = thread;
    this.exited = new Promise((resolve) => thread.once('exit', resolve));
  }

  /** Its lanes in the shared queue: lanesPerWorker (the pool's concurrency) of them, from index × lanesPerWorker. */
  *lanes(lanesPerWorker: number): Generator<number> {
    for (let lane = this.index * lanesPerWorker; lane < (this.index + 1) * lanesPerWorker; lane++) yield lane;
  }

  post(message: ToWorker, transfer?: readonly (ArrayBuffer | MessagePort)[]): void {
    this.thread.postMessage(message, transfer as ArrayBuffer[] | undefined);
  }

  /** Stops the grace timer of job id; true when it had one. */
  clearGraceTimer(id: number): boolean {
    const timer = this.graceTimers.get(id);
    if (timer === undefined) return false;
    clearTimeout(timer);
    this.graceTimers.delete(id);
    return true;
  }

  clearGraceTimers(): void {
    for (const timer of this.graceTimers.values()) clearTimeout(timer);
    this.graceTimers.clear();
  }
}

/** Starts a thread running worker-main.ts with the given data. */
export function startThread(workerData: WorkerData, resourceLimits: ResourceLimits | undefined): Worker {
  const options = { workerData, resourceLimits, stderr: false, stdout: false };
  try {
    return new Worker(WORKER_FILE, { ...options, execArgv: inheritedFlags ?? workerExecArgv(process.execArgv) });
  } catch (err) {
    // A per-process flag (--trace-gc, --perf-basic-prof, V8's heap sizes...)
    // is refused by name: the threads start without the ones named, and the
    // process keeps them.
    if ((err as NodeJS.ErrnoException).code !== 'ERR_WORKER_INVALID_EXEC_ARGV' || inheritedFlags !== null) throw err;
    const refused = new Set((err as Error).message.replace(/^[^:]*:\s*/, '').split(', '));
    inheritedFlags = workerExecArgv(process.execArgv).filter((arg) => !refused.has(arg));
    return new Worker(WORKER_FILE, { ...options, execArgv: inheritedFlags });
  }
}

/** the parent's flags the threads take, once a thread has refused some */
let inheritedFlags: string[] | null = null;

/**
 * The parent's node flags a worker can take: loaders and the like (an app in
 * TypeScript may need --import), but not --eval or --input-type (they would
 * stop the worker file from loading).
 */
function workerExecArgv(parent: string[]): string[] {
  return parent.filter((arg) => !/^--(input-type|eval|print|test)/.test(arg) && arg !== '-e' && arg !== '-p');
}
