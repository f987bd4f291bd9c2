// Large files stream with backpressure: the server holds a socket's buffer
// and one read chunk per download, never the file, whatever its size and
// however slowly the client reads; and an abandoned download closes its file.
// The server runs as the real CLI in a child process, so its memory (VmRSS)
// and open files (/proc/PID/fd) are its own, read from /proc.
//
//   tmp/secret.txt          beside the root, as in every static test
//   tmp/root/huge.bin       1 GiB, sparse: no disk used, reads return zeros
//   tmp/root/large.bin      8 MiB, sparse: above the 64 KiB in-memory limit, so streamed
//   tmp/root/text.txt       4 MiB of random base64 text: compressed on the fly with --compress
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { closeSync, ftruncateSync, openSync, unlinkSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { after, test } from 'node:test';
import { assertResponse, connect, delay, makeTempDir, startCli, startServer } from '../helpers.js';
import {
  MiB, countOpenFds, createFixture, download, readIoReadBytes, readRssBytes, removeFixture, request, runBounded, sampleRss,
} from '../static-helpers.js';

const fixture = createFixture('streaming');
after(() => removeFixture(fixture));

const HUGE_BYTES = 1024 * MiB;
const LARGE_BYTES = 8 * MiB;
/**
 * A bound that only says "did not hang": these tests take 4-8 s on an idle
 * machine and up to 20 s with both cores busy.
 */
const HANG_MS = 120_000;
/** how far above its idle value the server's RSS may go while streaming */
const RSS_HEADROOM_BYTES = 64 * MiB;

function createSparseFile(name: string, size: number): void {
  const fd = openSync(path.join(fixture.root, name), 'w');
  try {
    ftruncateSync(fd, size);
  } finally {
    closeSync(fd);
  }
}
createSparseFile('huge.bin', HUGE_BYTES);
createSparseFile('large.bin', LARGE_BYTES);
writeFileSync(path.join(fixture.root, 'text.txt'), randomBytes(3 * MiB).toString('base64'));

/** Starts the CLI on the fixture root and warms it up: the code paths are loaded before any baseline is taken. */
async function startWarmServer(t: Parameters<typeof startCli>[0], flags: string[] = []): Promise<{ port: number; pid: number }> {
  const cli = await startCli(t, [fixture.root, '--port', '0', ...flags]);
  const pid = cli.child.pid!;
  const warm = await download(cli.port, '/large.bin');
  assert.equal(warm.bodyBytes, LARGE_BYTES);
  const head = await download(cli.port, '/huge.bin', { headers: { Range: 'bytes=0-1048575' } });
  assert.equal(head.status, 206);
  await delay(200);
  return { port: cli.port, pid };
}

test('a 1 GiB file downloads whole while the server RSS stays within 64 MiB of idle', { timeout: HANG_MS + 30_000 }, async (t) => {
  const { port, pid } = await startWarmServer(t);
  const idleRss = readRssBytes(pid);
  const sampler = sampleRss(pid);
  const result = await download(port, '/huge.bin', { timeoutMs: HANG_MS });
  const peakRss = sampler.stop();
  t.diagnostic(`RSS idle ${(idleRss / MiB).toFixed(1)} MiB, peak ${(peakRss / MiB).toFixed(1)} MiB`);
  assert.equal(result.status, 200);
  assert.equal(result.contentLength, HUGE_BYTES);
  assert.equal(result.bodyBytes, HUGE_BYTES, 'every byte arrived, none extra');
  assert.ok(
    peakRss - idleRss < RSS_HEADROOM_BYTES,
    `RSS grew by ${((peakRss - idleRss) / MiB).toFixed(1)} MiB (idle ${(idleRss / MiB).toFixed(1)} MiB, peak ${(peakRss / MiB).toFixed(1)} MiB)`,
  );
});

interface PauseReading {
  /** bytes the server read (disk and socket) while its client read nothing */
  readWhilePaused: number;
  rssGrowthWhilePaused: number;
}

test('a client that stops reading mid-download stalls the server: no reads from disk, no RSS growth', { timeout: HANG_MS + 30_000 }, async (t) => {
  const { port, pid } = await startWarmServer(t);
  const idleRss = readRssBytes(pid);
  const sampler = sampleRss(pid);
  const PAUSE_AT_BYTES = 64 * MiB;
  const PAUSE_MS = 2000;
  let pause: Promise<PauseReading> | undefined;
  const result = await download(port, '/huge.bin', {
    timeoutMs: HANG_MS,
    onProgress(bodyBytes, socket) {
      if (pause !== undefined || bodyBytes < PAUSE_AT_BYTES) return;
      socket.pause();
      pause = (async () => {
        // The kernel's socket buffers fill first; after that the server must wait for 'drain'.
        await waitUntilReadsStop(pid);
        const readBefore = readIoReadBytes(pid);
        const rssBefore = readRssBytes(pid);
        await delay(PAUSE_MS);
        const measured = { readWhilePaused: readIoReadBytes(pid) - readBefore, rssGrowthWhilePaused: readRssBytes(pid) - rssBefore };
        socket.resume();
        return measured;
      })();
    },
  });
  const peakRss = sampler.stop();
  assert.ok(pause !== undefined, 'the download was paused');
  const { readWhilePaused, rssGrowthWhilePaused } = await pause;
  t.diagnostic(`while paused: read ${readWhilePaused} bytes, RSS ${rssGrowthWhilePaused >= 0 ? '+' : ''}${(rssGrowthWhilePaused / MiB).toFixed(1)} MiB; RSS idle ${(idleRss / MiB).toFixed(1)} MiB, peak ${(peakRss / MiB).toFixed(1)} MiB`);
  assert.ok(readWhilePaused < 2 * MiB, `the server read ${(readWhilePaused / MiB).toFixed(1)} MiB while its client read nothing`);
  assert.ok(rssGrowthWhilePaused < 16 * MiB, `RSS grew by ${(rssGrowthWhilePaused / MiB).toFixed(1)} MiB while the client read nothing`);
  assert.ok(peakRss - idleRss < RSS_HEADROOM_BYTES, `RSS grew by ${((peakRss - idleRss) / MiB).toFixed(1)} MiB over the download`);
  assert.equal(result.bodyBytes, HUGE_BYTES, 'after the pause the download completes, every byte once');
});

/**
 * Polls until the process's read count has not moved for half a second (for
 * up to 20 s): its writes are then blocked on the paused client. How long
 * the socket buffers take to fill depends on how busy the machine is.
 */
async function waitUntilReadsStop(pid: number): Promise<void> {
  const deadline = Date.now() + 20_000;
  let last = readIoReadBytes(pid);
  let stillSince = Date.now();
  while (Date.now() - stillSince < 500 && Date.now() < deadline) {
    await delay(50);
    const read = readIoReadBytes(pid);
    if (read !== last) {
      last = read;
      stillSince = Date.now();
    }
  }
}

/** Polls until the process has at most `limit` open fds, for up to 20 s; returns the last count. */
async function waitForFdsAtMost(pid: number, limit: number): Promise<number> {
  const deadline = Date.now() + 20_000;
  let fds = countOpenFds(pid);
  while (fds > limit && Date.now() < deadline) {
    await delay(100);
    fds = countOpenFds(pid);
  }
  return fds;
}

test('1,000 downloads aborted midway leave no file descriptor open', { timeout: HANG_MS }, async (t) => {
  const { port, pid } = await startWarmServer(t);
  const idleFds = countOpenFds(pid);
  let peakFds = idleFds;
  const fdSampler = setInterval(() => {
    peakFds = Math.max(peakFds, countOpenFds(pid));
  }, 20);
  t.after(() => clearInterval(fdSampler));
  // Abort at different points: in the head's packet, after the first chunks, well into the file.
  const ABORT_AFTER_BYTES = [1, 64 * 1024, MiB];
  let aborted = 0;
  await runBounded(1000, 50, async (i) => {
    const result = await download(port, '/large.bin', { abortAfterBytes: ABORT_AFTER_BYTES[i % ABORT_AFTER_BYTES.length] });
    assert.equal(result.status, 200);
    if (result.bodyBytes < LARGE_BYTES) aborted++;
  });
  clearInterval(fdSampler);
  assert.ok(aborted >= 900, `most downloads were cut short (${aborted} of 1000)`);
  assert.ok(peakFds >= idleFds + 10, `sockets and files were open during the run (idle ${idleFds}, peak ${peakFds})`);
  const fds = await waitForFdsAtMost(pid, idleFds + 5);
  t.diagnostic(`fds idle ${idleFds}, peak ${peakFds}, after ${fds}; ${aborted} downloads aborted`);
  assert.ok(fds <= idleFds + 5, `open fds went back to ${fds}, idle was ${idleFds} (peak ${peakFds})`);
  // And the server still serves, whole.
  const whole = await download(port, '/large.bin');
  assert.equal(whole.bodyBytes, LARGE_BYTES);
  const health = await request(t, port, '/healthz');
  assert.equal(health.status, 200);
});

test('pipelined downloads of a large file wait their turn holding no file open, and leave none open when the client leaves', { timeout: HANG_MS }, async (t) => {
  const { port, pid } = await startWarmServer(t);
  const idleFds = countOpenFds(pid);
  const PIPELINED = 16;
  let peakFds = idleFds;
  for (let round = 0; round < 5; round++) {
    const socket = net.connect(port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    // The first response streams to a client that does not read; the rest wait behind it.
    socket.write('GET /large.bin HTTP/1.1\r\nHost: x\r\n\r\n'.repeat(PIPELINED));
    await new Promise<void>((resolve) => socket.once('data', () => resolve()));
    socket.pause();
    await delay(200);
    peakFds = Math.max(peakFds, countOpenFds(pid));
    socket.destroy();
  }
  // The socket and the one file streaming: not a file per waiting response.
  assert.ok(peakFds <= idleFds + 3, `at most the socket and one file were open per connection (idle ${idleFds}, peak ${peakFds})`);
  await delay(500);
  const fds = countOpenFds(pid);
  assert.ok(fds <= idleFds + 1, `open fds went back to ${fds}, idle was ${idleFds}`);
  const whole = await download(port, '/large.bin');
  assert.equal(whole.bodyBytes, LARGE_BYTES);
});

test('a large file removed after its stat was cached is 404 when its turn comes, not a 200 cut short; the connection stays usable', async (t) => {
  const root = makeTempDir(t, 'vanished');
  const file = path.join(root, 'gone.bin');
  writeFileSync(file, Buffer.alloc(2 * MiB, 0x62)); // over the file cache's 1 MiB: opened, not kept
  const { port } = await startServer(t, { static: { root, cacheValidityMs: 60_000 } });
  const client = await connect(t, port);
  await client.write('HEAD /gone.bin HTTP/1.1\r\nHost: x\r\n\r\n'); // its stat is cached now
  assertResponse(await client.readResponse('HEAD'), 200);
  unlinkSync(file);
  await client.write('GET /gone.bin HTTP/1.1\r\nHost: x\r\n\r\nGET /gone.bin HTTP/1.1\r\nHost: x\r\n\r\n');
  const [first, second] = await client.readResponses(2);
  assertResponse(first, 404, { isClosing: false });
  assertResponse(second, 404, { isClosing: false });
});

test('200 downloads compressed on the fly (--compress) and aborted midway leave no file descriptor open', { timeout: HANG_MS }, async (t) => {
  const { port, pid } = await startWarmServer(t, ['--compress']);
  const complete = await download(port, '/text.txt', { headers: { 'Accept-Encoding': 'gzip' } });
  assert.equal(complete.status, 200);
  assert.equal(complete.contentLength, -1, 'compressed on the fly: chunked, no Content-Length');
  const idleFds = countOpenFds(pid);
  let aborted = 0;
  await runBounded(200, 50, async (i) => {
    const result = await download(port, '/text.txt', {
      headers: { 'Accept-Encoding': i % 2 === 0 ? 'gzip' : 'br' },
      abortAfterBytes: 16 * 1024,
    });
    assert.equal(result.status, 200);
    aborted++;
  });
  const fds = await waitForFdsAtMost(pid, idleFds + 5);
  t.diagnostic(`fds idle ${idleFds}, after ${fds}; ${aborted} downloads aborted`);
  assert.ok(fds <= idleFds + 5, `open fds went back to ${fds}, idle was ${idleFds}`);
});
