// The book's channel, in shared memory. The I/O thread pushes jobs; a worker
// with a free lane takes the next one itself, the way the book's workers
// share one `Arc<Mutex<Receiver<Job>>>`. Taking a job costs a few atomic
// operations, not a message and a wake-up: a busy worker goes straight from
// one job to the next, and a sleeping one is woken only when it is needed.
//
//   control  [ HEAD | TAIL | SEQ | SLEEPERS | NAPPER | CLOSED ]
//   ring     one Int32 pair per position, HEAD ▶ ... ◀ TAIL (FIFO):
//              word  +id  ready: job id, not taken yet
//                    -id  taken: a worker is reading its payload
//                     0   free, or cancelled before any worker took it
//              slot  index of the payload slot, or -1: the payload comes by message
//   slots    fixed-size payload areas; the I/O thread hands them out (LIFO, so
//            few pages are ever touched) and takes them back when the job settles
//   workers  per worker: [ IN_FLIGHT | RETIRING | SLEEPING | WAKE ]
//   lanes    per worker, `lanesPerWorker` lanes (its concurrency): the id of
//            the job each runs, or 0; and when that job started
//
// A worker runs up to one job per lane at once: a job that awaits leaves its
// thread free to take the next. Only the I/O thread writes TAIL and fills
// entries; workers advance HEAD by compare-and-swap, so each position is
// taken by exactly one worker. Indices and ids are Int32 and may wrap; the
// ring's capacity is a power of two, so `position & mask` stays right
// across the wrap.
//
// Each worker sleeps on a word of its own (WAKE), so a wake-up reaches a
// worker that can take the job, never one whose lanes are full or whose
// event loop is blocked, and a worker never has more than one waiter.

const HEAD = 0;
const TAIL = 1;
/** bumped by every push: what a napping worker watches */
const SEQ = 2;
/** workers asleep in their event loop, waiting to be woken */
const SLEEPERS = 3;
/** 1 while one worker naps between jobs instead of sleeping in its event loop */
const NAPPER = 4;
/** 1 once the pool closed the channel: no job is pushed after it */
const CLOSED = 5;

// Per-worker cells.
/** jobs it has taken and not finished */
const IN_FLIGHT = 0;
/** 1: take no new job (it is about to be terminated, or waits for a job given up on) */
const RETIRING = 1;
/** 1 while it sleeps in its event loop; whoever clears it (by compare-and-swap) counts it awake */
const SLEEPING = 2;
/** bumped by whoever wakes it */
const WAKE = 3;
const CELLS = 4;

/** How long the napping worker keeps looking for a job, and how often. */
const NAP_TOTAL_MS = 1;
const NAP_STEP_MS = 0.05;

/** What a worker needs to attach to the queue (all shareable, via workerData). */
export interface SharedQueueMemory {
  control: SharedArrayBuffer;
  ring: SharedArrayBuffer;
  slots: SharedArrayBuffer;
  slotLengths: SharedArrayBuffer;
  workers: SharedArrayBuffer;
  running: SharedArrayBuffer;
  startedAt: SharedArrayBuffer;
  capacity: number;
  slotBytes: number;
  lanesPerWorker: number;
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
  /** lanes of each worker: how many jobs it may run at once */
  readonly lanesPerWorker: number;
  #control: Int32Array;
  #ring: Int32Array;
  #slots: Buffer;
  #slotLengths: Int32Array;
  #workers: Int32Array;
  #running: Int32Array;
  #startedAt: Float64Array;
  #mask: number;
  /** I/O thread only: payload slots not in use, most recently freed last */
  #freeSlots: number[] = [];
  /** I/O thread only: when each ring position was pushed (performance.now()) */
  #pushedAt: Float64Array;
  /** worker only: its one pending wait for a wake-up, reused until it resolves */
  #pendingWake: Promise<void> | null = null;

  /**
   * The I/O thread's side: room for `queueSize` waiting jobs and
   * `workers × lanesPerWorker` running ones.
   */
  static create(queueSize: number, workers: number, lanesPerWorker: number, slotBytes: number): SharedQueue {
    const lanes = workers * lanesPerWorker;
    let capacity = 2;
    while (capacity < queueSize + lanes + 1) capacity *= 2;
    // A slot is held until its job settles: by the jobs waiting, those
    // running, and those given up on whose workers have not ended them yet.
    const slotCount = queueSize + 2 * lanes;
    const queue = new SharedQueue({
      control: new SharedArrayBuffer(8 * 4),
      ring: new SharedArrayBuffer(capacity * 2 * 4),
      slots: new SharedArrayBuffer(slotCount * slotBytes),
      slotLengths: new SharedArrayBuffer(slotCount * 4),
      workers: new SharedArrayBuffer(workers * CELLS * 4),
      running: new SharedArrayBuffer(lanes * 4),
      startedAt: new SharedArrayBuffer(lanes * 8),
      capacity,
      slotBytes,
      lanesPerWorker,
    });
    for (let i = slotCount - 1; i >= 0; i--) queue.#freeSlots.push(i);
    return queue;
  }

