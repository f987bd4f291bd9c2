// Bad input and slow clients on the TLS side cost what they cost over plain
// HTTP: silence and half a ClientHello are closed within the header timeout,
// garbage ends its own connection only (logged once per cause), plain HTTP
// on the HTTPS port gets a 400 that says so. And reload: new handshakes get
// the new certificate while an open connection keeps working.
import assert from 'node:assert/strict';
import { copyFileSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import path from 'node:path';
import { test } from 'node:test';
import { assertResponse, connect, exchange, makeTempDir, PATIENCE_MS, startServer } from '../helpers.js';
import { connectTls, testCertificates, tlsConnect } from '../tls-helpers.js';

const HEADER_TIMEOUT_MS = 400;

/** The first 11 bytes of a ClientHello record: its header promises 512 bytes that never come. */
const HALF_HELLO = Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03]);
/** A handshake record with a version that no TLS has. */
const GARBAGE = Buffer.from([0x16, 0x09, 0x09, 0x00, 0x05, 1, 2, 3, 4, 5]);

async function closedWithin(t: Parameters<typeof connect>[0], port: number, bytes: Buffer | null): Promise<number> {
  const client = await connect(t, port);
  const start = Date.now();
  if (bytes !== null) await client.write(bytes);
  assert.ok(await client.waitForClose(PATIENCE_MS), 'the server closes the connection');
  assert.equal(client.bytes.length === 0 || client.bytes[0] === 0x15, true, 'nothing but a TLS alert is sent');
  return Date.now() - start;
}

test('a client that sends nothing, or half a ClientHello, is closed within the header timeout', async (t) => {
  const { a } = testCertificates();
  const { port } = await startServer(t, { tls: a, threads: 1, headerTimeoutMs: HEADER_TIMEOUT_MS });
  const [silent, half] = await Promise.all([closedWithin(t, port, null), closedWithin(t, port, HALF_HELLO)]);
  for (const ms of [silent, half]) {
    assert.ok(ms >= HEADER_TIMEOUT_MS - 50, `not before the timeout (${ms} ms)`);
    assert.ok(ms < HEADER_TIMEOUT_MS + 1500, `soon after it (${ms} ms)`);
  }
});

test('a garbage handshake ends that connection only, logged once for many', async (t) => {
  const { a } = testCertificates();
  const { port, logs } = await startServer(t, { tls: a, threads: 1 });
  const established = await connectTls(t, port);
  await established.write('GET / HTTP/1.1\r\nHost: localhost\r\n\r\n');
  assertResponse(await established.readResponse(), 200);
  await Promise.all(Array.from({ length: 20 }, () => closedWithin(t, port, GARBAGE)));
  // the established connection goes on
  await established.write('GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n');
  assertResponse(await established.readResponse(), 200);
  const lines = logs.filter((line) => line.includes('TLS handshake failed'));
  assert.equal(lines.length, 1, logs.join('\n'));
  assert.match(lines[0], /ERR_SSL_WRONG_VERSION_NUMBER/);
});

test('plain HTTP sent to the HTTPS port gets 400 saying so, and the connection is closed', async (t) => {
  const { a } = testCertificates();
  const { port } = await startServer(t, { tls: a, threads: 1 });
  for (const request of [
    'GET / HTTP/1.1\r\nHost: localhost\r\n\r\n',
    'OPTIONS * HTTP/1.1\r\nHost: localhost\r\n\r\n',
    'POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: 4\r\n\r\nbody',
  ]) {
    const result = await exchange(t, port, request);
    assert.ok(result.isClosed, 'closed by the server');
    assert.equal(result.responses.length, 1, result.text);
    assertResponse(result.responses[0], 400, { isClosing: true });
    assert.match(result.responses[0].body.toString(), /^This port speaks HTTPS: .*\n$/);
  }
});

