// Request-targets and Host as a specification (RFC 9112 §3.2, RFC 9110 §7.2,
// RFC 3986): each form of target, each rule of the authority grammar with a
// valid and an invalid case, in Host, in absolute-form and in authority-form,
// and the characters of a path and a query. Every case runs whole, split at
// every offset and one byte at a time (see parser-harness.ts).
import { describe, test } from 'node:test';
import { assertParsesAtEverySplit, showBytes, testParserCases, type ParserCase } from './parser-harness.js';

interface HostCase {
  host: string;
  /** the rule of RFC 3986 §3.2.2 the case exercises */
  why: string;
}

/** uri-host values RFC 3986 §3.2.2 allows, one or more per rule. */
const VALID_HOSTS: HostCase[] = [
  { host: 'example.com', why: 'reg-name' },
  { host: "a_b~c-d.e!$&'()*+,;=", why: 'reg-name: every unreserved and sub-delims character' },
  { host: '%41b%7e%7E.example', why: 'reg-name: pct-encoded, either case of hex digit' },
  { host: '192.0.2.1', why: 'IPv4address' },
  { host: '999.0.2.1', why: 'no IPv4address but still a reg-name' },
  { host: '[1:2:3:4:5:6:7:8]', why: 'IPv6: 6( h16 ":" ) ls32' },
  { host: '[1:2:3:4:5:6:192.0.2.1]', why: 'IPv6: 6( h16 ":" ) ls32, ls32 an IPv4address' },
  { host: '[::2:3:4:5:6:7:8]', why: 'IPv6: "::" 5( h16 ":" ) ls32' },
  { host: '[1::3:4:5:6:7:8]', why: 'IPv6: [ h16 ] "::" 4( h16 ":" ) ls32' },
  { host: '[1:2::4:5:6:7:8]', why: 'IPv6: [ *1( h16 ":" ) h16 ] "::" 3( h16 ":" ) ls32' },
  { host: '[1:2:3::5:6:7:8]', why: 'IPv6: [ *2( h16 ":" ) h16 ] "::" 2( h16 ":" ) ls32' },
  { host: '[1:2:3:4::6:7:8]', why: 'IPv6: [ *3( h16 ":" ) h16 ] "::" h16 ":" ls32' },
  { host: '[1:2:3:4:5::7:8]', why: 'IPv6: [ *4( h16 ":" ) h16 ] "::" ls32' },
  { host: '[::ffff:192.0.2.1]', why: 'IPv6: [ *4( h16 ":" ) h16 ] "::" ls32, ls32 an IPv4address' },
  { host: '[1:2:3:4:5:6::8]', why: 'IPv6: [ *5( h16 ":" ) h16 ] "::" h16' },
  { host: '[1:2:3:4:5:6:7::]', why: 'IPv6: [ *6( h16 ":" ) h16 ] "::"' },
  { host: '[::]', why: 'IPv6: "::" alone' },
  { host: '[::1]', why: 'IPv6: loopback' },
  { host: '[2001:DB8:0:abcd::fFfF]', why: 'IPv6: h16 of one to four hex digits, either case' },
  { host: '[v1.x]', why: 'IPvFuture' },
  { host: "[V7f.a:b!$&'()*+,;=-._~]", why: 'IPvFuture: a capital V, unreserved, sub-delims and ":"' },
];

