// The whole server with the demo application on the thread pool: blocked
// threads never block the server, one thread runs many awaiting handlers,
// /healthz answers from the I/O thread, failures map to their statuses (500,
// 503 + Retry-After, 504) and the pool heals itself, a client that leaves
// takes its job with it, and the CLI shuts down gracefully on SIGTERM and
// refuses what it cannot start.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HELLO_PAGE } from '../../src/demo/pages.js';
import { connect, runCli, startCli, startServer, waitUntil } from '../helpers.js';
import { fixturePath, getHealth, httpRequest, waitForHealth, watch, type Health } from '../pool-helpers.js';

test('GET / keeps answering while three /sleep?ms=3000 requests block three of four threads', async (t) => {
  const { url } = await startServer(t, { threads: 4 });
  const sleeps = [1, 2, 3].map(() => watch(httpRequest(`${url}/sleep?ms=3000`)));
  await waitForHealth(url, (health) => health.busy === 3, 'three sleeps are running');
  for (let i = 0; i < 5; i++) {
    const hello = await httpRequest(`${url}/`);
    assert.equal(hello.status, 200);
    assert.equal(hello.text, HELLO_PAGE);
    assert.ok(sleeps.every((sleep) => !sleep.isSettled), `GET / number ${i + 1} answered while every sleep was still running`);
  }
  for (const response of await Promise.all(sleeps.map((sleep) => sleep.promise))) {
    assert.equal(response.status, 200);
    assert.equal(response.text, 'slept 3000 ms\n');
  }
  // That the three ran side by side, not one after another, is busy === 3 above.
});

test('/healthz answers from the I/O thread while every worker sleeps, and counts them busy', async (t) => {
  const { url, server } = await startServer(t, { threads: 2 });
  // Sleeps of 3 s: long enough that both still run when /healthz answers, even on a busy machine.
  const sleeps = [1, 2].map(() => watch(httpRequest(`${url}/sleep?ms=3000`)));
  await waitForHealth(url, (health) => health.busy === 2, 'both sleeps are running');
  const response = await httpRequest(`${url}/healthz`);
  assert.equal(response.status, 200);
  assert.equal(response.headers['cache-control'], 'no-store');
  const { connections, maxConnections, ...pool } = JSON.parse(response.text) as Health;
  assert.deepEqual(pool, { status: 'ok', threads: 2, concurrency: 256, busy: 2, inFlight: 2, inFlightPerWorker: [1, 1], queued: 0, ready: 2, restarts: 0, backoffMs: 0, lastError: null, generation: 1 });
  assert.ok(connections >= 3, `the two sleeps and this request are open connections (${connections})`);
  assert.equal(maxConnections, server.maxConnections);
  assert.ok(sleeps.every((sleep) => !sleep.isSettled), 'answered while both threads were asleep');
  for (const sleep of await Promise.all(sleeps.map((s) => s.promise))) assert.equal(sleep.status, 200);
  assert.equal((await getHealth(url)).busy, 0);
});

test('GET /async?ms=10 awaits a timer and answers 200 with its text', async (t) => {
  const { url } = await startServer(t, { threads: 1 });
  const response = await httpRequest(`${url}/async?ms=10`);
  assert.equal(response.status, 200);
  assert.equal(response.headers['content-type'], 'text/plain; charset=utf-8');
  assert.equal(response.text, 'async 10 ms\n');
});

test('one thread serves 50 concurrent /async?ms=300 requests at once, not one after another', async (t) => {
  const { url } = await startServer(t, { threads: 1 });
  const startedAt = Date.now();
  const responses = await Promise.all(Array.from({ length: 50 }, () => httpRequest(`${url}/async?ms=300`)));
  const elapsedMs = Date.now() - startedAt;
  for (const response of responses) {
    assert.equal(response.status, 200);
    assert.equal(response.text, 'async 300 ms\n');
  }
  // One after another they would take 15 s; the bound leaves a busy machine plenty of room.
  assert.ok(elapsedMs < 5000, `the 50 awaits overlapped on the one thread (${elapsedMs} ms in all, not 15,000+)`);
});

test('a client that leaves during /async cancels its timer, and the job ends at once', async (t) => {
  const { port, server, logs } = await startServer(t, { threads: 1 });
  const client = await connect(t, port);
  await client.write('GET /async?ms=600000 HTTP/1.1\r\nHost: x\r\n\r\n');
  await waitUntil(() => server.poolStats?.inFlight === 1, 'the await is running');
  client.socket.resetAndDestroy();
  // Were the timer not aborted through request.signal, the job would stay in flight for ten minutes.
  await waitUntil(() => server.poolStats?.inFlight === 0, 'the aborted job ends');
  assert.deepEqual(logs, [], 'an aborted await is no error');
});

test('/panic answers 500, is logged, and the same thread serves the next request', async (t) => {
  const { url, logs } = await startServer(t, { threads: 1 });
  const panic = await httpRequest(`${url}/panic`);
  assert.equal(panic.status, 500);
  assert.ok(!panic.text.includes('panic requested'), 'the error stays in the log, not the response');
  assert.ok(logs.some((line) => line.includes('GET /panic') && line.includes('panic requested by GET /panic')), logs.join('\n'));
  const hello = await httpRequest(`${url}/`);
  assert.equal(hello.status, 200);
  assert.equal(hello.text, HELLO_PAGE);
  const health = await getHealth(url);
  assert.equal(health.restarts, 0, 'a thrown error does not cost the thread');
  assert.equal(health.ready, 1);
});

