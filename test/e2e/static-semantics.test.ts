// The HTTP semantics of static files (RFC 9110): index files and directory
// redirects, listings, media types, validators and conditional requests
// (§13), ranges (§14), content codings (§8.4, §12.5.3), methods, HEAD, the
// small-file cache's revalidation, and how files share the URL space with
// the application and a prefix. Raw sockets where the bytes matter; fetch
// and the real curl where clients' behaviour matters.
import assert from 'node:assert/strict';
import { statSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, test, type TestContext } from 'node:test';
import zlib from 'node:zlib';
import { HELLO_PAGE, NOT_FOUND_PAGE } from '../../src/demo/pages.js';
import { createServer, type StaticOptions } from '../../src/index.js';
import { header, runCurl, startCli, startServer, type ParsedResponse } from '../helpers.js';
import { createFixture, removeFixture, request, writeFiles } from '../static-helpers.js';

const fixture = createFixture('semantics');
after(() => removeFixture(fixture));

const INDEX = '<!doctype html><title>home</title><p>home</p>\n';
const DOCS_INDEX = '<!doctype html><title>docs</title>\n';
const ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyz'; // 36 bytes
const CODED = 'precompressed text, '.repeat(100);
/** 200 KiB: above the 64 KiB in-memory limit, so it is streamed from disk */
const LARGE = Buffer.from(Array.from({ length: 200 * 1024 }, (_, i) => i % 251));
/** 10 KiB of text: compressed on the fly with compress: true */
const BIG_TEXT = Array.from({ length: 200 }, (_, i) => `line ${String(i).padStart(4, '0')}: the quick brown fox\n`).join('').padEnd(10 * 1024, '.');
const SMALL_TEXT = 'x'.repeat(500);
const PNG = Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), Buffer.alloc(10 * 1024, 7)]);
const ODD_NAME = '<b>&"x.txt';

writeFiles(fixture.root, {
  'index.html': INDEX,
  'hello.txt': 'hello, world\n',
  'page.html': '<!doctype html><p>page</p>\n',
  'style.css': 'p { color: red }\n',
  'data.json': '{"ok":true}\n',
  'app.js': 'export default 1;\n',
  'image.png': PNG,
  'README': 'no extension\n',
  'docs/index.html': DOCS_INDEX,
  'empty-dir/': '',
  'listed/plain.txt': 'plain\n',
  [`listed/${ODD_NAME}`]: 'odd name\n',
  'listed/sub-dir/': '',
  'listed/<i>dir/plain.txt': 'plain\n',
  'listed/.hidden': 'hidden\n',
  'range.txt': ALPHABET,
  'large.bin': LARGE,
  'coded.txt': CODED,
  'coded.txt.gz': zlib.gzipSync(CODED),
  'coded.txt.br': zlib.brotliCompressSync(CODED),
  'gz-only.txt': CODED,
  'gz-only.txt.gz': zlib.gzipSync(CODED),
  'big.txt': BIG_TEXT,
  'small.txt': SMALL_TEXT,
  'changing.txt': 'version 1\n',
});
// A fixed modification time makes Last-Modified known in advance.
const MTIME = new Date('2024-01-02T03:04:05Z');
const LAST_MODIFIED = 'Tue, 02 Jan 2024 03:04:05 GMT';
utimesSync(path.join(fixture.root, 'hello.txt'), MTIME, MTIME);

/** A second root without index.html, to share the URL space with an application. */
const appRoot = path.join(fixture.dir, 'app-root');
writeFiles(appRoot, { 'file.txt': 'a file beside the app\n' });

async function serve(t: TestContext, options: Partial<StaticOptions> = {}): Promise<number> {
  const { port } = await startServer(t, { static: { root: fixture.root, ...options } });
  return port;
}

/** Every header but Date, in order: what two answers to the same question share. */
function headersWithoutDate(response: ParsedResponse): Array<[string, string]> {
  return response.headers.filter(([name]) => name !== 'date' && name !== 'x-request-id');
}

// ─── index files, redirects, listings ────────────────────────────────────────

test('GET / serves the root index.html', async (t) => {
  const port = await serve(t);
  const response = await request(t, port, '/');
  assert.equal(response.status, 200);
  assert.equal(header(response, 'content-type'), 'text/html; charset=utf-8');
  assert.equal(response.body.toString(), INDEX);
});

test('a directory path with a trailing slash serves its index.html', async (t) => {
  const port = await serve(t);
  const response = await request(t, port, '/docs/');
  assert.equal(response.status, 200);
  assert.equal(response.body.toString(), DOCS_INDEX);
});

