// The chunked transfer coding (RFC 9112 §7.1) as a specification: chunk
// framing, trailers and their limits, fed through the request parser whole,
// split at every offset, and one byte at a time. Chunk extensions have their
// own file, chunk-extensions.test.ts.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ChunkedDecoder } from '../src/http/chunked-decoder.js';
import { DEFAULT_PARSER_LIMITS } from '../src/http/request-parser.js';
import { showBytes, testParserCases, type ParserCase } from './parser-harness.js';

/** A chunked POST whose body (chunks, last chunk, trailers) is given raw. */
const chunked = (body: string): string => `POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n${body}`;

describe('chunked body', () => {
  testParserCases([
    {
      name: 'joins the data of several chunks',
      input: chunked('5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n'),
      requests: [{ contentLength: -1, body: 'hello world', trailers: [], hadHead: true }],
    },
    {
      name: 'reads chunk sizes as hex digits in either case',
      input: chunked('a\r\n0123456789\r\nA\r\nabcdefghij\r\n0\r\n\r\n'),
      requests: [{ body: '0123456789abcdefghij' }],
    },
    {
      name: 'accepts leading zeros in a chunk size and in the last chunk',
      input: chunked('0005\r\nhello\r\n000\r\n\r\n'),
      requests: [{ body: 'hello' }],
    },
    {
      name: 'accepts a few leading zeros in a chunk size',
      input: chunked(`${'0'.repeat(10)}5\r\nhello\r\n0\r\n\r\n`),
      requests: [{ body: 'hello' }],
    },
    {
      name: 'accepts a body that is only the last chunk',
      input: chunked('0\r\n\r\n'),
      requests: [{ contentLength: -1, body: '', hadHead: true }],
    },
    {
      name: 'keeps CRLFs inside chunk data as data',
      input: chunked('4\r\n\r\n\r\n\r\n0\r\n\r\n'),
      requests: [{ body: '\r\n\r\n' }],
    },
    {
      name: 'reads a body sent as many one-byte chunks',
      input: chunked('1\r\nx\r\n'.repeat(300) + '0\r\n\r\n'),
      requests: [{ body: 'x'.repeat(300) }],
    },
    {
      name: 'reports HEAD and waits while a chunk is incomplete',
      input: chunked('5\r\nhel'),
      pendingHead: { contentLength: -1, body: '' },
    },
    {
      name: 'waits for the empty line after the last chunk',
      input: chunked('5\r\nhello\r\n0\r\n'),
      pendingHead: { contentLength: -1 },
    },
    {
      name: 'waits for the end of the trailer section',
      input: chunked('0\r\nX-T: 1\r\n'),
      pendingHead: { contentLength: -1 },
    },
    {
      name: 'parses the request after a chunked body with trailers',
      input: chunked('3\r\nabc\r\n0\r\nX-T: 1\r\n\r\n') + 'GET /next HTTP/1.1\r\nHost: a\r\n\r\n',
      requests: [
        { body: 'abc', trailers: ['x-t', '1'] },
        { path: '/next', body: '', trailers: [] },
      ],
    },
  ]);
});

