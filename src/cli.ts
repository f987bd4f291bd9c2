#!/usr/bin/env -S node --max-semi-space-size=1
// `spindle`: flags → config → start; signals → graceful shutdown.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { CONNECTION_CAP, DEFAULTS, defaultMaxConnections, parseDuration, parseSize, type ServerOptions } from './config.js';
import { createServer } from './server.js';
import { AccessLogError } from './observe/access-log.js';
import { CertificateError } from './tls/certificates.js';
import { TrustList } from './http/forwarded.js';
import { MAX_CONCURRENCY } from './pool/pool-options.js';

const USAGE = `Usage: spindle [options] [DIR]

A multithreaded HTTP/1.1 web server. With DIR (or --root DIR) it serves the
files under DIR; with --app it runs an application on worker threads; with
neither it runs the built-in demo.

Options:
  --port N                 port to listen on (default ${DEFAULTS.port}; PORT is honoured too)
  --host ADDR              address to listen on (default ${DEFAULTS.host})
  --max-body SIZE          largest request body, else 413 (default 1m)
  --header-timeout TIME    time to receive a request head, else 408 (default 10s)
  --body-timeout TIME      time a request body may stall, else 408 (default 10s)
  --keepalive-timeout TIME idle time before a keep-alive connection closes (default 5s)
  --shutdown-timeout TIME  bound on graceful shutdown (default 10s)
  --drain-delay TIME       on SIGTERM, keep serving this long first, /healthz
                           answering 503 draining and every response saying
                           Connection: close (default 0)
  --max-connections N      open connections at most; past it the one idle longest
                           closes to make room, else the new one (default ${defaultMaxConnections()}:
                           ${CONNECTION_CAP.shareOfFileLimit * 100} % of the open-file limit, less ${CONNECTION_CAP.reservedDescriptors})
  --app FILE               application module (default export { fetch(request) })
                           run on the worker threads (default: the built-in demo)
  --threads N              worker threads (default: available CPU cores)
  --concurrency N          requests each thread runs at once while they await
                           (default ${DEFAULTS.concurrency}; 1 for handlers that only compute)
  --queue N                requests that may wait for a worker, else 503 (default 1024)
  --job-timeout TIME       deadline of a running request, else 504 (default 30s)
  --max-jobs-per-worker N  replace a worker after N requests (plus up to a
                           tenth at random), once its own have ended (default: never)
  --max-worker-memory SIZE replace a worker whose heap is past SIZE after a
                           request (default: never)
  --demo                   run the built-in demo app too (it runs anyway without DIR or --app)
  --root DIR               serve the files under DIR (same as the DIR argument)
  --prefix PATH            URL path the files are served under (default /)
  --listing                list directories that have no index.html (default: 404)
  --dotfiles               serve names starting with "." (default: 404)
  --follow-symlinks        serve links that lead outside DIR (default: 404)
  --cache-control VALUE    Cache-Control of file responses (default "public, max-age=0")
  --compress               compress text files above 1 KiB on the fly (br, gzip)
  --tls-cert FILE          speak HTTPS with this certificate (PEM; with --tls-key).
                           Give the pair more than once for several host names:
                           each handshake gets the one its SNI name matches
  --tls-key FILE           the private key of the --tls-cert before it (PEM)
  --tls-key-passphrase-file FILE  passphrase of encrypted keys
  --tls-min-version V      oldest TLS version accepted: 1.2 (default) or 1.3
  --redirect-http PORT     with TLS: also listen for plain HTTP on PORT and
                           redirect every request to HTTPS (308; not /healthz)
  --hsts SECONDS           with TLS: send Strict-Transport-Security: max-age=SECONDS
  --access-log DEST        one line per request to DEST: - (stdout, the default),
                           a file (appended to; SIGUSR1 reopens it), or off
  --log-format FORMAT      combined (nginx's, the default) or json
  --metrics                serve GET /metrics (Prometheus text format)
  --trust-proxy LIST       believe X-Forwarded-For/-Proto/-Host and Forwarded only
                           from these peers: loopback, addresses, networks
                           (a,b,10.0.0.0/8); default: from nobody
  --proxy-protocol         connections from --trust-proxy peers begin with a PROXY
                           protocol header (v1 or v2: HAProxy send-proxy, nginx
                           proxy_protocol); from other peers one is refused
  --help                   show this help
  --version                show the version

SIZE is bytes, or a number with k, m or g (KiB, MiB, GiB). TIME is milliseconds,
or a number with ms, s or m.

Signals: SIGINT, SIGTERM shut down gracefully; SIGHUP reloads the
application (a new generation of workers) and the TLS certificates and keys,
without closing a connection; SIGUSR1 reopens the access log.`;

