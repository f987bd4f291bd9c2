// S10-S12: bodies that stream (issue 8). A large generated response, a large
// upload, and a thousand server-sent-event streams, each driven by a small
// Node client on raw sockets (lib/transfer-clients.mjs, lib/sse-clients.mjs):
// wrk cannot hold event streams, and counts no upload bytes.
// The client prints START when its measured window opens and its JSON when
// it closes; the CPU of the server and of what runs outside the benchmark is
// taken over that window, the client's own from process.cpuUsage() (the
// "wrk" slot of the CPU column).
import crypto from 'node:crypto';
import path from 'node:path';
import { coresUsed, takeCpuSnapshot } from './cpu.mjs';
import { readLines, request, spawnWithFileLimit, stopGroup } from './processes.mjs';
import { BENCH, sampleMemory } from './servers.mjs';

const TRANSFER_CLIENTS = path.join(BENCH, 'lib', 'transfer-clients.mjs');
const SSE_CLIENTS = path.join(BENCH, 'lib', 'sse-clients.mjs');

export const STREAM_PATH = '/stream?bytes=268435456&chunk=65536'; // 256 MiB in 64 KiB chunks
export const UPLOAD_BYTES = 64 * 1024 * 1024;
export const SSE_INTERVAL_MS = 250;
const TRANSFER_CLIENT_COUNT = 4;

/**
 * Runs a client script against the server; `onStart` runs once the window
 * opens (S12 reads the memory there). Returns { result, cpu, started }.
 */
