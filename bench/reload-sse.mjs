// Reloads under load (issue 11): one Spindle with --streams server-sent-event
// streams open and wrk on GET /, first for --seconds without reloads, then
// for --seconds with a SIGHUP every second. Reports wrk's rate, p99 and
// errors in each phase, whether any stream was cut, and the generation.
// The old generations keep their streams until they end, bounded by
// --shutdown-timeout, which is set above the run here so that none is cut.
//
//   node bench/reload-sse.mjs [--streams 50] [--seconds 10] [--threads 2]
import { spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { runWrk } from './lib/wrk.mjs';

const { values: o } = parseArgs({ options: {
  streams: { type: 'string', default: '50' }, seconds: { type: 'string', default: '10' }, threads: { type: 'string', default: '2' },
} });
const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const seconds = Number(o.seconds);
const port = 20000 + Math.floor(Math.random() * 20000);
const server = spawn(process.execPath, ['--max-semi-space-size=1', path.join(REPO, 'dist', 'src', 'cli.js'), '--port', String(port),
  '--threads', o.threads, '--access-log', 'off', '--shutdown-timeout', `${seconds * 4}s`], { stdio: ['ignore', 'pipe', 'pipe'] });
let stderr = '';
server.stderr.on('data', (d) => { stderr += d; });
await new Promise((resolve) => server.stdout.on('data', (d) => /listening/.test(String(d)) && resolve()));

/** An SSE stream of /events?interval=200 (no end): counts events, and whether it was cut. */
function openStream() {
  const stream = { events: 0, isCut: false };
  const socket = net.connect(port, '127.0.0.1', () => socket.write('GET /events?interval=200 HTTP/1.1\r\nHost: a\r\n\r\n'));
  socket.setEncoding('latin1');
  socket.on('data', (text) => { stream.events += (text.match(/\ndata: /g) ?? []).length; });
  socket.on('close', () => { stream.isCut = true; });
  socket.on('error', () => {});
  stream.close = () => { socket.removeAllListeners('close'); socket.destroy(); };
  return stream;
}

const streams = Array.from({ length: Number(o.streams) }, openStream);
await new Promise((resolve) => setTimeout(resolve, 1000));

async function phase(label, reloads) {
  const before = streams.map((s) => s.events);
  let sent = 0;
  const timer = reloads ? setInterval(() => { server.kill('SIGHUP'); sent++; }, 1000) : null;
  const w = await runWrk({ port, connections: 32, durationS: seconds, timeoutS: 5 });
  if (timer !== null) clearInterval(timer);
  const quiet = streams.filter((s, i) => s.events === before[i]).length;
  console.log(`${label}: ${w.rps.toFixed(0)} req/s, p50 ${w.p50Ms.toFixed(2)} ms, p99 ${w.p99Ms.toFixed(2)} ms, errors ${w.errors}` +
    `${reloads ? `, ${sent} SIGHUPs` : ''}; streams cut ${streams.filter((s) => s.isCut).length}, without events ${quiet} of ${streams.length}`);
  return w;
}

const calm = await phase('no reloads', false);
const reloading = await phase('a SIGHUP a second', true);
await new Promise((resolve) => setTimeout(resolve, 1500));
const health = await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.json());
console.log(`generation ${health.generation}; reloads logged ${(stderr.match(/application reloaded/g) ?? []).length}, failed ${(stderr.match(/reload failed/g) ?? []).length}; ` +
  `p99 with reloads / without: ${(reloading.p99Ms / calm.p99Ms).toFixed(2)}x (goal <= 2x)`);
for (const s of streams) s.close();
server.kill('SIGKILL');
