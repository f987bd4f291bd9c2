// Content codings, RFC 9110 §8.4 and §12.5.3: which encoding of a file to
// send for a request's Accept-Encoding, and on-the-fly compression.
//
//   Accept-Encoding = #( codings [ weight ] )                       §12.5.3
//   codings         = content-coding / "identity" / "*"
//   weight          = OWS ";" OWS "q=" qvalue                       §12.4.2
//   qvalue          = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )
import type { Readable } from 'node:stream';
import zlib from 'node:zlib';
import mimeDb from 'mime-db';
import { parseList, scanParameters, scanToken, trimOws } from '../http/field-grammar.js';

export type Coding = 'br' | 'gzip' | 'identity';

/** Server preference when q-values tie. */
const PREFERENCE: Coding[] = ['br', 'gzip', 'identity'];
const UNNAMED_IDENTITY_Q = 0.001;
const QVALUE = /^(?:0(?:\.[0-9]{0,3})?|1(?:\.0{0,3})?)$/;

/**
 * Chooses among the codings available for a file (identity always is): the
 * highest q-value wins, ties go to the server's preference. Without the
 * header, or with one that is not of its grammar, identity (RFC 9110
 * §12.5.3 allows anything; plain is safest).
 */
export function chooseCoding(acceptEncoding: string | undefined, available: ReadonlySet<Coding>): Coding {
  const q = acceptEncoding === undefined ? null : parseAcceptEncoding(acceptEncoding);
  if (q === null) return 'identity';
  const star = q.get('*');
  const weightOf = (coding: Coding): number => {
    const own = q.get(coding);
    if (own !== undefined) return own;
    if (star !== undefined) return star;
    // RFC 9110 §12.5.3: identity is acceptable unless excluded, but a client
    // that names codings prefers them: unnamed, it ranks below each of them
    // (the smallest qvalue, §12.4.2), as jshttp/negotiator ranks it.
    return coding === 'identity' ? UNNAMED_IDENTITY_Q : 0;
  };
  let best: Coding = 'identity';
  let bestWeight = -1;
  for (const coding of PREFERENCE) {
    if (coding !== 'identity' && !available.has(coding)) continue;
    const weight = weightOf(coding);
    if (weight > bestWeight && weight > 0) {
      best = coding;
      bestWeight = weight;
    }
  }
  return best;
}

/**
 * Accept-Encoding as a map from coding (lower-cased; x-gzip is gzip) to its
 * weight, or null when the value is not of the grammar. Parameters other
 * than q, which the grammar does not have, are tolerated and ignored, as
 * jshttp/negotiator does.
 */
function parseAcceptEncoding(value: string): Map<string, number> | null {
  const elements = parseList(value, scanCodingWithParameters);
  if (elements === null) return null;
  const q = new Map<string, number>();
  for (const element of elements) {
    const nameEnd = scanToken(element, 0);
    const parameters: string[] = [];
    scanParameters(element, nameEnd, parameters);
    let weight = 1;
    for (let i = 0; i < parameters.length; i += 2) {
      if (parameters[i] !== 'q') continue;
      if (!QVALUE.test(parameters[i + 1])) return null;
      weight = Number(parameters[i + 1]);
    }
    const name = element.slice(0, nameEnd).toLowerCase();
    q.set(name === 'x-gzip' ? 'gzip' : name, weight);
  }
  return q;
}

function scanCodingWithParameters(s: string, pos: number): number {
  const nameEnd = scanToken(s, pos);
  return nameEnd === pos ? -1 : scanParameters(s, nameEnd, null);
}

/** Whether a media type is worth compressing (mime-db's compressible flag, or text/*). */
export function isCompressible(contentType: string): boolean {
  const semicolon = contentType.indexOf(';');
  const type = trimOws(semicolon < 0 ? contentType : contentType.slice(0, semicolon)).toLowerCase();
  const entry = (mimeDb as Record<string, { compressible?: boolean }>)[type];
  if (entry?.compressible !== undefined) return entry.compressible;
  return type.startsWith('text/');
}

/**
 * A file's stream compressed as it is read, chunk by chunk: never buffered
 * whole. Returning the iterator early destroys both streams.
 */
export function compressStream(source: Readable, coding: 'br' | 'gzip'): AsyncIterable<Uint8Array> {
  const compressor = coding === 'br'
    ? zlib.createBrotliCompress({ params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 4 } })
    : zlib.createGzip({ level: 6 });
  source.on('error', (err) => compressor.destroy(err));
  compressor.on('close', () => source.destroy());
  source.pipe(compressor);
  return compressor;
}