class UsageError extends Error {}

function readVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

function parseCommandLine(argv: string[], env: NodeJS.ProcessEnv): ServerOptions | 'help' | 'version' {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: true,
      options: {
        port: { type: 'string' },
        host: { type: 'string' },
        'max-body': { type: 'string' },
        'header-timeout': { type: 'string' },
        'body-timeout': { type: 'string' },
        'keepalive-timeout': { type: 'string' },
        'shutdown-timeout': { type: 'string' },
        'drain-delay': { type: 'string' },
        'max-connections': { type: 'string' },
        app: { type: 'string' },
        threads: { type: 'string' },
        queue: { type: 'string' },
        concurrency: { type: 'string' },
        'job-timeout': { type: 'string' },
        'max-jobs-per-worker': { type: 'string' },
        'max-worker-memory': { type: 'string' },
        demo: { type: 'boolean' },
        root: { type: 'string' },
        prefix: { type: 'string' },
        listing: { type: 'boolean' },
        dotfiles: { type: 'boolean' },
        'follow-symlinks': { type: 'boolean' },
        'cache-control': { type: 'string' },
        compress: { type: 'boolean' },
        'tls-cert': { type: 'string', multiple: true },
        'tls-key': { type: 'string', multiple: true },
        'tls-key-passphrase-file': { type: 'string' },
        'tls-min-version': { type: 'string' },
        'redirect-http': { type: 'string' },
        hsts: { type: 'string' },
        'access-log': { type: 'string' },
        'log-format': { type: 'string' },
        metrics: { type: 'boolean' },
        'trust-proxy': { type: 'string' },
        'proxy-protocol': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'v' },
      },
    });
  } catch (err) {
    throw new UsageError((err as Error).message.split('\n')[0]);
  }
  const v = parsed.values;
  if (v.help) return 'help';
  if (v.version) return 'version';
  const options: ServerOptions = {};
  const portText = v.port ?? env.PORT;
  if (portText !== undefined) {
    const port = /^\d+$/.test(portText) ? Number(portText) : NaN;
    if (!(port >= 0 && port <= 65535)) throw new UsageError(`invalid value for ${v.port !== undefined ? '--port' : 'PORT'}: '${portText}' is not a port number (0-65535)`);
    options.port = port;
  }
  if (v.host !== undefined) {
    if (v.host === '') throw new UsageError("invalid value for --host: ''");
    options.host = v.host;
  }
  if (v['max-body'] !== undefined) options.maxBodyBytes = size('--max-body', v['max-body']);
  if (v['header-timeout'] !== undefined) options.headerTimeoutMs = duration('--header-timeout', v['header-timeout'], 1);
  if (v['body-timeout'] !== undefined) options.bodyTimeoutMs = duration('--body-timeout', v['body-timeout'], 1);
  if (v['keepalive-timeout'] !== undefined) options.keepAliveTimeoutMs = duration('--keepalive-timeout', v['keepalive-timeout'], 1);
  if (v['shutdown-timeout'] !== undefined) options.shutdownTimeoutMs = duration('--shutdown-timeout', v['shutdown-timeout'], 0);
  if (v['drain-delay'] !== undefined) options.drainDelayMs = duration('--drain-delay', v['drain-delay'], 0);
  if (v['max-connections'] !== undefined) options.maxConnections = count('--max-connections', v['max-connections'], 1);
  if (v.app !== undefined) {
    if (v.app === '') throw new UsageError("invalid value for --app: ''");
    options.app = v.app;
  }
  if (v.threads !== undefined) options.threads = count('--threads', v.threads, 1);
  if (v.queue !== undefined) options.queueSize = count('--queue', v.queue, 0);
  if (v.concurrency !== undefined) options.concurrency = count('--concurrency', v.concurrency, 1, MAX_CONCURRENCY);
  if (v['job-timeout'] !== undefined) options.jobTimeoutMs = duration('--job-timeout', v['job-timeout'], 0);
  if (v['max-jobs-per-worker'] !== undefined) options.maxJobsPerWorker = count('--max-jobs-per-worker', v['max-jobs-per-worker'], 1);
  if (v['max-worker-memory'] !== undefined) options.maxWorkerMemoryBytes = size('--max-worker-memory', v['max-worker-memory']);
  if (v.demo) options.demo = true;
  if (v.metrics) options.metrics = true;
  if (v['proxy-protocol']) {
    if (v['trust-proxy'] === undefined) throw new UsageError('--proxy-protocol needs --trust-proxy: the peers that send the header');
    options.proxyProtocol = true;
  }
  if (v['trust-proxy'] !== undefined) {
    options.trustProxy = v['trust-proxy'].split(',').map((entry) => entry.trim()).filter((entry) => entry !== '');
    try {
      new TrustList(options.trustProxy);
    } catch (err) {
      throw new UsageError(`invalid value for --trust-proxy: ${(err as Error).message.replace(/^trustProxy: /, '')}`);
    }
  }
  parseTls(v, options);
  // As nginx, Apache, http-server and serve do, a line per request by default.
  const accessLog = v['access-log'] ?? '-';
  const format = v['log-format'] ?? 'combined';
  if (accessLog === '') throw new UsageError("invalid value for --access-log: ''");
  if (format !== 'combined' && format !== 'json') throw new UsageError(`invalid value for --log-format: '${format}' (combined or json)`);
  if (accessLog !== 'off') options.accessLog = { path: accessLog, format };
  else if (v['log-format'] !== undefined) throw new UsageError('--log-format needs an access log (not --access-log off)');

  if (parsed.positionals.length > 1) throw new UsageError(`expected at most one directory, got ${parsed.positionals.length}`);
  const root = v.root ?? parsed.positionals[0];
  if (v.root !== undefined && parsed.positionals.length > 0) throw new UsageError('give the directory either as DIR or as --root, not both');
  if (root !== undefined) {
    if (root === '') throw new UsageError("invalid value for --root: ''");
    if (v.prefix !== undefined && !v.prefix.startsWith('/')) throw new UsageError(`invalid value for --prefix: '${v.prefix}' does not start with /`);
    if (v['cache-control'] !== undefined && /[\r\n\0]/.test(v['cache-control'])) throw new UsageError('invalid value for --cache-control: control characters');
    options.static = {
      root,
      prefix: v.prefix,
      listing: v.listing,
      dotfiles: v.dotfiles,
      followSymlinks: v['follow-symlinks'],
      cacheControl: v['cache-control'],
      compress: v.compress,
    };
  } else {
    for (const flag of ['prefix', 'listing', 'dotfiles', 'follow-symlinks', 'cache-control', 'compress'] as const) {
      if (v[flag] !== undefined) throw new UsageError(`--${flag} needs a directory to serve (DIR or --root)`);
    }
  }
  return options;
}

