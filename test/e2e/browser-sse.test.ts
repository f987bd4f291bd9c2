// Server-sent events in a real browser: Debian's headless chromium opens the
// demo's /events/page, whose EventSource reads /events from a worker thread.
// Each event must reach the browser when the worker sends it, not when the
// stream ends (issue 8): five events 300 ms apart arrive over about 1.2 s.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { findChromium, HeadlessChromium } from '../headless-chromium.js';
import { startCli } from '../helpers.js';

const COUNT = 5;
const INTERVAL_MS = 300;
/** Streamed, the last event comes (COUNT - 1) × INTERVAL_MS = 1200 ms after the first; buffered, with it. */
const MIN_SPREAD_MS = 600;

interface ArrivedEvent {
  data: string;
  /** ms since the page started when the browser delivered it */
  at: number;
}

test('a browser receives server-sent events from a worker thread one by one, as they are sent', { timeout: 15_000 }, async (t) => {
  const binary = findChromium();
  if (binary === null) {
    t.skip('chromium is not installed (apt-get install -y chromium)');
    return;
  }
  const cli = await startCli(t, ['--port', '0', '--threads', '2']);
  const browser = await HeadlessChromium.launch(binary);
  t.after(() => browser.close());

  const page = await browser.open(`${cli.url}/events/page?count=${COUNT}&interval=${INTERVAL_MS}`);
  const title = await browser.waitFor(page, "document.title.startsWith('done') && document.title", 10_000);
  assert.equal(title, `done ${COUNT}`);
  const events = JSON.parse(await browser.evaluate(page, 'document.body.dataset.events') as string) as ArrivedEvent[];

  assert.deepEqual(events.map((e) => (JSON.parse(e.data) as { n: number }).n), [1, 2, 3, 4, 5], 'every event, in order');
  const arrivals = events.map((e) => e.at);
  const spreadMs = arrivals.at(-1)! - arrivals[0];
  assert.ok(spreadMs >= MIN_SPREAD_MS,
    `the last event arrived ${spreadMs} ms after the first (arrivals at ${arrivals.join(', ')} ms since page start); `
    + `sent ${INTERVAL_MS} ms apart they should be about ${(COUNT - 1) * INTERVAL_MS} ms apart, at least ${MIN_SPREAD_MS}`);
});
