// Range requests, RFC 9110 §14: a header is first parsed into a typed value,
// then resolved against the representation's length into 206 or 416.
//
//   Range        = ranges-specifier
//   ranges-specifier = range-unit "=" range-set        §14.1.1, §14.2
//   range-set    = 1#range-spec
//   range-spec   = int-range / suffix-range    (other-range is for other units)
//   int-range    = first-pos "-" [ last-pos ]
//   suffix-range = "-" suffix-length
import { parseList } from '../http/field-grammar.js';

/** One byte-range-spec as sent: first-last, first-, or -suffix. */
export type RangeSpec = { first: number; last: number | null } | { suffix: number };

const BYTES_UNIT = 'bytes=';
const HYPHEN = 0x2d;

/**
 * The parsed Range field: null when absent, not in bytes, or not exactly
 * of the grammar (then the field is ignored, §14.2).
 */
export function parseRange(value: string | undefined): RangeSpec[] | null {
  if (value === undefined) return null;
  // §14.1: range units are case-insensitive; no whitespace around "=".
  if (value.slice(0, BYTES_UNIT.length).toLowerCase() !== BYTES_UNIT) return null;
  const elements = parseList(value.slice(BYTES_UNIT.length), scanRangeSpec);
  if (elements === null || elements.length === 0) return null;
  const specs: RangeSpec[] = [];
  for (const element of elements) {
    const hyphen = element.indexOf('-');
    if (hyphen === 0) {
      specs.push({ suffix: Number(element.slice(1)) });
      continue;
    }
    const first = Number(element.slice(0, hyphen));
    const last = hyphen === element.length - 1 ? null : Number(element.slice(hyphen + 1));
    if (last !== null && last < first) return null; // §14.1.1: invalid, so the field is ignored
    specs.push({ first, last });
  }
  return specs;
}

/** int-range or suffix-range: 1*DIGIT "-" *DIGIT, or "-" 1*DIGIT. */
function scanRangeSpec(s: string, pos: number): number {
  const firstEnd = scanDigits(s, pos);
  if (s.charCodeAt(firstEnd) !== HYPHEN) return -1;
  const lastEnd = scanDigits(s, firstEnd + 1);
  if (firstEnd === pos && lastEnd === firstEnd + 1) return -1; // "-" alone
  return lastEnd;
}

function scanDigits(s: string, pos: number): number {
  while (pos < s.length && s.charCodeAt(pos) >= 0x30 && s.charCodeAt(pos) <= 0x39) pos++;
  return pos;
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
