// The access log from the command line: a line per request on stdout by
// default, SIGUSR1 reopening a file that was moved away (logrotate), a
// destination nobody reads that neither stalls the server nor grows it
// (lines are dropped and counted), and the flags' errors.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, renameSync, statSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { assertResponse, CLI_PATH, connect, makeTempDir, PATIENCE_MS, runCli, startCli, waitUntil } from '../helpers.js';

test('by default each request is a combined line on stdout', async (t) => {
  const cli = await startCli(t, ['--port', '0', '--threads', '1']);
  const client = await connect(t, cli.port);
  await client.write('GET /healthz HTTP/1.1\r\nHost: a\r\nUser-Agent: cli-test\r\n\r\n');
  assertResponse(await client.readResponse(), 200);
  await waitUntil(() => cli.stdout().includes('"GET /healthz HTTP/1.1" 200'), 'the line on stdout');
  assert.match(cli.stdout(), /\n127\.0\.0\.1 - - \[[^\]]+\] "GET \/healthz HTTP\/1\.1" 200 \d+ "-" "cli-test"\n/);
});

test('--access-log off prints none; bad values are usage errors; an unwritable file is exit 1', async (t) => {
  const cli = await startCli(t, ['--port', '0', '--threads', '1', '--access-log', 'off']);
  const client = await connect(t, cli.port);
  await client.write('GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n');
  assertResponse(await client.readResponse(), 200);
  assert.doesNotMatch(cli.stdout(), /healthz/);
  const format = await runCli(['--log-format', 'xml']);
  assert.equal(format.code, 2);
  assert.match(format.stderr, /--log-format: 'xml'/);
  const unwritable = await runCli(['--port', '0', '--access-log', '/nonexistent-dir/access.log']);
  assert.equal(unwritable.code, 1, unwritable.stderr);
  assert.match(unwritable.stderr, /^spindle: cannot open the access log \/nonexistent-dir\/access\.log: ENOENT\n$/);
});

test('SIGUSR1 reopens the log file after it was moved away; the file is created 0640', async (t) => {
  const dir = makeTempDir(t, 'rotate');
  const file = path.join(dir, 'access.log');
  const cli = await startCli(t, ['--port', '0', '--threads', '1', '--access-log', file, '--log-format', 'json']);
  assert.equal(statSync(file).mode & 0o777, 0o640 & ~process.umask());
  const client = await connect(t, cli.port);
  await client.write('GET /before HTTP/1.1\r\nHost: a\r\n\r\n');
  await client.readResponse();
  await waitUntil(() => readFileSync(file, 'utf8').includes('/before'), 'the first line');
  renameSync(file, `${file}.1`);
  cli.child.kill('SIGUSR1');
  // The reopen is asynchronous: send until a line lands in the new file.
  let n = 0;
  await waitUntil(() => {
    void client.write(`GET /after-${++n} HTTP/1.1\r\nHost: a\r\n\r\n`);
    try {
      return readFileSync(file, 'utf8').includes('/after-');
    } catch {
      return false;
    }
  }, 'a line in the reopened file');
  assert.doesNotMatch(readFileSync(file, 'utf8'), /\/before/);
  assert.match(readFileSync(`${file}.1`, 'utf8'), /\/before/);
  assert.equal(cli.child.exitCode, null, 'SIGUSR1 did not stop it (nor start the inspector)');
  assert.doesNotMatch(cli.stderr(), /Debugger listening/);
});

test('a stdout nobody reads stalls nothing: requests go on, lines past the buffer are dropped and counted', async (t) => {
  const child = spawn(process.execPath, [CLI_PATH, '--port', '0', '--threads', '1'], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.after(() => child.kill('SIGKILL'));
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`no listening line: ${stderr}`)), PATIENCE_MS * 2);
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(out);
      if (m === null) return;
      clearTimeout(timer);
      child.stdout.pause(); // from now on nobody reads: the pipe fills
      resolve(Number(m[1]));
    });
  });
  // About 3 MB of log lines: the pipe (64 KiB) and the buffer (1 MiB) cannot hold them.
  const client = await connect(t, port);
  const total = 24_000;
  const batch = 400;
  const agent = 'a'.repeat(40);
  for (let sent = 0; sent < total; sent += batch) {
    await client.write(`GET /healthz?${sent} HTTP/1.1\r\nHost: a\r\nUser-Agent: ${agent}\r\n\r\n`.repeat(batch));
    await client.readResponses(batch, [], PATIENCE_MS * 2);
  }
  // Every request was answered although nothing reads the log.
  assert.equal((client.text.match(/HTTP\/1\.1 200 OK/g) ?? []).length, total);
  child.stdout.resume();
  child.stdout.on('data', () => {});
  // Once the destination drains, the count is reported.
  await client.write('GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n');
  await waitUntil(() => /access log: \d+ lines dropped, the destination was too slow/.test(stderr), 'the drop count is logged', PATIENCE_MS * 2);
});
