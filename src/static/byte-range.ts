// Range requests, RFC 9110 §14: a header is first parsed into a typed value,
// then resolved against the representation's length into 206 or 416.

/** One byte-range-spec as sent: first-last, first-, or -suffix. */
export type RangeSpec = { first: number; last: number | null } | { suffix: number };

/** The parsed Range field: null when absent, unparseable or not in bytes (then ignored, §14.2). */
export function parseRange(value: string | undefined): RangeSpec[] | null {
  if (value === undefined) return null;
  const m = /^\s*bytes\s*=\s*(.+)$/i.exec(value);
  if (m === null) return null;
  const specs: RangeSpec[] = [];
  for (const item of m[1].split(',')) {
    const spec = item.trim();
    if (spec === '') continue;
    const r = /^(\d*)-(\d*)$/.exec(spec);
    if (r === null || (r[1] === '' && r[2] === '')) return null;
    if (r[1] === '') {
      specs.push({ suffix: Number(r[2]) });
    } else {
      const first = Number(r[1]);
      const last = r[2] === '' ? null : Number(r[2]);
      if (last !== null && last < first) return null; // §14.1.1: invalid, so the field is ignored
      specs.push({ first, last });
    }
  }
  return specs.length === 0 ? null : specs;
}

/** A satisfiable range resolved against a length: start and end inclusive. */
export interface ByteRange {
  start: number;
  end: number;
}

/**
 * Resolves one range spec against size: the range to send, or null when
 * unsatisfiable (416).
 */
export function resolveRange(spec: RangeSpec, size: number): ByteRange | null {
  if ('suffix' in spec) {
    if (spec.suffix === 0 || size === 0) return null;
    return { start: Math.max(0, size - spec.suffix), end: size - 1 };
  }
  if (spec.first >= size) return null;
  const end = spec.last === null ? size - 1 : Math.min(spec.last, size - 1);
  return { start: spec.first, end };
}