export async function runClient(ctx, server, script, args, resultPrefix, { setupTimeoutMs = 20_000, onStart = async () => {} } = {}) {
  const { warmupS, durationS } = ctx.options;
  const client = spawnWithFileLimit(ctx.fileLimit, process.execPath, [script, '--port', String(server.port), ...args,
    '--warmup-seconds', String(warmupS), '--seconds', String(durationS), '--max-seconds', String(durationS + warmupS + 90)],
  { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = readLines(client);
  try {
    await lines.waitFor('START', setupTimeoutMs + warmupS * 1000);
    const before = takeCpuSnapshot();
    const started = await onStart();
    const line = await lines.waitFor(`${resultPrefix} `, durationS * 1000 + 10_000);
    const cpu = coresUsed(before, takeCpuSnapshot(), server.pid);
    return { result: JSON.parse(line.slice(resultPrefix.length + 1)), cpu, started };
  } finally {
    await stopGroup(client, 2000);
  }
}

export function cpuFigures(cpu, clientCores) {
  return {
    cpuServer: cpu.server, cpuWrk: clientCores, cpuOther: cpu.other, cpuUnseen: cpu.unseen, cpuSteal: cpu.steal,
    cpuOutside: cpu.other + cpu.unseen + cpu.steal,
  };
}

async function measureTransfer(ctx, server, args) {
  const { result: r, cpu } = await runClient(ctx, server, TRANSFER_CLIENTS,
    ['--clients', String(TRANSFER_CLIENT_COUNT), ...args], 'TRANSFERJSON');
  return {
    mbps: r.bytesPerSecond / 1e6, completed: r.completed, firstByteMedianMs: r.firstByteMedianMs,
    firstByteMaxMs: r.firstByteMaxMs, errors: r.errors + r.non200, ...cpuFigures(cpu, r.clientCores),
  };
}

async function measureEventFanOut(ctx, server) {
  const clients = ctx.sseCount;
  const before = await sampleMemory(server.pid);
  const { result: r, cpu, started: during } = await runClient(ctx, server, SSE_CLIENTS,
    ['--path', `/events?interval=${SSE_INTERVAL_MS}`, '--clients', String(clients)], 'SSEJSON',
    { setupTimeoutMs: 60_000, onStart: () => sampleMemory(server.pid) });
  return {
    eventsPerSecond: r.eventsPerSecond, idealPerSecond: (clients * 1000) / SSE_INTERVAL_MS,
    lateMedianMs: r.lateMedianMs, lateP99Ms: r.lateP99Ms, streamsWithEvents: r.streamsWithEvents, open: r.open,
    kibPerStream: r.open > 0 ? (during.rssKiB - before.rssKiB) / r.open : null,
    rssBeforeMiB: before.rssKiB / 1024, rssDuringMiB: during.rssKiB / 1024,
    errors: clients - r.open, ...cpuFigures(cpu, r.clientCores),
    note: r.open < clients ? `only ${r.open} of ${clients} streams open` : undefined,
  };
}

const TRANSFER_COLUMNS = [['mbps', 'MB/s', 0], ['completed', 'done in window', 0], ['firstByteMedianMs', 'first byte p50 ms', 1],
  ['firstByteMaxMs', 'first byte max ms', 0]];

export const STREAMING_SCENARIOS = {
  S10: {
    title: `S10 streamed response: GET ${STREAM_PATH} (256 MiB made in 64 KiB chunks), ${TRANSFER_CLIENT_COUNT} keep-alive clients (lib/transfer-clients.mjs)`,
    servers: () => ['spindle', 'node-http'],
    threads: (ctx) => ctx.options.threads,
    measure: (ctx, server) => measureTransfer(ctx, server, ['--mode', 'download', '--path', STREAM_PATH]),
    columns: TRANSFER_COLUMNS,
    primary: 'mbps',
    goals: [{ against: 'node-http', key: 'mbps', atLeast: 1.0, label: 'response bytes/s' }],
  },
  S11: {
    title: `S11 upload: POST /upload with ${UPLOAD_BYTES / 1024 / 1024} MiB (counted, not kept), ${TRANSFER_CLIENT_COUNT} keep-alive clients, Spindle --max-body 128m`,
    servers: () => ['spindle', 'node-http'],
    threads: (ctx) => ctx.options.threads,
    measure: (ctx, server) => measureTransfer(ctx, server, ['--mode', 'upload', '--path', '/upload', '--bytes', String(UPLOAD_BYTES)]),
    columns: [['mbps', 'MB/s', 0], ['completed', 'uploads in window', 0], ['firstByteMedianMs', 'request to answer p50 ms', 0]],
    primary: 'mbps',
    goals: [{ against: 'node-http', key: 'mbps', atLeast: 0.9, label: 'request bytes/s' }],
  },
  S12: {
    title: `S12 server-sent events fan-out: streams on GET /events?interval=${SSE_INTERVAL_MS} held open at once (lib/sse-clients.mjs)`,
    servers: () => ['spindle', 'node-http'],
    threads: (ctx) => ctx.options.threads,
    measure: measureEventFanOut,
    columns: [['eventsPerSecond', 'events/s', 0], ['idealPerSecond', 'events/s if on time', 0], ['lateMedianMs', 'late p50 ms', 1],
      ['lateP99Ms', 'late p99 ms', 1], ['kibPerStream', 'RSS KiB/stream', 1], ['rssDuringMiB', 'RSS MiB', 0],
      ['open', 'streams open', 0]],
    primary: 'eventsPerSecond',
    goals: [{ against: 'node-http', key: 'eventsPerSecond', atLeast: 1.0, label: 'events delivered per second' }],
  },
};

/** The contract check of the streaming routes, for the servers of S10-S12 (compare.mjs's smoke check). */
export async function checkStreamingRoutes(port, check, uses) {
  if (uses('S10')) {
    const r = await request({ port, path: '/stream?bytes=200000&chunk=65536' });
    check('GET /stream?bytes=200000', r.status === 200 && r.body.length === 200_000 && r.body.every((b) => b === 0x61)
      && r.headers['content-length'] === '200000', `${r.status ?? r.error} ${r.body?.length} B`);
  }
  if (uses('S11')) {
    const body = crypto.randomBytes(300_000);
    const r = await request({ port, method: 'POST', path: '/upload', body, headers: { 'content-type': 'application/octet-stream' } });
    check('POST /upload', r.status === 200 && r.body.toString() === '300000 bytes\n', `${r.status ?? r.error} ${JSON.stringify(r.body?.toString())}`);
  }
  if (uses('S12')) {
    const r = await request({ port, path: '/events?count=2&interval=10' });
    const text = r.body?.toString().replace(/"at":\d+/g, '"at":T');
    const expected = 'retry: 1000\n\nid: 1\ndata: {"n":1,"at":T}\n\nid: 2\ndata: {"n":2,"at":T}\n\nevent: end\ndata: \n\n';
    check('GET /events?count=2', r.status === 200 && text === expected && r.headers['content-type'] === 'text/event-stream',
      `${r.status ?? r.error} ${JSON.stringify(text)}`);
  }
}
