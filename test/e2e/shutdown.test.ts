// Graceful shutdown: stop accepting, close idle connections (once idle for a
// moment), answer
// what busy ones have received (the last response says Connection: close),
// and past shutdownTimeoutMs destroy what is left. Then the same through the
// CLI's signals.
import assert from 'node:assert/strict';
import net from 'node:net';
import { test, type TestContext } from 'node:test';
import type { HttpRequest, HttpResponse } from '../../src/index.js';
import { INDEX_URL, assertResponse, connect, deferred, delay, header, runModule, startCli, startServer, waitUntil, type RawClient } from '../helpers.js';

/** A handler whose /slow waits on the test; `started` resolves when it begins. */
function slowHandler(wait: () => Promise<void>): { handler: (request: HttpRequest) => Promise<HttpResponse>; started: Promise<void> } {
  const started = deferred();
  return {
    started: started.promise,
    handler: async (request) => {
      if (request.path === '/slow') {
        started.resolve();
        await wait();
      }
      return { status: 200, headers: ['Content-Type', 'text/plain'], body: `done ${request.path}` };
    },
  };
}

test('answers a request in flight with Connection: close, then resolves close() with forced: false', async (t) => {
  const { handler, started } = slowHandler(() => new Promise((resolve) => setTimeout(resolve, 300)));
  const { port, server } = await startServer(t, { handler });
  const client = await connect(t, port);
  await client.write('GET /slow HTTP/1.1\r\nHost: x\r\n\r\n');
  await started;
  const closing = server.close();
  assert.equal(server.isShuttingDown, true);
  const response = await client.readResponse();
  assertResponse(response, 200, { isClosing: true });
  assert.equal(response.body.toString(), 'done /slow');
  assert.ok(await client.waitForClose());
  assert.deepEqual(await closing, { forced: false });
  assert.equal(server.connectionCount, 0);
});

test('answers every pipelined request already received when shutdown begins; only the last says close', async (t) => {
  const release = deferred();
  const { handler, started } = slowHandler(() => release.promise);
  const { port, server } = await startServer(t, { handler });
  const client = await connect(t, port);
  await client.write('GET /slow HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\nGET /c HTTP/1.1\r\nHost: x\r\n\r\n');
  await started;
  const closing = server.close();
  release.resolve();
  const responses = await client.readResponses(3);
  assert.deepEqual(responses.map((r) => r.body.toString()), ['done /slow', 'done /b', 'done /c']);
  assertResponse(responses[0], 200, { isClosing: false });
  assertResponse(responses[1], 200, { isClosing: false });
  assertResponse(responses[2], 200, { isClosing: true });
  assert.ok(await client.waitForClose());
  assert.deepEqual(await closing, { forced: false });
});

test('refuses new connections once shutdown has begun', async (t) => {
  const release = deferred();
  const { handler, started } = slowHandler(() => release.promise);
  const { port, server } = await startServer(t, { handler });
  const client = await connect(t, port);
  await client.write('GET /slow HTTP/1.1\r\nHost: x\r\n\r\n');
  await started;
  const closing = server.close();
  const refused = await new Promise<string>((resolve) => {
    const socket = net.connect({ port, host: '127.0.0.1' });
    socket.on('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'));
  });
  assert.equal(refused, 'ECONNREFUSED');
  release.resolve();
  assertResponse(await client.readResponse(), 200, { isClosing: true });
  assert.deepEqual(await closing, { forced: false });
});

/** A connection that has had one keep-alive answer and is now idle. */
async function keptAlive(t: TestContext, port: number): Promise<RawClient> {
  const client = await connect(t, port);
  await client.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
  assertResponse(await client.readResponse(), 200, { isClosing: false });
  return client;
}

test('closes idle keep-alive connections at once, not after the keep-alive timeout', async (t) => {
  const { port, server } = await startServer(t, { keepAliveTimeoutMs: 60_000 });
  const idle = await keptAlive(t, port);
  const silent = await connect(t, port); // connected, never sent a byte
  await waitUntil(() => server.connectionCount === 2, 'both connections are accepted');
  const closing = server.close();
  assert.ok(await idle.waitForClose(), 'the idle keep-alive connection is closed');
  assert.ok(await silent.waitForClose(), 'the silent connection is closed');
  assert.deepEqual(await closing, { forced: false });
});

test('a connection idle only a moment at shutdown answers the next request with Connection: close; one idle longer closes at once', async (t) => {
  // A proxy may be sending on a connection it got back a moment ago: closing
  // that one at once would turn its request into a reset.
  const { port, server } = await startServer(t, { keepAliveTimeoutMs: 60_000 });
  const old = await keptAlive(t, port);
  await delay(700);
  const recent = await keptAlive(t, port);
  const closing = server.close();
  // Ordered, not timed: the one idle for 700 ms is closed while the other is still open.
  assert.ok(await old.waitForClose(), 'the connection idle for 700 ms is closed at once');
  assert.equal(recent.isClosedByServer, false, 'the connection idle a moment is still open');
  await recent.write('GET /?second HTTP/1.1\r\nHost: x\r\n\r\n');
  assertResponse(await recent.readResponse(), 200, { isClosing: true });
  assert.ok(await recent.waitForClose());
  assert.deepEqual(await closing, { forced: false });
});

