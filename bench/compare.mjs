#!/usr/bin/env node
// npm run bench: Spindle against baselines on loopback, driven by wrk.
// Not a test. Every measurement starts its server fresh on a free port,
// waits for it, warms it up, measures, and stops it; servers alternate
// within each repetition (A B, B A, ...) and tables show medians. See README.md.
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { coresUsed, describeProcess, takeCpuSnapshot } from './lib/cpu.mjs';
import { killAllChildren, request, sleep } from './lib/processes.mjs';
import { SCENARIOS } from './lib/scenarios.mjs';
import { checkStreamingRoutes } from './lib/streaming-scenarios.mjs';
import { KEY_TYPES, checkTlsServers, makeCertificate } from './lib/tls-scenarios.mjs';
import { BENCH, REPO, SPINDLE_CLI, readSpindleNodeFlags, startServer, stopServer } from './lib/servers.mjs';
import { noiseOf, renderScenario, summarizeScenario } from './lib/tables.mjs';
import { HELLO_PAGE, HTML, TEXT } from './baselines/contract.mjs';

const ALL = Object.keys(SCENARIOS);
const log = (...args) => console.error(...args);

const USAGE = `usage: npm run bench -- [options]    (or: node bench/compare.mjs [options])

  --scenarios LIST   comma list of ${ALL.join(',')} (default: all; S3 adds S1)
  --reps N           repetitions of every measurement; tables show medians (default 3)
  --duration S       measured seconds per wrk run (default 5)
  --warmup S         warm-up seconds before each measured run (default 1)
  --quick            1 rep x 2 s: checks that everything runs, not for figures
  --threads N        Spindle/piscina worker threads, all but S4 (default 4)
  --s4-threads N     threads in S4 (default 2)
  --async-threads N  threads in S8 and S9 (default 2)
  --connections N    wrk connections of S1, S2, S3, S5 1 KiB and S6 (default 64)
  --idle-conns N     connections held open in S7 (default 5000)
  --sse-clients N    event streams held open in S12 (default 1000)
  --tls-key-type T   key of the certificate made for S13-S15: ecdsa (P-256,
                     the default) or rsa (2048 bits)
  --quiet-cores C    before each measurement wait until work outside the
                     benchmark takes less than C cores (default 0.5: other
                     processes, CPU no live process accounts for, steal) ...
  --quiet-wait S     ... for at most S seconds (default 20; 0: do not wait)
  --retry-noisy N    measure again, up to N times, when outside work took
                     more than --quiet-cores during the run (default 1)
  --json-only        print the results JSON instead of the tables
  --help

Needs wrk (nginx for S5 and S15, openssl for S13-S15; apt-get installs them
when run as root) and a build (npm install). Writes bench/results/<timestamp>.json.`;

function parseOptions(argv) {
  const options = {
    scenarios: [...ALL], reps: 3, durationS: 5, warmupS: 1, threads: 4, s4Threads: 2, asyncThreads: 2, connections: 64,
    idleConns: 5000, sseClients: 1000, quietCores: 0.5, quietWaitS: 20, retryNoisy: 1, isJsonOnly: false, tlsKeyType: 'ecdsa',
  };
  const numeric = {
    '--reps': 'reps', '--duration': 'durationS', '--warmup': 'warmupS', '--threads': 'threads',
    '--s4-threads': 's4Threads', '--async-threads': 'asyncThreads', '--connections': 'connections', '--idle-conns': 'idleConns',
    '--sse-clients': 'sseClients',
    '--quiet-cores': 'quietCores', '--quiet-wait': 'quietWaitS', '--retry-noisy': 'retryNoisy',
  };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split(/=(.*)/s, 2);
    const value = () => inline ?? argv[++i];
    if (flag === '--help' || flag === '-h') { console.log(USAGE); process.exit(0); }
    else if (flag === '--quick') Object.assign(options, { reps: 1, durationS: 2 });
    else if (flag === '--json-only') options.isJsonOnly = true;
    else if (flag === '--tls-key-type') options.tlsKeyType = value();
    else if (flag === '--scenarios') options.scenarios = value().toUpperCase().split(',').map((s) => s.trim()).filter(Boolean);
    else if (numeric[flag]) {
      const n = Number(value());
      const key = numeric[flag];
      const isWhole = key !== 'quietCores';
      if (!Number.isFinite(n) || n < 0 || (isWhole && !Number.isInteger(n))) fail(`${flag} needs a ${isWhole ? 'whole ' : ''}number ≥ 0`);
      options[key] = n;
    } else fail(`unknown option ${argv[i]}\n\n${USAGE}`);
  }
  for (const s of options.scenarios) if (!SCENARIOS[s]) fail(`unknown scenario ${s} (known: ${ALL.join(', ')})`);
  if (!KEY_TYPES[options.tlsKeyType]) fail(`--tls-key-type is one of ${Object.keys(KEY_TYPES).join(', ')}`);
  if (options.reps < 1 || options.durationS < 1) fail('--reps and --duration must be at least 1');
  // S3 reports each server against its own S1 figure from the same run.
  if (options.scenarios.includes('S3') && !options.scenarios.includes('S1')) options.scenarios.push('S1');
  options.scenarios = ALL.filter((s) => options.scenarios.includes(s));
  return options;
}

