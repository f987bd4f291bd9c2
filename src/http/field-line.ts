// One header or trailer field line, RFC 9112 §5:
//
//   field-line = field-name ":" OWS field-value OWS
//
// Shared by the request head and the chunked trailer section so both apply
// exactly the same rules.
import { COLON, HTAB, IS_FIELD_VALUE, IS_TOKEN, SP } from './bytes.js';
import { HttpError } from './http-error.js';

/**
 * Parses the field line buf[start, end) (without its CRLF) and appends its
 * lower-cased name and its value to out.
 */
export function readFieldLine(buf: Buffer, start: number, end: number, out: string[]): void {
  const first = buf[start];
  if (first === SP || first === HTAB) {
    // RFC 9112 §5.2: obs-fold is rejected; a leading space before the first
    // field name (RFC 9112 §2.2) lands here too.
    throw new HttpError(400, 'ERR_OBS_FOLD', 'cannot parse header field: line starts with whitespace (obs-fold)');
  }
  let i = start;
  while (i < end && IS_TOKEN[buf[i]] === 1) i++;
  if (i === end || buf[i] !== COLON) {
    // Covers whitespace between name and colon (RFC 9112 §5.1), a bare CR,
    // NUL and any other non-token byte in the name.
    throw new HttpError(400, 'ERR_INVALID_HEADER_NAME', 'cannot parse header field: name is not a token followed by a colon');
  }
  if (i === start) {
    throw new HttpError(400, 'ERR_INVALID_HEADER_NAME', 'cannot parse header field: empty name');
  }
  const colon = i;
  let valueStart = colon + 1;
  while (valueStart < end && (buf[valueStart] === SP || buf[valueStart] === HTAB)) valueStart++;
  let valueEnd = end;
  while (valueEnd > valueStart && (buf[valueEnd - 1] === SP || buf[valueEnd - 1] === HTAB)) valueEnd--;
  for (let j = valueStart; j < valueEnd; j++) {
    if (IS_FIELD_VALUE[buf[j]] !== 1) {
      // RFC 9110 §5.5: CR, LF and NUL are never valid in a value; nor is any
      // other control character but HTAB.
      throw new HttpError(400, 'ERR_INVALID_HEADER_VALUE', 'cannot parse header field: value contains a control character');
    }
  }
  out.push(
    buf.toString('latin1', start, colon).toLowerCase(),
    valueStart === valueEnd ? '' : buf.toString('latin1', valueStart, valueEnd),
  );
}
