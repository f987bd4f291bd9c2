// Worker recycling (--max-jobs-per-worker, --max-worker-memory) under load:
// workers come and go, and no request fails because of it; a response
// still streaming from a recycled worker ends whole.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assertResponse, connect, startServer, waitUntil } from '../helpers.js';

test('recycling after 50 requests per worker under load costs no request', async (t) => {
  const { server, url } = await startServer(t, { threads: 2, maxJobsPerWorker: 50 });
  const statuses = await Promise.all(Array.from({ length: 16 }, async () => {
    const seen: number[] = [];
    for (let i = 0; i < 40; i++) {
      const response = await fetch(`${url}/async?ms=1`);
      await response.text();
      seen.push(response.status);
    }
    return seen;
  }));
  assert.deepEqual([...new Set(statuses.flat())], [200], 'every one of 640 requests answered 200');
  const stats = server.poolStats!;
  assert.ok(stats.restartsByCause.recycled >= 8, `${stats.restartsByCause.recycled} recycles`);
  assert.equal(stats.restarts, 0);
});

test('a response streaming from a worker that is recycled ends whole', async (t) => {
  const { server, port } = await startServer(t, { threads: 1, maxJobsPerWorker: 1 });
  const client = await connect(t, port);
  await client.write('GET /events?interval=50&count=6 HTTP/1.1\r\nHost: a\r\n\r\n');
  const response = await client.readResponse();
  assertResponse(response, 200);
  assert.match(response.body.toString(), /event: end/);
  await waitUntil(() => server.poolStats!.restartsByCause.recycled >= 1, 'the worker was recycled after its stream');
  const next = await fetch(`http://127.0.0.1:${port}/`);
  assert.equal(next.status, 200);
});
