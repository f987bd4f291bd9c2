// The codec of an HTTP exchange between the I/O thread and a worker: a job
// (request head and body) into a payload slot of the shared queue, and a
// result (status, headers, body) into a result mailbox slot. Each kind of
// body round-trips; whatever does not fit, or cannot be written as latin1
// text, is refused with -1 and never written past the slot it was given.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { JOB_SLOT_BYTES, RESULT_HEAD_BYTES, RESULT_SLOT_BYTES, decodeHttpJob, decodeHttpResult, encodeHttpJob, encodeHttpResult, type HttpJob, type HttpJobResult } from '../src/app/http-job.js';

/** A byte of guard after the slot: an encoder that writes past its target changes it. */
const GUARD = 0xa5;

/**
 * Encodes into a `targetBytes` view of a larger buffer, checks the length
 * returned is within the view and that nothing past the view was written,
 * and returns the encoded bytes (a copy), or null for -1.
 */
function encodeInto<T>(encode: (value: T, target: Buffer) => number, value: T, targetBytes: number): Buffer | null {
  const memory = Buffer.alloc(targetBytes + 64, GUARD);
  const length = encode(value, memory.subarray(0, targetBytes));
  assert.ok(length === -1 || (length >= 0 && length <= targetBytes), `length ${length} for a target of ${targetBytes} bytes`);
  assert.ok(memory.subarray(targetBytes).every((byte) => byte === GUARD), 'nothing was written past the target');
  return length === -1 ? null : Buffer.from(memory.subarray(0, length));
}

function roundTripJob(job: HttpJob, targetBytes = JOB_SLOT_BYTES): HttpJob {
  const bytes = encodeInto(encodeHttpJob, job, targetBytes);
  assert.ok(bytes !== null, 'the job fits');
  return decodeHttpJob(bytes);
}

/** The decoded result without its timing fields (0 when the worker set none), which the timing test checks. */
function roundTripResult(result: HttpJobResult, targetBytes = RESULT_SLOT_BYTES): HttpJobResult {
  const bytes = encodeInto(encodeHttpResult, result, targetBytes);
  assert.ok(bytes !== null, 'the result fits');
  const { startedAt, worker, ...rest } = decodeHttpResult(bytes);
  assert.equal(startedAt, result.startedAt ?? 0);
  assert.equal(worker, result.worker ?? 0);
  return rest;
}

/** A body as plain bytes, or null, whatever form it takes. */
function bodyBytes(body: Uint8Array | ArrayBuffer | null): Buffer | null {
  return body === null ? null : Buffer.from(body instanceof Uint8Array ? body : new Uint8Array(body));
}