/** uri-host values RFC 3986 §3.2.2 does not allow. None has a byte that ends a request-target early. */
const INVALID_HOSTS: HostCase[] = [
  { host: 'exa%zz', why: 'pct-encoded with no hex digits' },
  { host: 'exa%4', why: 'pct-encoded with one hex digit' },
  { host: 'exa%', why: 'a "%" at the end' },
  { host: 'a\\b', why: 'a backslash, outside reg-name' },
  { host: 'a"b', why: 'a DQUOTE, outside reg-name' },
  { host: 'user@a', why: 'userinfo' },
  { host: '[]', why: 'an empty IP literal' },
  { host: '[::1', why: 'an unclosed IP literal' },
  { host: '[::1]x', why: 'bytes after the IP literal' },
  { host: '[:::::]', why: 'IPv6: colons only' },
  { host: '[:::]', why: 'IPv6: ":::"' },
  { host: '[1:::2]', why: 'IPv6: ":::" inside' },
  { host: '[1::2::3]', why: 'IPv6: two "::"' },
  { host: '[:1::2]', why: 'IPv6: a single leading ":"' },
  { host: '[1::2:]', why: 'IPv6: a single trailing ":"' },
  { host: '[1:2:3:4:5:6:7]', why: 'IPv6: seven pieces and no "::"' },
  { host: '[1:2:3:4:5:6:7:8:9]', why: 'IPv6: nine pieces' },
  { host: '[1:2:3:4:5:6:7:8::]', why: 'IPv6: eight pieces and a "::"' },
  { host: '[::1:2:3:4:5:6:7:8]', why: 'IPv6: a "::" and eight pieces' },
  { host: '[1:2:3:4:5:6:7:192.0.2.1]', why: 'IPv6: seven pieces and an IPv4address' },
  { host: '[12345::]', why: 'IPv6: an h16 of five hex digits' },
  { host: '[g::1]', why: 'IPv6: a piece that is not hex' },
  { host: '[::192.0.2.256]', why: 'IPv6: a dec-octet above 255' },
  { host: '[::192.0.2.01]', why: 'IPv6: a dec-octet with a leading zero' },
  { host: '[::192.0.2]', why: 'IPv6: an IPv4address of three octets' },
  { host: '[::192.0.2.1.5]', why: 'IPv6: an IPv4address of five octets' },
  { host: '[192.0.2.1::]', why: 'IPv6: an IPv4address that is not last' },
  { host: '[::192.0.2.1:1]', why: 'IPv6: a piece after the IPv4address' },
  { host: '[fe80::1%25eth0]', why: 'IPv6: a zone identifier (RFC 6874, not RFC 3986)' },
  { host: '[192.0.2.1]', why: 'an IPv4address in brackets' },
  { host: '[v.x]', why: 'IPvFuture: no hex digit after "v"' },
  { host: '[v1x]', why: 'IPvFuture: no "."' },
  { host: '[v1.]', why: 'IPvFuture: nothing after "."' },
  { host: '[vg.x]', why: 'IPvFuture: a version that is not hex' },
  { host: '[v1.x%41]', why: 'IPvFuture: pct-encoded, which it does not allow' },
];

/** port = *DIGIT (RFC 3986 §3.2.3), and at most 65535. */
const VALID_PORTS: HostCase[] = [
  { host: '80', why: 'digits' },
  { host: '0', why: 'zero' },
  { host: '65535', why: 'the largest port' },
  { host: '0080', why: 'leading zeros, which *DIGIT allows; the value is 80' },
];

const INVALID_PORTS: HostCase[] = [
  { host: '65536', why: 'a port above 65535' },
  { host: '000065536', why: 'a port above 65535 after leading zeros' },
  { host: '99999999999999999999', why: 'a port of twenty digits' },
  { host: '80x', why: 'a letter after the digits' },
  { host: '0x50', why: 'hex' },
  { host: '-1', why: 'a sign' },
  { host: '+80', why: 'a sign' },
  { host: 'b', why: 'a name' },
  { host: '80:80', why: 'two ports' },
];

const HOST_ERROR = { status: 400, code: 'ERR_INVALID_HOST' };
const TARGET_ERROR = { status: 400, code: 'ERR_INVALID_TARGET' };

function get(target: string, host: string): string {
  return `GET ${target} HTTP/1.1\r\nHost: ${host}\r\n\r\n`;
}