describe('trailer section', () => {
  // The head of chunked('') is 56 bytes, so a 64-byte limit fits it.
  testParserCases([
    {
      name: 'collects trailer fields apart from the header fields',
      input: chunked('0\r\nX-Checksum: abc\r\nx-two:  2 \r\n\r\n'),
      requests: [
        {
          headers: ['host', 'a', 'transfer-encoding', 'chunked'],
          trailers: ['x-checksum', 'abc', 'x-two', '2'],
          body: '',
        },
      ],
    },
    {
      name: 'accepts a trailer section of exactly a small custom limit',
      input: chunked(`0\r\nX: ${'v'.repeat(57)}\r\n\r\n`),
      limits: { maxHeaderBytes: 64 },
      requests: [{ trailers: ['x', 'v'.repeat(57)] }],
    },
    {
      name: 'answers 431 to a trailer section one byte over a small custom limit',
      input: chunked(`0\r\nX: ${'v'.repeat(58)}\r\n\r\n`),
      limits: { maxHeaderBytes: 64 },
      error: { status: 431, code: 'ERR_TRAILERS_TOO_LARGE' },
    },
    {
      name: 'answers 431 to a trailer section over 16 KiB, before it is complete',
      input: chunked(`0\r\nX-T: ${'v'.repeat(16 * 1024)}`),
      error: { status: 431, code: 'ERR_TRAILERS_TOO_LARGE' },
    },
    {
      name: 'accepts as many trailer fields as header fields',
      input: chunked('0\r\nA: 1\r\nB: 2\r\n\r\n'),
      limits: { maxHeaderCount: 2 },
      requests: [{ trailers: ['a', '1', 'b', '2'] }],
    },
    {
      name: 'answers 431 to more trailer fields than the header field limit',
      input: chunked('0\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n'),
      limits: { maxHeaderCount: 2 },
      error: { status: 431, code: 'ERR_TOO_MANY_TRAILERS' },
    },
    {
      name: 'rejects obs-fold in the trailer section',
      input: chunked('0\r\nX: 1\r\n 2\r\n\r\n'),
      error: { status: 400, code: 'ERR_OBS_FOLD' },
    },
    {
      name: 'rejects whitespace between a trailer name and the colon',
      input: chunked('0\r\nX : 1\r\n\r\n'),
      error: { status: 400, code: 'ERR_INVALID_HEADER_NAME' },
    },
    {
      name: 'rejects a control byte in a trailer value',
      input: chunked('0\r\nX: 1\x012\r\n\r\n'),
      error: { status: 400, code: 'ERR_INVALID_HEADER_VALUE' },
    },
    {
      name: 'rejects a bare LF ending a trailer field',
      input: chunked('0\r\nX: 1\n\r\n'),
      error: { status: 400, code: 'ERR_BARE_LF' },
    },
    {
      name: 'rejects a bare LF ending the trailer section',
      input: chunked('0\r\nX: 1\r\n\n'),
      error: { status: 400, code: 'ERR_BARE_LF' },
    },
  ]);
});

describe('trailer fields follow the field-line rules of the head', () => {
  // RFC 9112 §7.1.2: a trailer field line is a field-line, as in the header
  // section; both go through field-line.ts. Each line gives the same result
  // in both places: the same field, or the same error.
  const FIELD_LINES: Array<{ line: string; field?: [string, string]; code?: string }> = [
    { line: 'X-A: 1', field: ['x-a', '1'] },
    { line: 'x-a:1', field: ['x-a', '1'] },
    { line: 'X-A: \t 1 \t', field: ['x-a', '1'] },
    { line: 'X-A:', field: ['x-a', ''] },
    { line: 'X-A: a \t b', field: ['x-a', 'a \t b'] },
    { line: 'X-A: \xe9\xa0', field: ['x-a', '\xe9\xa0'] },
    { line: 'X-A: "q,;="', field: ['x-a', '"q,;="'] },
    { line: ' X-A: 1', code: 'ERR_OBS_FOLD' },
    { line: '\tX-A: 1', code: 'ERR_OBS_FOLD' },
    { line: 'X-A : 1', code: 'ERR_INVALID_HEADER_NAME' },
    { line: ': 1', code: 'ERR_INVALID_HEADER_NAME' },
    { line: 'X A: 1', code: 'ERR_INVALID_HEADER_NAME' },
    { line: 'X-A', code: 'ERR_INVALID_HEADER_NAME' },
    { line: 'X-\xe9: 1', code: 'ERR_INVALID_HEADER_NAME' },
    { line: 'X-A\x00: 1', code: 'ERR_INVALID_HEADER_NAME' },
    { line: 'X-A\r: 1', code: 'ERR_INVALID_HEADER_NAME' },
    { line: 'X-A: 1\x00', code: 'ERR_INVALID_HEADER_VALUE' },
    { line: 'X-A: 1\r2', code: 'ERR_INVALID_HEADER_VALUE' },
    { line: 'X-A: 1\x7f', code: 'ERR_INVALID_HEADER_VALUE' },
    { line: 'X-A: 1\x0b', code: 'ERR_INVALID_HEADER_VALUE' },
  ];
  testParserCases(
    FIELD_LINES.flatMap(({ line, field, code }): ParserCase[] => {
      const error = code === undefined ? undefined : { status: 400, code };
      const what = field === undefined ? `rejects the field line ${showBytes(line)} with ${code}` : `reads the field line ${showBytes(line)}`;
      return [
        {
          name: `${what} in the header section`,
          input: `GET / HTTP/1.1\r\nHost: a\r\n${line}\r\n\r\n`,
          ...(field === undefined ? { error } : { requests: [{ headers: ['host', 'a', ...field] }] }),
        },
        {
          name: `${what} in the trailer section`,
          input: chunked(`0\r\n${line}\r\n\r\n`),
          ...(field === undefined ? { error } : { requests: [{ trailers: field }] }),
        },
      ];
    }),
  );
});

