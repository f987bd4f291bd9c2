// Server-sent-event subscribers of S12: --clients connections (at most
// --parallel being set up at once) each send one GET PATH and read the
// stream for as long as the run lasts, counting events (a `data: {"n":…`
// line) and how late each arrived: the event's "at" (Date.now() where it was
// made) against Date.now() here, on the same machine.
//   node bench/lib/sse-clients.mjs --port P --path '/events?interval=250' [--clients 1000]
//     [--parallel 200] [--warmup-seconds 1] [--seconds 5] [--max-seconds 120]
// Prints "READY {connected, failed, setupMs}" once every request is sent or
// has failed; "START" after the warm-up, when the measured window opens; and
// "SSEJSON {events, eventsPerSecond, streamsWithEvents, open, closedByServer,
// lateMedianMs, lateP99Ms, clientCores}" when it closes, then exits.
import net from 'node:net';

const options = { port: 0, path: '/events', clients: 1000, parallel: 200, warmupSeconds: 1, seconds: 5, maxSeconds: 120 };
for (let i = 2; i < process.argv.length; i += 2) {
  const key = process.argv[i].replace(/^--/, '').replace(/-(\w)/g, (_, c) => c.toUpperCase());
  if (!(key in options)) throw new Error(`unknown option ${process.argv[i]}`);
  options[key] = key === 'path' ? process.argv[i + 1] : Number(process.argv[i + 1]);
}

const REQUEST = Buffer.from(`GET ${options.path} HTTP/1.1\r\nHost: 127.0.0.1:${options.port}\r\nAccept: text/event-stream\r\n\r\n`);
// Each event is one write, and so one chunk when the response is chunked:
// the framing never splits this pattern, only a TCP read can (the tail carried below).
const EVENT = /data: \{"n":\d+,"at":(\d+)\}/g;
const CARRY_CHARS = 64;

const openSockets = new Set();
const counted = new Set(); // sockets that delivered an event in the window
const lateMs = [];
const stats = { connected: 0, failed: 0, closedByServer: 0 };
let windowEvents = 0;
let isMeasuring = false;
let launched = 0;
let settled = 0;
const setupStartMs = performance.now();

function onSettled() {
  settled++;
  if (launched < options.clients) openOne();
  else if (settled === options.clients) {
    console.log(`READY ${JSON.stringify({ connected: stats.connected, failed: stats.failed, setupMs: Math.round(performance.now() - setupStartMs) })}`);
  }
}

function openOne() {
  launched++;
  let isSettled = false;
  let tail = '';
  const socket = net.connect({ host: '127.0.0.1', port: options.port });
  socket.setEncoding('latin1');
  socket.on('connect', () => {
    openSockets.add(socket);
    stats.connected++;
    isSettled = true;
    socket.write(REQUEST);
    onSettled();
  });
  socket.on('error', () => {});
  socket.on('close', () => {
    if (openSockets.delete(socket)) stats.closedByServer++;
    if (!isSettled) { stats.failed++; isSettled = true; onSettled(); }
  });
  socket.on('data', (text) => {
    const nowMs = Date.now();
    const scanned = tail + text;
    let lastEnd = 0;
    for (const match of scanned.matchAll(EVENT)) {
      lastEnd = match.index + match[0].length;
      if (!isMeasuring) continue;
      windowEvents++;
      counted.add(socket);
      lateMs.push(nowMs - Number(match[1]));
    }
    tail = scanned.slice(Math.max(lastEnd, scanned.length - CARRY_CHARS));
  });
}

for (let i = 0; i < Math.min(options.parallel, options.clients); i++) openOne();

const percentile = (values, p) => {
  const v = [...values].sort((a, b) => a - b);
  return v.length ? v[Math.min(v.length - 1, Math.floor(p * v.length))] : null;
};

let waitStarted = false;
const timer = setInterval(() => {
  if (settled < options.clients || waitStarted) return;
  waitStarted = true;
  clearInterval(timer);
  setTimeout(measure, options.warmupSeconds * 1000);
}, 20);

function measure() {
  const cpuAtStart = process.cpuUsage();
  const startMs = performance.now();
  isMeasuring = true;
  console.log('START');
  setTimeout(() => {
    isMeasuring = false;
    const seconds = (performance.now() - startMs) / 1000;
    const cpu = process.cpuUsage(cpuAtStart);
    console.log(`SSEJSON ${JSON.stringify({
      events: windowEvents, eventsPerSecond: windowEvents / seconds, streamsWithEvents: counted.size, open: openSockets.size,
      closedByServer: stats.closedByServer, lateMedianMs: percentile(lateMs, 0.5), lateP99Ms: percentile(lateMs, 0.99),
      clientCores: (cpu.user + cpu.system) / 1e6 / seconds,
    })}`);
    for (const socket of openSockets) socket.destroy();
    setTimeout(() => process.exit(0), 50);
  }, options.seconds * 1000);
}

setTimeout(() => process.exit(1), options.maxSeconds * 1000).unref();
process.on('SIGTERM', () => process.exit(0));
