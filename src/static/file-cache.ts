// What nginx's open_file_cache does, for Spindle: remembers, for a short
// while, what a path is (file, directory, nothing), its size, validators and
// type, and the bytes of files up to 1 MiB. Serving a small file then costs no
// stat, open or read round trip through libuv's thread pool at all.
//
// An entry is trusted for validityMs, then checked again with one stat; a
// file whose size or mtime changed is read anew. Negative answers are cached
// too.
import { promises as fs, type Stats } from 'node:fs';
import path from 'node:path';
import mime from 'mime-types';
import { isInside } from './resolve-path.js';

export interface FileInfo {
  path: string;
  isDirectory: boolean;
  size: number;
  mtimeMs: number;
  /** strong entity-tag: mtime and size, as nginx makes it */
  etag: string;
  /** Last-Modified in whole seconds, as ms, and as an HTTP-date */
  lastModifiedMs: number;
  lastModified: string;
  contentType: string;
  /** the bytes of a small file once read; null until then or for large files */
  content: Buffer | null;
}

export interface FileCacheOptions {
  /** the static root, resolved through symbolic links */
  realRoot: string;
  /** serve files whose real path lies outside the root */
  followSymlinks: boolean;
  /** how long an entry is trusted before one stat checks it again; 0 checks on every lookup */
  validityMs?: number;
  maxEntries?: number;
  /** files up to this size are kept in memory */
  maxFileBytes?: number;
  /** all kept file bytes together */
  maxTotalBytes?: number;
}

interface Entry {
  info: FileInfo | null;
  checkedAt: number;
  /** a lookup under way, shared by concurrent requests */
  pending: Promise<FileInfo | null> | null;
}

/** One second, as nginx's open_file_cache_valid counts: a changed file is seen within it. */
export const DEFAULT_CACHE_VALIDITY_MS = 1000;

export class FileCache {
  readonly maxFileBytes: number;
  #options: Required<FileCacheOptions>;
  #entries = new Map<string, Entry>();
  #totalBytes = 0;
  #reading = new Map<FileInfo, Promise<Buffer | null>>();
  /** lookups answered from the cache (or a lookup already under way), and those that needed a stat */
  hits = 0;
  misses = 0;

  constructor(options: FileCacheOptions) {
    this.#options = {
      realRoot: options.realRoot,
      followSymlinks: options.followSymlinks,
      validityMs: options.validityMs ?? DEFAULT_CACHE_VALIDITY_MS,
      maxEntries: options.maxEntries ?? 10_000,
      maxFileBytes: options.maxFileBytes ?? 1024 * 1024,
      maxTotalBytes: options.maxTotalBytes ?? 64 * 1024 * 1024,
    };
    this.maxFileBytes = this.#options.maxFileBytes;
  }

  /** What is at filePath: a file or directory inside the root, or null. */
  lookup(filePath: string): FileInfo | null | Promise<FileInfo | null> {
    const entry = this.#entries.get(filePath);
    if (entry !== undefined) {
      if (entry.pending !== null || Date.now() - entry.checkedAt < this.#options.validityMs) {
        this.hits++;
        return entry.pending ?? entry.info;
      }
    }
    this.misses++;
    const fresh: Entry = entry ?? { info: null, checkedAt: 0, pending: null };
    fresh.pending = this.#check(filePath, fresh.info).then(
      (info) => {
        if (fresh.info !== null && fresh.info !== info && fresh.info.content !== null) this.#totalBytes -= fresh.info.content.byteLength;
        fresh.info = info;
        fresh.checkedAt = Date.now();
        fresh.pending = null;
        return info;
      },
      () => {
        fresh.pending = null;
        return null;
      },
    );
    if (entry === undefined) this.#remember(filePath, fresh);
    return fresh.pending;
  }

  /** The bytes of a small file, read once and kept; null when it is too large or changed. */
  readSmall(info: FileInfo): Promise<Buffer | null> {
    if (info.content !== null) return Promise.resolve(info.content);
    if (info.size > this.#options.maxFileBytes) return Promise.resolve(null);
    // Concurrent first requests share one read.
    let reading = this.#reading.get(info);
    if (reading === undefined) {
      reading = fs.readFile(info.path).then(
        (content) => {
          this.#reading.delete(info);
          if (content.byteLength !== info.size) return null; // changed under us: stream it instead
          if (this.#totalBytes + content.byteLength <= this.#options.maxTotalBytes) {
            info.content = content;
            this.#totalBytes += content.byteLength;
          }
          return content;
        },
        () => {
          this.#reading.delete(info);
          return null;
        },
      );
      this.#reading.set(info, reading);
    }
    return reading;
  }

  async #check(filePath: string, previous: FileInfo | null): Promise<FileInfo | null> {
    let stats: Stats;
    try {
      stats = await fs.stat(filePath);
    } catch {
      return null;
    }
    if (!stats.isFile() && !stats.isDirectory()) return null;
    if (!this.#options.followSymlinks) {
      // A symbolic link anywhere on the way may lead outside the root.
      const real = await fs.realpath(filePath);
      if (!isInside(this.#options.realRoot, real)) return null;
    }
    if (previous !== null && previous.size === stats.size && previous.mtimeMs === stats.mtimeMs && previous.isDirectory === stats.isDirectory()) {
      return previous;
    }
    const lastModifiedMs = Math.floor(stats.mtimeMs / 1000) * 1000;
    return {
      path: filePath,
      isDirectory: stats.isDirectory(),
      size: stats.size,
      mtimeMs: stats.mtimeMs,
      etag: `"${Math.floor(stats.mtimeMs).toString(16)}-${stats.size.toString(16)}"`,
      lastModifiedMs,
      lastModified: new Date(lastModifiedMs).toUTCString(),
      contentType: mime.contentType(path.extname(filePath)) || 'application/octet-stream',
      content: null,
    };
  }

  #remember(filePath: string, entry: Entry): void {
    if (this.#entries.size >= this.#options.maxEntries) {
      // Evict the oldest entry (Map keeps insertion order).
      const [oldest, old] = this.#entries.entries().next().value as [string, Entry];
      if (old.info?.content) this.#totalBytes -= old.info.content.byteLength;
      this.#entries.delete(oldest);
    }
    this.#entries.set(filePath, entry);
  }
}