test('a directory path without its trailing slash is redirected 301 to path + "/", query kept', async (t) => {
  const port = await serve(t);
  const plain = await request(t, port, '/docs');
  assert.equal(plain.status, 301);
  assert.equal(header(plain, 'location'), '/docs/');
  const withQuery = await request(t, port, '/docs?page=2&q=a%20b');
  assert.equal(withQuery.status, 301);
  assert.equal(header(withQuery, 'location'), '/docs/?page=2&q=a%20b');
  // The Location is the normalised path, never a network-path reference ("//host/...").
  const doubled = await request(t, port, '//docs');
  assert.equal(doubled.status, 301);
  assert.equal(header(doubled, 'location'), '/docs/');
  assert.equal(header(await request(t, port, '/empty-dir/../docs'), 'location'), '/docs/');
});

test('a file path with a trailing slash is 404, as a directory that is not there', async (t) => {
  const port = await serve(t);
  assert.equal((await request(t, port, '/hello.txt/')).status, 404);
  assert.equal((await request(t, port, '/large.bin/')).status, 404);
  assert.equal((await request(t, port, '/hello.txt')).status, 200);
});

test('fetch follows the directory redirect to the index', async (t) => {
  const port = await serve(t);
  const response = await fetch(`http://127.0.0.1:${port}/docs`);
  assert.equal(response.status, 200);
  assert.equal(response.url, `http://127.0.0.1:${port}/docs/`);
  assert.equal(await response.text(), DOCS_INDEX);
});

test('a directory without index.html is 404 when listing is off (the default)', async (t) => {
  const port = await serve(t);
  const response = await request(t, port, '/empty-dir/');
  assert.equal(response.status, 404);
  assert.equal((await request(t, port, '/listed/')).status, 404);
});

test('with listing: true, a directory without index.html is listed, every name HTML-escaped and no dotfile', async (t) => {
  const port = await serve(t, { listing: true });
  const response = await request(t, port, '/listed/');
  assert.equal(response.status, 200);
  assert.equal(header(response, 'content-type'), 'text/html; charset=utf-8');
  assert.equal(header(response, 'x-content-type-options'), 'nosniff');
  const html = response.body.toString();
  assert.ok(html.includes('&#60;b&#62;&#38;&#34;x.txt'), `the odd name is escaped:\n${html}`);
  assert.ok(!html.includes(ODD_NAME) && !html.includes('<b>'), `the raw name never appears:\n${html}`);
  assert.ok(html.includes(`href="${encodeURIComponent(ODD_NAME)}"`), `links are percent-encoded:\n${html}`);
  assert.ok(html.includes('href="plain.txt"'));
  assert.ok(html.includes('href="sub-dir/"'), 'a directory is listed with its slash');
  assert.ok(html.includes('href="../"'), 'a subdirectory links to its parent');
  assert.ok(!html.includes('.hidden'), 'dotfiles are not listed');
  // The link leads to the file.
  const file = await request(t, port, `/listed/${encodeURIComponent(ODD_NAME)}`);
  assert.equal(file.status, 200);
  assert.equal(file.body.toString(), 'odd name\n');
  // The directory's own name, in the title, is escaped too.
  const nested = await request(t, port, '/listed/%3Ci%3Edir/');
  assert.equal(nested.status, 200);
  const nestedHtml = nested.body.toString();
  assert.ok(nestedHtml.includes('Index of /listed/&#60;i&#62;dir/'), nestedHtml);
  assert.ok(!nestedHtml.includes('<i>'), nestedHtml);
});

// ─── media types and headers ─────────────────────────────────────────────────

test('Content-Type comes from the extension, with charset=utf-8 for text; every file says nosniff', async (t) => {
  const port = await serve(t);
  for (const [target, type] of [
    ['/hello.txt', 'text/plain; charset=utf-8'],
    ['/page.html', 'text/html; charset=utf-8'],
    ['/style.css', 'text/css; charset=utf-8'],
    ['/data.json', 'application/json; charset=utf-8'],
    ['/app.js', 'text/javascript; charset=utf-8'],
    ['/image.png', 'image/png'],
    ['/README', 'application/octet-stream'],
  ]) {
    const response = await request(t, port, target);
    assert.equal(response.status, 200, target);
    assert.equal(header(response, 'content-type'), type, target);
    assert.equal(header(response, 'x-content-type-options'), 'nosniff', target);
    assert.equal(header(response, 'accept-ranges'), 'bytes', target);
  }
});