describe('encodeHttpJob and decodeHttpJob', () => {
  test('round-trip a job without headers or body', () => {
    const decoded = roundTripJob({ method: 'GET', url: 'http://example.com/', headers: [], body: null });
    assert.deepEqual(decoded, { method: 'GET', url: 'http://example.com/', headers: [], body: null });
  });

  test('round-trip header fields in order, repeated names and empty values kept', () => {
    const headers = ['host', 'example.com', 'accept', '*/*', 'x-empty', '', 'cookie', 'a=1', 'cookie', 'b=2'];
    const decoded = roundTripJob({ method: 'GET', url: 'http://example.com/a?b=c', headers, body: null });
    assert.deepEqual(decoded.headers, headers);
    assert.equal(decoded.url, 'http://example.com/a?b=c');
    assert.equal(decoded.body, null);
  });

  test('round-trip latin1 bytes in header values as the same characters', () => {
    const headers = ['x-latin1', 'caf\u00e9 \u00ff\u0080\u00a0', 'x-high', '\u00fe\u00e0'];
    assert.deepEqual(roundTripJob({ method: 'GET', url: 'http://a/', headers, body: null }).headers, headers);
  });

  test('round-trip a body given as a Uint8Array, a view included', () => {
    const whole = new Uint8Array(300).map((_, i) => i % 256);
    const view = whole.subarray(10, 290);
    const decoded = roundTripJob({ method: 'POST', url: 'http://a/upload', headers: ['content-length', '280'], body: view });
    assert.equal(decoded.method, 'POST');
    assert.deepEqual(decoded.headers, ['content-length', '280']);
    assert.deepEqual(bodyBytes(decoded.body), Buffer.from(view), 'only the view, not the buffer under it');
  });

  test('round-trip a body given as an ArrayBuffer, bytes of every value included', () => {
    const body = new Uint8Array(256).map((_, i) => 255 - i).buffer;
    const decoded = roundTripJob({ method: 'PUT', url: 'http://a/', headers: [], body });
    assert.deepEqual(bodyBytes(decoded.body), Buffer.from(body));
  });

  test('fills a target exactly, and returns -1 for one byte less', () => {
    const job: HttpJob = { method: 'POST', url: 'http://a/', headers: ['a', 'b'], body: new Uint8Array(100).fill(1) };
    const exact = 4 + 'POST\nhttp://a/\na\nb'.length + 100;
    assert.deepEqual(bodyBytes(roundTripJob(job, exact).body), Buffer.alloc(100, 1));
    assert.equal(encodeInto(encodeHttpJob, job, exact - 1), null);
  });

  test('returns -1 when the head alone or the body does not fit the slot', () => {
    const bigHead: HttpJob = { method: 'GET', url: 'http://a/', headers: ['x-big', 'v'.repeat(JOB_SLOT_BYTES)], body: null };
    assert.equal(encodeInto(encodeHttpJob, bigHead, JOB_SLOT_BYTES), null);
    const bigBody: HttpJob = { method: 'POST', url: 'http://a/', headers: [], body: new ArrayBuffer(JOB_SLOT_BYTES) };
    assert.equal(encodeInto(encodeHttpJob, bigBody, JOB_SLOT_BYTES), null);
    assert.equal(encodeInto(encodeHttpJob, { method: 'GET', url: 'http://a/', headers: [], body: null }, 3), null, 'not even room for the length');
  });
});

