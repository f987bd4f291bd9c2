// Chunk extensions (RFC 9112 §7.1.1) as a specification:
//
//   chunk-ext      = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] )
//   chunk-ext-name = token
//   chunk-ext-val  = token / quoted-string
//
// Each production once valid and in each way it can break, on a data chunk
// and on the last chunk, fed through the request parser whole, split at
// every offset, and one byte at a time. Extensions are ignored, but a chunk
// line a lenient parser would read differently is 400 and ends the
// connection: that disagreement is a request-smuggling vector.
import { describe } from 'node:test';
import { showBytes, testParserCases, type ParserCase } from './parser-harness.js';

/** A chunked POST whose body (chunks, last chunk, trailers) is given raw. */
const chunked = (body: string): string => `POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n${body}`;

/** A request that a parser reading the chunk line differently might find in the body. */
const SMUGGLED = 'GET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n';

/** Extensions the grammar allows: [which production, the bytes after the chunk size]. */
const VALID: Array<[string, string]> = [
  ['a name alone', ';a'],
  ['a name and a token value', ';name=value'],
  ['every tchar, in a name and in a token value', ";!#$%&'*+-.^_`|~09AZaz=!#$%&'*+-.^_`|~09AZaz"],
  ['a quoted-string value', ';a="b"'],
  ['an empty quoted-string', ';a=""'],
  ['SP, HTAB and the delimiters ; = , inside a quoted-string', ';a=" \t;b=c, d"'],
  ['obs-text inside a quoted-string', ';a="\xe9\x80\xff"'],
  ['a quoted-pair escaping a quote', ';a="x\\"y"'],
  ['a quoted-pair escaping a backslash, then the closing quote', ';a="x\\\\"'],
  ['quoted-pairs of SP, HTAB, a letter and obs-text', ';a="\\ \\\t\\q\\\xe9"'],
  ['several extensions, with and without values', ';a;b=1;c="2";d'],
  ['BWS (SP) before ";"', ' ;a'],
  ['BWS (HTAB, SP) before ";"', '\t \t;a'],
  ['BWS after ";"', '; \ta'],
  ['BWS around "="', ';a = b'],
  ['BWS around "=" before a quoted-string', ';a\t=\t"b"'],
  ['BWS around every ";" and "="', ' ; a = b ; c ;\td = "e" ;f'],
];

/** Chunk lines the grammar does not allow: [what breaks it, the bytes after the chunk size]. */
const INVALID: Array<[string, string]> = [
  ['an empty name at the end of the line', ';'],
  ['an empty name after BWS', '; '],
  ['an empty name before another extension', ';;a'],
  ['an empty name before "="', ';=b'],
  ['a ";" after the last extension', ';a;'],
  ['"=" without a value at the end of the line', ';a='],
  ['"=" and BWS without a value', ';a= '],
  ['"=" without a value before ";"', ';a=;b'],
  ['two "="', ';a==b'],
  ['"=" inside a token value', ';a=b=c'],
  ['an unclosed quoted-string', ';a="abc'],
  ['an unclosed quoted-string holding a space', ';q="x y'],
  ['a quoted-string whose last quote is escaped', ';a="abc\\"'],
  ['text after the closing quote', ';a="b"c'],
  ['a second quoted-string after the first', ';a="b""c"'],
  ['a quote inside a token value', ';a=b"c"'],
  ['a quote inside a name', ';a"b"'],
  ['a quoted-string as a name', ';"a"=b'],
  ['"," inside a name', ';na,e=val'],
  ['"/" inside a token value', ';name=v/al'],
  ['":" inside a name', ';en:'],
  ['"@" inside a name', ';a@b'],
  ['obs-text in a name', ';x\x80'],
  ['obs-text as a token value', ';a=\xe9'],
  ['obs-text after BWS as a value', ';a=\t\xe9'],
  ['whitespace inside a name', ';a b'],
  ['whitespace inside a token value', ';a=b c'],
  ['whitespace at the end of the line after a name', ';a '],
  ['whitespace at the end of the line after a token value', ';a=b\t'],
  ['whitespace at the end of the line after a quoted value', ';a="b" '],
  ['a non-breaking space (0xA0) as BWS', ';a=\xa0b'],
  ['a vertical tab as BWS', ';a\x0b=b'],
  ['a bare LF inside a quoted value', ';a="x\ny"'],
  ['a bare CR inside a quoted value', ';a="x\ry"'],
  ['a CR after a backslash (the line ends inside the quoted value)', ';a="x\\'],
  ['NUL inside a quoted value', ';a="\x00"'],
  ['DEL inside a quoted value', ';a="\x7f"'],
  ['NUL after a backslash', ';a="\\\x00"'],
  ['NUL in a name', ';a\x00'],
  ['DEL in a token value', ';a=b\x7f'],
  ['a bare LF ending the line after a name', ';a\n'],
  ['a bare LF ending the line after a token value', ';a=b\n'],
  ['a bare LF ending the line after a quoted value', ';a="b"\n'],
];

const ERR_CHUNK_EXTENSION = { status: 400, code: 'ERR_CHUNK_EXTENSION' };

describe('chunk extensions the grammar allows', () => {
  testParserCases(
    VALID.map(([what, ext]): ParserCase => ({
      name: `accepts and ignores ${what}: ${showBytes(ext)}, on a data chunk and on the last chunk`,
      input: chunked(`5${ext}\r\nhello\r\n6${ext}\r\n world\r\n0${ext}\r\n\r\n`) + 'GET /next HTTP/1.1\r\nHost: a\r\n\r\n',
      requests: [{ body: 'hello world', trailers: [] }, { path: '/next' }],
    })),
  );
});

