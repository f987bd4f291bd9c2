// The pool's record of the jobs it has accepted, by id, on the main side.
// A job enters once it is in the shared queue and leaves (forget) when its
// fate is final: its result came, it was cancelled before a worker took it,
// or its worker exited. Leaving frees its payload slot and closes its
// payload channel, exactly once. Settling (calling the caller back) is a
// separate step: a job given up on is settled at once but stays here until
// its worker lets go of it, so its slot is not reused while a worker may
// still read it.
import type { MessagePort } from 'node:worker_threads';
import type { JobCallback, JobTicket } from './pool-options.js';
import type { SharedQueue } from './shared-queue.js';

export interface Job extends JobTicket {
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
  /** the deadline counts from the later of the job's start and this time (Date.now(); see restartDeadline) */
  deadlineFrom: number;
}

/** Ids are positive Int32s (0 is the queue's "no job"); past this they start again at 1. */
const MAX_JOB_ID = 0x7fffffff;

export class JobTable {
  #jobs = new Map<number, Job>();
  #nextId = 1;
  #queue: SharedQueue;
  #onEmpty: (() => void) | null = null;

  constructor(queue: SharedQueue) {
    this.#queue = queue;
  }

  get size(): number {
    return this.#jobs.size;
  }

  get(id: number): Job | undefined {
    return this.#jobs.get(id);
  }

  has(id: number): boolean {
    return this.#jobs.has(id);
  }

  values(): IterableIterator<Job> {
    return this.#jobs.values();
  }

  /** Hands out the next job id. */
  takeId(): number {
    const id = this.#nextId;
    this.#nextId = id === MAX_JOB_ID ? 1 : id + 1;
    return id;
  }

  add(job: Job): void {
    this.#jobs.set(job.id, job);
  }

  /** The job's fate is final: no worker will read its payload or send its result. */
  forget(job: Job): void {
    if (!this.#jobs.delete(job.id)) return;
    this.#queue.freeSlot(job.slot);
    job.slot = -1;
    job.channel?.close();
    job.channel = null;
    if (this.#jobs.size === 0 && this.#onEmpty !== null) this.#onEmpty();
  }

  /** Ends every job with err: a queued one is taken out of the queue first, so no worker runs it. */
  failAll(err: Error): void {
    for (const job of [...this.#jobs.values()]) {
      this.#queue.cancel(job.position, job.id);
      this.forget(job);
      settle(job, err);
    }
  }

  /** Resolves when the last job is forgotten (the caller checks that one is left). */
  whenEmpty(): Promise<void> {
    return new Promise((resolve) => { this.#onEmpty = resolve; });
  }
}

/** A job not yet given an id or a place in the queue. */
export function createJob(payload: unknown, onSettled: JobCallback): Job {
  return { id: 0, payload, channel: null, onSettled, isSettled: false, position: 0, slot: -1, deadlineFrom: 0 };
}

/** Calls the job's callback, once: later results or failures of a settled job are dropped. */
export function settle(job: Job, err: Error | null, value?: unknown): void {
  if (job.isSettled) return;
  job.isSettled = true;
  job.onSettled(err, value);
}