test('a file has a strong ETag and its Last-Modified', async (t) => {
  const port = await serve(t);
  const response = await request(t, port, '/hello.txt');
  assert.equal(response.status, 200);
  assert.match(header(response, 'etag') ?? '', /^"[!#-~]+"$/, 'a strong entity-tag (RFC 9110 §8.8.3)');
  assert.equal(header(response, 'last-modified'), LAST_MODIFIED);
  const again = await request(t, port, '/hello.txt');
  assert.equal(header(again, 'etag'), header(response, 'etag'), 'the same file has the same tag');
  const other = await request(t, port, '/page.html');
  assert.notEqual(header(other, 'etag'), header(response, 'etag'));
});

test('Cache-Control is "public, max-age=0" by default and configurable', async (t) => {
  const port = await serve(t);
  assert.equal(header(await request(t, port, '/hello.txt'), 'cache-control'), 'public, max-age=0');
  const configured = await serve(t, { cacheControl: 'public, max-age=31536000, immutable' });
  const response = await request(t, configured, '/hello.txt');
  assert.equal(header(response, 'cache-control'), 'public, max-age=31536000, immutable');
  const notModified = await request(t, configured, '/hello.txt', { headers: { 'If-None-Match': header(response, 'etag')! } });
  assert.equal(notModified.status, 304);
  assert.equal(header(notModified, 'cache-control'), 'public, max-age=31536000, immutable', 'RFC 9110 §15.4.5: a 304 repeats Cache-Control');
});

// ─── conditional requests (RFC 9110 §13) ─────────────────────────────────────

/** Asserts a 304: no body, no Content-Length of a body, and the validators repeated. */
function assertNotModified(response: ParsedResponse, etag: string, what: string): void {
  assert.equal(response.status, 304, `${what}:\n${response.head}`);
  assert.equal(response.body.length, 0, what);
  assert.equal(header(response, 'transfer-encoding'), undefined, what);
  assert.equal(header(response, 'etag'), etag, `${what}: a 304 carries the ETag`);
}

test('If-None-Match with the ETag, in a list, weak, or "*" → 304 without a body', async (t) => {
  const port = await serve(t);
  const etag = header(await request(t, port, '/hello.txt'), 'etag')!;
  for (const value of [etag, `"nope", ${etag}`, `"a","b" , ${etag}`, `W/${etag}`, '*']) {
    assertNotModified(await request(t, port, '/hello.txt', { headers: { 'If-None-Match': value } }), etag, `If-None-Match: ${value}`);
  }
  const head = await request(t, port, '/hello.txt', { method: 'HEAD', headers: { 'If-None-Match': etag } });
  assert.equal(head.status, 304, 'HEAD too');
  const other = await request(t, port, '/hello.txt', { headers: { 'If-None-Match': '"something-else"' } });
  assert.equal(other.status, 200);
  assert.equal(other.body.toString(), 'hello, world\n');
});

test('If-Modified-Since at or after Last-Modified → 304; before it → 200', async (t) => {
  const port = await serve(t);
  const etag = header(await request(t, port, '/hello.txt'), 'etag')!;
  assertNotModified(await request(t, port, '/hello.txt', { headers: { 'If-Modified-Since': LAST_MODIFIED } }), etag, 'at');
  assertNotModified(await request(t, port, '/hello.txt', { headers: { 'If-Modified-Since': 'Wed, 03 Jan 2024 00:00:00 GMT' } }), etag, 'after');
  const before = await request(t, port, '/hello.txt', { headers: { 'If-Modified-Since': 'Tue, 02 Jan 2024 03:04:04 GMT' } });
  assert.equal(before.status, 200);
  const invalid = await request(t, port, '/hello.txt', { headers: { 'If-Modified-Since': 'yesterday' } });
  assert.equal(invalid.status, 200, 'an invalid date is ignored (§13.1.3)');
  // §13.1.3: If-None-Match wins; If-Modified-Since is then not evaluated.
  const both = await request(t, port, '/hello.txt', { headers: { 'If-None-Match': '"other"', 'If-Modified-Since': LAST_MODIFIED } });
  assert.equal(both.status, 200);
});

test('If-Match with a wrong tag → 412; with the right tag or "*" → 200', async (t) => {
  const port = await serve(t);
  const etag = header(await request(t, port, '/hello.txt'), 'etag')!;
  const wrong = await request(t, port, '/hello.txt', { headers: { 'If-Match': '"wrong"' } });
  assert.equal(wrong.status, 412);
  assert.ok(!wrong.body.toString().includes('hello, world'));
  const weak = await request(t, port, '/hello.txt', { headers: { 'If-Match': `W/${etag}` } });
  assert.equal(weak.status, 412, 'If-Match uses the strong comparison (§13.1.1)');
  assert.equal((await request(t, port, '/hello.txt', { headers: { 'If-Match': etag } })).status, 200);
  assert.equal((await request(t, port, '/hello.txt', { headers: { 'If-Match': '*' } })).status, 200);
});

