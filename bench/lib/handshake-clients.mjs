// The full-handshake load of S14: --clients loops, each opening a new TLS
// connection, sending one `GET / Connection: close`, reading the answer to
// its end, and starting over. wrk cannot be told not to resume sessions (it
// offers the ticket of its last connection; see README.md), and Node's
// tls.connect resumes only when handed a session, which this never does:
// every handshake here is a full one (certificate, signature, key exchange),
// and each connection checks that it was not resumed.
//   node bench/lib/handshake-clients.mjs --port P [--path /] [--clients 16]
//     [--warmup-seconds 1] [--seconds 5] [--max-seconds 60]
// Prints "START" when the measured window opens (after the warm-up) and
// "HANDSHAKEJSON {perSecond, completed, p50Ms, p99Ms, resumed, errors,
// non200, clientCores}" when it closes, then exits. p50/p99: from connect to
// the answer's last byte.
import tls from 'node:tls';

const options = { port: 0, path: '/', clients: 16, warmupSeconds: 1, seconds: 5, maxSeconds: 60 };
for (let i = 2; i < process.argv.length; i += 2) {
  const key = process.argv[i].replace(/^--/, '').replace(/-(\w)/g, (_, c) => c.toUpperCase());
  if (!(key in options)) throw new Error(`unknown option ${process.argv[i]}`);
  options[key] = typeof options[key] === 'string' ? process.argv[i + 1] : Number(process.argv[i + 1]);
}

const request = `GET ${options.path} HTTP/1.1\r\nHost: 127.0.0.1:${options.port}\r\nConnection: close\r\n\r\n`;
const stats = { completed: 0, resumed: 0, errors: 0, non200: 0 };
const latencyMs = [];
let isMeasuring = false;
let isStopping = false;

/** One loop: a connection per request, closed by the server after its answer. */
function runClient() {
  if (isStopping) return;
  const startMs = performance.now();
  // rejectUnauthorized: false, as wrk: the certificate is checked in compare.mjs's contract check.
  const socket = tls.connect({ host: '127.0.0.1', port: options.port, rejectUnauthorized: false, ALPNProtocols: ['http/1.1'] });
  let head = '';
  let isResumed = false;
  socket.setNoDelay(true);
  socket.on('secureConnect', () => {
    isResumed = socket.isSessionReused();
    socket.write(request);
  });
  socket.on('data', (chunk) => {
    if (head.length < 12) head += chunk.toString('latin1', 0, 12);
  });
  socket.on('error', () => {});
  socket.on('close', (hadError) => {
    const isAnswered = head.startsWith('HTTP/1.1 ');
    if (isMeasuring) {
      if (hadError || !isAnswered) stats.errors++;
      else {
        stats.completed++;
        latencyMs.push(performance.now() - startMs);
        if (!head.startsWith('HTTP/1.1 200')) stats.non200++;
        if (isResumed) stats.resumed++;
      }
    }
    setTimeout(runClient, isAnswered ? 0 : 100);
  });
}

function percentile(values, p) {
  const v = [...values].sort((a, b) => a - b);
  return v.length ? v[Math.min(v.length - 1, Math.floor(v.length * p))] : null;
}

for (let i = 0; i < options.clients; i++) runClient();

let cpuAtStart;
let startMs;
setTimeout(() => {
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
  console.log(`HANDSHAKEJSON ${JSON.stringify({
    perSecond: stats.completed / seconds, completed: stats.completed, p50Ms: percentile(latencyMs, 0.5),
    p99Ms: percentile(latencyMs, 0.99), resumed: stats.resumed, errors: stats.errors, non200: stats.non200,
    clientCores: (cpu.user + cpu.system) / 1e6 / seconds,
  })}`);
  process.exit(0);
}, (options.warmupSeconds + options.seconds) * 1000);
setTimeout(() => process.exit(1), options.maxSeconds * 1000).unref();
process.on('SIGTERM', () => process.exit(0));
