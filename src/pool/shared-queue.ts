// The book's channel, in shared memory. The I/O thread pushes jobs; an idle
// worker takes the next one itself, the way the book's workers share one
// `Arc<Mutex<Receiver<Job>>>`. Taking a job costs a few atomic operations,
// not a message and a wake-up: a busy worker goes straight from one job to
// the next, and a sleeping one is woken only when it is needed.
//
//   control  [ HEAD | TAIL | SEQ | WAITERS | NAPPER | CLOSED ]
//   ring     one Int32 pair per position, HEAD ▶ ... ◀ TAIL (FIFO):
//              word  +id  ready: job id, not taken yet
//                    -id  taken: a worker is reading its payload
//                     0   free, or cancelled before any worker took it
//              slot  index of the payload slot, or -1: the payload comes by message
//   slots    fixed-size payload areas; the I/O thread hands them out (LIFO, so
//            few pages are ever touched) and takes them back when the job settles
//   running  per worker: the id of the job it runs, or 0; and when it started
//
// Only the I/O thread writes TAIL and fills entries; workers advance HEAD by
// compare-and-swap, so each position is taken by exactly one worker. Indices
// and ids are Int32 and may wrap; the ring's capacity is a power of two, so
// `position & mask` stays right across the wrap.

const HEAD = 0;
const TAIL = 1;
const SEQ = 2;
const WAITERS = 3;
/** 1 while one worker naps between jobs instead of sleeping in its event loop */
const NAPPER = 4;
/** 1 once the pool closed the channel: no job is pushed after it */
const CLOSED = 5;

/** How long the napping worker keeps looking for a job, and how often. */
const NAP_TOTAL_MS = 1;
const NAP_STEP_MS = 0.05;

/** What a worker needs to attach to the queue (all shareable, via workerData). */
export interface SharedQueueMemory {
  control: SharedArrayBuffer;
  ring: SharedArrayBuffer;
  slots: SharedArrayBuffer;
  slotLengths: SharedArrayBuffer;
  running: SharedArrayBuffer;
  startedAt: SharedArrayBuffer;
  capacity: number;
  slotBytes: number;
}

/** A job a worker has taken. */
export interface TakenJob {
  id: number;
  /** the payload bytes (a copy), or null when the payload comes by message */
  payload: Buffer | null;
}

export class SharedQueue {
  readonly memory: SharedQueueMemory;
  readonly slotBytes: number;
  #control: Int32Array;
  #ring: Int32Array;
  #slots: Buffer;
  #slotLengths: Int32Array;
  #running: Int32Array;
  #startedAt: Float64Array;
  #mask: number;
  /** I/O thread only: payload slots not in use, most recently freed last */
  #freeSlots: number[] = [];
  /** I/O thread only: when each ring position was pushed (performance.now()) */
  #pushedAt: Float64Array;

  /** The I/O thread's side: room for `queueSize` waiting jobs and `workers` running ones. */
  static create(queueSize: number, workers: number, slotBytes: number): SharedQueue {
    let capacity = 2;
    while (capacity < queueSize + workers + 1) capacity *= 2;
    const slotCount = queueSize + 2 * workers;
    const queue = new SharedQueue({
      control: new SharedArrayBuffer(8 * 4),
      ring: new SharedArrayBuffer(capacity * 2 * 4),
      slots: new SharedArrayBuffer(slotCount * slotBytes),
      slotLengths: new SharedArrayBuffer(slotCount * 4),
      running: new SharedArrayBuffer(workers * 4),
      startedAt: new SharedArrayBuffer(workers * 8),
      capacity,
      slotBytes,
    });
    for (let i = slotCount - 1; i >= 0; i--) queue.#freeSlots.push(i);
    return queue;
  }

  /** A worker's side, from the memory the I/O thread shared. */
  constructor(memory: SharedQueueMemory) {
    this.memory = memory;
    this.slotBytes = memory.slotBytes;
    this.#control = new Int32Array(memory.control);
    this.#ring = new Int32Array(memory.ring);
    this.#slots = Buffer.from(memory.slots);
    this.#slotLengths = new Int32Array(memory.slotLengths);
    this.#running = new Int32Array(memory.running);
    this.#startedAt = new Float64Array(memory.startedAt);
    this.#mask = memory.capacity - 1;
    this.#pushedAt = new Float64Array(memory.capacity);
  }

