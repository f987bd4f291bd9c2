// Helpers for the static-file tests: a fixture tree in a temporary directory
// with a secret file just outside its root, one raw request at a time, a
// download client that only counts bytes, and readings of a server process's
// memory and open files from /proc.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { PATIENCE_MS, exchange, type ParsedResponse } from './helpers.js';

// ─── fixture trees ───────────────────────────────────────────────────────────

export interface StaticFixture {
  /** the temporary directory holding everything */
  dir: string;
  /** the static root, dir/root */
  root: string;
  /** dir/secret.txt, beside the root: no request may ever read it */
  secretPath: string;
  /** the unique text inside secret.txt */
  secretMarker: string;
}

/**
 * Creates dir/root/ and dir/secret.txt (a unique marker) under os.tmpdir().
 * The caller removes it with removeFixture() in after().
 */
export function createFixture(name: string): StaticFixture {
  const dir = mkdtempSync(path.join(os.tmpdir(), `spindle-${name}-`));
  const root = path.join(dir, 'root');
  mkdirSync(root);
  const secretMarker = `SECRET-${randomUUID()}`;
  const secretPath = path.join(dir, 'secret.txt');
  writeFileSync(secretPath, `${secretMarker}\n`);
  return { dir, root, secretPath, secretMarker };
}

export function removeFixture(fixture: StaticFixture): void {
  rmSync(fixture.dir, { recursive: true, force: true });
}

/** Writes files (relative path → content) under base, creating directories; a path ending in "/" is an empty directory. */
export function writeFiles(base: string, files: Record<string, string | Uint8Array>): void {
  for (const [relative, content] of Object.entries(files)) {
    const full = path.join(base, relative);
    if (relative.endsWith('/')) {
      mkdirSync(full, { recursive: true });
      continue;
    }
    mkdirSync(path.dirname(full), { recursive: true });
    writeFileSync(full, content);
  }
}

// ─── one request ─────────────────────────────────────────────────────────────

export interface RequestOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
}

/**
 * Sends one request with exactly `target` as its request-target (the bytes
 * as written, latin1) and Connection: close, and returns the one response.
 */
export async function request(t: TestContext, port: number, target: string, options: RequestOptions = {}): Promise<ParsedResponse> {
  const method = options.method ?? 'GET';
  let head = `${method} ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n`;
  for (const [name, value] of Object.entries(options.headers ?? {})) head += `${name}: ${value}\r\n`;
  if (options.body !== undefined) head += `Content-Length: ${Buffer.byteLength(options.body)}\r\n`;
  const result = await exchange(t, port, head + '\r\n' + (options.body ?? ''), { methods: [method] });
  assert.ok(result.isClosed, `the server closes after a Connection: close request to ${JSON.stringify(target)}`);
  assert.equal(result.responses.length, 1, `one response to ${method} ${JSON.stringify(target)}; received:\n${result.text}`);
  return result.responses[0];
}

// ─── downloads that only count ───────────────────────────────────────────────

export interface DownloadOptions {
  /** extra request header lines */
  headers?: Record<string, string>;
  /** destroy the socket once this many body bytes have arrived */
  abortAfterBytes?: number;
  /** called on every chunk with the body bytes so far; may pause the socket */
  onProgress?: (bodyBytes: number, socket: net.Socket) => void;
  timeoutMs?: number;
}

export interface DownloadResult {
  status: number;
  /** the Content-Length the server announced */
  contentLength: number;
  /** body bytes received (counted, never kept) */
  bodyBytes: number;
}

/**
 * GETs target with Connection: close and counts the body bytes without
 * keeping them, so a 1 GiB download costs the test process nothing. Resolves
 * when the connection closes (or once aborted).
 */
export function download(port: number, target: string, options: DownloadOptions = {}): Promise<DownloadResult> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: '127.0.0.1' });
    let headBytes: Buffer | null = Buffer.alloc(0);
    const result: DownloadResult = { status: 0, contentLength: -1, bodyBytes: 0 };
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`download of ${target} timed out after ${result.bodyBytes} body bytes`));
    }, options.timeoutMs ?? PATIENCE_MS * 6);
    let extra = '';
    for (const [name, value] of Object.entries(options.headers ?? {})) extra += `${name}: ${value}\r\n`;
    socket.write(`GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n${extra}\r\n`);
    socket.on('data', (chunk: Buffer) => {
      if (headBytes !== null) {
        // Only the head is kept, until its end is seen.
        headBytes = Buffer.concat([headBytes, chunk]);
        const end = headBytes.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = headBytes.toString('latin1', 0, end);
        result.status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0);
        const length = /\r\ncontent-length: *(\d+)/i.exec(head);
        if (length !== null) result.contentLength = Number(length[1]);
        result.bodyBytes = headBytes.length - end - 4;
        headBytes = null;
      } else {
        result.bodyBytes += chunk.length;
      }
      options.onProgress?.(result.bodyBytes, socket);
      if (options.abortAfterBytes !== undefined && result.bodyBytes >= options.abortAfterBytes) socket.destroy();
    });
    socket.on('error', () => {}); // a reset after an abort is expected; 'close' follows
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(result);
    });
  });
}

/** Runs task(i) for i in 0..count-1, at most `concurrency` at a time. */
export async function runBounded(count: number, concurrency: number, task: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < count) await task(next++);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, lane));
}

// ─── a server process from the outside ───────────────────────────────────────

/** Resident set size of a process (VmRSS in /proc/PID/status), in bytes. */
export function readRssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(status);
  assert.ok(m !== null, `no VmRSS in /proc/${pid}/status`);
  return Number(m[1]) * 1024;
}

/** Number of open file descriptors of a process (entries of /proc/PID/fd). */
export function countOpenFds(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/** Bytes a process has read through read(2) and the like, all threads (rchar in /proc/PID/io). */
export function readIoReadBytes(pid: number): number {
  const io = readFileSync(`/proc/${pid}/io`, 'utf8');
  const m = /^rchar:\s+(\d+)$/m.exec(io);
  assert.ok(m !== null, `no rchar in /proc/${pid}/io`);
  return Number(m[1]);
}

/** Samples a process's RSS every intervalMs until stopped; stop() returns the largest sample. */
export function sampleRss(pid: number, intervalMs = 50): { stop(): number } {
  let max = readRssBytes(pid);
  const timer = setInterval(() => {
    max = Math.max(max, readRssBytes(pid));
  }, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      return Math.max(max, readRssBytes(pid));
    },
  };
}

export const MiB = 1024 * 1024;
