// What an application or a client does wrong costs that request, or that
// connection, and nothing else: a throwing or rejecting handler gives 500 and
// the connection goes on; a response that would split on CR/LF gives 500; a
// client that resets mid-request leaves the other connections untouched.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HttpError, type HttpRequest, type HttpResponse } from '../../src/index.js';
import { assertResponse, connect, deferred, delay, header, parseResponses, startServer, waitUntil } from '../helpers.js';

const ok = (body: string): HttpResponse => ({ status: 200, headers: ['Content-Type', 'text/plain'], body });

test('answers 500 when a handler throws, and the next request on the connection works', async (t) => {
  const { port, logs } = await startServer(t, {
    handler: (request) => {
      if (request.path === '/throw') throw new Error('boom');
      return ok('fine');
    },
  });
  const client = await connect(t, port);
  await client.write('GET /throw HTTP/1.1\r\nHost: x\r\n\r\n');
  const failed = await client.readResponse();
  assertResponse(failed, 500, { isClosing: false });
  assert.equal(failed.body.toString(), '500 Internal Server Error\n');
  assert.doesNotMatch(failed.body.toString(), /boom/, 'the error stays in the log, not in the response');
  await client.write('GET /next HTTP/1.1\r\nHost: x\r\n\r\n');
  const next = await client.readResponse();
  assertResponse(next, 200);
  assert.equal(next.body.toString(), 'fine');
  assert.ok(logs.some((line) => line.includes('GET /throw') && line.includes('boom')), `logged: ${logs.join('\n')}`);
});

test('answers 500 when a handler rejects, in order with the requests around it', async (t) => {
  const { port } = await startServer(t, {
    handler: async (request) => {
      await delay(request.path === '/reject' ? 30 : 0);
      if (request.path === '/reject') throw new Error('async boom');
      return ok(request.path);
    },
  });
  const client = await connect(t, port);
  await client.write('GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /reject HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n');
  const responses = await client.readResponses(3);
  assert.deepEqual(responses.map((r) => r.status), [200, 500, 200]);
  assert.deepEqual([responses[0].body.toString(), responses[2].body.toString()], ['/a', '/b']);
});

test('answers with the status of an HttpError a handler throws', async (t) => {
  const { port } = await startServer(t, {
    handler: () => {
      throw new HttpError(403, 'ERR_FORBIDDEN', 'not for you');
    },
  });
  const client = await connect(t, port);
  await client.write('GET /secret HTTP/1.1\r\nHost: x\r\n\r\n');
  assertResponse(await client.readResponse(), 403, { isClosing: false });
});

test('answers 500, not a split response, when a handler returns a header value with CR/LF', async (t) => {
  const { port, logs } = await startServer(t, {
    handler: (request) => {
      if (request.path === '/split') {
        return { status: 200, headers: ['X-Evil', 'a\r\nSet-Cookie: pwned=1\r\n\r\nHTTP/1.1 200 OK'], body: 'evil' };
      }
      return ok('fine');
    },
  });
  const client = await connect(t, port);
  await client.write('GET /split HTTP/1.1\r\nHost: x\r\n\r\nGET /next HTTP/1.1\r\nHost: x\r\n\r\n');
  const [failed, next] = await client.readResponses(2);
  assertResponse(failed, 500);
  assert.equal(header(failed, 'set-cookie'), undefined);
  assert.equal(header(failed, 'x-evil'), undefined);
  assert.doesNotMatch(client.text, /pwned|evil/);
  assertResponse(next, 200);
  assert.equal(next.body.toString(), 'fine');
  // Whatever the split could have smuggled would arrive before this answer.
  await client.write('GET /last HTTP/1.1\r\nHost: x\r\n\r\n');
  assertResponse(await client.readResponse(), 200);
  assert.equal(parseResponses(client.bytes).responses.length, 3, 'exactly one response per request on the wire');
  assert.ok(logs.some((line) => line.includes('invalid response')), `logged: ${logs.join('\n')}`);
});

