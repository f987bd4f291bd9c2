// Defaults and validation for every option of the server. The CLI and the
// library API both end here, so a bad value is caught in one place.
import os from 'node:os';
import type { Handler } from './http/exchange.js';
import type { ParserLimits } from './http/request-parser.js';
import { readOpenFileLimit } from './open-file-limit.js';
import { MAX_CONCURRENCY } from './pool/pool-options.js';
import type { StaticOptions } from './static/static-files.js';
import type { CertificateSource } from './tls/certificates.js';
import type { TlsSettings } from './tls/tls-front.js';
import type { LogFormat } from './observe/log-format.js';
import { TrustList } from './http/forwarded.js';

/** HTTPS: one certificate and its key, or several chosen by each handshake's SNI name. */
export interface TlsOptions {
  /** the certificate (chain): PEM text, or the path of a PEM file */
  cert?: string;
  /** its private key: PEM text, or the path of a PEM file */
  key?: string;
  /** the key's passphrase, or `{ file }` to read it from a file */
  passphrase?: string | { file: string };
  /** more pairs, after cert and key; the first pair of all answers handshakes that name no host it covers */
  certificates?: CertificateSource[];
  /** the oldest TLS version accepted (default TLSv1.2) */
  minVersion?: 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';
}

/** Options of {@link createServer}; every field has a default. */
export interface ServerOptions {
  /** address to listen on (default 127.0.0.1) */
  host?: string;
  /** port to listen on; 0 picks a free one (default 7878) */
  port?: number;
  /** largest request body, else 413 (default 1 MiB, as nginx) */
  maxBodyBytes?: number;
  /** largest request line, else 414 (default 8 KiB) */
  maxRequestLineBytes?: number;
  /** largest header section, else 431 (default 16 KiB) */
  maxHeaderBytes?: number;
  /** most header fields, else 431 (default 100) */
  maxHeaderCount?: number;
  /** time to receive a whole request head, else 408 (default 10 s) */
  headerTimeoutMs?: number;
  /** time the body may go without progress, else 408 (default 10 s) */
  bodyTimeoutMs?: number;
  /** idle time before a keep-alive connection is closed (default 5 s) */
  keepAliveTimeoutMs?: number;
  /** time a response write may go without progress before the connection is cut (default 30 s) */
  sendTimeoutMs?: number;
  /** bound on graceful shutdown; past it sockets are destroyed (default 10 s) */
  shutdownTimeoutMs?: number;
  /**
   * lame-duck time before a graceful shutdown: /healthz answers 503
   * (draining) while the server keeps accepting and serving, every response
   * saying Connection: close, so a load balancer takes it out first (default 0)
   */
  drainDelayMs?: number;
  /** requests read ahead on one connection before it stops reading (default 16) */
  maxPipelined?: number;
  /**
   * open connections at most; a new one past it closes the connection idle
   * longest, or itself when none is idle (default: from the open-file limit,
   * see {@link defaultMaxConnections})
   */
  maxConnections?: number;
  /**
   * The application module (a path or URL): its default export has
   * `fetch(request) → Response`. It runs on the thread pool. Default: the
   * built-in demo.
   */
  app?: string | URL;
  /**
   * Also run the built-in demo application. It runs by default when neither
   * `app` nor `static` is given.
   */
  demo?: boolean;
  /** serve the files under a directory; a file that exists wins over the application */
  static?: StaticOptions;
  /** worker threads running the application (default os.availableParallelism()) */
  threads?: number;
  /**
   * requests each worker thread runs at once: a handler that awaits gives
   * its thread to the next one (default 256; 1 for handlers that only
   * compute, so that none waits behind another's CPU loop)
   */
  concurrency?: number;
  /** requests that may wait for a worker before 503 (default 1024) */
  queueSize?: number;
  /** deadline of a request's job once it runs, else 504 (default 30 s) */
  jobTimeoutMs?: number;
  /** recycle a worker after this many requests, plus up to a tenth at random (default 0: never) */
  maxJobsPerWorker?: number;
  /** recycle a worker whose heap is past this many bytes after a request (default 0: never) */
  maxWorkerMemoryBytes?: number;
  /**
   * An inline handler on the I/O thread instead of an application on the
   * pool: for fast, non-blocking code only, since it runs between socket reads.
   */
  handler?: Handler;
  /** speak HTTPS on the listening port */
  tls?: TlsOptions;
  /** with tls: also listen for plain HTTP on this port and redirect every request (308) to HTTPS; 0 picks a free port */
  redirectHttpPort?: number;
  /** with tls: send Strict-Transport-Security with this max-age (seconds) on every HTTPS response */
  hstsMaxAge?: number;
  /**
   * One line per request: `path` is a file (appended to, created 0640) or
   * '-' for stdout; `format` is nginx's 'combined' (default) or 'json'.
   * Default: no access log (the command line's default is '-').
   */
  accessLog?: { path: string; format?: LogFormat };
  /** serve GET /metrics in the Prometheus text format, on the I/O thread (default false) */
  metrics?: boolean;
  /**
   * peers whose X-Forwarded-For, -Proto, -Host and Forwarded fields decide
   * the client address (access log) and the scheme and host of request.url:
   * 'loopback', addresses, networks ('10.0.0.0/8'). Default: nobody's.
   */
  trustProxy?: string[];
  /**
   * every connection from a trusted peer (trustProxy) begins with a PROXY
   * protocol header (v1 or v2), whose source address is the client's; one
   * from any other peer is refused (default false)
   */
  proxyProtocol?: boolean;
  /** where errors are reported (default: stderr) */
  log?: (message: string) => void;
}

