// HTTP-date, RFC 9110 §5.6.7: the preferred IMF-fixdate and the two obsolete
// forms a recipient must still accept, each case-sensitive and with exactly
// one SP where the grammar has one.
//
//   IMF-fixdate  = day-name "," SP day SP month SP year SP hour ":" minute ":" second SP "GMT"
//                  Sun, 06 Nov 1994 08:49:37 GMT
//   rfc850-date  = day-name-l "," SP day "-" month "-" 2DIGIT SP hour ":" minute ":" second SP "GMT"
//                  Sunday, 06-Nov-94 08:49:37 GMT
//   asctime-date = day-name SP month SP ( 2DIGIT / ( SP DIGIT ) ) SP hour ":" minute ":" second SP year
//                  Sun Nov  6 08:49:37 1994
//
// Date.parse is no parser for this: V8's takes "2024-01-02" and "1 Jan 2024"
// too, and any date with U+00A0 around it.

const DAY_NAMES = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const LONG_DAY_NAMES = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

const IMF_FIXDATE = /^([A-Z][a-z]{2}), (\d{2}) ([A-Z][a-z]{2}) (\d{4}) (\d{2}):(\d{2}):(\d{2}) GMT$/;
const RFC850_DATE = /^([A-Z][a-z]{5,8}), (\d{2})-([A-Z][a-z]{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2}) GMT$/;
const ASCTIME_DATE = /^([A-Z][a-z]{2}) ([A-Z][a-z]{2}) (\d{2}| \d) (\d{2}):(\d{2}):(\d{2}) (\d{4})$/;

/** An HTTP-date in ms since the epoch, or null when value is absent or not an HTTP-date (then a precondition ignores it). */
export function parseHttpDate(value: string | undefined, nowMs = Date.now()): number | null {
  if (value === undefined) return null;
  let m = IMF_FIXDATE.exec(value);
  if (m !== null) {
    if (!DAY_NAMES.includes(m[1])) return null;
    return toEpochMs(Number(m[4]), m[3], Number(m[2]), m[5], m[6], m[7]);
  }
  m = RFC850_DATE.exec(value);
  if (m !== null) {
    if (!LONG_DAY_NAMES.includes(m[1])) return null;
    return toEpochMs(fullYear(Number(m[4]), nowMs), m[3], Number(m[2]), m[5], m[6], m[7]);
  }
  m = ASCTIME_DATE.exec(value);
  if (m !== null) {
    if (!DAY_NAMES.includes(m[1])) return null;
    return toEpochMs(Number(m[7]), m[2], Number(m[3]), m[4], m[5], m[6]);
  }
  return null;
}

/**
 * RFC 9110 §5.6.7: a two-digit year that would be more than 50 years in the
 * future is the most recent past year with those digits.
 */
function fullYear(twoDigits: number, nowMs: number): number {
  const thisYear = new Date(nowMs).getUTCFullYear();
  let year = thisYear - (thisYear % 100) + twoDigits;
  if (year > thisYear + 50) year -= 100;
  return year;
}

/** The instant, or null when a field is out of range (31 Feb, 24:00:00); second 60 is a leap second (§5.6.7). */
function toEpochMs(year: number, monthName: string, day: number, hour: string, minute: string, second: string): number | null {
  const month = MONTHS.indexOf(monthName);
  const h = Number(hour);
  const min = Number(minute);
  const sec = Number(second);
  if (month < 0 || day < 1 || h > 23 || min > 59 || sec > 60) return null;
  const date = new Date(0);
  date.setUTCFullYear(year, month, day); // not Date.UTC, which reads years 0-99 as 1900-1999
  if (date.getUTCMonth() !== month) return null; // 31 Feb rolled over into March
  return date.getTime() + ((h * 60 + min) * 60 + sec) * 1000;
}
