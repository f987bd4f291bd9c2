// The pool's shared job queue on its own. The I/O thread's queue and each
// worker's view of the same memory live in this one thread, except in the
// last test, where a real worker thread sleeps and is woken. Each test states
// one promise: FIFO order, lanes and jobs in flight, bounds, cancellation,
// retiring, closing, sleeping and whom a wake-up reaches, and indexes that
// stay right when the 32-bit counters wrap.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { SharedQueue } from '../src/pool/shared-queue.js';
import { PATIENCE_MS, waitUntil } from './helpers.js';
import { watch } from './pool-helpers.js';

const SLOT_BYTES = 64;

/** The I/O thread's queue, and one view of its memory per worker, as each thread has. */
function createQueue(options: { queueSize?: number; workers?: number; lanes?: number } = {}): { io: SharedQueue; views: SharedQueue[] } {
  const io = SharedQueue.create(options.queueSize ?? 8, options.workers ?? 2, options.lanes ?? 2, SLOT_BYTES);
  const views = Array.from({ length: options.workers ?? 2 }, () => new SharedQueue(io.memory));
  return { io, views };
}

/** An encoder that writes `text` as the payload, or -1 when it does not fit. */
const payload = (text: string) => (target: Buffer): number => (Buffer.byteLength(text) > target.byteLength ? -1 : target.write(text));

/** What a take returned, as plain data: [id, payload text or null], or null. */
function taken(queue: SharedQueue, worker: number, lane: number): [number, string | null] | null {
  const job = queue.take(worker, lane);
  return job === null ? null : [job.id, job.payload === null ? null : job.payload.toString()];
}

/**
 * Waits for `promise`, failing the test if it does not settle in time. A
 * wake-up that never comes would otherwise leave nothing to keep the event
 * loop alive (a pending Atomics.waitAsync does not), cancelling the rest.
 */
