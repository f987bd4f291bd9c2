// The request parser as a specification: each case is raw bytes and the request
// (or the HttpError) they earn, checked whole, split at every offset, and one
// byte at a time (see parser-harness.ts). Request-targets and Host are in
// request-target.test.ts, chunked bodies in chunked-decoder.test.ts,
// smuggling regressions in smuggling.test.ts.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DEFAULT_PARSER_LIMITS, MESSAGE, NEED_MORE, HEAD, RequestParser } from '../src/http/request-parser.js';
import { assertParsesAtEverySplit, showBytes, testParserCases } from './parser-harness.js';

describe('request line', () => {
  testParserCases([
    {
      name: 'parses a GET in origin-form into a complete request',
      input: 'GET /index.html?q=1 HTTP/1.1\r\nHost: example.com\r\n\r\n',
      requests: [
        {
          method: 'GET',
          target: '/index.html?q=1',
          path: '/index.html?q=1',
          versionMinor: 1,
          headers: ['host', 'example.com'],
          authority: 'example.com',
          keepAlive: true,
          expectContinue: false,
          contentLength: 0,
          body: '',
          trailers: [],
          hadHead: false,
        },
      ],
    },
    {
      name: 'accepts any token as a method and keeps its case',
      input: "M-SEARCH!#$%&'*+.^_`|~9 / HTTP/1.1\r\nHost: a\r\n\r\nget / HTTP/1.1\r\nHost: a\r\n\r\n",
      requests: [{ method: "M-SEARCH!#$%&'*+.^_`|~9" }, { method: 'get' }],
    },
    {
      name: 'rejects a method with a character that is not a tchar',
      input: 'GE(T / HTTP/1.1\r\nHost: a\r\n\r\n',
      error: { status: 400, code: 'ERR_INVALID_METHOD' },
    },
    {
      name: 'rejects a request line that starts with a space',
      input: ' GET / HTTP/1.1\r\nHost: a\r\n\r\n',
      error: { status: 400, code: 'ERR_INVALID_METHOD' },
    },
    {
      name: 'rejects HTAB instead of SP after the method',
      input: 'GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n',
      error: { status: 400, code: 'ERR_INVALID_METHOD' },
    },
    {
      name: 'rejects a request line that is only a method',
      input: 'GET\r\nHost: a\r\n\r\n',
      error: { status: 400, code: 'ERR_INVALID_METHOD' },
    },
    {
      name: 'rejects two spaces between method and target',
      input: 'GET  / HTTP/1.1\r\nHost: a\r\n\r\n',
      error: { status: 400, code: 'ERR_INVALID_TARGET' },
    },
    {
      name: 'rejects two spaces between target and version',
      input: 'GET /  HTTP/1.1\r\nHost: a\r\n\r\n',
      error: { status: 400, code: 'ERR_INVALID_VERSION' },
    },
    {
      name: 'rejects a space after the version',
      input: 'GET / HTTP/1.1 \r\nHost: a\r\n\r\n',
      error: { status: 400, code: 'ERR_INVALID_VERSION' },
    },
    {
      name: 'rejects a request line without a version (HTTP/0.9 simple request)',
      input: 'GET /\r\n\r\n',
      error: { status: 400, code: 'ERR_INVALID_TARGET' },
    },
  ]);

  test('rejects every byte outside 0x21-0x7E in the request-target with 400', () => {
    for (let byte = 0; byte < 256; byte++) {
      if (byte >= 0x21 && byte <= 0x7e) continue;
      // SP ends the target early and leaves junk for the version; LF ends
      // the line without its CR; every other byte is no target byte at all.
      const code = byte === 0x20 ? 'ERR_INVALID_VERSION' : byte === 0x0a ? 'ERR_BARE_LF' : 'ERR_INVALID_TARGET';
      assertParsesAtEverySplit({
        name: `byte 0x${byte.toString(16)} in the target`,
        input: `GET /a${String.fromCharCode(byte)}b HTTP/1.1\r\nHost: a\r\n\r\n`,
        error: { status: 400, code },
      });
    }
  });
});