function fail(message) {
  console.error(`bench: ${message}`);
  process.exit(1);
}

// ------------------------------------------------------------ environment

function findExecutable(name) {
  const found = spawnSync('bash', ['-c', `command -v ${name} || { test -x /usr/sbin/${name} && echo /usr/sbin/${name}; }`],
    { encoding: 'utf8' }).stdout.trim();
  return found || null;
}

/** The tool's path; installs its package with apt-get when missing and running as root. */
function requireTool(name, aptPackage) {
  let found = findExecutable(name);
  if (found) return found;
  if (process.getuid?.() !== 0) {
    fail(`${name} is not installed. Install it (Debian/Ubuntu: sudo apt-get install -y ${aptPackage}) and run again.`);
  }
  log(`${name} is missing: apt-get install -y ${aptPackage}`);
  const install = () => spawnSync('apt-get', ['install', '-y', aptPackage], { stdio: ['ignore', 2, 2] }).status === 0;
  if (!install()) {
    spawnSync('apt-get', ['update'], { stdio: ['ignore', 2, 2] });
    install();
  }
  found = findExecutable(name);
  if (!found) fail(`could not install ${aptPackage}; install it by hand and run again`);
  return found;
}

function hasPackage(name) {
  try {
    createRequire(path.join(REPO, 'package.json')).resolve(name);
    return true;
  } catch {
    return false;
  }
}

function makeStaticFiles(dir) {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, '1k.bin'), crypto.randomBytes(1024));
  fs.writeFileSync(path.join(dir, '1m.bin'), crypto.randomBytes(1024 * 1024));
}

function openFilesLimit() {
  const hard = spawnSync('bash', ['-c', 'ulimit -Hn'], { encoding: 'utf8' }).stdout.trim();
  return hard === 'unlimited' ? 65536 : Math.min(65536, Number(hard) || 1024);
}

// ------------------------------------------------------------ measuring

/**
 * Waits (at most --quiet-wait) until processes outside this benchmark use
 * less than --quiet-cores, sampled over 1 s. Returns the last sample.
 */
async function waitForQuiet(ctx, serverPid) {
  const { quietCores, quietWaitS } = ctx.options;
  const startMs = Date.now();
  for (;;) {
    const before = takeCpuSnapshot();
    await sleep(1000);
    const sample = coresUsed(before, takeCpuSnapshot(), serverPid);
    const outside = sample.other + sample.unseen + sample.steal;
    const waitedS = (Date.now() - startMs) / 1000;
    if (outside < quietCores || waitedS >= quietWaitS) {
      if (waitedS > 1.5) log(`    waited ${waitedS.toFixed(0)} s for outside work: now ${outside.toFixed(2)} cores`);
      return {
        waitedS, outsideCores: outside, ...sample,
        top: sample.topOther.map(([pid, c]) => `${describeProcess(pid)} ${c.toFixed(2)}`),
      };
    }
  }
}

/** A progress line: the table's figures and where the CPU went. */
function describeAttempt(scenario, attempt) {
  const m = attempt.metrics;
  if (!m) return `FAILED ${attempt.error}`;
  const parts = scenario.columns.map(([key, label]) => `${label}=${typeof m[key] === 'number' ? m[key].toFixed(1) : m[key]}`);
  if (m.cpuServer !== undefined) {
    const cores = ['cpuServer', 'cpuWrk', 'cpuOther', 'cpuUnseen', 'cpuSteal'].map((k) => m[k].toFixed(2));
    parts.push(`cpu srv/wrk/other/unseen/steal=${cores.join('/')}`);
  } else if (m.cpuServer1k !== undefined) parts.push(`outside=${noiseOf(m).toFixed(2)}`);
  if (attempt.stopNote) parts.push(`(${attempt.stopNote})`);
  return parts.join('  ');
}