test('If-Unmodified-Since in the past → 412; at or after Last-Modified → 200', async (t) => {
  const port = await serve(t);
  const past = await request(t, port, '/hello.txt', { headers: { 'If-Unmodified-Since': 'Sun, 01 Jan 2023 00:00:00 GMT' } });
  assert.equal(past.status, 412);
  assert.equal((await request(t, port, '/hello.txt', { headers: { 'If-Unmodified-Since': LAST_MODIFIED } })).status, 200);
  assert.equal((await request(t, port, '/hello.txt', { headers: { 'If-Unmodified-Since': 'Fri, 01 Jan 2100 00:00:00 GMT' } })).status, 200);
});

// ─── ranges (RFC 9110 §14) ───────────────────────────────────────────────────

/** Asserts a 206 with its Content-Range and exactly the expected bytes. */
function assertPartial(response: ParsedResponse, start: number, end: number, size: number, whole: Buffer): void {
  assert.equal(response.status, 206, response.head);
  assert.equal(header(response, 'content-range'), `bytes ${start}-${end}/${size}`);
  assert.equal(header(response, 'content-length'), String(end - start + 1));
  assert.deepEqual(response.body, whole.subarray(start, end + 1));
}

test('Range: one range → 206 with Content-Range and exactly those bytes; suffix and open ranges too', async (t) => {
  const port = await serve(t);
  const whole = Buffer.from(ALPHABET);
  const range = (value: string): Promise<ParsedResponse> => request(t, port, '/range.txt', { headers: { Range: value } });
  assertPartial(await range('bytes=0-9'), 0, 9, 36, whole);
  assertPartial(await range('bytes=10-10'), 10, 10, 36, whole);
  assertPartial(await range('bytes=-5'), 31, 35, 36, whole);
  assertPartial(await range('bytes=5-'), 5, 35, 36, whole);
  assertPartial(await range('bytes=30-1000'), 30, 35, 36, whole); // §14.1.1: the last position is clamped
  assertPartial(await range('bytes=-100'), 0, 35, 36, whole);
});

test('Range on a large (streamed) file → 206 with exactly those bytes', async (t) => {
  const port = await serve(t);
  const size = LARGE.length;
  assertPartial(await request(t, port, '/large.bin', { headers: { Range: 'bytes=100000-100099' } }), 100000, 100099, size, LARGE);
  assertPartial(await request(t, port, '/large.bin', { headers: { Range: 'bytes=-70000' } }), size - 70000, size - 1, size, LARGE);
  const whole = await request(t, port, '/large.bin');
  assert.equal(whole.status, 200);
  assert.deepEqual(whole.body, LARGE);
});

test('an unsatisfiable Range → 416 with Content-Range: bytes */SIZE', async (t) => {
  const port = await serve(t);
  for (const value of ['bytes=36-', 'bytes=100-200', 'bytes=-0']) {
    const response = await request(t, port, '/range.txt', { headers: { Range: value } });
    assert.equal(response.status, 416, value);
    assert.equal(header(response, 'content-range'), 'bytes */36', value);
  }
});

test('several ranges → 200 with the whole file (RFC 9110 §14.2 lets a server ignore Range)', async (t) => {
  const port = await serve(t);
  const response = await request(t, port, '/range.txt', { headers: { Range: 'bytes=0-1,5-6' } });
  assert.equal(response.status, 200);
  assert.equal(header(response, 'content-range'), undefined);
  assert.equal(response.body.toString(), ALPHABET);
});

test('a Range that is not bytes, or malformed, is ignored → 200 whole', async (t) => {
  const port = await serve(t);
  for (const value of ['items=0-5', 'bytes=5-1', 'bytes=abc']) {
    const response = await request(t, port, '/range.txt', { headers: { Range: value } });
    assert.equal(response.status, 200, value);
    assert.equal(response.body.toString(), ALPHABET, value);
  }
});

test('If-Range with the current ETag or Last-Modified → 206; with an old ETag → 200 whole', async (t) => {
  const port = await serve(t);
  const first = await request(t, port, '/hello.txt');
  const etag = header(first, 'etag')!;
  const current = await request(t, port, '/hello.txt', { headers: { Range: 'bytes=0-4', 'If-Range': etag } });
  assert.equal(current.status, 206);
  assert.equal(current.body.toString(), 'hello');
  const byDate = await request(t, port, '/hello.txt', { headers: { Range: 'bytes=0-4', 'If-Range': LAST_MODIFIED } });
  assert.equal(byDate.status, 206);
  const old = await request(t, port, '/hello.txt', { headers: { Range: 'bytes=0-4', 'If-Range': '"an-old-tag"' } });
  assert.equal(old.status, 200);
  assert.equal(old.body.toString(), 'hello, world\n');
});