describe('request-target forms', () => {
  testParserCases([
    {
      name: 'keeps an origin-form target as sent, query and escapes included',
      input: 'GET /a/b%20c?d=e&f HTTP/1.1\r\nHost: example.com\r\n\r\n',
      requests: [{ target: '/a/b%20c?d=e&f', path: '/a/b%20c?d=e&f', authority: 'example.com' }],
    },
    {
      name: 'takes the authority of an absolute-form target over Host',
      input: 'GET http://example.com:8080/a?b HTTP/1.1\r\nHost: other.example\r\n\r\n',
      requests: [{ target: 'http://example.com:8080/a?b', path: '/a?b', authority: 'example.com:8080' }],
    },
    {
      name: 'gives an absolute-form target with an empty path the path /',
      input: 'GET http://example.com HTTP/1.1\r\nHost: example.com\r\n\r\nGET http://example.com?x=1 HTTP/1.1\r\nHost: example.com\r\n\r\n',
      requests: [
        { path: '/', authority: 'example.com' },
        { path: '/?x=1', authority: 'example.com' },
      ],
    },
    {
      name: 'accepts https and a scheme in any case in absolute-form',
      input: 'GET HTTPS://Example.com/x HTTP/1.1\r\nHost: a\r\n\r\n',
      requests: [{ path: '/x', authority: 'Example.com' }],
    },
    {
      name: 'accepts an IPv6 literal with a port in absolute-form',
      input: 'GET http://[::1]:8080/ HTTP/1.1\r\nHost: a\r\n\r\n',
      requests: [{ path: '/', authority: '[::1]:8080' }],
    },
    {
      name: 'rejects userinfo in an absolute-form target',
      input: 'GET http://user:pass@example.com/ HTTP/1.1\r\nHost: example.com\r\n\r\n',
      error: { status: 400, code: 'ERR_INVALID_TARGET' },
    },
    {
      name: 'rejects an absolute-form scheme other than http or https',
      input: 'GET ftp://example.com/ HTTP/1.1\r\nHost: example.com\r\n\r\n',
      error: { status: 400, code: 'ERR_INVALID_TARGET' },
    },
    {
      name: 'rejects an absolute-form target with an empty authority',
      input: 'GET http:///a HTTP/1.1\r\nHost: example.com\r\n\r\n',
      error: { status: 400, code: 'ERR_INVALID_TARGET' },
    },
    {
      name: 'rejects an absolute-form target with an invalid authority',
      input: 'GET http://exa%mple.com:80x/ HTTP/1.1\r\nHost: example.com\r\n\r\n',
      error: { status: 400, code: 'ERR_INVALID_TARGET' },
    },
    {
      name: 'rejects a target that is neither origin-form nor absolute-form',
      input: 'GET example.com/a HTTP/1.1\r\nHost: example.com\r\n\r\n',
      error: { status: 400, code: 'ERR_INVALID_TARGET' },
    },
    {
      name: 'accepts authority-form with CONNECT and takes it as the authority',
      input: 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n',
      requests: [{ method: 'CONNECT', target: 'example.com:443', path: 'example.com:443', authority: 'example.com:443' }],
    },
    {
      name: 'accepts authority-form with an IPv6 literal and a port',
      input: 'CONNECT [2001:db8::1]:443 HTTP/1.1\r\nHost: [2001:db8::1]:443\r\n\r\n',
      requests: [{ authority: '[2001:db8::1]:443' }],
    },
    {
      name: 'rejects authority-form without a port',
      input: 'CONNECT example.com HTTP/1.1\r\nHost: example.com\r\n\r\n',
      error: { status: 400, code: 'ERR_INVALID_TARGET' },
    },
    {
      name: 'rejects authority-form with an empty port',
      input: 'CONNECT example.com: HTTP/1.1\r\nHost: example.com\r\n\r\n',
      error: { status: 400, code: 'ERR_INVALID_TARGET' },
    },
    {
      name: 'rejects authority-form that is an IPv6 literal without a port',
      input: 'CONNECT [::1] HTTP/1.1\r\nHost: a\r\n\r\n',
      error: { status: 400, code: 'ERR_INVALID_TARGET' },
    },
    {
      name: 'rejects authority-form with a method other than CONNECT',
      input: 'GET example.com:443 HTTP/1.1\r\nHost: example.com\r\n\r\n',
      error: { status: 400, code: 'ERR_INVALID_TARGET' },
    },
    {
      name: 'rejects CONNECT with an origin-form target',
      input: 'CONNECT / HTTP/1.1\r\nHost: example.com\r\n\r\n',
      error: { status: 400, code: 'ERR_INVALID_TARGET' },
    },
    {
      name: 'rejects CONNECT with an absolute-form target',
      input: 'CONNECT http://example.com:443/ HTTP/1.1\r\nHost: example.com\r\n\r\n',
      error: { status: 400, code: 'ERR_INVALID_TARGET' },
    },
    {
      name: 'accepts asterisk-form with OPTIONS',
      input: 'OPTIONS * HTTP/1.1\r\nHost: example.com\r\n\r\n',
      requests: [{ method: 'OPTIONS', target: '*', path: '*', authority: 'example.com' }],
    },
    {
      name: 'rejects asterisk-form with a method other than OPTIONS',
      input: 'GET * HTTP/1.1\r\nHost: example.com\r\n\r\n',
      error: { status: 400, code: 'ERR_INVALID_TARGET' },
    },
    {
      name: 'rejects a target that starts with an asterisk but is not asterisk-form',
      input: 'OPTIONS *x HTTP/1.1\r\nHost: example.com\r\n\r\n',
      error: { status: 400, code: 'ERR_INVALID_TARGET' },
    },
  ]);
});

