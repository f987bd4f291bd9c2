// The scenarios: S1-S9 here, S10-S12 (streamed bodies) in streaming-scenarios.mjs,
// S13-S15 (HTTPS) in tls-scenarios.mjs. Each has the servers it compares, how one
// measurement goes on a freshly started server, and how its table reads.
// A measurement's figures are flat numbers so that medians come out per key.
import path from 'node:path';
import { sampleMemory, BENCH } from './servers.mjs';
import { STREAMING_SCENARIOS } from './streaming-scenarios.mjs';
import { TLS_SCENARIOS } from './tls-scenarios.mjs';
import { OBSERVE_SCENARIOS } from './observe-scenarios.mjs';
import { readLines, sleep, spawnGroup, spawnWithFileLimit, stopGroup } from './processes.mjs';
import { POST_SCRIPT, runWrk, warmAndMeasure, wrkFigures } from './wrk.mjs';

const LOOP_CLIENTS = path.join(BENCH, 'lib', 'loop-clients.mjs');
const IDLE_CONNS = path.join(BENCH, 'lib', 'idle-conns.mjs');

const piscinaIfPresent = (ctx) => (ctx.hasPiscina ? ['piscina'] : []);
const HELLO_COLUMNS = [['rps', 'req/s', 0], ['p50Ms', 'p50 ms', 2], ['p99Ms', 'p99 ms', 2]];

