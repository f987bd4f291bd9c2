// Baseline: Node's http module on one thread, every handler inline. /sleep
// and /cpu block the event loop on purpose: the isolation scenario shows it.
// /async awaits a timer, which blocks nothing; /stream, /upload and /events
// stream on the same thread. With --tls-cert and --tls-key it is the
// node-https baseline: https.createServer with the same handler, and
// GET /tls-sessions answers how many handshakes were full and how many
// resumed (compare.mjs asks it after S14's wrk runs).
//   node bench/baselines/node-http.mjs --port N [--root DIR] [--tls-cert FILE --tls-key FILE]
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import tls from 'node:tls';
import {
  parseBaselineArgs, pathOf, readMsParam, sendAsync, sendEcho, sendEvents, sendGenerated, sendHello, sendStaticFile, sendText,
  sendUploadCount, sleepBlocking, spinCpu, listenBaseline, TLS13_SUITES,
} from './contract.mjs';

const options = parseBaselineArgs();
const handshakes = { full: 0, resumed: 0 };

function handleRequest(req, res) {
  const urlPath = pathOf(req.url);
  const isRead = req.method === 'GET' || req.method === 'HEAD';
  if (urlPath === '/' && isRead) return sendHello(req, res);
  if (urlPath === '/healthz') return sendText(res, 200, 'ok\n');
  if (urlPath === '/sleep' && isRead) {
    const ms = readMsParam(req.url, 5000);
    sleepBlocking(ms);
    return sendText(res, 200, `slept ${ms} ms\n`);
  }
  if (urlPath === '/cpu' && isRead) {
    const ms = readMsParam(req.url, 100);
    return sendText(res, 200, `cpu ${ms} ms, ${spinCpu(ms)}\n`);
  }
  if (urlPath === '/async' && isRead) return sendAsync(req, res);
  if (urlPath === '/echo') return sendEcho(req, res);
  if (urlPath === '/stream' && isRead) return sendGenerated(req, res);
  if (urlPath === '/upload' && req.method === 'POST') return sendUploadCount(req, res);
  if (urlPath === '/events' && isRead) return sendEvents(req, res);
  if (urlPath.startsWith('/static/') && isRead) return sendStaticFile(options.root, req, res);
  if (urlPath === '/tls-sessions' && options.tlsCert) return sendText(res, 200, `${JSON.stringify(handshakes)}\n`);
  sendText(res, 404, 'not found\n');
}

function createHttpsServer() {
  // Node's default suites, with Spindle's TLS 1.3 order first (contract.mjs).
  const rest = tls.DEFAULT_CIPHERS.split(':').filter((suite) => !TLS13_SUITES.includes(suite));
  const server = https.createServer({
    cert: fs.readFileSync(options.tlsCert), key: fs.readFileSync(options.tlsKey),
    ciphers: [...TLS13_SUITES, ...rest].join(':'), honorCipherOrder: true,
  }, handleRequest);
  server.on('secureConnection', (socket) => { handshakes[socket.isSessionReused() ? 'resumed' : 'full']++; });
  return server;
}

const server = options.tlsCert ? createHttpsServer() : http.createServer(handleRequest);

listenBaseline(server, options, options.tlsCert ? 'node-https' : 'node-http');
