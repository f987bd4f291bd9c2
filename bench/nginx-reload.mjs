// A rolling restart behind real nginx, measured (issue 11, item 5): nginx
// (README's "Running in production" config, keepalive 32) load-balances two
// Spindle instances while wrk drives GET / (32 connections) and POST /echo
// (8 connections, bench/lib/post.lua) through it for 20 s, and two node:http
// loops check that random POST bodies come back intact. Meanwhile each
// instance in turn gets SIGTERM (--drain-delay 1500ms), exits, is started
// again on its port, answers /healthz 200, and after nginx's fail_timeout
// (2 s) the next one goes. Prints requests/s, non-2xx, socket errors, p99.
//
//   npm run build && node bench/nginx-reload.mjs [--duration 20] [--no-restart]
//
// --no-restart runs the same load without restarts, for comparison.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { killAllChildren, sleep, spawnGroup, stopGroup, waitUntilReady } from './lib/processes.mjs';
import { POST_SCRIPT, REPORT_SCRIPT, runWrk } from './lib/wrk.mjs';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CLI = path.join(REPO, 'dist/src/cli.js');
const NGINX_HELPERS = path.join(REPO, 'dist/test/nginx-upstream.js');
const LOAD_CLIENT = path.join(REPO, 'dist/test/proxy-load.js');
const INSTANCE_ARGS = ['--threads', '1', '--drain-delay', '1500ms', '--keepalive-timeout', '5s', '--access-log', 'off'];
/** nginx's fail_timeout in the config: a restarted instance is chosen again within it */
const FAIL_TIMEOUT_MS = 2000;

const { values: options } = parseArgs({
  options: {
    duration: { type: 'string', default: '20' },
    'no-restart': { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
if (options.help) {
  process.stdout.write('usage: node bench/nginx-reload.mjs [--duration SECONDS] [--no-restart]\n');
  process.exit(0);
}
for (const file of [CLI, NGINX_HELPERS, LOAD_CLIENT]) {
  if (!fs.existsSync(file)) {
    process.stderr.write(`${path.relative(REPO, file)} is missing: run npm run build first\n`);
    process.exit(2);
  }
}
const { isNginxInstalled, startNginx, findFreePort } = await import(NGINX_HELPERS);
const { startLoad, describeFailures } = await import(LOAD_CLIENT);
if (!isNginxInstalled()) {
  process.stderr.write('needs /usr/sbin/nginx: apt-get install -y nginx-light\n');
  process.exit(2);
}
const durationS = Number(options.duration);
const logDir = fs.mkdtempSync(path.join(os.tmpdir(), 'spindle-nginx-reload-'));

/** node dist/src/cli.js --port PORT ..., output to a log file; resolves once /healthz answers 200. */
async function startInstance(port) {
  const logFile = path.join(logDir, `spindle-${port}.log`);
  const log = fs.openSync(logFile, 'a');
  const child = spawnGroup(process.execPath, [CLI, '--port', String(port), ...INSTANCE_ARGS], { stdio: ['ignore', log, log] });
  fs.closeSync(log);
  await waitUntilReady(child, { port, path: '/healthz', logFile });
  return { port, child };
}

/** SIGTERM, wait for the exit after the drain, start again on the same port. */
async function restartInstance(instance, note) {
  note(`SIGTERM :${instance.port}`);
  process.kill(instance.child.pid, 'SIGTERM');
  const { code } = await instance.child.exited;
  note(`:${instance.port} exited ${code}`);
  if (code !== 0) throw new Error(`instance on :${instance.port} exited ${code}`);
  const next = await startInstance(instance.port);
  note(`:${instance.port} ready`);
  return next;
}

const ports = [await findFreePort(), await findFreePort()];
const instances = await Promise.all(ports.map(startInstance));
const nginx = await startNginx(ports, 32);
const startedAt = Date.now();
const timeline = [];
const note = (what) => timeline.push(`${((Date.now() - startedAt) / 1000).toFixed(1)} s ${what}`);
let restarts = 0;

try {
  const echoCheck = startLoad({ port: nginx.port, loops: 2 });
  const gets = runWrk({ port: nginx.port, connections: 32, durationS, script: REPORT_SCRIPT });
  const posts = runWrk({ port: nginx.port, path: '/echo', connections: 8, durationS, script: POST_SCRIPT });
  if (!options['no-restart']) {
    await sleep(2000);
    for (let i = 0; Date.now() - startedAt < (durationS - 6) * 1000; i = (i + 1) % instances.length) {
      instances[i] = await restartInstance(instances[i], note);
      restarts++;
      await sleep(FAIL_TIMEOUT_MS + 500);
    }
  }
  const [get, post] = await Promise.all([gets, posts]);
  const echo = await echoCheck.stop();
  const errorLines = nginx.errorLog().split('\n').filter((line) => line.includes('[error]'));
  const row = (name, w) => `| ${name} | ${w.requests} | ${w.rps.toFixed(0)} | ${w.errorKinds.status} | ${w.errors - w.errorKinds.status} | ${w.p50Ms.toFixed(2)} | ${w.p99Ms.toFixed(2)} | ${w.maxMs.toFixed(1)} |`;
  process.stdout.write([
    `# nginx ${options['no-restart'] ? 'without restarts' : `rolling restart (${restarts} restarts)`}, ${durationS} s, two Spindle instances (--threads 1)`,
    '',
    '| load | requests | req/s | non-2xx | socket errors | p50 ms | p99 ms | max ms |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
    row('wrk GET / -c32', get),
    row('wrk POST /echo 1 KiB -c8', post),
    '',
    `echo check (2 node:http loops, random bodies up to 24 KiB): ${echo.posts} POSTs, ${echo.postsIntact} intact, ` +
      `${echo.non2xx.length} non-2xx, ${echo.socketErrors.length} socket errors, ${echo.corruptEchoes.length} corrupt`,
    ...[echo.non2xx, echo.socketErrors, echo.corruptEchoes].filter((f) => f.length > 0).map((f) => `  ${describeFailures(f)}`),
    `wrk socket errors by kind: GET ${JSON.stringify(get.errorKinds)}, POST ${JSON.stringify(post.errorKinds)}`,
    `nginx [error] lines (each retried on the other instance unless the client saw an error): ` +
      `${errorLines.filter((l) => l.includes('Connection refused')).length} refused connects, ` +
      `${errorLines.filter((l) => l.includes('while reading response header')).length} closed before the answer, ` +
      `${errorLines.filter((l) => l.includes('no live upstreams')).length} no live upstreams`,
    `timeline: ${timeline.join('; ') || '-'}`,
    '',
  ].join('\n'));
} finally {
  await nginx.stop();
  await Promise.all(instances.map((instance) => stopGroup(instance.child, 5000)));
  killAllChildren();
  fs.rmSync(logDir, { recursive: true, force: true });
}
