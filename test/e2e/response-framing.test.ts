// How a response body is delimited (RFC 9112 §6.3): Content-Length for bytes
// and text, chunked for a stream to HTTP/1.1, close-delimited for a stream to
// HTTP/1.0, and no body at all for HEAD, 204 and 304.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { HttpResponse } from '../../src/index.js';
import { assertResponse, connect, delay, header, headerCount, startServer } from '../helpers.js';

test('answers HEAD with the headers GET would get, the same Content-Length, and no body', async (t) => {
  const { port } = await startServer(t);
  const client = await connect(t, port);
  await client.write('HEAD / HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n');
  const [head, get] = await client.readResponses(2, ['HEAD', 'GET']);
  assertResponse(head, 200, { isClosing: false });
  assertResponse(get, 200);
  const withoutDate = (headers: Array<[string, string]>): Array<[string, string]> => headers.filter(([name]) => name !== 'date' && name !== 'x-request-id');
  assert.deepEqual(withoutDate(head.headers), withoutDate(get.headers));
  assert.equal(header(head, 'content-length'), String(get.body.length));
  assert.equal(head.body.length, 0);
  // The GET parsed cleanly right after the HEAD head: no body bytes were sent for HEAD.
  assert.match(get.body.toString(), /Hello, world!/);
});

test('answers HEAD for a missing page with the 404 headers and no body', async (t) => {
  const { port } = await startServer(t);
  const client = await connect(t, port);
  await client.write('HEAD /missing HTTP/1.1\r\nHost: x\r\n\r\nGET /missing HTTP/1.1\r\nHost: x\r\n\r\n');
  const [head, get] = await client.readResponses(2, ['HEAD', 'GET']);
  assertResponse(head, 404);
  assert.equal(header(head, 'content-length'), header(get, 'content-length'));
  assert.equal(head.body.length, 0);
});

async function* helloStream(): AsyncIterable<Uint8Array> {
  yield Buffer.from('hello, ');
  await delay(10);
  yield new Uint8Array(0); // empty chunks are skipped: a 0-size chunk would end the body early
  yield Buffer.from('streaming ');
  await delay(10);
  yield Buffer.from('world');
}

const streamingHandler = (): HttpResponse => ({ status: 200, headers: ['Content-Type', 'text/plain'], body: helloStream() });

test('sends an async-iterable body chunked to an HTTP/1.1 client and keeps the connection', async (t) => {
  const { port } = await startServer(t, { handler: streamingHandler });
  const client = await connect(t, port);
  await client.write('GET /stream HTTP/1.1\r\nHost: x\r\n\r\n');
  const response = await client.readResponse();
  assertResponse(response, 200, { isClosing: false });
  assert.equal(response.framing, 'chunked');
  assert.equal(header(response, 'transfer-encoding'), 'chunked');
  assert.equal(header(response, 'content-length'), undefined);
  assert.equal(response.body.toString(), 'hello, streaming world');
  await client.write('GET /again HTTP/1.1\r\nHost: x\r\n\r\n');
  assert.equal((await client.readResponse()).body.toString(), 'hello, streaming world');
});

test('sends an async-iterable body to an HTTP/1.0 client delimited by closing the connection', async (t) => {
  const { port } = await startServer(t, { handler: streamingHandler });
  const client = await connect(t, port);
  await client.write('GET /stream HTTP/1.0\r\n\r\n');
  assert.ok(await client.waitForClose());
  const response = await client.readResponse();
  assertResponse(response, 200, { isClosing: true });
  assert.equal(response.framing, 'close');
  assert.equal(header(response, 'transfer-encoding'), undefined, 'RFC 9112 §6.1: no chunked to an HTTP/1.0 client');
  assert.equal(header(response, 'content-length'), undefined);
  assert.equal(response.body.toString(), 'hello, streaming world');
});

test('closes after a streamed body even when the HTTP/1.0 client asked for keep-alive', async (t) => {
  const { port } = await startServer(t, { handler: streamingHandler });
  const client = await connect(t, port);
  await client.write('GET /stream HTTP/1.0\r\nConnection: keep-alive\r\n\r\n');
  assert.ok(await client.waitForClose());
  const response = await client.readResponse();
  assertResponse(response, 200, { isClosing: true });
  assert.equal(response.body.toString(), 'hello, streaming world');
});

test('answers pipelined requests in order when the first streams its body', async (t) => {
  const { port } = await startServer(t, {
    handler: (request) => (request.path === '/stream' ? streamingHandler() : { status: 200, headers: [], body: 'plain' }),
  });
  const client = await connect(t, port);
  await client.write('GET /stream HTTP/1.1\r\nHost: x\r\n\r\nGET /plain HTTP/1.1\r\nHost: x\r\n\r\n');
  const [streamed, plain] = await client.readResponses(2);
  assert.equal(streamed.body.toString(), 'hello, streaming world');
  assert.equal(plain.body.toString(), 'plain');
});

test('sends no body for 204 and 304 even when the handler gives one', async (t) => {
  const { port } = await startServer(t, {
    handler: (request) => ({ status: request.path === '/204' ? 204 : 304, headers: ['ETag', '"v1"'], body: 'must not be sent' }),
  });
  const client = await connect(t, port);
  await client.write('GET /204 HTTP/1.1\r\nHost: x\r\n\r\nGET /304 HTTP/1.1\r\nHost: x\r\n\r\nGET /204 HTTP/1.1\r\nHost: x\r\n\r\n');
  const responses = await client.readResponses(3);
  assert.deepEqual(responses.map((r) => r.status), [204, 304, 204]);
  assert.equal(header(responses[0], 'content-length'), undefined);
  assert.doesNotMatch(client.text, /must not be sent/);
});

test('sets the framing headers itself and drops those a handler gives', async (t) => {
  const { port } = await startServer(t, {
    handler: () => ({
      status: 200,
      headers: ['Content-Length', '999', 'Transfer-Encoding', 'chunked', 'Connection', 'close', 'X-Kept', 'yes'],
      body: 'four',
    }),
  });
  const client = await connect(t, port);
  await client.write('GET / HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n');
  const [first, second] = await client.readResponses(2);
  assertResponse(first, 200, { isClosing: false });
  assert.equal(headerCount(first, 'content-length'), 1);
  assert.equal(header(first, 'content-length'), '4');
  assert.equal(header(first, 'transfer-encoding'), undefined);
  assert.equal(header(first, 'x-kept'), 'yes');
  assert.equal(second.body.toString(), 'four');
});

test("keeps a handler's own Date header and adds no second one", async (t) => {
  const date = 'Tue, 01 Jan 2030 00:00:00 GMT';
  const { port } = await startServer(t, { handler: () => ({ status: 200, headers: ['Date', date], body: 'dated' }) });
  const client = await connect(t, port);
  await client.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
  const response = await client.readResponse();
  assertResponse(response, 200);
  assert.equal(header(response, 'date'), date);
});
