// Overload: more clients than file descriptors. The CLI runs under a low
// `ulimit -n` (the test process itself may open more: it is the flood), and
// the server must keep answering the clients it has, stay within bounded
// memory and its connection cap, stop listening rather than spin when the
// process runs out of descriptors, and serve new clients once it is over.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import net from 'node:net';
import { test } from 'node:test';
import { readOpenFileLimit } from '../../src/open-file-limit.js';
import { PATIENCE_MS, assertResponse, connect, delay, header, parseResponses, startCli } from '../helpers.js';
import { fixturePath, getHealth } from '../pool-helpers.js';

const GET = (path: string): string => `GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`;

type Outcome = 'answered' | 'closed' | 'refused' | 'no answer';

/** A new connection asks for /healthz once: answered, closed without an answer, or refused. */
function tryConnection(port: number): Promise<Outcome> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let received = '';
    const timer = setTimeout(() => {
      socket.destroy();
      resolve('no answer');
    }, PATIENCE_MS);
    const settle = (outcome: Outcome): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(outcome);
    };
    socket.on('connect', () => socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'));
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('latin1');
      if (received.startsWith('HTTP/1.1 200 ')) settle('answered');
    });
    socket.on('error', (err: NodeJS.ErrnoException) => settle(err.code === 'ECONNREFUSED' ? 'refused' : 'closed'));
    socket.on('close', () => settle('closed'));
  });
}

/** Tries new connections until one has the outcome wanted; fails the test after the timeout. */
async function waitForOutcome(port: number, wanted: Outcome, timeoutMs: number): Promise<Outcome[]> {
  const seen: Outcome[] = [];
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const outcome = await tryConnection(port);
    seen.push(outcome);
    if (outcome === wanted) return seen;
    if (Date.now() > deadline) assert.fail(`no new connection was ${wanted} within ${timeoutMs} ms; outcomes: ${seen.join(', ')}`);
    await delay(50);
  }
}

test('stops listening while the process is out of file descriptors, answers its clients, and listens again on the same port', { timeout: 60_000 }, async (t) => {
  const cli = await startCli(t, ['--port', '0', '--threads', '1', '--app', fixturePath('descriptor-hog-app.js')], { openFileLimit: 256 });
  const established = await connect(t, cli.port);
  await established.write(GET('/hog'));
  const hog = await established.readResponse();
  assertResponse(hog, 200, { isClosing: false });
  assert.match(hog.body.toString(), /^holding \d+, then EMFILE\n$/);

  // Until the listener notices, libuv accepts and closes; then it refuses.
  const whileOut = await waitForOutcome(cli.port, 'refused', PATIENCE_MS * 4);
  assert.ok(!whileOut.includes('answered'), `no new connection can be served without a descriptor: ${whileOut.join(', ')}`);
  await established.write(GET('/healthz') + GET('/'));
  const [health, page] = await established.readResponses(2);
  assertResponse(health, 200, { isClosing: false });
  assertResponse(page, 200, { isClosing: false });

  await established.write(GET('/release'));
  assert.equal((await established.readResponse()).body.toString(), 'released\n');
  await waitForOutcome(cli.port, 'answered', PATIENCE_MS * 4);
  const where = `127.0.0.1:${cli.port}`;
  const lines = cli.stderr().split('\n');
  assert.equal(lines.filter((line) => line === `spindle: out of file descriptors (EMFILE): not accepting connections on ${where} until one is free`).length, 1, cli.stderr());
  assert.equal(lines.filter((line) => line === `spindle: accepting connections on ${where} again`).length, 1, cli.stderr());
});

