// Who used the two cores: tick counts from /proc. A snapshot holds every
// process's CPU ticks; between two snapshots we charge the server's process
// tree, our reaped children (wrk), and "other": every process outside this
// benchmark's tree that is not a kernel thread (other sessions' work).
// Processes that start and end between two snapshots are not seen.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';

const TICKS_PER_SECOND = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout) || 100;

/** Fields of /proc/PID/stat after the command name: [0] is state, [1] ppid, [11] utime, [12] stime. */
function readStatFields(pid) {
  const text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  return text.slice(text.lastIndexOf(')') + 2).split(' ');
}

export function takeCpuSnapshot() {
  const processes = new Map();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const f = readStatFields(entry);
      processes.set(Number(entry), { ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]), startTime: f[19], name: '' });
    } catch {
      // exited while we read
    }
  }
  const self = readStatFields('self');
  // Whole machine: user nice system idle iowait irq softirq steal (ticks).
  const [user, nice, system, , , irq, softirq, steal] = fs.readFileSync('/proc/stat', 'utf8')
    .split('\n', 1)[0].trim().split(/\s+/).slice(1).map(Number);
  return {
    atMs: performance.now(), processes, reapedChildTicks: Number(self[13]) + Number(self[14]),
    machineBusyTicks: user + nice + system + irq + softirq, stealTicks: steal || 0,
  };
}

/** pid and all its descendants, as seen in a snapshot. */
export function processTree(snapshot, rootPid) {
  const childrenOf = new Map();
  for (const [pid, p] of snapshot.processes) {
    if (!childrenOf.has(p.ppid)) childrenOf.set(p.ppid, []);
    childrenOf.get(p.ppid).push(pid);
  }
  const tree = new Set();
  const stack = snapshot.processes.has(rootPid) ? [rootPid] : [];
  while (stack.length) {
    const pid = stack.pop();
    tree.add(pid);
    stack.push(...(childrenOf.get(pid) ?? []));
  }
  return tree;
}

function ticksUsed(before, after, pids) {
  let ticks = 0;
  for (const pid of pids) {
    const now = after.processes.get(pid);
    const then = before.processes.get(pid);
    if (now) ticks += now.ticks - (then && then.startTime === now.startTime ? then.ticks : 0);
  }
  return ticks;
}

/**
 * Cores used between two snapshots: { server, wrk, other, unseen, steal, topOther: [[pid, cores]] }.
 * unseen is machine CPU no live process accounts for: kernel threads,
 * loopback softirq work, and processes that came and went (other sessions'
 * short test processes); steal is time the hypervisor gave to other guests.
 */
export function coresUsed(before, after, serverPid) {
  const seconds = (after.atMs - before.atMs) / 1000;
  const toCores = (ticks) => Math.max(0, ticks / TICKS_PER_SECOND / seconds);
  const ours = new Set([...processTree(before, process.pid), ...processTree(after, process.pid)]);
  const foreign = [...after.processes.keys()].filter((pid) => {
    const p = after.processes.get(pid);
    return !ours.has(pid) && pid !== 2 && p.ppid !== 2;
  });
  const topOther = foreign
    .map((pid) => [pid, toCores(ticksUsed(before, after, [pid]))])
    .filter(([, cores]) => cores >= 0.05)
    .sort((a, b) => b[1] - a[1])
    .slice(0, 3);
  const wrkTicks = after.reapedChildTicks - before.reapedChildTicks;
  const otherTicks = ticksUsed(before, after, foreign);
  const oursTicks = ticksUsed(before, after, ours);
  return {
    server: serverPid ? toCores(ticksUsed(before, after, processTree(after, serverPid))) : 0,
    wrk: toCores(wrkTicks),
    other: toCores(otherTicks),
    unseen: toCores(after.machineBusyTicks - before.machineBusyTicks - oursTicks - wrkTicks - otherTicks),
    steal: toCores(after.stealTicks - before.stealTicks),
    topOther,
  };
}

/** The command line of a process, for naming what disturbed a run. */
export function describeProcess(pid) {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim().slice(0, 80);
  } catch {
    return `pid ${pid}`;
  }
}