describe('Host', () => {
  testParserCases([
    {
      name: 'rejects an HTTP/1.1 request without Host',
      input: 'GET / HTTP/1.1\r\nX-A: 1\r\n\r\n',
      error: { status: 400, code: 'ERR_MISSING_HOST' },
    },
    {
      name: 'accepts an HTTP/1.0 request without Host, with an empty authority',
      input: 'GET / HTTP/1.0\r\n\r\n',
      requests: [{ authority: '' }],
    },
    {
      name: 'accepts an HTTP/1.0 request with Host and takes it as the authority',
      input: 'GET / HTTP/1.0\r\nHost: example.com\r\n\r\n',
      requests: [{ authority: 'example.com' }],
    },
    {
      name: 'rejects two Host fields, even identical ones',
      input: 'GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n',
      error: { status: 400, code: 'ERR_INVALID_HOST' },
    },
    {
      name: 'rejects two Host fields in HTTP/1.0',
      input: 'GET / HTTP/1.0\r\nHost: a\r\nhost: b\r\n\r\n',
      error: { status: 400, code: 'ERR_INVALID_HOST' },
    },
    {
      name: 'rejects a Host that is a list',
      input: 'GET / HTTP/1.1\r\nHost: a, b\r\n\r\n',
      error: { status: 400, code: 'ERR_INVALID_HOST' },
    },
    {
      name: 'accepts an empty Host',
      input: 'GET / HTTP/1.1\r\nHost:\r\n\r\n',
      requests: [{ authority: '' }],
    },
    {
      name: 'accepts a reg-name, an IPv4 address and a port',
      input:
        'GET / HTTP/1.1\r\nHost: www.example-1.com\r\n\r\n' +
        'GET / HTTP/1.1\r\nHost: 192.0.2.1:8080\r\n\r\n' +
        "GET / HTTP/1.1\r\nHost: a_b~c!$&'()*+,;=%41\r\n\r\n",
      requests: [{ authority: 'www.example-1.com' }, { authority: '192.0.2.1:8080' }, { authority: "a_b~c!$&'()*+,;=%41" }],
    },
    {
      name: 'accepts an IPv6 literal, with and without a port',
      input: 'GET / HTTP/1.1\r\nHost: [2001:db8::1]:8080\r\n\r\nGET / HTTP/1.1\r\nHost: [::1]\r\n\r\n',
      requests: [{ authority: '[2001:db8::1]:8080' }, { authority: '[::1]' }],
    },
    ...['exa mple.com', 'a/b', 'user@a', 'a:b', 'a:80x', '[::1', '[::1]x', '::1', 'caf\xe9.example', 'a\\b', '[]:80'].map(
      (host) => ({
        name: `rejects the invalid Host ${showBytes(host)}`,
        input: `GET / HTTP/1.1\r\nHost: ${host}\r\n\r\n`,
        error: { status: 400, code: 'ERR_INVALID_HOST' },
      }),
    ),
  ]);
});

describe('Host: uri-host [ ":" port ] (RFC 9110 §7.2, RFC 3986 §3.2.2)', () => {
  testParserCases([
    ...VALID_HOSTS.flatMap(({ host, why }): ParserCase[] => [
      { name: `accepts the Host ${showBytes(host)} (${why})`, input: get('/', host), requests: [{ authority: host }] },
      { name: `accepts the Host ${showBytes(host + ':8080')} (${why}, with a port)`, input: get('/', `${host}:8080`), requests: [{ authority: `${host}:8080` }] },
    ]),
    ...INVALID_HOSTS.flatMap(({ host, why }): ParserCase[] => [
      { name: `rejects the Host ${showBytes(host)} (${why})`, input: get('/', host), error: HOST_ERROR },
      { name: `rejects the Host ${showBytes(host + ':80')} (${why}, with a port)`, input: get('/', `${host}:80`), error: HOST_ERROR },
    ]),
    ...VALID_PORTS.map(({ host: port, why }): ParserCase => ({
      name: `accepts the Host port ${showBytes(port)} (${why})`,
      input: get('/', `example.com:${port}`),
      requests: [{ authority: `example.com:${port}` }],
    })),
    ...INVALID_PORTS.map(({ host: port, why }): ParserCase => ({
      name: `rejects the Host port ${showBytes(port)} (${why})`,
      input: get('/', `example.com:${port}`),
      error: HOST_ERROR,
    })),
    {
      name: 'accepts an empty port, which RFC 3986 §3.2.3 allows',
      input: get('/', 'example.com:') + get('/', '[::1]:'),
      requests: [{ authority: 'example.com:' }, { authority: '[::1]:' }],
    },
    {
      name: 'rejects a port with an empty host (RFC 9110 §4.2.1: an http URI has a host)',
      input: get('/', ':80'),
      error: HOST_ERROR,
    },
    {
      name: 'rejects a "#" in Host',
      input: get('/', 'example.com#x'),
      error: HOST_ERROR,
    },
  ]);
});

