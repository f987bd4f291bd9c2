// S13-S15: HTTPS (issue 9). Spindle with --tls-cert/--tls-key against Node's
// https module running the node-http baseline's handler (node-https), and
// for the static file against nginx with `listen ... ssl`. Every server gets
// the same certificate, made at run time by `openssl req` into the
// benchmark's temp dir (no key is committed), and chooses the same TLS 1.3
// suite (baselines/contract.mjs TLS13_SUITES); the contract check below says
// so per server.
//
// wrk speaks TLS with an https:// URL. With `Connection: close` it does not
// do a full handshake per request: it keeps one SSL object per connection
// and reconnects with SSL_clear(), which keeps the last session, so it
// offers the ticket the server sent on the connection before. node-https
// counts its handshakes (GET /tls-sessions) to show the share resumed; S14
// also runs lib/handshake-clients.mjs, which never resumes.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import tls from 'node:tls';
import { HELLO_PAGE, HTML } from '../baselines/contract.mjs';
import { request } from './processes.mjs';
import { BENCH, startServer, stopServer } from './servers.mjs';
import { cpuFigures, runClient } from './streaming-scenarios.mjs';
import { runWrk, warmAndMeasure, wrkFigures } from './wrk.mjs';

const HANDSHAKE_CLIENTS = path.join(BENCH, 'lib', 'handshake-clients.mjs');
/** concurrent connections of S14's full-handshake client: enough to keep both cores busy, few enough for one Node client */
const HANDSHAKE_CLIENT_COUNT = 16;

/**
 * `openssl req -newkey` arguments per key type. ECDSA P-256 is the default:
 * certbot (since 2.0) and Caddy issue it by default, and a P-256 signature
 * costs the server far less than an RSA 2048 one, so S14 measures the
 * server's own work per connection rather than mostly OpenSSL's RSA.
 */
export const KEY_TYPES = {
  ecdsa: ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'],
  rsa: ['-newkey', 'rsa:2048'],
};

/**
 * A self-signed certificate for localhost and 127.0.0.1, valid 2 days, in dir:
 * { cert, key } (paths), certPem (the CA the harness's own clients trust), keyType.
 */
export function makeCertificate(openssl, dir, keyType) {
  const cert = path.join(dir, `tls-${keyType}-cert.pem`);
  const key = path.join(dir, `tls-${keyType}-key.pem`);
  const made = spawnSync(openssl, ['req', '-x509', ...KEY_TYPES[keyType], '-nodes', '-sha256', '-days', '2',
    '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-keyout', key, '-out', cert],
  { encoding: 'utf8' });
  if (made.status !== 0) throw new Error(`openssl req failed: ${made.stderr.trim().slice(0, 300)}`);
  return { cert, key, certPem: fs.readFileSync(cert, 'utf8'), keyType };
}

/** node-https's handshake counts so far ({ full, resumed }); null for servers that do not count. */
async function readHandshakeCounts(server) {
  if (server.name !== 'node-https') return null;
  const r = await request({ port: server.port, path: '/tls-sessions', tls: server.tls });
  return r.status === 200 ? JSON.parse(r.body.toString()) : null;
}

/** wrk with `Connection: close`, and the share of node-https's handshakes in the measured run that were resumed. */
async function measureNewConnections(ctx, server) {
  const load = { connections: ctx.options.connections, headers: ['Connection: close'], scheme: 'https' };
  const { warmupS, durationS } = ctx.options;
  if (warmupS > 0) await runWrk({ wrk: ctx.wrk, port: server.port, ...load, durationS: warmupS });
  const before = await readHandshakeCounts(server);
  const w = await runWrk({ wrk: ctx.wrk, port: server.port, ...load, durationS, serverPid: server.pid });
  const after = await readHandshakeCounts(server);
  // the two /tls-sessions requests are full handshakes of their own: not counted
  const full = after && after.full - before.full - 1;
  const resumed = after && after.resumed - before.resumed;
  return { ...wrkFigures(w), resumedPercent: after && full + resumed > 0 ? (100 * resumed) / (full + resumed) : null };
}

/** lib/handshake-clients.mjs: full handshakes only; figures suffixed Full. */
async function measureFullHandshakes(ctx, server) {
  const { result: r, cpu } = await runClient(ctx, server, HANDSHAKE_CLIENTS,
    ['--clients', String(HANDSHAKE_CLIENT_COUNT)], 'HANDSHAKEJSON');
  const figures = cpuFigures(cpu, r.clientCores);
  return {
    rpsFull: r.perSecond, p50MsFull: r.p50Ms, p99MsFull: r.p99Ms, errorsFull: r.errors + r.non200,
    ...Object.fromEntries(Object.entries(figures).map(([k, v]) => [`${k}Full`, v])),
    note: r.resumed > 0 ? `the full-handshake client resumed ${r.resumed} sessions` : undefined,
  };
}

const HELLO_COLUMNS = [['rps', 'req/s', 0], ['p50Ms', 'p50 ms', 2], ['p99Ms', 'p99 ms', 2]];

