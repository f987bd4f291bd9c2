// An accepted socket that is not a Connection yet: its first bytes are
// awaited (a PROXY header, a TLS record's type) before it is handed on. It
// counts against the connection cap, is closed if those bytes do not come
// within the deadline, and is not waited for at shutdown.
import type { Socket } from 'node:net';

export class AwaitedSocket {
  readonly socket: Socket;
  #timer: NodeJS.Timeout;

  constructor(socket: Socket, timeoutMs: number) {
    this.socket = socket;
    socket.on('error', () => socket.destroy());
    socket.once('close', () => clearTimeout(this.#timer));
    this.#timer = setTimeout(() => socket.destroy(), timeoutMs);
    this.#timer.unref();
  }

  /** The bytes came: the deadline no longer applies. */
  protected settle(): void {
    clearTimeout(this.#timer);
  }

  /** Shutdown: a client that has not said its first word is not waited for. */
  shutdown(): void {
    this.socket.destroy();
  }

  destroy(): void {
    this.socket.destroy();
  }
}
