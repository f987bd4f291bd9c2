// The `spindle` command: flags, their errors (one line, exit 2), a port in
// use (exit 1), PORT from the environment, and each flag reaching the server.
// Signals are in shutdown.test.ts.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { test } from 'node:test';
import { DEFAULTS } from '../../src/config.js';
import { HELLO_PAGE } from '../../src/demo/pages.js';
import { PACKAGE_JSON_PATH, assertResponse, connect, runCli, startCli } from '../helpers.js';

const VERSION = (JSON.parse(readFileSync(PACKAGE_JSON_PATH, 'utf8')) as { version: string }).version;

test('--help prints the usage with every flag and exits 0', async () => {
  for (const flag of ['--help', '-h']) {
    const result = await runCli([flag]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^Usage: spindle \[options\]/);
    for (const option of ['--port', '--host', '--max-body', '--header-timeout', '--body-timeout', '--keepalive-timeout', '--shutdown-timeout', '--max-connections', '--help', '--version']) {
      assert.ok(result.stdout.includes(option), `usage mentions ${option}`);
    }
    assert.equal(result.stderr, '');
  }
});

test("--version prints package.json's version and exits 0", async () => {
  for (const flag of ['--version', '-v']) {
    const result = await runCli([flag]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, `${VERSION}\n`);
  }
});

/** A usage error: exit 2, nothing on stdout, one line on stderr naming the culprit. */
async function assertUsageError(args: string[], culprit: string, env?: Record<string, string>): Promise<void> {
  const result = await runCli(args, { env });
  assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
  assert.equal(result.stdout, '');
  assert.equal(result.stderr.split('\n').length, 2, `one line ending in a newline: ${JSON.stringify(result.stderr)}`);
  assert.ok(result.stderr.startsWith('spindle: '), result.stderr);
  assert.ok(result.stderr.includes(culprit), `${JSON.stringify(result.stderr)} names ${culprit}`);
}

test('exits 2 with a one-line message for an unknown flag', async () => {
  await assertUsageError(['--nope'], '--nope');
});

test('exits 2 with a one-line message naming the flag for a bad value', async () => {
  await assertUsageError(['--port', 'abc'], '--port');
  await assertUsageError(['--port', '70000'], '--port');
  await assertUsageError(['--max-body', 'xyz'], '--max-body');
  await assertUsageError(['--header-timeout', 'soon'], '--header-timeout');
  await assertUsageError(['--body-timeout', '-5'], '--body-timeout');
  await assertUsageError(['--keepalive-timeout', '0'], '--keepalive-timeout');
  await assertUsageError(['--shutdown-timeout', '10 years'], '--shutdown-timeout');
  await assertUsageError(['--max-connections', '0'], '--max-connections');
  await assertUsageError(['--max-connections', 'lots'], '--max-connections');
});

test('exits 2 for a flag without its value and for a stray argument', async () => {
  await assertUsageError(['--port'], '--port');
  await assertUsageError(['extra'], 'extra');
});

test('exits 2 naming PORT when the environment has a bad PORT', async () => {
  await assertUsageError([], 'PORT', { PORT: 'eighty' });
});

test('exits 1 with a clear message when the port is in use', async (t) => {
  const blocker = net.createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  t.after(() => blocker.close());
  const port = (blocker.address() as net.AddressInfo).port;
  const result = await runCli(['--port', String(port)]);
  assert.equal(result.code, 1, result.stderr);
  assert.equal(result.stderr, `spindle: cannot listen on 127.0.0.1:${port}: the port is already in use\n`);
  assert.equal(result.stdout, '');
});

test('listens on the port given by PORT, and --port overrides it', async (t) => {
  // PORT=0: a port of the kernel's choosing, read back from the listening line.
  // Had PORT been ignored, the CLI would be on the default port.
  const fromEnv = await startCli(t, [], { env: { PORT: '0' } });
  assert.match(fromEnv.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  assert.notEqual(fromEnv.port, DEFAULTS.port, 'PORT is honoured');
  assert.equal(fromEnv.stdout(), `Spindle listening on ${fromEnv.url}\n`);
  const response = await fetch(fromEnv.url);
  assert.equal(response.status, 200);
  assert.equal(await response.text(), HELLO_PAGE);

  // PORT names the port the first CLI still holds: only the flag lets this one start.
  const fromFlag = await startCli(t, ['--port', '0'], { env: { PORT: String(fromEnv.port) } });
  assert.notEqual(fromFlag.port, fromEnv.port, 'the flag wins over the environment');
});

test("node flags a worker thread refuses (V8's) stay with the process, and the threads start without them", async (t) => {
  // --stack-trace-limit and --max-semi-space-size are per process: new Worker() throws on them.
  const cli = await startCli(t, ['--port', '0', '--threads', '1'], { nodeFlags: ['--stack-trace-limit=50', '--max-semi-space-size=1', '--no-warnings'] });
  const response = await fetch(`${cli.url}/cpu?ms=1`);
  assert.equal(response.status, 200, 'a job ran on a worker thread');
  assert.equal(cli.stderr(), '');
});

test('--max-body reaches the server: a larger Content-Length gets 413', async (t) => {
  const cli = await startCli(t, ['--port', '0', '--max-body', '1k']);
  const client = await connect(t, cli.port);
  await client.write('POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1024\r\n\r\n' + 'a'.repeat(1024));
  assertResponse(await client.readResponse(), 200);
  await client.write('POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1025\r\n\r\n');
  assertResponse(await client.readResponse(), 413, { isClosing: true });
});

test('--header-timeout reaches the server: a stalled head gets 408', async (t) => {
  // A second: the head's first bytes must reach the child before its timer runs out.
  const cli = await startCli(t, ['--port', '0', '--header-timeout', '1s']);
  const client = await connect(t, cli.port);
  await client.write('GET / HTTP/1.1\r\n');
  assertResponse(await client.readResponse(), 408, { isClosing: true });
});

test('--body-timeout reaches the server: a stalled body gets 408', async (t) => {
  const cli = await startCli(t, ['--port', '0', '--body-timeout', '200']);
  const client = await connect(t, cli.port);
  await client.write('POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nab');
  assertResponse(await client.readResponse(), 408, { isClosing: true });
});

test('--keepalive-timeout reaches the server: an idle connection is closed', async (t) => {
  const cli = await startCli(t, ['--port', '0', '--keepalive-timeout', '200ms']);
  const client = await connect(t, cli.port);
  await client.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
  assertResponse(await client.readResponse(), 200, { isClosing: false });
  assert.ok(await client.waitForClose());
});

test('--max-connections reaches the server: /healthz reports the cap', async (t) => {
  const cli = await startCli(t, ['--port', '0', '--max-connections', '2']);
  const health = (await (await fetch(`${cli.url}/healthz`)).json()) as { maxConnections: number };
  assert.equal(health.maxConnections, 2);
});

test('--host chooses the address to listen on', async (t) => {
  const cli = await startCli(t, ['--port', '0', '--host', '127.0.0.1']);
  assert.match(cli.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  assert.equal((await fetch(`${cli.url}/healthz`)).status, 200);
});
