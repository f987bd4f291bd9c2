// HTTPS through the same engine: curl and fetch with the test CA, a raw TLS
// client for pipelining, streaming both ways, SNI and 421, ALPN, versions,
// session resumption. Bad input on the TLS side is in tls-faults.test.ts,
// the command line and SIGHUP in tls-cli.test.ts.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { test } from 'node:test';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';
import { assertResponse, header, makeTempDir, PATIENCE_MS, runCurl, startServer } from '../helpers.js';
import { connectTls, testCertificates, tlsConnect } from '../tls-helpers.js';

const URL_APP = fileURLToPath(new URL('../fixtures/url-app.js', import.meta.url));

function certs() {
  return testCertificates();
}

function peerNames(socket: tls.TLSSocket): string {
  return new X509Certificate(socket.getPeerX509Certificate()!.raw).subjectAltName ?? '';
}

test('curl over HTTPS with the test CA: the demo answers, with HSTS when asked', async (t) => {
  const { a, ca } = certs();
  const { port } = await startServer(t, { tls: a, hstsMaxAge: 31536000, threads: 1 });
  const result = await runCurl(['-sS', '--cacert', ca, '-D', '-', '-o', '/dev/null', `https://localhost:${port}/`]);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /^HTTP\/1\.1 200 OK\r\n/);
  assert.match(result.stdout, /\r\nStrict-Transport-Security: max-age=31536000\r\n/i);
  // and by IP address, which the certificate also names
  const byIp = await runCurl(['-sS', '--cacert', ca, '-o', '/dev/null', '-w', '%{http_code}', `https://127.0.0.1:${port}/`]);
  assert.equal(byIp.stdout, '200', byIp.stderr);
});

test('the application sees https: in request.url', async (t) => {
  const { a, ca } = certs();
  const { port } = await startServer(t, { tls: a, app: URL_APP, threads: 1 });
  const result = await runCurl(['-sS', '--cacert', ca, `https://localhost:${port}/x?y=1`]);
  assert.equal(result.stdout, `https://localhost:${port}/x?y=1`, result.stderr);
});