  /** A worker's side, from the memory the I/O thread shared. */
  constructor(memory: SharedQueueMemory) {
    this.memory = memory;
    this.slotBytes = memory.slotBytes;
    this.lanesPerWorker = memory.lanesPerWorker;
    this.#control = new Int32Array(memory.control);
    this.#ring = new Int32Array(memory.ring);
    this.#slots = Buffer.from(memory.slots);
    this.#slotLengths = new Int32Array(memory.slotLengths);
    this.#workers = new Int32Array(memory.workers);
    this.#running = new Int32Array(memory.running);
    this.#startedAt = new Float64Array(memory.startedAt);
    this.#mask = memory.capacity - 1;
    this.#pushedAt = new Float64Array(memory.capacity);
  }

  /** Jobs pushed and not taken yet (cancelled ones included until a worker skips them). */
  get length(): number {
    return (Atomics.load(this.#control, TAIL) - Atomics.load(this.#control, HEAD)) | 0;
  }

  /** True once close() was called (jobs may still be queued). */
  get isClosed(): boolean {
    return Atomics.load(this.#control, CLOSED) === 1;
  }

  /** Workers asleep in their event loop, waiting to be woken. */
  get sleepers(): number {
    return Atomics.load(this.#control, SLEEPERS);
  }

  /** True while a worker naps, looking for a job every few microseconds. */
  get hasNapper(): boolean {
    return Atomics.load(this.#control, NAPPER) === 1;
  }

  /** Jobs worker `worker` has taken and not finished. */
  inFlight(worker: number): number {
    return Atomics.load(this.#workers, worker * CELLS + IN_FLIGHT);
  }

  /** The job lane `lane` runs (0 for none), and since when (Date.now()). */
  runningOn(lane: number): number {
    return Atomics.load(this.#running, lane);
  }

  startedAt(lane: number): number {
    return this.#startedAt[lane];
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
   * the jobs still queued and in flight, then their loops end. Every sleeper
   * is woken to see it, unless `wake` is false: the pool is terminating its
   * threads, and a notify racing a thread's teardown buys nothing. Idempotent.
   */
  close(wake = true): void {
    if (Atomics.exchange(this.#control, CLOSED, 1) === 1) return;
    if (!wake) return;
    Atomics.add(this.#control, SEQ, 1);
    Atomics.notify(this.#control, SEQ);
    const workers = this.#workers.length / CELLS;
    for (let worker = 0; worker < workers; worker++) this.#ringWake(worker);
  }

  /** How long (ms) the oldest job not yet taken has waited; -1 when none waits. I/O thread only. */
  oldestWaitMs(now: number): number {
    const head = Atomics.load(this.#control, HEAD);
    if (head === Atomics.load(this.#control, TAIL)) return -1;
    return now - this.#pushedAt[head & this.#mask];
  }

  /**
   * Wakes one sleeping worker that can take a job, if a job waits and no
   * worker naps: the one with the fewest jobs in flight. Waking a thread is
   * a system call and often a context switch, which costs more than the rest
   * of a small request, so the pool does it sparingly (see wake-policy.ts).
   */
  wakeOne(): void {
    if (this.length === 0 || this.hasNapper || this.sleepers === 0) return;
    const cells = this.#workers;
    const workers = cells.length / CELLS;
    let best = -1;
    let fewest = this.lanesPerWorker;
    for (let worker = 0; worker < workers; worker++) {
      const cell = worker * CELLS;
      if (Atomics.load(cells, cell + SLEEPING) !== 1 || Atomics.load(cells, cell + RETIRING) !== 0) continue;
      const inFlight = Atomics.load(cells, cell + IN_FLIGHT);
      if (inFlight < fewest) {
        best = worker;
        fewest = inFlight;
      }
    }
    if (best === -1) return;
    if (Atomics.compareExchange(cells, best * CELLS + SLEEPING, 1, 0) !== 1) return; // it woke by itself
    Atomics.sub(this.#control, SLEEPERS, 1);
    this.#ringWake(best);
  }

  /** Worker `worker` takes no new jobs while retiring is true; it is woken when it may again. */
  setRetiring(worker: number, retiring: boolean): void {
    const cell = worker * CELLS;
    if (Atomics.exchange(this.#workers, cell + RETIRING, retiring ? 1 : 0) === 1 && !retiring) {
      if (Atomics.compareExchange(this.#workers, cell + SLEEPING, 1, 0) === 1) Atomics.sub(this.#control, SLEEPERS, 1);
      this.#ringWake(worker);
    }
  }

  /** Empties a worker's cells and lanes for a new thread (the old one has exited). */
  resetWorker(worker: number): void {
    const cell = worker * CELLS;
    if (Atomics.exchange(this.#workers, cell + SLEEPING, 0) === 1) Atomics.sub(this.#control, SLEEPERS, 1);
    Atomics.store(this.#workers, cell + IN_FLIGHT, 0);
    Atomics.store(this.#workers, cell + RETIRING, 0);
    const first = worker * this.lanesPerWorker;
    for (let lane = first; lane < first + this.lanesPerWorker; lane++) Atomics.store(this.#running, lane, 0);
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

  #ringWake(worker: number): void {
    Atomics.add(this.#workers, worker * CELLS + WAKE, 1);
    Atomics.notify(this.#workers, worker * CELLS + WAKE, 1);
  }

  // ---- worker ----

  /**
   * Takes the next job for `lane` of worker `worker`, or null when there is
   * none, or the worker is retiring. The job counts as in flight until
   * finish(worker, lane).
   */
  take(worker: number, lane: number): TakenJob | null {
    const control = this.#control;
    if (Atomics.load(this.#workers, worker * CELLS + RETIRING) !== 0) return null;
    // Count the lane as busy before the job leaves the queue, so that the
    // pool, adding queued and in-flight jobs, never sees a job in neither.
    const inFlight = worker * CELLS + IN_FLIGHT;
    Atomics.add(this.#workers, inFlight, 1);
    for (;;) {
      const head = Atomics.load(control, HEAD);
      if (head === Atomics.load(control, TAIL)) {
        Atomics.sub(this.#workers, inFlight, 1);
        return null;
      }
      if (Atomics.compareExchange(control, HEAD, head, (head + 1) | 0) !== head) continue; // another worker took it
      const entry = (head & this.#mask) * 2;
      const id = Atomics.load(this.#ring, entry);
      if (id <= 0) continue; // cancelled
      // Say which job this lane runs before claiming it, so that whoever
      // fails to cancel it can find the worker.
      this.#startedAt[lane] = Date.now();
      Atomics.store(this.#running, lane, id);
      if (Atomics.compareExchange(this.#ring, entry, id, -id) !== id) {
        Atomics.store(this.#running, lane, 0); // cancelled just now
        continue;
      }
      const slot = this.#ring[entry + 1];
      let payload: Buffer | null = null;
      if (slot >= 0) {
        const start = slot * this.slotBytes;
        payload = Buffer.from(this.#slots.subarray(start, start + this.#slotLengths[slot]));
      }
      Atomics.store(this.#ring, entry, 0); // the position may be reused
      return { id, payload };
    }
  }

  /** The job on `lane` has ended: the lane is free. */
  finish(worker: number, lane: number): void {
    Atomics.store(this.#running, lane, 0);
    Atomics.sub(this.#workers, worker * CELLS + IN_FLIGHT, 1);
  }

  /**
   * With nothing in flight, one worker at a time naps: it looks for a job
   * every 50 µs for a millisecond, blocked in Atomics.wait, before it goes
   * to sleep in its event loop. Under load the next job comes within that
   * time, and nobody has to wake anybody: on this kind of machine a wake-up
   * costs the waker tens of microseconds, more than the rest of a small
   * request. (A worker with jobs in flight never naps: their timers and I/O
   * need its event loop.) Returns true when a job came or the queue closed.
   */
  nap(worker: number): boolean {
    const control = this.#control;
    if (this.#hasWorkFor(worker)) return true;
    if (Atomics.compareExchange(control, NAPPER, 0, 1) !== 0) return false;
    try {
      const until = performance.now() + NAP_TOTAL_MS;
      while (performance.now() < until) {
        const seq = Atomics.load(control, SEQ);
        if (this.#hasWorkFor(worker)) return true;
        Atomics.wait(control, SEQ, seq, NAP_STEP_MS);
      }
      return this.#hasWorkFor(worker);
    } finally {
      Atomics.store(control, NAPPER, 0);
    }
  }

  /**
   * Worker `worker` goes to sleep in its event loop: returns a promise that
   * resolves when it is woken (the pool has a job for it, or closed the
   * queue), or null when there is work already. The caller may also wake for
   * reasons of its own (a job of its own ended); it then calls awake(). The
   * wait is kept and reused by the next sleep until it resolves, so a worker
   * never has more than one waiter.
   */
  sleep(worker: number): Promise<void> | null {
    const cells = this.#workers;
    const cell = worker * CELLS;
    const wake = Atomics.load(cells, cell + WAKE);
    if (Atomics.compareExchange(cells, cell + SLEEPING, 0, 1) === 0) Atomics.add(this.#control, SLEEPERS, 1);
    if (this.#hasWorkFor(worker)) {
      this.awake(worker);
      return null;
    }
    if (this.#pendingWake === null) {
      const result = Atomics.waitAsync(cells, cell + WAKE, wake);
      if (!result.async) {
        this.awake(worker); // woken between the load and the wait
        return null;
      }
      this.#pendingWake = result.value.then(() => { this.#pendingWake = null; });
    }
    return this.#pendingWake;
  }

  /** Worker `worker` is awake (no-op when whoever woke it said so already). */
  awake(worker: number): void {
    if (Atomics.compareExchange(this.#workers, worker * CELLS + SLEEPING, 1, 0) === 1) {
      Atomics.sub(this.#control, SLEEPERS, 1);
    }
  }

  /** A job worker `worker` may take waits, or the queue closed. */
  #hasWorkFor(worker: number): boolean {
    if (Atomics.load(this.#control, CLOSED) === 1) return true;
    return this.length > 0 && Atomics.load(this.#workers, worker * CELLS + RETIRING) === 0;
  }
}
