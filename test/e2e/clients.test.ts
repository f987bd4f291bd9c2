// Real clients against a real server: Node's fetch (undici) and the curl
// binary. What they agree on with Spindle is what the web will see.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HELLO_PAGE } from '../../src/demo/pages.js';
import { parseResponses, runCurl, startServer } from '../helpers.js';

test('fetch: GET / gets the hello page', async (t) => {
  const { url } = await startServer(t);
  const response = await fetch(`${url}/`);
  assert.equal(response.status, 200);
  assert.equal(response.headers.get('content-type'), 'text/html; charset=utf-8');
  assert.ok(response.headers.get('date') !== null);
  assert.equal(await response.text(), HELLO_PAGE);
});

test('fetch: POST /echo returns the body and its Content-Type', async (t) => {
  const { url } = await startServer(t);
  const body = JSON.stringify({ hello: 'world', n: [1, 2, 3] });
  const response = await fetch(`${url}/echo`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body });
  assert.equal(response.status, 200);
  assert.equal(response.headers.get('content-type'), 'application/json');
  assert.deepEqual(await response.json(), JSON.parse(body));
});

test('fetch: a streamed (chunked) upload is echoed whole', async (t) => {
  const { url } = await startServer(t);
  const parts = ['first ', 'second ', 'third'];
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const part of parts) controller.enqueue(new TextEncoder().encode(part));
      controller.close();
    },
  });
  const init = { method: 'PUT', body: stream, duplex: 'half' } as RequestInit;
  const response = await fetch(`${url}/echo`, init);
  assert.equal(response.status, 200);
  assert.equal(await response.text(), parts.join(''));
});

test('fetch: 50 concurrent requests all succeed', async (t) => {
  const { url } = await startServer(t);
  const responses = await Promise.all(Array.from({ length: 50 }, (_, i) => fetch(`${url}/echo?i=${i}`, { method: 'POST', body: `body ${i}` })));
  const bodies = await Promise.all(responses.map((r) => r.text()));
  assert.deepEqual(bodies, Array.from({ length: 50 }, (_, i) => `body ${i}`));
});

test('fetch: 404, 405 and /healthz', async (t) => {
  const { url } = await startServer(t);
  const missing = await fetch(`${url}/missing`);
  assert.equal(missing.status, 404);
  await missing.arrayBuffer();
  const wrongMethod = await fetch(`${url}/`, { method: 'DELETE' });
  assert.equal(wrongMethod.status, 405);
  assert.equal(wrongMethod.headers.get('allow'), 'GET, HEAD');
  await wrongMethod.arrayBuffer();
  const health = await fetch(`${url}/healthz`);
  assert.equal(health.status, 200);
  assert.equal(((await health.json()) as { status: string }).status, 'ok');
});

test('curl: -s -i GET / shows the status line, headers and page', async (t) => {
  const { url } = await startServer(t);
  const result = await runCurl(['-s', '-i', `${url}/`]);
  assert.equal(result.code, 0, result.stderr);
  const [response] = parseResponses(Buffer.from(result.stdout, 'latin1')).responses;
  assert.equal(response.status, 200);
  assert.match(response.head, /^HTTP\/1\.1 200 OK\r\n/);
  assert.match(response.head, /\r\nDate: /);
  assert.match(response.head, /\r\ncontent-type: text\/html; charset=utf-8\r\n/i);
  assert.equal(response.body.toString(), HELLO_PAGE);
});

test('curl: --data to /echo is echoed with its form Content-Type', async (t) => {
  const { url } = await startServer(t);
  const result = await runCurl(['-s', '-i', '--data', 'name=spindle&threads=4', `${url}/echo`]);
  assert.equal(result.code, 0, result.stderr);
  const [response] = parseResponses(Buffer.from(result.stdout, 'latin1')).responses;
  assert.equal(response.status, 200);
  assert.match(response.head, /\r\ncontent-type: application\/x-www-form-urlencoded\r\n/i);
  assert.equal(response.body.toString(), 'name=spindle&threads=4');
});

test('curl: -I sends HEAD and gets the GET headers without a body', async (t) => {
  const { url } = await startServer(t);
  const result = await runCurl(['-s', '-I', `${url}/`]);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /^HTTP\/1\.1 200 OK\r\n/);
  assert.match(result.stdout, new RegExp(`\\r\\nContent-Length: ${Buffer.byteLength(HELLO_PAGE)}\\r\\n`, 'i'));
});

test('curl: two URLs reuse one keep-alive connection', async (t) => {
  const { url } = await startServer(t);
  const result = await runCurl(['-s', '-v', '-o', '/dev/null', '-o', '/dev/null', `${url}/`, `${url}/healthz`]);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stderr, /Re-using existing (\S+ )?connection/i, 'curl 7.x says "connection #0", 8.10+ "http: connection"');
});

test('curl: --http1.0 gets Connection: close', async (t) => {
  const { url } = await startServer(t);
  const result = await runCurl(['-s', '-i', '--http1.0', `${url}/`]);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /\r\nConnection: close\r\n/i);
});

test('curl: a chunked upload with Expect: 100-continue is echoed', async (t) => {
  const { url } = await startServer(t);
  const body = 'x'.repeat(50_000);
  const result = await runCurl(['-s', '-H', 'Transfer-Encoding: chunked', '-H', 'Expect: 100-continue', '--data-binary', '@-', `${url}/echo`], body);
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stdout, body);
});

test('curl: a body over the limit gets 413 without being sent', async (t) => {
  const { url } = await startServer(t, { maxBodyBytes: 1000 });
  const result = await runCurl(['-s', '-o', '/dev/null', '-w', '%{http_code} %{size_upload}', '-H', 'Expect: 100-continue', '--data-binary', '@-', `${url}/echo`], 'y'.repeat(100_000));
  assert.equal(result.code, 0, result.stderr);
  const [status, uploaded] = result.stdout.split(' ');
  assert.equal(status, '413');
  assert.ok(Number(uploaded) < 100_000, `curl sent ${uploaded} body bytes; the 413 came first`);
});
