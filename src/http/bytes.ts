// Named byte values and character classes of RFC 9110 §5.6 and RFC 9112.

export const HTAB = 0x09;
export const LF = 0x0a;
export const CR = 0x0d;
export const SP = 0x20;
export const DQUOTE = 0x22;
export const ASTERISK = 0x2a;
export const COMMA = 0x2c;
export const SLASH = 0x2f;
export const COLON = 0x3a;
export const SEMICOLON = 0x3b;
export const EQUALS = 0x3d;
export const BACKSLASH = 0x5c;
export const DEL = 0x7f;

/** tchar: "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA */
export const IS_TOKEN = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~") IS_TOKEN[c.charCodeAt(0)] = 1;
for (let c = 0x30; c <= 0x39; c++) IS_TOKEN[c] = 1;
for (let c = 0x41; c <= 0x5a; c++) IS_TOKEN[c] = 1;
for (let c = 0x61; c <= 0x7a; c++) IS_TOKEN[c] = 1;

/** field-vchar / SP / HTAB: VCHAR, obs-text, and the whitespace allowed inside a field value. */
export const IS_FIELD_VALUE = new Uint8Array(256);
IS_FIELD_VALUE[HTAB] = 1;
for (let c = 0x20; c <= 0x7e; c++) IS_FIELD_VALUE[c] = 1;
for (let c = 0x80; c <= 0xff; c++) IS_FIELD_VALUE[c] = 1;

/**
 * qdtext: HTAB / SP / %x21 / %x23-5B / %x5D-7E / obs-text (RFC 9110 §5.6.4),
 * what a quoted-string holds besides quoted-pairs: a field-value byte but
 * DQUOTE and backslash. The byte after a backslash (quoted-pair) is any
 * IS_FIELD_VALUE byte.
 */
export const IS_QDTEXT = IS_FIELD_VALUE.slice();
IS_QDTEXT[DQUOTE] = 0;
IS_QDTEXT[BACKSLASH] = 0;

/**
 * Bytes allowed in a request-target: the visible ASCII characters (RFC 3986
 * never needs more). Controls, space, DEL and non-ASCII bytes are rejected.
 */
export const IS_TARGET = new Uint8Array(256);
for (let c = 0x21; c <= 0x7e; c++) IS_TARGET[c] = 1;

export const HEX_VALUE = new Int8Array(256).fill(-1);
for (let c = 0; c < 10; c++) HEX_VALUE[0x30 + c] = c;
for (let c = 0; c < 6; c++) {
  HEX_VALUE[0x41 + c] = 10 + c;
  HEX_VALUE[0x61 + c] = 10 + c;
}

/** True when every character of s is a tchar. */
export function isToken(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0xff || IS_TOKEN[c] !== 1) return false;
  }
  return true;
}

/** True when s may be sent as a field value: no CR, LF, NUL or other controls but HTAB. */
export function isFieldValue(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0xff || IS_FIELD_VALUE[c] !== 1) return false;
  }
  return true;
}