test('a connection idle a moment at shutdown that sends nothing is closed soon after, well before the keep-alive timeout', async (t) => {
  const { port, server } = await startServer(t, { keepAliveTimeoutMs: 60_000 });
  const client = await keptAlive(t, port);
  const closing = server.close();
  assert.ok(await client.waitForClose(5_000));
  assert.deepEqual(await closing, { forced: false });
});

test('finishes a request whose head was arriving when shutdown began; /healthz then says 503', async (t) => {
  const release = deferred();
  const { handler, started } = slowHandler(() => release.promise);
  const { port, server } = await startServer(t, { handler });
  const client = await connect(t, port);
  // The slow request is dispatched; the head behind it is half received.
  await client.write('GET /slow HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HTTP/1.1\r\nHo');
  await started;
  const closing = server.close();
  await client.write('st: x\r\n\r\n');
  release.resolve();
  const [slow, health] = await client.readResponses(2);
  assertResponse(slow, 200);
  assert.equal(slow.body.toString(), 'done /slow');
  assertResponse(health, 503, { isClosing: true });
  assert.equal((JSON.parse(health.body.toString()) as { status: string }).status, 'shutting-down');
  assert.ok(await client.waitForClose());
  assert.deepEqual(await closing, { forced: false });
});

test('destroys a connection whose handler outlives shutdownTimeoutMs and resolves forced: true', async (t) => {
  const { handler, started } = slowHandler(() => new Promise(() => {})); // never settles
  const { port, server } = await startServer(t, { handler, shutdownTimeoutMs: 200 });
  const client = await connect(t, port);
  await client.write('GET /slow HTTP/1.1\r\nHost: x\r\n\r\n');
  await started;
  assert.deepEqual(await server.close(), { forced: true });
  assert.ok(await client.waitForClose());
  assert.equal(client.bytes.length, 0, 'no response was ever written');
});

test('close() called twice returns the same result', async (t) => {
  const { server } = await startServer(t);
  const [first, second] = await Promise.all([server.close(), server.close()]);
  assert.deepEqual(first, { forced: false });
  assert.equal(first, second);
});

test('a server whose listen() fails with EADDRINUSE leaves nothing running that keeps the process alive', async () => {
  const result = await runModule(`
    import net from 'node:net';
    import { createServer } from ${JSON.stringify(INDEX_URL)};
    const blocker = net.createServer();
    await new Promise((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const server = createServer({ port: blocker.address().port, log: (message) => console.error(message) });
    const error = await server.listen().then(() => null, (err) => err);
    blocker.close();
    console.log(error?.code);
  `);
  assert.equal(result.stdout, 'EADDRINUSE\n', `exit code ${String(result.code)}, signal ${String(result.signal)}, stderr: ${result.stderr}`);
  assert.equal(result.stderr, '', 'a failed listen is reported by the rejection only, not logged');
  assert.equal(result.code, 0, 'the process exits by itself: no worker or socket is left behind');
});

// ─── through the CLI ─────────────────────────────────────────────────────────

test('CLI: SIGTERM on an idle server exits 0', async (t) => {
  const cli = await startCli(t, ['--port', '0']);
  cli.child.kill('SIGTERM');
  const result = await cli.exited;
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stderr, /SIGTERM received, shutting down/);
});

test('CLI: SIGINT shuts down the same way', async (t) => {
  const cli = await startCli(t, ['--port', '0']);
  cli.child.kill('SIGINT');
  const result = await cli.exited;
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stderr, /SIGINT received/);
});

/** Sends a head with Expect: 100-continue and waits for the 100: the server is now waiting for the body. */
async function startUpload(t: Parameters<typeof connect>[0], port: number): ReturnType<typeof connect> {
  const client = await connect(t, port);
  await client.write('POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n');
  await client.waitForText('100 Continue\r\n\r\n');
  return client;
}

test('CLI: SIGTERM with a request in flight answers it with Connection: close, then exits 0', async (t) => {
  const cli = await startCli(t, ['--port', '0']);
  const client = await startUpload(t, cli.port);
  cli.child.kill('SIGTERM');
  await waitUntil(() => cli.stderr().includes('shutting down'), 'the CLI begins shutdown');
  await client.write('hello');
  const [, response] = await client.readResponses(2, ['POST']);
  assertResponse(response, 200, { isClosing: true });
  assert.equal(response.body.toString(), 'hello');
  assert.equal(header(response, 'content-type'), 'text/plain');
  const result = await cli.exited;
  assert.equal(result.code, 0, result.stderr);
});

test('CLI: exits 1 when --shutdown-timeout passes with a request still in flight', async (t) => {
  const cli = await startCli(t, ['--port', '0', '--shutdown-timeout', '200ms']);
  await startUpload(t, cli.port); // the body never comes
  cli.child.kill('SIGTERM');
  const result = await cli.exited;
  assert.equal(result.code, 1, result.stderr);
  assert.match(result.stderr, /shutdown timeout passed/);
});

test('CLI: a second signal exits at once', async (t) => {
  const cli = await startCli(t, ['--port', '0', '--shutdown-timeout', '60s']);
  await startUpload(t, cli.port); // keeps graceful shutdown waiting
  cli.child.kill('SIGTERM');
  await waitUntil(() => cli.stderr().includes('shutting down'), 'the CLI begins shutdown');
  cli.child.kill('SIGTERM');
  const result = await cli.exited;
  assert.equal(result.code, 1, result.stderr);
  assert.match(result.stderr, /SIGTERM again, exiting now/);
});
