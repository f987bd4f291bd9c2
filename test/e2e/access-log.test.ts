// The access log, read back field by field: nginx's combined format byte for
// byte, JSON lines, the engine's own errors, 499 for a client that left,
// hostile fields that cannot split or forge a line, and request ids.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { ServerOptions } from '../../src/config.js';
import { assertResponse, connect, delay, header, makeTempDir, startServer, waitUntil } from '../helpers.js';

const REQUEST_ID_APP = fileURLToPath(new URL('../fixtures/request-id-app.js', import.meta.url));

// $remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent"
const COMBINED = /^(\S+) - (\S+) \[(\d\d\/[A-Z][a-z]{2}\/\d{4}:\d\d:\d\d:\d\d [+-]\d{4})\] "((?:[^"\\]|\\x[0-9A-F]{2})*)" (\d{3}) (\d+) "((?:[^"\\]|\\x[0-9A-F]{2})*)" "((?:[^"\\]|\\x[0-9A-F]{2})*)"$/;

interface Combined {
  remote: string;
  user: string;
  time: string;
  request: string;
  status: number;
  bytes: number;
  referer: string;
  agent: string;
}

function parseCombined(line: string): Combined {
  const m = COMBINED.exec(line);
  assert.ok(m !== null, `not a combined line: ${JSON.stringify(line)}`);
  return { remote: m[1], user: m[2], time: m[3], request: m[4], status: Number(m[5]), bytes: Number(m[6]), referer: m[7], agent: m[8] };
}

async function logServer(t: TestContext, format: 'combined' | 'json', options: ServerOptions = {}) {
  const dir = makeTempDir(t, 'log');
  const file = path.join(dir, 'access.log');
  const started = await startServer(t, { threads: 1, accessLog: { path: file, format }, ...options });
  const lines = (): string[] => {
    const text = readFileSync(file, 'utf8');
    return text === '' ? [] : text.slice(0, -1).split('\n');
  };
  return { ...started, file, dir, lines };
}

test('combined: one line per request, each field as nginx writes it', async (t) => {
  const { port, lines, file } = await logServer(t, 'combined');
  const client = await connect(t, port);
  await client.write(
    'GET / HTTP/1.1\r\nHost: a\r\nUser-Agent: probe/1.0\r\nReferer: http://example.test/from\r\n\r\n' +
    'HEAD / HTTP/1.1\r\nHost: a\r\n\r\n' +
    'POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nAuthorization: Basic ' + Buffer.from('alice:secret').toString('base64') + '\r\n\r\nhello' +
    'GET /missing?q=1 HTTP/1.0\r\n\r\n',
  );
  const responses = await client.readResponses(4, ['GET', 'HEAD', 'POST', 'GET']);
  assertResponse(responses[0], 200);
  await waitUntil(() => lines().length === 4, `4 lines in ${file}`);
  const [get, head, post, missing] = lines().map(parseCombined);
  assert.equal(get.remote, '127.0.0.1');
  assert.equal(get.user, '-');
  assert.equal(get.request, 'GET / HTTP/1.1');
  assert.equal(get.status, 200);
  assert.equal(get.bytes, responses[0].body.length);
  assert.equal(get.referer, 'http://example.test/from');
  assert.equal(get.agent, 'probe/1.0');
  assert.ok(Math.abs(Date.parse(get.time.replace(':', ' ')) - Date.now()) < 60_000, get.time);
  assert.deepEqual([head.request, head.status, head.bytes, head.agent, head.referer], ['HEAD / HTTP/1.1', 200, 0, '-', '-']);
  assert.deepEqual([post.request, post.status, post.bytes, post.user], ['POST /echo HTTP/1.1', 200, 5, 'alice']);
  assert.deepEqual([missing.request, missing.status], ['GET /missing?q=1 HTTP/1.0', 404]);
});

test("the engine's own answers are logged: 400, 413, 431, and 408", async (t) => {
  const { port, lines } = await logServer(t, 'combined', { maxBodyBytes: 10, maxHeaderBytes: 256, headerTimeoutMs: 300 });
  for (const bytes of [
    'GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n',
    'POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\n',
    `GET / HTTP/1.1\r\nHost: a\r\nX-Big: ${'b'.repeat(300)}\r\n\r\n`,
    'GET / HTTP/1.1\r\nHost: a\r\n', // never finished: 408 at the header timeout
  ]) {
    const client = await connect(t, port);
    await client.write(bytes);
    await client.waitForClose();
  }
  await waitUntil(() => lines().length === 4, '4 lines');
  const statuses = lines().map(parseCombined).map((line) => [line.status, line.request]);
  // The request line is logged whenever it had arrived whole, as nginx does.
  assert.deepEqual(statuses, [[400, 'GET / HTTP/1.1'], [413, 'POST /echo HTTP/1.1'], [431, 'GET / HTTP/1.1'], [408, 'GET / HTTP/1.1']]);
});

test('a client that leaves before its response is logged 499', async (t) => {
  const { port, lines } = await logServer(t, 'combined');
  const client = await connect(t, port);
  await client.write('GET /async?ms=400 HTTP/1.1\r\nHost: a\r\n\r\n');
  await delay(50);
  client.socket.resetAndDestroy();
  await waitUntil(() => lines().length === 1, 'one line');
  const line = parseCombined(lines()[0]);
  assert.deepEqual([line.request, line.status, line.bytes], ['GET /async?ms=400 HTTP/1.1', 499, 0]);
});