test('a request past jobTimeoutMs answers 504, and the pool replaces the stuck thread', async (t) => {
  const { url, logs } = await startServer(t, { threads: 1, jobTimeoutMs: 1000 });
  const stuck = await httpRequest(`${url}/cpu?ms=600000`);
  assert.equal(stuck.status, 504);
  assert.ok(logs.some((line) => line.includes('GET /cpu?ms=600000') && line.includes('timed out')), logs.join('\n'));
  // The spinning thread ignores its signal; past the grace period it is terminated and replaced.
  await waitForHealth(url, (health) => health.restarts === 1 && health.ready === 1 && health.busy === 0, 'the stuck thread is replaced');
  const hello = await httpRequest(`${url}/`);
  assert.equal(hello.status, 200);
  assert.equal(hello.text, HELLO_PAGE);
  const cpu = await httpRequest(`${url}/cpu?ms=10`);
  assert.equal(cpu.status, 200);
  assert.match(cpu.text, /^cpu 10 ms, \d+\n$/);
});

test('with --concurrency 1, answers 503 with Retry-After when every thread is busy and the queue is full', async (t) => {
  const { url } = await startServer(t, { threads: 1, concurrency: 1, queueSize: 1 });
  const running = httpRequest(`${url}/sleep?ms=3000`); // outlasts the steps below on a busy machine
  await waitForHealth(url, (health) => health.busy === 1, 'the first sleep is running');
  const queued = httpRequest(`${url}/sleep?ms=100`);
  await waitForHealth(url, (health) => health.queued === 1, 'the second sleep is queued');
  const refused = await httpRequest(`${url}/`);
  assert.equal(refused.status, 503);
  assert.equal(refused.headers['retry-after'], '1');
  assert.equal((await running).status, 200);
  assert.equal((await queued).text, 'slept 100 ms\n');
  assert.equal((await httpRequest(`${url}/`)).status, 200, 'accepted again once the queue has room');
});

test('a client that resets its connection while its job is queued takes the job with it', async (t) => {
  const { url, port, server } = await startServer(t, { threads: 1, queueSize: 4 });
  const running = watch(httpRequest(`${url}/sleep?ms=3000`)); // outlasts the steps below on a busy machine
  await waitForHealth(url, (health) => health.busy === 1, 'the first sleep is running');
  const client = await connect(t, port);
  await client.write('GET /sleep?ms=1000 HTTP/1.1\r\nHost: x\r\n\r\n');
  await waitUntil(() => server.poolStats?.queued === 1, 'the second sleep is queued');
  client.socket.resetAndDestroy();
  await waitUntil(() => server.poolStats?.queued === 0, 'the abandoned job leaves the queue');
  assert.equal(running.isSettled, false, 'dropped while the first sleep still held the only thread');
  assert.equal((await running.promise).status, 200);
  // Had the abandoned job stayed queued, it would now hold the thread for a second.
  const health = await getHealth(url);
  assert.equal(health.busy, 0, JSON.stringify(health));
  assert.equal(health.queued, 0);
  assert.equal((await httpRequest(`${url}/`)).status, 200);
});

test('the CLI answers the requests in flight on SIGTERM, then exits 0', async (t) => {
  const cli = await startCli(t, ['--port', '0', '--threads', '2']);
  const health = await getHealth(cli.url);
  assert.equal(health.threads, 2, '--threads reaches the pool');
  const sleeps = [1, 2].map(() => httpRequest(`${cli.url}/sleep?ms=3000`)); // still running at SIGTERM on a busy machine
  await waitForHealth(cli.url, (h) => h.busy === 2, 'both sleeps are running');
  cli.child.kill('SIGTERM');
  for (const response of await Promise.all(sleeps)) {
    assert.equal(response.status, 200);
    assert.equal(response.text, 'slept 3000 ms\n');
    assert.equal(response.headers.connection, 'close', 'the last response before shutdown says so');
  }
  const result = await cli.exited;
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stderr, /SIGTERM received/);
});

test('the CLI exits 1 naming the error when the --app module fails to load', async () => {
  const thrown = await runCli(['--port', '0', '--app', fixturePath('bad-module.js')]);
  assert.equal(thrown.code, 1, thrown.stderr);
  assert.match(thrown.stderr, /^spindle: cannot start the application: .*bad-module refuses to load/);
  assert.equal(thrown.stdout, '', 'never announced that it listens');

  const noFetch = await runCli(['--port', '0', '--app', fixturePath('no-default-export.js')]);
  assert.equal(noFetch.code, 1, noFetch.stderr);
  assert.match(noFetch.stderr, /no fetch\(request\) method/);

  const missing = await runCli(['--port', '0', '--app', fixturePath('no-such-app.js')]);
  assert.equal(missing.code, 1, missing.stderr);
  assert.match(missing.stderr, /no-such-app\.js/);
});

test('the CLI exits 2 for --threads 0', async () => {
  const result = await runCli(['--port', '0', '--threads', '0']);
  assert.equal(result.code, 2, result.stderr);
  assert.match(result.stderr, /^spindle: .*--threads/);
  assert.equal(result.stdout, '');
});