describe('HTTP version', () => {
  testParserCases([
    {
      name: 'parses HTTP/1.0 as minor version 0, without a Host',
      input: 'GET / HTTP/1.0\r\n\r\n',
      requests: [{ versionMinor: 0, authority: '', keepAlive: false }],
    },
    {
      name: 'parses HTTP/1.1 as minor version 1',
      input: 'GET / HTTP/1.1\r\nHost: a\r\n\r\n',
      requests: [{ versionMinor: 1, keepAlive: true }],
    },
    {
      name: 'treats HTTP/1.2 and HTTP/1.9 as HTTP/1.1',
      input: 'GET / HTTP/1.2\r\nHost: a\r\n\r\nGET / HTTP/1.9\r\nHost: a\r\n\r\n',
      requests: [
        { versionMinor: 1, keepAlive: true },
        { versionMinor: 1, keepAlive: true },
      ],
    },
    {
      name: 'requires Host in HTTP/1.2 as in HTTP/1.1',
      input: 'GET / HTTP/1.2\r\n\r\n',
      error: { status: 400, code: 'ERR_MISSING_HOST' },
    },
    ...['HTTP/2.0', 'HTTP/3.0', 'HTTP/0.9', 'HTTP/9.9'].map((version) => ({
      name: `answers 505 to ${version}`,
      input: `GET / ${version}\r\nHost: a\r\n\r\n`,
      error: { status: 505, code: 'ERR_VERSION_NOT_SUPPORTED' },
    })),
    ...['http/1.1', 'Http/1.1', 'HTTP/1.10', 'HTTP/11', 'HTTP/1', 'HTTP/1.x', 'HTTP/a.1', 'HTTP-1.1', 'HTTPS/1.1', 'HTTP/1,1'].map(
      (version) => ({
        name: `rejects the malformed version ${version} with 400`,
        input: `GET / ${version}\r\nHost: a\r\n\r\n`,
        error: { status: 400, code: 'ERR_INVALID_VERSION' },
      }),
    ),
  ]);
});

describe('empty lines before the request line', () => {
  testParserCases([
    {
      name: 'ignores CRLFs before the request line',
      input: '\r\n\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n',
      requests: [{ method: 'GET', path: '/' }],
    },
    {
      name: 'ignores a CRLF after a body, before the next pipelined request',
      input: 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhi\r\nGET /next HTTP/1.1\r\nHost: a\r\n\r\n',
      requests: [{ body: 'hi' }, { path: '/next' }],
    },
    {
      name: 'stays idle after nothing but empty lines',
      input: '\r\n\r\n',
      isIdle: true,
    },
    {
      name: 'waits after a lone CR',
      input: '\r\n\r',
      isIdle: false,
    },
    {
      name: 'rejects a bare LF as an empty line before the request line',
      input: '\nGET / HTTP/1.1\r\nHost: a\r\n\r\n',
      error: { status: 400, code: 'ERR_BARE_LF' },
    },
  ]);
});