describe('the authority of an absolute-form target (RFC 9112 §3.2.2, RFC 3986 §3.2)', () => {
  testParserCases([
    ...VALID_HOSTS.flatMap(({ host, why }): ParserCase[] => [
      {
        name: `accepts http://${host}/p?q (${why}) and takes its authority over Host`,
        input: get(`http://${host}/p?q`, 'other.example'),
        requests: [{ authority: host, path: '/p?q' }],
      },
      {
        name: `accepts http://${host}:8080 (${why}, with a port)`,
        input: get(`http://${host}:8080`, 'other.example'),
        requests: [{ authority: `${host}:8080`, path: '/' }],
      },
    ]),
    ...INVALID_HOSTS.flatMap(({ host, why }): ParserCase[] => [
      { name: `rejects http://${host}/ (${why})`, input: get(`http://${host}/`, 'example.com'), error: TARGET_ERROR },
      { name: `rejects http://${host}:80/ (${why}, with a port)`, input: get(`http://${host}:80/`, 'example.com'), error: TARGET_ERROR },
    ]),
    ...VALID_PORTS.map(({ host: port, why }): ParserCase => ({
      name: `accepts the absolute-form port ${showBytes(port)} (${why})`,
      input: get(`http://example.com:${port}/`, 'example.com'),
      requests: [{ authority: `example.com:${port}` }],
    })),
    ...INVALID_PORTS.map(({ host: port, why }): ParserCase => ({
      name: `rejects the absolute-form port ${showBytes(port)} (${why})`,
      input: get(`http://example.com:${port}/`, 'example.com'),
      error: TARGET_ERROR,
    })),
    {
      name: 'accepts an empty port in absolute-form',
      input: get('http://example.com:/a', 'example.com'),
      requests: [{ authority: 'example.com:', path: '/a' }],
    },
    {
      name: 'rejects an absolute-form target with a port and no host',
      input: get('http://:80/a', 'example.com'),
      error: TARGET_ERROR,
    },
  ]);
});

describe('the authority of an authority-form target (RFC 9112 §3.2.3)', () => {
  const connect = (target: string): string => `CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n\r\n`;
  const connectWithHost = (target: string): string => `CONNECT ${target} HTTP/1.1\r\nHost: example.com:443\r\n\r\n`;
  testParserCases([
    ...VALID_HOSTS.map(({ host, why }): ParserCase => ({
      name: `accepts CONNECT ${host}:443 (${why})`,
      input: connect(`${host}:443`),
      requests: [{ authority: `${host}:443`, path: `${host}:443` }],
    })),
    ...INVALID_HOSTS.map(({ host, why }): ParserCase => ({
      name: `rejects CONNECT ${host}:443 (${why})`,
      input: connectWithHost(`${host}:443`),
      error: TARGET_ERROR,
    })),
    ...VALID_PORTS.map(({ host: port, why }): ParserCase => ({
      name: `accepts the authority-form port ${showBytes(port)} (${why})`,
      input: connect(`example.com:${port}`),
      requests: [{ authority: `example.com:${port}` }],
    })),
    ...INVALID_PORTS.map(({ host: port, why }): ParserCase => ({
      name: `rejects the authority-form port ${showBytes(port)} (${why})`,
      input: connectWithHost(`example.com:${port}`),
      error: TARGET_ERROR,
    })),
  ]);
});

