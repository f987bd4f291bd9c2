// The clock behind job deadlines. A timer per job would cost a timer per
// request; instead, while jobs are in flight, running jobs are checked a few
// times per timeout (each check is O(threads)), and the clock stops when the
// pool is idle. A deadline runs from when a worker starts the job, not while
// it waits in the queue.

export class DeadlineClock {
  readonly timeoutMs: number;
  #check: () => boolean;
  #timer: NodeJS.Timeout | null = null;

  /** check() looks at the running jobs; it returns false when no job is in flight, which stops the clock. */
  constructor(timeoutMs: number, check: () => boolean) {
    this.timeoutMs = timeoutMs;
    this.#check = check;
  }

  /** A job was submitted: make sure the clock runs (no-op without a timeout). */
  start(): void {
    if (this.#timer !== null || this.timeoutMs === 0) return;
    const everyMs = Math.max(10, Math.min(1000, Math.floor(this.timeoutMs / 10)));
    this.#timer = setInterval(() => {
      if (!this.#check()) this.stop();
    }, everyMs);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
  }
}
