// Many jobs per worker: a job that awaits lets its worker take the next one,
// up to `concurrency` in flight, and every per-job guarantee holds per job:
// deadlines, aborts and failures touch only their own job; a worker that
// must be terminated fails the others in flight on it, logged once; a
// blocked worker takes no new jobs; close() answers every job in flight.
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { JobError, PoolCreationError } from '../src/pool/pool-errors.js';
import { ThreadPool, type ThreadPoolOptions } from '../src/pool/thread-pool.js';
import type { Job } from './fixtures/jobs.js';
import { delay, waitUntil } from './helpers.js';
import { JOBS_MODULE, assertPoolError, watch } from './pool-helpers.js';

async function startPool(t: TestContext, options: Partial<ThreadPoolOptions> = {}): Promise<{ pool: ThreadPool; logs: string[] }> {
  const logs: string[] = [];
  const pool = new ThreadPool({ module: JOBS_MODULE, size: 1, log: (line) => logs.push(line), ...options });
  t.after(() => pool.terminate());
  await pool.ready();
  return { pool, logs };
}

function run<R = unknown>(pool: ThreadPool, job: Job, options?: Parameters<ThreadPool['execute']>[1]): Promise<R> {
  return pool.execute<R>(job, options);
}

test('one worker runs up to `concurrency` awaiting jobs at once, and queues the rest', async (t) => {
  const { pool } = await startPool(t, { size: 1, concurrency: 8 });
  const jobs = Array.from({ length: 10 }, () => watch(run<string>(pool, { kind: 'wait', ms: 1500 })));
  await waitUntil(() => pool.stats.inFlight === 8, 'eight jobs in flight');
  assert.deepEqual(pool.stats.inFlightPerWorker, [8]);
  assert.equal(pool.stats.busy, 1);
  assert.equal(pool.stats.queued, 2, 'past concurrency, jobs wait in the queue');
  for (const job of jobs) assert.equal(await job.promise, 'waited 1500 ms');
  assert.equal(pool.stats.inFlight, 0);
});

test('in flight at most size × concurrency, then the queue, then ERR_QUEUE_FULL', async (t) => {
  const { pool } = await startPool(t, { size: 2, concurrency: 2, queueSize: 1 });
  const controller = new AbortController();
  const held = Array.from({ length: 4 }, () => run(pool, { kind: 'wait-for-abort' }, { signal: controller.signal }).catch(() => 'aborted'));
  await waitUntil(() => pool.stats.inFlight === 4, 'four jobs in flight');
  assert.deepEqual(pool.stats.inFlightPerWorker, [2, 2]);
  const queued = run(pool, { kind: 'echo', value: 'queued' });
  assert.equal(pool.stats.queued, 1);
  await assertPoolError(run(pool, { kind: 'echo', value: 'refused' }), 'ERR_QUEUE_FULL');
  controller.abort();
  await Promise.all(held);
  assert.equal(await queued, 'queued');
});

test('a worker whose event loop is blocked takes no new jobs: they go to the free worker', async (t) => {
  const { pool } = await startPool(t, { size: 2, concurrency: 16 });
  const spin = watch(run(pool, { kind: 'spin', ms: 3000 }));
  await waitUntil(() => pool.stats.inFlight === 1, 'the spin is running');
  const spinning = pool.stats.inFlightPerWorker.indexOf(1);
  const ids = await Promise.all(Array.from({ length: 20 }, () => run<number>(pool, { kind: 'thread-id' })));
  assert.equal(spin.isSettled, false, 'all twenty answered while the spin held its thread');
  assert.equal(new Set(ids).size, 1, 'one thread ran them all');
  assert.equal(pool.stats.inFlightPerWorker[spinning], 1, 'the spinning worker took none of them');
  await spin.promise;
});

test('a job that blocks after its first await holds no job taken behind it: they go to the free worker', async (t) => {
  const { pool } = await startPool(t, { size: 2, concurrency: 16 });
  // Queued together, so that one worker could take them all in one go.
  const spin = watch(run(pool, { kind: 'spin-after-await', ms: 3000 }));
  const echoes = Array.from({ length: 20 }, (_, i) => run(pool, { kind: 'echo-async', value: i }));
  assert.deepEqual(await Promise.all(echoes), Array.from({ length: 20 }, (_, i) => i));
  assert.equal(spin.isSettled, false, 'all twenty answered while the spin held its thread');
  await spin.promise;
});

test("a job's deadline runs from its own start and aborts only that job", async (t) => {
  const { pool } = await startPool(t, { size: 1, concurrency: 4, jobTimeoutMs: 2000 });
  const first = run(pool, { kind: 'wait-for-abort' });
  await waitUntil(() => pool.stats.inFlight === 1, 'the first job is running');
  await delay(1000);
  // Starts a second after the first: in flight when the first times out, with a second of its own deadline left.
  const second = run<string>(pool, { kind: 'wait', ms: 1200 });
  await assertPoolError(first, 'ERR_JOB_TIMEOUT');
  assert.equal(await second, 'waited 1200 ms', "the second job's signal never fired");
  assert.equal(pool.stats.restarts, 0, 'a job that stops when told keeps its worker');
});