test('fetch with a Range header gets 206 and the bytes', async (t) => {
  const port = await serve(t);
  const response = await fetch(`http://127.0.0.1:${port}/range.txt`, { headers: { Range: 'bytes=10-15' } });
  assert.equal(response.status, 206);
  assert.equal(response.headers.get('content-range'), 'bytes 10-15/36');
  assert.equal(await response.text(), 'abcdef');
});

test('curl -r 0-99 gets the first 100 bytes (206)', async (t) => {
  const port = await serve(t);
  const url = `http://127.0.0.1:${port}/large.bin`;
  const body = await runCurl(['-s', '-r', '0-99', url]);
  assert.equal(body.code, 0, body.stderr);
  assert.deepEqual(Buffer.from(body.stdout, 'latin1'), LARGE.subarray(0, 100));
  const status = await runCurl(['-s', '-o', '/dev/null', '-w', '%{http_code} %{size_download}', '-r', '0-99', url]);
  assert.equal(status.stdout, '206 100');
});

// ─── methods and HEAD ────────────────────────────────────────────────────────

test('POST, PUT, DELETE on a file → 405 with Allow: GET, HEAD', async (t) => {
  const port = await serve(t);
  for (const [method, target] of [['POST', '/hello.txt'], ['PUT', '/hello.txt'], ['DELETE', '/hello.txt'], ['PATCH', '/large.bin'], ['POST', '/'], ['DELETE', '/docs/']]) {
    const response = await request(t, port, target, { method, body: method === 'DELETE' ? undefined : 'data' });
    assert.equal(response.status, 405, `${method} ${target}`);
    assert.equal(header(response, 'allow'), 'GET, HEAD', `${method} ${target}`);
  }
  assert.equal((await request(t, port, '/hello.txt')).body.toString(), 'hello, world\n', 'nothing was changed');
});

test('a method no registry knows on a file → 501 with Allow: GET, HEAD (RFC 9110 §9.1)', async (t) => {
  const port = await serve(t);
  const response = await request(t, port, '/hello.txt', { method: 'BREW' });
  assert.equal(response.status, 501);
  assert.equal(header(response, 'allow'), 'GET, HEAD');
});

test('HEAD has the same headers as GET, Content-Length included, and no body', async (t) => {
  const port = await serve(t);
  for (const target of ['/hello.txt', '/large.bin', '/', '/coded.txt']) {
    const get = await request(t, port, target);
    const head = await request(t, port, target, { method: 'HEAD' });
    assert.equal(head.status, 200, target);
    assert.deepEqual(headersWithoutDate(head), headersWithoutDate(get), target);
    assert.equal(header(head, 'content-length'), String(get.body.length), target);
    assert.equal(head.body.length, 0, target);
  }
  // RFC 9110 §14.2: range handling is defined for GET only, so HEAD ignores Range.
  const range = await request(t, port, '/range.txt', { method: 'HEAD', headers: { Range: 'bytes=0-4' } });
  assert.equal(range.status, 200);
  assert.equal(header(range, 'content-length'), '36');
  assert.equal(range.body.length, 0);
});

// ─── the small-file cache ────────────────────────────────────────────────────

test('createServer refuses a cacheValidityMs that is negative or not a whole number', () => {
  for (const cacheValidityMs of [-1, 0.5, Number.NaN]) {
    assert.throws(() => createServer({ port: 0, static: { root: fixture.root, cacheValidityMs } }), RangeError, String(cacheValidityMs));
  }
});

test('a file changed on disk is served fresh once its cache entry has expired (cacheValidityMs 0: every request)', async (t) => {
  const port = await serve(t, { cacheValidityMs: 0 });
  const file = path.join(fixture.root, 'changing.txt');
  const first = await request(t, port, '/changing.txt');
  assert.equal(first.body.toString(), 'version 1\n');
  // Same length: only the mtime tells the versions apart, so set it apart by
  // more than a file system's timestamp granularity.
  writeFileSync(file, 'version 2\n');
  const later = new Date(statSync(file).mtimeMs + 2000);
  utimesSync(file, later, later);
  const second = await request(t, port, '/changing.txt');
  assert.equal(second.body.toString(), 'version 2\n');
  assert.notEqual(header(second, 'etag'), header(first, 'etag'));
  writeFileSync(file, 'version three, longer\n');
  assert.equal((await request(t, port, '/changing.txt')).body.toString(), 'version three, longer\n');
});

