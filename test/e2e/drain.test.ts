// The lame-duck drain (--drain-delay): after SIGTERM the server keeps
// accepting and serving for the delay, /healthz answers 503 draining, and
// every response says Connection: close; then it shuts down gracefully.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assertResponse, connect, delay, header, startCli, startServer } from '../helpers.js';

test('during the drain: /healthz says draining (503), new and idle keep-alive connections are served with Connection: close', async (t) => {
  const { server, port } = await startServer(t, { threads: 1, drainDelayMs: 800 });
  const idle = await connect(t, port);
  await idle.write('GET / HTTP/1.1\r\nHost: a\r\n\r\n');
  assertResponse(await idle.readResponse(), 200, { isClosing: false });
  const busy = await connect(t, port);
  await busy.write('GET /async?ms=300 HTTP/1.1\r\nHost: a\r\n\r\n');
  await delay(50);

  const started = Date.now();
  const closed = server.close();
  assert.equal(server.isDraining, true);
  // The response that was being worked on says close too.
  assertResponse(await busy.readResponse(), 200, { isClosing: true });
  // A new connection is still accepted and served.
  const fresh = await connect(t, port);
  await fresh.write('GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n');
  const health = await fresh.readResponse();
  assertResponse(health, 503, { isClosing: true });
  assert.equal((JSON.parse(health.body.toString()) as { status: string }).status, 'draining');
  assert.ok(await fresh.waitForClose(), 'closed after its response');
  // The idle keep-alive connection gets one more answer, with Connection: close.
  await idle.write('GET / HTTP/1.1\r\nHost: a\r\n\r\n');
  assertResponse(await idle.readResponse(), 200, { isClosing: true });
  assert.ok(await idle.waitForClose(), 'then it is closed');

  assert.deepEqual(await closed, { forced: false });
  assert.ok(Date.now() - started >= 750, `shut down after the drain delay (${Date.now() - started} ms)`);
  assert.equal(server.isDraining, false);
});

test('without a drain delay the shutdown begins at once, as before', async (t) => {
  const { server, port } = await startServer(t, { threads: 1 });
  const idle = await connect(t, port);
  await idle.write('GET / HTTP/1.1\r\nHost: a\r\n\r\n');
  assertResponse(await idle.readResponse(), 200);
  const started = Date.now();
  assert.deepEqual(await server.close(), { forced: false });
  assert.ok(await idle.waitForClose(), 'the idle connection is closed');
  assert.ok(Date.now() - started < 2000);
});

test('--drain-delay from the command line: SIGTERM drains, then exits 0', async (t) => {
  const cli = await startCli(t, ['--port', '0', '--threads', '1', '--drain-delay', '500ms', '--access-log', 'off']);
  const client = await connect(t, cli.port);
  const started = Date.now();
  cli.child.kill('SIGTERM');
  await delay(100);
  await client.write('GET / HTTP/1.1\r\nHost: a\r\n\r\n');
  const response = await client.readResponse();
  assertResponse(response, 200, { isClosing: true });
  assert.equal(header(response, 'connection'), 'close');
  const result = await cli.exited;
  assert.equal(result.code, 0, result.stderr);
  assert.ok(Date.now() - started >= 450, `exited after the drain (${Date.now() - started} ms)`);
  assert.match(result.stderr, /SIGTERM received, draining for 500 ms, then shutting down/);
});