describe('chunk framing errors', () => {
  testParserCases([
    ...['g', '5g', '0x5', '-5', '+5', ' 5', '', '5.0', ';a'].map((size) => ({
      name: `rejects the chunk size ${showBytes(size)}`,
      input: chunked(`${size}\r\nhello\r\n0\r\n\r\n`),
      error: { status: 400, code: 'ERR_CHUNK_SIZE' },
    })),
    {
      name: 'rejects a chunk size of more than 16 digits, leading zeros included',
      input: chunked(`${'0'.repeat(40)}5\r\nhello\r\n0\r\n\r\n`),
      error: { status: 400, code: 'ERR_CHUNK_SIZE' },
    },
    {
      name: 'rejects a chunk size of 2^53',
      input: chunked('20000000000000\r\n'),
      error: { status: 400, code: 'ERR_CHUNK_SIZE' },
    },
    {
      name: 'rejects a chunk size of seventeen hex digits',
      input: chunked('FFFFFFFFFFFFFFFFF\r\n'),
      error: { status: 400, code: 'ERR_CHUNK_SIZE' },
    },
    {
      name: 'answers 413 to the largest safe chunk size, which is over the body limit',
      input: chunked('1FFFFFFFFFFFFF\r\n'),
      error: { status: 413, code: 'ERR_BODY_TOO_LARGE' },
    },
    {
      name: 'rejects chunk data not followed by CRLF',
      input: chunked('5\r\nhelloX\r\n0\r\n\r\n'),
      error: { status: 400, code: 'ERR_CHUNK_DATA' },
    },
    {
      name: 'rejects chunk data followed by a bare LF',
      input: chunked('5\r\nhello\n0\r\n\r\n'),
      error: { status: 400, code: 'ERR_CHUNK_DATA' },
    },
    {
      name: 'rejects chunk data followed by a CR without LF',
      input: chunked('5\r\nhello\rX0\r\n\r\n'),
      error: { status: 400, code: 'ERR_CHUNK_DATA' },
    },
    {
      name: 'rejects chunk data longer than its size',
      input: chunked('3\r\nhello\r\n0\r\n\r\n'),
      error: { status: 400, code: 'ERR_CHUNK_DATA' },
    },
    {
      name: 'rejects a bare LF ending a chunk-size line',
      input: chunked('5\nhello\r\n0\r\n\r\n'),
      error: { status: 400, code: 'ERR_CHUNK_SIZE' },
    },
    {
      name: 'rejects a bare LF ending the last-chunk line',
      input: chunked('0\n\r\n'),
      error: { status: 400, code: 'ERR_CHUNK_SIZE' },
    },
    {
      name: 'rejects a CR not followed by LF after a chunk size',
      input: chunked('5\rhello\r\n0\r\n\r\n'),
      error: { status: 400, code: 'ERR_CHUNK_SIZE' },
    },
  ]);
});

describe('ChunkedDecoder', () => {
  test('returns the position just past the message and leaves what follows', () => {
    const decoder = new ChunkedDecoder(DEFAULT_PARSER_LIMITS);
    const input = Buffer.from('XX3\r\nabc\r\n2\r\nde\r\n0\r\n\r\nNEXT');
    const parts: Buffer[] = [];
    const end = decoder.decode(input, 2, parts);
    assert.equal(decoder.isDone, true);
    assert.equal(input.toString('latin1', end), 'NEXT');
    assert.equal(Buffer.concat(parts).toString(), 'abcde');
    assert.equal(decoder.bodyBytes, 5);
  });

  test('hands chunk data on as slices of the input, not copies', () => {
    const decoder = new ChunkedDecoder(DEFAULT_PARSER_LIMITS);
    const input = Buffer.from('3\r\nabc\r\n0\r\n\r\n');
    const parts: Buffer[] = [];
    decoder.decode(input, 0, parts);
    assert.equal(parts.length, 1);
    assert.equal(parts[0].buffer, input.buffer);
  });

  test('leaves an incomplete trailer line unconsumed until the rest arrives', () => {
    const decoder = new ChunkedDecoder(DEFAULT_PARSER_LIMITS);
    const parts: Buffer[] = [];
    const first = Buffer.from('0\r\nX-T: 1');
    assert.equal(decoder.decode(first, 0, parts), 3);
    assert.equal(decoder.isDone, false);
    const rest = Buffer.concat([first.subarray(3), Buffer.from('\r\n\r\n')]);
    assert.equal(decoder.decode(rest, 0, parts), rest.length);
    assert.equal(decoder.isDone, true);
    assert.deepEqual(decoder.trailers, ['x-t', '1']);
  });
});
