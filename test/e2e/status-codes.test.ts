// Every status the engine produces on its own, over a raw socket: the demo
// routes (200, 204, 404, 405, 501) and the canned answers to requests that
// cannot be served (400, 417, 501, 505). Limits and timeouts (408, 413, 414,
// 431) are in limits-and-timeouts.test.ts. A framing error ends the
// connection: the answer says Connection: close, and nothing after the bad
// bytes is read.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HELLO_PAGE } from '../../src/demo/pages.js';
import type { HttpResponse } from '../../src/index.js';
import { assertResponse, connect, exchange, header, startServer } from '../helpers.js';

const GET_ROOT = 'GET / HTTP/1.1\r\nHost: example.com\r\n\r\n';

test('answers 200 with the hello page for GET /', async (t) => {
  const { port } = await startServer(t);
  const client = await connect(t, port);
  await client.write(GET_ROOT);
  const response = await client.readResponse();
  assertResponse(response, 200, { isClosing: false });
  assert.equal(response.reason, 'OK');
  assert.equal(header(response, 'content-type'), 'text/html; charset=utf-8');
  assert.equal(header(response, 'content-length'), String(Buffer.byteLength(HELLO_PAGE)));
  assert.equal(response.body.toString('utf8'), HELLO_PAGE);
});

test('answers 200 with JSON for GET /healthz', async (t) => {
  const { port } = await startServer(t);
  const client = await connect(t, port);
  await client.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
  const response = await client.readResponse();
  assertResponse(response, 200);
  assert.equal(header(response, 'content-type'), 'application/json');
  assert.equal(header(response, 'cache-control'), 'no-store');
  assert.equal((JSON.parse(response.body.toString('utf8')) as { status: string }).status, 'ok');
});

test('answers 204 with Allow and no body for OPTIONS *, and keeps the connection', async (t) => {
  const { port } = await startServer(t);
  const client = await connect(t, port);
  await client.write('OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n' + GET_ROOT);
  const [options, get] = await client.readResponses(2, ['OPTIONS', 'GET']);
  assertResponse(options, 204, { isClosing: false });
  assert.equal(header(options, 'allow'), 'GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS');
  assert.equal(header(options, 'content-length'), undefined, 'RFC 9110 §8.6: no Content-Length in a 204');
  assert.equal(options.body.length, 0);
  // Had the 204 carried a body, the next response would not parse as 200.
  assertResponse(get, 200);
});

test('answers 404 with an HTML page for an unknown path', async (t) => {
  const { port } = await startServer(t);
  const client = await connect(t, port);
  await client.write('GET /no/such/page?x=1 HTTP/1.1\r\nHost: x\r\n\r\n');
  const response = await client.readResponse();
  assertResponse(response, 404, { isClosing: false });
  assert.equal(header(response, 'content-type'), 'text/html; charset=utf-8');
  assert.match(response.body.toString('utf8'), /404 Not Found/);
});

