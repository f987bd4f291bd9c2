// --proxy-protocol: a PROXY header (v1 text, v2 binary) from a trusted peer
// names the client; a malformed or missing one closes the connection, one
// from an untrusted peer is refused; and the parser on each kind of input.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import tls from 'node:tls';
import type { ServerOptions } from '../../src/config.js';
import { parseProxyHeader } from '../../src/net/proxy-protocol.js';
import { connect, delay, makeTempDir, PATIENCE_MS, startServer, waitUntil } from '../helpers.js';
import { testCertificates } from '../tls-helpers.js';

const SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);

function v2(command: number, familyProtocol: number, body: Buffer): Buffer {
  const head = Buffer.alloc(4);
  head[0] = 0x20 | command;
  head[1] = familyProtocol;
  head.writeUInt16BE(body.length, 2);
  return Buffer.concat([SIGNATURE, head, body]);
}

const V2_TCP4 = v2(1, 0x11, Buffer.from([192, 0, 2, 10, 127, 0, 0, 1, 0x30, 0x39, 0x00, 0x50]));
const V2_TCP6 = v2(1, 0x21, Buffer.concat([
  Buffer.from('20010db8000000000000000000000042', 'hex'), Buffer.from('00000000000000000000000000000001', 'hex'), Buffer.from([0x30, 0x39, 0x00, 0x50]),
]));
const GET = 'GET / HTTP/1.1\r\nHost: a\r\n\r\n';

async function server(t: TestContext, options: ServerOptions = {}) {
  const file = path.join(makeTempDir(t, 'proxy'), 'access.log');
  const started = await startServer(t, { threads: 1, trustProxy: ['loopback'], proxyProtocol: true, accessLog: { path: file, format: 'json' }, ...options });
  const clients = (): string[] => readFileSync(file, 'utf8').split('\n').filter((l) => l !== '').map((l) => (JSON.parse(l) as { remote_addr: string }).remote_addr);
  return { ...started, clients };
}

/** Sends the parts (a pause between them) and reads one response; null when the server closed without one. */
async function send(t: TestContext, port: number, parts: Array<string | Buffer>): Promise<number | null> {
  const client = await connect(t, port);
  for (const [i, part] of parts.entries()) {
    if (i > 0) await delay(20);
    await client.write(part).catch(() => {});
  }
  try {
    return (await client.readResponse('GET', PATIENCE_MS)).status;
  } catch {
    assert.ok(client.isClosedByServer, 'closed, not hanging');
    assert.equal(client.bytes.length, 0, 'nothing was sent back');
    return null;
  }
}

test('a valid header from a trusted peer names the client: v1 TCP4/TCP6/UNKNOWN, v2 TCP4/TCP6/LOCAL, split anywhere', async (t) => {
  const { port, clients } = await server(t);
  const cases: Array<[Array<string | Buffer>, string]> = [
    [['PROXY TCP4 203.0.113.7 127.0.0.1 56324 443\r\n' + GET], '203.0.113.7'],
    [['PROXY TCP6 2001:db8::7 ::1 56324 443\r\n', GET], '2001:db8::7'],
    [['PROXY UNKNOWN\r\n' + GET], '127.0.0.1'],
    [[Buffer.concat([V2_TCP4, Buffer.from(GET)])], '192.0.2.10'],
    [[V2_TCP6.subarray(0, 5), V2_TCP6.subarray(5, 20), Buffer.concat([V2_TCP6.subarray(20), Buffer.from(GET)])], '2001:db8::42'],
    [[v2(0, 0x00, Buffer.alloc(0)), GET], '127.0.0.1'], // LOCAL: the proxy's own health check
    [['PRO', 'XY TCP4 198.51.100.1 127.0.0.1 1 2\r', '\n', GET], '198.51.100.1'],
  ];
  for (const [parts] of cases) assert.equal(await send(t, port, parts), 200, JSON.stringify(parts.map(String)));
  await waitUntil(() => clients().length === cases.length, 'a log line each');
  assert.deepEqual(clients(), cases.map(([, client]) => client));
});