describe('header fields', () => {
  testParserCases([
    {
      name: 'lower-cases names and keeps every field, duplicates too, in order',
      input: 'GET / HTTP/1.1\r\nHost: a\r\nX-One: 1\r\nACCEPT: text/html, */*\r\nx-one: 2\r\n\r\n',
      requests: [{ headers: ['host', 'a', 'x-one', '1', 'accept', 'text/html, */*', 'x-one', '2'] }],
    },
    {
      name: 'strips OWS around a value and keeps whitespace inside it',
      input: 'GET / HTTP/1.1\r\nHost:a\r\nX-A: \t a \t b \t\r\n\r\n',
      requests: [{ headers: ['host', 'a', 'x-a', 'a \t b'] }],
    },
    {
      name: 'accepts an empty value, with or without whitespace',
      input: 'GET / HTTP/1.1\r\nHost: a\r\nX-Empty:\r\nX-Blank:   \r\n\r\n',
      requests: [{ headers: ['host', 'a', 'x-empty', '', 'x-blank', ''] }],
    },
    {
      name: 'accepts obs-text in a value and reads it as latin1',
      input: 'GET / HTTP/1.1\r\nHost: a\r\nX-Name: caf\xe9 \xff\r\n\r\n',
      requests: [{ headers: ['host', 'a', 'x-name', 'caf\u00e9 \u00ff'] }],
    },
    {
      name: 'accepts every tchar in a name',
      input: "GET / HTTP/1.1\r\nHost: a\r\n!#$%&'*+-.^_`|~09AZaz: v\r\n\r\n",
      requests: [{ headers: ['host', 'a', "!#$%&'*+-.^_`|~09azaz", 'v'] }],
    },
    {
      name: 'rejects a name with a character that is not a tchar',
      input: 'GET / HTTP/1.1\r\nHost: a\r\nX(A): 1\r\n\r\n',
      error: { status: 400, code: 'ERR_INVALID_HEADER_NAME' },
    },
    {
      name: 'rejects a name with a space inside it',
      input: 'GET / HTTP/1.1\r\nHost: a\r\nX A: 1\r\n\r\n',
      error: { status: 400, code: 'ERR_INVALID_HEADER_NAME' },
    },
    {
      name: 'rejects a name with a non-ASCII byte',
      input: 'GET / HTTP/1.1\r\nHost: a\r\nX-\xe9: 1\r\n\r\n',
      error: { status: 400, code: 'ERR_INVALID_HEADER_NAME' },
    },
    {
      name: 'rejects an empty name',
      input: 'GET / HTTP/1.1\r\nHost: a\r\n: 1\r\n\r\n',
      error: { status: 400, code: 'ERR_INVALID_HEADER_NAME' },
    },
    {
      name: 'rejects a field line without a colon',
      input: 'GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n',
      error: { status: 400, code: 'ERR_INVALID_HEADER_NAME' },
    },
    {
      name: 'rejects a space between the name and the colon',
      input: 'GET / HTTP/1.1\r\nHost : a\r\n\r\n',
      error: { status: 400, code: 'ERR_INVALID_HEADER_NAME' },
    },
    {
      name: 'rejects an HTAB between the name and the colon',
      input: 'GET / HTTP/1.1\r\nHost\t: a\r\n\r\n',
      error: { status: 400, code: 'ERR_INVALID_HEADER_NAME' },
    },
    {
      name: 'rejects obs-fold continued with a space',
      input: 'GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\r\n 2\r\n\r\n',
      error: { status: 400, code: 'ERR_OBS_FOLD' },
    },
    {
      name: 'rejects obs-fold continued with an HTAB',
      input: 'GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\r\n\t2\r\n\r\n',
      error: { status: 400, code: 'ERR_OBS_FOLD' },
    },
    {
      name: 'rejects NUL in a value',
      input: 'GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\x002\r\n\r\n',
      error: { status: 400, code: 'ERR_INVALID_HEADER_VALUE' },
    },
    {
      name: 'rejects NUL in a name',
      input: 'GET / HTTP/1.1\r\nHost: a\r\nX-\x00A: 1\r\n\r\n',
      error: { status: 400, code: 'ERR_INVALID_HEADER_NAME' },
    },
    {
      name: 'rejects a bare CR in a value',
      input: 'GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\r2\r\n\r\n',
      error: { status: 400, code: 'ERR_INVALID_HEADER_VALUE' },
    },
    {
      name: 'rejects a bare CR at the end of a value, before CRLF',
      input: 'GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\r\r\n\r\n',
      error: { status: 400, code: 'ERR_INVALID_HEADER_VALUE' },
    },
    {
      name: 'rejects a bare CR in a name',
      input: 'GET / HTTP/1.1\r\nHost: a\r\nX\r-A: 1\r\n\r\n',
      error: { status: 400, code: 'ERR_INVALID_HEADER_NAME' },
    },
    {
      name: 'rejects a bare CR in the request line',
      input: 'GET /\r HTTP/1.1\r\nHost: a\r\n\r\n',
      error: { status: 400, code: 'ERR_INVALID_TARGET' },
    },
    {
      name: 'rejects a bare LF ending the request line',
      input: 'GET / HTTP/1.1\nHost: a\r\n\r\n',
      error: { status: 400, code: 'ERR_BARE_LF' },
    },
    {
      name: 'rejects a bare LF ending a header field line',
      input: 'GET / HTTP/1.1\r\nHost: a\nX-A: 1\r\n\r\n',
      error: { status: 400, code: 'ERR_BARE_LF' },
    },
    {
      name: 'rejects a bare LF as the empty line ending the header section',
      input: 'GET / HTTP/1.1\r\nHost: a\r\n\n',
      error: { status: 400, code: 'ERR_BARE_LF' },
    },
    {
      name: 'rejects a head ended by two bare LFs',
      input: 'GET / HTTP/1.1\nHost: a\n\n',
      error: { status: 400, code: 'ERR_BARE_LF' },
    },
  ]);

  test('rejects every control byte but HTAB in a value with 400', () => {
    const controls = [...Array(0x20).keys(), 0x7f].filter((c) => c !== 0x09 && c !== 0x0a);
    for (const byte of controls) {
      assertParsesAtEverySplit({
        name: `control byte 0x${byte.toString(16)} in a value`,
        input: `GET / HTTP/1.1\r\nHost: a\r\nX-A: 1${String.fromCharCode(byte)}2\r\n\r\n`,
        error: { status: 400, code: 'ERR_INVALID_HEADER_VALUE' },
      });
    }
  });
});

