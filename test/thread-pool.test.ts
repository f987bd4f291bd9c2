// The thread pool on its own: real worker threads running the job module in
// test/fixtures/jobs.ts. Each test states one promise the pool makes: order,
// results and transfers, a bounded queue, deadlines, aborts, crashed and
// exhausted workers replaced, a module that cannot load, and shutdown.
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { JobError, PoolCreationError } from '../src/pool/pool-errors.js';
import { ThreadPool, type ThreadPoolOptions } from '../src/pool/thread-pool.js';
import type { Job } from './fixtures/jobs.js';
import { PATIENCE_MS, delay, waitUntil } from './helpers.js';
import { JOBS_MODULE, assertPoolError, fixtureUrl, watch } from './pool-helpers.js';

/** A started pool of the test job module, terminated when the test ends. */
async function startPool(t: TestContext, options: Partial<ThreadPoolOptions> = {}): Promise<ThreadPool> {
  const pool = new ThreadPool({ module: JOBS_MODULE, size: 1, ...options });
  t.after(() => pool.terminate());
  await pool.ready();
  return pool;
}

function run<R = unknown>(pool: ThreadPool, job: Job, options?: Parameters<ThreadPool['execute']>[1]): Promise<R> {
  return pool.execute<R>(job, options);
}

/** Waits until every worker is ready again after `restarts` replacements. */
async function waitForReplacement(pool: ThreadPool, restarts: number, timeoutMs = PATIENCE_MS): Promise<void> {
  await waitUntil(() => pool.stats.restarts === restarts && pool.stats.ready === pool.size, `${restarts} worker(s) replaced and all ${pool.size} ready`, timeoutMs);
}

// ─── results and order ───────────────────────────────────────────────────────

test('runs queued jobs in submission order on a one-thread pool', async (t) => {
  const pool = await startPool(t, { size: 1 });
  const blocker = run(pool, { kind: 'sleep', ms: 100, tag: 'blocker' });
  const tags = ['a', 'b', 'c', 'd', 'e'];
  const queued = tags.map((tag) => run<string>(pool, { kind: 'record', tag }));
  assert.equal(pool.stats.queued, tags.length, 'the records wait behind the sleeping job');
  assert.deepEqual(await Promise.all(queued), tags);
  await blocker;
  assert.deepEqual(await run(pool, { kind: 'history' }), ['blocker', ...tags], 'each started in the order it was submitted');
});

test("returns each job's result, whether returned or resolved, and hands moduleData to setup", async (t) => {
  const pool = await startPool(t, { size: 2, moduleData: { greeting: 'hi' } });
  assert.deepEqual(await run(pool, { kind: 'echo', value: { n: 1, list: [1, 'two', null] } }), { n: 1, list: [1, 'two', null] });
  assert.deepEqual(await run(pool, { kind: 'echo-later', value: ['resolved'] }), ['resolved']);
  assert.deepEqual(await run(pool, { kind: 'setup-data' }), { greeting: 'hi' });
});

test("moves a transferred ArrayBuffer to the worker, leaving the sender's detached", async (t) => {
  const pool = await startPool(t);
  const buffer = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]).buffer;
  const result = run(pool, { kind: 'sum', buffer }, { transfer: [buffer] });
  assert.equal(buffer.byteLength, 0, 'detached as soon as execute() returns');
  assert.deepEqual(await result, { byteLength: 8, total: 36 });
});

test('moves an ArrayBuffer the job transfers back as its result', async (t) => {
  const pool = await startPool(t);
  const result = await run<ArrayBuffer>(pool, { kind: 'transfer', byteLength: 64 * 1024, fill: 7 });
  assert.ok(result instanceof ArrayBuffer);
  assert.equal(result.byteLength, 64 * 1024);
  assert.ok(new Uint8Array(result).every((byte) => byte === 7));
});

// ─── creation ────────────────────────────────────────────────────────────────

test('refuses a size of 0, a negative size or a fractional one with PoolCreationError', () => {
  for (const size of [0, -1, 1.5, Number.NaN]) {
    assert.throws(() => new ThreadPool({ module: JOBS_MODULE, size }), (err) => {
      assert.ok(err instanceof PoolCreationError, `size ${size}: ${String(err)}`);
      assert.match(err.message, /at least 1/);
      return true;
    });
  }
});

