// The route contract every Node baseline implements, so that Spindle's demo
// and the baselines answer with the same bytes and do the same work:
//
//   GET|HEAD /        the hello page (95 bytes, text/html; charset=utf-8)
//   GET /sleep?ms=N   blocks the handling thread N ms (Atomics.wait)
//   GET /cpu?ms=N     busy xorshift loop for N ms of wall time
//   GET /async?ms=N   awaits a timer of N ms (default 20): blocks nothing
//   POST /echo        the body back, with its Content-Type
//   GET /static/F     the file F under --root
//   GET /healthz      200 once listening
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';

// Byte for byte Spindle's src/demo/pages.ts HELLO_PAGE; compare.mjs checks it.
export const HELLO_PAGE = Buffer.from(
  '<!doctype html><html><head><title>hello</title></head><body><p>Hello, world!</p></body></html>\n',
);
export const HTML = 'text/html; charset=utf-8';
export const TEXT = 'text/plain; charset=utf-8';

/** --port N --threads N --root DIR, with --flag=value accepted too. */
export function parseBaselineArgs(argv = process.argv.slice(2)) {
  const options = { port: 0, host: '127.0.0.1', threads: 4, root: null };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split(/=(.*)/s, 2);
    const value = inline ?? argv[++i];
    if (flag === '--port') options.port = Number(value);
    else if (flag === '--host') options.host = value;
    else if (flag === '--threads') options.threads = Number(value);
    else if (flag === '--root') options.root = path.resolve(value);
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
    console.log(`${name} listening on http://${options.host}:${server.address().port}`);
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
