// Does a handshake flood starve requests on established connections?
// Starts Spindle with TLS (a certificate made here with openssl), keeps
// --clients keep-alive connections looping on GET /, and measures their
// latency first alone, then while --flood connections do nothing but full
// TLS handshakes (no session resumption), each closed once it is made.
//
//   node bench/tls-flood.mjs [--clients 16] [--flood 64] [--seconds 5] [--rsa] [--node-https]
//
// --node-https measures Node's https module answering inline instead, for
// comparison. Figures: latency p50/p99/max of the keep-alive requests,
// their rate, and the handshakes completed per second.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';

const { values: o } = parseArgs({
  options: {
    clients: { type: 'string', default: '16' },
    flood: { type: 'string', default: '64' },
    seconds: { type: 'string', default: '5' },
    threads: { type: 'string', default: '2' },
    rsa: { type: 'boolean', default: false },
    'node-https': { type: 'boolean', default: false },
  },
});
const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const seconds = Number(o.seconds);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'spindle-flood-'));
process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
const cert = path.join(dir, 'cert.pem');
const key = path.join(dir, 'key.pem');
const keyArgs = o.rsa ? ['rsa:2048'] : ['ec', '-pkeyopt', 'ec_paramgen_curve:P-256'];
execFileSync('openssl', ['req', '-x509', '-newkey', ...keyArgs, '-nodes', '-keyout', key, '-out', cert, '-days', '2',
  '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'], { stdio: 'ignore' });

const port = 20000 + Math.floor(Math.random() * 20000);
const command = o['node-https']
  ? [path.join(REPO, 'bench', 'baselines', 'node-http.mjs'), '--port', String(port), '--tls-cert', cert, '--tls-key', key]
  : [path.join(REPO, 'dist', 'src', 'cli.js'), '--port', String(port), '--threads', o.threads, '--tls-cert', cert, '--tls-key', key];
const server = spawn(process.execPath, command, { stdio: ['ignore', 'pipe', 'inherit'] });
await new Promise((resolve) => server.stdout.on('data', (d) => /listening/i.test(String(d)) && resolve()));

const connect = (session) => new Promise((resolve, reject) => {
  const socket = tls.connect({ port, host: '127.0.0.1', servername: 'localhost', rejectUnauthorized: false, session });
  socket.once('secureConnect', () => resolve(socket));
  socket.once('error', reject);
});

/** One keep-alive client: GET / in a loop, each latency recorded. */
async function client(until, latencies) {
  const socket = await connect();
  let pending = null;
  let buffered = '';
  socket.setEncoding('latin1');
  socket.on('data', (text) => {
    buffered += text;
    const end = buffered.indexOf('\r\n\r\n');
    if (end < 0) return;
    const length = Number(/content-length: (\d+)/i.exec(buffered.slice(0, end))?.[1] ?? 0);
    if (buffered.length < end + 4 + length) return;
    buffered = buffered.slice(end + 4 + length);
    pending?.();
  });
  while (Date.now() < until) {
    const start = process.hrtime.bigint();
    await new Promise((resolve) => {
      pending = resolve;
      socket.write('GET / HTTP/1.1\r\nHost: localhost\r\n\r\n');
    });
    latencies.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  socket.destroy();
}

/**
 * The flood, in a process of its own so that its handshakes do not slow the
 * measuring clients: `count` connections, each a full handshake then close,
 * one after another; prints the handshakes made.
 */
function flood(count, until) {
  const script = `
    import tls from 'node:tls';
    let handshakes = 0, failures = 0;
    const one = () => new Promise((resolve) => {
      const socket = tls.connect({ port: ${port}, host: '127.0.0.1', servername: 'localhost', rejectUnauthorized: false });
      socket.once('secureConnect', () => { handshakes++; socket.destroy(); resolve(); });
      socket.once('error', () => { failures++; resolve(); });
    });
    await Promise.all(Array.from({ length: ${count} }, async () => { while (Date.now() < ${until}) await one(); }));
    console.log(JSON.stringify({ handshakes, failures }));`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  return new Promise((resolve) => child.on('close', () => resolve(JSON.parse(out || '{"handshakes":0,"failures":0}'))));
}

async function phase(label, floodCount) {
  const until = Date.now() + seconds * 1000;
  const latencies = [];
  const cpuBefore = readCpu(server.pid);
  const flooding = floodCount === 0 ? Promise.resolve({ handshakes: 0, failures: 0 }) : flood(floodCount, until);
  await Promise.all(Array.from({ length: Number(o.clients) }, () => client(until, latencies)));
  const counter = await flooding;
  const cpu = (readCpu(server.pid) - cpuBefore) / CLOCK_TICKS / seconds;
  latencies.sort((a, b) => a - b);
  const at = (q) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))].toFixed(1);
  console.log(`${label}: ${(latencies.length / seconds).toFixed(0)} req/s on ${o.clients} keep-alive connections, p50 ${at(0.5)} ms, p99 ${at(0.99)} ms, max ${at(1 - 1e-9)} ms; ` +
    `${(counter.handshakes / seconds).toFixed(0)} handshakes/s (${counter.failures} failed); server ${cpu.toFixed(2)} cores`);
}

const CLOCK_TICKS = 100; // USER_HZ on Linux

/** utime + stime of a process (all its threads), in clock ticks. */
function readCpu(pid) {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

console.log(`${o['node-https'] ? 'node https' : `Spindle --threads ${o.threads}`}, ${o.rsa ? 'RSA 2048' : 'ECDSA P-256'} certificate`);
await phase('alone', 0);
await phase(`beside ${o.flood} flooding connections`, Number(o.flood));
server.kill('SIGTERM');