async function measureOnce(ctx, sid, name, rep) {
  const scenario = SCENARIOS[sid];
  const attempt = { server: name, scenario: sid, rep };
  let server = null;
  try {
    server = await startServer(ctx, name, { threads: scenario.threads(ctx), scenario: sid, isTls: Boolean(scenario.isTls) });
    attempt.quiet = await waitForQuiet(ctx, server.pid);
    attempt.metrics = await scenario.measure(ctx, server);
  } catch (err) {
    attempt.error = err.message;
  } finally {
    if (server) {
      attempt.stop = await stopServer(server);
      if (attempt.stop.diedEarly) attempt.error ??= `server died: ${attempt.stop.diedEarly.exit} ${attempt.stop.diedEarly.log}`;
      if (attempt.stop.wasKilled) attempt.stopNote = 'did not exit within 3 s of SIGTERM (SIGKILL sent)';
    }
  }
  log(`  ${sid} rep ${rep} ${name.padEnd(10)} ${describeAttempt(scenario, attempt)}`);
  return attempt;
}

/** Measures again when outside work disturbed the run; keeps the least disturbed attempt. */
async function measure(ctx, sid, name, rep) {
  const attempts = [];
  for (let k = 0; k <= ctx.options.retryNoisy; k++) {
    const attempt = await measureOnce(ctx, sid, name, rep);
    attempts.push(attempt);
    if (!attempt.metrics || noiseOf(attempt.metrics) <= ctx.options.quietCores) break;
    if (k < ctx.options.retryNoisy) log(`    outside work took ${noiseOf(attempt.metrics).toFixed(2)} cores: again`);
  }
  const measured = attempts.filter((a) => a.metrics);
  const best = measured.length
    ? measured.reduce((a, b) => (noiseOf(b.metrics) < noiseOf(a.metrics) ? b : a))
    : attempts.at(-1);
  if (attempts.length > 1) best.discarded = attempts.filter((a) => a !== best);
  return best;
}

/** One server per route it takes part in: the bytes and types the comparison relies on. */
async function smokeCheck(ctx, name, scenarioIds) {
  const checks = [];
  const check = (what, isOk, detail) => checks.push({ what, isOk: Boolean(isOk), detail });
  const server = await startServer(ctx, name, { threads: ctx.options.threads, scenario: 'smoke' });
  try {
    let r = await request({ port: server.port, path: '/' });
    check('GET /', r.status === 200 && r.body.equals(HELLO_PAGE) && r.headers['content-type'] === HTML,
      `${r.status ?? r.error} ${r.headers?.['content-type']} ${r.body?.length} B`);
    const uses = (sid) => scenarioIds.some((s) => s === sid && SCENARIOS[s].servers(ctx).includes(name));
    if (uses('S3')) {
      r = await request({ port: server.port, path: '/sleep?ms=200' });
      check('GET /sleep?ms=200', r.status === 200 && r.ms >= 195, `${r.status ?? r.error} in ${r.ms?.toFixed(0)} ms`);
    }
    if (uses('S4') || uses('S9')) {
      r = await request({ port: server.port, path: '/cpu?ms=50' });
      check('GET /cpu?ms=50', r.status === 200 && r.ms >= 48, `${r.status ?? r.error} in ${r.ms?.toFixed(0)} ms`);
    }
    if (uses('S8') || uses('S9')) {
      r = await request({ port: server.port, path: '/async?ms=20' });
      check('GET /async?ms=20', r.status === 200 && r.body.toString() === 'async 20 ms\n' && r.headers['content-type'] === TEXT
        && r.ms >= 19, `${r.status ?? r.error} ${JSON.stringify(r.body?.toString())} ${r.headers?.['content-type']} in ${r.ms?.toFixed(0)} ms`);
    }
    if (uses('S6')) {
      const body = crypto.randomBytes(1024);
      r = await request({ port: server.port, method: 'POST', path: '/echo', body, headers: { 'content-type': 'application/x-bench' } });
      check('POST /echo', r.status === 200 && r.body.equals(body) && r.headers['content-type'] === 'application/x-bench',
        `${r.status ?? r.error} ${r.body?.length} B ${r.headers?.['content-type']}`);
    }
    if (uses('S5')) {
      for (const file of ['1k.bin', '1m.bin']) {
        r = await request({ port: server.port, path: `/static/${file}` });
        check(`GET /static/${file}`, r.status === 200 && r.body.equals(fs.readFileSync(path.join(ctx.staticDir, file))),
          `${r.status ?? r.error} ${r.body?.length} B`);
      }
      r = await request({ port: server.port, path: '/static/missing.bin' });
      check('GET /static/missing.bin', r.status === 404, `${r.status ?? r.error}`);
    }
    await checkStreamingRoutes(server.port, check, uses);
  } finally {
    await stopServer(server);
  }
  return checks;
}

