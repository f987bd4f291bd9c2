// The server: takes each accepted socket, within the connection cap, to a
// Connection, and shuts down gracefully. The book's `TcpListener::bind` and
// `for stream in listener.incoming()`, with the ThreadPool behind it.
import type { AddressInfo, Socket } from 'node:net';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { createAppDispatcher } from './app/app-dispatcher.js';
import { PoolGenerations } from './app/app-generations.js';
import { JOB_SLOT_BYTES, RESULT_SLOT_BYTES, decodeHttpResult, encodeHttpJob, type AppSetup } from './app/http-job.js';
import { resolveConfig, type ServerConfig, type ServerOptions } from './config.js';
import { Connection } from './connection.js';
import type { ConnectionHost } from './connection-host.js';
import type { Handler } from './http/exchange.js';
import { Listener } from './listener.js';
import type { AwaitedSocket } from './net/awaited-socket.js';
import { ProxyHeaderReader } from './net/proxy-protocol.js';
import { AccessLog } from './observe/access-log.js';
import { observeAll } from './observe/request-record.js';
import { ServerMetrics } from './observe/server-metrics.js';
import { createRedirect } from './tls/redirect.js';
import { PLAIN_HTTP_ON_HTTPS, httpsOptions } from './tls/https-connections.js';
import { TlsFront } from './tls/tls-front.js';
import { createRouter } from './router.js';
import { ThreadPool, type PoolStats } from './pool/thread-pool.js';
import { StaticFiles } from './static/static-files.js';

export interface CloseResult {
  /** true when the shutdown timeout passed and remaining sockets and workers were destroyed */
  forced: boolean;
}

const APP_WORKER = new URL('./app/app-worker.js', import.meta.url);
const DEMO_APP = new URL('./demo/demo-app.js', import.meta.url);

export class Server {
  readonly config: ServerConfig;
  /** the generations of the application's pool (reload swaps them); null with an inline handler or files only */
  readonly generations: PoolGenerations | null;
  #listener: Listener;
  /** with accessLog: the log every finished request is written to */
  readonly accessLog: AccessLog | null;
  /** with metrics: what GET /metrics renders */
  readonly metrics: ServerMetrics | null;
  /** sockets accepted since start, those refused at the cap included */
  #accepted = 0;
  /** with tls: the certificates, and the first steps of each accepted socket */
  #tls: TlsFront | null;
  /** with redirectHttpPort: the plain-HTTP listener that sends everyone to HTTPS */
  #redirectListener: Listener | null = null;
  #redirectHost: ConnectionHost | null = null;
  /** open connections, and (with tls) accepted sockets whose first byte is awaited */
  #connections = new Set<Connection | AwaitedSocket>();
  /** reasons for refusing a PROXY header already logged */
  #loggedRefusals = new Set<string>();
  /** the idle ones among #connections, in the order they became idle: the one idle longest first */
  #idleConnections = new Set<Connection>();
  /** a refusal at the cap has been logged; logged again once the count falls below the cap */
  #hasLoggedCap = false;
  #host: ConnectionHost;
  #isShuttingDown = false;
  #isDraining = false;
  #closing: Promise<CloseResult> | null = null;
  #onAllClosed: (() => void) | null = null;