test("fetch (Node's, trusting the test CA) GETs and POSTs over HTTPS", async (t) => {
  const { a, ca } = certs();
  const { port } = await startServer(t, { tls: a, threads: 1 });
  const script = `
    const base = 'https://localhost:${port}';
    const get = await fetch(base + '/');
    const post = await fetch(base + '/echo', { method: 'POST', body: 'over tls' });
    console.log(JSON.stringify({ get: get.status, post: post.status, echo: await post.text() }));`;
  const output = await new Promise<string>((resolve, reject) => {
    execFile(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, NODE_EXTRA_CA_CERTS: ca }, timeout: PATIENCE_MS * 2 }, (err, stdout, stderr) => {
      if (err !== null) reject(new Error(`${err.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
  assert.deepEqual(JSON.parse(output), { get: 200, post: 200, echo: 'over tls' });
});

test('pipelined requests over TLS are answered in order on one connection', async (t) => {
  const { a } = certs();
  const { port } = await startServer(t, { tls: a, threads: 1 });
  const client = await connectTls(t, port);
  await client.write(
    'GET /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: 3\r\n\r\none' +
    'GET / HTTP/1.1\r\nHost: localhost\r\n\r\n' +
    'POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\n\r\nthree',
  );
  const [first, second, third] = await client.readResponses(3);
  assertResponse(first, 200);
  assert.equal(first.body.toString(), 'one');
  assertResponse(second, 200);
  assertResponse(third, 200, { isClosing: false });
  assert.equal(third.body.toString(), 'three');
});

test('streamed responses and uploads work over TLS', async (t) => {
  const { a, ca } = certs();
  const { port } = await startServer(t, { tls: a, threads: 1, maxBodyBytes: 64 * 1024 * 1024 });
  const down = await runCurl(['-sS', '--cacert', ca, '-o', '/dev/null', '-w', '%{http_code} %{size_download}', `https://localhost:${port}/stream?bytes=8388608`]);
  assert.equal(down.stdout, '200 8388608', down.stderr);
  const upload = Buffer.alloc(4 * 1024 * 1024, 'u');
  const up = await runCurl(['-sS', '--cacert', ca, '--data-binary', '@-', '-H', 'Content-Type: application/octet-stream', `https://localhost:${port}/upload`], upload);
  assert.equal(up.code, 0, up.stderr);
  assert.match(up.stdout, /4194304/);
});

test('static files over HTTPS: whole, by range, and conditional', async (t) => {
  const { a, ca } = certs();
  const { writeFileSync } = await import('node:fs');
  const path = await import('node:path');
  const root = makeTempDir(t, 'tls-static');
  const content = Buffer.alloc(300_000, 'f');
  writeFileSync(path.join(root, 'file.bin'), content);
  const { port } = await startServer(t, { tls: a, static: { root } });
  const url = `https://localhost:${port}/file.bin`;
  const whole = await runCurl(['-sS', '--cacert', ca, '-o', '/dev/null', '-w', '%{http_code} %{size_download}', url]);
  assert.equal(whole.stdout, '200 300000', whole.stderr);
  const range = await runCurl(['-sS', '--cacert', ca, '-r', '100-199', '-w', ' %{http_code}', url]);
  assert.equal(range.stdout, 'f'.repeat(100) + ' 206', range.stderr);
  const etag = /etag: (\S+)/i.exec((await runCurl(['-sS', '--cacert', ca, '-I', url])).stdout)![1];
  const conditional = await runCurl(['-sS', '--cacert', ca, '-o', '/dev/null', '-w', '%{http_code}', '-H', `If-None-Match: ${etag}`, url]);
  assert.equal(conditional.stdout, '304', conditional.stderr);
});

test('SNI chooses the certificate whose names match, the first one otherwise', async (t) => {
  const { a, b } = certs();
  const { port } = await startServer(t, { tls: { certificates: [a, b] }, threads: 1 });
  const cases: Array<[string | undefined, RegExp]> = [
    ['b.test', /DNS:b\.test/],
    ['localhost', /DNS:localhost/],
    ['www.a.test', /DNS:localhost/], // the wildcard *.a.test
    ['B.TEST', /DNS:b\.test/], // names compare case-insensitively
    ['unknown.test', /DNS:localhost/], // no match: the first pair
  ];
  for (const [servername, expected] of cases) {
    const socket = await tlsConnect(port, { servername, rejectUnauthorized: false });
    assert.match(peerNames(socket), expected, `SNI ${servername}`);
    socket.destroy();
  }
});

test('a Host the connection\'s certificate does not cover is 421, and the connection stays usable', async (t) => {
  const { a, b } = certs();
  const { port } = await startServer(t, { tls: { certificates: [a, b] }, threads: 1 });
  const client = await connectTls(t, port, { servername: 'b.test' });
  await client.write('GET / HTTP/1.1\r\nHost: localhost\r\n\r\nGET / HTTP/1.1\r\nHost: b.test:443\r\n\r\nGET / HTTP/1.1\r\nHost: x.a.test\r\n\r\n');
  const [misdirected, right, wildcardOfOther] = await client.readResponses(3);
  assertResponse(misdirected, 421, { isClosing: false });
  assertResponse(right, 200);
  assertResponse(wildcardOfOther, 421);
  // On a connection that got the first certificate: its wildcard covers one label, not two.
  const other = await connectTls(t, port, { servername: 'localhost' });
  await other.write('GET / HTTP/1.1\r\nHost: www.a.test\r\n\r\nGET / HTTP/1.1\r\nHost: a.b.a.test\r\n\r\nGET / HTTP/1.1\r\nHost: [::1]:8443\r\n\r\n');
  const [wildcard, twoLabels, ipv6] = await other.readResponses(3);
  assertResponse(wildcard, 200);
  assertResponse(twoLabels, 421);
  assertResponse(ipv6, 200);
  // The server's own /healthz answers whatever the Host: a Kubernetes HTTPS probe sends the pod's IP.
  await other.write('GET /healthz HTTP/1.1\r\nHost: 10.1.2.3:8443\r\n\r\nGET /healthz/x HTTP/1.1\r\nHost: 10.1.2.3:8443\r\n\r\n');
  const [probe, notHealth] = await other.readResponses(2);
  assertResponse(probe, 200);
  assertResponse(notHealth, 421);
});

test('ALPN: http/1.1 is chosen; a client offering only h2 is refused with no_application_protocol', async (t) => {
  const { a } = certs();
  const { port, logs } = await startServer(t, { tls: a, threads: 1 });
  const socket = await tlsConnect(port, { ALPNProtocols: ['h2', 'http/1.1'] });
  assert.equal(socket.alpnProtocol, 'http/1.1');
  socket.destroy();
  await assert.rejects(tlsConnect(port, { ALPNProtocols: ['h2'] }), /no application protocol/);
  assert.ok(logs.some((line) => /TLS handshake failed \(ERR_SSL_NO_APPLICATION_PROTOCOL\)/.test(line)), logs.join('\n'));
});

test('TLS 1.2 and 1.3 only by default, forward-secret AEAD suites only; minVersion TLSv1.3 refuses 1.2', async (t) => {
  const { a } = certs();
  const { port } = await startServer(t, { tls: a, threads: 1 });
  assert.equal((await tlsConnect(port)).getProtocol(), 'TLSv1.3');
  assert.equal((await tlsConnect(port, { maxVersion: 'TLSv1.2' })).getProtocol(), 'TLSv1.2');
  await assert.rejects(tlsConnect(port, { minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' }));
  // Forward-secret AEAD suites only: a TLS 1.2 client with nothing but CBC or static-RSA suites is refused.
  await assert.rejects(tlsConnect(port, { maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA384:AES128-GCM-SHA256' }));
  assert.equal((await tlsConnect(port, { maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-CHACHA20-POLY1305' })).getCipher().name, 'ECDHE-ECDSA-CHACHA20-POLY1305');
  const strict = await startServer(t, { tls: { ...a, minVersion: 'TLSv1.3' }, threads: 1 });
  await assert.rejects(tlsConnect(strict.port, { maxVersion: 'TLSv1.2' }));
  assert.equal((await tlsConnect(strict.port)).getProtocol(), 'TLSv1.3');
});

test('sessions resume: a TLS 1.3 ticket, and openssl s_client -reconnect on TLS 1.2', async (t) => {
  const { a, ca } = certs();
  const { port } = await startServer(t, { tls: a, threads: 1 });
  // TLS 1.3 sends its ticket after the handshake: read a response first.
  const first = await tlsConnect(port);
  const session = new Promise<Buffer>((resolve) => first.once('session', resolve));
  first.write('GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n');
  const ticket = await session;
  first.destroy();
  const second = await tlsConnect(port, { session: ticket });
  assert.equal(second.isSessionReused(), true);
  second.destroy();

  const output = await new Promise<string>((resolve) => {
    const child = spawn('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, '-tls1_2', '-reconnect', '-CAfile', ca], { stdio: ['pipe', 'pipe', 'ignore'] });
    let text = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (text += s));
    child.stdin.end();
    const timer = setTimeout(() => child.kill(), PATIENCE_MS * 2);
    child.on('close', () => {
      clearTimeout(timer);
      resolve(text);
    });
  });
  assert.match(output, /^New, TLSv1\.2/m);
  assert.match(output, /^Reused, TLSv1\.2/m);
});

test('the library takes PEM text as well as paths', async (t) => {
  const { a, ca } = certs();
  const { readFileSync } = await import('node:fs');
  const { port } = await startServer(t, { tls: { cert: readFileSync(a.cert, 'utf8'), key: readFileSync(a.key, 'utf8') }, threads: 1 });
  const result = await runCurl(['-sS', '--cacert', ca, '-o', '/dev/null', '-w', '%{http_code}', `https://localhost:${port}/healthz`]);
  assert.equal(result.stdout, '200', result.stderr);
});

test('a response carries no HSTS unless asked', async (t) => {
  const { a } = certs();
  const { port } = await startServer(t, { tls: a, threads: 1 });
  const client = await connectTls(t, port);
  await client.write('GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n');
  const response = await client.readResponse();
  assertResponse(response, 200);
  assert.equal(header(response, 'strict-transport-security'), undefined);
});
