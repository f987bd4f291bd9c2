// The listener: accepts sockets, gives each to a Connection, and shuts down
// gracefully. The book's `TcpListener::bind` and `for stream in listener.incoming()`.
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { resolveConfig, type ServerConfig, type ServerOptions } from './config.js';
import { Connection, type ConnectionHost, type Handler } from './connection.js';
import { handleDemo } from './demo/demo-routes.js';
import { createRouter } from './router.js';

export interface CloseResult {
  /** true when the shutdown timeout passed and remaining sockets were destroyed */
  forced: boolean;
}

export class Server {
  readonly config: ServerConfig;
  #listener: net.Server;
  #connections = new Set<Connection>();
  #host: ConnectionHost;
  #isShuttingDown = false;
  #closing: Promise<CloseResult> | null = null;
  #onAllClosed: (() => void) | null = null;

  constructor(options: ServerOptions = {}) {
    this.config = resolveConfig(options);
    const log = this.config.log;
    const router = createRouter(options.handler ?? handleDemo, this);
    const connections = this.#connections;
    this.#host = {
      config: this.config,
      handle: router,
      log,
      onConnectionClose: (connection) => {
        connections.delete(connection);
        if (connections.size === 0) this.#onAllClosed?.();
      },
    };
    // allowHalfOpen: a client that sends its requests and then FIN still gets
    // its answers; the Connection ends the socket itself.
    this.#listener = net.createServer({ allowHalfOpen: true, noDelay: true }, this.#onConnection);
    this.#listener.on('error', (err) => log(`spindle: listener error: ${err.message}`));
  }

  get isShuttingDown(): boolean {
    return this.#isShuttingDown;
  }

  /** Number of open connections. */
  get connectionCount(): number {
    return this.#connections.size;
  }

  /** Starts listening; resolves with the bound address, rejects with the listen error (EADDRINUSE...). */
  listen(): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => reject(err);
      this.#listener.once('error', onError);
      this.#listener.listen(this.config.port, this.config.host, () => {
        this.#listener.off('error', onError);
        resolve(this.#listener.address() as AddressInfo);
      });
    });
  }

  address(): AddressInfo | null {
    return this.#listener.address() as AddressInfo | null;
  }

  /**
   * Graceful shutdown: stop accepting, close idle connections, let busy ones
   * answer what they have received (with Connection: close), and wait for
   * them within shutdownTimeoutMs; past it, destroy what is left.
   */
  close(): Promise<CloseResult> {
    if (this.#closing !== null) return this.#closing;
    this.#isShuttingDown = true;
    this.#closing = new Promise<CloseResult>((resolve) => {
      let timer: NodeJS.Timeout | null = null;
      const finish = (forced: boolean): void => {
        if (timer !== null) clearTimeout(timer);
        this.#onAllClosed = null;
        resolve({ forced });
      };
      this.#listener.close();
      if (this.#connections.size === 0) return finish(false);
      this.#onAllClosed = () => finish(false);
      timer = setTimeout(() => {
        for (const connection of this.#connections) connection.destroy();
        finish(true);
      }, this.config.shutdownTimeoutMs);
      for (const connection of [...this.#connections]) connection.shutdown();
    });
    return this.#closing;
  }

  #onConnection = (socket: net.Socket): void => {
    if (this.#isShuttingDown) {
      socket.destroy();
      return;
    }
    this.#connections.add(new Connection(socket, this.#host));
  };
}

/** Creates a Spindle server; call `listen()` to start it. */
export function createServer(options?: ServerOptions): Server {
  return new Server(options);
}

export type { Handler };
