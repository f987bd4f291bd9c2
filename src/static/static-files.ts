// Serves the files under a directory the way nginx does: safely (nothing
// outside the root), with the HTTP semantics of RFC 9110 (validators,
// conditional requests, ranges, content codings), and without ever reading a
// large file whole or blocking the I/O thread.
//
// Order of decisions for a file (as Deno std's file_server and
// honojs/node-server do): method → preconditions (304/412) → Range
// (206/416) → content coding → 200.
import { promises as fs, realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import { getRequestHeader, type HttpRequest } from '../http/request-parser.js';
import { disallowedMethod } from '../http/methods.js';
import type { HttpResponse } from '../http/response.js';
import { parseRange, resolveRange } from './byte-range.js';
import { evaluatePreconditions, ifRangeMatches } from './conditional.js';
import { chooseCoding, compressStream, isCompressible, type Coding } from './content-coding.js';
import { renderListing } from './directory-listing.js';
import { FileCache, type FileInfo } from './file-cache.js';
import { NO_BYTES, OpenedFile, openFile } from './opened-file.js';
import { joinUnderRoot, resolveRequestPath } from './resolve-path.js';

export interface StaticOptions {
  /** the directory to serve */
  root: string;
  /** URL path under which the root is served (default "/") */
  prefix?: string;
  /** list directories without an index.html (default: 404) */
  listing?: boolean;
  /** serve files reached through symbolic links that lead outside the root (default: 404) */
  followSymlinks?: boolean;
  /** serve names starting with "." (default: 404) */
  dotfiles?: boolean;
  /** Cache-Control of every file response (default "public, max-age=0") */
  cacheControl?: string;
  /** compress compressible files above 1 KiB on the fly when no .br/.gz sibling exists */
  compress?: boolean;
  /**
   * how long what the file cache knows of a path (type, size, mtime, the
   * bytes of a small file) is trusted before one stat checks it again; 0
   * checks on every request (default 1000 ms)
   */
  cacheValidityMs?: number;
}

/**
 * Reads of a streamed file: each is a round trip through libuv's thread
 * pool, so larger reads move more bytes per trip; back-pressure keeps at most
 * a couple of them in memory per download.
 */
type MaybePromise<T> = T | Promise<T>;

/** Applies fn now to a value, or later to a promised one: the sync path stays sync. */
function then<T, R>(value: MaybePromise<T>, fn: (value: T) => MaybePromise<R>): MaybePromise<R> {
  return value instanceof Promise ? value.then(fn) : fn(value);
}

/**
 * Reads of a streamed file (larger than what the file cache keeps). Larger
 * reads move more bytes per round trip through libuv's thread pool, but each
 * slow download holds a couple of them: 64 KiB keeps a thousand slow clients
 * of large files near 128 MiB.
 */
const STREAM_CHUNK_BYTES = 64 * 1024;
const COMPRESS_MIN_BYTES = 1024;
const TEXT = 'text/plain; charset=utf-8';

export class StaticFiles {
  readonly root: string;
  #prefix: string;
  #options: Required<Omit<StaticOptions, 'root' | 'prefix' | 'cacheValidityMs'>>;
  #cache: FileCache;

  /** lookups of file metadata answered from the cache, and those that needed a stat */
  get cacheCounts(): { hits: number; misses: number } {
    return { hits: this.#cache.hits, misses: this.#cache.misses };
  }

  constructor(options: StaticOptions) {
    this.root = path.resolve(options.root);
    const prefix = options.prefix ?? '/';
    this.#prefix = prefix.endsWith('/') ? prefix : prefix + '/';
    this.#options = {
      listing: options.listing ?? false,
      followSymlinks: options.followSymlinks ?? false,
      dotfiles: options.dotfiles ?? false,
      cacheControl: options.cacheControl ?? 'public, max-age=0',
      compress: options.compress ?? false,
    };
    // Resolved once: the root itself may be reached through a link.
    const realRoot = realpathOrThrow(this.root);
    this.#cache = new FileCache({ realRoot, followSymlinks: this.#options.followSymlinks, validityMs: options.cacheValidityMs });
  }

  /**
   * The response for a request, or null when nothing under the root answers
   * it (the application, or a 404, does). Synchronous when everything it
   * needs is in the file cache, as for a small file asked for again: no
   * promise, no turn of the event loop.
   */
  handle(request: HttpRequest): MaybePromise<HttpResponse | null> {
    const target = request.path;
    const q = target.indexOf('?');
    const urlPath = q < 0 ? target : target.slice(0, q);
    // The prefix itself without its slash ("/static") names the root directory.
    const isBarePrefix = urlPath === this.#prefix.slice(0, -1);
    if (!urlPath.startsWith(this.#prefix) && !isBarePrefix) return null;
    const resolved = resolveRequestPath('/' + urlPath.slice(this.#prefix.length), { allowDotfiles: this.#options.dotfiles });
    if (!resolved.ok) {
      return resolved.status === 400 ? plain(400, `400 Bad Request: ${resolved.reason}\n`) : null;
    }
    const full = joinUnderRoot(this.root, resolved.segments);
    return then(this.#cache.lookup(full), (info) => {
      if (info === null) return null;
      // "/file.txt/" names a directory that is not there (POSIX ENOTDIR; nginx answers 404).
      if (!info.isDirectory) return resolved.hasTrailingSlash ? null : this.#serveFile(request, info);
      if (!resolved.hasTrailingSlash || isBarePrefix) {
        // The directory's relative links need the slash: redirect (as nginx
        // does) to the normalised path. Echoing the path as sent would turn
        // "//evil.example/%2e%2e/dir" into a Location on another host
        // (RFC 3986 §4.2 network-path reference; serve-static's CVE-2015-1164).
        const query = q < 0 ? '' : target.slice(q);
        const location = this.#prefix + resolved.segments.map((segment) => encodeURIComponent(segment) + '/').join('');
        return { status: 301, headers: ['Location', location + query, 'Content-Type', TEXT], body: '301 Moved Permanently\n' };
      }
      return then(this.#cache.lookup(path.join(full, 'index.html')), (index) => {
        if (index !== null && !index.isDirectory) return this.#serveFile(request, index);
        return this.#options.listing ? this.#listing(request, full, urlPath) : null;
      });
    });
  }

  #serveFile(request: HttpRequest, info: FileInfo): MaybePromise<HttpResponse> {
    const method = request.method;
    if (method !== 'GET' && method !== 'HEAD') {
      return disallowedMethod(method, 'GET, HEAD');
    }
    // Which precompressed siblings exist (cached like any file), also when this
    // client takes none: the response still varies by Accept-Encoding (Vary).
    const br = this.#cache.lookup(info.path + '.br');
    const gzip = this.#cache.lookup(info.path + '.gz');
    if (br instanceof Promise || gzip instanceof Promise) {
      return Promise.all([br, gzip]).then(([b, g]) => this.#respond(request, info, b, g));
    }
    return this.#respond(request, info, br, gzip);
  }

  #respond(request: HttpRequest, info: FileInfo, br: FileInfo | null, gzip: FileInfo | null): MaybePromise<HttpResponse> {
    const method = request.method;
    const header = (name: string): string | undefined => getRequestHeader(request, name);
    const isCompressibleType = isCompressible(info.contentType);
    const headers = [
      'Content-Type', info.contentType,
      'Last-Modified', info.lastModified,
      'ETag', info.etag,
      'Cache-Control', this.#options.cacheControl,
      'X-Content-Type-Options', 'nosniff',
      'Accept-Ranges', 'bytes',
    ];

    // Which encodings exist: precompressed siblings, and on the fly.
    const available = new Set<Coding>(['identity']);
    const siblings: Partial<Record<'br' | 'gzip', FileInfo>> = {};
    if (br !== null && !br.isDirectory) {
      siblings.br = br;
      available.add('br');
    }
    if (gzip !== null && !gzip.isDirectory) {
      siblings.gzip = gzip;
      available.add('gzip');
    }
    const canCompress = this.#options.compress && isCompressibleType && info.size > COMPRESS_MIN_BYTES;
    if (canCompress && header('accept-encoding') !== undefined) {
      available.add('br');
      available.add('gzip');
    }
    if (available.size > 1 || canCompress) headers.push('Vary', 'Accept-Encoding');

    // Range (RFC 9110 §14.2): GET only, one range, against the identity form.
    const specs = method === 'GET' ? parseRange(header('range')) : null;
    const rangeSpec = specs !== null && specs.length === 1 && ifRangeMatches(header('if-range'), info) ? specs[0] : null;

    // The representation is chosen before the preconditions, so that they
    // compare the entity-tag it carries: a cache revalidates a gzip response
    // with the gzip response's tag (RFC 9110 §8.8.3, §13.1.2).
    const coding = rangeSpec !== null ? 'identity' : chooseCoding(header('accept-encoding'), available);
    const sibling = coding === 'identity' ? undefined : siblings[coding];
    let etag = info.etag;
    if (coding !== 'identity') {
      // On the fly the bytes may differ between runs: a weak tag (§8.8.1).
      etag = `${sibling === undefined ? 'W/' : ''}${info.etag.slice(0, -1)}-${coding}"`;
      setHeader(headers, 'ETag', etag);
    }

    const precondition = evaluatePreconditions(method, header, { etag, lastModifiedMs: info.lastModifiedMs });
    if (precondition === 304) return { status: 304, headers: withoutContentHeaders(headers), body: null };
    if (precondition === 412) return plain(412, '412 Precondition Failed\n');

    if (rangeSpec !== null) {
      const range = resolveRange(rangeSpec, info.size);
      if (range === null) {
        return { status: 416, headers: ['Content-Range', `bytes */${info.size}`, 'Content-Type', TEXT], body: '416 Range Not Satisfiable\n' };
      }
      headers.push('Content-Range', `bytes ${range.start}-${range.end}/${info.size}`);
      return then(this.#body(method, info, range.start, range.end), (part) => withBody(206, headers, part));
    }
    // Several ranges: the whole file is sent with 200, which RFC 9110 §14.2 allows.

    if (coding === 'identity') return then(this.#body(method, info, 0, info.size - 1), (part) => withBody(200, headers, part));
    headers.push('Content-Encoding', coding);
    if (sibling !== undefined) return then(this.#body(method, sibling, 0, sibling.size - 1), (part) => withBody(200, headers, part));
    // On the fly: the length is unknown, so the body is chunked.
    if (method === 'HEAD') return { status: 200, headers, body: null };
    return withBody(200, headers, {
      body: NO_BYTES,
      prepare: () => openFile(info.path, (handle) => compressStream(handle.createReadStream({ highWaterMark: STREAM_CHUNK_BYTES }), coding)),
    });
  }

  /**
   * The bytes start..end (inclusive) of a file: from memory when small, else
   * streamed from the file, which opens when the response's turn comes,
   * before its head: one that will not open gets an error response instead.
   */
  #body(method: string, info: FileInfo, start: number, end: number): MaybePromise<BodyPart> {
    const length = end - start + 1;
    if (length <= 0) return { body: Buffer.alloc(0) };
    if (info.content !== null) return { body: info.content.subarray(start, end + 1) };
    // HEAD never reads the body, so no file is opened for it.
    if (method !== 'GET') return { body: NO_BYTES, contentLength: length }; // its length is sent, no byte read
    const streamed = (): BodyPart => ({
      body: NO_BYTES,
      contentLength: length,
      prepare: () => openFile(info.path, (handle) => handle.createReadStream({ start, end, highWaterMark: STREAM_CHUNK_BYTES })),
    });
    if (info.size > this.#cache.maxFileBytes) return streamed();
    return this.#cache.readSmall(info).then((content) => (content === null ? streamed() : { body: content.subarray(start, end + 1) }));
  }

  async #listing(request: HttpRequest, dir: string, urlPath: string): Promise<HttpResponse> {
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      return disallowedMethod(request.method, 'GET, HEAD');
    }
    const entries = await fs.readdir(dir, { withFileTypes: true });
    const visible = entries
      .filter((e) => this.#options.dotfiles || !e.name.startsWith('.'))
      .map((e) => ({ name: e.name, isDirectory: e.isDirectory() }));
    return {
      status: 200,
      headers: ['Content-Type', 'text/html; charset=utf-8', 'Cache-Control', 'no-cache', 'X-Content-Type-Options', 'nosniff'],
      body: renderListing(urlPath, visible),
    };
  }
}

/** A file response's body; a file streamed from disk opens when its turn comes (`prepare`). */
type BodyPart = { body: HttpResponse['body']; contentLength?: number; prepare?: () => Promise<OpenedFile | HttpResponse> };

/** A file's response around its body, or the error response that took its place (the file would not open). */
function withBody(status: number, headers: string[], part: BodyPart): HttpResponse {
  const { body, contentLength, prepare } = part;
  if (prepare === undefined) return { status, headers, body, contentLength };
  // Opened as its head is about to go out: the response with the open file, or the error instead.
  const opened = (file: OpenedFile | HttpResponse): HttpResponse => (file instanceof OpenedFile ? { status, headers, body: file, contentLength } : file);
  return { status, headers, body, contentLength, prepare: () => prepare().then(opened) };
}

function plain(status: number, text: string): HttpResponse {
  return { status, headers: ['Content-Type', TEXT], body: text };
}

function setHeader(headers: string[], name: string, value: string): void {
  for (let i = 0; i < headers.length; i += 2) {
    if (headers[i] === name) {
      headers[i + 1] = value;
      return;
    }
  }
  headers.push(name, value);
}

/** RFC 9110 §15.4.5: a 304 carries the validators and caching fields, not the content's. */
function withoutContentHeaders(headers: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i];
    if (name === 'Content-Type' || name === 'Accept-Ranges' || name === 'X-Content-Type-Options') continue;
    out.push(name, headers[i + 1]);
  }
  return out;
}

function realpathOrThrow(root: string): string {
  let stats;
  try {
    stats = statSync(root);
  } catch {
    throw new Error(`cannot serve ${root}: no such directory`);
  }
  if (!stats.isDirectory()) throw new Error(`cannot serve ${root}: not a directory`);
  return realpathSync(root);
}
