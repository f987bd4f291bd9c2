// The write side of a connection: puts a response's head and body on the
// socket in the framing chosen for it (RFC 9112 §6), as hyper's encoder does
// with its kinds. The connection decides what to send and when; this only
// knows how each framing goes on the wire:
//
//   none     the head alone (HEAD, 1xx, 204, 304)
//   length   the head, then exactly Content-Length bytes
//   chunked  the head, then each chunk as size CRLF bytes CRLF, then 0 CRLF CRLF
//   close    the head, then bytes until the connection closes (HTTP/1.0)
//
// A streamed body is written chunk by chunk, waiting for the socket to
// drain, so a slow reader holds only its socket's buffer and the source is
// read no faster than the client reads.
import type { Socket } from 'node:net';
import { FRAMING_CHUNKED, FRAMING_LENGTH, type Framing } from './http/response.js';

/** bodies up to this size are copied behind the head and sent in one write */
const COALESCE_BYTES = 16 * 1024;
const CRLF = Buffer.from('\r\n', 'latin1');
const CHUNKED_END = Buffer.from('0\r\n\r\n', 'latin1');

export class ResponseWriter {
  #socket: Socket;
  #sendTimeoutMs: number;
  /** body bytes of the streamed body being written */
  streamedBytes = 0;

  constructor(socket: Socket, sendTimeoutMs: number) {
    this.#socket = socket;
    this.#sendTimeoutMs = sendTimeoutMs;
  }

  /** Writes; a write the socket cannot take now arms the send timeout (a client not reading). */
  write(data: Uint8Array): void {
    if (!this.#socket.write(data)) this.#socket.setTimeout(this.#sendTimeoutMs);
  }

  /** A head and a body that is all here: text or bytes of `length` bytes, or none. */
  writeWhole(head: string, body: string | Uint8Array | null, framing: Framing, length: number): void {
    const bytes = framing === FRAMING_LENGTH ? body : null;
    if (bytes === null || length === 0) {
      this.write(Buffer.from(head, 'latin1'));
    } else if (length <= COALESCE_BYTES) {
      const out = Buffer.allocUnsafe(head.length + length);
      out.write(head, 0, 'latin1');
      if (typeof bytes === 'string') out.write(bytes, head.length, 'utf8');
      else out.set(bytes, head.length);
      this.write(out);
    } else {
      this.write(Buffer.from(head, 'latin1'));
      this.write(typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : bytes);
    }
  }

  /**
   * Writes a streamed body to its end: true when it was written whole, false
   * when the socket ended first (leaving the loop early returns the
   * iterator, which releases its source). Throws when the body fails or
   * misses its Content-Length: the head is out, so the caller must cut the
   * connection.
   */
  async stream(body: AsyncIterable<Uint8Array>, framing: Framing, length: number, isEnded: () => boolean): Promise<boolean> {
    const socket = this.#socket;
    const isChunked = framing === FRAMING_CHUNKED;
    this.streamedBytes = 0;
    for await (const chunk of body) {
      if (isEnded()) return false;
      if (chunk.byteLength === 0) continue;
      this.streamedBytes += chunk.byteLength;
      if (framing === FRAMING_LENGTH && this.streamedBytes > length) throw new Error(`body is longer than its Content-Length ${length}`);
      if (isChunked) {
        // One write on the wire for the size line, the chunk and its CRLF.
        socket.cork();
        this.write(Buffer.from(`${chunk.byteLength.toString(16)}\r\n`, 'latin1'));
        this.write(chunk);
        this.write(CRLF);
        socket.uncork();
      } else this.write(chunk);
      if (socket.writableNeedDrain) await waitForDrain(socket);
    }
    if (isEnded()) return false;
    if (framing === FRAMING_LENGTH && this.streamedBytes !== length) throw new Error(`body is shorter than its Content-Length ${length}`);
    if (isChunked) this.write(CHUNKED_END);
    return true;
  }
}

/** A body that will not be sent (HEAD, 304): its source is released unread. */
export function releaseBody(body: AsyncIterable<Uint8Array>): void {
  void body[Symbol.asyncIterator]().return?.();
}

function waitForDrain(socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      socket.off('drain', done);
      socket.off('close', done);
      resolve();
    };
    socket.on('drain', done);
    socket.on('close', done);
  });
}
