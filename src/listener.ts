// The listening socket, the book's `TcpListener`: hands each accepted socket
// on, and stops listening while the process is out of file descriptors.
//
// Why it asks the process instead of waiting for an error: when accept()
// fails with EMFILE or ENFILE, libuv (Node 20) tries its spare-descriptor
// trick — close a spare, accept and close every pending connection, reopen
// the spare — and, when accept still fails (another thread or process took
// the freed descriptor), returns to the event loop without telling
// JavaScript. The listening socket stays readable, so every loop turn tries
// again: the I/O thread spins at 100 % CPU (measured: about 9,000 failed
// accepts a second) and the 'error' event never fires. So every PROBE_MS the
// listener opens and closes os.devNull; when that fails for want of a
// descriptor, it closes the listening socket — the only way to take it out
// of libuv's poll (its handle's readStop() does nothing) — and listens again
// on the same address once two descriptors are free: one for the listening
// socket (closing it freed one, which must not count) and one for a
// connection. nginx backs off the same way
// (ngx_event_accept disables accept events for accept_mutex_delay, 500 ms).
// Meanwhile new clients are refused at once (ECONNREFUSED), which any client
// may retry, as no byte of its request was sent; established connections
// go on.
//
//   listening ──no descriptor free (EMFILE, ENFILE)──▶ backing off: socket closed
//       ▲                                                  │ probe every PROBE_MS
//       └──── two descriptors free and listen works ◀──────┘
import { closeSync, openSync } from 'node:fs';
import net, { type AddressInfo } from 'node:net';
import { devNull } from 'node:os';

const PROBE_MS = 500;
/**
 * Connections the kernel may hold complete but not yet accepted. Node's
 * default, 511, overflows when a thousand clients connect at once while the
 * I/O thread is busy: the kernel drops their SYNs and each client retries a
 * second later. Linux caps it at net.core.somaxconn (4096 since 5.4).
 */
const BACKLOG = 4096;

export class Listener {
  #server: net.Server;
  #log: (message: string) => void;
  /** where it listens; kept while backing off, so it listens again on the same port */
  #address: AddressInfo | null = null;
  #isBackingOff = false;
  /** the last failure to listen again, logged once rather than at every probe */
  #listenError: string | null = null;
  #isClosed = false;
  /** the one probe timer, re-armed rather than re-created */
  #timer: NodeJS.Timeout | null = null;

  constructor(onConnection: (socket: net.Socket) => void, log: (message: string) => void) {
    this.#log = log;
    // allowHalfOpen: a client that sends its requests and then FIN still gets
    // its answers; the Connection ends the socket itself.
    this.#server = net.createServer({ allowHalfOpen: true, noDelay: true }, onConnection);
  }

  /** Listens; rejects with the listen error (EADDRINUSE, ...). */
  listen(port: number, host: string): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen({ port, host, backlog: BACKLOG }, () => {
        this.#server.off('error', reject);
        // Only now: a listen error is the caller's to report (listen() rejects), not logged twice.
        this.#server.on('error', this.#onServerError);
        this.#server.on('listening', this.#onListeningAgain);
        this.#address = this.#server.address() as AddressInfo;
        this.#armProbe();
        resolve(this.#address);
      });
    });
  }

  /** The address listened on, also while backing off; null before listen() and after close(). */
  address(): AddressInfo | null {
    return this.#isClosed ? null : this.#address;
  }

  /** Stops accepting for good. */
  close(): void {
    this.#isClosed = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#server.close();
  }

  #onServerError = (err: NodeJS.ErrnoException): void => {
    // Other libuv versions do report a failed accept: back off at once.
    if (isOutOfDescriptors(err)) {
      this.#backOff(err.code!);
    } else if (!this.#isBackingOff) {
      this.#log(`spindle: listener error: ${err.message}`);
    } else if (this.#listenError !== err.message) {
      this.#listenError = err.message;
      this.#log(`spindle: cannot listen again on ${this.#where()}: ${err.message}; retrying`);
    }
  };

  #onListeningAgain = (): void => {
    if (this.#isClosed) {
      this.#server.close();
      return;
    }
    this.#isBackingOff = false;
    this.#listenError = null;
    this.#log(`spindle: accepting connections on ${this.#where()} again`);
    this.#armProbe();
  };

  #onProbeTimer = (): void => {
    if (this.#isClosed) return;
    const shortage = probeDescriptors(this.#isBackingOff ? 2 : 1);
    if (shortage !== null) this.#backOff(shortage);
    else if (this.#isBackingOff && !this.#server.listening) this.#listenAgain();
    this.#armProbe();
  };

  #backOff(code: string): void {
    if (!this.#isBackingOff) {
      this.#isBackingOff = true;
      this.#log(`spindle: out of file descriptors (${code}): not accepting connections on ${this.#where()} until one is free`);
    }
    this.#server.close();
    this.#armProbe();
  }

  /** Same port, same address; success is #onListeningAgain, failure #onServerError. */
  #listenAgain(): void {
    this.#server.listen({ port: this.#address!.port, host: this.#address!.address, backlog: BACKLOG });
  }

  /** While backing off the timer keeps the process alive: nothing else may, with the socket closed. */
  #armProbe(): void {
    if (this.#timer === null) this.#timer = setTimeout(this.#onProbeTimer, PROBE_MS);
    else this.#timer.refresh();
    if (this.#isBackingOff) this.#timer.ref();
    else this.#timer.unref();
  }

  #where(): string {
    const address = this.#address!;
    return `${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
  }
}

function isOutOfDescriptors(err: NodeJS.ErrnoException): boolean {
  return err.code === 'EMFILE' || err.code === 'ENFILE';
}

/** Opens `count` descriptors and closes them: the error code when the process or the system has too few, else null. */
function probeDescriptors(count: number): string | null {
  const opened: number[] = [];
  try {
    while (opened.length < count) opened.push(openSync(devNull, 'r'));
    return null;
  } catch (err) {
    return isOutOfDescriptors(err as NodeJS.ErrnoException) ? (err as NodeJS.ErrnoException).code! : null;
  } finally {
    for (const fd of opened) closeSync(fd);
  }
}
