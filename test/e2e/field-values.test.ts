// One grammar for field values (RFC 9110 §5.6), over raw sockets: OWS is SP
// and HTAB only. A value that differs from a valid one only by a leading or
// trailing 0xA0 byte (U+00A0 once latin1-decoded, which String#trim and \s
// would strip) is invalid in every field Spindle reads, and each field then
// does what its own rules say: ignored (Range, Accept-Encoding, the dates,
// If-Range, Connection), false (If-Match: 412), true (If-None-Match: no 304),
// or a rejected request (Expect: 417; Transfer-Encoding, Content-Length: 400).
import assert from 'node:assert/strict';
import { utimesSync } from 'node:fs';
import path from 'node:path';
import { after, test, type TestContext } from 'node:test';
import zlib from 'node:zlib';
import { assertResponse, connect, exchange, header, startServer, type ParsedResponse } from '../helpers.js';
import { createFixture, removeFixture, request, writeFiles } from '../static-helpers.js';

const NBSP = '\xa0';

/** The valid value, then the same value with 0xA0 before it and after it. */
function variants(value: string): Array<{ value: string; isValid: boolean; what: string }> {
  return [
    { value, isValid: true, what: JSON.stringify(value) },
    { value: NBSP + value, isValid: false, what: `0xA0 + ${JSON.stringify(value)}` },
    { value: value + NBSP, isValid: false, what: `${JSON.stringify(value)} + 0xA0` },
  ];
}

// ─── the static-file fields ──────────────────────────────────────────────────

const fixture = createFixture('field-values');
after(() => removeFixture(fixture));
const HELLO = 'hello, world\n';
const CODED = 'precompressed text, '.repeat(100);
writeFiles(fixture.root, { 'hello.txt': HELLO, 'coded.txt': CODED, 'coded.txt.gz': zlib.gzipSync(CODED) });
const LAST_MODIFIED = 'Tue, 02 Jan 2024 03:04:05 GMT';
const MTIME = new Date(LAST_MODIFIED);
utimesSync(path.join(fixture.root, 'hello.txt'), MTIME, MTIME);

/** A static server and the ETag of /hello.txt. */
async function serveFiles(t: TestContext): Promise<{ port: number; etag: string }> {
  const { port } = await startServer(t, { static: { root: fixture.root } });
  const etag = header(await request(t, port, '/hello.txt'), 'etag');
  assert.ok(etag !== undefined);
  return { port, etag };
}

function getHello(t: TestContext, port: number, headers: Record<string, string>): Promise<ParsedResponse> {
  return request(t, port, '/hello.txt', { headers });
}

test('Range with 0xA0 around it is ignored: 200 with the whole file', async (t) => {
  const { port } = await serveFiles(t);
  for (const { value, isValid, what } of variants('bytes=0-4')) {
    const response = await getHello(t, port, { Range: value });
    assert.equal(response.status, isValid ? 206 : 200, what);
    assert.equal(response.body.toString(), isValid ? 'hello' : HELLO, what);
  }
});

test('Accept-Encoding with 0xA0 around it is ignored: the identity bytes', async (t) => {
  const { port } = await serveFiles(t);
  for (const { value, isValid, what } of variants('gzip')) {
    const response = await request(t, port, '/coded.txt', { headers: { 'Accept-Encoding': value } });
    assert.equal(response.status, 200, what);
    assert.equal(header(response, 'content-encoding'), isValid ? 'gzip' : undefined, what);
    if (!isValid) assert.equal(response.body.toString(), CODED, what);
  }
  for (const { value, isValid, what } of variants('gzip;q=0.5')) {
    const response = await request(t, port, '/coded.txt', { headers: { 'Accept-Encoding': value } });
    assert.equal(header(response, 'content-encoding'), isValid ? 'gzip' : undefined, what);
  }
});

test('If-None-Match with 0xA0 around the entity-tag matches nothing: 200, not 304 (RFC 9110 §13.1.2)', async (t) => {
  const { port, etag } = await serveFiles(t);
  for (const { value, isValid, what } of variants(etag)) {
    const response = await getHello(t, port, { 'If-None-Match': value });
    assert.equal(response.status, isValid ? 304 : 200, what);
  }
  for (const { value, isValid, what } of variants(`"other", ${etag}`)) {
    assert.equal((await getHello(t, port, { 'If-None-Match': value })).status, isValid ? 304 : 200, what);
  }
  for (const { value, isValid, what } of variants('*')) {
    assert.equal((await getHello(t, port, { 'If-None-Match': value })).status, isValid ? 304 : 200, what);
  }
});

test('If-Match with 0xA0 around the entity-tag is false: 412 (RFC 9110 §13.1.1)', async (t) => {
  const { port, etag } = await serveFiles(t);
  for (const { value, isValid, what } of variants(etag)) {
    const response = await getHello(t, port, { 'If-Match': value });
    assert.equal(response.status, isValid ? 200 : 412, what);
  }
  for (const { value, isValid, what } of variants('*')) {
    assert.equal((await getHello(t, port, { 'If-Match': value })).status, isValid ? 200 : 412, what);
  }
});

