// The access log: one line per request, written in batches and never on the
// hot path. Lines wait in memory and go out in one write per batch, with at
// most one write in flight (fs.write, on libuv's thread pool, so a slow disk
// blocks one of its threads, never the I/O thread; a full non-blocking pipe,
// as stdout often is, is tried again a moment later).
// Past MAX_PENDING_BYTES waiting, lines are dropped and counted; the count
// goes to the error log once the destination catches up, and to the metrics.
//
// SIGUSR1 reopens the file (the nginx convention, for logrotate): the next
// batch goes to a file opened afresh at the same path.
import { close, open, openSync, write } from 'node:fs';
import { formatter, type LogFormat } from './log-format.js';
import type { RequestObserver, RequestRecord } from './request-record.js';

/** lines waiting past this are dropped (about 5,000 combined lines) */
const MAX_PENDING_BYTES = 1024 * 1024;
const FILE_MODE = 0o640;
/** how soon a write that found a full non-blocking pipe is tried again */
const AGAIN_MS = 50;
const STDOUT = 1;

export interface AccessLogOptions {
  /** '-' for stdout, or a file path (appended to, created 0640) */
  destination: string;
  format: LogFormat;
  /** the server's error log, for failures and drop counts */
  log: (message: string) => void;
}

/** The access log file cannot be opened: a start-up error. */
export class AccessLogError extends Error {}

export class AccessLog implements RequestObserver {
  #destination: string;
  #format: (record: RequestRecord, now: number) => string;
  #log: (message: string) => void;
  #fd: number;
  #pending: string[] = [];
  #pendingBytes = 0;
  #isWriting = false;
  #isScheduled = false;
  #isReopening = false;
  #isClosed = false;
  #lastError: string | null = null;
  /** lines dropped since the last report to the error log */
  #unreported = 0;
  /** lines dropped since start */
  dropped = 0;
  #onIdle: (() => void) | null = null;
  /** runs once the write in flight is done (closing a descriptor replaced by reopen) */
  #afterWrite: (() => void) | null = null;

  /** Opens the file now, so that a path that cannot be written is a start-up error. */
  constructor(options: AccessLogOptions) {
    this.#destination = options.destination;
    this.#format = formatter(options.format);
    this.#log = options.log;
    try {
      this.#fd = options.destination === '-' ? STDOUT : openSync(options.destination, 'a', FILE_MODE);
    } catch (err) {
      throw new AccessLogError(`cannot open the access log ${options.destination}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  }

  requestDone(record: RequestRecord): void {
    if (this.#isClosed) return;
    const line = this.#format(record, Date.now());
    if (this.#pendingBytes + line.length > MAX_PENDING_BYTES) {
      this.dropped++;
      this.#unreported++;
      return;
    }
    this.#pending.push(line);
    this.#pendingBytes += line.length;
    if (!this.#isWriting && !this.#isScheduled) {
      // Lines of the same event-loop turn go out together.
      this.#isScheduled = true;
      setImmediate(this.#flush);
    }
  }

  /** SIGUSR1: the next batch goes to the path opened afresh (the old file may have been moved away). */
  reopen(): void {
    if (this.#destination === '-' || this.#isReopening || this.#isClosed) return;
    this.#isReopening = true;
    open(this.#destination, 'a', FILE_MODE, (err, fd) => {
      this.#isReopening = false;
      if (err !== null) {
        this.#log(`spindle: cannot reopen the access log ${this.#destination}: ${err.message}; still writing to the file open before`);
        return;
      }
      const old = this.#fd;
      this.#fd = fd;
      // A write in flight still holds the old descriptor; it is closed after it.
      if (this.#isWriting) this.#afterWrite = () => close(old, () => {});
      else close(old, () => {});
    });
  }

  /** Writes what is pending and closes the file; resolves when done, or after timeoutMs if the destination is stuck. */
  close(timeoutMs = 1000): Promise<void> {
    return new Promise((resolve) => {
      const finish = (): void => {
        clearTimeout(timer);
        this.#isClosed = true;
        if (this.#fd !== STDOUT) close(this.#fd, () => {});
        resolve();
      };
      const timer = setTimeout(finish, timeoutMs);
      timer.unref();
      if (!this.#isWriting && this.#pending.length === 0) finish();
      else this.#onIdle = finish;
    });
  }

  #flush = (): void => {
    this.#isScheduled = false;
    if (this.#pending.length === 0) {
      this.#onIdle?.();
      return;
    }
    if (this.#unreported > 0) {
      this.#log(`spindle: access log: ${this.#unreported} lines dropped, the destination was too slow`);
      this.#unreported = 0;
    }
    const batch = Buffer.from(this.#pending.join(''), 'utf8');
    this.#pending = [];
    this.#pendingBytes = 0;
    this.#isWriting = true;
    this.#writeAll(batch, 0);
  };

  #writeAll(batch: Buffer, offset: number): void {
    write(this.#fd, batch, offset, batch.length - offset, null, (err, written) => {
      if (err === null && offset + written < batch.length) return this.#writeAll(batch, offset + written);
      if (err?.code === 'EAGAIN') {
        // A non-blocking pipe (stdout) that is full: try the same bytes again
        // shortly; meanwhile new lines wait, up to the bound.
        setTimeout(() => this.#writeAll(batch, offset), AGAIN_MS).unref();
        return;
      }
      if (err !== null && this.#lastError !== err.message) {
        this.#lastError = err.message;
        this.#log(`spindle: cannot write the access log: ${err.message}`);
      }
      this.#isWriting = false;
      this.#afterWrite?.();
      this.#afterWrite = null;
      this.#flush();
    });
  }
}