// ------------------------------------------------------------ main

async function main() {
  const options = parseOptions(process.argv.slice(2));
  if (!fs.existsSync(SPINDLE_CLI)) fail(`${path.relative(process.cwd(), SPINDLE_CLI)} is missing: run npm install first`);
  const wrk = requireTool('wrk', 'wrk');
  const nginx = options.scenarios.some((s) => s === 'S5' || s === 'S15') ? requireTool('nginx', 'nginx-light') : null;
  const hasTls = options.scenarios.some((s) => SCENARIOS[s].isTls);
  const openssl = hasTls ? requireTool('openssl', 'openssl') : null;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'spindle-bench-'));
  const fileLimit = openFilesLimit();
  const ctx = {
    options, wrk, nginx, tmp, fileLimit, staticDir: path.join(tmp, 'static'),
    nginxBuildInfo: nginx ? spawnSync(nginx, ['-V'], { encoding: 'utf8' }).stderr : '',
    hasPiscina: hasPackage('piscina'), hasSend: hasPackage('send'), idleCount: options.idleConns,
    sseCount: options.sseClients,
    spindleNodeFlags: readSpindleNodeFlags(),
  };
  const cleanUp = () => { killAllChildren(); fs.rmSync(tmp, { recursive: true, force: true }); };
  process.on('exit', cleanUp);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => { log(`\n${signal}: stopping`); process.exit(130); });
  makeStaticFiles(ctx.staticDir);
  if (hasTls) ctx.tls = makeCertificate(openssl, tmp, options.tlsKeyType);
  if (options.scenarios.includes('S7') && fileLimit < options.idleConns + 200) {
    ctx.idleCount = Math.max(100, fileLimit - 200);
    log(`warning: the open-files limit is ${fileLimit}; S7 holds ${ctx.idleCount} connections instead of ${options.idleConns}`);
  }
  if (options.scenarios.includes('S12') && fileLimit < options.sseClients + 200) {
    ctx.sseCount = Math.max(100, fileLimit - 200);
    log(`warning: the open-files limit is ${fileLimit}; S12 holds ${ctx.sseCount} streams instead of ${options.sseClients}`);
  }
  for (const [pkg, has] of [['piscina', ctx.hasPiscina], ['send', ctx.hasSend]]) {
    if (!has) log(`note: ${pkg} is not installed (devDependency): its column is left out`);
  }

  const started = new Date();
  const meta = {
    started: started.toISOString(), node: process.version, cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model,
    wrk: spawnSync(wrk, ['-v'], { encoding: 'utf8' }).stdout.split('\n')[0].replace(/ Copyright.*/, ''),
    nginx: nginx ? spawnSync(nginx, ['-v'], { encoding: 'utf8' }).stderr.trim() : null,
    openssl: openssl ? spawnSync(openssl, ['version'], { encoding: 'utf8' }).stdout.trim() : null,
    tlsKeyType: hasTls ? options.tlsKeyType : null,
    loadAverageStart: os.loadavg(), fileLimit, idleConnections: ctx.idleCount, sseStreams: ctx.sseCount, spindleNodeFlags: ctx.spindleNodeFlags,
    spindleCommit: spawnSync('git', ['-C', REPO, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).stdout.trim(),
    spindleTreeDirty: spawnSync('git', ['-C', REPO, 'status', '--porcelain', 'src'], { encoding: 'utf8' }).stdout.trim() !== '',
  };
  log(`scenarios ${options.scenarios.join(' ')}; ${options.reps} rep(s) x ${options.durationS} s; tmp ${tmp}`);

  const plainScenarios = options.scenarios.filter((sid) => !SCENARIOS[sid].isTls);
  const servers = [...new Set(plainScenarios.flatMap((sid) => SCENARIOS[sid].servers(ctx)))];
  const smoke = {};
  for (const name of servers) {
    try {
      smoke[name] = await smokeCheck(ctx, name, plainScenarios);
    } catch (err) {
      smoke[name] = [{ what: 'start', isOk: false, detail: err.message }];
    }
  }
  if (hasTls) Object.assign(smoke, await checkTlsServers(ctx, options.scenarios));
  for (const [name, checks] of Object.entries(smoke)) {
    const bad = checks.filter((c) => !c.isOk);
    log(`smoke ${name}: ${bad.length ? `FAIL ${bad.map((c) => `${c.what} (${c.detail})`).join(', ')}` : 'ok'}`);
  }

  const runs = [];
  const summaries = {};
  const scenarioLoad = {};
  for (const sid of options.scenarios) {
    const scenario = SCENARIOS[sid];
    const names = scenario.servers(ctx);
    const quiet = await waitForQuiet(ctx, null);
    scenarioLoad[sid] = { loadAverage: os.loadavg(), ...quiet };
    const busiest = quiet.top.length ? ` (${quiet.top.join('; ')})` : '';
    log(`\n== ${scenario.title}`);
    log(`   load average ${formatLoad(os.loadavg())}; outside work ${quiet.outsideCores.toFixed(2)} cores${busiest}`);
    for (let rep = 1; rep <= options.reps; rep++) {
      // A B C, then B C A, ...: no server always runs first or last.
      const order = names.map((_, i) => names[(i + rep - 1) % names.length]);
      for (const name of order) runs.push(await measure(ctx, sid, name, rep));
    }
    summaries[sid] = summarizeScenario(scenario, runs.filter((r) => r.scenario === sid), options.quietCores);
  }
  meta.loadAverageEnd = os.loadavg();
  meta.elapsedS = Math.round((Date.now() - started.getTime()) / 1000);

  const markdown = renderReport(ctx, meta, smoke, summaries);
  const resultsDir = path.join(BENCH, 'results');
  fs.mkdirSync(resultsDir, { recursive: true });
  const stamp = started.toISOString().slice(0, 19).replace(/:/g, '-');
  const resultsFile = path.join(resultsDir, `${stamp}.json`);
  const json = JSON.stringify({ meta, options, smoke, scenarioLoad, summaries, runs, markdown }, null, 1);
  fs.writeFileSync(resultsFile, `${json}\n`);
  console.log(options.isJsonOnly ? json : markdown);
  log(`wrote ${path.relative(process.cwd(), resultsFile)}`);
}