describe('encodeHttpResult and decodeHttpResult', () => {
  const headers = ['content-type', 'text/plain; charset=utf-8', 'set-cookie', 'a=1', 'set-cookie', 'b=2'];

  test('round-trip a text body as UTF-8, multibyte characters included', () => {
    const text = 'h\u00e9llo \u20ac \u{1f600} \u65e5\u672c';
    const decoded = roundTripResult({ status: 200, headers, body: text });
    assert.equal(decoded.status, 200);
    assert.deepEqual(decoded.headers, headers);
    assert.ok(decoded.body instanceof Uint8Array);
    assert.equal(Buffer.from(decoded.body).toString('utf8'), text);
    assert.equal(decoded.body.byteLength, Buffer.byteLength(text));
  });

  test('round-trip an empty text body as zero bytes, not as no body', () => {
    const decoded = roundTripResult({ status: 200, headers: [], body: '' });
    assert.deepEqual(decoded, { status: 200, headers: [], body: Buffer.alloc(0) });
  });

  test('round-trip ArrayBuffer parts as their bytes joined in order', () => {
    const parts = [new TextEncoder().encode('first,').buffer, new Uint8Array([0, 255, 128]).buffer, new TextEncoder().encode(',last').buffer];
    const decoded = roundTripResult({ status: 201, headers: [], body: parts });
    assert.equal(decoded.status, 201);
    assert.deepEqual(decoded.body, Buffer.concat([Buffer.from('first,'), Buffer.from([0, 255, 128]), Buffer.from(',last')]));
  });

  test('round-trip no parts ([]) as an empty body', () => {
    assert.deepEqual(roundTripResult({ status: 200, headers: ['a', 'b'], body: [] }), { status: 200, headers: ['a', 'b'], body: Buffer.alloc(0) });
  });

  test('round-trip a Uint8Array body, a view included', () => {
    const whole = new Uint8Array(64).map((_, i) => i);
    const decoded = roundTripResult({ status: 206, headers: [], body: whole.subarray(8, 40) });
    assert.deepEqual(decoded.body, Buffer.from(whole.subarray(8, 40)));
  });

  test('round-trip no body (null) as null, and statuses up to 999', () => {
    assert.deepEqual(roundTripResult({ status: 204, headers, body: null }), { status: 204, headers, body: null });
    assert.equal(roundTripResult({ status: 999, headers: [], body: null }).status, 999);
  });

  test('round-trip when the job started and on which thread', () => {
    const startedAt = performance.timeOrigin + performance.now();
    const bytes = encodeInto(encodeHttpResult, { status: 200, headers: [], body: 'x', startedAt, worker: 7 }, RESULT_SLOT_BYTES)!;
    const decoded = decodeHttpResult(bytes);
    assert.equal(decoded.startedAt, startedAt);
    assert.equal(decoded.worker, 7);
  });

  test('round-trip latin1 header values', () => {
    const latin1 = ['x-name', 'na\u00efve \u00ff'];
    assert.deepEqual(roundTripResult({ status: 200, headers: latin1, body: null }).headers, latin1);
  });

  test('copies the body out of the slot, so the slot may be reused', () => {
    const slot = Buffer.alloc(256);
    const length = encodeHttpResult({ status: 200, headers: [], body: 'kept' }, slot);
    const decoded = decodeHttpResult(slot.subarray(0, length));
    slot.fill(0);
    assert.equal(Buffer.from(decoded.body as Uint8Array).toString(), 'kept');
  });

  test('returns -1 for a header with an LF, in a name or a value', () => {
    for (const bad of [['x-a', 'one\ntwo'], ['x-\nb', 'v'], ['x-c', '\n']]) {
      assert.equal(encodeInto(encodeHttpResult, { status: 200, headers: bad, body: 'ok' }, RESULT_SLOT_BYTES), null, JSON.stringify(bad));
    }
  });

  test('returns -1 for a header with a character past latin1', () => {
    for (const bad of [['x-a', '\u0100'], ['x-b', '\u20ac'], ['x-\u{1f600}', 'v']]) {
      assert.equal(encodeInto(encodeHttpResult, { status: 200, headers: bad, body: null }, RESULT_SLOT_BYTES), null, JSON.stringify(bad));
    }
  });

  test('returns -1 for a body of any kind that does not fit beside the head', () => {
    const big = RESULT_SLOT_BYTES;
    const bodies: HttpJobResult['body'][] = [
      'x'.repeat(big),
      '\u20ac'.repeat(Math.ceil(big / 3)),
      [new ArrayBuffer(big / 2), new ArrayBuffer(big / 2)],
      new Uint8Array(big - 6),
    ];
    for (const body of bodies) assert.equal(encodeInto(encodeHttpResult, { status: 200, headers: [], body }, big), null);
  });

  test('fits a text body whose UTF-8 fills the slot exactly, and refuses one byte more', () => {
    const head = RESULT_HEAD_BYTES + 1; // the fixed fields and the body kind: no header text
    const text = '\u20ac'.repeat(10); // 30 bytes of UTF-8
    assert.equal(Buffer.from(roundTripResult({ status: 200, headers: [], body: text }, head + 30).body as Uint8Array).toString(), text);
    assert.equal(encodeInto(encodeHttpResult, { status: 200, headers: [], body: text }, head + 29), null);
    assert.equal(encodeInto(encodeHttpResult, { status: 200, headers: [], body: `${text}a` }, head + 30), null);
  });

  test('returns -1 when the headers alone do not fit, whatever the body', () => {
    const bodies: HttpJobResult['body'][] = [null, '', 'body', [], [new ArrayBuffer(1)], new Uint8Array(0), new Uint8Array(3)];
    const bigHeaders = ['x-big', 'v'.repeat(100)];
    const empty = RESULT_HEAD_BYTES + 1;
    for (const targetBytes of [0, 3, 6, empty, 50, empty + 'x-big\n'.length + 99]) {
      for (const body of bodies) {
        const bytes = encodeInto(encodeHttpResult, { status: 200, headers: bigHeaders, body }, targetBytes);
        assert.equal(bytes, null, `headers of 106 bytes in ${targetBytes}, body ${JSON.stringify(body)}`);
      }
    }
    for (const body of bodies) {
      const fits = encodeInto(encodeHttpResult, { status: 200, headers: [], body }, empty);
      const isEmpty = body === null || body === '' || (Array.isArray(body) && body.length === 0) || (body instanceof Uint8Array && body.byteLength === 0);
      assert.equal(fits !== null, isEmpty, `an empty head alone fills ${empty} bytes; body ${JSON.stringify(body)}`);
    }
  });
});
