// The default connection cap comes from the soft open-file limit
// (RLIMIT_NOFILE): read from /proc/self/limits on Linux, from `ulimit -n`
// elsewhere, and 90 % of it, less 64 descriptors, is left to connections.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { defaultMaxConnections, resolveConfig } from '../src/config.js';
import { UNLIMITED_OPEN_FILES, parseLimit, parseProcLimits, readOpenFileLimit } from '../src/open-file-limit.js';

const PROC_LIMITS = `Limit                     Soft Limit           Hard Limit           Units
Max cpu time              unlimited            unlimited            seconds
Max file size             unlimited            unlimited            bytes
Max processes             63450                63450                processes
Max open files            1024                 524288               files
Max locked memory         8388608              8388608              bytes
`;

test('reads the soft limit, not the hard one, from the Max open files line of /proc/self/limits', () => {
  assert.equal(parseProcLimits(PROC_LIMITS), 1024);
  assert.equal(parseProcLimits(PROC_LIMITS.replace('1024                 524288', 'unlimited            unlimited')), UNLIMITED_OPEN_FILES);
});

test('gives no limit for a /proc/self/limits without a well-formed Max open files line', () => {
  assert.equal(parseProcLimits(PROC_LIMITS.replace(/^Max open files.*$/m, '')), null);
  assert.equal(parseProcLimits(PROC_LIMITS.replace('1024 ', 'many ')), null);
  assert.equal(parseProcLimits(''), null);
});

test("reads `ulimit -n`'s answer: a count, or unlimited", () => {
  assert.equal(parseLimit('1024\n'), 1024);
  assert.equal(parseLimit('unlimited\n'), UNLIMITED_OPEN_FILES);
  for (const text of ['', '0', '-1', 'abc', '10 20', '1e3']) assert.equal(parseLimit(text), null, JSON.stringify(text));
});

test('reads the same limit as `ulimit -n` in a shell', () => {
  const fromShell = parseLimit(execFileSync('/bin/sh', ['-c', 'ulimit -n'], { encoding: 'latin1' }));
  assert.equal(readOpenFileLimit(), fromShell);
});

test('leaves 90 % of the open-file limit, less 64 descriptors, to connections; 1024 when the limit is unknown', () => {
  assert.equal(defaultMaxConnections(1024), 857);
  assert.equal(defaultMaxConnections(20_000), 17_936);
  assert.equal(defaultMaxConnections(null), 857);
  assert.equal(defaultMaxConnections(64), 1, 'at least one connection, however low the limit');
  assert.equal(resolveConfig().maxConnections, defaultMaxConnections(readOpenFileLimit()));
});

test('takes maxConnections as given, and refuses one below 1', () => {
  assert.equal(resolveConfig({ maxConnections: 2 }).maxConnections, 2);
  assert.throws(() => resolveConfig({ maxConnections: 0 }), /maxConnections must be an integer from 1/);
  assert.throws(() => resolveConfig({ maxConnections: 1.5 }), /maxConnections/);
});