// ─── the bounded queue ───────────────────────────────────────────────────────

test('rejects at once with ERR_QUEUE_FULL when every worker is busy and the queue is full, and still runs the rest', async (t) => {
  const pool = await startPool(t, { size: 1, queueSize: 2 });
  const running = watch(run(pool, { kind: 'sleep', ms: 300 }));
  const waiting = [run(pool, { kind: 'record', tag: 'q1' }), run(pool, { kind: 'record', tag: 'q2' })];
  await assertPoolError(run(pool, { kind: 'record', tag: 'refused' }), 'ERR_QUEUE_FULL');
  assert.equal(running.isSettled, false, 'refused while the first job was still running');
  assert.equal(await running.promise, 'slept 300 ms');
  assert.deepEqual(await Promise.all(waiting), ['q1', 'q2']);
  assert.deepEqual(await run(pool, { kind: 'history' }), ['q1', 'q2'], 'the refused job never ran');
});

test('with queueSize 0 a busy pool refuses every extra job', async (t) => {
  const pool = await startPool(t, { size: 1, queueSize: 0 });
  const running = run(pool, { kind: 'sleep', ms: 100 });
  await assertPoolError(run(pool, { kind: 'echo', value: 1 }), 'ERR_QUEUE_FULL');
  await running;
  assert.equal(await run(pool, { kind: 'echo', value: 2 }), 2, 'accepted again once a worker is idle');
});

// ─── jobs that fail ──────────────────────────────────────────────────────────

test('a job that throws or rejects fails with a JobError carrying its message, and its thread carries on', async (t) => {
  const pool = await startPool(t, { size: 1 });
  const threadId = await run<number>(pool, { kind: 'thread-id' });
  await assert.rejects(run(pool, { kind: 'throw', message: 'thrown on purpose' }), (err) => {
    assert.ok(err instanceof JobError, String(err));
    assert.equal(err.name, 'RangeError', 'the name of the error the job threw');
    assert.equal(err.message, 'thrown on purpose');
    assert.match(err.stack ?? '', /jobs\.js/, "the worker's stack");
    return true;
  });
  await assert.rejects(run(pool, { kind: 'reject', message: 'rejected on purpose' }), (err) => {
    assert.ok(err instanceof JobError, String(err));
    assert.equal(err.message, 'rejected on purpose');
    return true;
  });
  assert.equal(await run(pool, { kind: 'echo', value: 'still here' }), 'still here');
  assert.equal(await run(pool, { kind: 'thread-id' }), threadId, 'the same thread');
  assert.equal(pool.stats.restarts, 0);
});

test('a job past its deadline fails with ERR_JOB_TIMEOUT; its worker is replaced and runs the next job', async (t) => {
  const pool = await startPool(t, { size: 1, jobTimeoutMs: 300, abortGraceMs: 100 });
  const before = await run<number>(pool, { kind: 'thread-id' });
  const spinning = run(pool, { kind: 'spin', ms: 60_000 });
  const next = run(pool, { kind: 'thread-id' }); // waits behind the spinning job
  const err = await assertPoolError(spinning, 'ERR_JOB_TIMEOUT');
  assert.match(err.message, /300 ms/);
  const after = await next;
  assert.notEqual(after, before, 'the next job ran on a new thread');
  await waitForReplacement(pool, 1);
  assert.equal(pool.stats.busy, 0);
  assert.equal(pool.stats.queued, 0);
  assert.equal(await run(pool, { kind: 'echo', value: 'ok' }), 'ok');
});

test('a worker still running a timed-out job during its grace period is not counted ready', async (t) => {
  // The grace period is long, so the check below falls inside it even on a busy machine.
  const pool = await startPool(t, { size: 2, jobTimeoutMs: 200, abortGraceMs: 3000 });
  const spinning = run(pool, { kind: 'spin', ms: 60_000 });
  await assertPoolError(spinning, 'ERR_JOB_TIMEOUT');
  assert.equal(pool.stats.ready, 1, 'one of two is spinning on a job given up on');
  await waitForReplacement(pool, 1, 3000 + PATIENCE_MS);
  assert.equal(pool.stats.ready, 2);
});

