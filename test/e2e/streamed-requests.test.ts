// Request bodies streamed to the worker threads: the application starts when
// the head is in and reads the body as it arrives; a slow reader slows the
// client through TCP; 100 (Continue) goes out when the application first
// reads; --max-body, a client that leaves, and an unread body each end the
// body the way they should.
import assert from 'node:assert/strict';
import net from 'node:net';
import { test, type TestContext } from 'node:test';
import { PATIENCE_MS, assertResponse, connect, delay, header, startServer, type TestServer } from '../helpers.js';
import { fixtureUrl } from '../pool-helpers.js';

const UPLOAD_APP = fixtureUrl('upload-app.js').href;

function startUploadServer(t: TestContext, options: { maxBodyBytes?: number } = {}): Promise<TestServer> {
  return startServer(t, { app: UPLOAD_APP, threads: 1, ...options });
}

interface State { holdBytes: number; lateBytes: number; readErrors: string[] }

async function stateOf(url: string): Promise<State> {
  return (await (await fetch(`${url}/state`)).json()) as State;
}

/** The app's state once a body read has failed, or after PATIENCE_MS without one. */
async function stateOnceReadFailed(url: string): Promise<State> {
  const started = performance.now();
  let state = await stateOf(url);
  while (state.readErrors.length === 0 && performance.now() - started < PATIENCE_MS) {
    await delay(20);
    state = await stateOf(url);
  }
  return state;
}

test('the application sees the first chunk of a body before the client has sent the rest', async (t) => {
  const { port } = await startUploadServer(t);
  const client = await connect(t, port);
  await client.write('POST /first HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nhello');
  const response = await client.readResponse('POST');
  assert.equal(response.body.toString(), 'first hello');
  assert.equal(header(response, 'connection'), 'close', 'the rest of the body is not read: the connection closes after the answer');
});

test('text(), json(), formData(), blob() and a chunk-by-chunk read work on a body that arrives in pieces', async (t) => {
  const { port } = await startUploadServer(t);
  const cases: [string, string, string, string][] = [
    ['/count', 'application/octet-stream', 'x'.repeat(300_000), '300000 bytes'],
    ['/text', 'text/plain', 'y'.repeat(100_000), 'text 100000'],
    ['/json', 'application/json', JSON.stringify({ a: [1, 2, 3] }), '{"a":[1,2,3]}'],
    ['/form', 'application/x-www-form-urlencoded', 'one=1&two=2', 'form one,two'],
    ['/blob', 'application/octet-stream', 'z'.repeat(70_000), 'blob 70000'],
  ];
  for (const [path, type, body, expected] of cases) {
    for (const framing of ['length', 'chunked'] as const) {
      const client = await connect(t, port);
      const head = framing === 'length' ? `Content-Length: ${Buffer.byteLength(body)}` : 'Transfer-Encoding: chunked';
      await client.write(`POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: ${type}\r\n${head}\r\n\r\n`);
      const half = Math.floor(body.length / 2);
      const pieces = [body.slice(0, half), body.slice(half)];
      for (const piece of pieces) {
        await delay(20); // the head has gone to the application alone
        await client.write(framing === 'length' ? piece : `${Buffer.byteLength(piece).toString(16)}\r\n${piece}\r\n`);
      }
      if (framing === 'chunked') await client.write('0\r\n\r\n');
      const response = await client.readResponse('POST');
      assert.equal(response.body.toString(), expected, `${path} ${framing}`);
      client.destroy();
    }
  }
});

test('Expect: 100-continue: the 100 goes out when the application reads the body, and not when it answers without reading', async (t) => {
  const { port } = await startUploadServer(t);
  const reader = await connect(t, port);
  await reader.write('POST /count HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n');
  await reader.waitForText('HTTP/1.1 100 Continue\r\n\r\n');
  await reader.write('12345');
  await reader.waitForText('5 bytes');
  assert.ok(reader.text.startsWith('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n'));
  const ignorer = await connect(t, port);
  await ignorer.write('POST /ignore HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n');
  const response = await ignorer.readResponse('POST');
  assertResponse(response, 200, { isClosing: true });
  assert.equal(response.body.toString(), 'ignored');
  assert.ok(!ignorer.text.includes('100 Continue'), 'no 100 for a body nobody reads');
  assert.ok(await ignorer.waitForClose(), 'the connection is closed rather than left waiting for a body');
});

test('Expect: 100-continue: no 100 goes out after the final response when the application reads the body only then; the body is not read, and the connection closes', async (t) => {
  const { port, url } = await startUploadServer(t);
  const client = await connect(t, port);
  await client.write('POST /late HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n');
  const response = await client.readResponse('POST');
  assertResponse(response, 200);
  assert.equal(response.body.toString(), 'answered first\n');
  // The response was whole before anyone asked for the body: a 100 now would
  // be read as the start of the next response, so none is sent, and the
  // connection closes rather than read a body nobody wanted (RFC 9112 §9.6).
  assert.ok(await client.waitForClose(), 'the connection is closed');
  assert.ok(!client.text.includes('100 Continue'), `no interim response after the final one: ${JSON.stringify(client.text)}`);
  const state = await stateOnceReadFailed(url);
  assert.equal(state.lateBytes, 0);
  assert.equal(state.readErrors.length, 1);
  assert.match(state.readErrors[0], /the response was sent before the request body was read/);
});

