// Baseline for static files: Node's http module with the `send` package (what
// express.static and serve-static use underneath) for /static/.
//   node bench/baselines/node-send.mjs --port N --root DIR
import http from 'node:http';
import send from 'send';
import { parseBaselineArgs, pathOf, sendHello, sendText, listenBaseline } from './contract.mjs';

const options = parseBaselineArgs();

const server = http.createServer((req, res) => {
  const urlPath = pathOf(req.url);
  if (urlPath === '/' && (req.method === 'GET' || req.method === 'HEAD')) return sendHello(req, res);
  if (urlPath === '/healthz') return sendText(res, 200, 'ok\n');
  if (urlPath.startsWith('/static/') && options.root) {
    // send decodes the path, refuses to leave root and answers 404/304/206 itself.
    return send(req, urlPath.slice('/static'.length), { root: options.root, dotfiles: 'deny' })
      .on('error', (err) => (res.headersSent ? res.destroy() : sendText(res, err.status ?? 500, 'not found\n')))
      .pipe(res);
  }
  sendText(res, 404, 'not found\n');
});

listenBaseline(server, options, 'node-send');