test('a file created after a 404 is served once the cache entry has expired', async (t) => {
  const port = await serve(t, { cacheValidityMs: 0 });
  assert.equal((await request(t, port, '/late.txt')).status, 404);
  writeFileSync(path.join(fixture.root, 'late.txt'), 'arrived late\n');
  const response = await request(t, port, '/late.txt');
  assert.equal(response.status, 200);
  assert.equal(response.body.toString(), 'arrived late\n');
});

test('within cacheValidityMs the cache answers without looking at the disk again', async (t) => {
  const port = await serve(t, { cacheValidityMs: 60_000 });
  const file = path.join(fixture.root, 'cached.txt');
  writeFileSync(file, 'cached 1\n');
  assert.equal((await request(t, port, '/cached.txt')).body.toString(), 'cached 1\n');
  writeFileSync(file, 'cached 2, longer\n');
  assert.equal((await request(t, port, '/cached.txt')).body.toString(), 'cached 1\n', 'still the cached bytes');
  assert.equal((await request(t, port, '/never-there.txt')).status, 404);
  writeFileSync(path.join(fixture.root, 'never-there.txt'), 'now here\n');
  assert.equal((await request(t, port, '/never-there.txt')).status, 404, 'a cached 404 too');
});

test('createServer refuses a static.cacheValidityMs that is not a non-negative integer', () => {
  for (const cacheValidityMs of [-1, 0.5, Number.NaN]) {
    assert.throws(() => createServer({ static: { root: fixture.root, cacheValidityMs } }), /static\.cacheValidityMs must be an integer/);
  }
});

// ─── content codings (RFC 9110 §8.4, §12.5.3) ────────────────────────────────

const CODED_GZ = zlib.gzipSync(CODED);
const CODED_BR = zlib.brotliCompressSync(CODED);

function encoded(t: TestContext, port: number, target: string, acceptEncoding?: string): Promise<ParsedResponse> {
  return request(t, port, target, { headers: acceptEncoding === undefined ? {} : { 'Accept-Encoding': acceptEncoding } });
}

test('Accept-Encoding: gzip gets the .gz sibling as it is on disk, with Content-Encoding and Vary', async (t) => {
  const port = await serve(t);
  const response = await encoded(t, port, '/coded.txt', 'gzip');
  assert.equal(response.status, 200);
  assert.equal(header(response, 'content-encoding'), 'gzip');
  assert.equal(header(response, 'vary'), 'Accept-Encoding');
  assert.equal(header(response, 'content-type'), 'text/plain; charset=utf-8', 'the type is the original file\'s');
  assert.deepEqual(response.body, CODED_GZ);
  assert.equal(zlib.gunzipSync(response.body).toString(), CODED);
});

test('br is preferred when br and gzip are equally acceptable', async (t) => {
  const port = await serve(t);
  for (const value of ['gzip, br', 'br, gzip', 'gzip, deflate, br, zstd', 'gzip;q=0.8, br;q=0.8', '*']) {
    const response = await encoded(t, port, '/coded.txt', value);
    assert.equal(header(response, 'content-encoding'), 'br', value);
    assert.deepEqual(response.body, CODED_BR, value);
  }
});

test('q-values decide: gzip;q=1, br;q=0.5 gets gzip; br;q=0 never gets br', async (t) => {
  const port = await serve(t);
  const gzipFirst = await encoded(t, port, '/coded.txt', 'gzip;q=1, br;q=0.5');
  assert.equal(header(gzipFirst, 'content-encoding'), 'gzip');
  assert.deepEqual(gzipFirst.body, CODED_GZ);
  const notBr = await encoded(t, port, '/coded.txt', 'br;q=0');
  assert.notEqual(header(notBr, 'content-encoding'), 'br');
  assert.ok(['gzip', undefined].includes(header(notBr, 'content-encoding')));
  const gzipNotBr = await encoded(t, port, '/coded.txt', 'gzip, br;q=0');
  assert.equal(header(gzipNotBr, 'content-encoding'), 'gzip');
  assert.deepEqual(gzipNotBr.body, CODED_GZ);
  // A coding the client names, at any q above 0, beats identity it did not name (§12.5.3).
  assert.equal(header(await encoded(t, port, '/coded.txt', 'gzip;q=0.5'), 'content-encoding'), 'gzip');
  // §12.4.2: weight = OWS ";" OWS "q=" qvalue.
  assert.equal(header(await encoded(t, port, '/coded.txt', 'gzip ; q=0.9, br ; q=0.1'), 'content-encoding'), 'gzip');
  assert.equal(header(await encoded(t, port, '/coded.txt', 'gzip;q=0.5, identity;q=1'), 'content-encoding'), undefined);
});

