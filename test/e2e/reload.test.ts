// Reloading the application without a restart (SIGHUP, server.reloadApp()):
// a new generation imports the app afresh, dependencies included; jobs in
// flight finish on the old one; an app that fails to load leaves the old one
// serving; a job that outlives the old generation's grace gets 503; no
// connection is closed; SIGHUP during shutdown is ignored.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { assertResponse, connect, delay, makeTempDir, startCli, startServer, waitUntil } from '../helpers.js';

/** An app module whose answers come from a dependency, so a reload must load both afresh. */
function writeApp(dir: string, version: string): void {
  writeFileSync(path.join(dir, 'version.mjs'), `export const VERSION = ${JSON.stringify(version)};\n`);
  writeFileSync(path.join(dir, 'app.mjs'), `
    import { VERSION } from './version.mjs';
    export default {
      async fetch(request) {
        const url = new URL(request.url);
        if (url.pathname === '/ticks') {
          let n = 0;
          const stream = new ReadableStream({
            async pull(controller) {
              await new Promise((resolve) => setTimeout(resolve, 60));
              controller.enqueue(new TextEncoder().encode(VERSION + ':' + n + '\\n'));
              if (++n === 8) controller.close();
            },
          });
          return new Response(stream);
        }
        const ms = Number(url.searchParams.get('ms') ?? 0);
        if (ms > 0) await new Promise((resolve) => setTimeout(resolve, ms));
        return new Response(VERSION);
      },
    };
  `);
}

function appDir(t: TestContext, version: string): string {
  const dir = makeTempDir(t, 'reload');
  writeApp(dir, version);
  return dir;
}

async function get(t: TestContext, port: number, target = '/'): Promise<string> {
  const client = await connect(t, port);
  await client.write(`GET ${target} HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n`);
  const response = await client.readResponse();
  assertResponse(response, 200);
  return response.body.toString();
}

test('a reload serves the new code and its dependencies; a connection open before keeps working', async (t) => {
  const dir = appDir(t, 'v1');
  const { server, port, url } = await startServer(t, { app: path.join(dir, 'app.mjs'), threads: 2 });
  const kept = await connect(t, port);
  await kept.write('GET / HTTP/1.1\r\nHost: a\r\n\r\n');
  assert.equal((await kept.readResponse()).body.toString(), 'v1');
  writeApp(dir, 'v2');
  assert.equal(await server.reloadApp(), true);
  assert.equal(server.generation, 2);
  assert.equal(await get(t, port), 'v2');
  await kept.write('GET / HTTP/1.1\r\nHost: a\r\n\r\n');
  assert.equal((await kept.readResponse()).body.toString(), 'v2', 'the same connection, the new generation');
  const health = (await (await fetch(`${url}/healthz`)).json()) as { generation: number; ready: number };
  assert.equal(health.generation, 2);
  assert.equal(health.ready, 2);
});

test('a job running at the reload finishes on the old generation', async (t) => {
  const dir = appDir(t, 'old');
  const { server, port } = await startServer(t, { app: path.join(dir, 'app.mjs'), threads: 1 });
  const slow = get(t, port, '/?ms=400');
  await delay(100);
  writeApp(dir, 'new');
  assert.equal(await server.reloadApp(), true);
  assert.equal(await get(t, port), 'new');
  assert.equal(await slow, 'old');
  await waitUntil(() => server.generations!.retiringCount === 0, 'the old generation is joined');
});

test('a response streaming at the reload streams to its end from the old generation', async (t) => {
  const dir = appDir(t, 'old');
  const { server, port } = await startServer(t, { app: path.join(dir, 'app.mjs'), threads: 1 });
  const client = await connect(t, port);
  await client.write('GET /ticks HTTP/1.1\r\nHost: a\r\n\r\n');
  await client.waitForText('old:1\n');
  writeApp(dir, 'new');
  assert.equal(await server.reloadApp(), true);
  const response = await client.readResponse();
  assertResponse(response, 200);
  assert.equal(response.body.toString(), Array.from({ length: 8 }, (_, i) => `old:${i}\n`).join(''));
  assert.equal(await get(t, port), 'new');
  await waitUntil(() => server.generations!.retiringCount === 0, 'the old generation is joined once its stream ended');
});

test('an app that throws at import leaves the old generation serving, with one log line', async (t) => {
  const dir = appDir(t, 'good');
  const { server, port, logs } = await startServer(t, { app: path.join(dir, 'app.mjs'), threads: 2 });
  writeFileSync(path.join(dir, 'version.mjs'), 'export const VERSION = (() => { throw new Error("broken at import"); })();\n');
  const before = logs.length;
  assert.equal(await server.reloadApp(), false);
  const lines = logs.slice(before).filter((line) => line.includes('reload failed'));
  assert.equal(lines.length, 1, logs.join('\n'));
  assert.match(lines[0], /^spindle: reload failed, generation 1 keeps serving: .*broken at import/);
  assert.equal(server.generation, 1);
  assert.equal(await get(t, port), 'good');
  assert.equal(server.poolStats!.ready, 2);
});

test('a job that outlives the old generation past the shutdown timeout gets 503', async (t) => {
  const dir = appDir(t, 'v1');
  const { server, port, logs } = await startServer(t, { app: path.join(dir, 'app.mjs'), threads: 1, shutdownTimeoutMs: 300 });
  const client = await connect(t, port);
  await client.write('GET /?ms=3000 HTTP/1.1\r\nHost: a\r\n\r\n');
  await delay(100);
  writeApp(dir, 'v2');
  assert.equal(await server.reloadApp(), true);
  const response = await client.readResponse();
  assertResponse(response, 503);
  assert.ok(logs.some((line) => /a retired generation still had work after 300 ms/.test(line)), logs.join('\n'));
  assert.equal(await get(t, port), 'v2');
});

test('SIGHUP reloads the application from the command line; during shutdown it is ignored', async (t) => {
  const dir = appDir(t, 'cli-v1');
  const cli = await startCli(t, ['--port', '0', '--threads', '1', '--app', path.join(dir, 'app.mjs'), '--access-log', 'off']);
  assert.equal(await get(t, cli.port), 'cli-v1');
  writeApp(dir, 'cli-v2');
  cli.child.kill('SIGHUP');
  await waitUntil(() => cli.stderr().includes('application reloaded'), 'the reload is logged');
  assert.equal(await get(t, cli.port), 'cli-v2');
  // Shutdown waits for a slow request; a SIGHUP meanwhile changes nothing.
  const client = await connect(t, cli.port);
  await client.write('GET /?ms=600 HTTP/1.1\r\nHost: a\r\n\r\n');
  await delay(100);
  cli.child.kill('SIGTERM');
  await delay(50);
  cli.child.kill('SIGHUP');
  const response = await client.readResponse();
  assertResponse(response, 200);
  assert.equal(response.body.toString(), 'cli-v2');
  const result = await cli.exited;
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stderr, /SIGHUP received during shutdown: ignored/);
});
