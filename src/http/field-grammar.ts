// The common syntax of field values, RFC 9110 §5.6, in one place: every
// field Spindle reads (Connection, Transfer-Encoding, Expect, Range,
// Accept-Encoding, If-Match, ...) is split and read by these rules, so no two
// fields disagree on what a list, a token or whitespace is.
//
//   OWS             = *( SP / HTAB )                                §5.6.3
//   #element        = [ element ] *( OWS "," OWS [ element ] )      §5.6.1.2 (as a recipient reads it)
//   token           = 1*tchar                                       §5.6.2
//   quoted-string   = DQUOTE *( qdtext / quoted-pair ) DQUOTE       §5.6.4
//   quoted-pair     = "\" ( HTAB / SP / VCHAR / obs-text )
//   parameters      = *( OWS ";" OWS [ parameter ] )                §5.6.6
//   parameter       = parameter-name "=" parameter-value
//   parameter-value = ( token / quoted-string )
//
// Values are latin1 strings, one character per byte, as the parser decodes
// them. OWS is SP and HTAB only: String#trim, trimStart and trimEnd and the
// regex \s also strip U+00A0 (the obs-text byte 0xA0), VT, FF and more, and
// would read "5\xA0" as "5". They are never used on a field value; these
// functions are.
import { BACKSLASH, COMMA, DQUOTE, EQUALS, HTAB, IS_FIELD_VALUE, IS_QDTEXT, IS_TOKEN, SEMICOLON, SP } from './bytes.js';

/** OWS: SP or HTAB, and nothing else (RFC 9110 §5.6.3). */
export function isOws(c: number): boolean {
  return c === SP || c === HTAB;
}

/** The position of the first character at or after pos that is not OWS. */
export function skipOws(s: string, pos: number): number {
  while (pos < s.length && isOws(s.charCodeAt(pos))) pos++;
  return pos;
}

/** s without the OWS before and after it. */
export function trimOws(s: string): string {
  let start = 0;
  let end = s.length;
  while (start < end && isOws(s.charCodeAt(start))) start++;
  while (end > start && isOws(s.charCodeAt(end - 1))) end--;
  return start === 0 && end === s.length ? s : s.slice(start, end);
}

/** The end of the run of tchar that starts at pos: pos itself when there is none. */
export function scanToken(s: string, pos: number): number {
  while (pos < s.length && isTokenChar(s.charCodeAt(pos))) pos++;
  return pos;
}

/** The position just past the quoted-string that starts at pos, or -1 when none starts there or it is not closed. */
export function scanQuotedString(s: string, pos: number): number {
  if (s.charCodeAt(pos) !== DQUOTE) return -1;
  for (let i = pos + 1; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === DQUOTE) return i + 1;
    if (c === BACKSLASH) {
      i++;
      if (i === s.length || !isByteIn(IS_FIELD_VALUE, s.charCodeAt(i))) return -1;
    } else if (!isByteIn(IS_QDTEXT, c)) {
      return -1;
    }
  }
  return -1;
}

/** What a quoted-string (quotes included, as scanQuotedString found it) says: without the quotes and the backslash of each quoted-pair. */
export function unquote(quoted: string): string {
  const inner = quoted.slice(1, -1);
  return inner.includes('\\') ? inner.replace(/\\(.)/gs, '$1') : inner;
}

/** Reads one list element at s[pos]: returns the position just past it, or -1 when no valid element starts there. */
export type ElementScanner = (s: string, pos: number) => number;

/**
 * The elements of a #list (RFC 9110 §5.6.1) whose every element must scan,
 * or null when one does not, or when anything but OWS and a comma follows
 * one. Empty elements ("a, ,b", ", a") are skipped, as §5.6.1.2 requires of
 * a recipient. OWS is allowed around commas only: the field line has already
 * taken the OWS around the whole value away (RFC 9112 §5).
 */
export function parseList(value: string, scanElement: ElementScanner): string[] | null {
  const elements: string[] = [];
  let pos = 0;
  for (;;) {
    // At the start of the value, or just past OWS "," OWS.
    if (pos < value.length && value.charCodeAt(pos) !== COMMA) {
      const end = scanElement(value, pos);
      if (end <= pos) return null;
      elements.push(value.slice(pos, end));
      pos = end;
    }
    const afterElement = pos;
    pos = skipOws(value, pos);
    if (pos === value.length) return afterElement === pos ? elements : null;
    if (value.charCodeAt(pos) !== COMMA) return null;
    pos = skipOws(value, pos + 1);
  }
}

/**
 * The elements of a #list whose elements the caller judges one by one
 * (Connection options, expectations, transfer codings): the value split at
 * each comma outside a quoted-string, OWS trimmed, empty elements dropped.
 * Never fails; an unclosed quoted-string runs to the end of the value and
 * the element's own check rejects it.
 */
export function splitList(value: string): string[] {
  // Never null: scanAnyElement stops only at a comma or the end, and the value has no OWS at its end.
  return parseList(trimOws(value), scanAnyElement) ?? [];
}

/**
 * Reads parameters (RFC 9110 §5.6.6) from pos: appends each name,
 * lower-cased (names are case-insensitive), and its value, unquoted, to out.
 * Returns the position just past the last parameter (before any OWS that
 * follows it), or -1 when a parameter is malformed: a name without "=", an
 * "=" without a value, a value neither token nor quoted-string.
 *
 * hasBwsAroundEquals allows BWS around "=", as RFC 9112 §7's
 * transfer-parameter does; §5.6.6's parameter does not.
 */
export function scanParameters(s: string, pos: number, out: string[] | null, hasBwsAroundEquals = false): number {
  for (;;) {
    let i = skipOws(s, pos);
    if (s.charCodeAt(i) !== SEMICOLON) return pos;
    i = skipOws(s, i + 1);
    const nameEnd = scanToken(s, i);
    if (nameEnd === i) {
      pos = i; // an empty parameter: "a;;b" and "a;" are allowed
      continue;
    }
    let valueStart = nameEnd;
    if (hasBwsAroundEquals) valueStart = skipOws(s, valueStart);
    if (s.charCodeAt(valueStart) !== EQUALS) return -1;
    valueStart++;
    if (hasBwsAroundEquals) valueStart = skipOws(s, valueStart);
    let valueEnd = scanToken(s, valueStart);
    if (valueEnd === valueStart) valueEnd = scanQuotedString(s, valueStart);
    if (valueEnd < 0) return -1;
    if (out !== null) {
      const raw = s.slice(valueStart, valueEnd);
      out.push(s.slice(i, nameEnd).toLowerCase(), raw.charCodeAt(0) === DQUOTE ? unquote(raw) : raw);
    }
    pos = valueEnd;
  }
}

/** Everything up to the next comma outside a quoted-string, without trailing OWS. */
function scanAnyElement(s: string, pos: number): number {
  let end = pos;
  let i = pos;
  while (i < s.length) {
    const c = s.charCodeAt(i);
    if (c === COMMA) break;
    if (c === DQUOTE) {
      const close = scanQuotedString(s, i);
      i = close < 0 ? s.length : close;
      end = i;
      continue;
    }
    i++;
    if (!isOws(c)) end = i;
  }
  return end;
}

function isTokenChar(c: number): boolean {
  return isByteIn(IS_TOKEN, c);
}

/** Whether the character c is a byte (a latin1 string holds nothing else) in the table. */
function isByteIn(table: Uint8Array, c: number): boolean {
  return c <= 0xff && table[c] === 1;
}
