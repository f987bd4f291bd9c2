// Proof with real parts (issue 11): real nginx load-balances Spindle
// instances with upstream keep-alive, README's production config, while a
// keep-alive client drives GET / and POST /echo through it. A rolling
// restart (each instance in turn gets SIGTERM, drains, exits and is started
// again on its port) and worker recycling must cost the client nothing: no
// status other than 2xx, no socket error, every echo intact.
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { delay, startCli, type CliProcess } from '../helpers.js';
import { isNginxInstalled, startNginx, type NginxProcess } from '../nginx-upstream.js';
import { describeFailures, startLoad, type LoadReport } from '../proxy-load.js';

const NO_NGINX = isNginxInstalled() ? false : 'nginx is not installed (apt-get install -y nginx-light; .ci/run installs it)';

const INSTANCE_ARGS = ['--threads', '1', '--drain-delay', '1500ms', '--keepalive-timeout', '5s', '--access-log', 'off'];

/** Starts `node dist/src/cli.js --port PORT ...` and waits until its /healthz answers 200. */
async function startInstance(t: TestContext, port: number, args: string[]): Promise<CliProcess> {
  const instance = await startCli(t, ['--port', String(port), ...args]);
  const deadline = Date.now() + 10_000;
  for (;;) {
    const status = await fetch(`${instance.url}/healthz`).then((r) => r.status, () => 0);
    if (status === 200) return instance;
    assert.ok(Date.now() < deadline, `instance on :${instance.port} not ready after 10 s; stderr: ${instance.stderr()}`);
    await delay(50);
  }
}

async function startNginxFor(t: TestContext, ports: number[]): Promise<NginxProcess> {
  const nginx = await startNginx(ports);
  t.after(() => nginx.stop());
  return nginx;
}

/** nginx's [error] lines (its [warn] that a body went to a temp file is not one) */
function nginxErrors(nginx: NginxProcess): string[] {
  return nginx.errorLog().split('\n').filter((line) => !line.includes('[warn]') && line.trim() !== '');
}

/** What went wrong at the client, with nginx's own view of it, for a failed assertion. */
function explain(report: LoadReport, nginx: NginxProcess, timeline: string[]): string {
  return [
    `${report.requests} requests in ${report.durationMs} ms`,
    `non-2xx: ${describeFailures(report.non2xx)}`,
    `socket errors: ${describeFailures(report.socketErrors)}`,
    `corrupt echoes: ${describeFailures(report.corruptEchoes)}`,
    `timeline: ${timeline.join('; ')}`,
    `nginx error log, first lines: ${nginxErrors(nginx).slice(0, 8).join(' | ')}`,
  ].join('\n');
}

function assertNoFailures(report: LoadReport, nginx: NginxProcess, timeline: string[]): void {
  const why = explain(report, nginx, timeline);
  assert.ok(report.requests > 200, `the load ran: ${why}`);
  assert.equal(report.non2xx.length, 0, `no status other than 2xx: ${why}`);
  assert.equal(report.socketErrors.length, 0, `no socket error: ${why}`);
  assert.equal(report.corruptEchoes.length, 0, `every echo intact: ${why}`);
  assert.equal(report.postsIntact, report.posts, `every POST answered with its body: ${why}`);
}

test('a rolling restart of two instances behind nginx costs the client nothing', { skip: NO_NGINX, timeout: 40_000 }, async (t) => {
  const instances = [await startInstance(t, 0, INSTANCE_ARGS), await startInstance(t, 0, INSTANCE_ARGS)];
  const ports = instances.map((instance) => instance.port);
  const nginx = await startNginxFor(t, ports);
  const startedAt = Date.now();
  const timeline: string[] = [];
  const note = (what: string): void => void timeline.push(`${Date.now() - startedAt} ms ${what}`);
  const load = startLoad({ port: nginx.port, loops: 8 });

  // Each instance in turn: SIGTERM, the drain, exit 0, started again and ready,
  // then a pause so that nginx sends to it again before the next one goes.
  const loadMs = 11_000;
  let restarts = 0;
  await delay(1000);
  for (let i = 0; Date.now() - startedAt < loadMs - 4000; i = (i + 1) % instances.length) {
    const old = instances[i];
    note(`SIGTERM :${old.port}`);
    old.child.kill('SIGTERM');
    const result = await old.exited;
    note(`:${old.port} exited ${result.code}`);
    assert.equal(result.code, 0, `instance on :${old.port} exits 0 after its drain; stderr: ${result.stderr}`);
    instances[i] = await startInstance(t, old.port, INSTANCE_ARGS);
    note(`:${old.port} ready`);
    restarts++;
    await delay(1500);
  }
  await delay(Math.max(0, loadMs - (Date.now() - startedAt)));
  const report = await load.stop();

  // What nginx met and retried on the other instance, unseen by the client.
  const errors = nginxErrors(nginx);
  const refused = errors.filter((line) => line.includes('Connection refused')).length;
  const afterSend = errors.filter((line) => line.includes('while reading response header')).length;
  t.diagnostic(`${report.requests} requests, ${restarts} restarts; nginx retried ${refused} refused connects and ${afterSend} requests on a connection closed before the answer`);
  assert.ok(restarts >= 2, `each instance restarted at least once (${restarts}): ${timeline.join('; ')}`);
  assertNoFailures(report, nginx, timeline);
  for (const port of ports) {
    const served = [...report.byUpstream].filter(([upstream]) => upstream.includes(`:${port}`)).reduce((sum, [, n]) => sum + n, 0);
    assert.ok(served > 0, `the instance on :${port} served requests: ${JSON.stringify([...report.byUpstream])}`);
  }
});

test('worker recycling (--max-jobs-per-worker 100) behind nginx costs the client nothing', { skip: NO_NGINX, timeout: 30_000 }, async (t) => {
  const instance = await startInstance(t, 0, ['--threads', '2', '--max-jobs-per-worker', '100', '--keepalive-timeout', '5s', '--access-log', 'off', '--metrics']);
  const nginx = await startNginxFor(t, [instance.port]);
  const load = startLoad({ port: nginx.port, loops: 8 });
  await delay(5000);
  const report = await load.stop();
  assertNoFailures(report, nginx, []);
  const metrics = await fetch(`${instance.url}/metrics`).then((r) => r.text());
  const recycled = /spindle_pool_worker_restarts_total\{cause="recycled"\} (\d+)/.exec(metrics);
  t.diagnostic(`${report.requests} requests; ${recycled?.[0] ?? 'no recycle count'}`);
  assert.ok(recycled !== null && Number(recycled[1]) >= 2, `workers were recycled under the load: ${recycled?.[0] ?? metrics.slice(0, 2000)}`);
});
