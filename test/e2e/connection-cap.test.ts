// The connection cap (maxConnections, --max-connections): past it a new
// connection takes the place of the connection idle longest — a keep-alive
// connection between requests, or one that has sent nothing yet — as nginx
// reuses idle connections when worker_connections run out. A busy connection
// (a request arriving, being handled, or being answered) is never closed to
// make room: with none idle, the new connection is closed at once.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { HttpResponse } from '../../src/index.js';
import { assertResponse, connect, deferred, startServer, waitUntil, type RawClient } from '../helpers.js';

const GET = (path: string): string => `GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`;
const ok = (body: string): HttpResponse => ({ status: 200, headers: ['Content-Type', 'text/plain'], body });

async function askAndRead(client: RawClient, path: string): Promise<string> {
  await client.write(GET(path));
  const response = await client.readResponse();
  assertResponse(response, 200, { isClosing: false });
  return response.body.toString();
}

test('with maxConnections 2, a third client is served once the connection idle longest is closed to make room', async (t) => {
  const { port, server } = await startServer(t, { maxConnections: 2, handler: (request) => ok(request.path) });
  const first = await connect(t, port);
  assert.equal(await askAndRead(first, '/first'), '/first');
  const second = await connect(t, port);
  assert.equal(await askAndRead(second, '/second'), '/second');
  await askAndRead(first, '/first-again'); // now the second has been idle longer

  const third = await connect(t, port);
  assert.equal(await askAndRead(third, '/third'), '/third');
  assert.ok(await second.waitForClose(), 'the connection idle longest was closed to make room');
  assert.equal(second.text.split('HTTP/1.1 ').length - 1, 1, 'and it was sent nothing more');
  assert.equal(await askAndRead(first, '/first-still'), '/first-still', 'the other idle connection stays open');
  assert.equal(server.connectionCount, 2);
});

test('a busy connection is never closed to make room: with none idle, a new connection is closed at once', async (t) => {
  const release = deferred();
  let running = 0;
  const { port, server, logs } = await startServer(t, {
    maxConnections: 2,
    handler: async (request) => {
      if (request.path === '/slow') {
        running++;
        await release.promise;
      }
      return ok(request.path);
    },
  });
  const slow = [await connect(t, port), await connect(t, port)];
  for (const client of slow) await client.write(GET('/slow'));
  await waitUntil(() => running === 2, 'both slow requests are being handled');

  const turnedAway = await connect(t, port);
  await turnedAway.write(GET('/turned-away')).catch(() => {});
  assert.ok(await turnedAway.waitForClose(), 'the new connection is closed');
  assert.equal(turnedAway.bytes.length, 0, 'without an answer: its request was never read');
  assert.equal(logs.filter((line) => line.includes('connections open (the cap) and none idle')).length, 1, logs.join('\n'));

  release.resolve();
  for (const client of slow) {
    const response = await client.readResponse();
    assertResponse(response, 200, { isClosing: false });
    assert.equal(response.body.toString(), '/slow');
  }
  // Both are idle now: the next client takes the place of one of them.
  const next = await connect(t, port);
  assert.equal(await askAndRead(next, '/next'), '/next');
  await waitUntil(() => slow.filter((client) => client.isClosedByServer).length === 1, 'one of the idle connections is closed');
  assert.equal(server.connectionCount, 2);
});

test('a connection with part of a request head is busy; one that has sent nothing is idle', async (t) => {
  const { port } = await startServer(t, { maxConnections: 3, handler: (request) => ok(request.path) });
  const silent = await connect(t, port);
  const halfway = await connect(t, port);
  await halfway.write('GET /halfway HTTP/1.1\r\nHo');
  const answered = await connect(t, port);
  assert.equal(await askAndRead(answered, '/answered'), '/answered');

  const newcomer = await connect(t, port);
  assert.equal(await askAndRead(newcomer, '/newcomer'), '/newcomer');
  assert.ok(await silent.waitForClose(), 'the connection that never sent a byte, idle longest, made room');
  await halfway.write('st: x\r\n\r\n');
  assert.equal((await halfway.readResponse()).body.toString(), '/halfway', 'the half-sent request was kept and answered');
  assert.equal(await askAndRead(answered, '/answered-again'), '/answered-again');
});

test('/healthz reports the open connections and the cap', async (t) => {
  const { port } = await startServer(t, { maxConnections: 5, handler: () => ok('x') });
  const other = await connect(t, port);
  await askAndRead(other, '/');
  const client = await connect(t, port);
  await client.write(GET('/healthz'));
  const response = await client.readResponse();
  assertResponse(response, 200);
  const health = JSON.parse(response.body.toString()) as { status: string; connections: number; maxConnections: number };
  assert.deepEqual(health, { status: 'ok', connections: 2, maxConnections: 5 });
});