async function withinPatience<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${PATIENCE_MS} ms waiting until ${what}`)), PATIENCE_MS);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Lets the promise jobs of a notify run. */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

test('workers take jobs in the order they were pushed, each with its payload', () => {
  const { io, views } = createQueue();
  for (let id = 1; id <= 4; id++) assert.equal(io.push(id, payload(`job ${id}`)), id - 1, 'push returns the position');
  assert.equal(io.length, 4);
  assert.deepEqual(taken(views[0], 0, 0), [1, 'job 1']);
  assert.deepEqual(taken(views[1], 1, 2), [2, 'job 2']);
  assert.deepEqual(taken(views[0], 0, 1), [3, 'job 3']);
  assert.deepEqual(taken(views[1], 1, 3), [4, 'job 4']);
  assert.equal(io.length, 0);
});

test('take returns null when no job waits, before and after the queue had some', () => {
  const { io, views } = createQueue();
  assert.equal(views[0].take(0, 0), null);
  io.push(1, payload('x'));
  assert.deepEqual(taken(views[0], 0, 0), [1, 'x']);
  assert.equal(views[0].take(0, 1), null);
  assert.equal(views[1].take(1, 2), null);
});

test('a job without an encoder, or whose payload does not fit, comes by message', () => {
  const { io, views } = createQueue();
  const byMessage = io.push(1, null);
  const tooBig = io.push(2, payload('x'.repeat(SLOT_BYTES + 1)));
  const fits = io.push(3, payload('x'.repeat(SLOT_BYTES)));
  assert.equal(io.slotOf(byMessage), -1);
  assert.equal(io.slotOf(tooBig), -1);
  assert.ok(io.slotOf(fits) >= 0, 'the slot refused by job 2 went back and was used for job 3');
  assert.deepEqual([taken(views[0], 0, 0), taken(views[0], 0, 1), taken(views[1], 1, 2)], [[1, null], [2, null], [3, 'x'.repeat(SLOT_BYTES)]]);
});

test('counts jobs in flight from take to finish, and says which lane runs which job since when', () => {
  const { io, views } = createQueue({ lanes: 2 });
  for (let id = 11; id <= 13; id++) io.push(id, null);
  const before = Date.now();
  views[0].take(0, 0);
  views[0].take(0, 1);
  views[1].take(1, 3);
  const after = Date.now();
  assert.deepEqual([io.inFlight(0), io.inFlight(1)], [2, 1]);
  assert.deepEqual([0, 1, 2, 3].map((lane) => io.runningOn(lane)), [11, 12, 0, 13]);
  for (const lane of [0, 1, 3]) assert.ok(io.startedAt(lane) >= before && io.startedAt(lane) <= after, `lane ${lane} started during the takes`);
  views[0].finish(0, 0);
  assert.equal(io.inFlight(0), 1);
  assert.equal(io.runningOn(0), 0, 'a finished lane runs nothing');
  assert.equal(io.runningOn(1), 12);
  views[1].finish(1, 3);
  assert.deepEqual([io.inFlight(0), io.inFlight(1)], [1, 0]);
  io.resetWorker(0);
  assert.equal(io.inFlight(0), 0, "a new thread starts with nothing in flight");
  assert.equal(io.runningOn(1), 0);
});

test('holds a power of two of positions, room for the queue and every lane, and refuses one more', () => {
  for (const [queueSize, workers, lanes] of [[1, 1, 1], [5, 1, 2], [8, 2, 4], [100, 3, 7]]) {
    const { memory } = SharedQueue.create(queueSize, workers, lanes, SLOT_BYTES);
    assert.equal(memory.capacity & (memory.capacity - 1), 0, `capacity ${memory.capacity} is a power of two`);
    assert.ok(memory.capacity >= queueSize + workers * lanes + 1);
  }
  const { io, views } = createQueue({ queueSize: 5, workers: 1, lanes: 2 });
  const capacity = io.memory.capacity;
  for (let id = 1; id <= capacity; id++) assert.notEqual(io.push(id, null), -1, `job ${id} of ${capacity}`);
  assert.equal(io.push(capacity + 1, null), -1, 'a full ring refuses the job');
  assert.equal(io.length, capacity);
  assert.deepEqual(taken(views[0], 0, 0), [1, null]);
  assert.notEqual(io.push(capacity + 1, null), -1, 'a taken job makes room');
});

test('a payload slot comes back only by freeSlot(), or at once when refused; while none is free, payloads come by message', () => {
  const { io, views } = createQueue({ queueSize: 1, workers: 1, lanes: 1 }); // 1 + 2 × 1 slots
  const takeAll = () => Array.from({ length: io.length }, () => taken(views[0], 0, 0));
  io.push(1, payload('x'.repeat(SLOT_BYTES + 1)));
  const positions = [2, 3, 4].map((id) => io.push(id, payload(`p${id}`)));
  assert.deepEqual(takeAll(), [[1, null], [2, 'p2'], [3, 'p3'], [4, 'p4']], 'the slot job 1 was refused is not lost');
  assert.equal(io.slotOf(io.push(5, payload('p5'))), -1);
  assert.deepEqual(takeAll(), [[5, null]]);
  io.freeSlot(io.slotOf(positions[1]));
  io.freeSlot(-1); // a job that came by message has no slot to give back
  const reused = io.push(6, payload('p6'));
  assert.equal(io.slotOf(reused), io.slotOf(positions[1]));
  assert.deepEqual(takeAll(), [[6, 'p6']]);
});

test('a cancelled job is skipped; a taken one cannot be cancelled', () => {
  const { io, views } = createQueue();
  const first = io.push(1, null);
  const second = io.push(2, null);
  io.push(3, null);
  assert.equal(io.isWaiting(second, 2), true);
  assert.equal(io.cancel(second, 2), true);
  assert.equal(io.isWaiting(second, 2), false);
  assert.deepEqual(taken(views[0], 0, 0), [1, null]);
  assert.equal(io.cancel(first, 1), false, 'worker 0 has it already');
  assert.deepEqual(taken(views[0], 0, 1), [3, null], 'job 2 is skipped');
  assert.equal(views[1].take(1, 2), null);
});

test('a retiring worker takes no job while others do, and takes again once it is not', () => {
  const { io, views } = createQueue();
  for (let id = 1; id <= 3; id++) io.push(id, null);
  io.setRetiring(0, true);
  assert.equal(views[0].take(0, 0), null);
  assert.deepEqual(taken(views[1], 1, 2), [1, null]);
  io.setRetiring(0, false);
  assert.deepEqual(taken(views[0], 0, 0), [2, null]);
});

test('sleep() returns null when a job waits, and otherwise a promise, counting the sleeper', async () => {
  const { io, views } = createQueue();
  io.push(1, null);
  assert.equal(views[0].sleep(0), null);
  assert.equal(io.sleepers, 0, 'a worker with work to do is not asleep');
  views[0].take(0, 0);
  const sleeping = views[0].sleep(0);
  assert.ok(sleeping instanceof Promise);
  assert.equal(io.sleepers, 1);
  assert.equal(views[0].sleep(0), sleeping, 'a second sleep reuses the one wait');
  assert.equal(io.sleepers, 1);
  views[0].awake(0);
  assert.equal(io.sleepers, 0, 'awake() counts it awake');
  io.close();
  await withinPatience(sleeping, 'close() wakes the sleeper');
});

test('wakeOne() wakes the sleeper with the fewest jobs in flight, and only when a job waits', async (t) => {
  const { io, views } = createQueue({ lanes: 2 });
  t.after(() => io.close());
  io.push(100, null);
  views[0].take(0, 0); // worker 0 runs one job; worker 1 none
  const zero = watch(views[0].sleep(0)!);
  const one = watch(views[1].sleep(1)!);
  io.wakeOne();
  await settle();
  assert.equal(one.isSettled || zero.isSettled, false, 'no job waits: nobody is woken');
  io.push(101, null);
  io.wakeOne();
  await withinPatience(one.promise, 'worker 1 is woken');
  await settle();
  assert.equal(zero.isSettled, false, 'worker 0, with a job in flight, sleeps on');
  assert.equal(io.sleepers, 1);
  io.wakeOne();
  await withinPatience(zero.promise, 'worker 0 is woken for the job still waiting');
  assert.equal(io.sleepers, 0);
});

test('wakeOne() passes over a retiring sleeper, and wakes it once it may take jobs again', async (t) => {
  const { io, views } = createQueue({ workers: 2, lanes: 2 });
  t.after(() => io.close());
  io.push(1, null);
  views[1].take(1, 2); // worker 1 runs one job; worker 0 none
  const zero = watch(views[0].sleep(0)!);
  const one = watch(views[1].sleep(1)!);
  io.setRetiring(0, true);
  io.push(2, null);
  io.wakeOne();
  await withinPatience(one.promise, 'worker 1 is woken');
  await settle();
  assert.equal(zero.isSettled, false, 'worker 0 has fewer jobs in flight, but is retiring');
  io.wakeOne();
  await settle();
  assert.equal(zero.isSettled, false, 'nobody else can take the job');
  assert.equal(io.sleepers, 1);
  io.setRetiring(0, false);
  await withinPatience(zero.promise, 'worker 0 is woken'); // a worker that may take jobs again is woken to see it
  assert.equal(io.sleepers, 0);
  assert.deepEqual(taken(views[0], 0, 0), [2, null]);
});

test('close() is seen by every worker: queued jobs are still taken, sleepers wake, nobody sleeps again', async () => {
  const { io, views } = createQueue();
  io.push(1, null);
  views[0].take(0, 0);
  const sleeping = [views[0].sleep(0)!, views[1].sleep(1)!];
  io.push(2, null);
  io.close();
  io.close(); // idempotent
  await withinPatience(Promise.all(sleeping), 'close() wakes both sleepers');
  assert.equal(views[1].isClosed, true);
  assert.deepEqual(taken(views[1], 1, 2), [2, null]);
  assert.equal(views[1].sleep(1), null, 'a closed queue is work: the worker ends its loop instead');
  assert.equal(views[0].nap(0), true);
});

test('nap() returns at once when a job waits, and false after napping when none comes', () => {
  const { io, views } = createQueue();
  assert.equal(views[0].nap(0), false);
  assert.equal(io.hasNapper, false, 'the nap is over');
  io.push(1, null);
  assert.equal(views[0].nap(0), true);
  io.setRetiring(0, true);
  assert.equal(views[0].nap(0), false, 'the job is not for a retiring worker');
  assert.equal(views[1].nap(1), true);
});

test('keeps order and payloads as HEAD and TAIL wrap past 2^31 - 1 and past -1', () => {
  for (const start of [0x7ffffffe - 5, (2 ** 32 - 3) | 0]) {
    const { io, views } = createQueue({ queueSize: 4, workers: 1, lanes: 2 });
    const control = new Int32Array(io.memory.control);
    control[0] = start; // HEAD
    control[1] = start; // TAIL
    const received: Array<[number, string | null] | null> = [];
    const expected: Array<[number, string]> = [];
    let nextId = 1;
    for (let round = 0; round < 30; round++) {
      for (let i = 0; i < 1 + (round % io.memory.capacity); i++, nextId++) {
        assert.equal(io.push(nextId, payload(`job ${nextId}`)), (start + nextId - 1) | 0, 'the position is the wrapped TAIL');
        expected.push([nextId, `job ${nextId}`]);
      }
      while (io.length > 0) {
        const position = (start + received.length) | 0;
        received.push(taken(views[0], 0, 0));
        views[0].finish(0, 0);
        io.freeSlot(io.slotOf(position));
      }
    }
    assert.ok(nextId > 3 * io.memory.capacity, 'round the ring several times');
    assert.deepEqual(received, expected, `starting at ${start}`);
    assert.equal(views[0].take(0, 0), null);
  }
});

test('a worker thread asleep in its event loop is woken by wakeOne() and takes the job', async (t) => {
  const { io } = createQueue({ workers: 1, lanes: 1 });
  // A pending Atomics.waitAsync does not keep a thread alive; a port with a
  // listener does (worker-main.ts has one), and closing it lets the thread end.
  const code = `
    const { parentPort, workerData } = require('node:worker_threads');
    parentPort.on('message', () => {});
    import(workerData.moduleUrl).then(async ({ SharedQueue }) => {
      const queue = new SharedQueue(workerData.memory);
      for (;;) {
        const job = queue.take(0, 0);
        if (job !== null) {
          parentPort.postMessage({ id: job.id, payload: job.payload && job.payload.toString() });
          queue.finish(0, 0);
        } else if (queue.isClosed) {
          break;
        } else {
          await queue.sleep(0);
        }
      }
      parentPort.close();
    });`;
  const moduleUrl = new URL('../src/pool/shared-queue.js', import.meta.url).href;
  const worker = new Worker(code, { eval: true, workerData: { moduleUrl, memory: io.memory } });
  const exited = new Promise<number>((resolve, reject) => worker.once('exit', resolve).once('error', reject));
  t.after(() => worker.terminate());
  await waitUntil(() => io.sleepers === 1, 'the worker thread sleeps', PATIENCE_MS * 2);
  const message = new Promise((resolve) => worker.once('message', resolve));
  io.push(7, payload('across threads'));
  io.wakeOne();
  assert.equal(io.sleepers, 0, 'wakeOne() counted it awake');
  assert.deepEqual(await withinPatience(message, 'the worker thread took the job'), { id: 7, payload: 'across threads' });
  await waitUntil(() => io.sleepers === 1 && io.inFlight(0) === 0, 'the worker finished the job and sleeps again', PATIENCE_MS * 2);
  io.close();
  assert.equal(await withinPatience(exited, 'the worker thread ended'), 0, 'closing the queue ends its loop');
});
