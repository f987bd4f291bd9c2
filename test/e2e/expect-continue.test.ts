// Expect: 100-continue (RFC 9110 §10.1.1): the server says 100 Continue
// before the client sends the body, or gives its final answer at once when
// the head already decides it, and then does not read the body.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assertResponse, connect, deferred, delay, header, startServer } from '../helpers.js';

test('sends 100 Continue before the body, then the final 200', async (t) => {
  const { port } = await startServer(t);
  const client = await connect(t, port);
  await client.write('POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 11\r\nExpect: 100-continue\r\n\r\n');
  await client.waitForText('\r\n\r\n');
  assert.equal(client.text, 'HTTP/1.1 100 Continue\r\n\r\n', 'only the interim response before the body');
  await client.write('hello world');
  const [interim, final] = await client.readResponses(2, ['POST']);
  assert.equal(interim.status, 100);
  assertResponse(final, 200, { isClosing: false });
  assert.equal(header(final, 'content-type'), 'text/plain');
  assert.equal(final.body.toString(), 'hello world');
});

test('sends 100 Continue for a chunked body too', async (t) => {
  const { port } = await startServer(t);
  const client = await connect(t, port);
  await client.write('POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n');
  await client.waitForText('HTTP/1.1 100 Continue\r\n\r\n');
  await client.write('5\r\nhello\r\n0\r\n\r\n');
  const [interim, final] = await client.readResponses(2);
  assert.equal(interim.status, 100);
  assertResponse(final, 200);
  assert.equal(final.body.toString(), 'hello');
});

test('answers 413 without 100 Continue when Content-Length is over the limit, and closes without reading the body', async (t) => {
  let calls = 0;
  const { port } = await startServer(t, {
    maxBodyBytes: 10,
    handler: () => {
      calls++;
      return { status: 200, headers: [], body: null };
    },
  });
  const client = await connect(t, port);
  await client.write('POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\nExpect: 100-continue\r\n\r\n');
  const response = await client.readResponse();
  assertResponse(response, 413, { isClosing: true });
  assert.ok(await client.waitForClose(), 'the server closes instead of waiting for the body');
  assert.doesNotMatch(client.text, /100 Continue/);
  assert.equal(calls, 0);
});

test('sends no 100 Continue when the body came with the head', async (t) => {
  const { port } = await startServer(t);
  const client = await connect(t, port);
  await client.write('POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\nhi');
  const response = await client.readResponse();
  assertResponse(response, 200);
  assert.equal(response.body.toString(), 'hi');
  // A 100 would have come before the 200: everything it could be is in.
  assert.doesNotMatch(client.text, /100 Continue/);
});

test('ignores Expect in an HTTP/1.0 request (RFC 9110 §10.1.1)', async (t) => {
  const { port } = await startServer(t);
  const client = await connect(t, port);
  await client.write('POST /echo HTTP/1.0\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n');
  await delay(50);
  assert.equal(client.bytes.length, 0, 'no 100 Continue to an HTTP/1.0 client');
  await client.write('hi');
  const response = await client.readResponse();
  assertResponse(response, 200, { isClosing: true });
  assert.equal(response.body.toString(), 'hi');
});

test('sends 100 Continue once the earlier pipelined responses are written, so the client is not left waiting', async (t) => {
  const release = deferred();
  const started = deferred();
  const { port } = await startServer(t, {
    handler: async (request) => {
      if (request.path === '/slow') {
        started.resolve();
        await release.promise;
      }
      return { status: 200, headers: [], body: request.path === '/slow' ? 'slow' : request.body };
    },
  });
  const client = await connect(t, port);
  await client.write('GET /slow HTTP/1.1\r\nHost: x\r\n\r\nPOST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n');
  await started.promise;
  release.resolve();
  const [slow] = await client.readResponses(1);
  assert.equal(slow.body.toString(), 'slow');
  // RFC 9110 §10.1.1: the server must not wait for the content before sending 100.
  await client.waitForText('HTTP/1.1 100 Continue\r\n\r\n');
  await client.write('hello');
  const [interim, echo] = await client.readResponses(2);
  assert.equal(interim.status, 100);
  assertResponse(echo, 200);
  assert.equal(echo.body.toString(), 'hello');
});

test('a 100 Continue owed while an earlier response streams waits for that body to end, never lands inside it', async (t) => {
  const { port } = await startServer(t, {
    handler: (request) => {
      if (request.path !== '/stream') return { status: 200, headers: [], body: request.body };
      async function* chunks(): AsyncGenerator<Uint8Array> {
        for (let i = 0; i < 5; i++) {
          await delay(30);
          yield Buffer.from(`chunk ${i}\n`);
        }
      }
      return { status: 200, headers: ['Content-Type', 'text/plain'], body: chunks() };
    },
  });
  const client = await connect(t, port);
  await client.write('GET /stream HTTP/1.1\r\nHost: x\r\n\r\nPOST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n');
  await client.waitForText('HTTP/1.1 100 Continue\r\n\r\n');
  await client.write('hello');
  const [streamed, interim, echo] = await client.readResponses(3, ['GET', 'POST']);
  assert.equal(streamed.body.toString(), 'chunk 0\nchunk 1\nchunk 2\nchunk 3\nchunk 4\n');
  assert.equal(interim.status, 100);
  assertResponse(echo, 200);
  assert.equal(echo.body.toString(), 'hello');
});
