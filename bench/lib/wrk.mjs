// One wrk run: `wrk -t1 -cN -dDs`, reported through report.lua (or post.lua)
// as exact totals and latency percentiles, with the CPU each side used.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { coresUsed, takeCpuSnapshot } from './cpu.mjs';
import { sleep, spawnGroup, stopGroup } from './processes.mjs';

const LIB = path.dirname(fileURLToPath(import.meta.url));
export const REPORT_SCRIPT = path.join(LIB, 'report.lua');
export const POST_SCRIPT = path.join(LIB, 'post.lua');

/**
 * Runs wrk against 127.0.0.1:port, over TLS with scheme 'https' (wrk does not
 * verify the certificate). wrk is bounded by -d; a backstop kills it
 * if it is still running 15 s after that. With serverPid, also measures the
 * cores used by the server, by wrk and by work outside the benchmark during the run.
 */
export async function runWrk({ wrk = 'wrk', port, path: urlPath = '/', connections, durationS, timeoutS = 2,
  headers = [], script = REPORT_SCRIPT, serverPid = null, scheme = 'http' }) {
  const args = ['-t1', `-c${connections}`, `-d${durationS}s`, '--timeout', `${timeoutS}s`, '-s', script];
  for (const header of headers) args.push('-H', header);
  args.push(`${scheme}://127.0.0.1:${port}${urlPath}`);
  const before = takeCpuSnapshot();
  const child = spawnGroup(wrk, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (text) => { stdout += text; });
  child.stderr.on('data', (text) => { stderr += text; });
  const outcome = await Promise.race([child.exited, sleep((durationS + timeoutS + 15) * 1000).then(() => null)]);
  const after = takeCpuSnapshot();
  if (!outcome) {
    await stopGroup(child, 500);
    throw new Error('wrk did not finish in time');
  }
  const line = stdout.split('\n').find((l) => l.startsWith('WRKJSON '));
  if (!line) throw new Error(`wrk gave no report (exit ${outcome.code}): ${(stderr || stdout).trim().slice(0, 200)}`);
  const report = JSON.parse(line.slice('WRKJSON '.length));
  const seconds = report.duration_us / 1e6;
  const { connect, read, write, status, timeout } = report.errors;
  // With no response at all wrk reports latencies of 0: there are none.
  const latencyMs = (us) => (report.requests > 0 ? us / 1000 : null);
  return {
    rps: report.requests / seconds,
    mbps: report.bytes / seconds / 1e6,
    p50Ms: latencyMs(report.latency_us.p50),
    p99Ms: latencyMs(report.latency_us.p99),
    maxMs: latencyMs(report.latency_us.max),
    requests: report.requests,
    errors: connect + read + write + status + timeout,
    errorKinds: report.errors,
    cpu: serverPid ? coresUsed(before, after, serverPid) : undefined,
  };
}

/** Warm-up of the same load, then the measured run with CPU accounting. */
export async function warmAndMeasure(ctx, server, load) {
  const { warmupS, durationS } = ctx.options;
  if (warmupS > 0) await runWrk({ wrk: ctx.wrk, port: server.port, ...load, durationS: warmupS });
  return runWrk({ wrk: ctx.wrk, port: server.port, ...load, durationS, serverPid: server.pid });
}

/**
 * The wrk figures a table shows, plus CPU cores. Outside: other processes,
 * CPU no live process accounts for, and steal: what the run lost to others.
 */
export function wrkFigures(w, suffix = '') {
  return {
    [`rps${suffix}`]: w.rps, [`mbps${suffix}`]: w.mbps, [`p50Ms${suffix}`]: w.p50Ms, [`p99Ms${suffix}`]: w.p99Ms,
    [`errors${suffix}`]: w.errors,
    [`cpuServer${suffix}`]: w.cpu.server, [`cpuWrk${suffix}`]: w.cpu.wrk, [`cpuOther${suffix}`]: w.cpu.other,
    [`cpuUnseen${suffix}`]: w.cpu.unseen, [`cpuSteal${suffix}`]: w.cpu.steal,
    [`cpuOutside${suffix}`]: w.cpu.other + w.cpu.unseen + w.cpu.steal,
  };
}
