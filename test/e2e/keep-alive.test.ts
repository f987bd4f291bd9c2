// Persistence and close (RFC 9112 §9.3, §9.6): HTTP/1.1 persists unless a
// side says close; HTTP/1.0 closes unless the client asks for keep-alive; an
// idle connection is closed after the keep-alive timeout.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assertResponse, connect, delay, header, startServer } from '../helpers.js';

test('keeps an HTTP/1.1 connection open by default and answers the next request on it', async (t) => {
  const { port, server } = await startServer(t);
  const client = await connect(t, port);
  for (let i = 0; i < 3; i++) {
    await client.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    const response = await client.readResponse();
    assertResponse(response, 200, { isClosing: false });
    assert.equal(header(response, 'connection'), undefined, 'HTTP/1.1 persistence needs no header');
  }
  assert.equal(client.isClosedByServer, false);
  assert.equal(server.connectionCount, 1, 'all three requests used one connection');
});

test('answers Connection: close with Connection: close and closes the connection', async (t) => {
  const { port } = await startServer(t);
  const client = await connect(t, port);
  await client.write('GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  const response = await client.readResponse();
  assertResponse(response, 200, { isClosing: true });
  assert.ok(await client.waitForClose());
});

test('does not read requests pipelined behind a Connection: close request', async (t) => {
  const { port } = await startServer(t);
  const client = await connect(t, port);
  await client.write('GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
  assertResponse(await client.readResponse(), 200, { isClosing: true });
  assert.ok(await client.waitForClose());
  assert.doesNotMatch(client.text, /"status"/, 'the second request must not be answered');
});

test('closes an HTTP/1.0 connection after the response by default', async (t) => {
  const { port } = await startServer(t);
  const client = await connect(t, port);
  await client.write('GET / HTTP/1.0\r\n\r\n');
  const response = await client.readResponse();
  assertResponse(response, 200, { isClosing: true });
  assert.ok(await client.waitForClose());
});

test('keeps an HTTP/1.0 connection open with Connection: keep-alive, and says so', async (t) => {
  const { port } = await startServer(t);
  const client = await connect(t, port);
  await client.write('GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n');
  const first = await client.readResponse();
  assertResponse(first, 200);
  assert.equal(header(first, 'connection'), 'keep-alive');
  await client.write('GET /healthz HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n');
  const second = await client.readResponse();
  assertResponse(second, 200);
  assert.equal(header(second, 'connection'), 'keep-alive');
  await client.write('GET / HTTP/1.0\r\n\r\n');
  assertResponse(await client.readResponse(), 200, { isClosing: true });
  assert.ok(await client.waitForClose());
});

test('closes an idle keep-alive connection after the keep-alive timeout, without a response', async (t) => {
  const { port } = await startServer(t, { keepAliveTimeoutMs: 200 });
  const client = await connect(t, port);
  await client.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
  assertResponse(await client.readResponse(), 200, { isClosing: false });
  const received = client.bytes.length;
  assert.ok(await client.waitForClose(), 'the idle connection must be closed');
  assert.equal(client.bytes.length, received, 'an idle close sends no 408');
});

test('restarts the keep-alive timeout after each response', async (t) => {
  const { port } = await startServer(t, { keepAliveTimeoutMs: 1500 });
  const client = await connect(t, port);
  // Five requests 400 ms apart span longer than one timeout; none may find
  // the connection closed. The margin of each pause (1.1 s) is what a busy
  // machine may add to it.
  for (let i = 0; i < 5; i++) {
    await client.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    assertResponse(await client.readResponse(), 200, { isClosing: false });
    await delay(400);
  }
  assert.equal(client.isClosedByServer, false);
});
