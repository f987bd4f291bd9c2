// One case for each class of request smuggling in the public record of Node's
// own HTTP parser (llhttp and http_parser before it). Each input is a request
// that a lenient parser frames differently from a strict proxy; Spindle must
// reject it, at every byte split, before any handler sees it. The CVE named
// beside a case is the Node advisory for that class.
import { describe } from 'node:test';
import { showBytes, testParserCases } from './parser-harness.js';

const PROTOTYPE_NAMES = [
  '__proto__',
  'constructor',
  'hasOwnProperty',
  'isPrototypeOf',
  'propertyIsEnumerable',
  'toString',
  'toLocaleString',
  'valueOf',
  '__defineGetter__',
  '__defineSetter__',
  '__lookupGetter__',
  '__lookupSetter__',
  'prototype',
];

describe('request smuggling regressions', () => {
  testParserCases([
    // CVE-2023-30589: a bare CR accepted as a line terminator.
    {
      name: 'rejects a bare CR used to end a header field line',
      input: 'POST / HTTP/1.1\r\nHost: a\rTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n',
      error: { status: 400, code: 'ERR_INVALID_HEADER_VALUE' },
    },
    {
      name: 'rejects a bare CR used to end the request line',
      input: 'GET / HTTP/1.1\rHost: a\r\n\r\n',
      error: { status: 400, code: 'ERR_INVALID_VERSION' },
    },
    // CVE-2020-8201: a CR inside a header name read as a hyphen.
    {
      name: 'rejects a bare CR inside a header name',
      input: 'POST / HTTP/1.1\r\nHost: a\r\nTransfer\rEncoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n',
      error: { status: 400, code: 'ERR_INVALID_HEADER_NAME' },
    },
    // CVE-2022-32214: line terminators other than CRLF.
    {
      name: 'rejects a bare LF line terminator with 400',
      input: 'POST / HTTP/1.1\r\nHost: a\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n',
      error: { status: 400, code: 'ERR_BARE_LF' },
    },
    {
      name: 'rejects a bare LF as the empty line that ends the head',
      input: 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\nGET /admin HTTP/1.1\r\nHost: a\r\n\r\n',
      error: { status: 400, code: 'ERR_BARE_LF' },
    },
    {
      name: 'rejects a bare LF ending a chunk-size line',
      input: 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\nhello\r\n0\r\n\r\n',
      error: { status: 400, code: 'ERR_CHUNK_SIZE' },
    },
    // CVE-2021-22960: chunk extensions skipped without checking them, bare LF included.
    {
      name: 'rejects a bare LF hidden in a chunk extension',
      input: 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5;x\n0\r\n\r\nhello\r\n0\r\n\r\n',
      error: { status: 400, code: 'ERR_CHUNK_EXTENSION' },
    },
    // Issue 12: chunk extensions skipped by their bytes, not their grammar
    // (RFC 9112 §7.1.1). An unclosed quoted value ends the line here and not
    // in a parser that reads quoted-strings; more in chunk-extensions.test.ts.
    {
      name: 'rejects a chunk extension whose quoted value is never closed',
      input: 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5;a="abc\r\nhello\r\n0\r\n\r\nGET /admin HTTP/1.1\r\nHost: a\r\n\r\n',
      error: { status: 400, code: 'ERR_CHUNK_EXTENSION' },
    },
    {
      name: 'rejects a chunk extension without a name',
      input: 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n2;\r\naa\r\n0\r\n\r\nGET /admin HTTP/1.1\r\nHost: a\r\n\r\n',
      error: { status: 400, code: 'ERR_CHUNK_EXTENSION' },
    },
    // CVE-2022-32215: a Transfer-Encoding continued on an obs-fold line.
    {
      name: 'rejects a Transfer-Encoding continued with obs-fold',
      input: 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n , identity\r\nContent-Length: 3\r\n\r\n0\r\n\r\n',
      error: { status: 400, code: 'ERR_OBS_FOLD' },
    },
    // CVE-2021-22959: whitespace between a header name and the colon.
    {
      name: 'rejects whitespace between Transfer-Encoding and the colon',
      input: 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding : chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n',
      error: { status: 400, code: 'ERR_INVALID_HEADER_NAME' },
    },
    // CVE-2024-27982: whitespace before the first header name.
    {
      name: 'rejects whitespace before the first header name',
      input: 'POST / HTTP/1.1\r\n Content-Length: 5\r\nHost: a\r\n\r\nhello',
      error: { status: 400, code: 'ERR_OBS_FOLD' },
    },
    // RFC 9112 §6.1: both framings in one request is the classic CL.TE / TE.CL desync.
    {
      name: 'rejects Content-Length together with Transfer-Encoding: chunked',
      input: 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nX',
      error: { status: 400, code: 'ERR_TE_WITH_CL' },
    },
    {
      name: 'rejects Transfer-Encoding together with Content-Length when TE is not chunked',
      input: 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: identity\r\nContent-Length: 5\r\n\r\nhello',
      error: { status: 400, code: 'ERR_TE_WITH_CL' },
    },
    {
      name: 'rejects Transfer-Encoding in HTTP/1.0, where a proxy may frame by Content-Length or close',
      input: 'POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
      error: { status: 400, code: 'ERR_TE_IN_HTTP10' },
    },
    // Duplicate Content-Length with different values.
    {
      name: 'rejects two Content-Length fields with different values',
      input: 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\nContent-Length: 44\r\n\r\n',
      error: { status: 400, code: 'ERR_INVALID_CONTENT_LENGTH' },
    },
    {
      name: 'rejects a Content-Length list with different values',
      input: 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0, 44\r\n\r\n',
      error: { status: 400, code: 'ERR_INVALID_CONTENT_LENGTH' },
    },
    // CVE-2018-7159: spaces inside a Content-Length value ignored ("1 2" read as 12).
    {
      name: 'rejects a space inside a Content-Length value',
      input: 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1 2\r\n\r\nhello world!',
      error: { status: 400, code: 'ERR_INVALID_CONTENT_LENGTH' },
    },
    {
      name: 'rejects a non-breaking space (0xA0) after a Content-Length value',
      input: 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\xa0\r\n\r\nhello',
      error: { status: 400, code: 'ERR_INVALID_CONTENT_LENGTH' },
    },
    // CVE-2020-8287: a second Transfer-Encoding field ignored.
    {
      name: 'rejects a second Transfer-Encoding field that leaves chunked not final',
      input: 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n0\r\n\r\n',
      error: { status: 400, code: 'ERR_TE_NOT_CHUNKED' },
    },
    {
      name: 'rejects two Transfer-Encoding: chunked fields',
      input: 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
      error: { status: 400, code: 'ERR_TE_CHUNKED_TWICE' },
    },
    {
      name: 'rejects Transfer-Encoding: chunked, chunked',
      input: 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n',
      error: { status: 400, code: 'ERR_TE_CHUNKED_TWICE' },
    },
    // CVE-2022-32213: Transfer-Encoding values that only look like chunked.
    ...['chunked, identity', 'chunkedx', 'xchunked', 'chunked;x=1', '\xa0chunked', 'chunked\xa0', '"chunked"'].map((value) => ({
      name: `rejects Transfer-Encoding ${showBytes(value)}, which does not end in chunked`,
      input: `POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: ${value}\r\n\r\n0\r\n\r\n`,
      error: { status: 400, code: 'ERR_TE_NOT_CHUNKED' },
    })),
    ...['\x0bchunked', 'chunked\x0b', '\x0cchunked', 'chunked\x00'].map((value) => ({
      name: `rejects Transfer-Encoding ${showBytes(value)}, with a control byte around chunked`,
      input: `POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: ${value}\r\n\r\n0\r\n\r\n`,
      error: { status: 400, code: 'ERR_INVALID_HEADER_VALUE' },
    })),
    {
      name: 'reads chunked surrounded by OWS (SP and HTAB) as chunked, as every strict parser does',
      input: 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: \t chunked \t\r\n\r\n3\r\nabc\r\n0\r\n\r\n',
      requests: [{ contentLength: -1, body: 'abc' }],
    },
    // CVE-2024-22019: chunk extensions read without bound.
    {
      name: 'answers 413 to an endless chunk extension, before its line ends',
      input: `POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1;${'x'.repeat(16 * 1024 + 1)}`,
      error: { status: 413, code: 'ERR_CHUNK_EXTENSIONS_TOO_LARGE' },
    },
    {
      name: 'answers 413 to many small chunk extensions that add up past the limit',
      input: `POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n${'1;abcdefgh\r\nx\r\n'.repeat(10)}0\r\n\r\n`,
      limits: { maxChunkExtensionBytes: 64 },
      error: { status: 413, code: 'ERR_CHUNK_EXTENSIONS_TOO_LARGE' },
    },
    // CVE-2025-23167: "\r\n\rX" taken as the end of the header section.
    {
      name: 'rejects \\r\\n\\rX used to end the header section',
      input: 'GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\r\n\rXGET /admin HTTP/1.1\r\nHost: a\r\n\r\n',
      error: { status: 400, code: 'ERR_INVALID_HEADER_NAME' },
    },
    {
      name: 'rejects \\r\\n\\rX used to end the trailer section',
      input: 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\rXGET /admin HTTP/1.1\r\nHost: a\r\n\r\n',
      error: { status: 400, code: 'ERR_INVALID_HEADER_NAME' },
    },
    // Header names that are Object.prototype members must stay ordinary data.
    {
      name: 'parses prototype member names as ordinary header fields',
      input: `GET / HTTP/1.1\r\nHost: a\r\n${PROTOTYPE_NAMES.map((name, i) => `${name}: v${i}\r\n`).join('')}\r\n`,
      requests: [
        {
          headers: ['host', 'a', ...PROTOTYPE_NAMES.flatMap((name, i) => [name.toLowerCase(), `v${i}`])],
          authority: 'a',
          keepAlive: true,
          contentLength: 0,
        },
      ],
    },
    {
      name: 'parses prototype member names as ordinary trailer fields',
      input: `POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n${PROTOTYPE_NAMES.map((name) => `${name}: 1\r\n`).join('')}\r\n`,
      requests: [{ trailers: PROTOTYPE_NAMES.flatMap((name) => [name.toLowerCase(), '1']), body: '' }],
    },
    {
      name: 'ignores prototype member names as Connection options',
      input: 'GET / HTTP/1.1\r\nHost: a\r\nConnection: __proto__, constructor, hasOwnProperty\r\n\r\n',
      requests: [{ keepAlive: true }],
    },
    {
      name: 'answers 417 to a prototype member name as an expectation',
      input: 'PUT / HTTP/1.1\r\nHost: a\r\nExpect: __proto__\r\nContent-Length: 1\r\n\r\nx',
      error: { status: 417, code: 'ERR_EXPECTATION_FAILED' },
    },
    {
      name: 'accepts a prototype member name as a method and as a path',
      input: 'constructor /__proto__ HTTP/1.1\r\nHost: a\r\n\r\n',
      requests: [{ method: 'constructor', path: '/__proto__' }],
    },
  ]);
});
