// The request fields static files read, parsed to their grammar through the
// shared field-grammar.ts: Range (RFC 9110 §14.2), Accept-Encoding
// (§12.5.3), If-Match and If-None-Match (§13.1.1, §13.1.2) and If-Range
// (§13.1.5). Each valid form, and each near miss that is not the grammar
// and so is treated as its field's rules say.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseRange } from '../src/static/byte-range.js';
import { evaluatePreconditions, ifRangeMatches, PROCEED, type Validators } from '../src/static/conditional.js';
import { chooseCoding, type Coding } from '../src/static/content-coding.js';
import { showBytes } from './parser-harness.js';

describe('Range', () => {
  const valid: Array<[string, ReturnType<typeof parseRange>]> = [
    ['bytes=0-4', [{ first: 0, last: 4 }]],
    ['BYTES=0-4', [{ first: 0, last: 4 }]],
    ['bytes=5-', [{ first: 5, last: null }]],
    ['bytes=-5', [{ suffix: 5 }]],
    ['bytes=0-1, 5-6', [{ first: 0, last: 1 }, { first: 5, last: 6 }]],
    ['bytes=0-4,', [{ first: 0, last: 4 }]],
    ['bytes=, 0-4', [{ first: 0, last: 4 }]],
  ];
  for (const [value, specs] of valid) {
    test(`reads ${showBytes(value)}`, () => assert.deepEqual(parseRange(value), specs));
  }

  const ignored = [
    'bytes = 0-4', 'bytes= 0-4', 'bytes=0 -4', 'bytes=0- 4', '\xa0bytes=0-4', 'bytes=0-4\xa0', 'bytes=\xa00-4',
    'bytes=0-4;x', 'bytes=-', 'bytes=', 'bytes=,', 'bytes=a-b', 'bytes=0x1-2', 'bytes=+1-2', 'bytes=1-2-3',
    'bytes=5-1', 'items=0-4', 'bytes0-4',
  ];
  for (const value of ignored) {
    test(`ignores ${showBytes(value)}, which is not the grammar`, () => assert.equal(parseRange(value), null));
  }
});

describe('Accept-Encoding', () => {
  const BOTH: ReadonlySet<Coding> = new Set(['identity', 'gzip', 'br']);
  const chosen: Array<[string, Coding]> = [
    ['gzip', 'gzip'],
    ['GZIP', 'gzip'],
    ['x-gzip', 'gzip'],
    ['gzip, br', 'br'],
    ['gzip;q=0.5, br;q=0.4', 'gzip'],
    ['gzip ; q=0.5 ,br;q=0.4', 'gzip'],
    ['gzip;Q=1, br;q=0.999', 'gzip'],
    ['gzip;q=1.000, br;q=0.1', 'gzip'],
    ['gzip;level=1', 'gzip'],
    ['br;q=0, *', 'gzip'],
    ['gzip;q=0, br;q=0', 'identity'],
    ['', 'identity'],
    [', gzip,', 'gzip'],
  ];
  for (const [value, coding] of chosen) {
    test(`chooses ${coding} for ${showBytes(value)}`, () => assert.equal(chooseCoding(value, BOTH), coding));
  }

  const ignored = [
    'gzip\xa0', '\xa0gzip', 'gzip;q=0.5\xa0', 'gzip;q=\xa00.5', 'gzip;q=abc', 'gzip;q=2', 'gzip;q=0.5555', 'gzip;q=.5',
    'gzip;q =0.5', 'gzip;q= 0.5', 'gzip;q', 'gzip br', '"gzip"', 'gzip/1',
  ];
  for (const value of ignored) {
    test(`ignores ${showBytes(value)}, which is not the grammar, and sends identity`, () => {
      assert.equal(chooseCoding(value, BOTH), 'identity');
    });
  }
});

describe('If-Match, If-None-Match and If-Range', () => {
  const v: Validators = { etag: '"abc"', lastModifiedMs: Date.UTC(2024, 0, 2, 3, 4, 5) };
  const LAST_MODIFIED = 'Tue, 02 Jan 2024 03:04:05 GMT';
  const ifNoneMatch = (value: string): number => evaluatePreconditions('GET', (name) => (name === 'if-none-match' ? value : undefined), v);
  const ifMatch = (value: string): number => evaluatePreconditions('GET', (name) => (name === 'if-match' ? value : undefined), v);

  const matching = ['"abc"', '*', 'W/"abc"', '"x", "abc"', '"x",,"abc"', '"a,b", "abc"', '"a\\", "abc"', '"x"\t,\t"abc"'];
  for (const value of matching) {
    test(`If-None-Match ${showBytes(value)} matches: 304`, () => assert.equal(ifNoneMatch(value), 304));
  }

  const notMatching = [
    '"abcd"', '"x"', 'abc', 'w/"abc"', '"abc" "x"', '"abc";x', '"abc', '\xa0"abc"', '"abc"\xa0', '"ab c"', '*, "abc"', ' *',
  ];
  for (const value of notMatching) {
    test(`If-None-Match ${showBytes(value)} matches nothing: the request proceeds`, () => assert.equal(ifNoneMatch(value), PROCEED));
  }

  test('If-Match takes the strong comparison: a weak tag, or a value that is not the grammar, is 412', () => {
    assert.equal(ifMatch('"abc"'), PROCEED);
    assert.equal(ifMatch('"x", "abc"'), PROCEED);
    assert.equal(ifMatch('*'), PROCEED);
    for (const value of ['W/"abc"', '"abc"\xa0', '\xa0"abc"', 'abc', '"abc" "x"']) assert.equal(ifMatch(value), 412, showBytes(value));
  });

  test('If-Range matches the entity-tag by strong comparison, or Last-Modified exactly', () => {
    assert.equal(ifRangeMatches(undefined, v), true);
    assert.equal(ifRangeMatches('"abc"', v), true);
    assert.equal(ifRangeMatches(LAST_MODIFIED, v), true);
    for (const value of ['W/"abc"', '"x"', '"abc"\xa0', '\xa0"abc"', `${LAST_MODIFIED}\xa0`, 'Tue, 02 Jan 2024 03:04:06 GMT', '2024-01-02T03:04:05Z', '"abc", "x"']) {
      assert.equal(ifRangeMatches(value, v), false, showBytes(value));
    }
  });
});
