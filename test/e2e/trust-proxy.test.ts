// --trust-proxy: X-Forwarded-For, -Proto, -Host and RFC 7239 Forwarded decide
// the client address (access log) and the scheme and host of request.url
// only when the peer is trusted; from anyone else they are never believed.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { ServerOptions } from '../../src/config.js';
import { TrustList } from '../../src/http/forwarded.js';
import { connect, makeTempDir, runCli, startServer, waitUntil } from '../helpers.js';

const URL_APP = fileURLToPath(new URL('../fixtures/url-app.js', import.meta.url));

/** Sends each head; returns what the app saw as request.url and the logged client address, in order. */
async function probe(t: TestContext, options: ServerOptions, heads: string[]): Promise<Array<{ url: string; client: string }>> {
  const file = path.join(makeTempDir(t, 'trust'), 'access.log');
  const { port } = await startServer(t, { app: URL_APP, threads: 1, accessLog: { path: file, format: 'json' }, ...options });
  const client = await connect(t, port);
  await client.write(heads.map((head) => `GET /x?y=1 HTTP/1.1\r\nHost: origin.test\r\n${head}\r\n`).join(''));
  const responses = await client.readResponses(heads.length);
  const lines = (): string[] => readFileSync(file, 'utf8').split('\n').filter((line) => line !== '');
  await waitUntil(() => lines().length === heads.length, 'a line per request');
  return lines().map((line, i) => ({ url: responses[i].body.toString(), client: (JSON.parse(line) as { remote_addr: string }).remote_addr }));
}

const FORGED = 'X-Forwarded-For: 203.0.113.7\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Host: evil.test\r\nForwarded: for=198.51.100.1;proto=https;host=evil.test\r\n';

test('from an untrusted peer the forwarding fields are never believed', async (t) => {
  for (const trustProxy of [undefined, ['10.0.0.0/8', '192.0.2.1']]) {
    const [seen] = await probe(t, { trustProxy }, [FORGED]);
    assert.deepEqual(seen, { url: 'http://origin.test/x?y=1', client: '127.0.0.1' }, `trustProxy ${String(trustProxy)}`);
  }
});

test('from a trusted peer: X-Forwarded-For (the first untrusted hop from the right), -Proto and -Host', async (t) => {
  const seen = await probe(t, { trustProxy: ['loopback'] }, [
    'X-Forwarded-For: 203.0.113.7\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Host: public.test\r\n',
    'X-Forwarded-For: 198.51.100.9, 203.0.113.7, 127.0.0.1\r\n', // 127.0.0.1 is a trusted proxy: skipped
    'X-Forwarded-For: 10.9.9.9\r\nX-Forwarded-For: 127.0.0.2\r\nX-Forwarded-Proto: HTTPS, http\r\n', // repeated fields are one list
    'X-Forwarded-Proto: gopher\r\nX-Forwarded-Host: bad host\r\n', // neither is valid: not used
    '', // nothing said: the peer itself
  ]);
  assert.deepEqual(seen, [
    { url: 'https://public.test/x?y=1', client: '203.0.113.7' },
    { url: 'http://origin.test/x?y=1', client: '203.0.113.7' },
    { url: 'https://origin.test/x?y=1', client: '10.9.9.9' },
    { url: 'http://origin.test/x?y=1', client: '127.0.0.1' },
    { url: 'http://origin.test/x?y=1', client: '127.0.0.1' },
  ]);
});

test('from a trusted peer: RFC 7239 Forwarded, which wins over X-Forwarded-*', async (t) => {
  const seen = await probe(t, { trustProxy: ['127.0.0.1'] }, [
    'Forwarded: for="[2001:db8::1]:4711";proto=https;host=fw.test, for=127.0.0.1\r\nX-Forwarded-For: 203.0.113.7\r\n',
    'Forwarded: for=192.0.2.60;proto=http;by=203.0.113.43\r\n',
    'Forwarded: for=unknown\r\n', // not an address: the client is unknown, and it says so
  ]);
  assert.deepEqual(seen, [
    { url: 'https://fw.test/x?y=1', client: '2001:db8::1' },
    { url: 'http://origin.test/x?y=1', client: '192.0.2.60' },
    { url: 'http://origin.test/x?y=1', client: 'unknown' },
  ]);
});

test('TrustList: loopback, addresses, networks, IPv4-mapped IPv6 peers; bad entries are refused', () => {
  const list = new TrustList(['loopback', '10.0.0.0/8', 'fd00::/8', '192.0.2.1']);
  for (const address of ['127.0.0.1', '127.9.9.9', '::1', '::ffff:127.0.0.1', '10.1.2.3', 'fd12::1', '192.0.2.1']) assert.ok(list.has(address), address);
  for (const address of ['11.0.0.1', '192.0.2.2', 'fe80::1', 'unknown', '']) assert.ok(!list.has(address), address);
  for (const entry of ['localhost', '10.0.0.0/33', '::1/129', '1.2.3.4/x', '1.2.3/8']) assert.throws(() => new TrustList([entry]), RangeError, entry);
});

test('--trust-proxy with a bad entry is a usage error', async () => {
  const result = await runCli(['--trust-proxy', 'loopback,not-an-address']);
  assert.equal(result.code, 2);
  assert.match(result.stderr, /--trust-proxy: 'not-an-address' is not loopback/);
});
