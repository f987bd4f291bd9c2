// The chunked transfer coding, RFC 9112 §7.1:
//
//   chunked-body   = *chunk last-chunk trailer-section CRLF
//   chunk          = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
//   last-chunk     = 1*("0") [ chunk-ext ] CRLF
//   chunk-ext      = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] )
//   chunk-ext-name = token
//   chunk-ext-val  = token / quoted-string
//
// A byte-at-a-time state machine, so any split of the input gives the same
// result; chunk data is handed on as slices, never copied.
//
//   SIZE ─hex─▶ SIZE ─CR───────────────────┬▶ SIZE_LF ─LF─▶ DATA ─▶ DATA_CR ─▶ DATA_LF ─▶ SIZE
//     └─SP/HTAB/";"─▶ extension states ─CR─┘          └─(size 0)─▶ TRAILERS ─empty line─▶ DONE
//
// Extensions are ignored, but parsed to the letter (RFC 9110 §5.6.2 token,
// §5.6.4 quoted-string): a parser that skips them loosely can disagree with
// a front end on where a chunk line ends, which is how bodies are smuggled.
// Each state accepts only the bytes listed; any other byte is 400.
//
//   state            after             accepts
//   SIZE_BWS         size, BWS         BWS · ";"→EXT_NAME_START
//   EXT_NAME_START   ";", BWS          BWS · tchar→EXT_NAME
//   EXT_NAME         tchar             tchar · CR · ";"→EXT_NAME_START · "="→EXT_VALUE_START · BWS→EXT_NAME_BWS
//   EXT_NAME_BWS     name, BWS         BWS · ";"→EXT_NAME_START · "="→EXT_VALUE_START
//   EXT_VALUE_START  "=", BWS          BWS · tchar→EXT_TOKEN · DQUOTE→EXT_QUOTED
//   EXT_TOKEN        tchar             tchar · CR · ";"→EXT_NAME_START · BWS→EXT_BWS
//   EXT_QUOTED       DQUOTE, qdtext    qdtext · "\"→EXT_QUOTED_PAIR · DQUOTE→EXT_VALUE_END
//   EXT_QUOTED_PAIR  "\"               HTAB / SP / VCHAR / obs-text→EXT_QUOTED
//   EXT_VALUE_END    closing DQUOTE    CR · ";"→EXT_NAME_START · BWS→EXT_BWS
//   EXT_BWS          value, BWS        BWS · ";"→EXT_NAME_START
//
// CR, where accepted, ends the line (→ SIZE_LF): BWS is allowed only before
// ";" and "=", never at the end of the line, and a CR or LF inside a quoted
// value is an error, not the end of the line.
import {
  BACKSLASH, CR, DQUOTE, EQUALS, HEX_VALUE, HTAB, IS_FIELD_VALUE, IS_QDTEXT, IS_TOKEN, LF, SEMICOLON, SP,
} from './bytes.js';
import { readFieldLine } from './field-line.js';
import { HttpError } from './http-error.js';

const SIZE = 0;
const SIZE_LF = 1;
const DATA = 2;
const DATA_CR = 3;
const DATA_LF = 4;
const TRAILERS = 5;
const DONE = 6;
// The chunk-ext states, SIZE_BWS to EXT_BWS, in one range.
const SIZE_BWS = 7;
const EXT_NAME_START = 8;
const EXT_NAME = 9;
const EXT_NAME_BWS = 10;
const EXT_VALUE_START = 11;
const EXT_TOKEN = 12;
const EXT_QUOTED = 13;
const EXT_QUOTED_PAIR = 14;
const EXT_VALUE_END = 15;
const EXT_BWS = 16;

/** 2^53 needs 14 hex digits; a few leading zeros more are tolerated */
const MAX_SIZE_DIGITS = 16;
const SMALL_PIECE_BYTES = 1024;
const SMALL_PIECES_PER_COPY = 64;

export interface ChunkedLimits {
  maxBodyBytes: number;
  /** all chunk-ext bytes of one message together */
  maxChunkExtensionBytes: number;
  /** the trailer section, as for the header section */
  maxHeaderBytes: number;
  maxHeaderCount: number;
}

export class ChunkedDecoder {
  #limits: ChunkedLimits;
  #state = SIZE;
  #digits = 0;
  #size = 0;
  #remaining = 0;
  #bodyBytes = 0;
  #extensionBytes = 0;
  #trailerBytes = 0;
  #trailers: string[] = [];
  #smallParts: Buffer[] = [];

  constructor(limits: ChunkedLimits) {
    this.#limits = limits;
  }

  get isDone(): boolean {
    return this.#state === DONE;
  }

  get bodyBytes(): number {
    return this.#bodyBytes;
  }

  /** Trailer fields, flat: lower-cased name, value, ... (RFC 9110 §6.5: not merged into the header fields). */
  get trailers(): string[] {
    return this.#trailers;
  }

