// Response bodies streamed from the worker threads: each chunk goes out as
// the application makes it, under a credit window, so a client that reads
// slowly pauses the application's stream; a client that leaves cancels it;
// a stream that breaks or misses its Content-Length cuts the connection.
import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import { PATIENCE_MS, connect, delay, startServer, waitUntil, type TestServer } from '../helpers.js';
import { fixtureUrl } from '../pool-helpers.js';

const STREAM_APP = fixtureUrl('stream-app.js').href;

async function startStreamServer(t: Parameters<typeof startServer>[0]): Promise<TestServer> {
  return startServer(t, { app: STREAM_APP, threads: 1 });
}

interface State { bigBytes: number; cancels: number; aborted: number; heldPulls: number }

async function stateOf(url: string): Promise<State> {
  return (await (await fetch(`${url}/state`)).json()) as State;
}

test('chunks reach the client as the application makes them, not together at the end', async (t) => {
  const { url } = await startStreamServer(t);
  const started = performance.now();
  const response = await fetch(`${url}/ticks?count=4&ms=250`);
  const headAt = performance.now() - started;
  assert.equal(response.headers.get('transfer-encoding'), 'chunked');
  const arrivals: number[] = [];
  const decoder = new TextDecoder();
  let text = '';
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    text += decoder.decode(chunk);
    arrivals.push(performance.now() - started);
  }
  assert.deepEqual(text.split('\n').filter(Boolean).map((line) => line.split(' at ')[0]), ['tick 1', 'tick 2', 'tick 3', 'tick 4']);
  assert.ok(headAt < 600, `the head came at once, in ${headAt.toFixed(0)} ms`);
  assert.ok(arrivals.length >= 3, `the chunks came apart: ${arrivals.map((ms) => ms.toFixed(0)).join(', ')} ms`);
  assert.ok(arrivals.at(-1)! - arrivals[0] >= 400, `the last chunk came well after the first: ${arrivals.map((ms) => ms.toFixed(0)).join(', ')} ms`);
});

test('a Content-Length the application sets is sent and kept to', async (t) => {
  const { url } = await startStreamServer(t);
  const response = await fetch(`${url}/length?declared=5000&actual=5000`);
  assert.equal(response.headers.get('content-length'), '5000');
  assert.equal(response.headers.get('transfer-encoding'), null);
  assert.equal((await response.arrayBuffer()).byteLength, 5000);
});

for (const [name, declared, actual] of [['shorter', 5000, 3000], ['longer', 3000, 5000]] as const) {
  test(`a stream ${name} than its Content-Length closes the connection, never a wrong-length response, and is logged`, async (t) => {
    const { port, logs } = await startStreamServer(t);
    const client = await connect(t, port);
    await client.write(`GET /length?declared=${declared}&actual=${actual} HTTP/1.1\r\nHost: x\r\n\r\nGET /state HTTP/1.1\r\nHost: x\r\n\r\n`);
    assert.ok(await client.waitForClose(), 'the connection was closed');
    const text = client.text;
    const bodyStart = text.indexOf('\r\n\r\n') + 4;
    assert.match(text, new RegExp(`Content-Length: ${declared}\r\n`));
    assert.ok(text.length - bodyStart < declared, `fewer than ${declared} body bytes went out (${text.length - bodyStart})`);
    assert.ok(!text.includes('/state') && text.split('HTTP/1.1 ').length === 2, 'the pipelined request behind it was not answered on this connection');
    await waitUntil(() => logs.some((line) => line.includes('GET /length') && line.includes('Content-Length')), 'a log line naming the request');
  });
}

test('a stream that errors midway closes the connection without the last chunk, logged with its request line', async (t) => {
  const { port, logs } = await startStreamServer(t);
  const client = await connect(t, port);
  await client.write('GET /fail HTTP/1.1\r\nHost: x\r\n\r\n');
  assert.ok(await client.waitForClose());
  assert.match(client.text, /Transfer-Encoding: chunked/);
  assert.match(client.text, /partial/);
  assert.ok(!client.text.endsWith('0\r\n\r\n'), 'no last chunk: the client sees a truncated body');
  await waitUntil(() => logs.some((line) => line.includes('"GET /fail HTTP/1.1"') && line.includes('broke on purpose')), 'logged with the request line');
});

test('an HTTP/1.0 client gets a close-delimited body; HEAD gets the head only', async (t) => {
  const { port } = await startStreamServer(t);
  const old = await connect(t, port);
  await old.write('GET /ticks?count=2&ms=10 HTTP/1.0\r\n\r\n');
  assert.ok(await old.waitForClose());
  assert.doesNotMatch(old.text, /Transfer-Encoding|Content-Length/i);
  assert.match(old.text, /\r\n\r\ntick 1 at \d+\ntick 2 at \d+\n$/);
  const head = await connect(t, port);
  await head.write('HEAD /held HTTP/1.1\r\nHost: x\r\n\r\nGET /length?declared=3&actual=3 HTTP/1.1\r\nHost: x\r\n\r\n');
  const [headResponse, next] = await head.readResponses(2, ['HEAD', 'GET']);
  assert.equal(headResponse.status, 200);
  assert.equal(headResponse.body.byteLength, 0);
  assert.equal(next.body.toString(), 'bbb', 'the connection goes on after a HEAD of a stream');
});

