// Certificates made at test time with the openssl command (no key is ever
// committed), and a raw TLS client. One set per test process, made on first
// use in a temporary directory that is removed when the process exits.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestContext } from 'node:test';
import tls from 'node:tls';
import { RawClient } from './helpers.js';

export interface Pair {
  cert: string;
  key: string;
}

export interface TestCertificates {
  dir: string;
  /** the test CA that signed a, b, soon and encrypted */
  ca: string;
  /** localhost, *.a.test, 127.0.0.1 and ::1 */
  a: Pair;
  /** b.test only */
  b: Pair;
  /** a.test's names, valid for 3 more days: a warning at load */
  soon: Pair;
  /** self-signed, expired in 2020 */
  expired: Pair;
  /** b.test, its key encrypted with the passphrase in passphraseFile */
  encrypted: Pair;
  passphraseFile: string;
}

let made: TestCertificates | null = null;

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A leaf signed by the test CA. */
function leaf(dir: string, name: string, subject: string, altNames: string, days: number): Pair {
  const key = path.join(dir, `${name}.key`);
  const cert = path.join(dir, `${name}.pem`);
  openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', key], dir);
  openssl(['req', '-new', '-key', key, '-subj', `/CN=${subject}`, '-out', `${name}.csr`], dir);
  writeFileSync(path.join(dir, `${name}.ext`), `subjectAltName=${altNames}\n`);
  openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', String(days), '-extfile', `${name}.ext`, '-out', cert], dir);
  return { cert, key };
}

export function testCertificates(): TestCertificates {
  if (made !== null) return made;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'spindle-tls-'));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '30', '-subj', '/CN=Spindle Test CA'], dir);
  const a = leaf(dir, 'a', 'localhost', 'DNS:localhost,DNS:*.a.test,IP:127.0.0.1,IP:::1', 30);
  const b = leaf(dir, 'b', 'b.test', 'DNS:b.test', 30);
  const soon = leaf(dir, 'soon', 'localhost', 'DNS:localhost,IP:127.0.0.1', 3);
  // Expired: `openssl ca` is the one command of OpenSSL 3.0 that sets dates in the past.
  writeFileSync(path.join(dir, 'index.txt'), '');
  writeFileSync(path.join(dir, 'serial'), '01\n');
  writeFileSync(path.join(dir, 'ca.cnf'), '[ca]\ndefault_ca = d\n[d]\ndatabase = index.txt\nnew_certs_dir = .\nserial = serial\ndefault_md = sha256\npolicy = p\n[p]\ncommonName = supplied\n');
  openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', 'expired.key'], dir);
  openssl(['req', '-new', '-key', 'expired.key', '-subj', '/CN=localhost', '-out', 'expired.csr'], dir);
  openssl(['ca', '-batch', '-config', 'ca.cnf', '-selfsign', '-keyfile', 'expired.key', '-in', 'expired.csr', '-startdate', '20200101000000Z', '-enddate', '20200102000000Z', '-out', 'expired.pem'], dir);
  const passphraseFile = path.join(dir, 'passphrase.txt');
  writeFileSync(passphraseFile, 'correct horse battery staple\n');
  const encryptedKey = path.join(dir, 'encrypted.key');
  openssl(['pkey', '-in', b.key, '-aes-256-cbc', '-passout', `file:${passphraseFile}`, '-out', encryptedKey], dir);
  made = {
    dir,
    ca: path.join(dir, 'ca.pem'),
    a,
    b,
    soon,
    expired: { cert: path.join(dir, 'expired.pem'), key: path.join(dir, 'expired.key') },
    encrypted: { cert: b.cert, key: encryptedKey },
    passphraseFile,
  };
  return made;
}

/** Opens a TLS connection to 127.0.0.1:port; rejects with the handshake error. */
export function tlsConnect(port: number, options: tls.ConnectionOptions = {}): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ port, host: '127.0.0.1', ca: readCa(), servername: 'localhost', ...options });
    socket.once('secureConnect', () => {
      socket.off('error', reject);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

/** A RawClient over TLS, destroyed when the test ends. */
export async function connectTls(t: TestContext, port: number, options: tls.ConnectionOptions = {}): Promise<RawClient> {
  const client = new RawClient(await tlsConnect(port, options));
  t.after(() => client.destroy());
  return client;
}

let caPem: string | null = null;

function readCa(): string {
  caPem ??= readFileSync(testCertificates().ca, 'utf8');
  return caPem;
}
