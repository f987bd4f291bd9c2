// The result mailboxes on their own, in one thread: what put and drain
// promise each other (order, the doorbell, a full mailbox, one mailbox per
// worker), and that slot indexes stay in step when the 32-bit HEAD and TAIL
// counters wrap.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ResultMailboxes } from '../src/pool/result-mailbox.js';

/** The layout result-mailbox.ts keeps in `memory.control`, per worker. */
const HEAD = 0;
const TAIL = 1;
const CELLS = 4;
/** a slot's id and length words, before its bytes */
const SLOT_HEADER_BYTES = 8;

/** An encoder that writes `text` into the slot, or -1 when it does not fit. */
function encodeText(text: string): (target: Buffer) => number {
  return (target) => (Buffer.byteLength(text) > target.byteLength ? -1 : target.write(text));
}

/** Everything worker `index` has posted, as [id, text] pairs, copied out of the slots. */
function drainAll(mailboxes: ResultMailboxes, index: number, isDoorbell = true): Array<[number, string]> {
  const results: Array<[number, string]> = [];
  mailboxes.drain(index, isDoorbell, (id, bytes) => results.push([id, bytes.toString()]));
  return results;
}

/** Sets worker `index`'s HEAD and TAIL, as if `counter` results had come and gone. */
function setCounters(mailboxes: ResultMailboxes, index: number, counter: number): void {
  const control = new Int32Array(mailboxes.memory.control);
  control[index * CELLS + HEAD] = counter;
  control[index * CELLS + TAIL] = counter;
}

describe('ResultMailboxes', () => {
  test('hands back each result with its id and bytes', () => {
    const mailboxes = ResultMailboxes.create(1, 64);
    assert.equal(mailboxes.put(0, 42, encodeText('hello')), 'ring');
    assert.deepEqual(drainAll(mailboxes, 0), [[42, 'hello']]);
    assert.deepEqual(drainAll(mailboxes, 0), [], 'a drained result is not handed back twice');
  });

  test('hands back an empty result as zero bytes', () => {
    const mailboxes = ResultMailboxes.create(1, 64);
    mailboxes.put(0, 7, () => 0);
    assert.deepEqual(drainAll(mailboxes, 0), [[7, '']]);
  });

  test('drains results oldest first', () => {
    const mailboxes = ResultMailboxes.create(1, 64, 8);
    for (let id = 1; id <= 5; id++) mailboxes.put(0, id, encodeText(`result ${id}`));
    assert.deepEqual(drainAll(mailboxes, 0), [1, 2, 3, 4, 5].map((id) => [id, `result ${id}`]));
  });

  test("rings once, then stays quiet until a doorbell's drain resets it", () => {
    const mailboxes = ResultMailboxes.create(1, 64);
    assert.equal(mailboxes.put(0, 1, encodeText('a')), 'ring');
    assert.equal(mailboxes.put(0, 2, encodeText('b')), 'quiet', 'the doorbell is already ringing');
    assert.deepEqual(drainAll(mailboxes, 0, false), [[1, 'a'], [2, 'b']]);
    assert.equal(mailboxes.put(0, 3, encodeText('c')), 'quiet', 'a drain that is not for the doorbell leaves it ringing');
    assert.deepEqual(drainAll(mailboxes, 0, true), [[3, 'c']]);
    assert.equal(mailboxes.put(0, 4, encodeText('d')), 'ring', 'a result after the doorbell was answered rings again');
  });

  test('is full when slotsPerWorker results wait, and has room again once drained', () => {
    const mailboxes = ResultMailboxes.create(1, 64, 4);
    for (let id = 1; id <= 4; id++) assert.notEqual(mailboxes.put(0, id, encodeText(`r${id}`)), 'full');
    let isEncoderCalled = false;
    const encodeSpy = (target: Buffer): number => {
      isEncoderCalled = true;
      return target.write('late');
    };
    assert.equal(mailboxes.put(0, 5, encodeSpy), 'full');
    assert.equal(isEncoderCalled, false, 'nothing is written over a result not yet drained');
    assert.deepEqual(drainAll(mailboxes, 0), [1, 2, 3, 4].map((id) => [id, `r${id}`]));
    assert.equal(mailboxes.put(0, 5, encodeText('r5')), 'ring');
    assert.deepEqual(drainAll(mailboxes, 0), [[5, 'r5']]);
  });

  test('is full when the encoder says the result does not fit, and posts nothing', () => {
    const mailboxes = ResultMailboxes.create(1, 32);
    assert.equal(mailboxes.put(0, 1, () => -1), 'full');
    assert.deepEqual(drainAll(mailboxes, 0), []);
    assert.equal(mailboxes.put(0, 2, encodeText('next')), 'ring', 'a refused result does not ring the doorbell');
  });

  test('gives the encoder the slot less its header, and refuses a length past it', () => {
    const slotBytes = 32;
    const mailboxes = ResultMailboxes.create(1, slotBytes);
    let targetBytes = -1;
    assert.equal(mailboxes.put(0, 1, (target) => ((targetBytes = target.byteLength), slotBytes - SLOT_HEADER_BYTES + 1)), 'full');
    assert.equal(targetBytes, slotBytes - SLOT_HEADER_BYTES);
    assert.deepEqual(drainAll(mailboxes, 0), [], 'nothing is posted with a length the slot cannot hold');
    const exact = 'x'.repeat(slotBytes - SLOT_HEADER_BYTES);
    assert.equal(mailboxes.put(0, 2, encodeText(exact)), 'ring', 'a result that fills its slot exactly fits');
    assert.deepEqual(drainAll(mailboxes, 0), [[2, exact]]);
  });

  test("keeps each worker's results apart", () => {
    const mailboxes = ResultMailboxes.create(3, 64, 2);
    mailboxes.put(0, 10, encodeText('zero'));
    mailboxes.put(2, 30, encodeText('two'));
    mailboxes.put(2, 31, encodeText('two again'));
    assert.equal(mailboxes.put(2, 32, encodeText('no room')), 'full', "worker 2's mailbox is full");
    assert.equal(mailboxes.put(1, 20, encodeText('one')), 'ring', "worker 1's is not, and has its own doorbell");
    assert.deepEqual(drainAll(mailboxes, 2), [[30, 'two'], [31, 'two again']]);
    assert.deepEqual(drainAll(mailboxes, 1), [[20, 'one']]);
    assert.deepEqual(drainAll(mailboxes, 0), [[10, 'zero']]);
  });

  test('sees what another view of the same memory posted, as the I/O thread sees a worker', () => {
    const io = ResultMailboxes.create(2, 64);
    const worker = new ResultMailboxes(io.memory);
    assert.equal(worker.put(1, 5, encodeText('from the worker')), 'ring');
    assert.deepEqual(drainAll(io, 1), [[5, 'from the worker']]);
  });

  test("reset() empties one worker's mailbox and silences its doorbell, and no other", () => {
    const mailboxes = ResultMailboxes.create(2, 64, 2);
    mailboxes.put(0, 1, encodeText('old'));
    mailboxes.put(0, 2, encodeText('old'));
    mailboxes.put(1, 3, encodeText('kept'));
    mailboxes.reset(0);
    assert.deepEqual(drainAll(mailboxes, 0, false), [], 'the dead thread\'s results are gone');
    assert.equal(mailboxes.put(0, 4, encodeText('new')), 'ring', 'the new thread rings the doorbell');
    assert.deepEqual(drainAll(mailboxes, 0), [[4, 'new']]);
    assert.deepEqual(drainAll(mailboxes, 1), [[3, 'kept']]);
  });

  test('create() rounds slotsPerWorker up to a power of two', () => {
    for (const [asked, made] of [[1, 1], [2, 2], [3, 4], [5, 8], [8, 8], [9, 16], [0, 1]]) {
      const mailboxes = ResultMailboxes.create(2, 16, asked);
      assert.equal(mailboxes.memory.slotsPerWorker, made, `asked for ${asked}`);
      assert.equal(mailboxes.memory.slots.byteLength, 2 * made * 16);
    }
    const mailboxes = ResultMailboxes.create(1, 16, 3);
    for (let id = 1; id <= 4; id++) assert.notEqual(mailboxes.put(0, id, () => 0), 'full', 'the rounded-up slots are all usable');
    assert.equal(mailboxes.put(0, 5, () => 0), 'full');
  });

  test('the constructor refuses a slot count that is not a power of two', () => {
    const memory = (slotsPerWorker: number) => ({
      control: new SharedArrayBuffer(CELLS * 4),
      slots: new SharedArrayBuffer(slotsPerWorker * 16),
      slotsPerWorker,
      slotBytes: 16,
    });
    for (const slotsPerWorker of [3, 6, 12]) {
      assert.throws(() => new ResultMailboxes(memory(slotsPerWorker)), { name: 'RangeError', message: new RegExp(`power of two, not ${slotsPerWorker}`) });
    }
    assert.doesNotThrow(() => new ResultMailboxes(memory(8)));
  });
});