test('answers 405 with Allow for a method / does not support', async (t) => {
  const { port } = await startServer(t);
  const client = await connect(t, port);
  await client.write('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi' + 'DELETE /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
  const [root, health] = await client.readResponses(2);
  assertResponse(root, 405, { isClosing: false });
  assert.equal(header(root, 'allow'), 'GET, HEAD');
  assertResponse(health, 405);
  assert.equal(header(health, 'allow'), 'GET, HEAD');
});

test('answers 501 with Allow to a method no registry knows (RFC 9110 §9.1), 405 to a known one', async (t) => {
  const { port } = await startServer(t);
  const client = await connect(t, port);
  await client.write('BREW / HTTP/1.1\r\nHost: x\r\n\r\nPROPFIND / HTTP/1.1\r\nHost: x\r\n\r\nBREW /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
  const [brew, propfind, health] = await client.readResponses(3);
  assertResponse(brew, 501, { isClosing: false });
  assert.equal(header(brew, 'allow'), 'GET, HEAD');
  assertResponse(propfind, 405, { isClosing: false });
  assertResponse(health, 501, { isClosing: false });
});

test('answers 501 to CONNECT: Spindle is not a tunnel', async (t) => {
  const { port } = await startServer(t);
  const client = await connect(t, port);
  await client.write('CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n');
  const response = await client.readResponse();
  assertResponse(response, 501);
  assert.match(response.body.toString('utf8'), /501 Not Implemented/);
});

test('routes an absolute-form target by its path, its authority overriding Host', async (t) => {
  const { port } = await startServer(t, { handler: (request) => ({ status: 200, headers: [], body: `${request.authority} ${request.path}` }) });
  const client = await connect(t, port);
  await client.write('GET http://example.com:8080/echo?x=1 HTTP/1.1\r\nHost: other.example\r\n\r\n');
  const response = await client.readResponse();
  assertResponse(response, 200);
  assert.equal(response.body.toString(), 'example.com:8080 /echo?x=1');
});

test('answers an HTTP/1.2 request as HTTP/1.1 (RFC 9110 §6.2)', async (t) => {
  const { port } = await startServer(t);
  const client = await connect(t, port);
  await client.write('GET / HTTP/1.2\r\nHost: x\r\n\r\n');
  assertResponse(await client.readResponse(), 200, { isClosing: false });
});

/** A valid request sent right behind the bad one: it must never be answered. */
const FOLLOW_UP = 'GET /follow-up HTTP/1.1\r\nHost: x\r\n\r\n';

/**
 * The engine answers these from the bytes alone; an inline handler that
 * counts its calls shows no request (not even the follow-up) reached it.
 */
function countingHandler(): { handler: () => HttpResponse; calls: () => number } {
  let calls = 0;
  return {
    handler: () => {
      calls++;
      return { status: 200, headers: [], body: 'handled' };
    },
    calls: () => calls,
  };
}

const BAD_REQUESTS: Array<[string, string]> = [
  ['a bare LF line terminator', 'GET / HTTP/1.1\nHost: x\n\n'],
  ['an obs-fold continuation line', 'GET / HTTP/1.1\r\nHost: x\r\nX-Long: a\r\n  b\r\n\r\n'],
  ['whitespace between a field name and its colon', 'GET / HTTP/1.1\r\nHost : x\r\n\r\n'],
  ['an invalid Host', 'GET / HTTP/1.1\r\nHost: exa<mple>.com\r\n\r\n'],
  ['no Host in HTTP/1.1', 'GET / HTTP/1.1\r\nAccept: */*\r\n\r\n'],
  ['two Host fields', 'GET / HTTP/1.1\r\nHost: a.example\r\nHost: b.example\r\n\r\n'],
  ['a non-numeric Content-Length', 'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n'],
  ['a negative Content-Length', 'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n'],
  ['two different Content-Lengths', 'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd'],
  ['Transfer-Encoding with Content-Length', 'POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n'],
  ['Content-Length with Transfer-Encoding', 'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'],
  ['Transfer-Encoding in HTTP/1.0', 'POST /echo HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'],
  ['Transfer-Encoding not ending in chunked', 'POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n'],
  ['a malformed chunk size', 'POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n'],
  ['a chunk extension without a name', 'POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2;\r\naa\r\n0\r\n\r\n'],
  ['a chunk extension value whose quote is never closed', 'POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5;a="abc\r\nhello\r\n0\r\n\r\n'],
  ['a chunk extension name that is not a token', 'POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5;na,e=val\r\nhello\r\n0\r\n\r\n'],
  ['two spaces in the request line', 'GET  / HTTP/1.1\r\nHost: x\r\n\r\n'],
  ['a lower-case HTTP version', 'GET / http/1.1\r\nHost: x\r\n\r\n'],
  ['a control byte in a header value', 'GET / HTTP/1.1\r\nHost: x\r\nX-Bad: a\x01b\r\n\r\n'],
];

for (const [what, bytes] of BAD_REQUESTS) {
  test(`answers 400 with Connection: close and closes the connection for ${what}`, async (t) => {
    const { handler, calls } = countingHandler();
    const { port } = await startServer(t, { handler });
    const result = await exchange(t, port, bytes + FOLLOW_UP);
    assert.equal(result.responses.length, 1, `exactly one response expected, got:\n${result.text}`);
    assertResponse(result.responses[0], 400, { isClosing: true });
    assert.equal(result.responses[0].body.toString(), '400 Bad Request\n');
    assert.ok(result.isClosed, 'the server must close the connection after a framing error');
    assert.equal(calls(), 0, 'neither the bad request nor the one behind it reached the handler');
  });
}

test('never answers a request smuggled behind a malformed chunk extension, however the packets cut it', async (t) => {
  // A parser that skips extensions loosely would read "hello" as the chunk,
  // end the body at 0, and answer GET /smuggled: two responses where a
  // front end that follows the grammar sent one request.
  const paths: string[] = [];
  const { port } = await startServer(t, {
    handler: (request) => {
      paths.push(request.path);
      return { status: 200, headers: [], body: 'handled' };
    },
  });
  const head = 'POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n';
  const body = '5;a="abc\r\nhello\r\n0\r\n\r\n';
  const smuggled = 'GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n';
  for (const writes of [[head + body + smuggled], [head, '5;a="ab', 'c\r\nhello\r\n0\r\n\r\n', smuggled], [head + '5;a', '="abc\r', '\nhello\r\n0\r\n\r\n' + smuggled]]) {
    const result = await exchange(t, port, writes, { pauseMs: 20 });
    assert.equal(result.responses.length, 1, `exactly one response expected, got:\n${result.text}`);
    assertResponse(result.responses[0], 400, { isClosing: true });
    assert.ok(result.isClosed, 'the server closes the connection after the 400');
    assert.doesNotMatch(result.text, /handled/);
  }
  assert.deepEqual(paths, [], 'neither the upload nor the smuggled request reached the handler');
});

test('answers 417 to an expectation other than 100-continue and closes', async (t) => {
  const { handler, calls } = countingHandler();
  const { port } = await startServer(t, { handler });
  const result = await exchange(t, port, 'POST /echo HTTP/1.1\r\nHost: x\r\nExpect: the-impossible\r\nContent-Length: 2\r\n\r\nhi' + FOLLOW_UP);
  assert.equal(result.responses.length, 1, result.text);
  assertResponse(result.responses[0], 417, { isClosing: true });
  assert.ok(result.isClosed);
  assert.equal(calls(), 0);
});

test('answers 501 to Transfer-Encoding: gzip, chunked and closes', async (t) => {
  const { handler, calls } = countingHandler();
  const { port } = await startServer(t, { handler });
  const result = await exchange(t, port, 'POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n' + FOLLOW_UP);
  assert.equal(result.responses.length, 1, result.text);
  assertResponse(result.responses[0], 501, { isClosing: true });
  assert.ok(result.isClosed);
  assert.equal(calls(), 0);
});

test('answers 505 to HTTP/2.0 in a request line and closes', async (t) => {
  const { handler, calls } = countingHandler();
  const { port } = await startServer(t, { handler });
  const result = await exchange(t, port, 'GET / HTTP/2.0\r\nHost: x\r\n\r\n' + FOLLOW_UP);
  assert.equal(result.responses.length, 1, result.text);
  assertResponse(result.responses[0], 505, { isClosing: true });
  assert.ok(result.isClosed);
  assert.equal(calls(), 0);
});

test('answers the requests before a malformed one, then 400, in order', async (t) => {
  const { port } = await startServer(t);
  const result = await exchange(t, port, GET_ROOT + 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n' + 'GET / HTTP/1.1\nHost: x\n\n' + FOLLOW_UP);
  assert.deepEqual(result.responses.map((r) => r.status), [200, 200, 400]);
  assertResponse(result.responses[0], 200, { isClosing: false });
  assertResponse(result.responses[2], 400, { isClosing: true });
  assert.ok(result.isClosed);
});
