// Certificates: each key pair read, checked and made into a secure context,
// with the host names it covers, so a handshake can choose one by its SNI
// name and a request can be checked against the one its connection used.
//
// A pair is checked before it is used, at start-up and at each reload: the
// key must be the certificate's, and the certificate must not have expired.
// A pair that fails is an error with one clear line, never a half-loaded one.
import { X509Certificate, constants, createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { createSecureContext, type SecureContext, type SecureVersion } from 'node:tls';

/** One certificate and its key: PEM text, or the path of a PEM file (re-read at each reload). */
export interface CertificateSource {
  cert: string;
  key: string;
  /** for an encrypted key: the passphrase, or `{ file }` to read it from a file */
  passphrase?: string | { file: string };
}

export interface LoadedCertificate {
  /** the DNS names (lower case, `*.` wildcards kept) and IP addresses it is valid for */
  names: string[];
  validTo: Date;
  context: SecureContext;
  /** where it came from, for log lines: the certificate's path, or "certificate N" */
  label: string;
}

export interface ContextSettings {
  minVersion: SecureVersion;
  /**
   * 48 random bytes that encrypt session tickets, shared by every context:
   * a ticket resumes under whichever certificate SNI picks, and after a reload.
   */
  ticketKeys: Buffer;
}

/** A certificate or key that cannot be used; the message is one line for the log. */
export class CertificateError extends Error {}

/**
 * No renegotiation: a client-initiated one costs the server a full
 * handshake for free (a denial-of-service lever), and TLS 1.3 has none.
 */
const SECURE_OPTIONS = constants.SSL_OP_NO_RENEGOTIATION;

/**
 * Mozilla's "intermediate" profile (without its DHE suites, which need
 * Diffie-Hellman parameters): Node's default list less the CBC and
 * non-forward-secret suites that its "HIGH" brings in. Every suite is an
 * AEAD with an ephemeral key exchange; any browser of the last ten years and
 * curl, wget and Node share at least one of them.
 */
export const CIPHERS = [
  'TLS_AES_128_GCM_SHA256', 'TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256',
  'ECDHE-ECDSA-AES128-GCM-SHA256', 'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384', 'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305', 'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');

const PEM_MARK = '-----BEGIN';

/** Loads every pair, in order; throws CertificateError for the first that fails. */
export function loadCertificates(sources: readonly CertificateSource[], settings: ContextSettings, now = new Date()): LoadedCertificate[] {
  if (sources.length === 0) throw new CertificateError('no certificate given');
  return sources.map((source, i) => loadCertificate(source, i + 1, settings, now));
}

function loadCertificate(source: CertificateSource, index: number, settings: ContextSettings, now: Date): LoadedCertificate {
  const label = isPem(source.cert) ? `certificate ${index}` : source.cert;
  const certPem = readPem(source.cert, 'certificate', label);
  const keyPem = readPem(source.key, 'key', label);
  const passphrase = readPassphrase(source.passphrase, label);
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(certPem);
  } catch (err) {
    throw new CertificateError(`${label}: not a PEM certificate (${firstLine(err)})`);
  }
  let key;
  try {
    key = createPrivateKey({ key: keyPem, passphrase });
  } catch (err) {
    const isEncrypted = /ENCRYPTED/.test(keyPem);
    const reason = isEncrypted && passphrase === undefined ? 'the key is encrypted: give its passphrase (--tls-key-passphrase-file)'
      : isEncrypted ? 'the key is encrypted and the passphrase does not open it'
        : firstLine(err);
    throw new CertificateError(`${label}: cannot read its key: ${reason}`);
  }
  if (!certificate.checkPrivateKey(key)) throw new CertificateError(`${label}: the key does not match the certificate`);
  const validTo = new Date(certificate.validTo);
  if (validTo.getTime() <= now.getTime()) throw new CertificateError(`${label}: the certificate expired on ${validTo.toISOString()}`);
  let context: SecureContext;
  try {
    context = createSecureContext({
      cert: certPem,
      key: keyPem,
      passphrase,
      minVersion: settings.minVersion,
      ciphers: CIPHERS,
      secureOptions: SECURE_OPTIONS,
      honorCipherOrder: true,
      ticketKeys: settings.ticketKeys,
    });
  } catch (err) {
    throw new CertificateError(`${label}: ${firstLine(err)}`);
  }
  return { names: namesOf(certificate), validTo, context, label };
}

