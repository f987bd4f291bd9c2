// Many requests per worker thread, end to end: handlers that await share a
// thread, a blocked thread takes no new requests, and each request keeps its
// own deadline, abort and failure; a thread that must be terminated answers
// the others in flight on it with 503 and Retry-After.
import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import { readOpenFileLimit } from '../../src/open-file-limit.js';
import { PATIENCE_MS, connect, runCli, startCli, startServer, waitUntil } from '../helpers.js';
import { fixturePath, getHealth, httpRequest, waitForHealth, watch } from '../pool-helpers.js';

const AWAIT_APP = fixturePath('await-app.js');

/** One request on a connection of its own, `Connection: close`; resolves with the status code (0 if none arrived). */
function statusOf(port: number, target: string): Promise<number> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: '127.0.0.1' });
    let head = '';
    socket.setEncoding('latin1');
    socket.setTimeout(PATIENCE_MS * 4, () => socket.destroy());
    socket.on('connect', () => socket.write(`GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`));
    socket.on('data', (text: string) => {
      if (head.length < 16) head += text;
    });
    socket.on('error', () => {});
    socket.on('close', () => resolve(Number(/^HTTP\/1\.1 (\d{3}) /.exec(head)?.[1] ?? 0)));
  });
}

test('1,000 requests at once to a handler that awaits 200 ms, on two threads with default limits: every one answers 200', async (t) => {
  const limit = readOpenFileLimit() ?? 1024;
  if (limit < 2500) return t.skip(`needs an open-file limit of 2,500 for 1,000 clients and their server; this one has ${limit}`);
  const cli = await startCli(t, ['--port', '0', '--threads', '2', '--app', AWAIT_APP]);
  const started = performance.now();
  const statuses = await Promise.all(Array.from({ length: 1000 }, () => statusOf(cli.port, '/wait?ms=200')));
  const seconds = (performance.now() - started) / 1000;
  t.diagnostic(`1,000 requests answered in ${seconds.toFixed(2)} s`);
  const counts = new Map<number, number>();
  for (const status of statuses) counts.set(status, (counts.get(status) ?? 0) + 1);
  assert.deepEqual([...counts], [[200, 1000]]);
});

test('a thread whose handler blocks takes no new requests: the others go to the free thread', async (t) => {
  const { url } = await startServer(t, { threads: 2, app: AWAIT_APP, jobTimeoutMs: 2000 });
  const spin = watch(httpRequest(`${url}/spin`));
  await waitForHealth(url, (health) => health.inFlight === 1, 'the spin is running');
  const waits = await Promise.all(Array.from({ length: 20 }, () => httpRequest(`${url}/wait?ms=50`)));
  for (const wait of waits) assert.equal(wait.text, 'waited 50 ms');
  assert.equal(spin.isSettled, false, 'all twenty answered while the spin held its thread');
  assert.equal((await spin.promise).status, 504);
});

test('/healthz reports the requests in flight on each thread', async (t) => {
  const { url, port } = await startServer(t, { threads: 2, app: AWAIT_APP });
  const clients = await Promise.all(Array.from({ length: 5 }, () => connect(t, port)));
  for (const client of clients) await client.write('GET /hold HTTP/1.1\r\nHost: x\r\n\r\n');
  const health = await waitForHealth(url, (h) => h.inFlight === 5, 'five requests in flight');
  assert.equal(health.inFlightPerWorker.length, 2);
  assert.equal(health.inFlightPerWorker[0] + health.inFlightPerWorker[1], 5);
  assert.equal(health.busy, health.inFlightPerWorker.filter((n) => n > 0).length);
  assert.equal(health.queued, 0);
  assert.equal(health.concurrency, 256);
  for (const client of clients) client.socket.resetAndDestroy(); // ends the holds, so close() need not wait for them
});

test('a client that leaves aborts its own request only', async (t) => {
  const { url, port, server } = await startServer(t, { threads: 1, app: AWAIT_APP });
  const clients = await Promise.all(Array.from({ length: 3 }, () => connect(t, port)));
  for (const client of clients) await client.write('GET /hold HTTP/1.1\r\nHost: x\r\n\r\n');
  await waitUntil(() => server.poolStats?.inFlight === 3, 'three holds in flight');
  clients[0].socket.resetAndDestroy();
  await waitUntil(() => server.poolStats?.inFlight === 2, 'the abandoned request ends');
  assert.equal((await httpRequest(`${url}/aborts`)).text, '1', "only the leaver's signal fired");
  assert.equal(clients[1].isClosedByServer || clients[2].isClosedByServer, false);
  for (const client of clients) client.socket.resetAndDestroy();
});