test('If-Modified-Since with 0xA0 around the date is ignored: 200, not 304 (RFC 9110 §13.1.3)', async (t) => {
  const { port } = await serveFiles(t);
  for (const { value, isValid, what } of variants(LAST_MODIFIED)) {
    const response = await getHello(t, port, { 'If-Modified-Since': value });
    assert.equal(response.status, isValid ? 304 : 200, what);
  }
});

test('If-Unmodified-Since with 0xA0 around the date is ignored: 200, not 412 (RFC 9110 §13.1.4)', async (t) => {
  const { port } = await serveFiles(t);
  for (const { value, isValid, what } of variants('Sun, 01 Jan 2023 00:00:00 GMT')) {
    const response = await getHello(t, port, { 'If-Unmodified-Since': value });
    assert.equal(response.status, isValid ? 412 : 200, what);
  }
});

test('If-Range with 0xA0 around the entity-tag or date matches nothing: 200 with the whole file (RFC 9110 §13.1.5)', async (t) => {
  const { port, etag } = await serveFiles(t);
  for (const validator of [etag, LAST_MODIFIED]) {
    for (const { value, isValid, what } of variants(validator)) {
      const response = await getHello(t, port, { Range: 'bytes=0-4', 'If-Range': value });
      assert.equal(response.status, isValid ? 206 : 200, what);
      assert.equal(response.body.toString(), isValid ? 'hello' : HELLO, what);
    }
  }
});

// ─── the fields the engine reads ─────────────────────────────────────────────

/** A server whose handler answers with the request body it received. */
async function serveEcho(t: TestContext): Promise<number> {
  const { port } = await startServer(t, {
    handler: (request) => ({ status: 200, headers: ['Content-Type', 'text/plain'], body: request.body }),
  });
  return port;
}

test('Expect with 0xA0 around 100-continue is not 100-continue: 417', async (t) => {
  const port = await serveEcho(t);
  for (const { value, isValid, what } of variants('100-continue')) {
    const result = await exchange(t, port, `PUT /up HTTP/1.1\r\nHost: x\r\nExpect: ${value}\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi`);
    assert.equal(result.responses.length, 1, `${what}: ${result.text}`);
    assertResponse(result.responses[0], isValid ? 200 : 417, { isClosing: true });
  }
});

test('Connection with 0xA0 around close is not close: the connection stays open', async (t) => {
  const port = await serveEcho(t);
  for (const { value, isValid, what } of variants('close')) {
    const client = await connect(t, port);
    await client.write(`GET / HTTP/1.1\r\nHost: x\r\nConnection: ${value}\r\n\r\n`);
    const response = await client.readResponse();
    assertResponse(response, 200, { isClosing: isValid });
    if (isValid) {
      assert.ok(await client.waitForClose(), what);
    } else {
      await client.write('GET /again HTTP/1.1\r\nHost: x\r\n\r\n');
      assertResponse(await client.readResponse(), 200, { isClosing: false });
      assert.equal(client.isClosedByServer, false, what);
    }
    client.destroy();
  }
});

test('an HTTP/1.0 Connection with 0xA0 around keep-alive is not keep-alive: the connection closes', async (t) => {
  const port = await serveEcho(t);
  for (const { value, isValid, what } of variants('keep-alive')) {
    const client = await connect(t, port);
    await client.write(`GET / HTTP/1.0\r\nConnection: ${value}\r\n\r\n`);
    const response = await client.readResponse();
    assert.equal(response.status, 200, what);
    assert.equal(header(response, 'connection'), isValid ? 'keep-alive' : 'close', what);
    if (isValid) {
      await client.write('GET /again HTTP/1.0\r\n\r\n');
      assertResponse(await client.readResponse(), 200, { isClosing: true });
    } else {
      assert.ok(await client.waitForClose(), what);
    }
    client.destroy();
  }
});

test('Transfer-Encoding with 0xA0 around chunked is 400 and closes', async (t) => {
  const port = await serveEcho(t);
  for (const { value, isValid, what } of variants('chunked')) {
    const result = await exchange(t, port, `POST /up HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: ${value}\r\nConnection: close\r\n\r\n5\r\nhello\r\n0\r\n\r\n`);
    assert.equal(result.responses.length, 1, `${what}: ${result.text}`);
    assertResponse(result.responses[0], isValid ? 200 : 400, { isClosing: true });
    if (isValid) assert.equal(result.responses[0].body.toString(), 'hello', what);
  }
});

test('Content-Length with 0xA0 around it is 400 and closes', async (t) => {
  const port = await serveEcho(t);
  for (const { value, isValid, what } of variants('5')) {
    const result = await exchange(t, port, `POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: ${value}\r\nConnection: close\r\n\r\nhello`);
    assert.equal(result.responses.length, 1, `${what}: ${result.text}`);
    assertResponse(result.responses[0], isValid ? 200 : 400, { isClosing: true });
    if (isValid) assert.equal(result.responses[0].body.toString(), 'hello', what);
  }
});
