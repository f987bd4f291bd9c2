// The server's front door: every socket its listeners accept comes here,
// and leaves as a Connection or is closed. On the way it may wait for a
// PROXY protocol header (net/proxy-protocol.ts) and for TLS's first byte
// (tls/tls-front.ts); a socket waiting so counts against the cap as a
// connection does. This keeps the set of open connections, which ones are
// idle (in the order they became so), and the cap:
//
//   accepted ─▶ admit (shutting down? at the cap: close the one idle longest, else this one)
//                 ─▶ [PROXY header] ─▶ [TLS first byte] ─▶ Connection ─▶ … ─▶ closed: leaves the set
//
// The book's `for stream in listener.incoming()`, with the bounds it leaves out.
import type { Socket } from 'node:net';
import type { ServerConfig } from './config.js';
import { Connection } from './connection.js';
import type { ConnectionHost } from './connection-host.js';
import type { Handler } from './http/exchange.js';
import type { AwaitedSocket } from './net/awaited-socket.js';
import { ProxyHeaderReader } from './net/proxy-protocol.js';
import { PLAIN_HTTP_ON_HTTPS, httpsOptions } from './tls/https-connections.js';
import type { TlsFront } from './tls/tls-front.js';

/** What the front door reads of the server's config. */
export type FrontDoorConfig = Pick<ServerConfig, 'maxConnections' | 'proxyProtocol' | 'trustProxy' | 'headerTimeoutMs' | 'hstsMaxAge' | 'log'>;

/** A ConnectionHost but for the callbacks about connections, which the front door answers. */
export type ConnectionService = Omit<ConnectionHost, 'onConnectionClose' | 'onConnectionIdle' | 'onConnectionBusy'>;

export class FrontDoor {
  #config: FrontDoorConfig;
  /** with tls: the certificates, and the first steps of each accepted socket */
  #tls: TlsFront | null;
  #host: ConnectionHost;
  /** with a redirect listener: the host of its connections, which send everyone to HTTPS */
  #redirectHost: ConnectionHost | null;
  /** sockets accepted since start, those refused at the cap included */
  #accepted = 0;
  /** open connections, and accepted sockets whose first bytes are awaited */
  #connections = new Set<Connection | AwaitedSocket>();
  /** the idle ones among #connections, in the order they became idle: the one idle longest first */
  #idleConnections = new Set<Connection>();
  /** reasons for refusing a PROXY header already logged */
  #loggedRefusals = new Set<string>();
  /** a refusal at the cap has been logged; logged again once the count falls below the cap */
  #hasLoggedCap = false;
  /** shutting down: new sockets are closed at once */
  #isShuttingDown = false;
  /** draining (lame duck): each new connection is drained too */
  #isDraining = false;
  #onAllClosed: (() => void) | null = null;