const TLS_VERSIONS: Record<string, 'TLSv1.2' | 'TLSv1.3'> = { '1.2': 'TLSv1.2', '1.3': 'TLSv1.3', 'TLSv1.2': 'TLSv1.2', 'TLSv1.3': 'TLSv1.3' };

interface TlsFlags {
  'tls-cert'?: string[];
  'tls-key'?: string[];
  'tls-key-passphrase-file'?: string;
  'tls-min-version'?: string;
  'redirect-http'?: string;
  hsts?: string;
}

function parseTls(v: TlsFlags, options: ServerOptions): void {
  const certs = v['tls-cert'] ?? [];
  const keys = v['tls-key'] ?? [];
  if (certs.length !== keys.length) throw new UsageError(`give each --tls-cert its --tls-key (${certs.length} certificates, ${keys.length} keys)`);
  if (certs.length === 0) {
    for (const flag of ['tls-key-passphrase-file', 'tls-min-version', 'redirect-http', 'hsts'] as const) {
      if (v[flag] !== undefined) throw new UsageError(`--${flag} needs --tls-cert and --tls-key`);
    }
    return;
  }
  const passphraseFile = v['tls-key-passphrase-file'];
  const passphrase = passphraseFile === undefined ? undefined : { file: passphraseFile };
  let minVersion;
  if (v['tls-min-version'] !== undefined) {
    minVersion = TLS_VERSIONS[v['tls-min-version']];
    if (minVersion === undefined) throw new UsageError(`invalid value for --tls-min-version: '${v['tls-min-version']}' (1.2 or 1.3)`);
  }
  options.tls = { certificates: certs.map((cert, i) => ({ cert, key: keys[i], passphrase })), minVersion };
  if (v['redirect-http'] !== undefined) options.redirectHttpPort = count('--redirect-http', v['redirect-http'], 0, 65535);
  if (v.hsts !== undefined) options.hstsMaxAge = count('--hsts', v.hsts, 0);
}