export const SCENARIOS = {
  S1: {
    title: 'S1 hello, keep-alive: GET /, wrk -t1 -c64',
    servers: (ctx) => ['spindle', 'node-http', ...piscinaIfPresent(ctx)],
    threads: (ctx) => ctx.options.threads,
    measure: async (ctx, server) => wrkFigures(await warmAndMeasure(ctx, server, { connections: ctx.options.connections })),
    columns: HELLO_COLUMNS,
    primary: 'rps',
    goals: [
      { against: 'node-http', key: 'rps', atLeast: 1.0, label: 'every request through the pool' },
      { against: 'node-http', key: 'rps', atLeast: 1.3, label: 'issue 2 target' },
    ],
  },
  S2: {
    title: 'S2 hello, a new connection per request: GET /, wrk -t1 -c64 -H "Connection: close"',
    servers: () => ['spindle', 'node-http'],
    threads: (ctx) => ctx.options.threads,
    measure: async (ctx, server) => wrkFigures(await warmAndMeasure(ctx, server, {
      connections: ctx.options.connections, headers: ['Connection: close'],
    })),
    columns: HELLO_COLUMNS,
    primary: 'rps',
    goals: [{ against: 'node-http', key: 'rps', atLeast: 1.0 }],
  },
  S3: {
    title: 'S3 isolation: GET /, wrk -t1 -c64, while 2 clients loop on /sleep?ms=1000',
    servers: (ctx) => ['spindle', 'node-http', ...piscinaIfPresent(ctx)],
    threads: (ctx) => ctx.options.threads,
    async measure(ctx, server) {
      const { w, loops } = await measureBesideLoop(ctx, server, {
        loopPath: '/sleep?ms=1000', load: { connections: ctx.options.connections, timeoutS: 10 },
      });
      return { ...wrkFigures(w), sleepsDone: loops.completed, sleepMedianMs: loops.medianMs, errorsLoop: loops.errors };
    },
    columns: [['rps', 'req/s', 0], ['p50Ms', 'p50 ms', 1], ['p99Ms', 'p99 ms', 1], ['sleepsDone', '/sleep done', 0],
      ['sleepMedianMs', '/sleep median ms', 0]],
    primary: 'rps',
    versusOwnS1: true,
    goals: [{ own: 'S1', server: 'spindle', key: 'rps', atLeast: 1.0, label: 'GET / rate under /sleep load vs its own S1' }],
  },
  S4: {
    title: 'S4 CPU-bound: GET /cpu?ms=5, wrk -t1 -c8, 2 threads (400 req/s is the 2-core ceiling)',
    servers: (ctx) => ['spindle', 'node-http', ...piscinaIfPresent(ctx)],
    threads: (ctx) => ctx.options.s4Threads,
    measure: async (ctx, server) => wrkFigures(await warmAndMeasure(ctx, server, {
      path: '/cpu?ms=5', connections: 8, timeoutS: 10,
    })),
    columns: [['rps', 'req/s', 0], ['p50Ms', 'p50 ms', 1], ['p99Ms', 'p99 ms', 1]],
    primary: 'rps',
    goals: [{ against: 'node-http', key: 'rps', atLeast: 1.9 }],
  },
  S5: {
    title: 'S5 static files: /static/1k.bin (wrk -t1 -c64, req/s) and /static/1m.bin (wrk -t1 -c16, MB/s), keep-alive',
    servers: (ctx) => ['spindle', 'nginx', 'node-http', ...(ctx.hasSend ? ['node-send'] : [])],
    threads: (ctx) => ctx.options.threads,
    async measure(ctx, server) {
      const small = await warmAndMeasure(ctx, server, { path: '/static/1k.bin', connections: ctx.options.connections });
      const large = await warmAndMeasure(ctx, server, { path: '/static/1m.bin', connections: 16, timeoutS: 10 });
      return { ...wrkFigures(small, '1k'), ...wrkFigures(large, '1m') };
    },
    columns: [['rps1k', '1 KiB req/s', 0], ['p99Ms1k', '1 KiB p99 ms', 2], ['mbps1m', '1 MiB MB/s', 0],
      ['p99Ms1m', '1 MiB p99 ms', 1]],
    primary: 'rps1k',
    cpuSuffixes: ['1k', '1m'],
    ratioKeys: [['rps1k', '1 KiB'], ['mbps1m', '1 MiB']],
    goals: [
      { against: 'nginx', key: 'rps1k', atLeast: 0.6, label: '1 KiB req/s' },
      { against: 'nginx', key: 'mbps1m', atLeast: 0.7, label: '1 MiB MB/s' },
    ],
  },
  S6: {
    title: 'S6 echo: POST /echo with a 1 KiB body, wrk -t1 -c64, keep-alive',
    servers: () => ['spindle', 'node-http'],
    threads: (ctx) => ctx.options.threads,
    measure: async (ctx, server) => wrkFigures(await warmAndMeasure(ctx, server, {
      connections: ctx.options.connections, path: '/echo', script: POST_SCRIPT,
    })),
    columns: HELLO_COLUMNS,
    primary: 'rps',
    goals: [{ against: 'node-http', key: 'rps', atLeast: 1.0 }],
  },
  S7: {
    title: 'S7 memory of idle keep-alive connections (each sent one GET / first): server VmRSS growth',
    servers: () => ['spindle', 'node-http'],
    threads: (ctx) => ctx.options.threads,
    measure: measureIdleMemory,
    columns: [['kibPerConn', 'KiB/conn', 2], ['rssBeforeMiB', 'RSS before MiB', 1], ['rssAfterMiB', 'RSS after MiB', 1],
      ['open', 'conns open', 0], ['threads', 'threads', 0]],
    primary: 'kibPerConn',
    isLowerBetter: true,
    goals: [{ absolute: true, server: 'spindle', key: 'kibPerConn', atMost: 4, label: 'KiB per idle connection' }],
  },
  S8: {
    title: 'S8 awaiting handlers: GET /async?ms=10, wrk -t1 -c256, keep-alive, 2 threads (25,600 req/s if only the timer counted)',
    servers: (ctx) => ['spindle', 'node-http', ...piscinaIfPresent(ctx)],
    threads: (ctx) => ctx.options.asyncThreads,
    measure: async (ctx, server) => wrkFigures(await warmAndMeasure(ctx, server, {
      path: '/async?ms=10', connections: 256, timeoutS: 10,
    })),
    columns: HELLO_COLUMNS,
    primary: 'rps',
    goals: [{ against: 'node-http', key: 'rps', atLeast: 0.8, label: 'a worker runs many awaiting jobs at once' }],
  },
  S9: {
    title: 'S9 CPU beside awaits: GET /async?ms=20, wrk -t1 -c32, while 1 client loops on /cpu?ms=50 (one thread saturated), 2 threads',
    servers: (ctx) => ['spindle', 'node-http', ...piscinaIfPresent(ctx)],
    threads: (ctx) => ctx.options.asyncThreads,
    async measure(ctx, server) {
      const { w, loops } = await measureBesideLoop(ctx, server, {
        loopPath: '/cpu?ms=50', loopClients: 1, load: { path: '/async?ms=20', connections: 32, timeoutS: 10 },
      });
      return { ...wrkFigures(w), cpuDone: loops.completed, cpuMedianMs: loops.medianMs, errorsLoop: loops.errors };
    },
    columns: [['rps', '/async req/s', 0], ['p50Ms', '/async p50 ms', 1], ['p99Ms', '/async p99 ms', 1],
      ['cpuDone', '/cpu done', 0], ['cpuMedianMs', '/cpu median ms', 0]],
    primary: 'p99Ms',
    ratioKeys: [['p99Ms', 'p99'], ['rps', 'req/s']],
    goals: [{ absolute: true, server: 'spindle', key: 'p99Ms', atMost: 100, label: '/async p99 ms while /cpu keeps one thread busy' }],
  },
  ...STREAMING_SCENARIOS,
  ...TLS_SCENARIOS,
  ...OBSERVE_SCENARIOS,
};