const formatLoad = (loads) => loads.map((x) => x.toFixed(2)).join(' ');

function renderReport(ctx, meta, smoke, summaries) {
  const { options } = ctx;
  const spindleCommand = ['node', ...meta.spindleNodeFlags, 'dist/src/cli.js'].join(' ');
  const lines = [
    `# Spindle benchmark ${meta.started}`,
    '',
    `Spindle ${meta.spindleCommit}${meta.spindleTreeDirty ? ' (uncommitted changes in src/)' : ''}, `
      + `run as \`${spindleCommand}\` (flags from its shebang); Node ${meta.node}; ${meta.wrk}; `
      + `${meta.nginx ?? 'no nginx'}; ${meta.cpus} CPUs (${meta.cpuModel}).`
      + (meta.tlsKeyType ? ` HTTPS: ${meta.openssl}; a self-signed ${meta.tlsKeyType === 'rsa' ? 'RSA 2048' : 'ECDSA P-256'} certificate made for this run.` : ''),
    `Medians of ${options.reps} repetition(s) of ${options.durationS} s after ${options.warmupS} s of warm-up; `
      + 'every measurement starts its server fresh; servers alternate. '
      + `wrk shares the ${meta.cpus} cores with the servers: compare ratios within this run only. `
      + '"Spindle / this" is Spindle\'s median divided by that server\'s. '
      + 'CPU cores srv/wrk/outside: what the server and wrk used during the measured run, and what work outside '
      + 'this benchmark took (other processes, CPU no live process accounts for, steal).',
    `Load average at start ${formatLoad(meta.loadAverageStart)}, at end ${formatLoad(meta.loadAverageEnd)}; ${meta.elapsedS} s.`,
    '',
  ];
  const failures = Object.entries(smoke)
    .map(([name, checks]) => [name, checks.filter((c) => !c.isOk)])
    .filter(([, bad]) => bad.length)
    .map(([name, bad]) => `${name} FAILED ${bad.map((c) => `${c.what} (${c.detail})`).join(', ')}`);
  const verdict = failures.length ? failures.join('; ') : `all ${Object.keys(smoke).length} servers answer the same bytes`;
  lines.push(`Contract check: ${verdict}.`, '');
  for (const sid of options.scenarios) {
    lines.push(renderScenario(SCENARIOS[sid], summaries[sid], summaries, options.quietCores));
  }
  return lines.join('\n');
}

main().catch((err) => {
  log(`bench: ${err.stack ?? err.message}`);
  process.exit(1);
});