test('malformed headers, and a trusted peer that sends none, close the connection without a response; logged once per kind', async (t) => {
  const { port, logs } = await server(t);
  const bad: Array<string | Buffer> = [
    'PROXY TCP4 203.0.113.999 127.0.0.1 1 2\r\n', // not an address
    'PROXY TCP4 2001:db8::1 127.0.0.1 1 2\r\n', // the wrong family
    'PROXY TCP4 203.0.113.7 127.0.0.1 01 2\r\n', // a leading zero
    'PROXY TCP4 203.0.113.7 127.0.0.1 1 65536\r\n', // past 65535
    'PROXY TCP4  203.0.113.7 127.0.0.1 1 2\r\n', // two spaces
    'PROXY UDP4 203.0.113.7 127.0.0.1 1 2\r\n', // not a protocol of v1
    `PROXY TCP4 203.0.113.7 127.0.0.1 1 2${' '.repeat(90)}\r\n`, // past 107 bytes
    'PROXY TCP4 203.0.113.7 127.0.0.1 1 2\n', // a bare LF, and then too long
    Buffer.concat([SIGNATURE, Buffer.from([0x31, 0x11, 0x00, 0x0c]), Buffer.alloc(12)]), // version 3
    Buffer.concat([SIGNATURE, Buffer.from([0x22, 0x11, 0x00, 0x0c]), Buffer.alloc(12)]), // command 2
    v2(1, 0x11, Buffer.alloc(8)), // too short for two IPv4 addresses and ports
    v2(1, 0x21, Buffer.alloc(20)), // too short for IPv6
    v2(1, 0x41, Buffer.alloc(12)), // family 4
    Buffer.concat([SIGNATURE, Buffer.from([0x21, 0x11, 0xff, 0xff])]), // 65535 bytes announced
    GET, // none at all, from a peer that must send one
  ];
  for (const bytes of bad) {
    const padded = typeof bytes === 'string' && bytes.endsWith('\n') ? bytes + GET : bytes;
    assert.equal(await send(t, port, [padded]), null, JSON.stringify(String(bytes)));
  }
  const lines = logs.filter((line) => line.startsWith('spindle: connection closed: '));
  assert.ok(lines.some((line) => /a trusted peer sent no PROXY header/.test(line)), logs.join('\n'));
  assert.equal(new Set(lines).size, lines.length, 'each reason once');
});

test('a header from an untrusted peer is refused; that peer is otherwise served as usual', async (t) => {
  const { port } = await server(t, { trustProxy: ['10.0.0.0/8'] });
  assert.equal(await send(t, port, ['PROXY TCP4 203.0.113.7 127.0.0.1 1 2\r\n' + GET]), null);
  assert.equal(await send(t, port, [Buffer.concat([V2_TCP4, Buffer.from(GET)])]), null);
  assert.equal(await send(t, port, [GET]), 200);
  assert.equal(await send(t, port, ['P', 'OST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n']), 200);
});

test('half a header is closed at the header timeout', async (t) => {
  const { port } = await server(t, { headerTimeoutMs: 300 });
  const client = await connect(t, port);
  const started = Date.now();
  await client.write('PROXY TCP4 203.0.113.7');
  assert.ok(await client.waitForClose(PATIENCE_MS));
  assert.ok(Date.now() - started >= 250 && Date.now() - started < 2000, `${Date.now() - started} ms`);
});

test('a PROXY header before a TLS handshake (a TCP load balancer in front of HTTPS)', async (t) => {
  const { a, ca } = testCertificates();
  const { port, clients } = await server(t, { tls: a });
  const raw = await connect(t, port);
  await raw.write('PROXY TCP4 203.0.113.9 127.0.0.1 40000 443\r\n');
  const secure = tls.connect({ socket: raw.socket, servername: 'localhost', ca: readFileSync(ca) });
  await new Promise<void>((resolve, reject) => secure.once('secureConnect', resolve).once('error', reject));
  const text = await new Promise<string>((resolve) => {
    let got = '';
    secure.on('data', (d: Buffer) => {
      got += d.toString('latin1');
      if (got.includes('</html>')) resolve(got);
    });
    secure.write('GET / HTTP/1.1\r\nHost: localhost\r\n\r\n');
  });
  assert.match(text, /^HTTP\/1\.1 200 /);
  secure.destroy();
  await waitUntil(() => clients().length === 1, 'logged');
  assert.deepEqual(clients(), ['203.0.113.9']);
});

test('parseProxyHeader: not a header, more needed, whole', () => {
  assert.deepEqual(parseProxyHeader(Buffer.from('GET / HTTP/1.1')), { kind: 'none' });
  assert.deepEqual(parseProxyHeader(Buffer.from('POST')), { kind: 'none' });
  assert.deepEqual(parseProxyHeader(Buffer.from('PROX')), { kind: 'more' });
  assert.deepEqual(parseProxyHeader(Buffer.from('PROXY TCP4 1.2.3.4')), { kind: 'more' });
  assert.deepEqual(parseProxyHeader(V2_TCP4.subarray(0, 14)), { kind: 'more' });
  assert.deepEqual(parseProxyHeader(V2_TCP4.subarray(0, 20)), { kind: 'more' });
  assert.deepEqual(parseProxyHeader(V2_TCP4), { kind: 'header', length: V2_TCP4.length, source: '192.0.2.10' });
  assert.deepEqual(parseProxyHeader(Buffer.from('PROXY TCP4 1.2.3.4 5.6.7.8 0 65535\r\nGET')), { kind: 'header', length: 36, source: '1.2.3.4' });
});
