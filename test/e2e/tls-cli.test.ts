// HTTPS from the command line: the flags and their errors, a pair that
// cannot be used at start (exit 1), an encrypted key, SIGHUP reloading the
// files while a keep-alive connection stays open, --redirect-http and --hsts.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { copyFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { assertResponse, connect, header, makeTempDir, runCli, startCli, waitUntil } from '../helpers.js';
import { connectTls, testCertificates, tlsConnect } from '../tls-helpers.js';

async function assertExit(args: string[], code: number, culprit: RegExp): Promise<void> {
  const result = await runCli(args);
  assert.equal(result.code, code, `${args.join(' ')}: ${result.stderr}`);
  assert.equal(result.stdout, '');
  assert.equal(result.stderr.split('\n').length, 2, `one line: ${JSON.stringify(result.stderr)}`);
  assert.match(result.stderr, culprit);
}

test('TLS flags that do not go together are usage errors (exit 2)', async () => {
  const { a } = testCertificates();
  await assertExit(['--tls-cert', a.cert], 2, /give each --tls-cert its --tls-key/);
  await assertExit(['--tls-cert', a.cert, '--tls-key', a.key, '--tls-cert', a.cert], 2, /2 certificates, 1 keys/);
  await assertExit(['--hsts', '60'], 2, /--hsts needs --tls-cert/);
  await assertExit(['--redirect-http', '8080'], 2, /--redirect-http needs --tls-cert/);
  await assertExit(['--tls-cert', a.cert, '--tls-key', a.key, '--tls-min-version', '1.0'], 2, /--tls-min-version/);
});

test('a pair that cannot be used at start is an error: exit 1, one line', async () => {
  const { a, b, expired, encrypted } = testCertificates();
  await assertExit(['--port', '0', '--tls-cert', a.cert, '--tls-key', b.key], 1, /the key does not match the certificate/);
  await assertExit(['--port', '0', '--tls-cert', expired.cert, '--tls-key', expired.key], 1, /the certificate expired on 2020-01-02/);
  await assertExit(['--port', '0', '--tls-cert', '/nonexistent.pem', '--tls-key', a.key], 1, /cannot read the certificate file \/nonexistent\.pem: ENOENT/);
  await assertExit(['--port', '0', '--tls-cert', encrypted.cert, '--tls-key', encrypted.key], 1, /the key is encrypted: give its passphrase/);
});

test('--tls-key-passphrase-file opens an encrypted key; the listening line says https', async (t) => {
  const { encrypted, passphraseFile } = testCertificates();
  const cli = await startCli(t, ['--port', '0', '--threads', '1', '--tls-cert', encrypted.cert, '--tls-key', encrypted.key, '--tls-key-passphrase-file', passphraseFile]);
  assert.match(cli.url, /^https:\/\/127\.0\.0\.1:\d+$/);
  assert.match(cli.stderr(), /certificate .*b\.pem: b\.test, expires \d{4}-\d\d-\d\d/);
  const client = await connectTls(t, cli.port, { servername: 'b.test' });
  await client.write('GET / HTTP/1.1\r\nHost: b.test\r\n\r\n');
  assertResponse(await client.readResponse(), 200);
});

function peerNames(socket: Awaited<ReturnType<typeof tlsConnect>>): string {
  return new X509Certificate(socket.getPeerX509Certificate()!.raw).subjectAltName ?? '';
}

test('SIGHUP reloads the files for new handshakes while a keep-alive connection keeps working; a bad pair keeps the old', async (t) => {
  const { a, b } = testCertificates();
  const dir = makeTempDir(t, 'hup');
  const cert = path.join(dir, 'cert.pem');
  const key = path.join(dir, 'key.pem');
  copyFileSync(a.cert, cert);
  copyFileSync(a.key, key);
  const cli = await startCli(t, ['--port', '0', '--threads', '1', '--tls-cert', cert, '--tls-key', key]);
  const open = await connectTls(t, cli.port);
  await open.write('GET / HTTP/1.1\r\nHost: localhost\r\n\r\n');
  assertResponse(await open.readResponse(), 200);

  copyFileSync(b.cert, cert);
  copyFileSync(b.key, key);
  cli.child.kill('SIGHUP');
  await waitUntil(() => cli.stderr().includes('certificates reloaded'), 'the reload is logged');
  assert.match(cli.stderr(), /reloaded .*cert\.pem: b\.test, expires/);
  const fresh = await tlsConnect(cli.port, { servername: 'b.test' });
  assert.match(peerNames(fresh), /DNS:b\.test/);
  fresh.destroy();
  await open.write('GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n');
  assertResponse(await open.readResponse(), 200);

  copyFileSync(a.key, key); // no longer b's key
  cli.child.kill('SIGHUP');
  await waitUntil(() => cli.stderr().includes('TLS reload failed'), 'the failed reload is logged');
  assert.match(cli.stderr(), /TLS reload failed, still using the certificates loaded before: .*the key does not match the certificate\n/);
  const still = await tlsConnect(cli.port, { servername: 'b.test' });
  assert.match(peerNames(still), /DNS:b\.test/);
  still.destroy();
  assert.equal(cli.child.exitCode, null, 'still running');
});

test('SIGHUP without TLS reloads the application and does not stop the server', async (t) => {
  const cli = await startCli(t, ['--port', '0', '--threads', '1']);
  cli.child.kill('SIGHUP');
  await waitUntil(() => cli.stderr().includes('application reloaded'), 'the reload is logged');
  const client = await connect(t, cli.port);
  await client.write('GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n');
  assertResponse(await client.readResponse(), 200);
});

test('--redirect-http answers 308 to the same path on HTTPS, except /healthz; --hsts on HTTPS responses', async (t) => {
  const { a } = testCertificates();
  const cli = await startCli(t, ['--port', '0', '--threads', '1', '--tls-cert', a.cert, '--tls-key', a.key, '--redirect-http', '0', '--hsts', '600']);
  await waitUntil(() => /Spindle redirecting http:\/\/127\.0\.0\.1:\d+ to HTTPS\n/.test(cli.stdout()), 'the redirect line');
  const redirectPort = Number(/redirecting http:\/\/127\.0\.0\.1:(\d+)/.exec(cli.stdout())![1]);
  const client = await connect(t, redirectPort);
  await client.write(
    'GET /some/path?q=1 HTTP/1.1\r\nHost: localhost:' + redirectPort + '\r\n\r\n' +
    'POST /form HTTP/1.1\r\nHost: example.test\r\nContent-Length: 3\r\n\r\nabc' +
    'GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n',
  );
  const [get, post, health] = await client.readResponses(3);
  assertResponse(get, 308);
  assert.equal(header(get, 'location'), `https://localhost:${cli.port}/some/path?q=1`);
  assertResponse(post, 308);
  assert.equal(header(post, 'location'), `https://example.test:${cli.port}/form`);
  assertResponse(health, 200);
  assert.equal(header(health, 'strict-transport-security'), undefined, 'no HSTS over plain HTTP');
  const secure = await connectTls(t, cli.port);
  await secure.write('GET / HTTP/1.1\r\nHost: localhost\r\n\r\n');
  const response = await secure.readResponse();
  assertResponse(response, 200);
  assert.equal(header(response, 'strict-transport-security'), 'max-age=600');
});
