// Generations of the application's thread pool, for reloads without a
// restart (SIGHUP), as nginx starts new workers and lets the old ones finish:
//
//   reload ─▶ a new pool imports the app afresh (each worker has its own module graph)
//              │ every new worker has loaded it         │ one failed to load or died at start
//              ▼                                        ▼
//           new jobs go to the new generation        the new pool is terminated; the old serves on
//           the old one is closed: its running and queued jobs and its streams
//           finish, then its workers are joined; past shutdownTimeoutMs they are terminated
//
// A job stays with the pool it was submitted to: its cancel and deadline go there.
import type { ThreadPool } from '../pool/thread-pool.js';

export class PoolGenerations {
  #make: () => ThreadPool;
  #log: (message: string) => void;
  #retireTimeoutMs: number;
  #current: ThreadPool;
  #generation = 1;
  #reloads = { ok: 0, failed: 0 };
  #retiring = new Set<Promise<void>>();
  #isReloading = false;
  #isClosed = false;

  constructor(make: () => ThreadPool, retireTimeoutMs: number, log: (message: string) => void) {
    this.#make = make;
    this.#log = log;
    this.#retireTimeoutMs = retireTimeoutMs;
    this.#current = make();
  }

  /** The pool new jobs go to. */
  get current(): ThreadPool {
    return this.#current;
  }

  /** 1 at start, one more for each reload that took */
  get generation(): number {
    return this.#generation;
  }

  get reloads(): { ok: number; failed: number } {
    return { ...this.#reloads };
  }

  /** Old generations still finishing their jobs. */
  get retiringCount(): number {
    return this.#retiring.size;
  }

  /**
   * Starts a new generation and, once every worker of it has loaded the
   * application, sends new jobs to it. False (logged) when the new one
   * failed, when a reload is under way already, or once closed.
   */
  async reload(): Promise<boolean> {
    if (this.#isClosed || this.#isReloading) return false;
    this.#isReloading = true;
    let next: ThreadPool | null = null;
    try {
      next = this.#make();
      await next.ready();
    } catch (err) {
      this.#reloads.failed++;
      this.#log(`spindle: reload failed, generation ${this.#generation} keeps serving: ${firstLine(err)}`);
      if (next !== null) await next.terminate();
      return false;
    } finally {
      this.#isReloading = false;
    }
    if (this.#isClosed) {
      await next.terminate();
      return false;
    }
    const old = this.#current;
    this.#current = next;
    this.#generation++;
    this.#reloads.ok++;
    this.#log(`spindle: application reloaded: generation ${this.#generation} serves new requests; generation ${this.#generation - 1} finishes its own`);
    this.#retire(old);
    return true;
  }

  /** Closes every generation: each finishes its jobs, then its workers are joined. */
  async close(): Promise<void> {
    this.#isClosed = true;
    await Promise.all([this.#current.close(), ...this.#retiring]);
  }

  async terminate(): Promise<void> {
    this.#isClosed = true;
    await Promise.all([this.#current.terminate(), ...this.#retiring]);
  }

  #retire(pool: ThreadPool): void {
    let timer: NodeJS.Timeout | undefined;
    const overdue = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        this.#log(`spindle: a retired generation still had work after ${this.#retireTimeoutMs} ms: its workers are terminated`);
        void pool.terminate().then(resolve);
      }, this.#retireTimeoutMs);
    });
    const done: Promise<void> = Promise.race([pool.close(), overdue]).then(() => {
      clearTimeout(timer);
      this.#retiring.delete(done);
    });
    this.#retiring.add(done);
  }
}

function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0];
}
