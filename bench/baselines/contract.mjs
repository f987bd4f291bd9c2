// The route contract every Node baseline implements, so that Spindle's demo
// and the baselines answer with the same bytes and do the same work:
//
//   GET|HEAD /        the hello page (95 bytes, text/html; charset=utf-8)
//   GET /sleep?ms=N   blocks the handling thread N ms (Atomics.wait)
//   GET /cpu?ms=N     busy xorshift loop for N ms of wall time
//   GET /async?ms=N   awaits a timer of N ms (default 20): blocks nothing
//   POST /echo        the body back, with its Content-Type
//   GET /static/F     the file F under --root
//   GET /stream?bytes=N&chunk=K  N bytes of 'a' made K at a time as the socket takes them
//   POST /upload      counts the body's bytes as they arrive: "<total> bytes\n"
//   GET /events?count=N&interval=MS  server-sent events, as the demo's (below)
//   GET /healthz      200 once listening
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';

// Byte for byte Spindle's src/demo/pages.ts HELLO_PAGE; compare.mjs checks it.
export const HELLO_PAGE = Buffer.from(
  '<!doctype html><html><head><title>hello</title></head><body><p>Hello, world!</p></body></html>\n',
);
export const HTML = 'text/html; charset=utf-8';
export const TEXT = 'text/plain; charset=utf-8';

/**
 * TLS 1.3 suites in the order Spindle prefers them (src/tls/certificates.ts,
 * with honorCipherOrder): AES-128-GCM first. The baselines choose by the same
 * order, so every server encrypts with the same cipher; by default Node and
 * nginx take the client's first choice, AES-256-GCM for wrk and Node clients
 * (`openssl speed` here: some 10-15 % slower per byte). compare.mjs checks
 * that all servers agree.
 */
export const TLS13_SUITES = ['TLS_AES_128_GCM_SHA256', 'TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256'];

/** --port N --threads N --root DIR --tls-cert FILE --tls-key FILE, with --flag=value accepted too. */
export function parseBaselineArgs(argv = process.argv.slice(2)) {
  const options = { port: 0, host: '127.0.0.1', threads: 4, root: null, tlsCert: null, tlsKey: null };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split(/=(.*)/s, 2);
    const value = inline ?? argv[++i];
    if (flag === '--port') options.port = Number(value);
    else if (flag === '--host') options.host = value;
    else if (flag === '--threads') options.threads = Number(value);
    else if (flag === '--root') options.root = path.resolve(value);
    else if (flag === '--tls-cert') options.tlsCert = value;
    else if (flag === '--tls-key') options.tlsKey = value;
    else throw new Error(`unknown argument ${argv[i]}`);
  }
  return options;
}

const sleepCell = new Int32Array(new SharedArrayBuffer(4));

/** Really blocks the calling thread, as thread::sleep does. */
export function sleepBlocking(ms) {
  if (ms > 0) Atomics.wait(sleepCell, 0, 0, ms);
}

/** Spins for ms of wall time on a value the compiler cannot drop. */
export function spinCpu(ms) {
  const endMs = performance.now() + ms;
  let x = 0x9e3779b9 | 0;
  do {
    for (let i = 0; i < 4096; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
    }
  } while (performance.now() < endMs);
  return x >>> 0;
}

/** The ms query parameter, clamped to 10 minutes like the demo's. */
export function readMsParam(url, fallbackMs) {
  const match = /[?&]ms=(\d+)/.exec(url);
  return Math.min(match ? Number(match[1]) : fallbackMs, 600_000);
}

/**
 * GET /async?ms=N on the thread that reads the request: an await needs no
 * worker. A client that leaves cancels the timer, as Spindle's does.
 */
export function sendAsync(req, res) {
  const ms = readMsParam(req.url, 20);
  const gone = new AbortController();
  const onClose = () => gone.abort();
  res.once('close', onClose);
  delay(ms, undefined, { signal: gone.signal }).then(
    () => {
      res.off('close', onClose);
      sendText(res, 200, `async ${ms} ms\n`);
    },
    () => {}, // the client left: nothing to answer
  );
}

export function pathOf(url) {
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}

export function sendText(res, status, text) {
  const body = Buffer.from(text);
  res.writeHead(status, { 'content-type': TEXT, 'content-length': body.length });
  res.end(body);
}

export function sendHello(req, res) {
  res.writeHead(200, { 'content-type': HTML, 'content-length': HELLO_PAGE.length });
  res.end(req.method === 'HEAD' ? undefined : HELLO_PAGE);
}

