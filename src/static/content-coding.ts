// Content codings, RFC 9110 §8.4 and §12.5.3: which encoding of a file to
// send for a request's Accept-Encoding, and on-the-fly compression.
import { createReadStream } from 'node:fs';
import zlib from 'node:zlib';
import mimeDb from 'mime-db';

export type Coding = 'br' | 'gzip' | 'identity';

/** Server preference when q-values tie. */
const PREFERENCE: Coding[] = ['br', 'gzip', 'identity'];
const UNNAMED_IDENTITY_Q = 0.001;

/**
 * Chooses among the codings available for a file (identity always is): the
 * highest q-value wins, ties go to the server's preference. Without the
 * header, identity (RFC 9110 §12.5.3 allows anything; plain is safest).
 */
export function chooseCoding(acceptEncoding: string | undefined, available: ReadonlySet<Coding>): Coding {
  if (acceptEncoding === undefined) return 'identity';
  const q = new Map<string, number>();
  for (const item of acceptEncoding.split(',')) {
    const [rawName, ...params] = item.toLowerCase().split(';');
    const name = rawName.trim(); // §12.4.2: OWS may come before the ";"
    if (name === '') continue;
    let weight = 1;
    for (const param of params) {
      const m = /^\s*q\s*=\s*([0-9.]+)\s*$/.exec(param);
      if (m !== null) weight = Math.min(1, Number(m[1]) || 0);
    }
    q.set(name === 'x-gzip' ? 'gzip' : name, weight);
  }
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

/** Whether a media type is worth compressing (mime-db's compressible flag, or text/*). */
export function isCompressible(contentType: string): boolean {
  const type = contentType.split(';')[0].trim().toLowerCase();
  const entry = (mimeDb as Record<string, { compressible?: boolean }>)[type];
  if (entry?.compressible !== undefined) return entry.compressible;
  return type.startsWith('text/');
}

/**
 * A file compressed as it is read, chunk by chunk: never buffered whole.
 * The stream is created when iteration starts, so an unused body opens
 * nothing; returning the iterator early destroys both streams.
 */
export function compressedFile(filePath: string, coding: 'br' | 'gzip'): AsyncIterable<Uint8Array> {
  return {
    [Symbol.asyncIterator]() {
      const source = createReadStream(filePath, { highWaterMark: 64 * 1024 });
      const compressor = coding === 'br'
        ? zlib.createBrotliCompress({ params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 4 } })
        : zlib.createGzip({ level: 6 });
      source.on('error', (err) => compressor.destroy(err));
      compressor.on('close', () => source.destroy());
      source.pipe(compressor);
      return compressor[Symbol.asyncIterator]();
    },
  };
}