describe('Content-Length', () => {
  testParserCases([
    {
      name: 'reads a body of Content-Length bytes, reporting HEAD first',
      input: 'POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello',
      requests: [{ method: 'POST', contentLength: 5, body: 'hello', hadHead: true }],
    },
    {
      name: 'reads a body on any method, in HTTP/1.0 too',
      input: 'GET / HTTP/1.0\r\nContent-Length: 3\r\n\r\nabc',
      requests: [{ method: 'GET', versionMinor: 0, contentLength: 3, body: 'abc' }],
    },
    {
      name: 'treats Content-Length: 0 as no body',
      input: 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n',
      requests: [{ contentLength: 0, body: '', hadHead: false }],
    },
    {
      name: 'reads binary body bytes, CRLFs included, unchanged',
      input: 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 8\r\n\r\n\r\n\x00\xff\r\n\r\n',
      requests: [{ body: '\r\n\x00\xff\r\n\r\n' }],
    },
    {
      name: 'accepts leading zeros',
      input: 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 005\r\n\r\nhello',
      requests: [{ contentLength: 5, body: 'hello' }],
    },
    {
      name: 'accepts a list of identical values',
      input: 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5,5\r\n\r\nhello',
      requests: [{ contentLength: 5, body: 'hello' }],
    },
    {
      name: 'accepts two identical Content-Length fields',
      input: 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello',
      requests: [{ contentLength: 5, body: 'hello' }],
    },
    {
      name: 'rejects a list of different values',
      input: 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 6\r\n\r\nhello!',
      error: { status: 400, code: 'ERR_INVALID_CONTENT_LENGTH' },
    },
    {
      name: 'rejects two Content-Length fields with different values',
      input: 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!',
      error: { status: 400, code: 'ERR_INVALID_CONTENT_LENGTH' },
    },
    ...['+5', '-5', '0x5', '5.0', '5e0', '5 5', '5a', '', ' ', '\xa05', '5\xa0', 'five'].map((value) => ({
      name: `rejects the Content-Length ${showBytes(value)}`,
      input: `POST / HTTP/1.1\r\nHost: a\r\nContent-Length: ${value}\r\n\r\nhello`,
      error: { status: 400, code: 'ERR_INVALID_CONTENT_LENGTH' },
    })),
    {
      name: 'accepts Number.MAX_SAFE_INTEGER when the body limit allows it',
      input: 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 9007199254740991\r\n\r\nabc',
      limits: { maxBodyBytes: Number.MAX_SAFE_INTEGER },
      pendingHead: { contentLength: Number.MAX_SAFE_INTEGER, body: '' },
    },
    {
      name: 'rejects a Content-Length past Number.MAX_SAFE_INTEGER',
      input: 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 9007199254740992\r\n\r\n',
      limits: { maxBodyBytes: Number.MAX_SAFE_INTEGER },
      error: { status: 400, code: 'ERR_INVALID_CONTENT_LENGTH' },
    },
    {
      name: 'rejects a Content-Length of twenty digits',
      input: 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 18446744073709551621\r\n\r\n',
      limits: { maxBodyBytes: Number.MAX_SAFE_INTEGER },
      error: { status: 400, code: 'ERR_INVALID_CONTENT_LENGTH' },
    },
    {
      name: 'reports HEAD and waits while the body is incomplete',
      input: 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nhello',
      pendingHead: { method: 'POST', contentLength: 10, body: '' },
    },
    {
      name: 'stops the body at Content-Length and parses what follows as the next request',
      input: 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhelloGET /next HTTP/1.1\r\nHost: a\r\n\r\n',
      requests: [{ body: 'hello' }, { method: 'GET', path: '/next', body: '' }],
    },
  ]);
});

