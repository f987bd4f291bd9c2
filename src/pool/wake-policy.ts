// Who wakes sleeping workers, and when. On a machine with few cores, a
// worker woken for every small job costs more than it helps (measured on two
// cores: one worker taking every GET / answers 60 % more requests than four
// woken in turn), and each wake-up costs the I/O thread a system call. So:
//   - while a worker naps (shared-queue.ts), nobody is woken: it takes the job;
//   - when every worker sleeps, one is woken once the I/O thread has read
//     what its sockets had (setImmediate), so the jobs of one turn of the
//     event loop share one wake-up;
//   - otherwise a sleeper is woken only when a job has waited WAKE_AFTER_MS,
//     that is, when the awake workers are busy with jobs that do not await.
import type { SharedQueue } from './shared-queue.js';

/** A job that waits this long wakes a sleeping worker. */
const WAKE_AFTER_MS = 1;

export class WakePolicy {
  #queue: SharedQueue;
  #workers: number;
  #timer: NodeJS.Timeout | null = null;
  #immediate: NodeJS.Immediate | null = null;

  constructor(queue: SharedQueue, workers: number) {
    this.#queue = queue;
    this.#workers = workers;
  }

  /** A job was just pushed. */
  onJobPushed(): void {
    if (this.#immediate === null && this.#queue.sleepers === this.#workers && !this.#queue.hasNapper) {
      this.#immediate = setImmediate(this.#wakeNow); // nobody awake to take it
    }
    if (this.#timer === null) this.#arm(WAKE_AFTER_MS);
  }

  stop(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    if (this.#immediate !== null) clearImmediate(this.#immediate);
    this.#timer = null;
    this.#immediate = null;
  }

  #wakeNow = (): void => {
    this.#immediate = null;
    if (this.#queue.sleepers === this.#workers) this.#queue.wakeOne();
  };

  #arm(delayMs: number): void {
    this.#timer = setTimeout(this.#checkWaiting, delayMs);
    this.#timer.unref();
  }

  #checkWaiting = (): void => {
    this.#timer = null;
    const waitedMs = this.#queue.oldestWaitMs(performance.now());
    if (waitedMs < 0) return;
    if (waitedMs >= WAKE_AFTER_MS) {
      this.#queue.wakeOne();
      this.#arm(WAKE_AFTER_MS);
    } else {
      this.#arm(WAKE_AFTER_MS - waitedMs);
    }
  };
}
