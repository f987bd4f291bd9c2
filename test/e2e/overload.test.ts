// Overload: more clients than file descriptors. The CLI runs under a low
// `ulimit -n`, and the server must keep answering the clients it has, stop
// listening rather than spin when the process runs out of descriptors, and
// serve new clients once it is over.
import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import { PATIENCE_MS, assertResponse, connect, delay, startCli } from '../helpers.js';
import { fixturePath } from '../pool-helpers.js';

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
