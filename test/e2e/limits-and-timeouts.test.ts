// Every bound on a request, crossed over a raw socket: the head's time (408),
// the body's progress (408), the body's size (413), the request line (414)
// and the header section (431). Each answer is canned, says Connection:
// close, and the connection ends. Timeouts that must pass are configured
// short so the tests stay fast, but a second where the client must get its
// first bytes in before it (the header timer runs from the accept); timeouts
// that must not pass leave a second or more of margin; assertions wait
// generously.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assertResponse, connect, delay, exchange, startServer, waitUntil } from '../helpers.js';

test('answers 408 and closes when a partial head is not completed within the header timeout', async (t) => {
  const { port } = await startServer(t, { headerTimeoutMs: 1000 });
  const client = await connect(t, port);
  await client.write('GET / HTTP/1.1\r\nHost: x\r\n');
  const response = await client.readResponse();
  assertResponse(response, 408, { isClosing: true });
  assert.equal(response.body.toString(), '408 Request Timeout\n');
  assert.ok(await client.waitForClose());
});

test('answers 408 to a head trickled byte by byte: progress does not extend the header timeout', async (t) => {
  const { port } = await startServer(t, { headerTimeoutMs: 1000 });
  const client = await connect(t, port);
  const head = 'GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ' + 'a'.repeat(200) + '\r\n\r\n';
  for (const byte of head) {
    if (client.isClosedByServer) break;
    await client.write(byte).catch(() => {});
    await delay(20);
  }
  const response = await client.readResponse();
  assertResponse(response, 408, { isClosing: true });
  assert.ok(await client.waitForClose());
});

test('applies the header timeout to the next request on a keep-alive connection too', async (t) => {
  const { port } = await startServer(t, { headerTimeoutMs: 1000, keepAliveTimeoutMs: 60_000 });
  const client = await connect(t, port);
  await client.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
  assertResponse(await client.readResponse(), 200, { isClosing: false });
  await client.write('GET / HTTP/1.1\r\nHost: x\r\n');
  assertResponse(await client.readResponse(), 408, { isClosing: true });
  assert.ok(await client.waitForClose());
});

test('closes a connection that sends nothing within the header timeout, without a response', async (t) => {
  const { port } = await startServer(t, { headerTimeoutMs: 200 });
  const client = await connect(t, port);
  assert.ok(await client.waitForClose());
  assert.equal(client.bytes.length, 0, 'nginx-style: a silent client gets no 408');
});

test('answers 408 and closes when a body stalls past the body timeout', async (t) => {
  const { port } = await startServer(t, { bodyTimeoutMs: 300 });
  const client = await connect(t, port);
  await client.write('POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc');
  const response = await client.readResponse();
  assertResponse(response, 408, { isClosing: true });
  assert.ok(await client.waitForClose());
});

test('answers 408 when a chunked body stalls past the body timeout', async (t) => {
  const { port } = await startServer(t, { bodyTimeoutMs: 300 });
  const client = await connect(t, port);
  await client.write('POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n');
  assertResponse(await client.readResponse(), 408, { isClosing: true });
  assert.ok(await client.waitForClose());
});

test('keeps reading a body that makes steady progress, even past the body timeout in total', async (t) => {
  // A byte every 250 ms for 2 s against a 1.5 s timeout: each pause keeps
  // 1.25 s of margin for a busy machine, the whole body outlasts the timeout.
  const { port } = await startServer(t, { bodyTimeoutMs: 1500 });
  const client = await connect(t, port);
  await client.write('POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 8\r\n\r\n');
  for (const byte of 'abcdefgh') {
    await delay(250);
    await client.write(byte);
  }
  const response = await client.readResponse();
  assertResponse(response, 200, { isClosing: false });
  assert.equal(response.body.toString(), 'abcdefgh');
});

test('answers 413 from Content-Length alone, before any body byte is sent, and closes', async (t) => {
  let calls = 0;
  const { port } = await startServer(t, {
    maxBodyBytes: 100,
    handler: () => {
      calls++;
      return { status: 200, headers: [], body: 'handled' };
    },
  });
  const client = await connect(t, port);
  await client.write('POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 101\r\n\r\n');
  const response = await client.readResponse();
  assertResponse(response, 413, { isClosing: true });
  assert.equal(response.body.toString(), '413 Payload Too Large\n');
  assert.ok(await client.waitForClose());
  assert.equal(calls, 0, 'the handler never sees a request over the limit');
});

