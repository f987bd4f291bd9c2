// S16: what the access log and the metrics cost (issue 10). S1's load on
// Spindle as the benchmarks run it (--access-log off), on Spindle logging
// every request to a file, and on Spindle with --metrics while /metrics is
// scraped every second; each variant's rate is a ratio to the first, in the
// same run.
import { request } from './processes.mjs';
import { warmAndMeasure, wrkFigures } from './wrk.mjs';

const SCRAPE_EVERY_MS = 1000;

/** Scrapes /metrics every second until stopped; counts scrapes and failures. */
function scrapeEverySecond(port) {
  let isRunning = true;
  const counts = { scrapes: 0, failures: 0 };
  const done = (async () => {
    while (isRunning) {
      const started = Date.now();
      const r = await request({ port, path: '/metrics' });
      if (r.status === 200 && r.body.includes('http_server_request_duration_seconds')) counts.scrapes++;
      else counts.failures++;
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, SCRAPE_EVERY_MS - (Date.now() - started))));
    }
  })();
  return async () => {
    isRunning = false;
    await done;
    return counts;
  };
}

export const OBSERVE_SCENARIOS = {
  S16: {
    title: 'S16 observability: GET /, wrk -t1 -c64, Spindle plain, with --access-log FILE, and with --metrics scraped every second',
    servers: () => ['spindle', 'spindle-log', 'spindle-metrics'],
    threads: (ctx) => ctx.options.threads,
    async measure(ctx, server) {
      const stop = server.name === 'spindle-metrics' ? scrapeEverySecond(server.port) : null;
      const w = await warmAndMeasure(ctx, server, { connections: ctx.options.connections });
      const scrapes = stop === null ? { scrapes: null, failures: null } : await stop();
      return { ...wrkFigures(w), scrapes: scrapes.scrapes, scrapeFailures: scrapes.failures };
    },
    columns: [['rps', 'req/s', 0], ['p50Ms', 'p50 ms', 2], ['p99Ms', 'p99 ms', 2], ['errors', 'errors', 0],
      ['scrapes', '/metrics scrapes', 0], ['scrapeFailures', 'scrape failures', 0]],
    primary: 'rps',
    goals: [
      { server: 'spindle-log', against: 'spindle', key: 'rps', atLeast: 0.95, label: 'the access log to a file costs at most 5 %' },
      { server: 'spindle-metrics', against: 'spindle', key: 'rps', atLeast: 0.97, label: '--metrics, scraped every second, costs at most 3 %' },
    ],
  },
};
