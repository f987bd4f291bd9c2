// Conditional requests, RFC 9110 §13: validators of a file and the order in
// which preconditions are evaluated (§13.2.2).
//
//   If-Match = If-None-Match = "*" / #entity-tag          §13.1.1, §13.1.2
//   entity-tag = [ weak ] opaque-tag                       §8.8.3
//   weak       = %s"W/"
//   opaque-tag = DQUOTE *etagc DQUOTE
//   etagc      = %x21 / %x23-7E / obs-text
//   If-Modified-Since = If-Unmodified-Since = HTTP-date    §13.1.3, §13.1.4
//   If-Range   = entity-tag / HTTP-date                    §13.1.5
import { DQUOTE } from '../http/bytes.js';
import { parseList } from '../http/field-grammar.js';
import { parseHttpDate } from '../http/http-date.js';

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
 * Last-Modified. A value that is neither matches nothing, so the whole
 * representation is sent.
 */
export function ifRangeMatches(value: string | undefined, v: Validators): boolean {
  if (value === undefined) return true;
  if (scanEntityTag(value, 0) === value.length) return !value.startsWith('W/') && value === v.etag;
  const date = parseHttpDate(value);
  return date !== null && date === v.lastModifiedMs;
}

/**
 * Matches an If-Match / If-None-Match value ("*" or entity-tags) against
 * etag. A value of neither form matches nothing: §13.1.1 makes such an
 * If-Match false (412), §13.1.2 such an If-None-Match true (no 304).
 */
function matchesAny(value: string, etag: string, isStrong: boolean): boolean {
  if (value === '*') return true;
  const tags = parseList(value, scanEntityTag);
  if (tags === null) return false;
  const isEtagWeak = etag.startsWith('W/');
  const opaque = isEtagWeak ? etag.slice(2) : etag;
  for (const tag of tags) {
    const isWeak = tag.startsWith('W/');
    if ((isWeak ? tag.slice(2) : tag) !== opaque) continue;
    // §8.8.3.2: strong comparison needs both tags strong; weak ignores W/.
    if (!isStrong || (!isWeak && !isEtagWeak)) return true;
  }
  return false;
}

/** The position just past the entity-tag at pos, or -1 when none starts there. */
function scanEntityTag(s: string, pos: number): number {
  let i = s.startsWith('W/', pos) ? pos + 2 : pos;
  if (s.charCodeAt(i) !== DQUOTE) return -1;
  for (i++; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === DQUOTE) return i + 1;
    if (!isEtagc(c)) return -1;
  }
  return -1;
}

/** etagc: %x21 / %x23-7E / obs-text, so no DQUOTE, no whitespace and no escapes. */
function isEtagc(c: number): boolean {
  return c === 0x21 || (c >= 0x23 && c <= 0x7e) || (c >= 0x80 && c <= 0xff);
}
