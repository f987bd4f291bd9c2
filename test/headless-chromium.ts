// A real browser for end-to-end tests: Debian's headless chromium, driven
// over the DevTools protocol on a pipe (--remote-debugging-pipe: JSON
// messages, each ended by a NUL byte, written to the browser's fd 3 and read
// from its fd 4), so no WebSocket client and no npm package is needed.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { delay } from './helpers.js';

const NUL = 0;

/** The chromium binary on PATH, or null when it is not installed. */
export function findChromium(): string | null {
  try {
    const found = execFileSync('bash', ['-c', 'command -v chromium || command -v chromium-browser'], { encoding: 'utf8' }).trim();
    return found === '' ? null : found;
  } catch {
    return null;
  }
}

interface Pending {
  resolve: (result: Record<string, unknown>) => void;
  reject: (err: Error) => void;
}

/** One headless browser; `open` a page, `evaluate` in it, `close` when done. */
export class HeadlessChromium {
  readonly #child: ChildProcess;
  readonly #userDataDir: string;
  readonly #toBrowser: Writable;
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;
  #received = Buffer.alloc(0);
  #exitError: Error | null = null;

  private constructor(child: ChildProcess, userDataDir: string) {
    this.#child = child;
    this.#userDataDir = userDataDir;
    this.#toBrowser = child.stdio[3] as Writable;
    this.#toBrowser.on('error', () => {}); // a browser that died shows up as its exit
    (child.stdio[4] as Readable).on('data', (chunk: Buffer) => this.#onBrowserData(chunk));
    child.on('exit', (code, signal) => {
      this.#exitError = new Error(`chromium exited (${code ?? signal})`);
      for (const { reject } of this.#pending.values()) reject(this.#exitError);
      this.#pending.clear();
    });
  }

  static async launch(binary: string): Promise<HeadlessChromium> {
    const userDataDir = await mkdtemp(path.join(os.tmpdir(), 'spindle-chromium-'));
    const child = spawn(binary, [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run',
      '--no-default-browser-check', '--remote-debugging-pipe', `--user-data-dir=${userDataDir}`, 'about:blank',
    ], { stdio: ['ignore', 'ignore', 'ignore', 'pipe', 'pipe'] });
    const browser = new HeadlessChromium(child, userDataDir);
    await browser.#send('Browser.getVersion');
    return browser;
  }

  /** Opens url in a new tab; returns the session that `evaluate` runs in. */
  async open(url: string): Promise<string> {
    const { targetId } = await this.#send('Target.createTarget', { url });
    const { sessionId } = await this.#send('Target.attachToTarget', { targetId, flatten: true });
    return sessionId as string;
  }

  /** The value of a JavaScript expression in the page. */
  async evaluate(sessionId: string, expression: string): Promise<unknown> {
    const { result, exceptionDetails } = await this.#send('Runtime.evaluate', { expression, returnByValue: true }, sessionId);
    if (exceptionDetails !== undefined) throw new Error(`page threw: ${JSON.stringify(exceptionDetails)}`);
    return (result as { value?: unknown }).value;
  }

  /** Evaluates `expression` every 50 ms until it is truthy; throws after timeoutMs. */
  async waitFor(sessionId: string, expression: string, timeoutMs: number): Promise<unknown> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = await this.evaluate(sessionId, expression);
      if (value) return value;
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${expression}`);
      await delay(50);
    }
  }

  async close(): Promise<void> {
    const exited = new Promise<void>((resolve) => {
      if (this.#child.exitCode !== null || this.#child.signalCode !== null) resolve();
      else this.#child.once('exit', () => resolve());
    });
    if (this.#exitError === null) {
      await Promise.race([this.#send('Browser.close').catch(() => {}), delay(2000)]);
    }
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(timer);
    await rm(this.#userDataDir, { recursive: true, force: true });
  }

  #send(method: string, params: Record<string, unknown> = {}, sessionId?: string): Promise<Record<string, unknown>> {
    if (this.#exitError !== null) return Promise.reject(this.#exitError);
    const id = this.#nextId++;
    const message = JSON.stringify(sessionId === undefined ? { id, method, params } : { id, method, params, sessionId });
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#toBrowser.write(Buffer.concat([Buffer.from(message), Buffer.of(NUL)]));
    });
  }

  #onBrowserData(chunk: Buffer): void {
    this.#received = Buffer.concat([this.#received, chunk]);
    for (let end = this.#received.indexOf(NUL); end >= 0; end = this.#received.indexOf(NUL)) {
      const message = JSON.parse(this.#received.toString('utf8', 0, end)) as {
        id?: number; result?: Record<string, unknown>; error?: { message: string };
      };
      this.#received = this.#received.subarray(end + 1);
      const pending = message.id === undefined ? undefined : this.#pending.get(message.id);
      if (pending === undefined) continue; // an event: nothing here listens to them
      this.#pending.delete(message.id!);
      if (message.error !== undefined) pending.reject(new Error(`DevTools: ${message.error.message}`));
      else pending.resolve(message.result ?? {});
    }
  }
}