test('an HTTP/1.0 keep-alive client with a request pipelined behind a close-delimited body gets that body alone, then the close', async (t) => {
  const { port } = await startStreamServer(t);
  const client = await connect(t, port);
  await client.write('GET /ticks?count=2&ms=50 HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /length?declared=3&actual=3 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n');
  assert.ok(await client.waitForClose());
  assert.doesNotMatch(client.text, /Transfer-Encoding|Content-Length/i);
  // Nothing after the body's last byte: a response written there would read as more of it.
  assert.match(client.text, /\r\n\r\ntick 1 at \d+\ntick 2 at \d+\n$/);
  assert.equal(client.text.split('HTTP/1.').length - 1, 1, 'one response only');
});

test('a client that leaves mid-stream cancels the application\'s stream and aborts request.signal', async (t) => {
  const { port, url } = await startStreamServer(t);
  const before = await stateOf(url);
  for (const leave of ['reset', 'close'] as const) {
    const client = await connect(t, port);
    await client.write('GET /held HTTP/1.1\r\nHost: x\r\n\r\n');
    await client.waitForText('first');
    const left = performance.now();
    if (leave === 'reset') client.socket.resetAndDestroy();
    else client.socket.end(); // a FIN: a client that ends its side has gone, for a stream
    const cancels = before.cancels + (leave === 'reset' ? 1 : 2);
    let state = await stateOf(url);
    while (state.cancels < cancels && performance.now() - left < PATIENCE_MS) {
      await delay(10);
      state = await stateOf(url);
    }
    assert.equal(state.cancels, cancels, `the ${leave} cancelled the stream`);
    assert.ok(state.aborted >= cancels - before.cancels + before.aborted, 'and aborted its request.signal');
    t.diagnostic(`${leave}: the stream was cancelled ${(performance.now() - left).toFixed(0)} ms after the client left`);
  }
});

test('a client that reads nothing pauses the application\'s stream: it makes no more than the window ahead', async (t) => {
  const { port, url } = await startStreamServer(t);
  const socket = net.connect({ port, host: '127.0.0.1' });
  t.after(() => socket.destroy());
  await new Promise<void>((resolve) => socket.once('connect', resolve));
  socket.pause(); // read nothing: the kernel buffers fill, then the server's socket
  socket.write('GET /big?mib=1024 HTTP/1.1\r\nHost: x\r\n\r\n');
  let last = -1;
  let state = await stateOf(url);
  for (let i = 0; i < 40 && state.bigBytes !== last; i++) { // until it stops growing
    last = state.bigBytes;
    await delay(100);
    state = await stateOf(url);
  }
  assert.ok(state.bigBytes > 0, 'the stream started');
  assert.ok(state.bigBytes < 64 * 1024 * 1024, `a stalled reader let the app make only ${(state.bigBytes / 1048576).toFixed(1)} MiB of 1 GiB`);
  t.diagnostic(`made ${(state.bigBytes / 1048576).toFixed(1)} MiB ahead of a client that read nothing`);
  // Reading resumes the stream.
  let received = 0;
  socket.on('data', (chunk: Buffer) => { received += chunk.byteLength; });
  socket.resume();
  await waitUntil(() => received > state.bigBytes + 8 * 1024 * 1024, 'the stream went on once the client read');
  socket.destroy();
});

test('a stream holds no job lane: 200 held streams on one thread with --concurrency 4, and it still answers', async (t) => {
  const { port, url } = await startServer(t, { app: STREAM_APP, threads: 1, concurrency: 4 });
  const clients = await Promise.all(Array.from({ length: 200 }, () => connect(t, port)));
  await Promise.all(clients.map((client) => client.write('GET /held HTTP/1.1\r\nHost: x\r\n\r\n')));
  await Promise.all(clients.map((client) => client.waitForText('first')));
  const response = await fetch(`${url}/length?declared=4&actual=4`);
  assert.equal(await response.text(), 'bbbb', 'a thread whose lanes would all be taken by streams still answers');
  for (const client of clients) client.socket.resetAndDestroy();
});

test('--job-timeout bounds the time until the Response; a stream that goes on making progress outlives it', async (t) => {
  const { url } = await startServer(t, { app: STREAM_APP, threads: 1, jobTimeoutMs: 300 });
  const started = performance.now();
  const response = await fetch(`${url}/ticks?count=5&ms=200`);
  const text = await response.text();
  assert.equal(text.split('\n').filter(Boolean).length, 5);
  assert.ok(performance.now() - started > 600, 'the stream lasted past the job timeout');
});

test('server-sent events from the demo reach a raw client one by one, apart in time', async (t) => {
  const { port } = await startServer(t, { threads: 2 }); // the built-in demo
  const client = await connect(t, port);
  await client.write('GET /events?count=4&interval=250 HTTP/1.1\r\nHost: x\r\n\r\n');
  const arrivals: number[] = [];
  for (let n = 1; n <= 4; n++) {
    await client.waitForText(`id: ${n}\n`);
    arrivals.push(performance.now());
  }
  await client.waitForText('event: end\n');
  assert.match(client.text, /^HTTP\/1\.1 200 OK\r\n/);
  assert.match(client.text, /content-type: text\/event-stream\r\n/i);
  assert.match(client.text, /Transfer-Encoding: chunked\r\n/);
  assert.ok(arrivals[3] - arrivals[0] >= 500, `events 1 to 4 arrived over ${(arrivals[3] - arrivals[0]).toFixed(0)} ms, not together`);
  for (let i = 1; i < 4; i++) assert.ok(arrivals[i] >= arrivals[i - 1], 'in order');
});
