// The servers compare.mjs measures: Spindle and the baselines in
// ../baselines/. Each starts fresh for every measurement on a free port and
// is stopped with SIGTERM (SIGKILL after 3 s). With isTls (S13-S15) they
// speak HTTPS with the certificate the harness made (ctx.tls: { cert, key }
// paths, and the certificate's PEM as the CA its health checks trust).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeNginxConfig } from '../baselines/nginx.mjs';
import { findFreePort, hasExited, readTail, sleep, spawnWithFileLimit, stopGroup, waitUntilReady } from './processes.mjs';
import { processTree, takeCpuSnapshot } from './cpu.mjs';

export const BENCH = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const REPO = path.resolve(BENCH, '..');
export const SPINDLE_CLI = path.join(REPO, 'dist', 'src', 'cli.js');
const BASELINES = path.join(BENCH, 'baselines');

const node = (script, args) => [process.execPath, [path.join(BASELINES, script), ...args]];

/**
 * Node flags from the shebang of dist/src/cli.js (e.g. `#!/usr/bin/env -S node
 * --max-semi-space-size=1`), so Spindle runs here as its bin runs it.
 */
export function readSpindleNodeFlags() {
  const firstLine = fs.readFileSync(SPINDLE_CLI, 'utf8').split('\n', 1)[0];
  const words = firstLine.startsWith('#!') ? firstLine.slice(2).trim().split(/\s+/) : [];
  const nodeAt = words.findIndex((w) => path.basename(w) === 'node');
  return nodeAt < 0 ? [] : words.slice(nodeAt + 1);
}

const tlsFlags = (ctx) => ['--tls-cert', ctx.tls.cert, '--tls-key', ctx.tls.key];
const SERVES_FILES = new Set(['S5', 'S15', 'smoke']);

/** name → { healthPath, command(ctx, { port, threads, scenario, isTls }) → [file, args] } */
export const SERVERS = {
  spindle: {
    healthPath: '/healthz',
    command(ctx, { port, threads, scenario, isTls }) {
      const args = [...ctx.spindleNodeFlags, SPINDLE_CLI, '--port', port, '--threads', threads, '--demo'];
      if (SERVES_FILES.has(scenario)) args.push('--root', ctx.staticDir, '--prefix', '/static');
      if (isTls) args.push(...tlsFlags(ctx));
      // Idle connections must outlive the measurement (the default is 5 s).
      if (scenario === 'S7') args.push('--keepalive-timeout', '60s');
      if (scenario === 'S11') args.push('--max-body', '128m'); // 64 MiB uploads; the default is 1m
      // The command line logs every request to stdout by default; the baselines log nothing.
      args.push('--access-log', 'off');
      return [process.execPath, args];
    },
  },
  // Spindle logging every request to a file (S16: what the access log costs).
  'spindle-log': {
    healthPath: '/healthz',
    command(ctx, options) {
      const [file, args] = SERVERS.spindle.command(ctx, options);
      args[args.lastIndexOf('--access-log') + 1] = path.join(ctx.tmp, `access-${options.port}.log`);
      return [file, args];
    },
  },
  // Spindle with /metrics, scraped every second during the run (S16: what the metrics cost).
  'spindle-metrics': {
    healthPath: '/healthz',
    command(ctx, options) {
      const [file, args] = SERVERS.spindle.command(ctx, options);
      return [file, [...args, '--metrics']];
    },
  },
  'node-http': {
    healthPath: '/healthz',
    command: (ctx, { port }) => node('node-http.mjs', ['--port', port, '--root', ctx.staticDir]),
  },
  // The same script and handler as node-http, on https.createServer (HTTPS scenarios only).
  'node-https': {
    healthPath: '/healthz',
    command: (ctx, { port }) => node('node-http.mjs', ['--port', port, '--root', ctx.staticDir, ...tlsFlags(ctx)]),
  },
  piscina: {
    healthPath: '/healthz',
    command: (ctx, { port, threads }) => node('piscina.mjs', ['--port', port, '--threads', threads, '--root', ctx.staticDir]),
  },
  'node-send': {
    healthPath: '/healthz',
    command: (ctx, { port }) => node('node-send.mjs', ['--port', port, '--root', ctx.staticDir]),
  },
  nginx: {
    healthPath: '/',
    command(ctx, { port, isTls }) {
      const prefix = path.join(ctx.tmp, `nginx-${port}`);
      const tls = isTls ? { cert: ctx.tls.cert, key: ctx.tls.key } : null;
      return [ctx.nginx, writeNginxConfig({ prefix, port, root: ctx.staticDir, buildInfo: ctx.nginxBuildInfo, tls })];
    },
  },
};

let serverCount = 0;

/** Starts a server on a free port and waits for its health path; { name, child, pid, port, logFile, tls }. */
export async function startServer(ctx, name, { threads, scenario, isTls = false }) {
  const port = await findFreePort();
  const [file, args] = SERVERS[name].command(ctx, { port, threads, scenario, isTls });
  const logFile = path.join(ctx.tmp, `${++serverCount}-${name}-${scenario}.log`);
  const logFd = fs.openSync(logFile, 'a');
  const child = spawnWithFileLimit(ctx.fileLimit, file, args.map(String), { stdio: ['ignore', logFd, logFd], cwd: REPO });
  fs.closeSync(logFd);
  const tls = isTls ? { ca: ctx.tls.certPem } : null;
  try {
    await waitUntilReady(child, { port, path: SERVERS[name].healthPath, logFile, tls });
  } catch (err) {
    await stopGroup(child);
    throw new Error(`${name}: ${err.message}`);
  }
  return { name, child, pid: child.pid, port, logFile, tls };
}

/** Stops it; the result says whether SIGTERM sufficed and whether it had died earlier. */
export async function stopServer(server) {
  const diedEarly = hasExited(server.child) ? { exit: server.child.exitCode ?? server.child.signalCode, log: readTail(server.logFile) } : null;
  const stop = await stopGroup(server.child, 3000);
  return { ...stop, diedEarly };
}

/** VmRSS (KiB) and thread count of the server's process tree (threads are inside their process's VmRSS). */
export function readServerMemory(pid) {
  let rssKiB = 0;
  let threads = 0;
  for (const p of processTree(takeCpuSnapshot(), pid)) {
    try {
      const status = fs.readFileSync(`/proc/${p}/status`, 'utf8');
      rssKiB += Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0);
      threads += Number(/Threads:\s+(\d+)/.exec(status)?.[1] ?? 0);
    } catch {
      // gone
    }
  }
  return { rssKiB, threads };
}

/** Median of three VmRSS readings 200 ms apart. */
export async function sampleMemory(pid) {
  const samples = [];
  for (let i = 0; i < 3; i++) {
    samples.push(readServerMemory(pid));
    if (i < 2) await sleep(200);
  }
  const rss = samples.map((s) => s.rssKiB).sort((a, b) => a - b);
  return { rssKiB: rss[1], threads: samples[2].threads };
}
