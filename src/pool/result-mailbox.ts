// Results on their way back, in shared memory: per worker, a small ring of
// result slots that only that worker writes and only the I/O thread reads.
// A worker that finishes a job writes its result here and rings a doorbell
// (a tiny message) only if none is already ringing; the I/O thread also
// empties every mailbox whenever it submits a job, so under load results are
// collected without any message at all. A result that does not fit a slot,
// or a job module that does not encode results, uses the `done` message.
//
//   control  per worker: [ HEAD (I/O thread) | TAIL (worker) | DOORBELL | - ]
//   slots    per worker: slotsPerWorker × slotBytes: [ id | length | bytes ... ]

const HEAD = 0;
const TAIL = 1;
const DOORBELL = 2;
const CELLS = 4;
const SLOT_HEADER_BYTES = 8;

export interface ResultMailboxMemory {
  control: SharedArrayBuffer;
  slots: SharedArrayBuffer;
  slotsPerWorker: number;
  slotBytes: number;
}

export class ResultMailboxes {
  readonly memory: ResultMailboxMemory;
  #control: Int32Array;
  #words: Int32Array;
  #bytes: Buffer;
  #slotsPerWorker: number;
  #slotBytes: number;

  /**
   * slotsPerWorker is rounded up to a power of two, so that a slot's index
   * (the counter masked) stays in step when the 32-bit counters wrap.
   */
  static create(workers: number, slotBytes: number, slotsPerWorker = 8): ResultMailboxes {
    slotsPerWorker = 2 ** Math.ceil(Math.log2(Math.max(1, slotsPerWorker)));
    return new ResultMailboxes({
      control: new SharedArrayBuffer(workers * CELLS * 4),
      slots: new SharedArrayBuffer(workers * slotsPerWorker * slotBytes),
      slotsPerWorker,
      slotBytes,
    });
  }

  constructor(memory: ResultMailboxMemory) {
    if ((memory.slotsPerWorker & (memory.slotsPerWorker - 1)) !== 0) {
      throw new RangeError(`slotsPerWorker must be a power of two, not ${memory.slotsPerWorker}`);
    }
    this.memory = memory;
    this.#control = new Int32Array(memory.control);
    this.#words = new Int32Array(memory.slots);
    this.#bytes = Buffer.from(memory.slots);
    this.#slotsPerWorker = memory.slotsPerWorker;
    this.#slotBytes = memory.slotBytes;
  }

  /**
   * Worker `index` posts the result of job `id`, written by `encode` into the
   * slot it is given. Returns 'full' when it did not fit (send it by
   * message), 'ring' when the I/O thread must be told, 'quiet' when a
   * doorbell is already ringing.
   */
  put(index: number, id: number, encode: (target: Buffer) => number): 'full' | 'ring' | 'quiet' {
    const cell = index * CELLS;
    const tail = Atomics.load(this.#control, cell + TAIL);
    if (((tail - Atomics.load(this.#control, cell + HEAD)) | 0) >= this.#slotsPerWorker) return 'full';
    const base = (index * this.#slotsPerWorker + (tail & (this.#slotsPerWorker - 1))) * this.#slotBytes;
    const length = encode(this.#bytes.subarray(base + SLOT_HEADER_BYTES, base + this.#slotBytes));
    if (length < 0 || length > this.#slotBytes - SLOT_HEADER_BYTES) return 'full';
    this.#words[base / 4] = id;
    this.#words[base / 4 + 1] = length;
    Atomics.store(this.#control, cell + TAIL, (tail + 1) | 0);
    return Atomics.compareExchange(this.#control, cell + DOORBELL, 0, 1) === 0 ? 'ring' : 'quiet';
  }

  /**
   * The I/O thread takes every result worker `index` has posted, oldest
   * first. onResult must copy what it keeps: the slot is reused after it
   * returns. With isDoorbell the doorbell is reset first, so a result posted
   * after this drain rings again.
   */
  drain(index: number, isDoorbell: boolean, onResult: (id: number, bytes: Buffer) => void): void {
    const cell = index * CELLS;
    if (isDoorbell) Atomics.store(this.#control, cell + DOORBELL, 0);
    let head = Atomics.load(this.#control, cell + HEAD);
    while (head !== Atomics.load(this.#control, cell + TAIL)) {
      const base = (index * this.#slotsPerWorker + (head & (this.#slotsPerWorker - 1))) * this.#slotBytes;
      const id = this.#words[base / 4];
      const length = this.#words[base / 4 + 1];
      onResult(id, this.#bytes.subarray(base + SLOT_HEADER_BYTES, base + SLOT_HEADER_BYTES + length));
      head = (head + 1) | 0;
      Atomics.store(this.#control, cell + HEAD, head);
    }
  }

  /** Empties worker `index`'s mailbox for a new thread. */
  reset(index: number): void {
    const cell = index * CELLS;
    Atomics.store(this.#control, cell + HEAD, 0);
    Atomics.store(this.#control, cell + TAIL, 0);
    Atomics.store(this.#control, cell + DOORBELL, 0);
  }
}
