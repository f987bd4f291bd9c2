// Child processes of the benchmark: every server, load generator and helper
// client runs in its own process group, so stopping it reaches everything it
// started (nginx workers, bash wrappers), and an exiting benchmark kills
// whatever is left.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

const liveChildren = new Set();

function signalGroup(child, signal) {
  try {
    process.kill(-child.pid, signal);
  } catch {
    // the group is gone already
  }
}

export function killAllChildren() {
  for (const child of liveChildren) signalGroup(child, 'SIGKILL');
  liveChildren.clear();
}

/** spawn() in a new process group; child.exited resolves with { code, signal }. */
export function spawnGroup(command, args, options = {}) {
  const child = spawn(command, args, { ...options, detached: true });
  liveChildren.add(child);
  child.exited = new Promise((resolve) => {
    child.once('exit', (code, signal) => { liveChildren.delete(child); resolve({ code, signal }); });
    child.once('error', (err) => { liveChildren.delete(child); resolve({ code: null, signal: null, error: err.message }); });
  });
  return child;
}

export function hasExited(child) {
  return child.exitCode !== null || child.signalCode !== null;
}

/** SIGTERM to the group, SIGKILL after graceMs. Returns how long it took and whether it had to kill. */
export async function stopGroup(child, graceMs = 3000) {
  const startMs = performance.now();
  if (hasExited(child)) {
    signalGroup(child, 'SIGKILL');
    return { ms: 0, wasKilled: false, alreadyExited: true };
  }
  signalGroup(child, 'SIGTERM');
  const outcome = await Promise.race([child.exited, sleep(graceMs).then(() => null)]);
  signalGroup(child, 'SIGKILL'); // the leader after the grace period, or leftovers in its group
  if (!outcome) await Promise.race([child.exited, sleep(2000)]);
  return { ms: Math.round(performance.now() - startMs), wasKilled: !outcome };
}

/** Runs `command args` under bash with a raised open-files limit (exec keeps the pid). */
export function spawnWithFileLimit(fileLimit, command, args, options) {
  const script = `ulimit -n ${fileLimit} 2>/dev/null; exec "$@"`;
  return spawnGroup('bash', ['-c', script, 'bash', command, ...args], options);
}

/** A port on 127.0.0.1 that nothing listens on right now. */
export function findFreePort() {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

/**
 * One request on a fresh connection: { status, headers, body, ms, tls } or { error }.
 * With tls ({ ca }: the PEM the server's certificate must chain to), over
 * HTTPS, checked against 127.0.0.1; `tls` of the answer is then
 * { protocol, cipher, isResumed }.
 */
export function request({ port, method = 'GET', path = '/', headers = {}, body, timeoutMs = 5000, tls = null }) {
  return new Promise((resolve) => {
    const startMs = performance.now();
    const options = { host: '127.0.0.1', port, method, path, headers, agent: false };
    const client = tls ? https : http;
    const req = client.request(tls ? { ...options, ca: tls.ca } : options, (res) => {
      const { socket } = res;
      const session = tls ? { protocol: socket.getProtocol(), cipher: socket.getCipher()?.name, isResumed: socket.isSessionReused() } : undefined;
      const chunks = [];
      res.on('data', (chunk) => chunks.push(chunk));
      res.on('end', () => resolve({
        status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks), ms: performance.now() - startMs,
        tls: session,
      }));
      res.on('error', (err) => resolve({ error: err.message }));
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer in ${timeoutMs} ms`)));
    req.on('error', (err) => resolve({ error: err.message }));
    req.end(body);
  });
}

/** Polls path until it answers 200; throws with the log's tail if the server dies or takes too long. */
export async function waitUntilReady(child, { port, path, logFile, timeoutMs = 20_000, tls = null }) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (hasExited(child)) throw new Error(`exited during start (${child.exitCode ?? child.signalCode}): ${readTail(logFile)}`);
    const answer = await request({ port, path, timeoutMs: 1000, tls });
    if (answer.status === 200) return;
    if (Date.now() > deadline) throw new Error(`not ready on :${port} after ${timeoutMs} ms: ${readTail(logFile)}`);
    await sleep(100);
  }
}

export function readTail(file, chars = 500) {
  try {
    return fs.readFileSync(file, 'utf8').slice(-chars).trim().replace(/\s+/g, ' ');
  } catch {
    return '';
  }
}

/** Lines of a child's stdout; waitFor(prefix) resolves with the first line that starts with it. */
export function readLines(child) {
  const lines = [];
  const waiters = [];
  let partial = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (text) => {
    const parts = (partial + text).split('\n');
    partial = parts.pop();
    for (const line of parts) {
      lines.push(line);
      for (const waiter of waiters.filter((w) => line.startsWith(w.prefix))) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(line);
      }
    }
  });
  return {
    waitFor(prefix, timeoutMs) {
      const seen = lines.find((line) => line.startsWith(prefix));
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const waiter = { prefix, resolve };
        waiters.push(waiter);
        setTimeout(() => {
          if (!waiters.includes(waiter)) return;
          waiters.splice(waiters.indexOf(waiter), 1);
          reject(new Error(`no "${prefix.trim()}" line within ${timeoutMs} ms`));
        }, timeoutMs);
      });
    },
  };
}