test("a request's deadline answers 504 and aborts that request's signal only", async (t) => {
  const { url } = await startServer(t, { threads: 1, app: AWAIT_APP, jobTimeoutMs: 2000 });
  const held = httpRequest(`${url}/hold`);
  await waitForHealth(url, (health) => health.inFlight === 1, 'the hold is running');
  await new Promise((resolve) => setTimeout(resolve, 1000));
  // In flight when the hold's deadline passes, with a second of its own left.
  const waited = httpRequest(`${url}/wait?ms=1200`);
  assert.equal((await held).status, 504);
  const wait = await waited;
  assert.equal(wait.status, 200);
  assert.equal(wait.text, 'waited 1200 ms');
  assert.equal((await httpRequest(`${url}/aborts`)).text, '1');
  assert.equal((await getHealth(url)).restarts, 0, 'a handler that stops when told keeps its thread');
});

test('a handler that throws answers 500 alone; the requests beside it on its thread answer 200', async (t) => {
  const { url } = await startServer(t, { threads: 1, app: AWAIT_APP });
  const waits = [httpRequest(`${url}/wait?ms=500`), httpRequest(`${url}/wait?ms=500`)];
  await waitForHealth(url, (health) => health.inFlight === 2, 'two waits in flight');
  assert.equal((await httpRequest(`${url}/throw`)).status, 500);
  for (const wait of await Promise.all(waits)) assert.equal(wait.status, 200);
});

test('a thread terminated for a handler that ignores its signal answers the others in flight on it with 503 and Retry-After', async (t) => {
  const { url, port, logs } = await startServer(t, { threads: 1, app: AWAIT_APP });
  const waits = [httpRequest(`${url}/wait?ms=60000`), httpRequest(`${url}/wait?ms=60000`)];
  await waitForHealth(url, (health) => health.inFlight === 2, 'two waits in flight');
  const spinner = await connect(t, port);
  await spinner.write('GET /spin HTTP/1.1\r\nHost: x\r\n\r\n');
  await waitForHealth(url, (health) => health.inFlight === 3, 'the spin holds the thread');
  spinner.socket.resetAndDestroy(); // aborts the spin, which ignores it: past the grace period its thread is terminated
  for (const wait of await Promise.all(waits)) {
    assert.equal(wait.status, 503);
    assert.equal(wait.headers['retry-after'], '1');
  }
  assert.equal(logs.filter((line) => line.includes('2 jobs in flight on it failed')).length, 1, logs.join('\n'));
  await waitForHealth(url, (health) => health.restarts === 1 && health.ready === 1, 'the thread is replaced');
  assert.equal((await httpRequest(`${url}/wait?ms=10`)).status, 200);
});

test('with two threads of concurrency 2 and a queue of 1: four run, one waits, the sixth gets 503', async (t) => {
  const { url, port } = await startServer(t, { threads: 2, concurrency: 2, queueSize: 1, app: AWAIT_APP });
  const clients = await Promise.all(Array.from({ length: 4 }, () => connect(t, port)));
  for (const client of clients) await client.write('GET /hold HTTP/1.1\r\nHost: x\r\n\r\n');
  const health = await waitForHealth(url, (h) => h.inFlight === 4, 'four holds in flight');
  assert.deepEqual(health.inFlightPerWorker, [2, 2]);
  const queued = watch(httpRequest(`${url}/wait?ms=10`));
  await waitForHealth(url, (h) => h.queued === 1, 'the fifth waits');
  const refused = await httpRequest(`${url}/wait?ms=10`);
  assert.equal(refused.status, 503);
  assert.equal(refused.headers['retry-after'], '1');
  clients[0].socket.resetAndDestroy();
  assert.equal((await queued.promise).status, 200, 'runs once a place is free');
  for (const client of clients) client.socket.resetAndDestroy();
});

test('close() answers every request in flight on every thread before it resolves', async (t) => {
  const { url, server } = await startServer(t, { threads: 2, app: AWAIT_APP });
  const waits = Array.from({ length: 20 }, () => httpRequest(`${url}/wait?ms=800`));
  await waitUntil(() => server.poolStats?.inFlight === 20, 'twenty waits in flight');
  await server.close();
  for (const wait of await Promise.all(waits)) {
    assert.equal(wait.status, 200);
    assert.equal(wait.text, 'waited 800 ms');
  }
});

test('--concurrency reaches the pool, and a bad value exits 2 naming it', async (t) => {
  const cli = await startCli(t, ['--port', '0', '--threads', '1', '--concurrency', '3']);
  assert.equal((await getHealth(cli.url)).concurrency, 3);
  for (const bad of ['0', 'many', '5000']) {
    const result = await runCli(['--port', '0', '--concurrency', bad]);
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, /^spindle: .*--concurrency/);
  }
});