/**
 * wrk measures `load` while loopClients (2) clients loop on loopPath (lib/loop-clients.mjs);
 * the warm-up runs the same load before the loop starts. Returns wrk's result
 * and the loop's { completed, medianMs, errors }.
 */
async function measureBesideLoop(ctx, server, { loopPath, loopClients = 2, load }) {
  const { warmupS, durationS } = ctx.options;
  if (warmupS > 0) await runWrk({ wrk: ctx.wrk, port: server.port, ...load, durationS: warmupS });
  const clients = spawnGroup(process.execPath, [LOOP_CLIENTS, '--port', String(server.port), '--path', loopPath,
    '--clients', String(loopClients), '--max-seconds', String(durationS + 30)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = readLines(clients);
  try {
    await lines.waitFor('STARTED', 10_000);
    await sleep(300); // the loop requests are inside the server now
    const w = await runWrk({ wrk: ctx.wrk, port: server.port, ...load, durationS, serverPid: server.pid });
    clients.stdin.end();
    const line = await lines.waitFor('LOOPJSON ', 5000).catch(() => null);
    const loop = line ? JSON.parse(line.slice('LOOPJSON '.length)) : {};
    const errors = loop.errors === undefined ? null : loop.errors + loop.non200;
    return { w, loops: { completed: loop.completed ?? null, medianMs: loop.medianMs ?? null, errors } };
  } finally {
    await stopGroup(clients, 2000);
  }
}

async function measureIdleMemory(ctx, server) {
  const count = ctx.idleCount;
  await runWrk({ wrk: ctx.wrk, port: server.port, connections: 64, durationS: Math.max(1, ctx.options.warmupS) });
  await sleep(1000);
  const before = await sampleMemory(server.pid);
  const conns = spawnWithFileLimit(ctx.fileLimit, process.execPath, [IDLE_CONNS, '--port', String(server.port),
    '--count', String(count), '--max-seconds', '120'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = readLines(conns);
  try {
    const ready = JSON.parse((await lines.waitFor('READY ', 90_000)).slice('READY '.length));
    await sleep(1000);
    const after = await sampleMemory(server.pid);
    conns.stdin.write('report\n');
    const { open } = JSON.parse((await lines.waitFor('OPEN ', 5000)).slice('OPEN '.length));
    conns.stdin.end();
    const held = Math.min(open, ready.open);
    return {
      kibPerConn: held >= 0.9 * count ? (after.rssKiB - before.rssKiB) / held : null,
      rssBeforeMiB: before.rssKiB / 1024, rssAfterMiB: after.rssKiB / 1024, open, threads: after.threads,
      setupMs: ready.setupMs, errors: ready.failed + ready.non200,
      note: held < 0.9 * count ? `server kept only ${held} of ${count} connections open` : undefined,
    };
  } finally {
    await stopGroup(conns, 3000);
  }
}
