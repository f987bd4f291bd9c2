// The authority of an http URI, to the letter of RFC 3986 §3.2.2 and §3.2.3:
//
//   authority   = host [ ":" port ]          (no userinfo: RFC 9110 §4.2.4)
//   host        = IP-literal / IPv4address / reg-name
//   IP-literal  = "[" ( IPv6address / IPvFuture ) "]"
//   IPvFuture   = "v" 1*HEXDIG "." 1*( unreserved / sub-delims / ":" )
//   reg-name    = *( unreserved / pct-encoded / sub-delims )
//   port        = *DIGIT
//
// Every IPv4address is also a reg-name, so a host outside brackets is checked
// as a reg-name only; IPv4address matters inside an IPv6address (ls32).
// Nothing is decoded or normalised: what passes is exactly what the
// application is given, byte for byte.
import { COLON, HEX_VALUE } from './bytes.js';

const PERCENT = 0x25;
const DOT = 0x2e;
const DIGIT_0 = 0x30;
const DIGIT_9 = 0x39;
const LEFT_BRACKET = 0x5b;
const SMALL_V = 0x76;
const CAPITAL_V = 0x56;

/** The largest port: a TCP port is 16 bits (RFC 9293 §3.1). */
const MAX_PORT = 65535;

/**
 * unreserved / sub-delims (RFC 3986 §2.3, §2.2):
 * ALPHA / DIGIT / "-" / "." / "_" / "~" / "!" / "$" / "&" / "'" / "(" / ")" / "*" / "+" / "," / ";" / "="
 */
export const IS_UNRESERVED_OR_SUB_DELIM = new Uint8Array(128);
for (const c of "-._~!$&'()*+,;=") IS_UNRESERVED_OR_SUB_DELIM[c.charCodeAt(0)] = 1;
for (let c = 0x30; c <= 0x39; c++) IS_UNRESERVED_OR_SUB_DELIM[c] = 1;
for (let c = 0x41; c <= 0x5a; c++) IS_UNRESERVED_OR_SUB_DELIM[c] = 1;
for (let c = 0x61; c <= 0x7a; c++) IS_UNRESERVED_OR_SUB_DELIM[c] = 1;

/** True when s[i] is "%" followed by two HEXDIG: pct-encoded (RFC 3986 §2.1). */
export function isPctEncodedAt(s: string, i: number): boolean {
  return s.charCodeAt(i) === PERCENT && i + 2 < s.length && isHexDigit(s.charCodeAt(i + 1)) && isHexDigit(s.charCodeAt(i + 2));
}

/**
 * True when s is `host [ ":" port ]` with a host that is not empty (RFC 9110
 * §4.2.1: an http URI with an empty host is invalid) and a port of at most
 * 65535. isPortRequired: authority-form needs `host ":" port` with digits
 * (RFC 9112 §3.2.3).
 */
export function isValidAuthority(s: string, isPortRequired = false): boolean {
  let hostEnd: number;
  if (s.charCodeAt(0) === LEFT_BRACKET) {
    // Neither IPv6address nor IPvFuture contains "]": the first one closes the literal.
    const close = s.indexOf(']');
    if (close < 0 || !isIpLiteralContent(s.slice(1, close))) return false;
    hostEnd = close + 1;
  } else {
    // reg-name has no ":": the first one starts the port.
    hostEnd = s.indexOf(':');
    if (hostEnd < 0) hostEnd = s.length;
    if (!isRegName(s, hostEnd)) return false;
  }
  if (hostEnd === 0) return false;
  if (hostEnd === s.length) return !isPortRequired;
  if (s.charCodeAt(hostEnd) !== COLON) return false;
  // RFC 3986 §3.2.3 allows an empty port ("host:"), which means the default.
  if (isPortRequired && hostEnd + 1 === s.length) return false;
  return isPort(s, hostEnd + 1);
}

/** reg-name = *( unreserved / pct-encoded / sub-delims ), over s[0, end). */
function isRegName(s: string, end: number): boolean {
  for (let i = 0; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c < 128 && IS_UNRESERVED_OR_SUB_DELIM[c] === 1) continue;
    // A ":" at end is no HEXDIG: an escape never runs past the host.
    if (!isPctEncodedAt(s, i)) return false;
    i += 2;
  }
  return true;
}