function count(flag: string, text: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const n = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n) || n < min) throw new UsageError(`invalid value for ${flag}: '${text}' is not a whole number >= ${min}`);
  if (n > max) throw new UsageError(`invalid value for ${flag}: '${text}' is more than ${max}`);
  return n;
}

function size(flag: string, text: string): number {
  const n = parseSize(text);
  if (!Number.isSafeInteger(n)) throw new UsageError(`invalid value for ${flag}: '${text}' is not a size (like 1048576, 512k or 1m)`);
  return n;
}

function duration(flag: string, text: string, min: number): number {
  const n = parseDuration(text);
  if (!Number.isSafeInteger(n) || n < min) throw new UsageError(`invalid value for ${flag}: '${text}' is not a duration (like 1500, 500ms or 10s)`);
  return n;
}

async function main(): Promise<void> {
  let options;
  try {
    options = parseCommandLine(process.argv.slice(2), process.env);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`spindle: ${err.message} (see --help)\n`);
    process.exit(2);
  }
  if (options === 'help') {
    process.stdout.write(USAGE + '\n');
    return;
  }
  if (options === 'version') {
    process.stdout.write(readVersion() + '\n');
    return;
  }

  let server;
  try {
    server = createServer(options);
  } catch (err) {
    process.stderr.write(`spindle: ${(err as Error).message}\n`);
    // A certificate or log file that cannot be used is not a usage error: the flags were right.
    process.exit(err instanceof CertificateError || err instanceof AccessLogError ? 1 : 2);
  }
  let address;
  try {
    address = await server.listen();
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === undefined || !e.code.startsWith('E')) {
      // The application failed to load in the workers.
      const isPlain = e.name === 'TypeError' || /Cannot find (module|package)/.test(e.message);
      process.stderr.write(`spindle: cannot start the application: ${isPlain ? e.message : (e.stack ?? e.message)}\n`);
      process.exit(1);
    }
    const where = `${server.config.host}:${server.config.port}`;
    if (e.code === 'EADDRINUSE') process.stderr.write(`spindle: cannot listen on ${where}: the port is already in use\n`);
    else if (e.code === 'EACCES') process.stderr.write(`spindle: cannot listen on ${where}: permission denied\n`);
    else process.stderr.write(`spindle: cannot listen on ${where}: ${e.message}\n`);
    process.exit(1);
  }
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    signals++;
    if (signals > 1) {
      process.stderr.write(`spindle: ${signal} again, exiting now\n`);
      process.exit(1);
    }
    const drain = server.config.drainDelayMs;
    process.stderr.write(drain > 0
      ? `spindle: ${signal} received, draining for ${drain} ms, then shutting down (send it again to force)\n`
      : `spindle: ${signal} received, shutting down (send it again to force)\n`);
    server.close().then(({ forced }) => {
      if (forced) process.stderr.write('spindle: shutdown timeout passed, connections destroyed\n');
      process.exit(forced ? 1 : 0);
    });
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGUSR1', () => server.accessLog?.reopen());
  process.on('SIGHUP', () => {
    if (server.isShuttingDown) {
      process.stderr.write('spindle: SIGHUP received during shutdown: ignored\n');
      return;
    }
    if (server.config.tls !== null && server.reloadTls()) process.stderr.write('spindle: SIGHUP received: certificates reloaded\n');
    if (server.generations !== null) {
      process.stderr.write('spindle: SIGHUP received: reloading the application\n');
      void server.reloadApp();
    } else if (server.config.tls === null) {
      process.stderr.write('spindle: SIGHUP received: nothing to reload (no application, no --tls-cert)\n');
    }
  });

  // Announce only once the handlers are in place: a supervisor may signal as
  // soon as it reads this line, and an unhandled SIGINT/SIGTERM kills at once.
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const scheme = server.config.tls === null ? 'http' : 'https';
  process.stdout.write(`Spindle listening on ${scheme}://${host}:${address.port}\n`);
  const redirect = server.redirectAddress();
  if (redirect !== null) process.stdout.write(`Spindle redirecting http://${host}:${redirect.port} to HTTPS\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`spindle: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
