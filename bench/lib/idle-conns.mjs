// Idle keep-alive connections for the memory scenario (S7): opens --count
// connections (at most --parallel being set up at once); each sends one
// "GET / HTTP/1.1", reads the whole answer, then stays open and silent.
//   node bench/lib/idle-conns.mjs --port P [--count 5000] [--parallel 200] [--max-seconds 120]
// Prints "READY {ok, failed, non200, open, setupMs}" once every connection is
// set up or has failed; on a stdin line "report" prints "OPEN {open, closedByServer}";
// closes everything and exits on end of stdin, SIGTERM or after --max-seconds.
import net from 'node:net';

const options = { port: 0, count: 5000, parallel: 200, maxSeconds: 120 };
for (let i = 2; i < process.argv.length; i += 2) {
  const key = process.argv[i].replace(/^--/, '').replace(/-(\w)/g, (_, c) => c.toUpperCase());
  if (!(key in options)) throw new Error(`unknown option ${process.argv[i]}`);
  options[key] = Number(process.argv[i + 1]);
}

const REQUEST = Buffer.from(`GET / HTTP/1.1\r\nHost: 127.0.0.1:${options.port}\r\n\r\n`);
const HEAD_END = Buffer.from('\r\n\r\n');
const openSockets = new Set();
const stats = { ok: 0, failed: 0, non200: 0, closedByServer: 0 };
const setupStartMs = performance.now();
let launched = 0;
let settled = 0;

function onConnectionSettled() {
  settled++;
  if (launched < options.count) openOne();
  else if (settled === options.count) {
    const setupMs = Math.round(performance.now() - setupStartMs);
    console.log(`READY ${JSON.stringify({ ...stats, open: openSockets.size, setupMs })}`);
  }
}

/** One connection: send the request, wait for the head and Content-Length bytes of body. */
function openOne() {
  launched++;
  let isSettled = false;
  let received = Buffer.alloc(0);
  let expectedBytes = -1;
  const settle = () => { if (!isSettled) { isSettled = true; onConnectionSettled(); } };
  const socket = net.connect({ host: '127.0.0.1', port: options.port });
  socket.on('connect', () => { openSockets.add(socket); socket.write(REQUEST); });
  socket.on('error', () => {});
  socket.on('close', () => {
    const wasOpen = openSockets.delete(socket);
    if (!isSettled) { stats.failed++; settle(); } else if (wasOpen) stats.closedByServer++;
  });
  socket.on('data', (chunk) => {
    if (isSettled) return;
    received = Buffer.concat([received, chunk]);
    if (expectedBytes < 0) {
      const headEnd = received.indexOf(HEAD_END);
      if (headEnd < 0) return;
      const head = received.subarray(0, headEnd).toString('latin1');
      if (!head.startsWith('HTTP/1.1 200')) stats.non200++;
      const length = /\r\ncontent-length:\s*(\d+)/i.exec(head);
      expectedBytes = headEnd + HEAD_END.length + (length ? Number(length[1]) : 0);
    }
    if (received.length >= expectedBytes) {
      stats.ok++;
      received = null;
      settle();
    }
  });
}

for (let i = 0; i < Math.min(options.parallel, options.count); i++) openOne();

function closeAll() {
  for (const socket of openSockets) socket.destroy();
  setTimeout(() => process.exit(0), 50);
}
process.stdin.setEncoding('utf8');
process.stdin.on('data', (text) => {
  if (text.includes('report')) console.log(`OPEN ${JSON.stringify({ open: openSockets.size, closedByServer: stats.closedByServer })}`);
});
process.stdin.on('end', closeAll);
process.on('SIGTERM', closeAll);
setTimeout(closeAll, options.maxSeconds * 1000);
