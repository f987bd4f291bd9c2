// The messages of one HTTP exchange between the I/O thread and a worker, and
// their codec: plain data plus body bytes. Imported by both sides.
//
// A job travels in one payload slot of the pool's shared queue when its head
// and body fit (JOB_SLOT_BYTES); a body larger than SHARED_BODY_BYTES is
// moved by message instead, which leaves room for most heads beside the body
// a slot holds. A job that still does not fit (a head of many kilobytes) goes
// by message whole. Results come back in result mailbox slots of
// RESULT_SLOT_BYTES, or by message when they do not fit.

import type { MessagePort } from 'node:worker_threads';

/** bytes of a payload slot in the pool's shared queue */
export const JOB_SLOT_BYTES = 4096;
/** request bodies up to this size are copied into the job's slot with the head; larger ones are transferred */
export const SHARED_BODY_BYTES = JOB_SLOT_BYTES / 2;
/** bytes of a result slot in a worker's result mailbox */
export const RESULT_SLOT_BYTES = 4096;

/** A request, as the worker needs it to build a fetch `Request`. */
export interface HttpJob {
  method: string;
  /** absolute URL: scheme, Host, path and query */
  url: string;
  /** header fields in order, flat: lower-cased name, value, ... (repeated fields kept) */
  headers: string[];
  /**
   * the body; null when the request has none. Small bodies are copied into
   * the pool's shared queue with the head; larger ones are moved (transferred).
   */
  body: Uint8Array | ArrayBuffer | null;
  /** a body still arriving, streamed through this port (see body-stream.ts); body is then null */
  bodyPort?: MessagePort;
}

/**
 * Writes a job into a slot of the pool's shared queue, for decodeHttpJob in
 * the worker: a little-endian u32 length, then the method, URL and header
 * fields as latin1 text separated by LF (none of them can hold an LF: the
 * parser rejects it), then the body bytes. Returns -1 when it does not fit.
 */
export function encodeHttpJob(job: HttpJob, target: Buffer): number {
  const text = job.headers.length === 0 ? `${job.method}\n${job.url}` : `${job.method}\n${job.url}\n${job.headers.join('\n')}`;
  const body = job.body === null ? null : job.body instanceof Uint8Array ? job.body : new Uint8Array(job.body);
  const length = 4 + text.length + (body === null ? 0 : body.byteLength);
  if (length > target.byteLength) return -1;
  target.writeUInt32LE(text.length, 0);
  target.write(text, 4, 'latin1');
  if (body !== null) target.set(body, 4 + text.length);
  return length;
}

/** Reads what encodeHttpJob wrote (bytes is the worker's own copy). */
export function decodeHttpJob(bytes: Buffer): HttpJob {
  const textLength = bytes.readUInt32LE(0);
  const fields = bytes.toString('latin1', 4, 4 + textLength).split('\n');
  const bodyStart = 4 + textLength;
  return {
    method: fields[0],
    url: fields[1],
    headers: fields.slice(2),
    body: bytes.byteLength > bodyStart ? bytes.subarray(bodyStart) : null,
  };
}

/** A response, as the worker read it from the application's `Response`. */
export interface HttpJobResult {
  status: number;
  /** header fields, flat: name, value, ... (Set-Cookie kept apart per cookie) */
  headers: string[];
  /**
   * the body: text (sent as UTF-8), byte parts in order (moved to the I/O
   * thread), bytes read from a result mailbox, or null
   */
  body: string | ArrayBuffer[] | Uint8Array | null;
  /** a body streamed through this port (see body-stream.ts); body is then null */
  stream?: MessagePort;
  /**
   * when the job started, ms since the epoch with sub-ms precision
   * (performance.timeOrigin + performance.now(), which every thread agrees on);
   * set by runHttpJob
   */
  startedAt?: number;
  /** the worker's thread id; set by runHttpJob */
  worker?: number;
}

const BODY_NONE = 0;
const BODY_BYTES = 1;
const NON_LATIN1 = /[^\x00-\xff]/;

/** u16 status, u32 header text length, f64 startedAt, u32 worker */
export const RESULT_HEAD_BYTES = 18;

/**
 * Writes a result into a worker's result mailbox, for decodeHttpResult on
 * the I/O thread: u16 status, u32 length, f64 start time, u32 worker, the
 * header fields as latin1 text separated by LF, a body kind, then the body
 * bytes (text as UTF-8). Returns
 * -1 when it does not fit, or when a header has an LF or a character past
 * latin1: such a result goes by message, and the I/O thread rejects it (500).
 */
export function encodeHttpResult(result: HttpJobResult, target: Buffer): number {
  if (result.stream !== undefined) return -1; // the port goes by message
  const headers = result.headers;
  for (let i = 0; i < headers.length; i++) if (headers[i].includes('\n')) return -1;
  const text = headers.join('\n');
  if (NON_LATIN1.test(text)) return -1;
  const body = result.body;
  const bodyStart = RESULT_HEAD_BYTES + 1 + text.length;
  if (bodyStart > target.byteLength) return -1;
  let end = bodyStart;
  if (typeof body === 'string') {
    if (bodyStart + body.length * 3 > target.byteLength && bodyStart + Buffer.byteLength(body) > target.byteLength) return -1;
    end += target.write(body, bodyStart, 'utf8');
  } else if (body !== null) {
    const parts = Array.isArray(body) ? body.map((part) => new Uint8Array(part)) : [body];
    for (const part of parts) {
      if (end + part.byteLength > target.byteLength) return -1;
      target.set(part, end);
      end += part.byteLength;
    }
  }
  target.writeUInt16LE(result.status, 0);
  target.writeUInt32LE(text.length, 2);
  target.writeDoubleLE(result.startedAt ?? 0, 6);
  target.writeUInt32LE(result.worker ?? 0, 14);
  target.write(text, RESULT_HEAD_BYTES, 'latin1');
  target[RESULT_HEAD_BYTES + text.length] = body === null ? BODY_NONE : BODY_BYTES;
  return end;
}

/** Reads what encodeHttpResult wrote, copying the body out of the mailbox. */
export function decodeHttpResult(bytes: Buffer): HttpJobResult {
  const textLength = bytes.readUInt32LE(2);
  const textEnd = RESULT_HEAD_BYTES + textLength;
  return {
    status: bytes.readUInt16LE(0),
    headers: textLength === 0 ? [] : bytes.toString('latin1', RESULT_HEAD_BYTES, textEnd).split('\n'),
    body: bytes[textEnd] === BODY_NONE ? null : Buffer.from(bytes.subarray(textEnd + 1)),
    startedAt: bytes.readDoubleLE(6),
    worker: bytes.readUInt32LE(14),
  };
}

/** What each worker's app module setup receives. */
export interface AppSetup {
  /** URL of the application module */
  appModule: string;
}