test('a request the parser rejects on the HTTPS port still gets its own status', async (t) => {
  const { a } = testCertificates();
  const { port } = await startServer(t, { tls: a, threads: 1 });
  const client = await connectTls(t, port);
  await client.write('GET / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n');
  assertResponse(await client.readResponse(), 400, { isClosing: true });
});

test('reloadTls: new handshakes get the new pair, an open connection keeps working; a bad pair keeps the old one', async (t) => {
  const { a, b } = testCertificates();
  const dir = makeTempDir(t, 'reload');
  const live = { cert: path.join(dir, 'cert.pem'), key: path.join(dir, 'key.pem') };
  copyFileSync(a.cert, live.cert);
  copyFileSync(a.key, live.key);
  const { server, port, logs } = await startServer(t, { tls: live, threads: 1 });
  const open = await connectTls(t, port);
  const ticket = new Promise<Buffer>((resolve) => open.socket.once('session', resolve));
  await open.write('GET / HTTP/1.1\r\nHost: localhost\r\n\r\n');
  assertResponse(await open.readResponse(), 200);

  copyFileSync(b.cert, live.cert);
  copyFileSync(b.key, live.key);
  assert.equal(server.reloadTls(), true);
  assert.ok(logs.some((line) => /reloaded .*b\.test, expires \d{4}-\d\d-\d\d/.test(line)), logs.join('\n'));
  const fresh = await tlsConnect(port, { servername: 'b.test' });
  assert.match(new X509Certificate(fresh.getPeerX509Certificate()!.raw).subjectAltName!, /DNS:b\.test/);
  fresh.destroy();
  await open.write('GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n');
  assertResponse(await open.readResponse(), 200); // still the old certificate's connection: localhost is covered
  // A ticket issued before the reload still resumes: the ticket keys outlive it.
  const resumed = await tlsConnect(port, { session: await ticket, servername: 'b.test' });
  assert.equal(resumed.isSessionReused(), true);
  resumed.destroy();

  // A key that does not match its certificate: the old pair stays, one line says why.
  copyFileSync(a.key, live.key);
  const before = logs.length;
  assert.equal(server.reloadTls(), false);
  const failed = logs.slice(before);
  assert.equal(failed.length, 1, failed.join('\n'));
  assert.match(failed[0], /TLS reload failed, still using the certificates loaded before: .*the key does not match the certificate/);
  const after = await tlsConnect(port, { servername: 'b.test' });
  assert.match(new X509Certificate(after.getPeerX509Certificate()!.raw).subjectAltName!, /DNS:b\.test/);
  after.destroy();
});

test('the library refuses a pair that cannot be used, with one clear message', async (t) => {
  const { a, b, expired, encrypted, passphraseFile } = testCertificates();
  const { createServer } = await import('../../src/index.js');
  assert.throws(() => createServer({ tls: { cert: a.cert, key: b.key } }), /the key does not match the certificate/);
  assert.throws(() => createServer({ tls: expired }), /the certificate expired on 2020-01-02/);
  assert.throws(() => createServer({ tls: { cert: a.cert, key: '/nonexistent/key.pem' } }), /cannot read the key file .*ENOENT/);
  assert.throws(() => createServer({ tls: encrypted }), /the key is encrypted: give its passphrase/);
  assert.throws(() => createServer({ tls: { ...encrypted, passphrase: 'wrong' } }), /the passphrase does not open it/);
  const { port } = await startServer(t, { tls: { ...encrypted, passphrase: { file: passphraseFile } }, threads: 1 });
  const socket = await tlsConnect(port, { servername: 'b.test' });
  socket.destroy();
});

test('a certificate expiring within 14 days is logged with a warning at start', async (t) => {
  const { soon } = testCertificates();
  const { logs } = await startServer(t, { tls: soon, threads: 1 });
  assert.ok(logs.some((line) => /certificate .*soon\.pem: localhost, 127\.0\.0\.1, expires/.test(line)), logs.join('\n'));
  assert.ok(logs.some((line) => /warning: .*soon\.pem expires in [23] days/.test(line)), logs.join('\n'));
});