/** Collects the body and sends it back with the request's Content-Type. */
export function sendEcho(req, res) {
  const chunks = [];
  req.on('data', (chunk) => chunks.push(chunk));
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    res.writeHead(200, {
      'content-type': req.headers['content-type'] ?? 'application/octet-stream',
      'content-length': body.length,
    });
    res.end(body);
  });
}

/** The file under root that /static/<rest> names, or null when it escapes root. */
export function resolveStaticFile(root, urlPath) {
  if (!root) return null;
  let rest;
  try {
    rest = decodeURIComponent(urlPath.slice('/static/'.length));
  } catch {
    return null;
  }
  if (rest.includes('\0')) return null;
  const file = path.resolve(root, `./${rest}`);
  return file.startsWith(root + path.sep) ? file : null;
}

/** What a plain Node user writes: stat, then pipe a read stream. */
export function sendStaticFile(root, req, res) {
  const file = resolveStaticFile(root, pathOf(req.url));
  if (!file) return sendText(res, 404, 'not found\n');
  fs.stat(file, (err, stats) => {
    if (err || !stats.isFile()) return sendText(res, 404, 'not found\n');
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': stats.size });
    if (req.method === 'HEAD') return res.end();
    const stream = fs.createReadStream(file);
    stream.on('error', () => res.destroy());
    stream.pipe(res);
  });
}

/**
 * Listens like every baseline: keep-alive connections stay open 65 s (Node's
 * default 5 s would close the idle connections of the memory scenario), and
 * SIGTERM closes everything and exits.
 */
export function listenBaseline(server, options, name, onStop = async () => {}) {
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  server.listen(options.port, options.host, () => {
    console.log(`${name} listening on ${options.tlsCert ? 'https' : 'http'}://${options.host}:${server.address().port}`);
  });
  const stop = async () => {
    server.close();
    server.closeAllConnections();
    await onStop().catch(() => {});
    process.exit(0);
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

function intParam(url, name, fallback) {
  const match = new RegExp(`[?&]${name}=(\\d{1,15})(?:&|$)`).exec(url);
  return match ? Number(match[1]) : fallback;
}

/** N bytes of 'a', a new K-byte chunk each time the stream is read, as the demo's generator. */
function* generateBytes(bytes, chunk) {
  for (let left = bytes; left > 0; left -= chunk) yield Buffer.alloc(Math.min(chunk, left), 0x61);
}

/** GET /stream?bytes=N&chunk=K: the generator piped to the socket, so chunks are made as it drains. */
export function sendGenerated(req, res) {
  const bytes = intParam(req.url, 'bytes', 1 << 20);
  const chunk = Math.max(1, Math.min(intParam(req.url, 'chunk', 65536), 1 << 24));
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': bytes });
  if (req.method === 'HEAD') return res.end();
  const stream = Readable.from(generateBytes(bytes, chunk), { objectMode: false, highWaterMark: chunk });
  stream.on('error', () => res.destroy());
  stream.pipe(res);
}

/** POST /upload: counts the body as it arrives, keeps none of it. */
export function sendUploadCount(req, res) {
  let total = 0;
  req.on('data', (chunk) => { total += chunk.length; });
  req.on('end', () => sendText(res, 200, `${total} bytes\n`));
}

/**
 * GET /events?count=N&interval=MS (count 0: until the client leaves): the
 * demo's server-sent events byte for byte: "retry: 1000", then an event at
 * once and one every MS, each written once the last has left (drain), then
 * an `end` event.
 */
export function sendEvents(req, res) {
  const count = intParam(req.url, 'count', 0);
  const intervalMs = Math.min(intParam(req.url, 'interval', 1000), 600_000);
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' });
  if (req.method === 'HEAD') return res.end();
  let n = 0;
  let timer;
  res.write('retry: 1000\n\n');
  const sendNext = () => {
    n++;
    const isLast = count > 0 && n >= count;
    const isFlushed = res.write(`id: ${n}\ndata: ${JSON.stringify({ n, at: Date.now() })}\n\n${isLast ? 'event: end\ndata: \n\n' : ''}`);
    if (isLast) return res.end();
    if (isFlushed) timer = setTimeout(sendNext, intervalMs);
    else res.once('drain', () => { timer = setTimeout(sendNext, intervalMs); });
  };
  timer = setTimeout(sendNext, 0);
  res.once('close', () => clearTimeout(timer));
}