test('a deadline longer than the longest timer delay (about 24.8 days) does not fire early', async (t) => {
  const warnings: string[] = [];
  const onWarning = (warning: Error): void => {
    warnings.push(warning.name);
  };
  process.on('warning', onWarning);
  t.after(() => process.off('warning', onWarning));
  const pool = await startPool(t, { size: 1, jobTimeoutMs: 3_000_000_000 });
  assert.equal(await run(pool, { kind: 'sleep', ms: 100 }), 'slept 100 ms');
  assert.equal(await run(pool, { kind: 'sleep', ms: 50 }), 'slept 50 ms', 'the refreshed timer too');
  await delay(10); // warnings are emitted on a later tick
  assert.deepEqual(warnings.filter((name) => name === 'TimeoutOverflowWarning'), []);
});

test('a job that stops when its signal aborts finishes within the grace period and keeps its worker', async (t) => {
  // A second of grace: time enough for the worker to see its signal on a busy machine.
  const pool = await startPool(t, { size: 1, jobTimeoutMs: 300, abortGraceMs: 1000 });
  const before = await run<number>(pool, { kind: 'thread-id' });
  await assertPoolError(run(pool, { kind: 'wait-for-abort' }), 'ERR_JOB_TIMEOUT');
  assert.equal(await run(pool, { kind: 'thread-id' }), before, 'the same thread runs the next job');
  await delay(1200); // past the grace period: nothing may terminate the thread now
  assert.equal(pool.stats.restarts, 0);
  assert.equal(pool.stats.ready, 1);
  assert.equal(await run(pool, { kind: 'thread-id' }), before);
});

test('a worker that calls process.exit mid-job fails it with ERR_WORKER_DIED and is replaced', async (t) => {
  const pool = await startPool(t, { size: 2 });
  const err = await assertPoolError(run(pool, { kind: 'exit', code: 7 }), 'ERR_WORKER_DIED');
  assert.match(err.message, /code 7/);
  await waitForReplacement(pool, 1);
  assert.equal(pool.stats.restartsByCause.exit, 1);
  assert.equal(await run(pool, { kind: 'echo', value: 'ok' }), 'ok');
});

test('an uncaught exception in a callback kills the worker: ERR_WORKER_DIED with its message, and it is replaced', async (t) => {
  const pool = await startPool(t, { size: 2 });
  const err = await assertPoolError(run(pool, { kind: 'uncaught', message: 'boom in a timer' }), 'ERR_WORKER_DIED');
  assert.match(err.message, /boom in a timer/);
  await waitForReplacement(pool, 1);
  assert.deepEqual(pool.stats.restartsByCause, { recycled: 0, terminated: 0, out_of_memory: 0, error: 1, exit: 0, start_failed: 0 });
  assert.match(pool.stats.lastError ?? '', /boom in a timer/);
  assert.equal(await run(pool, { kind: 'echo', value: 'ok' }), 'ok');
});

test('a job that exhausts its heap fails with ERR_WORKER_OUT_OF_MEMORY and its worker is replaced', async (t) => {
  const pool = await startPool(t, { size: 1, resourceLimits: { maxOldGenerationSizeMb: 16 } });
  await assertPoolError(run(pool, { kind: 'oom' }), 'ERR_WORKER_OUT_OF_MEMORY');
  await waitForReplacement(pool, 1);
  assert.equal(pool.stats.restartsByCause.out_of_memory, 1);
  assert.equal(await run(pool, { kind: 'echo', value: 'ok' }), 'ok');
});

// ─── recycling ───────────────────────────────────────────────────────────────

test('maxJobsPerWorker: each worker is replaced after its jobs (and a tenth more at most); no job fails', async (t) => {
  const pool = await startPool(t, { size: 2, concurrency: 4, maxJobsPerWorker: 10 });
  const results = await Promise.all(Array.from({ length: 200 }, (_, i) => run(pool, { kind: 'echo-later', value: i })));
  assert.deepEqual(results, Array.from({ length: 200 }, (_, i) => i));
  await waitUntil(() => pool.stats.ready === 2, 'both workers ready');
  const recycled = pool.stats.restartsByCause.recycled;
  // 10 to 11 jobs end in each worker's life, and up to 3 more it had taken by then
  // (4 lanes): 200 jobs make 13 to 20 recycles.
  assert.ok(recycled >= 12 && recycled <= 20, `${recycled} recycles`);
  assert.equal(pool.stats.restarts, 0, 'a recycle is not a failure');
  assert.equal(pool.stats.lastError, null);
});

