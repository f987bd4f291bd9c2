// The server: its listeners, the front door where each accepted socket
// becomes a Connection within the cap (front-door.ts), the router, the
// application's pool, and the graceful shutdown of all of them. The book's
// `TcpListener::bind`, with the ThreadPool behind it.
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { createAppDispatcher } from './app/app-dispatcher.js';
import { PoolGenerations } from './app/app-generations.js';
import { JOB_SLOT_BYTES, RESULT_SLOT_BYTES, decodeHttpResult, encodeHttpJob, type AppSetup } from './app/http-job.js';
import { resolveConfig, type ServerConfig, type ServerOptions } from './config.js';
import { FrontDoor } from './front-door.js';
import type { Handler } from './http/exchange.js';
import { Listener } from './listener.js';
import { AccessLog } from './observe/access-log.js';
import { observeAll } from './observe/request-record.js';
import { ServerMetrics } from './observe/server-metrics.js';
import { createRedirect } from './tls/redirect.js';
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
  /** with tls: the certificates, and the first steps of each accepted socket */
  #tls: TlsFront | null;
  /** with redirectHttpPort: the plain-HTTP listener that sends everyone to HTTPS */
  #redirectListener: Listener | null = null;
  /** where accepted sockets become connections; it holds the open ones */
  #frontDoor: FrontDoor;
  #isShuttingDown = false;
  #isDraining = false;
  #closing: Promise<CloseResult> | null = null;

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
        get frontDoor() { return server.#frontDoor; }, // read when scraped: it is made below, with the observer this is part of
        server: this, staticFiles, accessLog: this.accessLog, tls: this.#tls,
      });
    }
    const router = createRouter(app, staticFiles, this);
    const service = {
      config,
      handle: router,
      // Application requests start as soon as their head is in; their body follows.
      streamsRequestBodies: this.pool !== null,
      observer: observeAll([this.accessLog, this.metrics]),
      trustProxy: config.trustProxy,
      log: config.log,
    };
    const redirect = config.redirectHttpPort === null ? null : createRedirect(router, () => this.address()?.port ?? config.port);
    this.#frontDoor = new FrontDoor(config, this.#tls, service, redirect, (connection) => this.metrics?.connectionClosed(connection));
    this.#listener = new Listener(this.#frontDoor.onConnection, config.log);
    if (redirect !== null) this.#redirectListener = new Listener(this.#frontDoor.onRedirectConnection, config.log);
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
    return this.#frontDoor.connectionCount;
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
    this.#frontDoor.drain();
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
        this.#frontDoor.forgetShutdown();
        resolve({ forced });
      };
      const timer = setTimeout(() => {
        this.#frontDoor.destroyAll();
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
      this.#frontDoor.shutdown(joinPool);
    });
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