test('answers 500 when a handler returns an invalid status or header name', async (t) => {
  const { port } = await startServer(t, {
    handler: (request): HttpResponse => {
      if (request.path === '/status') return { status: 1000, headers: [], body: 'x' };
      if (request.path === '/name') return { status: 200, headers: ['Bad Name', 'v'], body: 'x' };
      return { status: 200, headers: ['X-Nul', 'a\u0000b'], body: 'x' };
    },
  });
  const client = await connect(t, port);
  await client.write(['/status', '/name', '/nul'].map((path) => `GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`).join(''));
  const responses = await client.readResponses(3);
  assert.deepEqual(responses.map((r) => r.status), [500, 500, 500]);
});

test('cuts the connection when a streamed body fails midway, and serves other connections', async (t) => {
  const { port } = await startServer(t, {
    handler: (request) => {
      if (request.path !== '/broken-stream') return ok('fine');
      async function* broken(): AsyncIterable<Uint8Array> {
        yield Buffer.from('partial');
        await delay(10);
        throw new Error('disk on fire');
      }
      return { status: 200, headers: [], body: broken() };
    },
  });
  const client = await connect(t, port);
  await client.write('GET /broken-stream HTTP/1.1\r\nHost: x\r\n\r\n');
  assert.ok(await client.waitForClose());
  assert.match(client.text, /partial/);
  assert.equal(parseResponses(client.bytes).responses.length, 0, 'the chunked body never ends: the client sees a truncated response');
  const other = await connect(t, port);
  await other.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
  assertResponse(await other.readResponse(), 200);
});

test('a client resetting mid-request does not disturb another connection', async (t) => {
  const slowStarted = deferred();
  const release = deferred();
  let handled = 0;
  const { port, server } = await startServer(t, {
    handler: async (request: HttpRequest) => {
      if (request.path === '/slow') {
        slowStarted.resolve();
        await release.promise;
      }
      handled++;
      return ok(request.path);
    },
  });
  // One client waits on a slow handler and resets; another sends half a body and vanishes.
  const resetter = await connect(t, port);
  await resetter.write('GET /slow HTTP/1.1\r\nHost: x\r\n\r\n');
  await slowStarted.promise;
  const quitter = await connect(t, port);
  await quitter.write('POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nhalf a bo');
  const bystander = await connect(t, port);
  await bystander.write('GET /before HTTP/1.1\r\nHost: x\r\n\r\n');
  assert.equal((await bystander.readResponse()).body.toString(), '/before');

  resetter.socket.resetAndDestroy();
  quitter.destroy();
  await waitUntil(() => server.connectionCount === 1, 'the server has seen both connections go');
  release.resolve(); // the slow handler finishes for a connection that is gone

  await bystander.write('GET /after HTTP/1.1\r\nHost: x\r\n\r\n');
  const after = await bystander.readResponse();
  assertResponse(after, 200, { isClosing: false });
  assert.equal(after.body.toString(), '/after');
  const fresh = await connect(t, port);
  await fresh.write('GET /fresh HTTP/1.1\r\nHost: x\r\n\r\n');
  assert.equal((await fresh.readResponse()).body.toString(), '/fresh');
  assert.equal(handled, 4, '/slow, /before, /after and /fresh were handled; the half body never was');
  assert.equal(server.connectionCount, 2, 'the bystander and the fresh connection');
});

test('treats __proto__ and constructor as ordinary header names', async (t) => {
  const { port } = await startServer(t);
  const client = await connect(t, port);
  await client.write('POST /echo HTTP/1.1\r\nHost: x\r\n__proto__: {"polluted":true}\r\nconstructor: prototype\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok');
  const response = await client.readResponse();
  assertResponse(response, 200, { isClosing: false });
  assert.equal(response.body.toString(), 'ok');
  assert.equal(header(response, 'content-type'), 'text/plain');
  assert.equal(({} as Record<string, unknown>).polluted, undefined, 'Object.prototype is untouched');
  await client.write('GET /healthz HTTP/1.1\r\nHost: x\r\n__proto__: x\r\n\r\n');
  assertResponse(await client.readResponse(), 200);
});