  /**
   * Decodes buf[pos, buf.length), appending chunk data to parts. Returns the
   * position of the first byte not consumed: the end of the message once
   * isDone, or the start of an incomplete trailer line.
   */
  decode(buf: Buffer, pos: number, parts: Buffer[]): number {
    const end = buf.length;
    while (pos < end) {
      switch (this.#state) {
        case SIZE: {
          const c = buf[pos];
          const digit = HEX_VALUE[c];
          if (digit >= 0) {
            this.#size = this.#size * 16 + digit;
            if (this.#size > Number.MAX_SAFE_INTEGER) {
              throw new HttpError(400, 'ERR_CHUNK_SIZE', 'cannot parse chunk size: larger than 2^53');
            }
            if (++this.#digits > MAX_SIZE_DIGITS) {
              // Leading zeros are allowed, but not without end.
              throw new HttpError(400, 'ERR_CHUNK_SIZE', `cannot parse chunk size: more than ${MAX_SIZE_DIGITS} digits`);
            }
            pos++;
            break;
          }
          if (this.#digits === 0) {
            throw new HttpError(400, 'ERR_CHUNK_SIZE', 'cannot parse chunk size: expected a hex digit');
          }
          if (c === CR) {
            this.#state = SIZE_LF;
          } else if (c === SEMICOLON || c === SP || c === HTAB) {
            // The extension starts here: its bytes count from the first.
            this.#countExtension(1);
            this.#state = c === SEMICOLON ? EXT_NAME_START : SIZE_BWS;
          } else {
            throw new HttpError(400, 'ERR_CHUNK_SIZE', 'cannot parse chunk size: not a hex digit');
          }
          pos++;
          break;
        }
        case SIZE_LF: {
          if (buf[pos] !== LF) {
            throw new HttpError(400, 'ERR_CHUNK_SIZE', 'cannot parse chunk size line: CR not followed by LF');
          }
          pos++;
          if (this.#size === 0) {
            this.#state = TRAILERS;
            break;
          }
          if (this.#bodyBytes + this.#size > this.#limits.maxBodyBytes) {
            throw new HttpError(413, 'ERR_BODY_TOO_LARGE', `request body is larger than ${this.#limits.maxBodyBytes} bytes`);
          }
          this.#remaining = this.#size;
          this.#size = 0;
          this.#digits = 0;
          this.#state = DATA;
          break;
        }
        case DATA: {
          const take = Math.min(this.#remaining, end - pos);
          this.#collect(buf.subarray(pos, pos + take), parts);
          pos += take;
          this.#remaining -= take;
          this.#bodyBytes += take;
          if (this.#remaining === 0) this.#state = DATA_CR;
          break;
        }
        case DATA_CR:
          if (buf[pos] !== CR) {
            throw new HttpError(400, 'ERR_CHUNK_DATA', 'cannot parse chunk: data not followed by CRLF');
          }
          this.#state = DATA_LF;
          pos++;
          break;
        case DATA_LF:
          if (buf[pos] !== LF) {
            throw new HttpError(400, 'ERR_CHUNK_DATA', 'cannot parse chunk: data not followed by CRLF');
          }
          this.#state = SIZE;
          pos++;
          break;
        case TRAILERS: {
          this.#flushSmallParts(parts);
          const next = this.#decodeTrailerLine(buf, pos);
          if (next === pos) return pos; // incomplete line: wait for more bytes
          pos = next;
          break;
        }
        case DONE:
          return pos;
        default:
          pos = this.#decodeExtension(buf, pos, end);
      }
    }
    return pos;
  }

  /**
   * Large pieces are kept as views of the socket's chunks; small ones are
   * gathered and copied together, so a body sent in a million one-byte
   * chunks costs a few thousand buffers, not a million.
   */
  #collect(piece: Buffer, parts: Buffer[]): void {
    if (piece.byteLength >= SMALL_PIECE_BYTES) {
      this.#flushSmallParts(parts);
      parts.push(piece);
      return;
    }
    this.#smallParts.push(piece);
    if (this.#smallParts.length >= SMALL_PIECES_PER_COPY) this.#flushSmallParts(parts);
  }

  #flushSmallParts(parts: Buffer[]): void {
    if (this.#smallParts.length === 0) return;
    parts.push(this.#smallParts.length === 1 ? this.#smallParts[0] : Buffer.concat(this.#smallParts));
    this.#smallParts = [];
  }

  /**
   * Consumes chunk-ext bytes from pos while the line is in an extension
   * state; returns the position reached. Each byte is counted against the
   * limit before it is judged, so the answer (413 or 400) never depends on
   * where the input was split.
   */
  #decodeExtension(buf: Buffer, pos: number, end: number): number {
    while (pos < end && this.#state >= SIZE_BWS) {
      const state = this.#state;
      if (state === EXT_NAME || state === EXT_TOKEN || state === EXT_QUOTED) {
        // The common case, a run of bytes that keep the state, in one step.
        const keeps = state === EXT_QUOTED ? IS_QDTEXT : IS_TOKEN;
        const start = pos;
        while (pos < end && keeps[buf[pos]] === 1) pos++;
        this.#countExtension(pos - start);
        if (pos === end) break;
      }
      const c = buf[pos++];
      if (c === CR && (state === EXT_NAME || state === EXT_TOKEN || state === EXT_VALUE_END)) {
        this.#state = SIZE_LF;
        break;
      }
      this.#countExtension(1);
      this.#state = nextExtensionState(state, c);
    }
    return pos;
  }

  #countExtension(n: number): void {
    this.#extensionBytes += n;
    if (this.#extensionBytes > this.#limits.maxChunkExtensionBytes) {
      // As Node's parser does since CVE-2024-22019: unbounded chunk
      // extensions would let a client stream forever without a body byte.
      throw new HttpError(413, 'ERR_CHUNK_EXTENSIONS_TOO_LARGE', 'chunk extensions are too large');
    }
  }

  /** Consumes one whole trailer line at pos, or nothing when it is not complete yet. */
  #decodeTrailerLine(buf: Buffer, pos: number): number {
    const lf = buf.indexOf(LF, pos);
    const lineBytes = (lf < 0 ? buf.length : lf + 1) - pos;
    if (this.#trailerBytes + lineBytes > this.#limits.maxHeaderBytes) {
      throw new HttpError(431, 'ERR_TRAILERS_TOO_LARGE', `trailer section is larger than ${this.#limits.maxHeaderBytes} bytes`);
    }
    if (lf < 0) return pos;
    if (lf === pos || buf[lf - 1] !== CR) {
      throw new HttpError(400, 'ERR_BARE_LF', 'cannot parse trailer section: bare LF line terminator');
    }
    this.#trailerBytes += lineBytes;
    if (lf - 1 === pos) {
      this.#state = DONE;
    } else {
      readFieldLine(buf, pos, lf - 1, this.#trailers);
      if (this.#trailers.length / 2 > this.#limits.maxHeaderCount) {
        throw new HttpError(431, 'ERR_TOO_MANY_TRAILERS', `more than ${this.#limits.maxHeaderCount} trailer fields`);
      }
    }
    return lf + 1;
  }
}

/**
 * The state after byte c in extension state `state` (other than a CR that
 * ends the line, and the bytes of a run that keep EXT_NAME, EXT_TOKEN or
 * EXT_QUOTED), or an HttpError: RFC 9112 §7.1.1 and the table at the top.
 */
function nextExtensionState(state: number, c: number): number {
  const isBws = c === SP || c === HTAB;
  switch (state) {
    case SIZE_BWS:
      if (c === SEMICOLON) return EXT_NAME_START;
      if (isBws) return SIZE_BWS;
      throw new HttpError(400, 'ERR_CHUNK_SIZE', 'cannot parse chunk size: whitespace not followed by an extension');
    case EXT_NAME_START:
      if (IS_TOKEN[c] === 1) return EXT_NAME;
      if (isBws) return EXT_NAME_START;
      if (c === SEMICOLON || c === EQUALS || c === CR) throw extensionError('empty name');
      throw extensionError('name is not a token');
    case EXT_NAME:
    case EXT_NAME_BWS:
      if (c === SEMICOLON) return EXT_NAME_START;
      if (c === EQUALS) return EXT_VALUE_START;
      if (isBws) return EXT_NAME_BWS;
      if (state === EXT_NAME) throw extensionError('name is not a token');
      throw extensionError(c === CR ? 'whitespace at the end of the line' : 'whitespace inside a name');
    case EXT_VALUE_START:
      if (IS_TOKEN[c] === 1) return EXT_TOKEN;
      if (c === DQUOTE) return EXT_QUOTED;
      if (isBws) return EXT_VALUE_START;
      if (c === SEMICOLON || c === CR) throw extensionError('"=" without a value');
      throw extensionError('value is not a token or a quoted-string');
    case EXT_TOKEN:
      if (c === SEMICOLON) return EXT_NAME_START;
      if (isBws) return EXT_BWS;
      throw extensionError(c === DQUOTE ? 'quote inside a token value' : 'value is not a token');
    case EXT_QUOTED:
      if (c === DQUOTE) return EXT_VALUE_END;
      if (c === BACKSLASH) return EXT_QUOTED_PAIR;
      throw extensionError(c === CR || c === LF ? 'CR or LF inside a quoted value' : 'control character inside a quoted value');
    case EXT_QUOTED_PAIR:
      if (IS_FIELD_VALUE[c] === 1) return EXT_QUOTED;
      throw extensionError(c === CR || c === LF ? 'CR or LF inside a quoted value' : 'control character inside a quoted value');
    case EXT_VALUE_END:
      if (c === SEMICOLON) return EXT_NAME_START;
      if (isBws) return EXT_BWS;
      throw extensionError('a quoted value not followed by ";" or the end of the line');
    default: // EXT_BWS
      if (c === SEMICOLON) return EXT_NAME_START;
      if (isBws) return EXT_BWS;
      throw extensionError(c === CR ? 'whitespace at the end of the line' : 'whitespace not followed by ";"');
  }
}

function extensionError(reason: string): HttpError {
  return new HttpError(400, 'ERR_CHUNK_EXTENSION', `cannot parse chunk extension: ${reason}`);
}