  /**
   * `service` is what every connection is given; `redirect` answers the
   * redirect listener's connections (null without one); `onConnectionClosed`
   * is told of each Connection that has closed (the metrics).
   */
  constructor(config: FrontDoorConfig, tls: TlsFront | null, service: ConnectionService, redirect: Handler | null, onConnectionClosed: (connection: Connection) => void) {
    this.#config = config;
    this.#tls = tls;
    const connections = this.#connections;
    const idleConnections = this.#idleConnections;
    this.#host = {
      ...service,
      onConnectionClose: (connection) => {
        onConnectionClosed(connection);
        idleConnections.delete(connection);
        // false for a connection closed to make room: it left the set then
        if (connections.delete(connection) && connections.size === 0) this.#onAllClosed?.();
      },
      onConnectionIdle: (connection) => idleConnections.add(connection),
      onConnectionBusy: (connection) => idleConnections.delete(connection),
    };
    this.#redirectHost = redirect === null ? null : { ...this.#host, handle: redirect, streamsRequestBodies: false };
  }

  /** open connections, and accepted sockets whose first bytes are awaited */
  get connectionCount(): number {
    return this.#connections.size;
  }

  /** sockets accepted since start, those refused at the cap included */
  get acceptedCount(): number {
    return this.#accepted;
  }

  /** the open Connections, sockets still awaited aside */
  connections(): Connection[] {
    return [...this.#connections].filter((c): c is Connection => c instanceof Connection);
  }

  /** Lame duck (--drain-delay): every connection, and each new one, says Connection: close from now on. */
  drain(): void {
    this.#isDraining = true;
    for (const connection of this.#connections) if (connection instanceof Connection) connection.drain();
  }

  /**
   * Graceful shutdown: new sockets are closed at once and every connection
   * shuts down; onAllClosed is called once none is left, now if none is.
   */
  shutdown(onAllClosed: () => void): void {
    this.#isDraining = false;
    this.#isShuttingDown = true;
    if (this.#connections.size === 0) return onAllClosed();
    this.#onAllClosed = onAllClosed;
    for (const connection of [...this.#connections]) connection.shutdown();
  }

  /** The shutdown is over: onAllClosed is no longer called. */
  forgetShutdown(): void {
    this.#onAllClosed = null;
  }

  /** The shutdown timeout passed: every socket is destroyed. */
  destroyAll(): void {
    for (const connection of this.#connections) connection.destroy();
  }

  /** The main listener's sockets. */
  onConnection = (socket: Socket): void => {
    if (!this.#admit(socket)) return;
    const trust = this.#config.trustProxy;
    if (!this.#config.proxyProtocol || trust === null) {
      this.#accept(socket, null);
      return;
    }
    const reader = new ProxyHeaderReader(socket, trust.has(socket.remoteAddress ?? ''), this.#config.headerTimeoutMs,
      (clientAddress) => {
        this.#connections.delete(reader);
        this.#accept(socket, clientAddress);
        socket.resume();
      },
      (reason) => this.#logRefusal(reason));
    this.#await(reader);
  };

  /** The redirect listener's sockets: plain HTTP, no PROXY header. */
  onRedirectConnection = (socket: Socket): void => {
    if (this.#admit(socket)) this.#add(new Connection(socket, this.#redirectHost!));
  };

  /** A socket, its PROXY header read if there was one, becomes a Connection, through TLS when the server speaks it. */
  #accept(socket: Socket, clientAddress: string | null): void {
    const address = clientAddress === null ? {} : { remoteAddress: clientAddress };
    const tls = this.#tls;
    if (tls === null) {
      this.#add(new Connection(socket, this.#host, address));
      return;
    }
    const config = this.#config;
    const pending = tls.accept(socket, config.headerTimeoutMs, {
      secure: (tlsSocket, certificate) => this.#promote(pending, new Connection(tlsSocket, this.#host, { ...httpsOptions(certificate, config.hstsMaxAge), ...address })),
      plain: (raw) => {
        this.#promote(pending, new Connection(raw, this.#host, { ...PLAIN_HTTP_ON_HTTPS, ...address }));
        raw.resume();
      },
    });
    this.#await(pending);
  }

  /** A socket not yet a Connection counts against the cap and is shut down with the rest. */
  #await(waiting: AwaitedSocket): void {
    this.#connections.add(waiting);
    waiting.socket.once('close', () => {
      // false once promoted: the Connection reports its own close
      if (this.#connections.delete(waiting) && this.#connections.size === 0) this.#onAllClosed?.();
    });
  }

  /** A refused PROXY header is logged once per reason, not per connection. */
  #logRefusal(reason: string): void {
    if (this.#loggedRefusals.has(reason)) return;
    this.#loggedRefusals.add(reason);
    this.#config.log(`spindle: connection closed: ${reason}; further ones of this kind are not logged`);
  }

  /** A socket whose first byte has come takes its place as a Connection. */
  #promote(pending: AwaitedSocket, connection: Connection): void {
    this.#connections.delete(pending);
    this.#add(connection);
  }

  #add(connection: Connection): void {
    this.#connections.add(connection);
    if (this.#isDraining) connection.drain();
  }

  /** Whether a new socket may become a connection: not while shutting down, and within the cap. */
  #admit(socket: Socket): boolean {
    this.#accepted++;
    if (this.#isShuttingDown) {
      socket.destroy();
      return false;
    }
    const cap = this.#config.maxConnections;
    if (this.#connections.size < cap) this.#hasLoggedCap = false;
    else if (!this.#closeIdleConnection()) {
      if (!this.#hasLoggedCap) this.#config.log(`spindle: ${cap} connections open (the cap) and none idle: closing new connections until one is free`);
      this.#hasLoggedCap = true;
      socket.destroy();
      return false;
    }
    return true;
  }

  /**
   * At the cap, a new connection takes the place of the connection idle
   * longest, as nginx reuses its idle keep-alive connections when
   * worker_connections run out; a busy one is never closed. Its client had
   * no request under way: RFC 9112 §9.5 lets a server close a connection at
   * any time, and §9.3.1 lets a client retry a request it had just sent.
   * With none idle, the new connection is closed at once. Node 20 cannot
   * pause accept(): short of closing the listening socket, which resets
   * every connection waiting in the kernel's backlog, nothing takes it out
   * of libuv's poll (its handle's readStart() fails with ENOTCONN, and
   * readStop() does nothing). Keeping the socket unread would hold the very
   * descriptor the cap is there to save; closed at once it costs its
   * descriptor only for this moment, and its client learns right away to
   * retry. Destroying the idle socket closes its
   * descriptor now; it leaves the sets now, before its 'close' event.
   */
  #closeIdleConnection(): boolean {
    const idle = this.#idleConnections.values().next();
    if (idle.done === true) return false;
    this.#idleConnections.delete(idle.value);
    this.#connections.delete(idle.value);
    idle.value.destroy();
    return true;
  }
}