test('an application that reads slowly stops the socket being read: TCP pushes back on the client', async (t) => {
  const { port, url } = await startUploadServer(t, { maxBodyBytes: 2 * 1024 ** 3 });
  const socket = net.connect({ port, host: '127.0.0.1' });
  t.after(() => socket.destroy());
  socket.on('error', () => {});
  await new Promise<void>((resolve) => socket.once('connect', resolve));
  const total = 1024 ** 3;
  socket.write(`POST /hold HTTP/1.1\r\nHost: x\r\nContent-Length: ${total}\r\n\r\n`);
  const block = Buffer.alloc(1024 * 1024, 0x61);
  let written = 0;
  // Write until the socket has a lot queued that the server does not take.
  while (written < total && socket.writableLength < 32 * 1024 * 1024) {
    socket.write(block);
    written += block.byteLength;
    if (socket.writableNeedDrain) await delay(5);
  }
  await delay(500);
  const queued = socket.writableLength;
  const state = await stateOf(url);
  assert.ok(state.holdBytes > 0, 'the application read its first chunk');
  const taken = written - queued;
  assert.ok(taken < 64 * 1024 * 1024, `the server took only ${(taken / 1048576).toFixed(1)} MiB of ${(written / 1048576).toFixed(0)} MiB written`);
  assert.ok(queued > 0, 'the rest waits on the client side');
  t.diagnostic(`server took ${(taken / 1048576).toFixed(1)} MiB while the application read ${state.holdBytes} bytes`);
  socket.destroy();
});

test('a client that aborts an upload midway makes the application\'s body read reject', async (t) => {
  const { port, url } = await startUploadServer(t);
  const client = await connect(t, port);
  await client.write('POST /count HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n' + 'a'.repeat(1000));
  await delay(100);
  client.socket.resetAndDestroy();
  const state = await stateOnceReadFailed(url);
  assert.equal(state.readErrors.length, 1, 'the read rejected');
});

test('--max-body midway through a chunked body: 413 if nothing was sent yet, and the application\'s read rejects', async (t) => {
  const { port, url } = await startUploadServer(t, { maxBodyBytes: 10_000 });
  const client = await connect(t, port);
  await client.write('POST /count HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n');
  await delay(50);
  await client.write(`1388\r\n${'a'.repeat(5000)}\r\n`);
  await delay(50);
  await client.write(`1770\r\n${'a'.repeat(6000)}\r\n`);
  const response = await client.readResponse('POST');
  assertResponse(response, 413, { isClosing: true });
  const state = await stateOnceReadFailed(url);
  assert.equal(state.readErrors.length, 1, 'the application\'s read rejected');
});

test('a pipelined request behind a streamed body is answered after it', async (t) => {
  const { port } = await startUploadServer(t);
  const client = await connect(t, port);
  await client.write('POST /count HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n12345');
  await delay(50);
  await client.write('67890POST /count HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc');
  const [first, second] = await client.readResponses(2, ['POST', 'POST']);
  assert.equal(first.body.toString(), '10 bytes');
  assert.equal(second.body.toString(), '3 bytes');
});

test('the body timeout midway through a streamed body: 408, and the application\'s read rejects', async (t) => {
  const { port, url } = await startServer(t, { app: UPLOAD_APP, threads: 1, bodyTimeoutMs: 300 });
  const client = await connect(t, port);
  await client.write('POST /count HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nhalf');
  const response = await client.readResponse('POST');
  assertResponse(response, 408, { isClosing: true });
  const state = await stateOnceReadFailed(url);
  assert.equal(state.readErrors.length, 1);
});

test('an upload that keeps arriving outlives --job-timeout; one the application stops reading does not', async (t) => {
  const { port } = await startServer(t, { app: UPLOAD_APP, threads: 1, jobTimeoutMs: 300 });
  const client = await connect(t, port);
  await client.write('POST /count HTTP/1.1\r\nHost: x\r\nContent-Length: 8\r\n\r\n');
  for (const piece of ['ab', 'cd', 'ef', 'gh']) {
    await delay(200);
    await client.write(piece);
  }
  assert.equal((await client.readResponse('POST')).body.toString(), '8 bytes', 'answered after 800 ms, past the 300 ms job timeout');
  const holder = await connect(t, port);
  await holder.write('POST /hold HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nfirst');
  assertResponse(await holder.readResponse('POST'), 504, { isClosing: true });
});
