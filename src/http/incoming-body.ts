// A request body that arrives while its handler already runs. The
// connection pushes the bytes as it parses them; a consumer (the app
// dispatcher, which moves them to a worker) attaches and grants credit as it
// takes them. While bytes wait without credit the connection stops reading
// the socket, so a handler that reads slowly slows the client down through
// TCP, and the bytes held here stay within one window plus one socket read.
import type { HttpError } from './http-error.js';

export interface BodySink {
  chunk(bytes: Buffer): void;
  end(): void;
  error(err: Error): void;
}

const OPEN = 0;
const ENDED = 1;
const FAILED = 2;

export class IncomingBody {
  #parts: Buffer[] = [];
  #credit = 0;
  #state: typeof OPEN | typeof ENDED | typeof FAILED = OPEN;
  #error: Error | null = null;
  #sink: BodySink | null = null;
  /** the connection's: called when the consumer grants credit */
  onDemand: (() => void) | null = null;
  /** called as the consumer is given bytes */
  onProgress: (() => void) | null = null;

  /** Bytes wait that the consumer has not asked for: the connection stops reading. */
  get isSaturated(): boolean {
    return this.#parts.length > 0 && this.#state === OPEN;
  }

  // ─── the connection's side ───

  push(parts: Buffer[]): void {
    if (this.#state !== OPEN) return;
    for (const part of parts) if (part.byteLength > 0) this.#parts.push(part);
    this.#deliver();
  }

  end(): void {
    if (this.#state !== OPEN) return;
    this.#state = ENDED;
    this.#deliver();
  }

  /** The body will not complete: too large (413), too slow (408), the client left, or nobody reads it. */
  fail(err: HttpError | Error): void {
    if (this.#state !== OPEN) return;
    this.#state = FAILED;
    this.#error = err;
    this.#parts.length = 0;
    this.#sink?.error(err);
  }

  // ─── the consumer's side ───

  attach(sink: BodySink): void {
    this.#sink = sink;
    if (this.#state === FAILED) sink.error(this.#error!);
    else this.#deliver();
  }

  grant(bytes: number): void {
    this.#credit += bytes;
    this.#deliver();
    this.onDemand?.();
  }

  #deliver(): void {
    const sink = this.#sink;
    if (sink === null || this.#state === FAILED) return;
    if (this.#credit > 0 && this.#parts.length > 0) this.onProgress?.();
    while (this.#credit > 0 && this.#parts.length > 0) {
      const part = this.#parts.shift()!;
      this.#credit -= part.byteLength;
      sink.chunk(part);
    }
    if (this.#state === ENDED && this.#parts.length === 0) {
      this.#sink = null;
      sink.end();
    }
  }
}