export interface ServerConfig {
  host: string;
  port: number;
  limits: ParserLimits;
  headerTimeoutMs: number;
  bodyTimeoutMs: number;
  keepAliveTimeoutMs: number;
  sendTimeoutMs: number;
  shutdownTimeoutMs: number;
  drainDelayMs: number;
  maxPipelined: number;
  maxConnections: number;
  threads: number;
  concurrency: number;
  queueSize: number;
  jobTimeoutMs: number;
  maxJobsPerWorker: number;
  maxWorkerMemoryBytes: number;
  /** null: plain HTTP */
  tls: TlsSettings | null;
  redirectHttpPort: number | null;
  hstsMaxAge: number | null;
  accessLog: { path: string; format: LogFormat } | null;
  metrics: boolean;
  trustProxy: TrustList | null;
  proxyProtocol: boolean;
  log: (message: string) => void;
}

export const DEFAULTS = {
  host: '127.0.0.1',
  port: 7878,
  maxBodyBytes: 1024 * 1024,
  maxRequestLineBytes: 8 * 1024,
  maxHeaderBytes: 16 * 1024,
  maxHeaderCount: 100,
  maxChunkExtensionBytes: 16 * 1024,
  headerTimeoutMs: 10_000,
  bodyTimeoutMs: 10_000,
  keepAliveTimeoutMs: 5_000,
  sendTimeoutMs: 30_000,
  shutdownTimeoutMs: 10_000,
  maxPipelined: 16,
  concurrency: 256,
  queueSize: 1024,
  jobTimeoutMs: 30_000,
  tlsMinVersion: 'TLSv1.2',
} as const;

const TLS_VERSIONS = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'] as const;

/**
 * The default connection cap: 90 % of the soft open-file limit (RLIMIT_NOFILE),
 * less 64 descriptors. The rest is for what else holds a descriptor: files
 * being sent, the worker threads' event loops and pipes, stdio, the listener,
 * and a connection being accepted while an idle one is closed to make room.
 */
export const CONNECTION_CAP = {
  shareOfFileLimit: 0.9,
  reservedDescriptors: 64,
  /** assumed when the limit cannot be read */
  fallbackFileLimit: 1024,
} as const;

export function defaultMaxConnections(openFileLimit: number | null = readOpenFileLimit()): number {
  const limit = openFileLimit ?? CONNECTION_CAP.fallbackFileLimit;
  return Math.max(1, Math.floor(limit * CONNECTION_CAP.shareOfFileLimit) - CONNECTION_CAP.reservedDescriptors);
}

