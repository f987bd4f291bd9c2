// Medians and the markdown tables compare.mjs prints.

export function median(values) {
  const v = values.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (!v.length) return null;
  const mid = v.length >> 1;
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

export function formatNumber(value, digits) {
  if (value === null || value === undefined || !Number.isFinite(value)) return 'n/a';
  if (digits === 0 && Math.abs(value) >= 1000) return Math.round(value).toLocaleString('en-US');
  if (digits === 0 && Math.abs(value) < 10 && !Number.isInteger(value)) return value.toFixed(1);
  return value.toFixed(digits);
}

export function formatRatio(value) {
  if (value === null || !Number.isFinite(value)) return 'n/a';
  if (Math.abs(value) >= 100) return `${Math.round(value)}×`;
  return value !== 0 && Math.abs(value) < 0.01 ? `${value.toFixed(3)}×` : `${value.toFixed(2)}×`;
}

const ratioOf = (a, b) => (a !== null && b !== null && b !== 0 && Number.isFinite(a) && Number.isFinite(b) ? a / b : null);

/** The most disturbed wrk run of a measurement: cores taken by work outside the benchmark. */
export function noiseOf(metrics) {
  return Math.max(0, ...Object.entries(metrics).filter(([k]) => k.startsWith('cpuOutside')).map(([, v]) => v ?? 0));
}

/** summary[server] = { median, runs, noisy, errors, notes, failures } for one scenario. */
export function summarizeScenario(scenario, records, quietCores) {
  const rows = {};
  for (const name of [...new Set(records.map((r) => r.server))]) {
    const mine = records.filter((r) => r.server === name);
    const done = mine.filter((r) => r.metrics);
    const keys = new Set(done.flatMap((r) => Object.keys(r.metrics).filter((k) => typeof r.metrics[k] === 'number')));
    const medians = {};
    for (const key of keys) medians[key] = median(done.map((r) => r.metrics[key]));
    rows[name] = {
      median: medians,
      runs: done.map((r) => r.metrics[scenario.primary]),
      noisy: done.map((r) => noiseOf(r.metrics) > quietCores),
      errors: done.reduce((sum, r) => sum + Object.entries(r.metrics)
        .filter(([k]) => k.startsWith('errors')).reduce((s, [, v]) => s + (v ?? 0), 0), 0),
      notes: [...new Set(done.map((r) => r.metrics.note).concat(mine.map((r) => r.stopNote)).filter(Boolean))],
      failures: mine.filter((r) => r.error).map((r) => r.error),
      retried: mine.reduce((n, r) => n + (r.discarded?.length ?? 0), 0),
    };
  }
  return rows;
}

function cpuCell(m, suffix = '') {
  const s = m[`cpuServer${suffix}`];
  if (s === undefined || s === null) return 'n/a';
  return `${s.toFixed(2)}/${m[`cpuWrk${suffix}`].toFixed(2)}/${m[`cpuOutside${suffix}`].toFixed(2)}`;
}

/** One goal as a sentence with the measured figure. */
function describeGoal(goal, rows, allSummaries) {
  let measured;
  let what;
  if (goal.own) {
    measured = ratioOf(rows[goal.server]?.median[goal.key] ?? null, allSummaries[goal.own]?.[goal.server]?.median[goal.key] ?? null);
    what = `${goal.server} ${goal.label}`;
  } else if (goal.absolute) {
    measured = rows[goal.server]?.median[goal.key] ?? null;
    what = `${goal.server} ${goal.label}`;
  } else {
    const server = goal.server ?? 'spindle';
    measured = ratioOf(rows[server]?.median[goal.key] ?? null, rows[goal.against]?.median[goal.key] ?? null);
    what = `${goal.server ?? 'Spindle'} / ${goal.against}${goal.label ? ` (${goal.label})` : ''}`;
  }
  const limit = goal.atLeast ?? goal.atMost;
  const bound = `${goal.atLeast !== undefined ? '≥' : '≤'} ${goal.absolute ? limit : `${limit.toFixed(Number.isInteger(limit * 10) ? 1 : 2)}×`}`;
  const shown = goal.absolute ? formatNumber(measured, 2) : formatRatio(measured);
  const isMet = measured === null ? null : goal.atLeast !== undefined ? measured >= goal.atLeast : measured <= goal.atMost;
  return `Goal: ${what} ${bound} — measured ${shown}: ${isMet === null ? 'n/a' : isMet ? '**met**' : '**not met**'}`;
}

export function renderScenario(scenario, rows, allSummaries, quietCores) {
  const names = Object.keys(rows);
  const ratioKeys = scenario.ratioKeys ?? [[scenario.primary, '']];
  const header = ['server', ...scenario.columns.map(([, label]) => label)];
  if (scenario.versusOwnS1) header.push('own S1 req/s', 'req/s vs own S1', 'p99 vs own S1');
  else for (const [, label] of ratioKeys) header.push(`Spindle / this${label ? ` (${label})` : ''}`);
  // A scenario with several wrk runs per measurement (S5, S14) shows each run's CPU, in cpuSuffixes' order.
  const cpuSuffixes = scenario.cpuSuffixes ?? [''];
  const hasCpu = names.some((n) => cpuSuffixes.some((s) => rows[n].median[`cpuServer${s}`] !== undefined));
  if (hasCpu) header.push('CPU cores srv/wrk/outside');
  header.push(`runs (${scenario.columns.find(([k]) => k === scenario.primary)[1]})`, 'errors');

  const lines = [`## ${scenario.title}`, '', `| ${header.join(' | ')} |`, `|${header.map(() => ' --- ').join('|')}|`];
  for (const name of names) {
    const row = rows[name];
    if (!row.runs.length) {
      lines.push(`| ${name} | failed: ${(row.failures[0] ?? 'no result').replace(/\|/g, '/').slice(0, 160)} |`);
      continue;
    }
    const m = row.median;
    const cells = [name, ...scenario.columns.map(([key, , digits]) => formatNumber(m[key], digits))];
    if (scenario.versusOwnS1) {
      const own = allSummaries.S1?.[name]?.median;
      cells.push(formatNumber(own?.rps ?? null, 0), formatRatio(ratioOf(m.rps, own?.rps ?? null)),
        formatRatio(ratioOf(m.p99Ms, own?.p99Ms ?? null)));
    } else {
      for (const [key] of ratioKeys) {
        cells.push(name === 'spindle' ? '—' : formatRatio(ratioOf(rows.spindle?.median[key] ?? null, m[key])));
      }
    }
    if (hasCpu) cells.push(cpuSuffixes.map((s) => cpuCell(m, s)).join(' · '));
    const digits = scenario.columns.find(([k]) => k === scenario.primary)[2];
    cells.push(row.runs.map((v, i) => formatNumber(v, digits) + (row.noisy[i] ? '*' : '')).join(' / '), String(row.errors));
    lines.push(`| ${cells.join(' | ')} |`);
  }
  lines.push('');
  for (const goal of scenario.goals ?? []) lines.push(`- ${describeGoal(goal, rows, allSummaries)}`);
  for (const name of names) {
    for (const note of rows[name].notes) lines.push(`- ${name}: ${note}`);
    if (rows[name].runs.length) for (const f of rows[name].failures) lines.push(`- ${name}: a run failed: ${f.slice(0, 300)}`);
    if (rows[name].retried) lines.push(`- ${name}: ${rows[name].retried} run(s) taken again because outside work disturbed them`);
  }
  if (names.some((n) => rows[n].noisy.some(Boolean))) {
    lines.push(`- \\* measured while work outside the benchmark used more than ${quietCores} cores`);
  }
  if (scenario.isLowerBetter) lines.push('- lower is better');
  lines.push('');
  return lines.join('\n');
}
