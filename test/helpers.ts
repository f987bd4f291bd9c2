// Shared helpers for the end-to-end tests: a real server on a free port, a
// raw TCP client that speaks bytes, a strict parser for what comes back, and
// the CLI as a child process. Nothing is mocked; every test uses real sockets.
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createServer, type Server, type ServerOptions } from '../src/index.js';

/** How long a test waits for something that should happen "soon". Generous on purpose: CI machines are slow. */
export const PATIENCE_MS = 5000;

export const CLI_PATH = fileURLToPath(new URL('../src/cli.js', import.meta.url));
/** The library entry, for scripts run in a child process. */
export const INDEX_URL = new URL('../src/index.js', import.meta.url).href;
export const PACKAGE_JSON_PATH = fileURLToPath(new URL('../../package.json', import.meta.url));

// ─── server ──────────────────────────────────────────────────────────────────

export interface TestServer {
  server: Server;
  port: number;
  /** http://127.0.0.1:PORT */
  url: string;
  /** what the server logged; tests stay quiet and may assert on it */
  logs: string[];
}

/** Starts a server on a free port of 127.0.0.1 and closes it when the test ends. */
export async function startServer(t: TestContext, options: ServerOptions = {}): Promise<TestServer> {
  const logs: string[] = [];
  const server = createServer({ log: (message) => logs.push(message), ...options, port: 0, host: '127.0.0.1' });
  const address = await server.listen();
  t.after(() => server.close());
  return { server, port: address.port, url: `http://127.0.0.1:${address.port}`, logs };
}

// ─── raw client ──────────────────────────────────────────────────────────────

/** A TCP client for protocol edges: it writes exactly the bytes given and keeps everything it receives. */
export class RawClient {
  readonly socket: net.Socket;
  #chunks: Buffer[] = [];
  #cursor = 0;
  #hasServerEnded = false;
  #isClosed = false;
  #listeners = new Set<() => void>();

  constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => {
      this.#chunks.push(chunk);
      this.#notify();
    });
    socket.on('end', () => {
      this.#hasServerEnded = true;
      this.#notify();
    });
    socket.on('error', () => {}); // ECONNRESET shows up as 'close'; tests look at what arrived
    socket.on('close', () => {
      this.#isClosed = true;
      this.#notify();
    });
  }

  /** Every byte received so far. */
  get bytes(): Buffer {
    if (this.#chunks.length > 1) this.#chunks = [Buffer.concat(this.#chunks)];
    return this.#chunks[0] ?? Buffer.alloc(0);
  }

  get text(): string {
    return this.bytes.toString('latin1');
  }

  /** True once the server has ended (FIN) or the socket is gone. */
  get isClosedByServer(): boolean {
    return this.#hasServerEnded || this.#isClosed;
  }

  write(data: string | Uint8Array): Promise<void> {
    return new Promise((resolve, reject) => {
      this.socket.write(typeof data === 'string' ? Buffer.from(data, 'latin1') : data, (err) => (err ? reject(err) : resolve()));
    });
  }

  /** Half-closes: sends FIN and keeps reading. */
  end(): void {
    this.socket.end();
  }

  /**
   * Waits until `count` more complete responses have arrived and returns
   * them. `methods` names the request method of each, so HEAD answers are
   * read without a body.
   */
  async readResponses(count: number, methods: string[] = [], timeoutMs = PATIENCE_MS): Promise<ParsedResponse[]> {
    let result: ParseResult = { responses: [], consumed: 0 };
    const isReady = (): boolean => {
      result = parseResponses(this.bytes.subarray(this.#cursor), { methods, isEof: this.isClosedByServer });
      return result.responses.length >= count || this.isClosedByServer;
    };
    await this.#waitFor(isReady, timeoutMs, `${count} response(s)`);
    if (result.responses.length < count) {
      assert.fail(`expected ${count} response(s), the connection closed after ${result.responses.length}; received:\n${this.text}`);
    }
    const taken = result.responses.slice(0, count);
    this.#cursor += taken.reduce((n, response) => n + response.byteLength, 0);
    return taken;
  }

  async readResponse(method = 'GET', timeoutMs = PATIENCE_MS): Promise<ParsedResponse> {
    const [response] = await this.readResponses(1, [method], timeoutMs);
    return response;
  }

  /** Waits until the received bytes contain `needle`. */
  async waitForText(needle: string, timeoutMs = PATIENCE_MS): Promise<void> {
    await this.#waitFor(() => this.text.includes(needle) || this.isClosedByServer, timeoutMs, JSON.stringify(needle));
    assert.ok(this.text.includes(needle), `expected ${JSON.stringify(needle)}; received:\n${this.text}`);
  }

  /** Resolves true when the server closes the connection within the timeout, false otherwise. */
  async waitForClose(timeoutMs = PATIENCE_MS): Promise<boolean> {
    try {
      await this.#waitFor(() => this.isClosedByServer, timeoutMs, 'close');
      return true;
    } catch {
      return false;
    }
  }

  destroy(): void {
    this.socket.destroy();
  }

  #notify(): void {
    for (const listener of [...this.#listeners]) listener();
  }

  #waitFor(isDone: () => boolean, timeoutMs: number, what: string): Promise<void> {
    if (isDone()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (!isDone()) return;
        cleanup();
        resolve();
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; received:\n${this.text}`));
      }, timeoutMs);
      const cleanup = (): void => {
        clearTimeout(timer);
        this.#listeners.delete(check);
      };
      this.#listeners.add(check);
    });
  }
}

/** Connects a RawClient to 127.0.0.1:port; it is destroyed when the test ends. */
export async function connect(t: TestContext, port: number): Promise<RawClient> {
  const socket = net.connect({ port, host: '127.0.0.1' });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const client = new RawClient(socket);
  t.after(() => client.destroy());
  return client;
}

export interface ExchangeOptions {
  /** pause between writes, so each reaches the server as its own packet */
  pauseMs?: number;
  /** send FIN after the last write */
  halfClose?: boolean;
  /** request method of each expected response (HEAD has no body) */
  methods?: string[];
  timeoutMs?: number;
}

export interface ExchangeResult {
  bytes: Buffer;
  text: string;
  responses: ParsedResponse[];
  /** the server closed the connection (rather than the timeout passing) */
  isClosed: boolean;
}

/**
 * Sends bytes (one write per element of `writes`) and collects everything
 * until the server closes the connection or the timeout passes.
 */
export async function exchange(t: TestContext, port: number, writes: string | Uint8Array | Array<string | Uint8Array>, options: ExchangeOptions = {}): Promise<ExchangeResult> {
  const client = await connect(t, port);
  const list = Array.isArray(writes) ? writes : [writes];
  for (let i = 0; i < list.length; i++) {
    if (i > 0 && options.pauseMs !== undefined) await delay(options.pauseMs);
    if (client.isClosedByServer) break;
    await client.write(list[i]).catch(() => {});
  }
  if (options.halfClose === true) client.end();
  const isClosed = await client.waitForClose(options.timeoutMs ?? PATIENCE_MS);
  client.destroy();
  const bytes = client.bytes;
  const { responses } = parseResponses(bytes, { methods: options.methods, isEof: true });
  return { bytes, text: bytes.toString('latin1'), responses, isClosed };
}

// ─── response parser ─────────────────────────────────────────────────────────

export interface ParsedResponse {
  version: string;
  status: number;
  reason: string;
  /** header fields in order, names lower-cased */
  headers: Array<[string, string]>;
  /** the head as received, status line to the empty line */
  head: string;
  body: Buffer;
  framing: 'none' | 'length' | 'chunked' | 'close';
  /** bytes of the whole message on the wire */
  byteLength: number;
}

export interface ParseResult {
  responses: ParsedResponse[];
  /** bytes taken by the complete responses */
  consumed: number;
}

/** The first value of a header, matched case-insensitively. */
export function header(response: ParsedResponse, name: string): string | undefined {
  const lower = name.toLowerCase();
  return response.headers.find(([n]) => n === lower)?.[1];
}

export function headerCount(response: ParsedResponse, name: string): number {
  const lower = name.toLowerCase();
  return response.headers.filter(([n]) => n === lower).length;
}

/**
 * Parses as many complete responses as `bytes` holds. Strict: a malformed
 * status line or field line throws, so a split or garbled response fails the
 * test. Without Content-Length or chunked framing the body runs to the end of
 * the connection, so it is complete only when `isEof`.
 */
export function parseResponses(bytes: Buffer, options: { methods?: string[]; isEof?: boolean } = {}): ParseResult {
  const responses: ParsedResponse[] = [];
  let pos = 0;
  let finalIndex = 0; // which request the next final (non-1xx) response answers
  for (;;) {
    const headEnd = bytes.indexOf('\r\n\r\n', pos, 'latin1');
    if (headEnd < 0) break;
    const head = bytes.toString('latin1', pos, headEnd + 4);
    const lines = head.slice(0, -4).split('\r\n');
    const m = /^HTTP\/(\d\.\d) (\d{3}) (.*)$/.exec(lines[0]);
    if (m === null) throw new Error(`malformed status line ${JSON.stringify(lines[0])} in:\n${bytes.toString('latin1')}`);
    const headers: Array<[string, string]> = [];
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      if (colon <= 0 || /[\s]/.test(line.slice(0, colon)) || /[\r\n]/.test(line)) {
        throw new Error(`malformed header line ${JSON.stringify(line)} in:\n${bytes.toString('latin1')}`);
      }
      headers.push([line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim()]);
    }
    const status = Number(m[2]);
    const response: ParsedResponse = { version: m[1], status, reason: m[3], headers, head, body: Buffer.alloc(0), framing: 'none', byteLength: 0 };
    const isInterim = status >= 100 && status < 200;
    const method = isInterim ? undefined : options.methods?.[finalIndex];
    let end = headEnd + 4;
    const transferEncoding = header(response, 'transfer-encoding');
    const contentLength = header(response, 'content-length');
    if (isInterim || status === 204 || status === 304 || method === 'HEAD') {
      response.framing = 'none';
    } else if (transferEncoding !== undefined) {
      assert.equal(transferEncoding.toLowerCase(), 'chunked', 'only chunked is expected from Spindle');
      const decoded = decodeChunked(bytes, end);
      if (decoded === null) break;
      response.framing = 'chunked';
      response.body = decoded.body;
      end = decoded.end;
    } else if (contentLength !== undefined) {
      const length = Number(contentLength);
      if (bytes.length - end < length) break;
      response.framing = 'length';
      response.body = bytes.subarray(end, end + length);
      end += length;
    } else {
      if (options.isEof !== true) break;
      response.framing = 'close';
      response.body = bytes.subarray(end);
      end = bytes.length;
    }
    response.byteLength = end - pos;
    responses.push(response);
    pos = end;
    if (!isInterim) finalIndex++;
  }
  return { responses, consumed: pos };
}

/** Decodes a chunked body starting at pos; null when it is not complete yet. */
function decodeChunked(bytes: Buffer, pos: number): { body: Buffer; end: number } | null {
  const parts: Buffer[] = [];
  for (;;) {
    const lineEnd = bytes.indexOf('\r\n', pos, 'latin1');
    if (lineEnd < 0) return null;
    const size = parseInt(bytes.toString('latin1', pos, lineEnd).split(';')[0], 16);
    assert.ok(Number.isInteger(size), `bad chunk size line at ${pos}`);
    pos = lineEnd + 2;
    if (size === 0) {
      // No trailers from Spindle: the last chunk is followed by one empty line.
      if (bytes.length < pos + 2) return null;
      assert.equal(bytes.toString('latin1', pos, pos + 2), '\r\n', 'chunked body must end with an empty line');
      return { body: Buffer.concat(parts), end: pos + 2 };
    }
    if (bytes.length < pos + size + 2) return null;
    parts.push(bytes.subarray(pos, pos + size));
    assert.equal(bytes.toString('latin1', pos + size, pos + size + 2), '\r\n', 'chunk data must end with CRLF');
    pos += size + 2;
  }
}

/**
 * Asserts the parts every Spindle response shares (status, a Date header)
 * and, for canned framing errors, that it says Connection: close.
 */
export function assertResponse(response: ParsedResponse | undefined, status: number, options: { isClosing?: boolean } = {}): asserts response is ParsedResponse {
  assert.ok(response !== undefined, `expected a ${status} response, got none`);
  assert.equal(response.status, status, `status of:\n${response.head}`);
  assert.equal(response.version, '1.1');
  assert.equal(headerCount(response, 'date'), 1, `exactly one Date header (RFC 9110 §6.6.1) in:\n${response.head}`);
  assert.ok(!Number.isNaN(Date.parse(header(response, 'date')!)), 'Date must be an HTTP date');
  if (options.isClosing === true) assert.equal(header(response, 'connection'), 'close', `expected Connection: close in:\n${response.head}`);
  if (options.isClosing === false) assert.notEqual(header(response, 'connection'), 'close', `unexpected Connection: close in:\n${response.head}`);
}

// ─── CLI ─────────────────────────────────────────────────────────────────────

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** The environment for a child CLI: this one without PORT, plus `env`. */
function cliEnv(env: Record<string, string> = {}): NodeJS.ProcessEnv {
  const base = { ...process.env };
  delete base.PORT;
  return { ...base, ...env };
}

/** Runs the CLI to completion (for --help, --version, bad flags); kills it if it outlives the timeout. */
export function runCli(args: string[], options: { env?: Record<string, string>; timeoutMs?: number } = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI_PATH, ...args], { env: cliEnv(options.env), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? PATIENCE_MS * 2);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** Runs an ES module source, written to a temporary .mjs file, in a fresh node process; kills it if it outlives the timeout. */
export async function runModule(source: string, timeoutMs = PATIENCE_MS * 2): Promise<CliResult> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'spindle-test-'));
  const file = path.join(dir, 'script.mjs');
  await writeFile(file, source);
  try {
    return await new Promise((resolve) => {
      const child = spawn(process.execPath, [file], { env: cliEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
      child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        resolve({ code, signal, stdout, stderr });
      });
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export interface CliProcess {
  child: ChildProcess;
  port: number;
  /** the address from the "listening" line */
  url: string;
  stdout(): string;
  stderr(): string;
  /** resolves when the process has exited */
  exited: Promise<CliResult>;
}

export interface StartCliOptions {
  env?: Record<string, string>;
  /** runs it under `ulimit -n N` (a bash builtin), as `bash -c 'ulimit -n N; exec node …'` */
  openFileLimit?: number;
  /** node's own flags, before the CLI's path */
  nodeFlags?: string[];
}

/** Spawns the CLI and waits for its "Spindle listening on" line; the process is killed when the test ends. */
export async function startCli(t: TestContext, args: string[], options: StartCliOptions = {}): Promise<CliProcess> {
  const command = [process.execPath, ...(options.nodeFlags ?? []), CLI_PATH, ...args];
  const child = options.openFileLimit === undefined
    ? spawn(command[0], command.slice(1), { env: cliEnv(options.env), stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn('bash', ['-c', `ulimit -n ${options.openFileLimit} && exec "$0" "$@"`, ...command], { env: cliEnv(options.env), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const exited = new Promise<CliResult>((resolve) => {
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    return exited;
  });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`CLI did not print its listening line; stdout: ${stdout}; stderr: ${stderr}`)), PATIENCE_MS * 2);
    const onData = (): void => {
      const m = /Spindle listening on (https?:\/\/\S+)\n/.exec(stdout);
      if (m === null) return;
      clearTimeout(timer);
      child.stdout.off('data', onData);
      resolve(m[1]);
    };
    child.stdout.on('data', onData);
    void exited.then((result) => {
      clearTimeout(timer);
      reject(new Error(`CLI exited (${result.code}) before listening; stderr: ${result.stderr}`));
    });
  });
  return { child, port: Number(new URL(url).port), url, stdout: () => stdout, stderr: () => stderr, exited };
}

// ─── curl and small things ───────────────────────────────────────────────────

export interface CurlResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the real curl binary. */
export function runCurl(args: string[], input?: string | Buffer): Promise<CurlResult> {
  return new Promise((resolve) => {
    const child = execFile('curl', args, { timeout: PATIENCE_MS * 2, encoding: 'latin1' }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1;
      resolve({ code, stdout, stderr });
    });
    if (input !== undefined) child.stdin!.end(input);
    else child.stdin!.end();
  });
}

/** Polls until `condition` holds; fails the test after the timeout. */
export async function waitUntil(condition: () => boolean, what: string, timeoutMs = PATIENCE_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`timed out after ${timeoutMs} ms waiting until ${what}`);
    await delay(10);
  }
}

/** A new directory under the system's temporary one, removed when the test ends. */
export function makeTempDir(t: TestContext, prefix: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), `spindle-${prefix}-`));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A promise with its resolve function, for handlers that tests hold open. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}
