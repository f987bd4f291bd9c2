// The four forms of request-target (RFC 9112 §3.2), each checked against the
// grammar of RFC 3986 before anything is taken from it:
//
//   origin-form     absolute-path [ "?" query ]         GET /a/b?c HTTP/1.1
//   absolute-form   absolute-URI, http or https         GET http://example.com/a HTTP/1.1
//   authority-form  uri-host ":" port, CONNECT only     CONNECT example.com:443 HTTP/1.1
//   asterisk-form   "*", OPTIONS only                   OPTIONS * HTTP/1.1
//
// No form has a fragment (RFC 9112 §3.2, RFC 3986 §3.5): a "#" is 400
// wherever it stands. Were it read as the end of the target, the
// application would see an authority or path the bytes do not carry
// ("http://exampl#e.com:443/" as exampl), while a proxy in front saw another.
import { ASTERISK, SLASH } from './bytes.js';
import { HttpError } from './http-error.js';
import { IS_UNRESERVED_OR_SUB_DELIM, isPctEncodedAt, isValidAuthority } from './uri-host.js';

const PERCENT = 0x25;
const QUESTION_MARK = 0x3f;

/**
 * The characters of path-abempty and query outside pct-encoded:
 * pchar = unreserved / pct-encoded / sub-delims / ":" / "@", and "/" and "?"
 * (RFC 3986 §3.3, §3.4).
 *
 * Beside them Spindle accepts `[ ] \ ^ ` { | }`, which RFC 3986 leaves out but
 * which clients following the WHATWG URL Standard (browsers, fetch) send
 * unencoded, as in "?a[]=1" or "?q={x}|y"; Node's parser and nginx accept
 * them too. They delimit nothing in a path or query, so they cannot change
 * what the target names (RFC 9112 §3 leaves this to the server: an invalid
 * request-line SHOULD be answered 400). Refused: "#" (see above), a "%" that
 * does not start "%" HEXDIG HEXDIG (two decoders would read it two ways),
 * and `" < >`, which URL-Standard clients always encode.
 */
const IS_PATH_OR_QUERY = new Uint8Array(128);
IS_PATH_OR_QUERY.set(IS_UNRESERVED_OR_SUB_DELIM);
for (const c of ':@/?[]\\^`{|}') IS_PATH_OR_QUERY[c.charCodeAt(0)] = 1;

export interface RequestTarget {
  /** path and query for origin-form and absolute-form ("/" for an empty path); "*" or the authority otherwise */
  path: string;
  /** the authority the target carries (absolute-form, authority-form), which overrides Host; null if none */
  authority: string | null;
}

/** Checks the target against its form's grammar and the method, and splits it. */
export function parseRequestTarget(method: string, target: string): RequestTarget {
  if (target.includes('#')) {
    throw invalidTarget('a "#" starts a fragment, which no request-target has (RFC 9112 §3.2)');
  }
  const first = target.charCodeAt(0);
  if (first === SLASH) {
    if (method === 'CONNECT') throw invalidTarget('CONNECT needs an authority-form request-target');
    checkPathAndQuery(target);
    return { path: target, authority: null }; // origin-form, the common case
  }
  if (first === ASTERISK && target.length === 1) {
    // RFC 9112 §3.2.4: asterisk-form is only for a server-wide OPTIONS.
    if (method !== 'OPTIONS') throw invalidTarget('asterisk-form request-target is only allowed with OPTIONS');
    return { path: target, authority: null };
  }
  if (method === 'CONNECT') {
    // RFC 9112 §3.2.3: authority-form is only for CONNECT, and only it.
    if (!isValidAuthority(target, true)) throw invalidTarget('CONNECT request-target is not host:port');
    return { path: target, authority: target };
  }
  return parseAbsoluteForm(target);
}

/** scheme "://" authority, then path-abempty [ "?" query ]; "#" is already refused. */
const ABSOLUTE_FORM = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?]*)(.*)$/s;

/**
 * absolute-form (RFC 9112 §3.2.2). Only http and https are served (RFC 9110
 * §4.2: http-URI = "http" "://" authority path-abempty [ "?" query ]);
 * userinfo is an error (RFC 9110 §4.2.4).
 */
function parseAbsoluteForm(target: string): RequestTarget {
  const m = ABSOLUTE_FORM.exec(target);
  if (m === null) throw invalidTarget('not origin-form or absolute-form');
  const scheme = m[1].toLowerCase();
  if (scheme !== 'http' && scheme !== 'https') throw invalidTarget(`scheme ${scheme} is not http or https`);
  const authority = m[2];
  if (authority.includes('@')) throw invalidTarget('userinfo is not allowed');
  if (!isValidAuthority(authority)) throw invalidTarget('the authority is not host [ ":" port ] (RFC 3986 §3.2.2, §3.2.3)');
  let path = m[3];
  checkPathAndQuery(path);
  if (path === '' || path.charCodeAt(0) === QUESTION_MARK) path = '/' + path;
  return { path, authority };
}

/** path-abempty [ "?" query ], as IS_PATH_OR_QUERY says. */
function checkPathAndQuery(s: string): void {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 128 && IS_PATH_OR_QUERY[c] === 1) continue;
    if (!isPctEncodedAt(s, i)) {
      const what = c === PERCENT ? 'a "%" not followed by two hex digits' : `the character ${s[i]} (0x${c.toString(16)})`;
      throw invalidTarget(`${what} is not allowed in a path or query (RFC 3986 §3.3, §3.4)`);
    }
    i += 2;
  }
}

function invalidTarget(why: string): HttpError {
  return new HttpError(400, 'ERR_INVALID_TARGET', `cannot parse request-target: ${why}`);
}
