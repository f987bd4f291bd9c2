// Replacing workers that keep dying while they start (a module that throws
// at load, a missing dependency): each attempt waits twice as long as the
// one before, up to MAX_BACKOFF_MS, so a broken module does not spin the CPU.
// The first worker that becomes ready resets it.

const FIRST_BACKOFF_MS = 100;
const MAX_BACKOFF_MS = 5000;

export class StartBackoff {
  #failures = 0;
  #delayMs = 0;
  #timers = new Set<NodeJS.Timeout>();

  /** the delay before the next attempt, 0 when workers start fine */
  get delayMs(): number {
    return this.#delayMs;
  }

  /** A worker became ready. */
  onStarted(): void {
    this.#failures = 0;
    this.#delayMs = 0;
  }

  /** A worker died while starting: run respawn after the next delay. */
  onStartFailed(respawn: () => void): void {
    this.#failures++;
    this.#delayMs = Math.min(FIRST_BACKOFF_MS * 2 ** (this.#failures - 1), MAX_BACKOFF_MS);
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      respawn();
    }, this.#delayMs);
    this.#timers.add(timer);
  }

  /** Cancels every pending attempt. */
  cancel(): void {
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
  }
}
