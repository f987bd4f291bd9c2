// The per-request exchange an inline handler gets: its signal aborts and its
// client-gone callbacks run when that request's client leaves before the
// response is finished, and only then; its finish callbacks run once the
// response has been written to its end, a streamed one included.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Exchange, HttpRequest, HttpResponse } from '../../src/index.js';
import { connect, deferred, delay, startServer, waitUntil } from '../helpers.js';

test('a client that leaves aborts its own exchange only, after the handler awaited', async (t) => {
  const seen = new Map<string, { exchange: Exchange; gone: number }>();
  const release = deferred();
  const { port } = await startServer(t, {
    handler: async (request: HttpRequest, exchange: Exchange): Promise<HttpResponse> => {
      const entry = { exchange, gone: 0 };
      seen.set(request.path, entry);
      await release.promise;
      exchange.onClientGone(() => entry.gone++); // registered after an await: still this request's
      return { status: 200, headers: [], body: request.path };
    },
  });
  const leaving = await connect(t, port);
  const staying = await connect(t, port);
  await leaving.write('GET /leaving HTTP/1.1\r\nHost: x\r\n\r\n');
  await staying.write('GET /staying HTTP/1.1\r\nHost: x\r\n\r\n');
  await waitUntil(() => seen.size === 2, 'both handlers running');
  leaving.socket.resetAndDestroy(); // a half-close (FIN) would still be answered
  await waitUntil(() => seen.get('/leaving')!.exchange.signal.aborted, 'the leaving request aborted');
  assert.equal((seen.get('/leaving')!.exchange.signal.reason as Error).name, 'AbortError');
  release.resolve();
  const response = await staying.readResponse();
  assert.equal(response.body.toString(), '/staying');
  await waitUntil(() => seen.get('/leaving')!.gone === 1, 'a late onClientGone is called at once');
  assert.equal(seen.get('/staying')!.exchange.signal.aborted, false);
  staying.destroy();
  await delay(50);
  assert.equal(seen.get('/staying')!.exchange.signal.aborted, false, 'a finished exchange is not aborted by a later close');
  assert.equal(seen.get('/staying')!.gone, 0);
});

test('onFinish runs once a streamed response has been written to its end; a client gone mid-stream aborts it', async (t) => {
  const finished: string[] = [];
  const aborted: string[] = [];
  const more = deferred();
  const { port } = await startServer(t, {
    handler: (request: HttpRequest, exchange: Exchange): HttpResponse => {
      exchange.onFinish(() => finished.push(request.path));
      exchange.signal.addEventListener('abort', () => aborted.push(request.path));
      async function* body(): AsyncGenerator<Uint8Array> {
        yield Buffer.from('first ');
        if (request.path === '/held') await more.promise;
        yield Buffer.from('last');
      }
      return { status: 200, headers: [], body: body() };
    },
  });
  const client = await connect(t, port);
  await client.write('GET /whole HTTP/1.1\r\nHost: x\r\n\r\n');
  assert.equal((await client.readResponse()).body.toString(), 'first last');
  await waitUntil(() => finished.includes('/whole'), 'the whole stream finished');
  await client.write('GET /held HTTP/1.1\r\nHost: x\r\n\r\n');
  await client.waitForText('first ');
  assert.deepEqual(finished, ['/whole'], 'a stream still being written is not finished');
  client.destroy();
  await waitUntil(() => aborted.includes('/held'), 'the client that left mid-stream aborts the exchange');
  more.resolve();
  await delay(20);
  assert.deepEqual(finished, ['/whole']);
  assert.deepEqual(aborted, ['/held']);
});