function isPem(text: string): boolean {
  return text.includes(PEM_MARK);
}

function readPem(source: string, what: string, label: string): string {
  if (isPem(source)) return source;
  try {
    return readFileSync(source, 'utf8');
  } catch (err) {
    throw new CertificateError(`${label}: cannot read the ${what} file ${source}: ${(err as NodeJS.ErrnoException).code ?? firstLine(err)}`);
  }
}

function readPassphrase(passphrase: CertificateSource['passphrase'], label: string): string | undefined {
  if (passphrase === undefined || typeof passphrase === 'string') return passphrase;
  try {
    // A file written by an editor ends with a newline that is not part of it.
    return readFileSync(passphrase.file, 'utf8').replace(/\r?\n$/, '');
  } catch (err) {
    throw new CertificateError(`${label}: cannot read the passphrase file ${passphrase.file}: ${(err as NodeJS.ErrnoException).code ?? firstLine(err)}`);
  }
}

/** Subject alternative names; the subject's common name only when there are none (RFC 6125 §6.4.4). */
function namesOf(certificate: X509Certificate): string[] {
  const names: string[] = [];
  for (const entry of (certificate.subjectAltName ?? '').split(', ')) {
    if (entry.startsWith('DNS:')) names.push(entry.slice(4).toLowerCase());
    else if (entry.startsWith('IP Address:')) names.push(normalizeIp(entry.slice(11)));
  }
  if (names.length === 0) {
    const cn = /(?:^|\n)CN=([^\n]+)/.exec(certificate.subject);
    if (cn !== null) names.push(cn[1].toLowerCase());
  }
  return names;
}

/**
 * Whether a certificate is valid for a host name (no port): an exact name,
 * or a wildcard standing for exactly one leftmost label (RFC 6125 §6.4.3),
 * or an IP address.
 */
export function covers(certificate: LoadedCertificate, host: string): boolean {
  const name = normalizeHost(host);
  if (isIP(name) !== 0) return certificate.names.includes(normalizeIp(name));
  for (const pattern of certificate.names) {
    if (pattern === name) return true;
    if (pattern.startsWith('*.')) {
      const dot = name.indexOf('.');
      if (dot > 0 && name.slice(dot) === pattern.slice(1)) return true;
    }
  }
  return false;
}

/**
 * The certificate for a handshake's SNI name: the first with that exact
 * name, else the first whose wildcard covers it, else the first of all, as
 * Caddy and nginx's server_name choose.
 */
export function chooseCertificate(certificates: readonly LoadedCertificate[], servername: string): LoadedCertificate {
  const name = normalizeHost(servername);
  return certificates.find((certificate) => certificate.names.includes(name))
    ?? certificates.find((certificate) => covers(certificate, name))
    ?? certificates[0];
}

/** The host of a Host field value, without its port or IPv6 brackets, lower case, no trailing dot. */
export function hostOfAuthority(authority: string): string {
  if (authority.startsWith('[')) {
    const end = authority.indexOf(']');
    return end < 0 ? authority : authority.slice(1, end);
  }
  const colon = authority.lastIndexOf(':');
  return colon < 0 ? authority : authority.slice(0, colon);
}

function normalizeHost(host: string): string {
  const lower = host.toLowerCase();
  return lower.endsWith('.') ? lower.slice(0, -1) : lower;
}

/** One spelling per address, so "::1" and "0:0::1" compare equal. */
function normalizeIp(address: string): string {
  if (isIP(address) !== 6) return address;
  try {
    return new URL(`http://[${address}]/`).hostname.slice(1, -1);
  } catch {
    return address;
  }
}

function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0];
}

/** "localhost, *.example.test (expires 2027-01-02)" for log lines. */
export function describeCertificate(certificate: LoadedCertificate): string {
  return `${certificate.label}: ${certificate.names.join(', ') || '(no names)'}, expires ${certificate.validTo.toISOString().slice(0, 10)}`;
}