describe('ResultMailboxes across the wrap of the 32-bit counters', () => {
  const starts = [
    ['past 2^31 - 1 to -2^31', 0x7ffffffe],
    ['past -1 to 0', (2 ** 32 - 3) | 0],
  ] as const;
  for (const slotsPerWorker of [8, 64]) {
    for (const [name, start] of starts) {
      test(`keeps every id and payload in order ${name}, with ${slotsPerWorker} slots`, () => {
        const mailboxes = ResultMailboxes.create(2, 48, slotsPerWorker);
        setCounters(mailboxes, 1, start);
        setCounters(mailboxes, 0, 0);
        const expected: Array<[number, string]> = [];
        const received: Array<[number, string]> = [];
        let nextId = 1;
        // Batches of varying size, some filling the mailbox, carry the
        // counters well past the wrap more than once round the slots.
        for (let round = 0; round < 40; round++) {
          const batch = 1 + ((round * 7) % slotsPerWorker);
          for (let i = 0; i < batch; i++, nextId++) {
            const text = `job ${nextId} ${'#'.repeat(nextId % 13)}`;
            assert.notEqual(mailboxes.put(1, nextId, encodeText(text)), 'full', `result ${nextId} fits`);
            expected.push([nextId, text]);
          }
          if (batch === slotsPerWorker) assert.equal(mailboxes.put(1, -1, encodeText('x')), 'full', 'a full mailbox stays full across the wrap');
          received.push(...drainAll(mailboxes, 1));
        }
        assert.ok(nextId > 3 * slotsPerWorker, 'the test went round the slots several times');
        assert.deepEqual(received, expected);
        const control = new Int32Array(mailboxes.memory.control);
        assert.equal(control[CELLS + HEAD], (start + nextId - 1) | 0, 'HEAD wrapped as a 32-bit integer');
        assert.equal(control[CELLS + TAIL], control[CELLS + HEAD]);
        assert.deepEqual(drainAll(mailboxes, 0), [], "worker 0's mailbox was never touched");
      });
    }
  }
});