describe('Transfer-Encoding', () => {
  testParserCases([
    {
      name: 'decodes a chunked body, with contentLength -1',
      input: 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n',
      requests: [{ contentLength: -1, body: 'hello', hadHead: true, trailers: [] }],
    },
    {
      name: 'matches chunked case-insensitively',
      input: 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: ChUnKeD\r\n\r\n0\r\n\r\n',
      requests: [{ contentLength: -1, body: '' }],
    },
    {
      name: 'answers 501 to a coding before chunked that is not implemented',
      input: 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n',
      error: { status: 501, code: 'ERR_TE_NOT_IMPLEMENTED' },
    },
    {
      name: 'answers 501 to a coding in an earlier Transfer-Encoding field',
      input: 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: deflate\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
      error: { status: 501, code: 'ERR_TE_NOT_IMPLEMENTED' },
    },
    {
      name: 'answers 501 to a coding with parameters, BWS around "=" included (RFC 9112 §7)',
      input: 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip ; a=1;b = "x, y" , chunked\r\n\r\n0\r\n\r\n',
      error: { status: 501, code: 'ERR_TE_NOT_IMPLEMENTED' },
    },
    ...['gzip;a', 'gzip;a=', 'gzip;=1', 'gzip;a="1"x', 'gzip;a=1/2', 'gzip\xa0', '\xa0gzip'].map((coding) => ({
      name: `rejects the coding ${showBytes(coding)} before chunked, which is not a transfer-coding`,
      input: `POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: ${coding}, chunked\r\n\r\n0\r\n\r\n`,
      error: { status: 400, code: 'ERR_TE_INVALID' },
    })),
    {
      name: 'rejects a coding before chunked that is not a token',
      input: 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: g(zip, chunked\r\n\r\n0\r\n\r\n',
      error: { status: 400, code: 'ERR_TE_INVALID' },
    },
    ...['gzip', 'identity', 'chunked, gzip', 'chunked;q=1', ''].map((value) => ({
      name: `rejects Transfer-Encoding ${showBytes(value)}, which does not end in chunked`,
      input: `POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: ${value}\r\n\r\n0\r\n\r\n`,
      error: { status: 400, code: 'ERR_TE_NOT_CHUNKED' },
    })),
    {
      name: 'rejects chunked applied twice',
      input: 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n',
      error: { status: 400, code: 'ERR_TE_CHUNKED_TWICE' },
    },
    {
      name: 'rejects Transfer-Encoding with Content-Length',
      input: 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n',
      error: { status: 400, code: 'ERR_TE_WITH_CL' },
    },
    {
      name: 'rejects Transfer-Encoding in HTTP/1.0',
      input: 'POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
      error: { status: 400, code: 'ERR_TE_IN_HTTP10' },
    },
  ]);
});

describe('Expect', () => {
  testParserCases([
    {
      name: 'sets expectContinue for 100-continue with a body, and reports HEAD before the body',
      input: 'PUT / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n',
      pendingHead: { expectContinue: true, contentLength: 5, body: '' },
    },
    {
      name: 'keeps expectContinue on the completed request',
      input: 'PUT / HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\nContent-Length: 5\r\n\r\nhello',
      requests: [{ expectContinue: true, body: 'hello' }],
    },
    {
      name: 'sets expectContinue for 100-continue with a chunked body',
      input: 'PUT / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nTransfer-Encoding: chunked\r\n\r\n',
      pendingHead: { expectContinue: true, contentLength: -1 },
    },
    {
      name: 'does not set expectContinue for a request without a body',
      input: 'GET / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n\r\n',
      requests: [{ expectContinue: false }],
    },
    {
      name: 'does not set expectContinue for an empty Expect field',
      input: 'PUT / HTTP/1.1\r\nHost: a\r\nExpect:\r\nContent-Length: 5\r\n\r\nhello',
      requests: [{ expectContinue: false, body: 'hello' }],
    },
    {
      name: 'ignores Expect in HTTP/1.0, even an unknown expectation',
      input: 'PUT / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\naPUT / HTTP/1.0\r\nExpect: x-unknown\r\nContent-Length: 1\r\n\r\nb',
      requests: [
        { expectContinue: false, body: 'a' },
        { expectContinue: false, body: 'b' },
      ],
    },
    {
      name: 'answers 417 to an expectation other than 100-continue',
      input: 'PUT / HTTP/1.1\r\nHost: a\r\nExpect: x-unknown\r\nContent-Length: 5\r\n\r\nhello',
      error: { status: 417, code: 'ERR_EXPECTATION_FAILED' },
    },
    {
      name: 'answers 417 when a list adds another expectation to 100-continue',
      input: 'PUT / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue, x-unknown\r\nContent-Length: 5\r\n\r\nhello',
      error: { status: 417, code: 'ERR_EXPECTATION_FAILED' },
    },
    {
      name: 'answers 417 to an unknown expectation on a request without a body',
      input: 'GET / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue=1\r\n\r\n',
      error: { status: 417, code: 'ERR_EXPECTATION_FAILED' },
    },
  ]);
});

describe('keep-alive', () => {
  const http11 = (connection: string): string => `GET / HTTP/1.1\r\nHost: a\r\n${connection}\r\n`;
  const http10 = (connection: string): string => `GET / HTTP/1.0\r\n${connection}\r\n`;
  testParserCases([
    { name: 'keeps an HTTP/1.1 connection alive by default', input: http11(''), requests: [{ keepAlive: true }] },
    {
      name: 'closes an HTTP/1.1 connection on Connection: close',
      input: http11('Connection: close\r\n'),
      requests: [{ keepAlive: false }],
    },
    {
      name: 'reads Connection: close in any case and inside a list',
      input: http11('Connection: CLOSE\r\n') + http11('Connection: keep-alive, Close\r\n') + http11('Connection: upgrade,close\r\n'),
      requests: [{ keepAlive: false }, { keepAlive: false }, { keepAlive: false }],
    },
    {
      name: 'reads close from a second Connection field',
      input: http11('Connection: keep-alive\r\nConnection: close\r\n'),
      requests: [{ keepAlive: false }],
    },
    {
      name: 'matches whole tokens only, not close inside another token',
      input: http11('Connection: closed\r\n') + http11('Connection: x-close\r\n'),
      requests: [{ keepAlive: true }, { keepAlive: true }],
    },
    {
      name: 'keeps an HTTP/1.1 connection alive on Connection: keep-alive',
      input: http11('Connection: keep-alive\r\n'),
      requests: [{ keepAlive: true }],
    },
    { name: 'closes an HTTP/1.0 connection by default', input: http10(''), requests: [{ keepAlive: false }] },
    {
      name: 'keeps an HTTP/1.0 connection alive on Connection: keep-alive, in any case and inside a list',
      input: http10('Connection: keep-alive\r\n') + http10('Connection: Keep-Alive\r\n') + http10('Connection: x-foo, KEEP-ALIVE\r\n'),
      requests: [{ keepAlive: true }, { keepAlive: true }, { keepAlive: true }],
    },
    {
      name: 'lets close win over keep-alive in HTTP/1.0',
      input: http10('Connection: keep-alive, close\r\n'),
      requests: [{ keepAlive: false }],
    },
  ]);
});

describe('limits', () => {
  const head = (fields: string): string => `GET / HTTP/1.1\r\nHost: a\r\n${fields}\r\n`;
  const fieldLines = (n: number): string => Array.from({ length: n }, (_, i) => `X-${i}: ${i}\r\n`).join('');

  testParserCases([
    {
      name: 'accepts a request line of exactly 8 KiB with its CRLF',
      input: `GET /${'a'.repeat(8192 - 16)} HTTP/1.1\r\nHost: a\r\n\r\n`,
      requests: [{ path: `/${'a'.repeat(8192 - 16)}` }],
    },
    {
      name: 'answers 414 to a request line one byte over 8 KiB',
      input: `GET /${'a'.repeat(8192 - 15)} HTTP/1.1\r\nHost: a\r\n\r\n`,
      error: { status: 414, code: 'ERR_REQUEST_LINE_TOO_LONG' },
    },
    {
      name: 'answers 414 before an overlong request line is complete',
      input: `GET /${'a'.repeat(9000)}`,
      error: { status: 414, code: 'ERR_REQUEST_LINE_TOO_LONG' },
    },
    {
      name: 'accepts a request line at a small custom limit',
      input: 'GET / HTTP/1.1\r\nHost: a\r\n\r\n',
      limits: { maxRequestLineBytes: 16 },
      requests: [{ path: '/' }],
    },
    {
      name: 'answers 414 to a request line one byte over a small custom limit',
      input: 'GET /a HTTP/1.1\r\nHost: a\r\n\r\n',
      limits: { maxRequestLineBytes: 16 },
      error: { status: 414, code: 'ERR_REQUEST_LINE_TOO_LONG' },
    },
    {
      name: 'answers 414 at a small custom limit before the request line is complete',
      input: 'GET /aaaaaaaaaaaaaaaa',
      limits: { maxRequestLineBytes: 16 },
      error: { status: 414, code: 'ERR_REQUEST_LINE_TOO_LONG' },
    },
    {
      name: 'answers 414, at every split, to an overlong request line ended by a bare LF',
      input: 'GET /aaaaaaaaaaaaaaaaaaaa HTTP/1.1\nHost: a\r\n\r\n',
      limits: { maxRequestLineBytes: 16 },
      error: { status: 414, code: 'ERR_REQUEST_LINE_TOO_LONG' },
    },
    {
      name: 'answers 431, at every split, to a header section over the limit with a bare LF past it',
      input: head(`X: ${'v'.repeat(30)}\r\nY: 1\n`),
      limits: { maxHeaderBytes: 40 },
      error: { status: 431, code: 'ERR_HEADERS_TOO_LARGE' },
    },
    {
      name: 'does not count empty lines before the request line against its limit',
      input: '\r\n\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n',
      limits: { maxRequestLineBytes: 16, maxHeaderBytes: 25 + 2 },
      requests: [{ path: '/' }],
    },
    {
      name: 'accepts a header section of exactly 16 KiB',
      input: head(`X: ${'v'.repeat(16384 - 32)}\r\n`),
      requests: [{ headers: ['host', 'a', 'x', 'v'.repeat(16384 - 32)] }],
    },
    {
      name: 'answers 431 to a header section one byte over 16 KiB',
      input: head(`X: ${'v'.repeat(16384 - 31)}\r\n`),
      error: { status: 431, code: 'ERR_HEADERS_TOO_LARGE' },
    },
    {
      name: 'answers 431 before an overlarge header section is complete',
      input: `GET / HTTP/1.1\r\nHost: a\r\nX: ${'v'.repeat(17000)}`,
      error: { status: 431, code: 'ERR_HEADERS_TOO_LARGE' },
    },
    {
      name: 'accepts a header section at a small custom limit',
      input: head('X: 12345678\r\n'),
      limits: { maxHeaderBytes: 40 },
      requests: [{ headers: ['host', 'a', 'x', '12345678'] }],
    },
    {
      name: 'answers 431 to a header section one byte over a small custom limit',
      input: head('X: 123456789\r\n'),
      limits: { maxHeaderBytes: 40 },
      error: { status: 431, code: 'ERR_HEADERS_TOO_LARGE' },
    },
    {
      name: 'accepts 100 header fields',
      input: head(fieldLines(99)),
      requests: [{ method: 'GET' }],
    },
    {
      name: 'answers 431 to 101 header fields',
      input: head(fieldLines(100)),
      error: { status: 431, code: 'ERR_TOO_MANY_HEADERS' },
    },
    {
      name: 'accepts header fields up to a small custom count',
      input: head(fieldLines(2)),
      limits: { maxHeaderCount: 3 },
      requests: [{ headers: ['host', 'a', 'x-0', '0', 'x-1', '1'] }],
    },
    {
      name: 'answers 431 to one header field over a small custom count',
      input: head(fieldLines(3)),
      limits: { maxHeaderCount: 3 },
      error: { status: 431, code: 'ERR_TOO_MANY_HEADERS' },
    },
    {
      name: 'accepts a Content-Length of exactly 1 MiB',
      input: 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1048576\r\n\r\n',
      pendingHead: { contentLength: 1048576 },
    },
    {
      name: 'answers 413 from a Content-Length over 1 MiB, before any body byte',
      input: 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1048577\r\n\r\n',
      error: { status: 413, code: 'ERR_BODY_TOO_LARGE' },
    },
    {
      name: 'accepts a body at a small custom limit',
      input: 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n\r\nabcd',
      limits: { maxBodyBytes: 4 },
      requests: [{ body: 'abcd' }],
    },
    {
      name: 'answers 413 from a Content-Length over a small custom limit',
      input: 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nabcde',
      limits: { maxBodyBytes: 4 },
      error: { status: 413, code: 'ERR_BODY_TOO_LARGE' },
    },
    {
      name: 'answers 413 to a chunk that takes the body over 1 MiB, before its data',
      input: 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n100001\r\n',
      pendingHead: { contentLength: -1, body: '' },
      error: { status: 413, code: 'ERR_BODY_TOO_LARGE' },
    },
    {
      name: 'answers 413 when chunks add up past a small custom limit',
      input: 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n4\r\nabcd\r\n0\r\n\r\n',
      limits: { maxBodyBytes: 8 },
      error: { status: 413, code: 'ERR_BODY_TOO_LARGE' },
    },
    {
      name: 'accepts chunks that add up to exactly a small custom limit',
      input: 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n3\r\nabc\r\n0\r\n\r\n',
      limits: { maxBodyBytes: 8 },
      requests: [{ body: 'helloabc' }],
    },
  ]);
});

describe('pipelining', () => {
  testParserCases([
    {
      name: 'parses several requests in one buffer in order, each with its own body',
      input:
        'GET /1 HTTP/1.1\r\nHost: a\r\n\r\n' +
        'POST /2 HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello' +
        'POST /3 HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\nX-T: 1\r\n\r\n' +
        'PUT /4 HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n' +
        'GET /5 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n',
      requests: [
        { method: 'GET', path: '/1', body: '', trailers: [] },
        { method: 'POST', path: '/2', body: 'hello', contentLength: 5 },
        { method: 'POST', path: '/3', body: 'abcde', contentLength: -1, trailers: ['x-t', '1'] },
        { method: 'PUT', path: '/4', body: '', contentLength: 0 },
        { method: 'GET', path: '/5', versionMinor: 0, keepAlive: true },
      ],
    },
    {
      name: 'parses the requests before a malformed one, then rejects it',
      input: 'GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\n\r\nGET /3 HTTP/1.1\r\nHost: a\r\n\r\n',
      requests: [{ path: '/1' }],
      error: { status: 400, code: 'ERR_MISSING_HOST' },
    },
    {
      name: 'waits for the rest of a partial request after complete ones',
      input: 'GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHo',
      requests: [{ path: '/1' }],
      isIdle: false,
    },
    {
      name: 'starts each request with fresh state: no header leaks into the next',
      input:
        'POST /1 HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nConnection: close\r\nContent-Length: 1\r\n\r\nx' +
        'GET /2 HTTP/1.1\r\nHost: b\r\n\r\n',
      requests: [
        { path: '/1', expectContinue: true, keepAlive: false, authority: 'a', body: 'x' },
        { path: '/2', expectContinue: false, keepAlive: true, authority: 'b', body: '', headers: ['host', 'b'] },
      ],
    },
  ]);
});

describe('parser state', () => {
  const twoRequests = 'GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n';

  test('is idle before any byte and after a complete message', () => {
    const parser = new RequestParser();
    assert.equal(parser.isIdle, true);
    assert.equal(parser.isReadingHead, false);
    parser.push(Buffer.from('GET / HTTP/1.1\r\nHost: a\r\n\r\n'));
    assert.equal(parser.advance(), MESSAGE);
    assert.equal(parser.advance(), NEED_MORE);
    assert.equal(parser.isIdle, true);
    assert.equal(parser.hasBufferedBytes, false);
  });

  test('is reading a head once part of one has arrived', () => {
    const parser = new RequestParser();
    parser.push(Buffer.from('GET / HT'));
    assert.equal(parser.advance(), NEED_MORE);
    assert.equal(parser.isIdle, false);
    assert.equal(parser.isReadingHead, true);
  });

  test('is not reading a head while a body is awaited', () => {
    const parser = new RequestParser();
    parser.push(Buffer.from('POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhe'));
    assert.equal(parser.advance(), HEAD);
    assert.equal(parser.advance(), NEED_MORE);
    assert.equal(parser.isIdle, false);
    assert.equal(parser.isReadingHead, false);
  });

  test('leaves the next pipelined request buffered until advance() is called again', () => {
    const parser = new RequestParser();
    parser.push(Buffer.from(twoRequests));
    assert.equal(parser.advance(), MESSAGE);
    assert.equal(parser.request.path, '/1');
    assert.equal(parser.hasBufferedBytes, true);
    assert.equal(parser.advance(), MESSAGE);
    assert.equal(parser.request.path, '/2');
    assert.equal(parser.hasBufferedBytes, false);
  });

  test('parses a pipelined request whose head arrives after the previous message is done', () => {
    // The second head starts mid-buffer; the rest of it arrives in a later push.
    const parser = new RequestParser();
    const split = twoRequests.length - 5;
    parser.push(Buffer.from(twoRequests.slice(0, split)));
    assert.equal(parser.advance(), MESSAGE);
    assert.equal(parser.advance(), NEED_MORE);
    parser.push(Buffer.from(twoRequests.slice(split)));
    assert.equal(parser.advance(), MESSAGE);
    assert.equal(parser.request.path, '/2');
  });

  test('uses the default limits when none are given', () => {
    assert.deepEqual(DEFAULT_PARSER_LIMITS, {
      maxRequestLineBytes: 8 * 1024,
      maxHeaderBytes: 16 * 1024,
      maxHeaderCount: 100,
      maxBodyBytes: 1024 * 1024,
      maxChunkExtensionBytes: 16 * 1024,
    });
  });
});