test('maxWorkerHeapBytes: a worker past it after a job is replaced, and the job still succeeds', async (t) => {
  const pool = await startPool(t, { size: 1, maxWorkerHeapBytes: 1 });
  for (let i = 0; i < 3; i++) assert.equal(await run(pool, { kind: 'echo', value: i }), i);
  await waitUntil(() => pool.stats.restartsByCause.recycled >= 2, 'recycled after its jobs');
  assert.equal(pool.stats.restarts, 0);
});

test('maxJobsPerWorker: a job running when the limit comes finishes before its worker leaves', async (t) => {
  const pool = await startPool(t, { size: 1, concurrency: 2, maxJobsPerWorker: 1 });
  const slow = run(pool, { kind: 'wait', ms: 300 });
  assert.equal(await run(pool, { kind: 'echo', value: 'fast' }), 'fast'); // the limit: the worker is recycling now
  assert.equal(await slow, 'waited 300 ms');
  await waitUntil(() => pool.stats.restartsByCause.recycled >= 1 && pool.stats.ready === 1, 'replaced');
  assert.equal(await run(pool, { kind: 'echo', value: 'after' }), 'after');
});

// ─── aborting ────────────────────────────────────────────────────────────────

test('aborting a queued job drops it without running it', async (t) => {
  const pool = await startPool(t, { size: 1 });
  const blocker = run(pool, { kind: 'sleep', ms: 200, tag: 'blocker' });
  const controller = new AbortController();
  const dropped = run(pool, { kind: 'record', tag: 'dropped' }, { signal: controller.signal });
  const kept = run(pool, { kind: 'record', tag: 'kept' });
  assert.equal(pool.stats.queued, 2);
  controller.abort();
  await assertPoolError(dropped, 'ERR_JOB_ABORTED');
  assert.equal(pool.stats.queued, 1, 'removed from the queue at once');
  await Promise.all([blocker, kept]);
  assert.deepEqual(await run(pool, { kind: 'history' }), ['blocker', 'kept'], 'the aborted job never ran');
});

test('a signal aborted before execute() rejects with ERR_JOB_ABORTED and runs nothing', async (t) => {
  const pool = await startPool(t, { size: 1 });
  await assertPoolError(run(pool, { kind: 'record', tag: 'never' }, { signal: AbortSignal.abort() }), 'ERR_JOB_ABORTED');
  assert.deepEqual(await run(pool, { kind: 'history' }), []);
});

test('aborting a running job that honours its signal keeps its worker', async (t) => {
  const pool = await startPool(t, { size: 1, abortGraceMs: 1000 });
  const before = await run<number>(pool, { kind: 'thread-id' });
  const controller = new AbortController();
  const job = run(pool, { kind: 'wait-for-abort' }, { signal: controller.signal });
  await waitUntil(() => pool.stats.busy === 1, 'the job is running');
  controller.abort();
  await assertPoolError(job, 'ERR_JOB_ABORTED');
  assert.equal(await run(pool, { kind: 'thread-id' }), before);
  await delay(1200); // past the grace period
  assert.equal(pool.stats.restarts, 0);
});

test('aborting a running job that ignores its signal replaces its worker after the grace period', async (t) => {
  const pool = await startPool(t, { size: 1, abortGraceMs: 100 });
  const controller = new AbortController();
  const job = run(pool, { kind: 'sleep', ms: 60_000 }, { signal: controller.signal });
  await waitUntil(() => pool.stats.busy === 1, 'the job is running');
  controller.abort();
  await assertPoolError(job, 'ERR_JOB_ABORTED');
  await waitForReplacement(pool, 1);
  assert.equal(await run(pool, { kind: 'echo', value: 'ok' }), 'ok');
});

// ─── a module that cannot load ───────────────────────────────────────────────

