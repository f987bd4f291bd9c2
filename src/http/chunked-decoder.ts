// The chunked transfer coding, RFC 9112 §7.1:
//
//   chunked-body = *chunk last-chunk trailer-section CRLF
//   chunk        = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
//   last-chunk   = 1*("0") [ chunk-ext ] CRLF
//
// A byte-at-a-time state machine for the framing, so any split of the input
// gives the same result; chunk data is handed on as slices, never copied.
//
//   SIZE ─hex─▶ SIZE ─;─▶ EXT ─CR─▶ SIZE_LF ─LF─▶ DATA ─▶ DATA_CR ─▶ DATA_LF ─▶ SIZE
//     └─SP/HTAB─▶ SIZE_BWS ─;─▶ EXT          └─(size 0)─▶ TRAILERS ─empty line─▶ DONE
import { CR, HEX_VALUE, HTAB, IS_FIELD_VALUE, LF, SEMICOLON, SP } from './bytes.js';
import { readFieldLine } from './field-line.js';
import { HttpError } from './http-error.js';

const SIZE = 0;
const SIZE_BWS = 1;
const EXT = 2;
const SIZE_LF = 3;
const DATA = 4;
const DATA_CR = 5;
const DATA_LF = 6;
const TRAILERS = 7;
const DONE = 8;

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
          if (c === CR) this.#state = SIZE_LF;
          else if (c === SEMICOLON) this.#state = EXT;
          else if (c === SP || c === HTAB) this.#state = SIZE_BWS;
          else throw new HttpError(400, 'ERR_CHUNK_SIZE', 'cannot parse chunk size: not a hex digit');
          pos++;
          break;
        }
        case SIZE_BWS: {
          // RFC 9112 §7.1.1: BWS is allowed only before a chunk-ext.
          const c = buf[pos];
          if (c === SEMICOLON) this.#state = EXT;
          else if (c !== SP && c !== HTAB) {
            throw new HttpError(400, 'ERR_CHUNK_SIZE', 'cannot parse chunk size: whitespace not followed by an extension');
          }
          this.#countExtension(1);
          pos++;
          break;
        }
        case EXT: {
          // Extensions are accepted and ignored, but never a control byte
          // (a bare LF here is a smuggling vector) and never without bound.
          const start = pos;
          while (pos < end && buf[pos] !== CR) {
            if (IS_FIELD_VALUE[buf[pos]] !== 1) {
              throw new HttpError(400, 'ERR_CHUNK_EXTENSION', 'cannot parse chunk extension: control character');
            }
            pos++;
          }
          this.#countExtension(pos - start);
          if (pos < end) {
            this.#state = SIZE_LF;
            pos++;
          }
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
