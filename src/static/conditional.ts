// Conditional requests, RFC 9110 §13: validators of a file and the order in
// which preconditions are evaluated (§13.2.2).

export interface Validators {
  /** a strong entity-tag, quotes included */
  etag: string;
  /** Last-Modified, whole seconds since the epoch, in ms */
  lastModifiedMs: number;
}

export const PROCEED = 0;

/**
 * Evaluates If-Match, If-Unmodified-Since, If-None-Match and
 * If-Modified-Since in the order of RFC 9110 §13.2.2. Returns PROCEED, 304
 * or 412.
 */
export function evaluatePreconditions(method: string, header: (name: string) => string | undefined, v: Validators): number {
  const isGetOrHead = method === 'GET' || method === 'HEAD';
  const ifMatch = header('if-match');
  if (ifMatch !== undefined) {
    if (!matchesAny(ifMatch, v.etag, true)) return 412;
  } else {
    const since = parseHttpDate(header('if-unmodified-since'));
    if (since !== null && v.lastModifiedMs > since) return 412;
  }
  const ifNoneMatch = header('if-none-match');
  if (ifNoneMatch !== undefined) {
    if (matchesAny(ifNoneMatch, v.etag, false)) return isGetOrHead ? 304 : 412;
  } else if (isGetOrHead) {
    const since = parseHttpDate(header('if-modified-since'));
    if (since !== null && v.lastModifiedMs <= since) return 304;
  }
  return PROCEED;
}

/**
 * If-Range (RFC 9110 §13.1.5): the Range applies only when the validator
 * still matches: an entity-tag by strong comparison, or a date equal to
 * Last-Modified.
 */
export function ifRangeMatches(value: string | undefined, v: Validators): boolean {
  if (value === undefined) return true;
  const trimmed = value.trim();
  if (trimmed.startsWith('"') || trimmed.startsWith('W/')) return !trimmed.startsWith('W/') && trimmed === v.etag;
  const date = parseHttpDate(trimmed);
  return date !== null && date === v.lastModifiedMs;
}

/** Matches an If-Match / If-None-Match list ("*" or entity-tags) against etag. */
function matchesAny(list: string, etag: string, isStrong: boolean): boolean {
  const trimmed = list.trim();
  if (trimmed === '*') return true;
  const opaque = etag.startsWith('W/') ? etag.slice(2) : etag;
  for (const match of trimmed.matchAll(/\s*(W\/)?("[^"]*")\s*(?:,|$)/g)) {
    const isWeak = match[1] !== undefined;
    if (match[2] !== opaque) continue;
    // §8.8.3.2: strong comparison needs both tags strong; weak ignores W/.
    if (!isStrong || (!isWeak && !etag.startsWith('W/'))) return true;
  }
  return false;
}

/** An HTTP-date (RFC 9110 §5.6.7) in ms, or null when absent or invalid. */
export function parseHttpDate(value: string | undefined): number | null {
  if (value === undefined) return null;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? null : ms;
}
