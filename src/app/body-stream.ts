// A response body streamed from a worker thread to the I/O thread, chunk by
// chunk, under a credit window: the worker reads the application's stream
// only while it has credit, and the I/O thread gives credit back as the
// socket takes the chunks. A client that reads slowly therefore stops the
// application's `pull`, and neither thread holds more than the window.
//
//   worker ──chunk (moved, not copied), ..., end | error──▶ I/O thread
//   worker ◀──────────── credit (bytes), cancel ────────── I/O thread
//
// Each stream has a MessageChannel of its own, whose second port travels
// with the job's result: the pool keeps its one-job-one-result shape, the
// job's lane is free as soon as the application has returned its Response
// (a stream that lasts hours holds no lane), and a worker that dies closes
// its end of the channel, which ends the stream as failed.
import type { MessagePort } from 'node:worker_threads';
import { describeError } from '../http/http-error.js';
import type { IncomingBody } from '../http/incoming-body.js';

/** Bytes a response stream may have in flight between the threads. */
const STREAM_WINDOW_BYTES = 1024 * 1024;
/**
 * Bytes a request body may have in flight between the threads: larger,
 * because the socket stops being read whenever it is used up, and each
 * pause and resume costs the I/O thread two system calls (measured: 64 MiB
 * uploads at 1 MiB 0.87× node's throughput, at 4 MiB 0.97×). It is used
 * only by an application that reads, and only as fast as it reads.
 */
const REQUEST_WINDOW_BYTES = 4 * 1024 * 1024;
/** Credit goes back in batches of at least a quarter of the window. */
const CREDIT_BATCHES = 4;

/** From the side that has the bytes: parts in order, then an end or an error. */
type DataMessage = { type: 'chunks'; parts: ArrayBuffer[] } | { type: 'end' } | { type: 'error'; message: string };
/** From the side that takes them. */
type ControlMessage = { type: 'credit'; bytes: number } | { type: 'cancel' };

// ─── the worker's side ───────────────────────────────────────────────────────

/** A stream's beginning, read before deciding whether to stream it. */
export interface ReadAhead {
  chunks: Uint8Array[];
  /** the stream ended within what was read: send it whole, with its length */
  isDone: boolean;
  /** a read still under way, for sendBody */
  pending: ReturnType<ReadableStreamDefaultReader<Uint8Array>['read']> | null;
}

/** Reads ahead at most this much while the chunks are ready. */
const READ_AHEAD_BYTES = 64 * 1024;
const NEXT_TURN = Symbol('next turn');

function nextTurn(): Promise<typeof NEXT_TURN> {
  return new Promise((resolve) => setImmediate(resolve, NEXT_TURN));
}

/**
 * Reads what a stream has ready, before the event loop turns: a body that
 * is in fact whole (a string or bytes that a framework wrapped in a new
 * Response, a Blob) ends within it and is sent with a Content-Length; a body
 * still being made (events, a generated export) is streamed from there.
 */