test('quotes, backslashes and bytes past ASCII are escaped as nginx does: no line can be split or forged', async (t) => {
  const { port, lines } = await logServer(t, 'combined');
  const forged = '127.0.0.1 - - [01/Jan/2026:00:00:00 +0000] "GET /admin HTTP/1.1" 200 1 "-" "-"';
  const client = await connect(t, port);
  await client.write(Buffer.concat([
    Buffer.from(`GET /a\\b HTTP/1.1\r\nHost: a\r\nUser-Agent: x" ${forged} "\r\nReferer: caf`, 'latin1'),
    Buffer.from([0xe9, 0x09, 0xff]), // é as one latin1 byte, a tab, ÿ
    Buffer.from('\r\n\r\n', 'latin1'),
  ]));
  assertResponse(await client.readResponse(), 404);
  await waitUntil(() => lines().length === 1, 'exactly one line');
  const line = parseCombined(lines()[0]);
  assert.equal(line.request, 'GET /a\\x5Cb HTTP/1.1');
  assert.equal(line.agent, `x\\x22 ${forged.replaceAll('"', '\\x22')} \\x22`);
  assert.equal(line.referer, 'caf\\xE9\\x09\\xFF');
});

test('json: one object per line with timings, who answered, and the request id', async (t) => {
  const dir = makeTempDir(t, 'json-static');
  writeFileSync(path.join(dir, 'file.txt'), 'static bytes\n');
  const { port, lines } = await logServer(t, 'json', { static: { root: dir }, demo: true });
  const client = await connect(t, port);
  await client.write(
    'GET /async?ms=30 HTTP/1.1\r\nHost: a\r\nUser-Agent: "quoted"\r\nX-Request-Id: trace-123\r\n\r\n' +
    'GET /file.txt HTTP/1.1\r\nHost: a\r\n\r\n' +
    'GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n',
  );
  const responses = await client.readResponses(3);
  await waitUntil(() => lines().length === 3, '3 lines');
  const [app, file, builtin] = lines().map((line) => JSON.parse(line) as Record<string, unknown>);
  assert.equal(app.method, 'GET');
  assert.equal(app.target, '/async?ms=30');
  assert.equal(app.version, 'HTTP/1.1');
  assert.equal(app.status, 200);
  assert.equal(app.body_bytes_sent, responses[0].body.length);
  assert.equal(app.answered_by, 'app');
  assert.equal(app.request_id, 'trace-123');
  assert.equal(header(responses[0], 'x-request-id'), 'trace-123');
  assert.equal(app.user_agent, '"quoted"');
  assert.equal(app.referer, null);
  assert.equal(app.remote_addr, '127.0.0.1');
  assert.ok(typeof app.worker === 'number' && app.worker > 0, `worker ${String(app.worker)}`);
  assert.ok(typeof app.queue_ms === 'number' && app.queue_ms >= 0 && app.queue_ms < 5000, `queue_ms ${String(app.queue_ms)}`);
  assert.ok(typeof app.run_ms === 'number' && app.run_ms >= 25, `run_ms ${String(app.run_ms)} covers the 30 ms await`);
  assert.ok(typeof app.request_time_ms === 'number' && app.request_time_ms >= app.run_ms, `request_time_ms ${String(app.request_time_ms)}`);
  assert.ok(!Number.isNaN(Date.parse(app.time as string)));
  assert.deepEqual([file.answered_by, file.status, file.body_bytes_sent, file.worker, file.queue_ms], ['static', 200, 13, null, null]);
  assert.deepEqual([builtin.answered_by, builtin.target], ['builtin', '/healthz']);
  // A made-up id is on the response and in the log alike.
  assert.match(builtin.request_id as string, /^[0-9a-f]{12}-[0-9a-z]+$/);
  assert.equal(header(responses[2], 'x-request-id'), builtin.request_id);
});

test('request ids: a valid one is kept, an invalid or repeated one is replaced; the application sees the logged one', async (t) => {
  const { port, lines } = await logServer(t, 'json', { app: REQUEST_ID_APP });
  const client = await connect(t, port);
  const tooLong = 'x'.repeat(129);
  await client.write(
    'GET /1 HTTP/1.1\r\nHost: a\r\nX-Request-Id: abc-DEF_123.~:/=\r\n\r\n' +
    `GET /2 HTTP/1.1\r\nHost: a\r\nX-Request-Id: ${tooLong}\r\n\r\n` +
    'GET /3 HTTP/1.1\r\nHost: a\r\nX-Request-Id: has space\r\n\r\n' +
    'GET /4 HTTP/1.1\r\nHost: a\r\nX-Request-Id: one\r\nX-Request-Id: two\r\n\r\n' +
    'GET /5 HTTP/1.1\r\nHost: a\r\n\r\n',
  );
  const responses = await client.readResponses(5);
  await waitUntil(() => lines().length === 5, '5 lines');
  const logged = lines().map((line) => (JSON.parse(line) as { request_id: string }).request_id);
  assert.equal(logged[0], 'abc-DEF_123.~:/=');
  for (let i = 0; i < 5; i++) {
    assert.equal(responses[i].body.toString(), logged[i], `the app saw the logged id of request ${i + 1}`);
    assert.equal(header(responses[i], 'x-request-id'), logged[i]);
  }
  for (const id of logged.slice(1)) assert.match(id, /^[0-9a-f]{12}-[0-9a-z]+$/);
  assert.equal(new Set(logged).size, 5, 'all different');
});