  constructor(options: ServerOptions = {}) {
    this.config = resolveConfig(options);
    const config = this.config;
    // First, as a certificate that cannot be used is a start-up error (CertificateError).
    this.#tls = config.tls === null ? null : new TlsFront(config.tls, config.log);
    // Opened now: a path that cannot be written is a start-up error too.
    this.accessLog = config.accessLog === null ? null : new AccessLog({ destination: config.accessLog.path, format: config.accessLog.format, log: config.log });
    this.metrics = null; // made below, once what it reads exists
    // First, as it may throw (no such directory) before any thread is started.
    const staticFiles = options.static === undefined ? null : new StaticFiles(options.static);
    let app: Handler | null = null;
    const appModule = options.app ?? (options.demo === true || options.static === undefined ? DEMO_APP : null);
    if (options.handler !== undefined) {
      this.generations = null;
      app = options.handler;
    } else if (appModule === null) {
      this.generations = null; // files only
    } else {
      const setup: AppSetup = { appModule: toModuleUrl(appModule) };
      const makePool = (): ThreadPool => new ThreadPool({
        module: APP_WORKER,
        moduleData: setup,
        size: config.threads,
        concurrency: config.concurrency,
        queueSize: config.queueSize,
        jobTimeoutMs: config.jobTimeoutMs,
        maxJobsPerWorker: config.maxJobsPerWorker,
        maxWorkerHeapBytes: config.maxWorkerMemoryBytes,
        encodePayload: encodeHttpJob,
        payloadSlotBytes: JOB_SLOT_BYTES,
        resultSlotBytes: RESULT_SLOT_BYTES,
        decodeResult: decodeHttpResult,
        log: config.log,
      });
      const generations = new PoolGenerations(makePool, config.shutdownTimeoutMs, config.log);
      this.generations = generations;
      app = createAppDispatcher(() => generations.current, {
        scheme: this.#tls === null ? 'http' : 'https',
        fallbackAuthority: () => {
          const address = this.address();
          return address === null ? config.host : `${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
        },
        log: config.log,
        onJobSettled: (outcome) => this.metrics?.jobSettled(outcome),
      });
    }
    if (config.metrics) {
      const server = this;
      this.metrics = new ServerMetrics({
        connections: () => [...this.#connections].filter((c): c is Connection => c instanceof Connection),
        get acceptedConnections() { return server.#accepted; },
        get pool() { return server.poolStats; },
        get generations() { return server.generations; },
        get fileCache() { return staticFiles?.cacheCounts ?? null; },
        get logLinesDropped() { return server.accessLog?.dropped ?? 0; },
        get tlsHandshakeFailures() { return server.#tls?.failedHandshakes ?? null; },
      });
    }
    const router = createRouter(app, staticFiles, this);
    const connections = this.#connections;
    const idleConnections = this.#idleConnections;
    this.#host = {
      config,
      handle: router,
      // Application requests start as soon as their head is in; their body follows.
      streamsRequestBodies: this.pool !== null,
      observer: observeAll([this.accessLog, this.metrics]),
      trustProxy: config.trustProxy,
      log: config.log,
      onConnectionClose: (connection) => {
        this.metrics?.connectionClosed(connection);
        idleConnections.delete(connection);
        // false for a connection closed to make room: it left the set then
        if (connections.delete(connection) && connections.size === 0) this.#onAllClosed?.();
      },
      onConnectionIdle: (connection) => idleConnections.add(connection),
      onConnectionBusy: (connection) => idleConnections.delete(connection),
    };
    this.#listener = new Listener(this.#onConnection, config.log);
    if (config.redirectHttpPort !== null) {
      this.#redirectHost = { ...this.#host, handle: createRedirect(router, () => this.address()?.port ?? config.port), streamsRequestBodies: false };
      this.#redirectListener = new Listener(this.#onRedirectConnection, config.log);
    }
  }

  /** true from SIGTERM (close()) on, the drain delay included */
  get isShuttingDown(): boolean {
    return this.#isShuttingDown || this.#isDraining;
  }

  /** true during the drain delay: still serving, /healthz says draining */
  get isDraining(): boolean {
    return this.#isDraining;
  }

  /** the pool that new jobs go to; null with an inline handler or files only */
  get pool(): ThreadPool | null {
    return this.generations?.current ?? null;
  }

  get poolStats(): PoolStats | null {
    return this.pool === null ? null : this.pool.stats;
  }

  /** the application's generation: 1 at start, one more for each reload that took; null without a pool */
  get generation(): number | null {
    return this.generations?.generation ?? null;
  }

  /**
   * Reloads the application (SIGHUP): a new generation of workers imports it
   * afresh and takes new jobs once all have loaded it; the old one finishes
   * what it has. False (logged) when it failed, or there is no application, or during shutdown.
   */
  reloadApp(): Promise<boolean> {
    if (this.generations === null || this.isShuttingDown) return Promise.resolve(false);
    return this.generations.reload();
  }

  /** Number of open connections. */
  get connectionCount(): number {
    return this.#connections.size;
  }

  /** The connection cap. */
  get maxConnections(): number {
    return this.config.maxConnections;
  }

  /**
   * Starts the workers and waits until each has loaded the application, then
   * listens. Rejects with the application's load error, or the listen error
   * (EADDRINUSE, ...).
   */
  async listen(): Promise<AddressInfo> {
    if (this.generations !== null) {
      try {
        await this.generations.current.ready();
      } catch (err) {
        await this.generations.terminate();
        throw err;
      }
    }
    try {
      const address = await this.#listener.listen(this.config.port, this.config.host);
      if (this.#redirectListener !== null) await this.#redirectListener.listen(this.config.redirectHttpPort!, this.config.host);
      this.#tls?.logCertificates('certificate');
      return address;
    } catch (err) {
      // A failed listen stops the workers too, or they would keep the process alive.
      this.#listener.close();
      this.#redirectListener?.close();
      if (this.generations !== null) await this.generations.terminate();
      throw err;
    }
  }

  /** Where the server listens, also while it backs off from a shortage of file descriptors; null once closed. */
  address(): AddressInfo | null {
    return this.#listener.address();
  }

  /** Where the plain-HTTP redirect listens (redirectHttpPort); null without one. */
  redirectAddress(): AddressInfo | null {
    return this.#redirectListener?.address() ?? null;
  }

  /**
   * Reads the certificate and key files again and uses them for new
   * handshakes (SIGHUP); established connections keep theirs. False when
   * there is no TLS, or a pair failed to load (logged; the old ones stay).
   */
  reloadTls(): boolean {
    if (this.#tls === null) return false;
    return this.#tls.reload();
  }

  /**
   * Graceful shutdown: stop accepting, close idle connections, let busy ones
   * answer what they have received (with Connection: close), then close the
   * pool and join its workers, all within shutdownTimeoutMs; past it, destroy
   * what is left.
   */
  close(): Promise<CloseResult> {
    if (this.#closing !== null) return this.#closing;
    const delay = this.config.drainDelayMs;
    if (delay === 0) {
      this.#closing = this.#shutDown();
      return this.#closing;
    }
    // Lame duck first: serve on, saying Connection: close, while /healthz
    // tells the load balancer to stop sending; then the graceful shutdown.
    this.#isDraining = true;
    for (const connection of this.#connections) if (connection instanceof Connection) connection.drain();
    this.#closing = new Promise<void>((resolve) => setTimeout(resolve, delay)).then(() => {
      this.#isDraining = false;
      return this.#shutDown();
    });
    return this.#closing;
  }

  #shutDown(): Promise<CloseResult> {
    this.#isShuttingDown = true;
    return new Promise<CloseResult>((resolve) => {
      let isDone = false;
      const finish = (forced: boolean): void => {
        if (isDone) return;
        isDone = true;
        clearTimeout(timer);
        this.#onAllClosed = null;
        resolve({ forced });
      };
      const timer = setTimeout(() => {
        for (const connection of this.#connections) connection.destroy();
        const terminated = this.generations === null ? Promise.resolve() : this.generations.terminate();
        void terminated.then(() => finish(true));
      }, this.config.shutdownTimeoutMs);
      const joinPool = (): void => {
        const flushed = this.accessLog === null ? Promise.resolve() : this.accessLog.close();
        const joined = this.generations === null ? Promise.resolve() : this.generations.close();
        void Promise.all([joined, flushed]).then(() => finish(false));
      };
      this.#listener.close();
      this.#redirectListener?.close();
      if (this.#connections.size === 0) return joinPool();
      this.#onAllClosed = joinPool;
      for (const connection of [...this.#connections]) connection.shutdown();
    });
  }

  #onConnection = (socket: Socket): void => {
    if (!this.#admit(socket)) return;
    const trust = this.config.trustProxy;
    if (!this.config.proxyProtocol || trust === null) {
      this.#accept(socket, null);
      return;
    }
    const reader = new ProxyHeaderReader(socket, trust.has(socket.remoteAddress ?? ''), this.config.headerTimeoutMs,
      (clientAddress) => {
        this.#connections.delete(reader);
        this.#accept(socket, clientAddress);
        socket.resume();
      },
      (reason) => this.#logRefusal(reason));
    this.#await(reader);
  };

  /** A socket, its PROXY header read if there was one, becomes a Connection, through TLS when the server speaks it. */
  #accept(socket: Socket, clientAddress: string | null): void {
    const address = clientAddress === null ? {} : { remoteAddress: clientAddress };
    const tls = this.#tls;
    if (tls === null) {
      this.#add(new Connection(socket, this.#host, address));
      return;
    }
    const config = this.config;
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
    this.config.log(`spindle: connection closed: ${reason}; further ones of this kind are not logged`);
  }

  #onRedirectConnection = (socket: Socket): void => {
    if (this.#admit(socket)) this.#add(new Connection(socket, this.#redirectHost!));
  };

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
    const cap = this.config.maxConnections;
    if (this.#connections.size < cap) this.#hasLoggedCap = false;
    else if (!this.#closeIdleConnection()) {
      if (!this.#hasLoggedCap) this.config.log(`spindle: ${cap} connections open (the cap) and none idle: closing new connections until one is free`);
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

function toModuleUrl(app: string | URL): string {
  if (app instanceof URL) return app.href;
  if (/^(file|data):/.test(app)) return app;
  return pathToFileURL(path.resolve(app)).href;
}

/** Creates a Spindle server; call `listen()` to start it. */
export function createServer(options?: ServerOptions): Server {
  return new Server(options);
}

export type { Handler };
