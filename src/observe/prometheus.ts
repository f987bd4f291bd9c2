// A small Prometheus registry: counters, gauges and histograms with labels,
// rendered in the text exposition format 0.0.4. Updating a series is a Map
// lookup and an addition; the text is built only when /metrics is scraped.
//
//   # HELP name what it is
//   # TYPE name counter|gauge|histogram
//   name{label="value",...} 42
//   name_bucket{...,le="0.005"} 3   (histograms: cumulative buckets, then _sum and _count)

type Labels = readonly string[];

/** Label values in the exposition format: backslash, double quote and line feed escaped. */
function escapeLabel(value: string): string {
  return value.replace(/[\\"\n]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`));
}

function formatNumber(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

function labelText(names: Labels, values: Labels, extra = ''): string {
  const parts: string[] = [];
  for (let i = 0; i < names.length; i++) parts.push(`${names[i]}="${escapeLabel(values[i])}"`);
  if (extra !== '') parts.push(extra);
  return parts.length === 0 ? '' : `{${parts.join(',')}}`;
}

abstract class Metric {
  readonly name: string;
  readonly help: string;
  readonly labelNames: Labels;

  constructor(name: string, help: string, labelNames: Labels) {
    this.name = name;
    this.help = help;
    this.labelNames = labelNames;
  }

  abstract readonly type: 'counter' | 'gauge' | 'histogram';
  abstract samples(): string[];

  render(): string {
    const samples = this.samples();
    return `# HELP ${this.name} ${this.help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}\n# TYPE ${this.name} ${this.type}\n${samples.join('')}`;
  }
}

/** A counter or a gauge: one number per set of label values. */
class Scalar extends Metric {
  readonly type: 'counter' | 'gauge';
  #series = new Map<string, { values: Labels; value: number }>();
  /** for a gauge read when scraped: returns [label values, value] pairs */
  #collect: (() => Iterable<[Labels, number]>) | null;

  constructor(type: 'counter' | 'gauge', name: string, help: string, labelNames: Labels, collect: (() => Iterable<[Labels, number]>) | null) {
    super(name, help, labelNames);
    this.type = type;
    this.#collect = collect;
  }

  /** Adds n (default 1) to the series of these label values. */
  add(values: Labels = [], n = 1): void {
    const key = values.join('\0');
    const series = this.#series.get(key);
    if (series === undefined) this.#series.set(key, { values: [...values], value: n });
    else series.value += n;
  }

  set(values: Labels, value: number): void {
    const key = values.join('\0');
    const series = this.#series.get(key);
    if (series === undefined) this.#series.set(key, { values: [...values], value });
    else series.value = value;
  }

  samples(): string[] {
    const pairs = this.#collect === null ? [...this.#series.values()].map((s) => [s.values, s.value] as const) : [...this.#collect()];
    return pairs.map(([values, value]) => `${this.name}${labelText(this.labelNames, values)} ${formatNumber(value)}\n`);
  }
}

export class Counter extends Scalar {
  constructor(name: string, help: string, labelNames: Labels = [], collect: (() => Iterable<[Labels, number]>) | null = null) {
    super('counter', name, help, labelNames, collect);
  }
}

export class Gauge extends Scalar {
  constructor(name: string, help: string, labelNames: Labels = [], collect: (() => Iterable<[Labels, number]>) | null = null) {
    super('gauge', name, help, labelNames, collect);
  }
}

interface HistogramSeries {
  values: Labels;
  /** counts per bucket, not yet cumulative; the last is +Inf */
  counts: Float64Array;
  sum: number;
  count: number;
}

export class Histogram extends Metric {
  readonly type = 'histogram';
  readonly buckets: readonly number[];
  #series = new Map<string, HistogramSeries>();

  constructor(name: string, help: string, buckets: readonly number[], labelNames: Labels = []) {
    super(name, help, labelNames);
    this.buckets = buckets;
  }

  observe(values: Labels, value: number): void {
    const key = values.join('\0');
    let series = this.#series.get(key);
    if (series === undefined) {
      series = { values: [...values], counts: new Float64Array(this.buckets.length + 1), sum: 0, count: 0 };
      this.#series.set(key, series);
    }
    let i = 0;
    while (i < this.buckets.length && value > this.buckets[i]) i++;
    series.counts[i]++;
    series.sum += value;
    series.count++;
  }

  samples(): string[] {
    const lines: string[] = [];
    for (const series of this.#series.values()) {
      let cumulative = 0;
      for (let i = 0; i <= this.buckets.length; i++) {
        cumulative += series.counts[i];
        const le = i === this.buckets.length ? '+Inf' : formatNumber(this.buckets[i]);
        lines.push(`${this.name}_bucket${labelText(this.labelNames, series.values, `le="${le}"`)} ${cumulative}\n`);
      }
      lines.push(`${this.name}_sum${labelText(this.labelNames, series.values)} ${formatNumber(series.sum)}\n`);
      lines.push(`${this.name}_count${labelText(this.labelNames, series.values)} ${series.count}\n`);
    }
    return lines;
  }
}

export class Registry {
  #metrics: Metric[] = [];

  add<M extends Metric>(metric: M): M {
    this.#metrics.push(metric);
    return metric;
  }

  render(): string {
    return this.#metrics.map((metric) => metric.render()).join('');
  }
}
