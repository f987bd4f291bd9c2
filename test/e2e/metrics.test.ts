// GET /metrics (--metrics): counters that match the requests a test sent, by
// status and by who answered; the engine's refusals by status; the pool's
// and the file cache's figures; promtool's verdict on the text; and scrapes
// under load that cost no request an error.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { assertResponse, connect, exchange, makeTempDir, PATIENCE_MS, startServer } from '../helpers.js';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The samples of a text exposition (version 0.0.4). */
function parseMetrics(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(m !== null, `a sample line: ${JSON.stringify(line)}`);
    const labels: Record<string, string> = {};
    for (const pair of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[pair[1]] = pair[2];
    samples.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return samples;
}

function value(samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  const found = samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  return found?.value;
}

async function scrape(url: string): Promise<{ text: string; samples: Sample[]; contentType: string | null }> {
  const response = await fetch(`${url}/metrics`);
  assert.equal(response.status, 200);
  const text = await response.text();
  return { text, samples: parseMetrics(text), contentType: response.headers.get('content-type') };
}

test('counters match the requests sent, by method, status and who answered', async (t) => {
  const root = makeTempDir(t, 'metrics');
  writeFileSync(path.join(root, 'file.txt'), 'file\n');
  const { url, port } = await startServer(t, { metrics: true, threads: 1, demo: true, static: { root } });
  for (let i = 0; i < 3; i++) assert.equal((await fetch(`${url}/`)).status, 200);
  for (let i = 0; i < 2; i++) assert.equal((await fetch(`${url}/file.txt`)).status, 200);
  assert.equal((await fetch(`${url}/healthz`)).status, 200);
  assert.equal((await fetch(`${url}/missing`)).status, 404); // no file: the demo answers
  assert.equal((await fetch(`${url}/`, { method: 'BREW' })).status, 501);
  const bad = await exchange(t, port, 'GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n');
  assertResponse(bad.responses[0], 400);

  const { samples, contentType } = await scrape(url);
  assert.equal(contentType, 'text/plain; version=0.0.4; charset=utf-8');
  const count = (method: string, status: string, answeredBy: string): number | undefined =>
    value(samples, 'http_server_request_duration_seconds_count', { http_request_method: method, http_response_status_code: status, answered_by: answeredBy });
  assert.equal(count('GET', '200', 'app'), 3);
  assert.equal(count('GET', '200', 'static'), 2);
  assert.equal(count('GET', '200', 'builtin'), 1);
  assert.equal(count('GET', '404', 'app'), 1);
  assert.equal(count('_OTHER', '501', 'app'), 1, 'an unknown method is _OTHER');
  assert.equal(count('_OTHER', '400', 'builtin'), 1, 'bytes that did not parse');
  assert.equal(value(samples, 'spindle_parse_errors_total', { status: '400' }), 1);
  assert.equal(value(samples, 'spindle_pool_jobs_total', { outcome: 'ok' }), 5);
  assert.equal(value(samples, 'spindle_pool_jobs_total', { outcome: 'failed' }), 0);
  assert.equal(value(samples, 'http_server_active_requests'), 1, 'the scrape itself');
  assert.equal(value(samples, 'spindle_pool_queue_wait_seconds_count'), 5);
  assert.equal(value(samples, 'spindle_pool_run_seconds_count'), 5);
  assert.equal(value(samples, 'spindle_pool_jobs_in_flight', { worker: '0' }), 0);
  assert.equal(value(samples, 'spindle_pool_worker_restarts_total', { cause: 'error' }), 0);
  assert.ok(value(samples, 'spindle_static_cache_lookups_total', { result: 'hit' })! >= 1, 'the second file request is a cache hit');
  assert.ok(value(samples, 'spindle_static_cache_lookups_total', { result: 'miss' })! >= 1);
  assert.ok(value(samples, 'spindle_connections_accepted_total')! >= 2);
  assert.ok(value(samples, 'spindle_received_bytes_total')! > 0);
  assert.ok(value(samples, 'spindle_sent_bytes_total')! > 0);
  assert.equal(value(samples, 'spindle_access_log_dropped_lines_total'), 0);
  // Buckets are cumulative and end at +Inf with the count.
  const buckets = samples.filter((s) => s.name === 'http_server_request_duration_seconds_bucket' && s.labels.answered_by === 'static');
  assert.equal(buckets.length, 15);
  assert.deepEqual(buckets.map((b) => b.labels.le).slice(0, 3), ['0.005', '0.01', '0.025']);
  assert.equal(buckets.at(-1)!.labels.le, '+Inf');
  assert.equal(buckets.at(-1)!.value, 2);
  for (let i = 1; i < buckets.length; i++) assert.ok(buckets[i].value >= buckets[i - 1].value);
});

test('connections by state: an idle keep-alive connection and one waiting on a handler', async (t) => {
  const { url, port } = await startServer(t, { metrics: true, threads: 1 });
  const idle = await connect(t, port);
  await idle.write('GET / HTTP/1.1\r\nHost: a\r\n\r\n');
  await idle.readResponse();
  const busy = await connect(t, port);
  await busy.write('GET /async?ms=500 HTTP/1.1\r\nHost: a\r\n\r\n');
  const reading = await connect(t, port);
  await reading.write('GET / HTTP/1.1\r\nHost: a\r\n'); // a head not yet whole
  const { samples } = await scrape(url);
  assert.equal(value(samples, 'spindle_connections', { state: 'idle' }), 1);
  assert.equal(value(samples, 'spindle_connections', { state: 'reading' }), 1);
  // the scrape's own connection and the one waiting for /async
  assert.equal(value(samples, 'spindle_connections', { state: 'writing' }), 2);
  assert.equal(value(samples, 'http_server_active_requests'), 2);
});

test('no /metrics without --metrics', async (t) => {
  const { url } = await startServer(t, { threads: 1, handler: () => ({ status: 418, headers: [], body: 'teapot' }) });
  assert.equal((await fetch(`${url}/metrics`)).status, 418, 'the handler answers it');
});

test('promtool check metrics finds nothing wrong', async (t) => {
  const hasPromtool = await new Promise<boolean>((resolve) => execFile('promtool', ['--version'], (err) => resolve(err === null)));
  if (!hasPromtool) {
    t.skip('promtool is not installed (Debian package prometheus; .ci/run installs it)');
    return;
  }
  const { url, port } = await startServer(t, { metrics: true, threads: 1, accessLog: { path: path.join(makeTempDir(t, 'prom'), 'a.log') } });
  await fetch(`${url}/`);
  await exchange(t, port, 'BAD\r\n\r\n');
  const { text } = await scrape(url);
  const result = await new Promise<{ code: number; output: string }>((resolve) => {
    const child = execFile('promtool', ['check', 'metrics'], { timeout: PATIENCE_MS }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : -1, output: stdout + stderr });
    });
    child.stdin!.end(text);
  });
  assert.equal(result.code, 0, result.output);
  assert.equal(result.output.trim(), '', result.output);
});

test('scraping every few milliseconds under load costs no request an error', async (t) => {
  const { url } = await startServer(t, { metrics: true, threads: 2 });
  let scrapes = 0;
  let isLoading = true;
  const scraper = (async () => {
    while (isLoading) {
      await scrape(url);
      scrapes++;
    }
  })();
  const statuses = await Promise.all(Array.from({ length: 16 }, async () => {
    const seen: number[] = [];
    for (let i = 0; i < 60; i++) seen.push((await fetch(`${url}/async?ms=2`)).status);
    return seen;
  }));
  isLoading = false;
  await scraper;
  assert.ok(scrapes >= 5, `${scrapes} scrapes`);
  assert.deepEqual([...new Set(statuses.flat())], [200]);
  const { samples } = await scrape(url);
  assert.equal(value(samples, 'http_server_request_duration_seconds_count', { http_request_method: 'GET', http_response_status_code: '200', answered_by: 'app' }), 960);
});
