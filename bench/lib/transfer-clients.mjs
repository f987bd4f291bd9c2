// Bulk-transfer load of S10 and S11: --clients keep-alive connections, each
// looping on one request whose body is large. Raw sockets, so that the
// client only counts bytes and spends little CPU doing it.
//   node bench/lib/transfer-clients.mjs --port P --mode download --path '/stream?bytes=N&chunk=K'
//   node bench/lib/transfer-clients.mjs --port P --mode upload --path /upload --bytes N
//     [--clients 4] [--warmup-seconds 1] [--seconds 5] [--max-seconds 60]
// download: counts response body bytes as they arrive. upload: sends a
// Content-Length body in 64 KiB writes (waiting for drain) and counts the
// bytes the socket has flushed; the answer must be "<N> bytes\n".
// Prints "START" when the measured window opens (after the warm-up) and
// "TRANSFERJSON {bytesPerSecond, completed, firstByteMedianMs, firstByteMaxMs,
// errors, non200, clientCores}" when it closes, then exits.
import net from 'node:net';

const options = { port: 0, mode: 'download', path: '/', bytes: 0, clients: 4, warmupSeconds: 1, seconds: 5, maxSeconds: 60 };
for (let i = 2; i < process.argv.length; i += 2) {
  const key = process.argv[i].replace(/^--/, '').replace(/-(\w)/g, (_, c) => c.toUpperCase());
  if (!(key in options)) throw new Error(`unknown option ${process.argv[i]}`);
  options[key] = typeof options[key] === 'string' ? process.argv[i + 1] : Number(process.argv[i + 1]);
}

const HEAD_END = Buffer.from('\r\n\r\n');
const UPLOAD_CHUNK = Buffer.alloc(64 * 1024, 0x61);
const isUpload = options.mode === 'upload';
const head = isUpload
  ? `POST ${options.path} HTTP/1.1\r\nHost: 127.0.0.1:${options.port}\r\nContent-Type: application/octet-stream\r\nContent-Length: ${options.bytes}\r\n\r\n`
  : `GET ${options.path} HTTP/1.1\r\nHost: 127.0.0.1:${options.port}\r\n\r\n`;

const stats = { completed: 0, errors: 0, non200: 0 };
const firstByteMs = [];
let windowBytes = 0;
let isMeasuring = false;
let isStopping = false;

const count = (bytes) => { if (isMeasuring) windowBytes += bytes; };

/** One client: a connection that asks, reads the whole answer, asks again; a new one if the server closes it. */
function runClient() {
  if (isStopping) return;
  const socket = net.connect({ host: '127.0.0.1', port: options.port });
  let received = Buffer.alloc(0);
  let bodyLeft = -1; // -1: waiting for the head
  let askedAtMs = 0;
  let isAnswered = true;
  socket.setNoDelay(true);
  const ask = () => {
    if (isStopping) return socket.destroy();
    isAnswered = false;
    received = Buffer.alloc(0);
    bodyLeft = -1;
    askedAtMs = performance.now();
    socket.write(head);
    if (isUpload) sendBody(socket, options.bytes);
  };
  socket.on('connect', ask);
  socket.on('error', () => {});
  socket.on('close', () => {
    if (!isAnswered && !isStopping) stats.errors++;
    setTimeout(runClient, isAnswered ? 0 : 100);
  });
  socket.on('data', (chunk) => {
    if (bodyLeft < 0) {
      if (received.length === 0) firstByteMs.push(performance.now() - askedAtMs);
      received = Buffer.concat([received, chunk]);
      const headEnd = received.indexOf(HEAD_END);
      if (headEnd < 0) return;
      const text = received.subarray(0, headEnd).toString('latin1');
      if (!text.startsWith('HTTP/1.1 200')) stats.non200++;
      const length = /\r\ncontent-length:\s*(\d+)/i.exec(text);
      if (!length) { stats.errors++; return socket.destroy(); } // both servers frame these with Content-Length
      bodyLeft = Number(length[1]);
      chunk = received.subarray(headEnd + HEAD_END.length);
      received = isUpload ? chunk : Buffer.alloc(0);
    } else if (isUpload) received = Buffer.concat([received, chunk]);
    if (!isUpload) count(Math.min(chunk.length, bodyLeft));
    bodyLeft -= chunk.length;
    if (bodyLeft > 0) return;
    if (isUpload && received.toString('latin1').trim() !== `${options.bytes} bytes`) stats.errors++;
    if (isMeasuring) stats.completed++;
    isAnswered = true;
    ask();
  });
}

/** Writes `bytes` of body in 64 KiB pieces, each once the socket has drained; counts what it flushed. */
function sendBody(socket, bytes) {
  let left = bytes;
  const writeMore = () => {
    while (left > 0 && !socket.destroyed) {
      const piece = left >= UPLOAD_CHUNK.length ? UPLOAD_CHUNK : UPLOAD_CHUNK.subarray(0, left);
      left -= piece.length;
      if (!socket.write(piece, (err) => { if (!err) count(piece.length); })) return socket.once('drain', writeMore);
    }
  };
  writeMore();
}

function median(values) {
  const v = [...values].sort((a, b) => a - b);
  return v.length ? v[v.length >> 1] : null;
}

for (let i = 0; i < options.clients; i++) runClient();

let cpuAtStart;
let startMs;
setTimeout(() => {
  firstByteMs.length = 0; // the first answers of a cold server are the warm-up's
  stats.completed = 0;
  cpuAtStart = process.cpuUsage();
  startMs = performance.now();
  isMeasuring = true;
  console.log('START');
}, options.warmupSeconds * 1000);
setTimeout(() => {
  isMeasuring = false;
  isStopping = true;
  const seconds = (performance.now() - startMs) / 1000;
  const cpu = process.cpuUsage(cpuAtStart);
  console.log(`TRANSFERJSON ${JSON.stringify({
    bytesPerSecond: windowBytes / seconds, completed: stats.completed, firstByteMedianMs: median(firstByteMs),
    firstByteMaxMs: firstByteMs.length ? Math.max(...firstByteMs) : null, errors: stats.errors, non200: stats.non200,
    clientCores: (cpu.user + cpu.system) / 1e6 / seconds,
  })}`);
  process.exit(0);
}, (options.warmupSeconds + options.seconds) * 1000);
setTimeout(() => process.exit(1), options.maxSeconds * 1000).unref();
process.on('SIGTERM', () => process.exit(0));
