// Pipelining (RFC 9112 §9.3.2): requests sent back to back on one connection
// are answered in the order they came, whatever order their handlers finish.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { HttpRequest, HttpResponse } from '../../src/index.js';
import { assertResponse, connect, delay, exchange, startServer } from '../helpers.js';

/** A permutation of 0..n-1 that is not the identity, so handlers surely finish out of order. */
function shuffledOrder(n: number): number[] {
  for (;;) {
    const order = Array.from({ length: n }, (_, i) => i);
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1));
      [order[i], order[j]] = [order[j], order[i]];
    }
    if (order.some((v, i) => v !== i)) return order;
  }
}

/** A handler that answers /N after a delay given by rank[N], and records the order it finished in. */
function delayedHandler(rank: number[], finished: number[]): (request: HttpRequest) => Promise<HttpResponse> {
  return async (request) => {
    const n = Number(request.path.slice(1));
    await delay(rank[n] * 15);
    finished.push(n);
    return { status: 200, headers: ['Content-Type', 'text/plain'], body: `response ${n}` };
  };
}

const requestFor = (n: number): string => `GET /${n} HTTP/1.1\r\nHost: x\r\n\r\n`;

test('answers 10 requests sent in one packet in request order, though handlers finish out of order', async (t) => {
  const rank = shuffledOrder(10);
  const finished: number[] = [];
  const { port } = await startServer(t, { handler: delayedHandler(rank, finished) });
  const client = await connect(t, port);
  await client.write(Array.from({ length: 10 }, (_, i) => requestFor(i)).join(''));
  const responses = await client.readResponses(10);
  assert.deepEqual(responses.map((r) => r.body.toString()), Array.from({ length: 10 }, (_, i) => `response ${i}`));
  for (const response of responses) assertResponse(response, 200, { isClosing: false });
  assert.notDeepEqual(finished, [...finished].sort((a, b) => a - b), 'the handlers finished out of order');
  assert.equal(client.isClosedByServer, false);
});

test('answers more pipelined requests than maxPipelined, in order, by pausing reads', async (t) => {
  const rank = shuffledOrder(12);
  const { port } = await startServer(t, { maxPipelined: 3, handler: delayedHandler(rank, []) });
  const client = await connect(t, port);
  await client.write(Array.from({ length: 12 }, (_, i) => requestFor(i)).join(''));
  const responses = await client.readResponses(12);
  assert.deepEqual(responses.map((r) => r.body.toString()), Array.from({ length: 12 }, (_, i) => `response ${i}`));
});

test('answers every request of a client that sends them and then half-closes (FIN)', async (t) => {
  const rank = shuffledOrder(5);
  const { port } = await startServer(t, { handler: delayedHandler(rank, []) });
  const result = await exchange(t, port, Array.from({ length: 5 }, (_, i) => requestFor(i)).join(''), { halfClose: true });
  assert.deepEqual(result.responses.map((r) => r.body.toString()), Array.from({ length: 5 }, (_, i) => `response ${i}`));
  assert.ok(result.isClosed, 'the server closes once everything is answered');
  assertResponse(result.responses[4], 200, { isClosing: true });
});

test('answers the complete requests of a half-closed client and drops its partial one', async (t) => {
  const { port } = await startServer(t);
  const result = await exchange(t, port, requestFor(1) + requestFor(2) + 'GET /3 HTTP/1.1\r\nHo', { halfClose: true });
  assert.deepEqual(result.responses.map((r) => r.status), [404, 404]);
  assert.ok(result.isClosed);
});

test('answers pipelined requests that arrive split across packets at odd places', async (t) => {
  const { port } = await startServer(t);
  const client = await connect(t, port);
  const bytes = 'GET / HTTP/1.1\r\nHost: x\r\n\r\nPOST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhelloGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n';
  for (const piece of [bytes.slice(0, 7), bytes.slice(7, 30), bytes.slice(30, 85), bytes.slice(85, 90), bytes.slice(90)]) {
    await client.write(piece);
    await delay(10);
  }
  const responses = await client.readResponses(3);
  assert.deepEqual(responses.map((r) => r.status), [200, 200, 200]);
  assert.equal(responses[1].body.toString(), 'hello');
  assert.match(responses[2].body.toString(), /"ok"/);
});