describe('no request-target has a fragment (RFC 9112 §3.2, RFC 3986 §3.5)', () => {
  testParserCases([
    ...[
      ['/a#b', 'origin-form'],
      ['/#', 'origin-form, a "#" right after the slash'],
      ['/a?q=1#frag', 'origin-form, a "#" after the query'],
      ['https://exampl#e.com:443', 'absolute-form, a "#" inside the host (once read as http://exampl/)'],
      ['https://example.com:4#3', 'absolute-form, a "#" inside the port (once read as port 4)'],
      ['http://example.com/a#b', 'absolute-form, a "#" in the path'],
      ['http://example.com#', 'absolute-form, a "#" right after the authority'],
      ['http://example.com/?q#', 'absolute-form, a "#" after the query'],
    ].map(([target, why]): ParserCase => ({
      name: `rejects ${target} (${why})`,
      input: get(target, 'example.com'),
      error: TARGET_ERROR,
    })),
    {
      name: 'rejects CONNECT example.com:4#3 (authority-form, a "#" inside the port)',
      input: 'CONNECT example.com:4#3 HTTP/1.1\r\nHost: example.com:443\r\n\r\n',
      error: TARGET_ERROR,
    },
    {
      name: 'rejects CONNECT exa#mple.com:443 (authority-form, a "#" inside the host)',
      input: 'CONNECT exa#mple.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n',
      error: TARGET_ERROR,
    },
    {
      name: 'rejects OPTIONS *# (not asterisk-form)',
      input: 'OPTIONS *# HTTP/1.1\r\nHost: example.com\r\n\r\n',
      error: TARGET_ERROR,
    },
    {
      name: 'accepts a percent-encoded "#", which is data',
      input: get('/a%23b?c=%23', 'example.com') + get('http://example.com/%23', 'example.com'),
      requests: [{ path: '/a%23b?c=%23' }, { path: '/%23', authority: 'example.com' }],
    },
  ]);
});

describe('path and query characters (RFC 3986 §3.3, §3.4)', () => {
  // pchar and "/" "?", plus `[ ] \ ^ ` { | }`, which WHATWG URL clients send
  // unencoded (see IS_PATH_OR_QUERY in request-target.ts); never `" # < >`.
  const REFUSED = '"#<>%';
  test('accepts every visible ASCII byte but " # < > and a bare % in a path and in a query, in origin-form and absolute-form', () => {
    for (let byte = 0x21; byte <= 0x7e; byte++) {
      const c = String.fromCharCode(byte);
      for (const target of [`/a${c}b`, `/?a${c}b`, `http://example.com/a${c}b`, `http://example.com/?a${c}b`]) {
        const path = target.startsWith('http:') ? target.slice('http://example.com'.length) : target;
        assertParsesAtEverySplit(
          REFUSED.includes(c)
            ? { name: `${showBytes(target)} is refused`, input: get(target, 'example.com'), error: TARGET_ERROR }
            : { name: `${showBytes(target)} is accepted`, input: get(target, 'example.com'), requests: [{ target, path }] },
        );
      }
    }
  });

  testParserCases([
    {
      name: 'accepts pct-encoded octets in either case, in the path and the query',
      input: get('/%41%7e%7E/%2F?q=%2f%C3%A9&r=%25', 'example.com'),
      requests: [{ path: '/%41%7e%7E/%2F?q=%2f%C3%A9&r=%25' }],
    },
    {
      name: "accepts what browsers send unencoded: brackets, braces, |, ^, ` and \\ in a query",
      input: get('/search?tags[]=a&filter[name]={x}|y^z`w\\v', 'example.com'),
      requests: [{ path: '/search?tags[]=a&filter[name]={x}|y^z`w\\v' }],
    },
    {
      name: 'accepts ":", "@", "?" and "/" in a query, and a second "?"',
      input: get('/a:b@c?d=e:f@g/h?i', 'example.com'),
      requests: [{ path: '/a:b@c?d=e:f@g/h?i' }],
    },
    ...['/%zz', '/%4', '/a%', '/%4g', '/%%41', '/%%32%65', '/?q=%', '/?q=100%', '/?q=%zz', 'http://example.com/%zz', 'http://example.com?%'].map(
      (target): ParserCase => ({
        name: `rejects ${showBytes(target)}: a "%" not followed by two hex digits (RFC 3986 §2.1)`,
        input: get(target, 'example.com'),
        error: TARGET_ERROR,
      }),
    ),
  ]);
});