test('delivers the 413 intact while the client goes on sending the body it announced', async (t) => {
  const { port } = await startServer(t, { maxBodyBytes: 1024 });
  const body = Buffer.alloc(2 * 1024 * 1024, 0x61);
  const result = await exchange(t, port, [Buffer.from('POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2097152\r\n\r\n'), body]);
  assert.equal(result.responses.length, 1, result.text.slice(0, 300));
  assertResponse(result.responses[0], 413, { isClosing: true });
  assert.ok(result.isClosed);
});

test('accepts a body of exactly the limit', async (t) => {
  const { port } = await startServer(t, { maxBodyBytes: 100 });
  const client = await connect(t, port);
  const body = 'b'.repeat(100);
  await client.write(`POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n${body}`);
  const response = await client.readResponse();
  assertResponse(response, 200);
  assert.equal(response.body.toString(), body);
});

test('answers 413 and closes when a chunked body grows past the limit', async (t) => {
  const { port } = await startServer(t, { maxBodyBytes: 100 });
  const chunk = (data: string): string => `${data.length.toString(16)}\r\n${data}\r\n`;
  const result = await exchange(t, port, [
    'POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n',
    chunk('a'.repeat(60)),
    chunk('b'.repeat(60)),
    '0\r\n\r\n',
  ], { pauseMs: 20 });
  assert.equal(result.responses.length, 1, result.text);
  assertResponse(result.responses[0], 413, { isClosing: true });
  assert.ok(result.isClosed);
});

test('answers 414 and closes when the request line exceeds 8 KiB (the default)', async (t) => {
  const { port } = await startServer(t);
  const result = await exchange(t, port, `GET /${'a'.repeat(9000)} HTTP/1.1\r\nHost: x\r\n\r\n`);
  assert.equal(result.responses.length, 1, result.text.slice(0, 200));
  assertResponse(result.responses[0], 414, { isClosing: true });
  assert.ok(result.isClosed);
});

test('answers 414 to a request line over a configured maxRequestLineBytes, before it ends', async (t) => {
  const { port } = await startServer(t, { maxRequestLineBytes: 64 });
  const client = await connect(t, port);
  await client.write(`GET /${'a'.repeat(100)}`); // no line end yet
  assertResponse(await client.readResponse(), 414, { isClosing: true });
  assert.ok(await client.waitForClose());
});

test('answers 431 and closes when the header section exceeds 16 KiB (the default)', async (t) => {
  const { port } = await startServer(t);
  const result = await exchange(t, port, `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(17 * 1024)}\r\n\r\n`);
  assert.equal(result.responses.length, 1, result.text.slice(0, 200));
  assertResponse(result.responses[0], 431, { isClosing: true });
  assert.equal(result.responses[0].body.toString(), '431 Request Header Fields Too Large\n');
  assert.ok(result.isClosed);
});

test('answers 431 and closes when a request has more header fields than maxHeaderCount', async (t) => {
  const { port } = await startServer(t, { maxHeaderCount: 5 });
  const fields = (n: number): string => Array.from({ length: n }, (_, i) => `X-Field-${i}: ${i}\r\n`).join('');
  const ok = await connect(t, port);
  await ok.write(`GET / HTTP/1.1\r\nHost: x\r\n${fields(4)}\r\n`);
  assertResponse(await ok.readResponse(), 200); // Host + 4 = 5: at the limit

  const result = await exchange(t, port, `GET / HTTP/1.1\r\nHost: x\r\n${fields(5)}\r\n`);
  assert.equal(result.responses.length, 1, result.text);
  assertResponse(result.responses[0], 431, { isClosing: true });
  assert.ok(result.isClosed);
});

test('cuts a connection whose client stops reading for sendTimeoutMs', async (t) => {
  const big = Buffer.alloc(64 * 1024 * 1024, 0x62);
  const { port, server } = await startServer(t, { sendTimeoutMs: 300, handler: () => ({ status: 200, headers: [], body: big }) });
  const client = await connect(t, port);
  client.socket.pause(); // never read: the server's writes stop making progress
  await client.write('GET /big HTTP/1.1\r\nHost: x\r\n\r\n');
  await waitUntil(() => server.connectionCount === 0, 'the server gives up on the connection');
});