export async function readAhead(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<ReadAhead> {
  const chunks: Uint8Array[] = [];
  let bytes = 0;
  while (bytes <= READ_AHEAD_BYTES) {
    const read = reader.read();
    const result = await Promise.race([read, nextTurn()]);
    if (result === NEXT_TURN) return { chunks, isDone: false, pending: read };
    if (result.done) return { chunks, isDone: true, pending: null };
    if (!(result.value instanceof Uint8Array)) throw notBytes(result.value);
    chunks.push(result.value);
    bytes += result.value.byteLength;
  }
  return { chunks, isDone: false, pending: null };
}

function notBytes(value: unknown): TypeError {
  return new TypeError(`a response body stream must yield Uint8Array chunks, got ${typeof value}`);
}

/**
 * Sends `body` through `port`, reading it only while there is credit.
 * `onCancel` runs when the I/O thread cancels the stream (its client left):
 * the application's stream is cancelled too, so its `cancel` callback runs.
 */
export function sendBody(reader: ReadableStreamDefaultReader<Uint8Array>, ahead: ReadAhead, port: MessagePort, onCancel: () => void): void {
  let credit = STREAM_WINDOW_BYTES;
  let isCancelled = false;
  let wake: (() => void) | null = null;
  const cancel = (): void => {
    if (isCancelled) return;
    isCancelled = true;
    onCancel();
    reader.cancel(new DOMException('the client went away', 'AbortError')).catch(() => {});
    wake?.();
  };
  port.on('message', (message: ControlMessage) => {
    if (message.type === 'cancel') return cancel();
    credit += message.bytes;
    wake?.();
  });
  // The I/O thread closed its end: the client left, or nobody took the result.
  port.on('close', cancel);
  const pump = async (): Promise<void> => {
    const first = ahead.chunks;
    let pending = ahead.pending;
    /** Chunks that were ready at once go together, in one message. */
    let batch: ArrayBuffer[] = [];
    let batchBytes = 0;
    const flush = (): void => {
      if (batch.length === 0) return;
      try {
        port.postMessage({ type: 'chunks', parts: batch } satisfies DataMessage, batch);
      } catch {
        // A buffer Node marks untransferable (its Buffer pool): copies go instead.
        const copies = batch.map((part) => new Uint8Array(part).slice().buffer);
        port.postMessage({ type: 'chunks', parts: copies } satisfies DataMessage, copies);
      }
      batch = [];
      batchBytes = 0;
    };
    try {
      for (;;) {
        if (credit <= 0) flush();
        while (credit <= 0 && !isCancelled) await new Promise<void>((resolve) => { wake = resolve; });
        wake = null;
        if (isCancelled) return;
        let value: Uint8Array | undefined = first.shift();
        if (value === undefined) {
          let result: ReadResult;
          const read = pending ?? reader.read();
          pending = null;
          if (batch.length > 0) {
            // Another chunk ready before the event loop turns joins the
            // batch; otherwise the batch goes now and the read goes on.
            const raced = await Promise.race([read, nextTurn()]);
            if (raced === NEXT_TURN) {
              pending = read;
              flush();
              continue;
            }
            result = raced;
          } else result = await read;
          if (isCancelled) return;
          if (result.done) {
            flush();
            port.postMessage({ type: 'end' } satisfies DataMessage);
            return;
          }
          value = result.value;
        }
        if (!(value instanceof Uint8Array)) throw notBytes(value);
        if (value.byteLength === 0) continue;
        const bytes = ownBuffer(value);
        credit -= bytes.byteLength;
        batch.push(bytes);
        batchBytes += bytes.byteLength;
        if (batchBytes >= BATCH_BYTES) flush();
      }
    } catch (err) {
      if (!isCancelled) port.postMessage({ type: 'error', message: describeError(err) } satisfies DataMessage);
    } finally {
      port.off('close', cancel);
      port.close();
    }
  };
  void pump();
}

type ReadResult = Awaited<ReturnType<ReadableStreamDefaultReader<Uint8Array>['read']>>;
/** A message carries at most this much of a response body. */
const BATCH_BYTES = 256 * 1024;

/**
 * A buffer to move for a chunk: the chunk's own when it is a whole,
 * transferable buffer (once enqueued it is the stream's, as a byte stream's
 * chunks are transferred), else a copy.
 */
function ownBuffer(value: Uint8Array): ArrayBuffer {
  const buffer = value.buffer;
  if (buffer instanceof ArrayBuffer && value.byteOffset === 0 && value.byteLength === buffer.byteLength) return buffer;
  return new Uint8Array(value).buffer;
}

// ─── the I/O thread's side ───────────────────────────────────────────────────

/** The body of a response streamed from a worker, as the connection writes it: an async iterator of chunks. */
export class WorkerBody implements AsyncIterableIterator<Uint8Array> {
  #port: MessagePort;
  #chunks: Uint8Array[] = [];
  #isDone = false;
  #error: Error | null = null;
  #waiting: { resolve: (result: IteratorResult<Uint8Array>) => void; reject: (err: Error) => void } | null = null;
  /** bytes handed to the connection since credit last went back */
  #owed = 0;

  constructor(port: MessagePort) {
    this.#port = port;
    port.on('message', (message: DataMessage) => this.#onMessage(message));
    port.on('close', () => this.#onClose());
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<Uint8Array>> {
    const chunk = this.#chunks.shift();
    if (chunk !== undefined) return Promise.resolve(this.#handOut(chunk));
    if (this.#error !== null) return Promise.reject(this.#error);
    if (this.#isDone) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => { this.#waiting = { resolve, reject }; });
  }

  /** The connection stopped reading (its client left): the worker cancels the application's stream. */
  return(): Promise<IteratorResult<Uint8Array>> {
    this.cancel();
    return Promise.resolve({ value: undefined, done: true });
  }

  cancel(): void {
    if (this.#isDone) return;
    this.#isDone = true;
    this.#chunks.length = 0;
    this.#port.postMessage({ type: 'cancel' } satisfies ControlMessage);
    this.#port.close();
    this.#settleWaiting();
  }

  #handOut(chunk: Uint8Array): IteratorResult<Uint8Array> {
    // The connection asks for the next chunk only once the socket took the
    // last one: what it holds is the socket's, and the window's credit is due.
    this.#owed += chunk.byteLength;
    if (this.#owed >= STREAM_WINDOW_BYTES / CREDIT_BATCHES && !this.#isDone) {
      this.#port.postMessage({ type: 'credit', bytes: this.#owed } satisfies ControlMessage);
      this.#owed = 0;
    }
    return { value: chunk, done: false };
  }

  #onMessage(message: DataMessage): void {
    if (this.#isDone) return;
    switch (message.type) {
      case 'chunks':
        for (const part of message.parts) this.#receive(new Uint8Array(part));
        return;
      case 'end':
        this.#isDone = true;
        this.#port.close();
        break;
      case 'error':
        this.#isDone = true;
        this.#error = new Error(`the application's body stream failed: ${message.message}`);
        this.#port.close();
        break;
    }
    if (this.#chunks.length === 0) this.#settleWaiting();
  }

  #receive(chunk: Uint8Array): void {
    const waiting = this.#waiting;
    if (waiting !== null) {
      this.#waiting = null;
      waiting.resolve(this.#handOut(chunk));
    } else this.#chunks.push(chunk);
  }

  #onClose(): void {
    if (this.#isDone) return;
    this.#isDone = true;
    this.#error = new Error('the worker thread ended before the response body did');
    if (this.#chunks.length === 0) this.#settleWaiting();
  }

  #settleWaiting(): void {
    const waiting = this.#waiting;
    if (waiting === null) return;
    this.#waiting = null;
    if (this.#error !== null && this.#chunks.length === 0) waiting.reject(this.#error);
    else waiting.resolve({ value: undefined, done: true });
  }
}

// ─── request bodies: the same window, the other way ─────────────────────────
//
//   I/O thread ──chunk (copied once, then moved), ..., end | error──▶ worker
//   I/O thread ◀──────── credit (the app reads), cancel ─────────── worker
//
// The first credit goes out when the application first reads the body, so a
// 100 (Continue) waits for it, and nothing is sent to a worker that never reads.

/** Moves an incoming body to the worker that runs its request; the port is closed when the exchange ends. */
export function sendRequestBody(body: IncomingBody, port: MessagePort): void {
  // The socket's reads of one turn of the event loop (libuv reads up to 32
  // of 64 KiB while the socket has more) go to the worker together, in one
  // message: a message to a thread asleep costs the sender a wake-up of tens
  // of microseconds on this kind of machine, more than the bytes it carries.
  let batch: ArrayBuffer[] = [];
  let isFlushDue = false;
  const flush = (): void => {
    isFlushDue = false;
    if (batch.length === 0) return;
    const parts = batch;
    batch = [];
    try {
      port.postMessage({ type: 'chunks', parts } satisfies DataMessage, parts);
    } catch {
      // A buffer Node marks untransferable: copies go instead.
      const copies = parts.map((part) => new Uint8Array(part).slice().buffer);
      port.postMessage({ type: 'chunks', parts: copies } satisfies DataMessage, copies);
    }
  };
  body.attach({
    chunk(part) {
      batch.push(ownPart(part));
      if (!isFlushDue) {
        isFlushDue = true;
        setImmediate(flush);
      }
    },
    end() {
      flush();
      port.postMessage({ type: 'end' } satisfies DataMessage);
    },
    error(err) {
      batch = [];
      port.postMessage({ type: 'error', message: err.message } satisfies DataMessage);
    },
  });
  port.on('message', (message: ControlMessage) => {
    if (message.type === 'credit') body.grant(message.bytes);
    else body.fail(new Error('the application cancelled reading the request body'));
  });
  port.on('close', () => body.fail(new Error('the worker stopped reading the request body')));
}

/**
 * A buffer to move for a request-body part: the part's own when it is a
 * whole socket read (the parser has let go of it), else a copy of the view
 * (into a read that holds more: framing, the next request).
 */
function ownPart(part: Buffer): ArrayBuffer {
  const buffer = part.buffer;
  if (part.byteOffset === 0 && part.byteLength === buffer.byteLength && buffer instanceof ArrayBuffer) return buffer;
  const bytes = new Uint8Array(part.byteLength);
  bytes.set(part);
  return bytes.buffer;
}

/** The worker's `request.body`: a stream of what the I/O thread sends, asking for it as the application reads. */
export function receiveRequestBody(port: MessagePort): ReadableStream<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let isEnded = false;
  let error: Error | null = null;
  let wake: (() => void) | null = null;
  let hasAsked = false;
  let owed = 0;
  port.on('message', (message: DataMessage) => {
    if (message.type === 'chunks') for (const part of message.parts) chunks.push(new Uint8Array(part));
    else if (message.type === 'end') isEnded = true;
    else error ??= new Error(`the request body failed: ${message.message}`);
    wake?.();
  });
  port.on('close', () => {
    if (!isEnded) error ??= new Error('the request body ended early: the client went away');
    wake?.();
  });
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (!hasAsked) {
        hasAsked = true;
        port.postMessage({ type: 'credit', bytes: REQUEST_WINDOW_BYTES } satisfies ControlMessage);
      }
      while (chunks.length === 0 && !isEnded && error === null) await new Promise<void>((resolve) => { wake = resolve; });
      wake = null;
      const chunk = chunks.shift();
      if (chunk !== undefined) {
        controller.enqueue(chunk);
        owed += chunk.byteLength;
        if (owed >= REQUEST_WINDOW_BYTES / CREDIT_BATCHES) {
          port.postMessage({ type: 'credit', bytes: owed } satisfies ControlMessage);
          owed = 0;
        }
      } else if (error !== null) {
        controller.error(error);
        port.close();
      } else {
        controller.close();
        port.close();
      }
    },
    cancel() {
      port.postMessage({ type: 'cancel' } satisfies ControlMessage);
      port.close();
    },
  }, { highWaterMark: 0 });
}
