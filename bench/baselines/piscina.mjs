// Baseline: Node's http module on the main thread with a piscina pool of
// --threads workers running /, /sleep and /cpu: what a Node user assembles
// today to keep blocking work off the event loop. /echo, /static/, /healthz,
// /async (an await needs no worker) and the streaming routes /stream,
// /upload and /events (a piscina task returns one value, not a stream) stay
// on the main thread, so S10-S12 leave piscina out: it would be node-http.
//   node bench/baselines/piscina.mjs --port N --threads N [--root DIR]
import http from 'node:http';
import { Piscina } from 'piscina';
import {
  parseBaselineArgs, pathOf, readMsParam, sendAsync, sendEcho, sendEvents, sendGenerated, sendStaticFile, sendText,
  sendUploadCount, listenBaseline,
} from './contract.mjs';

const options = parseBaselineArgs();
const pool = new Piscina({
  filename: new URL('./piscina-worker.mjs', import.meta.url).href,
  minThreads: options.threads,
  maxThreads: options.threads,
});

function runOnPool(task, req, res) {
  pool.run(task).then(
    ({ type, body }) => {
      const bytes = Buffer.from(body);
      res.writeHead(200, { 'content-type': type, 'content-length': bytes.length });
      res.end(req.method === 'HEAD' ? undefined : bytes);
    },
    (err) => sendText(res, 500, `error: ${err.message}\n`),
  );
}

const server = http.createServer((req, res) => {
  const urlPath = pathOf(req.url);
  const isRead = req.method === 'GET' || req.method === 'HEAD';
  if (urlPath === '/' && isRead) return runOnPool({ route: 'hello' }, req, res);
  if (urlPath === '/healthz') return sendText(res, 200, 'ok\n');
  if (urlPath === '/sleep' && isRead) return runOnPool({ route: 'sleep', ms: readMsParam(req.url, 5000) }, req, res);
  if (urlPath === '/cpu' && isRead) return runOnPool({ route: 'cpu', ms: readMsParam(req.url, 100) }, req, res);
  if (urlPath === '/async' && isRead) return sendAsync(req, res);
  if (urlPath === '/echo') return sendEcho(req, res);
  if (urlPath === '/stream' && isRead) return sendGenerated(req, res);
  if (urlPath === '/upload' && req.method === 'POST') return sendUploadCount(req, res);
  if (urlPath === '/events' && isRead) return sendEvents(req, res);
  if (urlPath.startsWith('/static/') && isRead) return sendStaticFile(options.root, req, res);
  sendText(res, 404, 'not found\n');
});

listenBaseline(server, options, 'piscina', () => pool.destroy());
