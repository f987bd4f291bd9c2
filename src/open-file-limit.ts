// The process's soft limit on open file descriptors (RLIMIT_NOFILE), from
// which the default connection cap is computed (see config.ts). Node has no
// getrlimit(): Linux shows the limits in /proc/self/limits; elsewhere a shell
// says it (`ulimit -n`), once, at start-up.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** What "unlimited" is taken to mean: Linux's default ceiling on descriptors per process (fs.nr_open). */
export const UNLIMITED_OPEN_FILES = 1024 * 1024;

let cached: number | null | undefined;

/** The soft RLIMIT_NOFILE of this process, or null when it cannot be read. */
export function readOpenFileLimit(): number | null {
  if (cached === undefined) cached = readFromProc() ?? readFromShell();
  return cached;
}

/**
 * The soft limit from the text of /proc/self/limits, whose line reads
 * `Max open files            1024                 524288               files`
 * (soft, then hard); null when the line is missing or malformed.
 */
export function parseProcLimits(text: string): number | null {
  const m = /^Max open files +(\d+|unlimited) +(?:\d+|unlimited) +files *$/m.exec(text);
  return m === null ? null : parseLimit(m[1]);
}

/** `ulimit -n`'s answer: a count or "unlimited"; null for anything else. */
export function parseLimit(text: string): number | null {
  const value = text.trim();
  if (value === 'unlimited') return UNLIMITED_OPEN_FILES;
  return /^\d{1,9}$/.test(value) && Number(value) > 0 ? Number(value) : null;
}

function readFromProc(): number | null {
  try {
    return parseProcLimits(readFileSync('/proc/self/limits', 'latin1'));
  } catch {
    return null; // not Linux
  }
}

function readFromShell(): number | null {
  try {
    return parseLimit(execFileSync('/bin/sh', ['-c', 'ulimit -n'], { encoding: 'latin1', timeout: 2000, stdio: ['ignore', 'pipe', 'ignore'] }));
  } catch {
    return null;
  }
}