export const TLS_SCENARIOS = {
  S13: {
    title: 'S13 HTTPS hello, keep-alive: GET / over TLS, wrk -t1 -c64',
    isTls: true,
    servers: () => ['spindle', 'node-https'],
    threads: (ctx) => ctx.options.threads,
    measure: async (ctx, server) => wrkFigures(await warmAndMeasure(ctx, server, {
      connections: ctx.options.connections, scheme: 'https',
    })),
    columns: HELLO_COLUMNS,
    primary: 'rps',
    goals: [{ against: 'node-https', key: 'rps', atLeast: 1.0 }],
  },
  S14: {
    title: 'S14 HTTPS, a new TLS connection per request: GET /, wrk -t1 -c64 -H "Connection: close" (wrk resumes sessions: '
      + `see "resumed %"), and ${HANDSHAKE_CLIENT_COUNT} clients doing full handshakes only (lib/handshake-clients.mjs)`,
    isTls: true,
    servers: () => ['spindle', 'node-https'],
    threads: (ctx) => ctx.options.threads,
    measure: async (ctx, server) => ({ ...await measureNewConnections(ctx, server), ...await measureFullHandshakes(ctx, server) }),
    columns: [['rps', 'wrk req/s', 0], ['p99Ms', 'wrk p99 ms', 1], ['resumedPercent', 'wrk resumed %', 0],
      ['rpsFull', 'full handshakes/s', 0], ['p99MsFull', 'full p99 ms', 1]],
    primary: 'rps',
    ratioKeys: [['rps', 'wrk'], ['rpsFull', 'full']],
    cpuSuffixes: ['', 'Full'],
    goals: [
      { against: 'node-https', key: 'rps', atLeast: 1.0, label: 'wrk, sessions partly resumed' },
      { against: 'node-https', key: 'rpsFull', atLeast: 1.0, label: 'full handshakes only' },
    ],
  },
  S15: {
    title: 'S15 HTTPS static file: /static/1m.bin over TLS, wrk -t1 -c16, keep-alive (MB/s = 10^6 B/s)',
    isTls: true,
    servers: () => ['spindle', 'nginx', 'node-https'],
    threads: (ctx) => ctx.options.threads,
    measure: async (ctx, server) => wrkFigures(await warmAndMeasure(ctx, server, {
      path: '/static/1m.bin', connections: 16, timeoutS: 10, scheme: 'https',
    })),
    columns: [['mbps', 'MB/s', 0], ['rps', 'req/s', 0], ['p99Ms', 'p99 ms', 1]],
    primary: 'mbps',
    goals: [{ against: 'nginx', key: 'mbps', atLeast: 0.7, label: '1 MiB MB/s' }],
  },
};

/** Connects twice, the second time offering the first connection's session: whether the server resumed it. */
function probeResumption(port, ca) {
  const connect = (session) => new Promise((resolve) => {
    const socket = tls.connect({ host: '127.0.0.1', port, ca, servername: 'localhost', session, ALPNProtocols: ['http/1.1'] });
    let ticket = null;
    let isResumed = null;
    socket.on('session', (s) => { ticket = s; }); // TLS 1.3 tickets arrive after the handshake
    socket.once('secureConnect', () => {
      isResumed = socket.isSessionReused();
      socket.write(`GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`);
    });
    socket.on('data', () => {});
    socket.on('error', (err) => resolve({ error: err.message }));
    socket.on('close', () => resolve({ ticket, isResumed }));
  });
  return connect(undefined).then((first) => (first.ticket ? connect(first.ticket) : { error: first.error ?? 'no session ticket' }));
}

/**
 * The contract check over HTTPS, for every server of the HTTPS scenarios
 * asked for: the hello page (and the 1 MiB file for S15) with the
 * certificate checked against the one made for this run, session
 * resumption, and the same TLS version and cipher as Spindle's.
 * Returns { "<name> https": checks }.
 */
export async function checkTlsServers(ctx, scenarioIds) {
  const ids = scenarioIds.filter((sid) => TLS_SCENARIOS[sid]);
  const names = [...new Set(ids.flatMap((sid) => TLS_SCENARIOS[sid].servers(ctx)))];
  const results = {};
  const negotiated = {};
  for (const name of names) {
    const checks = [];
    const check = (what, isOk, detail) => checks.push({ what, isOk: Boolean(isOk), detail });
    results[`${name} https`] = checks;
    let server;
    try {
      server = await startServer(ctx, name, { threads: ctx.options.threads, scenario: 'smoke', isTls: true });
      let r = await request({ port: server.port, path: '/', tls: server.tls });
      negotiated[name] = r.tls ? `${r.tls.protocol} ${r.tls.cipher}` : null;
      check('GET / over HTTPS', r.status === 200 && r.body.equals(HELLO_PAGE) && r.headers['content-type'] === HTML,
        `${r.status ?? r.error} ${r.headers?.['content-type']} ${r.body?.length} B ${negotiated[name]}`);
      if (ids.some((sid) => sid === 'S15' && TLS_SCENARIOS[sid].servers(ctx).includes(name))) {
        r = await request({ port: server.port, path: '/static/1m.bin', tls: server.tls });
        check('GET /static/1m.bin over HTTPS', r.status === 200 && r.body.equals(fs.readFileSync(path.join(ctx.staticDir, '1m.bin'))),
          `${r.status ?? r.error} ${r.body?.length} B`);
      }
      const resumption = await probeResumption(server.port, server.tls.ca);
      check('resumes a TLS session', resumption.isResumed, resumption.error ?? `resumed: ${resumption.isResumed}`);
    } catch (err) {
      check('start over HTTPS', false, err.message);
    } finally {
      if (server) await stopServer(server);
    }
  }
  for (const name of names.filter((n) => n !== 'spindle' && negotiated[n] !== undefined)) {
    results[`${name} https`].push({
      what: 'same TLS version and cipher as spindle', isOk: negotiated[name] === negotiated.spindle,
      detail: `${negotiated[name]} vs ${negotiated.spindle}`,
    });
  }
  return results;
}