test('no Accept-Encoding, or only identity, gets the identity bytes', async (t) => {
  const port = await serve(t);
  for (const value of [undefined, 'identity', 'deflate', 'br;q=0, gzip;q=0']) {
    const response = await encoded(t, port, '/coded.txt', value);
    assert.equal(header(response, 'content-encoding'), undefined, String(value));
    assert.equal(response.body.toString(), CODED, String(value));
    // RFC 9110 §12.5.5: the answer still depends on Accept-Encoding, so caches must know.
    assert.equal(header(response, 'vary'), 'Accept-Encoding', String(value));
  }
  const onlyGz = await encoded(t, port, '/gz-only.txt', 'br');
  assert.equal(header(onlyGz, 'content-encoding'), undefined, 'no .br sibling: identity');
});

test('a precompressed response has its own ETag and revalidates with it (304)', async (t) => {
  const port = await serve(t);
  const identity = await encoded(t, port, '/coded.txt');
  const gzip = await encoded(t, port, '/coded.txt', 'gzip');
  const etag = header(gzip, 'etag')!;
  assert.notEqual(etag, header(identity, 'etag'), 'RFC 9110 §8.8.3: different bytes, different strong tags');
  const again = await request(t, port, '/coded.txt', { headers: { 'Accept-Encoding': 'gzip', 'If-None-Match': etag } });
  assertNotModified(again, etag, 'If-None-Match with the gzip tag');
  assert.equal(header(again, 'vary'), 'Accept-Encoding');
});

test('a Range request gets identity bytes even when a .gz sibling exists', async (t) => {
  const port = await serve(t);
  const response = await request(t, port, '/coded.txt', { headers: { 'Accept-Encoding': 'gzip, br', Range: 'bytes=0-19' } });
  assert.equal(response.status, 206);
  assert.equal(header(response, 'content-encoding'), undefined);
  assert.equal(response.body.toString(), CODED.slice(0, 20));
});

test('fetch decodes a precompressed sibling back to the original text', async (t) => {
  const port = await serve(t);
  const response = await fetch(`http://127.0.0.1:${port}/coded.txt`);
  assert.equal(response.status, 200);
  assert.ok(['gzip', 'br'].includes(response.headers.get('content-encoding') ?? ''));
  assert.equal(await response.text(), CODED);
});

test('curl --compressed gets a precompressed sibling and decodes it', async (t) => {
  const port = await serve(t);
  const url = `http://127.0.0.1:${port}/coded.txt`;
  const body = await runCurl(['-s', '--compressed', url]);
  assert.equal(body.code, 0, body.stderr);
  assert.equal(body.stdout, CODED);
  const headers = await runCurl(['-s', '--compressed', '-o', '/dev/null', '-D', '-', url]);
  assert.match(headers.stdout, /\r\ncontent-encoding: (br|gzip)\r\n/i);
});

test('compress: true compresses a 10 KiB text file on the fly (gzip and br, chunked)', async (t) => {
  const port = await serve(t, { compress: true });
  const gzip = await encoded(t, port, '/big.txt', 'gzip');
  assert.equal(gzip.status, 200);
  assert.equal(header(gzip, 'content-encoding'), 'gzip');
  assert.equal(header(gzip, 'vary'), 'Accept-Encoding');
  assert.equal(gzip.framing, 'chunked', 'the compressed length is not known in advance');
  assert.match(header(gzip, 'etag') ?? '', /^W\//, 'bytes compressed on the fly get a weak tag');
  assert.equal(zlib.gunzipSync(gzip.body).toString(), BIG_TEXT);
  assert.ok(gzip.body.length < BIG_TEXT.length);
  const br = await encoded(t, port, '/big.txt', 'br');
  assert.equal(header(br, 'content-encoding'), 'br');
  assert.equal(zlib.brotliDecompressSync(br.body).toString(), BIG_TEXT);
  const identity = await encoded(t, port, '/big.txt');
  assert.equal(header(identity, 'content-encoding'), undefined);
  assert.equal(header(identity, 'vary'), 'Accept-Encoding', 'the choice depends on Accept-Encoding, so a cache must know');
  assert.equal(identity.body.toString(), BIG_TEXT);
});

test('compress: true leaves a 500-byte file, a PNG and a Range request uncompressed', async (t) => {
  const port = await serve(t, { compress: true });
  const small = await encoded(t, port, '/small.txt', 'gzip, br');
  assert.equal(header(small, 'content-encoding'), undefined);
  assert.equal(small.body.toString(), SMALL_TEXT);
  const png = await encoded(t, port, '/image.png', 'gzip, br');
  assert.equal(header(png, 'content-encoding'), undefined);
  assert.deepEqual(png.body, PNG);
  const range = await request(t, port, '/big.txt', { headers: { 'Accept-Encoding': 'gzip, br', Range: 'bytes=100-199' } });
  assert.equal(range.status, 206);
  assert.equal(header(range, 'content-encoding'), undefined);
  assert.equal(range.body.toString(), BIG_TEXT.slice(100, 200));
});

test('compress: true and curl --compressed get the original text back', async (t) => {
  const port = await serve(t, { compress: true });
  const result = await runCurl(['-s', '--compressed', `http://127.0.0.1:${port}/big.txt`]);
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stdout, BIG_TEXT);
});

