// HTTP-date (RFC 9110 §5.6.7) as a specification: the three forms a
// recipient accepts, to the character, and everything Date.parse would also
// take that is not one of them.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseHttpDate } from '../src/http/http-date.js';
import { showBytes } from './parser-harness.js';

const NOV_6_1994 = Date.UTC(1994, 10, 6, 8, 49, 37);

describe('HTTP-date', () => {
  test('reads IMF-fixdate, rfc850-date and asctime-date as the same instant', () => {
    assert.equal(parseHttpDate('Sun, 06 Nov 1994 08:49:37 GMT'), NOV_6_1994);
    assert.equal(parseHttpDate('Sunday, 06-Nov-94 08:49:37 GMT', Date.UTC(2024, 0, 1)), NOV_6_1994);
    assert.equal(parseHttpDate('Sun Nov  6 08:49:37 1994'), NOV_6_1994);
    assert.equal(parseHttpDate('Sun Nov 16 08:49:37 1994'), Date.UTC(1994, 10, 16, 8, 49, 37));
  });

  test('reads what Date#toUTCString writes (Last-Modified, Date)', () => {
    const ms = Date.UTC(2024, 0, 2, 3, 4, 5);
    assert.equal(parseHttpDate(new Date(ms).toUTCString()), ms);
  });

  test('returns null for an absent value', () => {
    assert.equal(parseHttpDate(undefined), null);
  });

  test('reads a two-digit rfc850 year as within 50 years from now, else the century before', () => {
    const now = Date.UTC(2024, 5, 1);
    assert.equal(parseHttpDate('Monday, 01-Jan-74 00:00:00 GMT', now), Date.UTC(2074, 0, 1));
    assert.equal(parseHttpDate('Tuesday, 01-Jan-75 00:00:00 GMT', now), Date.UTC(1975, 0, 1));
    assert.equal(parseHttpDate('Friday, 01-Jan-99 00:00:00 GMT', now), Date.UTC(1999, 0, 1));
  });

  test('reads a four-digit year below 100 as it is, not as 19xx', () => {
    assert.equal(new Date(parseHttpDate('Sat, 01 Jan 0050 00:00:00 GMT')!).getUTCFullYear(), 50);
  });

  test('reads second 60 as the leap second it is', () => {
    assert.equal(parseHttpDate('Sat, 31 Dec 2016 23:59:60 GMT'), Date.UTC(2017, 0, 1));
  });

  const invalid: Array<[string, string]> = [
    ['0xA0 before it', '\xa0Sun, 06 Nov 1994 08:49:37 GMT'],
    ['0xA0 after it', 'Sun, 06 Nov 1994 08:49:37 GMT\xa0'],
    ['a space after it', 'Sun, 06 Nov 1994 08:49:37 GMT '],
    ['two spaces where the grammar has one', 'Sun,  06 Nov 1994 08:49:37 GMT'],
    ['HTAB for SP', 'Sun,\t06 Nov 1994 08:49:37 GMT'],
    ['a one-digit day in IMF-fixdate', 'Sun, 6 Nov 1994 08:49:37 GMT'],
    ['a lower-case GMT', 'Sun, 06 Nov 1994 08:49:37 gmt'],
    ['UTC for GMT', 'Sun, 06 Nov 1994 08:49:37 UTC'],
    ['a numeric zone', 'Sun, 06 Nov 1994 08:49:37 +0000'],
    ['an upper-case month', 'Sun, 06 NOV 1994 08:49:37 GMT'],
    ['an unknown month', 'Sun, 06 Nox 1994 08:49:37 GMT'],
    ['an unknown day name', 'Sno, 06 Nov 1994 08:49:37 GMT'],
    ['a long day name in IMF-fixdate', 'Sunday, 06 Nov 1994 08:49:37 GMT'],
    ['a short day name in rfc850-date', 'Sun, 06-Nov-94 08:49:37 GMT'],
    ['no day name', '06 Nov 1994 08:49:37 GMT'],
    ['31 February', 'Thu, 31 Feb 1994 08:49:37 GMT'],
    ['day 00', 'Sun, 00 Nov 1994 08:49:37 GMT'],
    ['hour 24', 'Sun, 06 Nov 1994 24:00:00 GMT'],
    ['minute 60', 'Sun, 06 Nov 1994 08:60:00 GMT'],
    ['second 61', 'Sun, 06 Nov 1994 08:49:61 GMT'],
    ['an ISO 8601 date', '1994-11-06T08:49:37Z'],
    ['a date without a time', '1 Jan 2024'],
    ['two dates (a list)', 'Sun, 06 Nov 1994 08:49:37 GMT, Sun, 06 Nov 1994 08:49:37 GMT'],
    ['a word', 'yesterday'],
    ['nothing', ''],
  ];
  for (const [what, value] of invalid) {
    test(`rejects a date with ${what}: ${showBytes(value)}`, () => {
      assert.equal(parseHttpDate(value), null);
    });
  }
});
