// The TLS side of an accepted socket, before HTTP sees it: the first byte
// decides whether the client speaks TLS at all, then the socket is wrapped
// and the handshake chooses a certificate by its SNI name. What comes out is
// a TLSSocket for a Connection, which reads plain HTTP bytes from it as from
// any socket: the parser, timeouts and backpressure are the same.
//
//   accepted ─first byte 0x16 (a TLS handshake record)─▶ TLSSocket ─▶ Connection (https)
//       │
//       ├──any other byte─▶ Connection on the raw socket: 400, "plain HTTP sent to an HTTPS port"
//       └──nothing within the header timeout─▶ closed
//
// nginx peeks at the first byte the same way (ngx_http_ssl_handshake) and
// answers plain HTTP with its internal 497, sent as 400.
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import { AwaitedSocket } from '../net/awaited-socket.js';
import { TLSSocket, type SecureVersion } from 'node:tls';
import {
  CertificateError, chooseCertificate, describeCertificate, loadCertificates,
  type CertificateSource, type ContextSettings, type LoadedCertificate,
} from './certificates.js';

/** TLS record type of a handshake message: the first byte of every ClientHello. */
const HANDSHAKE_RECORD = 0x16;
const ALPN = ['http/1.1'];
/** a certificate expiring within this long gets a warning at start and at each reload */
const EXPIRY_WARNING_MS = 14 * 24 * 3600 * 1000;

export interface TlsSettings {
  certificates: readonly CertificateSource[];
  minVersion: SecureVersion;
}

export interface FrontHandlers {
  /** the handshake may begin: `certificate()` tells which certificate it chose (the first, until SNI says otherwise) */
  secure(socket: TLSSocket, certificate: () => LoadedCertificate): void;
  /** the client sent plain bytes: they are still unread on the socket */
  plain(socket: Socket): void;
}

/** An accepted socket whose first byte has not arrived yet. */
export class PendingSocket extends AwaitedSocket {
  constructor(socket: Socket, timeoutMs: number, onByte: (chunk: Buffer) => void) {
    super(socket, timeoutMs);
    socket.once('data', (chunk: Buffer) => {
      this.settle();
      socket.pause();
      socket.unshift(chunk); // read again by whoever takes the socket
      onByte(chunk);
    });
    socket.resume(); // paused when a PROXY header was read before
  }
}

export class TlsFront {
  #settings: TlsSettings;
  #contextSettings: ContextSettings;
  #certificates: LoadedCertificate[];
  #log: (message: string) => void;
  /** causes of failed handshakes already logged: each is logged once, not once per connection */
  #loggedFailures = new Set<string>();
  /** failed handshakes, of every cause */
  failedHandshakes = 0;

  /** Throws CertificateError when a pair cannot be used. */
  constructor(settings: TlsSettings, log: (message: string) => void) {
    this.#settings = settings;
    this.#log = log;
    // The process's ticket keys live as long as it does, as with nginx's default.
    this.#contextSettings = { minVersion: settings.minVersion, ticketKeys: randomBytes(48) };
    this.#certificates = loadCertificates(settings.certificates, this.#contextSettings);
  }

  get certificates(): readonly LoadedCertificate[] {
    return this.#certificates;
  }

  /** Logs what each certificate covers and when it expires, with a warning for those expiring soon. */
  logCertificates(prefix: string): void {
    const now = Date.now();
    for (const certificate of this.#certificates) {
      this.#log(`spindle: ${prefix} ${describeCertificate(certificate)}`);
      const left = certificate.validTo.getTime() - now;
      if (left < EXPIRY_WARNING_MS) this.#log(`spindle: warning: ${certificate.label} expires in ${Math.max(0, Math.floor(left / 86_400_000))} days`);
    }
  }

  /**
   * Reads every pair again and uses them for new handshakes; connections
   * already made keep theirs. A pair that fails keeps the old ones: false.
   */
  reload(): boolean {
    let loaded;
    try {
      loaded = loadCertificates(this.#settings.certificates, this.#contextSettings);
    } catch (err) {
      if (!(err instanceof CertificateError)) throw err;
      this.#log(`spindle: TLS reload failed, still using the certificates loaded before: ${err.message}`);
      return false;
    }
    this.#certificates = loaded;
    this.logCertificates('reloaded');
    return true;
  }

  /** Takes an accepted socket: waits for its first byte (within timeoutMs), then hands it on. */
  accept(socket: Socket, timeoutMs: number, handlers: FrontHandlers): PendingSocket {
    return new PendingSocket(socket, timeoutMs, (chunk) => {
      if (chunk[0] !== HANDSHAKE_RECORD) {
        handlers.plain(socket);
        return;
      }
      const certificates = this.#certificates;
      let chosen = certificates[0];
      // With one certificate there is nothing to choose: no SNI callback,
      // which would cost every handshake a call into JavaScript and back.
      const tlsSocket = new TLSSocket(socket, {
        isServer: true,
        secureContext: chosen.context,
        ALPNProtocols: ALPN,
        SNICallback: certificates.length === 1 ? undefined : (servername, callback) => {
          chosen = chooseCertificate(certificates, servername);
          callback(null, chosen.context);
        },
      });
      tlsSocket.once('secure', () => tlsSocket.off('error', this.#onHandshakeError));
      tlsSocket.on('error', this.#onHandshakeError);
      handlers.secure(tlsSocket, () => chosen);
    });
  }

  #onHandshakeError = (err: NodeJS.ErrnoException): void => {
    // The Connection's own error listener ends this socket; this only logs.
    this.failedHandshakes++;
    const cause = err.code ?? err.message;
    if (this.#loggedFailures.has(cause)) return;
    this.#loggedFailures.add(cause);
    this.#log(`spindle: TLS handshake failed (${cause}): ${(err as { reason?: string }).reason ?? err.message.split('\n')[0]}; further failures of this kind are not logged`);
  };
}