test('aborting one job leaves the others on its worker running', async (t) => {
  const { pool } = await startPool(t, { size: 1, concurrency: 4 });
  const controller = new AbortController();
  const aborted = run(pool, { kind: 'wait-for-abort' }, { signal: controller.signal });
  const others = [run(pool, { kind: 'wait', ms: 800 }), run(pool, { kind: 'wait', ms: 800 })];
  await waitUntil(() => pool.stats.inFlight === 3, 'three jobs in flight');
  controller.abort();
  await assertPoolError(aborted, 'ERR_JOB_ABORTED');
  assert.deepEqual(await Promise.all(others), ['waited 800 ms', 'waited 800 ms']);
});

test('a job that throws fails alone; the jobs beside it finish', async (t) => {
  const { pool } = await startPool(t, { size: 1, concurrency: 4 });
  const waiting = run(pool, { kind: 'wait', ms: 500 });
  await waitUntil(() => pool.stats.inFlight === 1, 'the wait is running');
  await assert.rejects(run(pool, { kind: 'reject', message: 'only me' }), (err) => err instanceof JobError && err.message.includes('only me'));
  await assert.rejects(run(pool, { kind: 'throw', message: 'me too' }), JobError);
  assert.equal(await waiting, 'waited 500 ms');
  assert.equal(pool.stats.restarts, 0);
});

test('a worker terminated past the grace period fails the other jobs in flight on it with ERR_WORKER_TERMINATED, logged once with the count', async (t) => {
  const { pool, logs } = await startPool(t, { size: 1, concurrency: 4, abortGraceMs: 300 });
  const waits = [run(pool, { kind: 'wait', ms: 60_000 }), run(pool, { kind: 'wait', ms: 60_000 })];
  await waitUntil(() => pool.stats.inFlight === 2, 'two waits in flight');
  const controller = new AbortController();
  const stuck = run(pool, { kind: 'sleep', ms: 60_000 }, { signal: controller.signal });
  await waitUntil(() => pool.stats.inFlight === 3, 'the sleep holds the thread');
  controller.abort();
  await assertPoolError(stuck, 'ERR_JOB_ABORTED');
  for (const wait of waits) await assertPoolError(wait, 'ERR_WORKER_TERMINATED');
  const lines = logs.filter((line) => line.includes('2 jobs in flight'));
  assert.equal(lines.length, 1, logs.join('\n'));
  await waitUntil(() => pool.stats.restarts === 1 && pool.stats.ready === 1, 'the worker is replaced');
  assert.equal(await run(pool, { kind: 'echo', value: 'ok' }), 'ok');
});

test('a worker that runs out of memory fails every job in flight on it, and is replaced', async (t) => {
  const { pool, logs } = await startPool(t, { size: 1, concurrency: 4, resourceLimits: { maxOldGenerationSizeMb: 16 } });
  const waits = [run(pool, { kind: 'wait', ms: 60_000 }), run(pool, { kind: 'wait', ms: 60_000 })];
  await waitUntil(() => pool.stats.inFlight === 2, 'two waits in flight');
  await assertPoolError(run(pool, { kind: 'oom' }), 'ERR_WORKER_OUT_OF_MEMORY');
  for (const wait of waits) await assertPoolError(wait, 'ERR_WORKER_OUT_OF_MEMORY');
  assert.ok(logs.some((line) => line.includes('3 jobs in flight')), logs.join('\n'));
  await waitUntil(() => pool.stats.restarts === 1 && pool.stats.ready === 1, 'the worker is replaced');
  assert.equal(await run(pool, { kind: 'echo', value: 'ok' }), 'ok');
});

test('close() answers every job in flight on every worker before joining them', async (t) => {
  const { pool } = await startPool(t, { size: 2, concurrency: 8 });
  const jobs = Array.from({ length: 12 }, () => run<string>(pool, { kind: 'wait', ms: 500 }));
  await waitUntil(() => pool.stats.inFlight === 12, 'twelve jobs in flight');
  await pool.close();
  assert.deepEqual(await Promise.all(jobs), Array(12).fill('waited 500 ms'));
  assert.equal(pool.stats.ready, 0);
});

test('refuses a concurrency of 0, a fractional one or one past the maximum with PoolCreationError', () => {
  for (const concurrency of [0, 1.5, -1, 5000]) {
    assert.throws(() => new ThreadPool({ module: JOBS_MODULE, concurrency }), PoolCreationError, String(concurrency));
  }
});