export function resolveConfig(options: ServerOptions = {}): ServerConfig {
  const config: ServerConfig = {
    host: options.host ?? DEFAULTS.host,
    port: integer('port', options.port ?? DEFAULTS.port, 0, 65535),
    limits: {
      maxBodyBytes: integer('maxBodyBytes', options.maxBodyBytes ?? DEFAULTS.maxBodyBytes, 0),
      maxRequestLineBytes: integer('maxRequestLineBytes', options.maxRequestLineBytes ?? DEFAULTS.maxRequestLineBytes, 16),
      maxHeaderBytes: integer('maxHeaderBytes', options.maxHeaderBytes ?? DEFAULTS.maxHeaderBytes, 16),
      maxHeaderCount: integer('maxHeaderCount', options.maxHeaderCount ?? DEFAULTS.maxHeaderCount, 1),
      maxChunkExtensionBytes: DEFAULTS.maxChunkExtensionBytes,
    },
    headerTimeoutMs: integer('headerTimeoutMs', options.headerTimeoutMs ?? DEFAULTS.headerTimeoutMs, 1),
    bodyTimeoutMs: integer('bodyTimeoutMs', options.bodyTimeoutMs ?? DEFAULTS.bodyTimeoutMs, 1),
    keepAliveTimeoutMs: integer('keepAliveTimeoutMs', options.keepAliveTimeoutMs ?? DEFAULTS.keepAliveTimeoutMs, 1),
    sendTimeoutMs: integer('sendTimeoutMs', options.sendTimeoutMs ?? DEFAULTS.sendTimeoutMs, 1),
    shutdownTimeoutMs: integer('shutdownTimeoutMs', options.shutdownTimeoutMs ?? DEFAULTS.shutdownTimeoutMs, 0),
    drainDelayMs: integer('drainDelayMs', options.drainDelayMs ?? 0, 0),
    maxPipelined: integer('maxPipelined', options.maxPipelined ?? DEFAULTS.maxPipelined, 1),
    maxConnections: integer('maxConnections', options.maxConnections ?? defaultMaxConnections(), 1),
    threads: integer('threads', options.threads ?? os.availableParallelism(), 1, 1024),
    concurrency: integer('concurrency', options.concurrency ?? DEFAULTS.concurrency, 1, MAX_CONCURRENCY),
    queueSize: integer('queueSize', options.queueSize ?? DEFAULTS.queueSize, 0),
    jobTimeoutMs: integer('jobTimeoutMs', options.jobTimeoutMs ?? DEFAULTS.jobTimeoutMs, 0),
    maxJobsPerWorker: integer('maxJobsPerWorker', options.maxJobsPerWorker ?? 0, 0),
    maxWorkerMemoryBytes: integer('maxWorkerMemoryBytes', options.maxWorkerMemoryBytes ?? 0, 0),
    tls: resolveTls(options.tls),
    redirectHttpPort: options.redirectHttpPort === undefined ? null : integer('redirectHttpPort', options.redirectHttpPort, 0, 65535),
    hstsMaxAge: options.hstsMaxAge === undefined ? null : integer('hstsMaxAge', options.hstsMaxAge, 0),
    accessLog: resolveAccessLog(options.accessLog),
    metrics: options.metrics === true,
    trustProxy: options.trustProxy === undefined || options.trustProxy.length === 0 ? null : new TrustList(options.trustProxy),
    proxyProtocol: options.proxyProtocol === true,
    log: options.log ?? ((message) => process.stderr.write(message + '\n')),
  };
  if (config.tls === null && config.redirectHttpPort !== null) throw new RangeError('redirectHttpPort needs tls');
  if (config.tls === null && config.hstsMaxAge !== null) throw new RangeError('hstsMaxAge needs tls');
  if (config.proxyProtocol && config.trustProxy === null) throw new RangeError('proxyProtocol needs trustProxy: the peers that send the header');
  if (typeof config.host !== 'string' || config.host === '') throw new RangeError('host must be a non-empty string');
  if (options.static?.cacheValidityMs !== undefined) integer('static.cacheValidityMs', options.static.cacheValidityMs, 0);
  return config;
}

function resolveAccessLog(options: ServerOptions['accessLog']): ServerConfig['accessLog'] {
  if (options === undefined) return null;
  if (typeof options.path !== 'string' || options.path === '') throw new RangeError('accessLog.path must be a file path or "-"');
  const format = options.format ?? 'combined';
  if (format !== 'combined' && format !== 'json') throw new RangeError(`accessLog.format must be combined or json, got ${String(format)}`);
  return { path: options.path, format };
}

function resolveTls(options: TlsOptions | undefined): TlsSettings | null {
  if (options === undefined) return null;
  const certificates: CertificateSource[] = [];
  if (options.cert !== undefined || options.key !== undefined) {
    if (typeof options.cert !== 'string' || typeof options.key !== 'string') throw new RangeError('tls needs both cert and key');
    certificates.push({ cert: options.cert, key: options.key, passphrase: options.passphrase });
  }
  for (const pair of options.certificates ?? []) {
    if (typeof pair?.cert !== 'string' || typeof pair.key !== 'string') throw new RangeError('each of tls.certificates needs cert and key');
    certificates.push(pair);
  }
  if (certificates.length === 0) throw new RangeError('tls needs a certificate and its key');
  const minVersion = options.minVersion ?? DEFAULTS.tlsMinVersion;
  if (!TLS_VERSIONS.includes(minVersion)) throw new RangeError(`tls.minVersion must be one of ${TLS_VERSIONS.join(', ')}, got ${String(minVersion)}`);
  return { certificates, minVersion };
}

function integer(name: string, value: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`${name} must be an integer from ${min} to ${max}, got ${String(value)}`);
  }
  return value;
}

const SIZE_UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, kb: 1024, kib: 1024, m: 1024 ** 2, mb: 1024 ** 2, mib: 1024 ** 2, g: 1024 ** 3, gb: 1024 ** 3, gib: 1024 ** 3 };

/** "1048576", "512k", "1m", "1MiB" → bytes; NaN when not a size. */
export function parseSize(text: string): number {
  const m = /^(\d+)\s*([a-z]*)$/i.exec(text.trim());
  const unit = m === null ? undefined : SIZE_UNITS[m[2].toLowerCase()];
  return m === null || unit === undefined ? NaN : Number(m[1]) * unit;
}

const TIME_UNITS: Record<string, number> = { '': 1, ms: 1, s: 1000, m: 60_000 };

/** "1500" (milliseconds), "1500ms", "10s", "2m" → milliseconds; NaN when not a duration. */
export function parseDuration(text: string): number {
  const m = /^(\d+)\s*([a-z]*)$/i.exec(text.trim());
  const unit = m === null ? undefined : TIME_UNITS[m[2].toLowerCase()];
  return m === null || unit === undefined ? NaN : Number(m[1]) * unit;
}