test('ready() rejects with the error of a module whose top level throws', async (t) => {
  const pool = new ThreadPool({ module: fixtureUrl('bad-module.js'), size: 2 });
  t.after(() => pool.terminate());
  await assert.rejects(pool.ready(), (err) => {
    assert.ok(err instanceof Error);
    assert.equal(err.message, 'bad-module refuses to load');
    return true;
  });
  assert.match(pool.stats.lastError ?? '', /bad-module refuses to load/);
  await pool.close();
});

test('ready() rejects when the module has no default export', async (t) => {
  const pool = new ThreadPool({ module: fixtureUrl('no-default-export.js'), size: 1 });
  t.after(() => pool.terminate());
  await assert.rejects(pool.ready(), (err) => {
    assert.ok(err instanceof Error);
    assert.equal(err.name, 'TypeError');
    assert.match(err.message, /no default export/);
    return true;
  });
});

test('close() fails jobs queued on a pool whose module cannot load, rather than waiting for them forever', async (t) => {
  const pool = new ThreadPool({ module: fixtureUrl('bad-module.js'), size: 2 });
  t.after(() => pool.terminate());
  const ready = assert.rejects(pool.ready(), /bad-module refuses to load/);
  const stranded = assertPoolError(run(pool, { kind: 'echo', value: 'never' }), 'ERR_POOL_CLOSED');
  await pool.close();
  await stranded;
  await ready;
  assert.equal(pool.stats.queued, 0);
});

// ─── shutdown ────────────────────────────────────────────────────────────────

test('close() finishes running and queued jobs, refuses new ones, then joins every worker', async (t) => {
  const pool = await startPool(t, { size: 2 });
  const jobs = [
    run(pool, { kind: 'sleep', ms: 200 }),
    run(pool, { kind: 'sleep', ms: 200 }),
    run(pool, { kind: 'record', tag: 'queued 1' }),
    run(pool, { kind: 'record', tag: 'queued 2' }),
  ];
  assert.equal(pool.stats.queued, 2);
  const closed = pool.close();
  await assertPoolError(run(pool, { kind: 'echo', value: 'late' }), 'ERR_POOL_CLOSED');
  await closed;
  assert.deepEqual(await Promise.all(jobs), ['slept 200 ms', 'slept 200 ms', 'queued 1', 'queued 2']);
  assert.deepEqual({ ...pool.stats, lastError: null }, { threads: 2, concurrency: 1, busy: 0, inFlight: 0, inFlightPerWorker: [], queued: 0, ready: 0, restarts: 0, restartsByCause: { recycled: 0, terminated: 0, out_of_memory: 0, error: 0, exit: 0, start_failed: 0 }, backoffMs: 0, lastError: null }, 'every worker has exited and none was replaced');
  await assertPoolError(run(pool, { kind: 'echo', value: 'later' }), 'ERR_POOL_CLOSED');
});

test('close() twice settles both calls, and close() after it has finished resolves again', async (t) => {
  const pool = await startPool(t, { size: 1 });
  const job = run(pool, { kind: 'sleep', ms: 100 });
  const first = pool.close();
  const second = pool.close();
  await Promise.all([first, second, job]);
  await pool.close();
  assert.equal(pool.stats.ready, 0);
});

test('terminate() fails running and queued jobs with ERR_POOL_CLOSED at once', async (t) => {
  const pool = await startPool(t, { size: 1 });
  const running = run(pool, { kind: 'sleep', ms: 60_000 });
  const queued = run(pool, { kind: 'echo', value: 1 });
  const failures = Promise.all([assertPoolError(running, 'ERR_POOL_CLOSED'), assertPoolError(queued, 'ERR_POOL_CLOSED')]);
  await pool.terminate();
  await failures;
  assert.equal(pool.stats.ready, 0);
});

test('`await using` closes the pool when the block ends', async () => {
  let escaped: ThreadPool;
  {
    await using pool = new ThreadPool({ module: JOBS_MODULE, size: 1 });
    escaped = pool;
    assert.equal(await pool.execute({ kind: 'echo', value: 'inside' } satisfies Job), 'inside');
  }
  assert.equal(escaped.stats.ready, 0, 'joined on leaving the block');
  await assertPoolError(escaped.execute({ kind: 'echo', value: 'outside' } satisfies Job), 'ERR_POOL_CLOSED');
});
