// Baseline: Node's http module on one thread, every handler inline. /sleep
// and /cpu block the event loop on purpose: the isolation scenario shows it.
// /async awaits a timer, which blocks nothing; /stream, /upload and /events
// stream on the same thread.
//   node bench/baselines/node-http.mjs --port N [--root DIR]
import http from 'node:http';
import {
  parseBaselineArgs, pathOf, readMsParam, sendAsync, sendEcho, sendEvents, sendGenerated, sendHello, sendStaticFile, sendText,
  sendUploadCount, sleepBlocking, spinCpu, listenBaseline,
} from './contract.mjs';

const options = parseBaselineArgs();

const server = http.createServer((req, res) => {
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
  sendText(res, 404, 'not found\n');
});

listenBaseline(server, options, 'node-http');