/**
 * port = *DIGIT, from start to the end of s. RFC 3986 allows leading zeros
 * ("080"), and so does Spindle: the value is still plain decimal (WHATWG URL
 * and Node read "080" as 80), unlike dec-octet, whose ban on leading zeros
 * keeps octal readings of IPv4 out. The value must fit a TCP port.
 */
function isPort(s: string, start: number): boolean {
  let value = 0;
  for (let i = start; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < DIGIT_0 || c > DIGIT_9) return false;
    value = value * 10 + (c - DIGIT_0);
    if (value > MAX_PORT) return false;
  }
  return true;
}

/** What lies between "[" and "]": IPv6address / IPvFuture. */
function isIpLiteralContent(s: string): boolean {
  const first = s.charCodeAt(0);
  return first === SMALL_V || first === CAPITAL_V ? isIpvFuture(s) : isIpv6Address(s);
}

/**
 * IPvFuture = "v" 1*HEXDIG "." 1*( unreserved / sub-delims / ":" ). The "v"
 * matches either case: ABNF strings are case-insensitive (RFC 5234 §2.3).
 */
function isIpvFuture(s: string): boolean {
  let i = 1;
  while (i < s.length && isHexDigit(s.charCodeAt(i))) i++;
  if (i === 1 || i === s.length || s.charCodeAt(i) !== DOT) return false;
  if (++i === s.length) return false;
  for (; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c !== COLON && (c >= 128 || IS_UNRESERVED_OR_SUB_DELIM[c] !== 1)) return false;
  }
  return true;
}

/**
 * IPv6address (RFC 3986 §3.2.2). Its nine alternatives say, together: eight
 * 16-bit pieces (h16 = 1*4HEXDIG) separated by ":", the last two of which may
 * be one IPv4address (ls32); or at most one "::" standing for one or more
 * zero pieces, with at most seven pieces written around it, an IPv4address
 * only as the last of them.
 *
 *   1:2:3:4:5:6:7:8      ::      1::      ::ffff:192.0.2.1      1:2:3:4:5:6:7::
 */
function isIpv6Address(s: string): boolean {
  const gap = s.indexOf('::');
  if (gap < 0) return countPieces(s, true) === 8;
  // A second "::" (or ":::", which holds one at gap + 1) is ambiguous.
  if (s.indexOf('::', gap + 1) >= 0) return false;
  const left = gap === 0 ? 0 : countPieces(s.slice(0, gap), false);
  const right = gap + 2 === s.length ? 0 : countPieces(s.slice(gap + 2), true);
  return left >= 0 && right >= 0 && left + right <= 7;
}

/**
 * The pieces of h16 *( ":" h16 ), where the last may be an IPv4address that
 * counts as two when mayEndInIpv4; -1 when s is not that.
 */
function countPieces(s: string, mayEndInIpv4: boolean): number {
  const groups = s.split(':');
  for (let i = 0; i < groups.length; i++) {
    if (isH16(groups[i])) continue;
    if (mayEndInIpv4 && i === groups.length - 1 && isIpv4Address(groups[i])) return groups.length + 1;
    return -1;
  }
  return groups.length;
}

/** h16 = 1*4HEXDIG */
function isH16(s: string): boolean {
  if (s.length === 0 || s.length > 4) return false;
  for (let i = 0; i < s.length; i++) if (!isHexDigit(s.charCodeAt(i))) return false;
  return true;
}

/** IPv4address = dec-octet "." dec-octet "." dec-octet "." dec-octet */
function isIpv4Address(s: string): boolean {
  const octets = s.split('.');
  return octets.length === 4 && octets.every(isDecOctet);
}

/** dec-octet: 0 to 255 in decimal, without leading zeros ("01" is not one). */
function isDecOctet(s: string): boolean {
  if (s.length === 0 || s.length > 3) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < DIGIT_0 || c > DIGIT_9) return false;
  }
  if (s.length > 1 && s.charCodeAt(0) === DIGIT_0) return false;
  return Number(s) <= 255;
}

function isHexDigit(c: number): boolean {
  return c < 256 && HEX_VALUE[c] >= 0;
}