  /** Jobs pushed and not taken yet (cancelled ones included until a worker skips them). */
  get length(): number {
    return (Atomics.load(this.#control, TAIL) - Atomics.load(this.#control, HEAD)) | 0;
  }

  // ---- I/O thread ----

  /**
   * Appends a job. `encode` writes the payload into the slot it is given and
   * returns its length, or -1 when it does not fit (it then comes by
   * message). Returns the job's position, or -1 when the ring is full.
   */
  push(id: number, encode: ((target: Buffer) => number) | null): number {
    const tail = Atomics.load(this.#control, TAIL);
    if (((tail - Atomics.load(this.#control, HEAD)) | 0) > this.#mask) return -1;
    const entry = (tail & this.#mask) * 2;
    if (Atomics.load(this.#ring, entry) !== 0) return -1; // still being read by a worker
    let slot = -1;
    if (encode !== null && this.#freeSlots.length > 0) {
      slot = this.#freeSlots.pop()!;
      const start = slot * this.slotBytes;
      const length = encode(this.#slots.subarray(start, start + this.slotBytes));
      if (length < 0) {
        this.#freeSlots.push(slot);
        slot = -1;
      } else {
        this.#slotLengths[slot] = length;
      }
    }
    this.#ring[entry + 1] = slot;
    this.#pushedAt[tail & this.#mask] = performance.now();
    Atomics.store(this.#ring, entry, id);
    Atomics.store(this.#control, TAIL, (tail + 1) | 0);
    Atomics.add(this.#control, SEQ, 1);
    return tail;
  }

  /**
   * Closes the channel: the book's dropping of the `Sender`. Workers finish
   * the jobs still queued, then their loops end. Every sleeper is woken to
   * see it, unless `wake` is false: the pool is terminating its threads,
   * and a notify racing a thread's teardown buys nothing. Idempotent.
   */
  close(wake = true): void {
    if (Atomics.exchange(this.#control, CLOSED, 1) === 1) return;
    if (!wake) return;
    Atomics.add(this.#control, SEQ, 1);
    Atomics.notify(this.#control, SEQ);
  }

  /** True once close() was called (jobs may still be queued). */
  get isClosed(): boolean {
    return Atomics.load(this.#control, CLOSED) === 1;
  }

  /** Workers asleep in their event loop, waiting for a job. */
  get sleepers(): number {
    return Atomics.load(this.#control, WAITERS);
  }

  /** How long (ms) the oldest job not yet taken has waited; -1 when none waits. I/O thread only. */
  oldestWaitMs(now: number): number {
    const head = Atomics.load(this.#control, HEAD);
    if (head === Atomics.load(this.#control, TAIL)) return -1;
    return now - this.#pushedAt[head & this.#mask];
  }

  /**
   * Wakes one sleeping worker if a job waits. Waking a thread is a system
   * call and often a context switch, which costs more than the rest of a
   * small request, so the pool does it sparingly (see ThreadPool.#checkWaiting).
   */
  wakeOne(): void {
    const control = this.#control;
    if (this.length > 0 && Atomics.load(control, NAPPER) === 0 && Atomics.load(control, WAITERS) > 0) {
      Atomics.notify(control, SEQ, 1);
    }
  }

  /** The payload slot of a pushed job, for freeSlot() once it settles. */
  slotOf(position: number): number {
    return this.#ring[(position & this.#mask) * 2 + 1];
  }

  /** Takes back a payload slot: only once no worker can still be reading it. */
  freeSlot(slot: number): void {
    if (slot >= 0) this.#freeSlots.push(slot);
  }

  /** True while the job at position waits to be taken. */
  isWaiting(position: number, id: number): boolean {
    return Atomics.load(this.#ring, (position & this.#mask) * 2) === id;
  }

  /** Cancels a job no worker has taken yet; false when one already has. */
  cancel(position: number, id: number): boolean {
    return Atomics.compareExchange(this.#ring, (position & this.#mask) * 2, id, 0) === id;
  }

  /** The job a worker runs now (0 for none), and since when (Date.now()). */
  runningOn(worker: number): number {
    return Atomics.load(this.#running, worker);
  }

  startedAt(worker: number): number {
    return this.#startedAt[worker];
  }

  /** Marks a worker idle: by the worker once its job ends, by the I/O thread for a new thread. */
  clearRunning(worker: number): void {
    Atomics.store(this.#running, worker, 0);
  }

  // ---- worker ----

  /** Takes the next job for worker `index`, or null when there is none. */
  take(index: number): TakenJob | null {
    const control = this.#control;
    for (;;) {
      const head = Atomics.load(control, HEAD);
      if (head === Atomics.load(control, TAIL)) return null;
      if (Atomics.compareExchange(control, HEAD, head, (head + 1) | 0) !== head) continue; // another worker took it
      const entry = (head & this.#mask) * 2;
      const id = Atomics.load(this.#ring, entry);
      if (id <= 0) continue; // cancelled
      // Say which job this worker runs before claiming it, so that whoever
      // fails to cancel it can find the worker.
      Atomics.store(this.#running, index, id);
      if (Atomics.compareExchange(this.#ring, entry, id, -id) !== id) {
        Atomics.store(this.#running, index, 0); // cancelled just now
        continue;
      }
      const slot = this.#ring[entry + 1];
      let payload: Buffer | null = null;
      if (slot >= 0) {
        const start = slot * this.slotBytes;
        payload = Buffer.from(this.#slots.subarray(start, start + this.#slotLengths[slot]));
      }
      Atomics.store(this.#ring, entry, 0); // the position may be reused
      this.#startedAt[index] = Date.now();
      return { id, payload };
    }
  }

  /**
   * Resolves when a job may have been pushed, or the queue closed (at once
   * if either is already so).
   *
   * One worker at a time first naps: it looks for a job every 50 µs for a
   * millisecond, blocked in Atomics.wait, before it goes to sleep in its
   * event loop. Under load the next job comes within that time, and nobody
   * has to wake anybody: on this kind of machine a wake-up costs the waker
   * tens of microseconds, more than the rest of a small request.
   */
  async waitForJob(): Promise<void> {
    const control = this.#control;
    if (this.#hasWork()) return;
    if (Atomics.compareExchange(control, NAPPER, 0, 1) === 0) {
      try {
        const until = performance.now() + NAP_TOTAL_MS;
        while (performance.now() < until) {
          const seq = Atomics.load(control, SEQ);
          if (this.#hasWork()) return;
          Atomics.wait(control, SEQ, seq, NAP_STEP_MS);
        }
      } finally {
        Atomics.store(control, NAPPER, 0);
      }
    }
    const seq = Atomics.load(control, SEQ);
    if (this.#hasWork()) return;
    Atomics.add(control, WAITERS, 1);
    try {
      if (this.#hasWork()) return;
      const result = Atomics.waitAsync(control, SEQ, seq);
      if (result.async) await result.value;
    } finally {
      Atomics.sub(control, WAITERS, 1);
    }
  }

  #hasWork(): boolean {
    return this.length > 0 || Atomics.load(this.#control, CLOSED) === 1;
  }
}