describe('chunk extensions the grammar does not allow', () => {
  testParserCases(
    INVALID.flatMap(([what, ext]): ParserCase[] => [
      {
        name: `rejects ${what}: ${showBytes(ext)}, on a data chunk`,
        input: chunked(`5${ext}\r\nhello\r\n0\r\n\r\n`) + SMUGGLED,
        error: ERR_CHUNK_EXTENSION,
      },
      {
        name: `rejects ${what}: ${showBytes(ext)}, on the last chunk`,
        input: chunked(`5\r\nhello\r\n0${ext}\r\n\r\n`) + SMUGGLED,
        error: ERR_CHUNK_EXTENSION,
      },
    ]),
  );
});

describe('chunk extensions once accepted (issue 12, a differential run against Node\'s parser)', () => {
  // Each of these was answered 200, so a front end that reads the chunk line
  // as Node does and Spindle disagreed on the body. Now none reaches a
  // handler, and nothing after it is read as a request.
  testParserCases(
    [
      '2;\r\naa\r\n0\r\n\r\n',
      '5;a="abc\r\nhello\r\n0\r\n\r\n',
      '6;q="x y\r\nhello!\r\n0\r\n\r\n',
      '5;na,e=val\r\nhello\r\n0\r\n\r\n',
      '5;name=v/al\r\nhello\r\n0\r\n\r\n',
      '0;en:\r\n\r\n',
      '00b;\r\nhello world\r\n0\r\n\r\n',
      '00b;x\x80\r\nhello world\r\n0\r\n\r\n',
    ].map((body): ParserCase => ({
      name: `rejects the chunked body ${showBytes(body)} and reads nothing after it`,
      input: chunked(body) + SMUGGLED,
      error: ERR_CHUNK_EXTENSION,
    })),
  );
});

describe('chunk extension limits', () => {
  testParserCases([
    {
      name: 'rejects whitespace after a chunk size that no extension follows',
      input: chunked('5 \r\nhello\r\n0\r\n\r\n'),
      error: { status: 400, code: 'ERR_CHUNK_SIZE' },
    },
    {
      name: 'accepts an extension of exactly a small custom limit, counted from the ";" to the CR',
      input: chunked(`1;${'x'.repeat(31)}\r\na\r\n0\r\n\r\n`),
      limits: { maxChunkExtensionBytes: 32 },
      requests: [{ body: 'a' }],
    },
    {
      name: 'answers 413 to an extension one byte over a small custom limit',
      input: chunked(`1;${'x'.repeat(32)}\r\na\r\n0\r\n\r\n`),
      limits: { maxChunkExtensionBytes: 32 },
      error: { status: 413, code: 'ERR_CHUNK_EXTENSIONS_TOO_LARGE' },
    },
    {
      name: 'counts BWS before the ";" towards the limit',
      input: chunked(`1${' '.repeat(31)};x\r\na\r\n0\r\n\r\n`),
      limits: { maxChunkExtensionBytes: 32 },
      error: { status: 413, code: 'ERR_CHUNK_EXTENSIONS_TOO_LARGE' },
    },
    {
      name: 'answers 413 to a quoted value that runs past the limit, before it is closed',
      input: chunked(`1;a="${'q'.repeat(40)}`),
      limits: { maxChunkExtensionBytes: 32 },
      error: { status: 413, code: 'ERR_CHUNK_EXTENSIONS_TOO_LARGE' },
    },
    {
      name: 'answers 413, not 400, to a malformed extension that is over the limit before it breaks',
      input: chunked(`1;${'x'.repeat(40)}/`),
      limits: { maxChunkExtensionBytes: 32 },
      error: { status: 413, code: 'ERR_CHUNK_EXTENSIONS_TOO_LARGE' },
    },
    {
      name: 'accepts extensions within a small custom limit',
      input: chunked(`1;${'x'.repeat(12)}\r\na\r\n1;${'x'.repeat(12)}\r\nb\r\n0\r\n\r\n`),
      limits: { maxChunkExtensionBytes: 32 },
      requests: [{ body: 'ab' }],
    },
    {
      name: 'answers 413 when the extensions of several chunks add up past a small custom limit',
      input: chunked(`1;${'x'.repeat(12)}\r\na\r\n1;${'x'.repeat(12)}\r\nb\r\n1;${'x'.repeat(12)}\r\nc\r\n0\r\n\r\n`),
      limits: { maxChunkExtensionBytes: 32 },
      error: { status: 413, code: 'ERR_CHUNK_EXTENSIONS_TOO_LARGE' },
    },
    {
      name: 'answers 413 to extensions over 16 KiB in one chunk, before its line ends',
      input: chunked(`5;${'a'.repeat(16 * 1024 + 16)}`),
      error: { status: 413, code: 'ERR_CHUNK_EXTENSIONS_TOO_LARGE' },
    },
    {
      name: 'answers 413 when the extensions of several chunks add up past 16 KiB',
      input: chunked(`1;${'e'.repeat(1000)}\r\nx\r\n`.repeat(17) + '0\r\n\r\n'),
      error: { status: 413, code: 'ERR_CHUNK_EXTENSIONS_TOO_LARGE' },
    },
    {
      name: 'does not count chunk sizes against the extension limit (many small chunks)',
      input: chunked('1\r\nx\r\n'.repeat(200) + '0\r\n\r\n'),
      limits: { maxChunkExtensionBytes: 32 },
      requests: [{ body: 'x'.repeat(200) }],
    },
  ]);
});