test('a file too large to cache is opened before its head is sent: out of descriptors it is a 503, never a 200 cut short', { timeout: 60_000 }, async (t) => {
  const root = mkdtempSync(path.join(tmpdir(), 'spindle-emfile-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const size = 3 * 1024 * 1024; // over the file cache's limit: streamed from the file
  writeFileSync(path.join(root, 'big.bin'), Buffer.alloc(size, 0x61));
  const cli = await startCli(t, ['--port', '0', '--threads', '1', '--root', root, '--app', fixturePath('descriptor-hog-app.js')], { openFileLimit: 256 });
  const client = await connect(t, cli.port);
  await client.write(GET('/hog'));
  assert.match((await client.readResponse()).body.toString(), /then EMFILE/);

  await client.write(GET('/big.bin'));
  const refused = await client.readResponse();
  assertResponse(refused, 503, { isClosing: false });
  assert.equal(header(refused, 'retry-after'), '1');

  await client.write(GET('/release'));
  await client.readResponse();
  await client.write(GET('/big.bin'));
  const served = await client.readResponse();
  assertResponse(served, 200, { isClosing: false });
  assert.equal(served.body.byteLength, size);
});

/**
 * A keep-alive client asking for /healthz every 20 ms. When the server
 * closes its connection between requests (to make room), it asks again on a
 * new one, as RFC 9112 §9.3.1 allows for an idempotent request.
 */
class KeepAliveClient {
  /** when each answer came, and the open connections it reported */
  readonly answers: Array<{ atMs: number; connections: number; maxConnections: number }> = [];
  reconnects = 0;
  #port: number;
  #socket: net.Socket | null = null;
  #isStopped = false;

  constructor(port: number) {
    this.#port = port;
    this.#open();
  }

  answersSince(ms: number): number {
    return this.answers.filter((answer) => answer.atMs >= ms).length;
  }

  stop(): void {
    this.#isStopped = true;
    this.#socket?.destroy();
  }

  #open(): void {
    const socket = net.connect(this.#port, '127.0.0.1');
    this.#socket = socket;
    let buffer = Buffer.alloc(0);
    socket.on('connect', () => socket.write(GET('/healthz')));
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      const { responses, consumed } = parseResponses(buffer);
      buffer = buffer.subarray(consumed);
      for (const response of responses) {
        assert.equal(response.status, 200);
        const health = JSON.parse(response.body.toString()) as { connections: number; maxConnections: number };
        this.answers.push({ atMs: Date.now(), connections: health.connections, maxConnections: health.maxConnections });
        setTimeout(() => {
          if (!this.#isStopped && !socket.destroyed) socket.write(GET('/healthz'));
        }, 20);
      }
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      if (this.#isStopped) return;
      this.reconnects++;
      setTimeout(() => this.#open(), 20);
    });
  }
}

function readRssKiB(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
  return m === null ? NaN : Number(m[1]);
}

test('with ulimit -n 1024 and 5,000 clients connecting at once, established clients keep being answered, memory stays bounded, and new clients are served after', { timeout: 180_000 }, async (t) => {
  const ownLimit = readOpenFileLimit() ?? 0;
  const floodSize = Math.min(5000, ownLimit - 1000);
  if (floodSize < 2000) {
    t.skip(`the test process may open only ${ownLimit} files: too few for the flood`);
    return;
  }
  const cli = await startCli(t, ['--port', '0'], { openFileLimit: 1024 });
  const pid = cli.child.pid!;
  const { maxConnections } = await getHealth(cli.url);
  assert.equal(maxConnections, 857, 'the default cap under ulimit -n 1024: 90 % of 1024, less 64');

  const established = Array.from({ length: 8 }, () => new KeepAliveClient(cli.port));
  t.after(() => established.forEach((client) => client.stop()));
  while (!established.every((client) => client.answers.length > 0)) await delay(20);
  const rssBeforeKiB = readRssKiB(pid);
  let rssPeakKiB = rssBeforeKiB;
  const sampler = setInterval(() => (rssPeakKiB = Math.max(rssPeakKiB, readRssKiB(pid))), 100);
  t.after(() => clearInterval(sampler));

  // The flood: every client connects at once, asks once, and holds on.
  const floodStartMs = Date.now();
  const outcomes = { answered: 0, closed: 0 };
  const flood: net.Socket[] = [];
  for (let i = 0; i < floodSize; i++) {
    const socket = net.connect(cli.port, '127.0.0.1');
    let outcome: keyof typeof outcomes | null = null;
    const settle = (what: keyof typeof outcomes): void => {
      if (outcome === null) outcomes[(outcome = what)]++;
    };
    socket.on('connect', () => socket.write(GET('/healthz')));
    socket.on('data', () => settle('answered'));
    socket.on('error', () => {});
    socket.on('close', () => settle('closed'));
    flood.push(socket);
  }
  t.after(() => flood.forEach((socket) => socket.destroy()));

  // Every flood client gets its outcome, and meanwhile every established client gets answers.
  const deadline = Date.now() + 120_000;
  const isDone = (): boolean => outcomes.answered + outcomes.closed === floodSize && established.every((client) => client.answersSince(floodStartMs) >= 5);
  while (!isDone() && Date.now() < deadline) await delay(100);
  const counts = established.map((client) => client.answersSince(floodStartMs));
  t.diagnostic(`flood of ${floodSize}: ${outcomes.answered} answered, ${outcomes.closed} closed; established answers ${counts.join(' ')}, reconnects ${established.map((c) => c.reconnects).join(' ')}; RSS ${rssBeforeKiB} KiB before, ${rssPeakKiB} KiB at the peak`);
  assert.equal(outcomes.answered + outcomes.closed, floodSize, 'every flood client was answered or closed, none left hanging');
  assert.ok(counts.every((count) => count >= 5), `every established client kept being answered during the flood: ${counts.join(' ')}`);
  assert.ok(outcomes.answered > 0, 'flood clients were served as far as the cap allows');
  const mostConnections = Math.max(...established.flatMap((client) => client.answers.map((answer) => answer.connections)));
  assert.ok(mostConnections <= maxConnections, `never more than ${maxConnections} connections open (saw ${mostConnections})`);
  assert.ok(rssPeakKiB - rssBeforeKiB < 200 * 1024, `memory stays bounded: ${rssBeforeKiB} KiB before, ${rssPeakKiB} KiB at the peak`);

  // Once the flood is over, new clients are served.
  for (const socket of flood) socket.destroy();
  await waitForOutcome(cli.port, 'answered', PATIENCE_MS * 4);
});
