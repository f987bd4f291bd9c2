// The request-target forms of RFC 9112 §3.2 and the Host syntax of RFC 9110 §7.2.
import { HttpError } from './http-error.js';

/** RFC 3986 reg-name characters: unreserved / pct-encoded / sub-delims. */
const IS_REG_NAME = new Uint8Array(128);
for (const c of "-._~%!$&'()*+,;=") IS_REG_NAME[c.charCodeAt(0)] = 1;
for (let c = 0x30; c <= 0x39; c++) IS_REG_NAME[c] = 1;
for (let c = 0x41; c <= 0x5a; c++) IS_REG_NAME[c] = 1;
for (let c = 0x61; c <= 0x7a; c++) IS_REG_NAME[c] = 1;

const IP_LITERAL = /^\[(?:[0-9A-Fa-f:.]+|[vV][0-9A-Fa-f]+\.[A-Za-z0-9\-._~!$&'()*+,;=:]+)\]$/;

/**
 * True when s is `uri-host [ ":" port ]` (RFC 9110 §7.2). The empty string is
 * valid: a client sends an empty Host when the target has no authority.
 */
export function isValidHost(s: string): boolean {
  let end = s.length;
  // Find a port separator: the last colon, unless it sits inside an IP literal.
  const colon = s.lastIndexOf(':');
  if (colon >= 0 && colon > s.lastIndexOf(']')) {
    for (let i = colon + 1; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c < 0x30 || c > 0x39) return false;
    }
    end = colon;
  }
  if (end > 0 && s.charCodeAt(0) === 0x5b /* [ */) return IP_LITERAL.test(s.slice(0, end));
  for (let i = 0; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c >= 128 || IS_REG_NAME[c] !== 1) return false;
  }
  return true;
}

export interface AbsoluteTarget {
  authority: string;
  /** path and query; "/" when the target has an empty path */
  path: string;
}

const ABSOLUTE_FORM = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?#]*)(.*)$/;

/**
 * Splits an absolute-form target (RFC 9112 §3.2.2). Only http and https are
 * served; userinfo is an error (RFC 9110 §4.2.4).
 */
export function parseAbsoluteTarget(target: string): AbsoluteTarget {
  const m = ABSOLUTE_FORM.exec(target);
  if (m === null) {
    throw new HttpError(400, 'ERR_INVALID_TARGET', 'cannot parse request-target: not origin-form or absolute-form');
  }
  const scheme = m[1].toLowerCase();
  if (scheme !== 'http' && scheme !== 'https') {
    throw new HttpError(400, 'ERR_INVALID_TARGET', `cannot parse request-target: scheme ${scheme} is not http or https`);
  }
  const authority = m[2];
  if (authority.includes('@')) {
    throw new HttpError(400, 'ERR_INVALID_TARGET', 'cannot parse request-target: userinfo is not allowed');
  }
  if (authority === '' || !isValidHost(authority)) {
    throw new HttpError(400, 'ERR_INVALID_TARGET', 'cannot parse request-target: invalid authority');
  }
  let path = m[3];
  if (path === '' || path.charCodeAt(0) === 0x3f /* ? */) path = '/' + path;
  return { authority, path };
}

/** authority-form (RFC 9112 §3.2.3): uri-host ":" port, for CONNECT only. */
export function isAuthorityForm(target: string): boolean {
  const colon = target.lastIndexOf(':');
  // The port is required: a colon inside an IP literal ("[::1]") is not one.
  return colon > 0 && colon > target.lastIndexOf(']') && colon < target.length - 1 && isValidHost(target);
}