// ─── files, the application and the prefix ───────────────────────────────────

test('with an application, an existing file is served and anything else goes to the app', { timeout: 30_000 }, async (t) => {
  const { port } = await startServer(t, { static: { root: appRoot }, demo: true, threads: 1 });
  const file = await request(t, port, '/file.txt');
  assert.equal(file.status, 200);
  assert.equal(file.body.toString(), 'a file beside the app\n');
  const home = await request(t, port, '/');
  assert.equal(home.status, 200, 'no index.html in the root: the demo answers /');
  assert.equal(home.body.toString(), HELLO_PAGE);
  const echo = await request(t, port, '/echo', { method: 'POST', body: 'ping', headers: { 'Content-Type': 'text/plain' } });
  assert.equal(echo.status, 200);
  assert.equal(echo.body.toString(), 'ping');
  const missing = await request(t, port, '/missing.txt');
  assert.equal(missing.status, 404);
  assert.equal(missing.body.toString(), NOT_FOUND_PAGE, "the demo's 404");
  const traversal = await request(t, port, '/%2e%2e/secret.txt');
  assert.ok([400, 404].includes(traversal.status));
  assert.ok(!traversal.body.toString().includes(fixture.secretMarker));
});

test('the CLI wires DIR with --demo, --prefix and --cache-control', { timeout: 30_000 }, async (t) => {
  const cli = await startCli(t, [appRoot, '--port', '0', '--demo', '--threads', '1', '--prefix', '/files', '--cache-control', 'no-cache']);
  const file = await request(t, cli.port, '/files/file.txt');
  assert.equal(file.status, 200);
  assert.equal(file.body.toString(), 'a file beside the app\n');
  assert.equal(header(file, 'cache-control'), 'no-cache');
  const home = await request(t, cli.port, '/');
  assert.equal(home.body.toString(), HELLO_PAGE, 'outside the prefix, the demo answers');
  const echo = await request(t, cli.port, '/files/echo', { method: 'POST', body: 'to the app' });
  assert.equal(echo.status, 404, 'under the prefix but not a file: the demo has no /files/echo');
});

test('without an application, anything that is not a file is 404', async (t) => {
  const { port, server } = await startServer(t, { static: { root: appRoot } });
  assert.equal(server.pool, null, 'files only: no worker threads');
  for (const target of ['/', '/missing.txt', '/echo']) {
    const response = await request(t, port, target);
    assert.equal(response.status, 404, target);
  }
});

test("prefix: '/static' maps /static/x to ROOT/x, and /x is not a file", async (t) => {
  const port = await serve(t, { prefix: '/static' });
  const file = await request(t, port, '/static/hello.txt');
  assert.equal(file.status, 200);
  assert.equal(file.body.toString(), 'hello, world\n');
  assert.equal((await request(t, port, '/static/')).body.toString(), INDEX);
  assert.equal((await request(t, port, '/static/docs/')).body.toString(), DOCS_INDEX);
  assert.equal(header(await request(t, port, '/static/docs'), 'location'), '/static/docs/');
  assert.equal((await request(t, port, '/hello.txt')).status, 404);
  assert.equal((await request(t, port, '/statichello.txt')).status, 404);
  assert.equal((await request(t, port, '/')).status, 404);
});

test("prefix: '/static' redirects /static to /static/ so the index's relative links work", async (t) => {
  const port = await serve(t, { prefix: '/static' });
  const response = await request(t, port, '/static?x=1');
  assert.equal(response.status, 301);
  assert.equal(header(response, 'location'), '/static/?x=1');
});
