// Background load of the scenarios that measure one route beside a slow
// one (S3: /sleep, S9: /cpu): N clients, each on its own keep-alive
// connection, loop on GET PATH (ask, read the whole answer, ask again).
//   node bench/lib/loop-clients.mjs --port P --path '/sleep?ms=1000' [--clients 2] [--max-seconds 60]
// Prints "STARTED" once every client has sent its first request. Stops on
// SIGTERM, on end of stdin, or after --max-seconds, and then prints
// "LOOPJSON {completed, errors, non200, medianMs, maxMs}".
import http from 'node:http';

const options = { port: 0, path: '/sleep?ms=1000', clients: 2, maxSeconds: 60 };
for (let i = 2; i < process.argv.length; i += 2) {
  const key = process.argv[i].replace(/^--/, '').replace(/-(\w)/g, (_, c) => c.toUpperCase());
  if (!(key in options)) throw new Error(`unknown option ${process.argv[i]}`);
  options[key] = key === 'path' ? process.argv[i + 1] : Number(process.argv[i + 1]);
}

const stats = { completed: 0, errors: 0, non200: 0 };
const latenciesMs = [];
const pending = new Set();
let startedCount = 0;
let isStopping = false;

function askAgain(agent, isFirst) {
  if (isStopping) return;
  const startMs = performance.now();
  const req = http.get({ host: '127.0.0.1', port: options.port, path: options.path, agent }, (res) => {
    res.resume();
    res.on('end', () => {
      pending.delete(req);
      stats.completed++;
      if (res.statusCode !== 200) stats.non200++;
      latenciesMs.push(performance.now() - startMs);
      askAgain(agent, false);
    });
  });
  pending.add(req);
  if (isFirst) req.on('finish', () => { if (++startedCount === options.clients) console.log('STARTED'); });
  req.on('error', () => {
    pending.delete(req);
    if (isStopping) return;
    stats.errors++;
    setTimeout(() => askAgain(agent, isFirst), 50);
  });
}

const agents = Array.from({ length: options.clients }, () => new http.Agent({ keepAlive: true, maxSockets: 1 }));
for (const agent of agents) askAgain(agent, true);

function stop() {
  if (isStopping) return;
  isStopping = true;
  for (const req of pending) req.destroy();
  for (const agent of agents) agent.destroy();
  latenciesMs.sort((a, b) => a - b);
  const medianMs = latenciesMs.length ? latenciesMs[(latenciesMs.length - 1) >> 1] : null;
  console.log(`LOOPJSON ${JSON.stringify({ ...stats, medianMs, maxMs: latenciesMs.at(-1) ?? null })}`);
  setTimeout(() => process.exit(0), 20);
}
process.on('SIGTERM', stop);
process.stdin.on('data', () => {});
process.stdin.on('end', stop);
setTimeout(stop, options.maxSeconds * 1000);
