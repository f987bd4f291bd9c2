// Maps a request path onto a path under the static root, or says why not.
// Nothing outside the root is ever named: the path is percent-decoded once,
// then split and normalised segment by segment, and a `..` that would climb
// above the root is refused rather than clamped.
import path from 'node:path';

export interface ResolveOptions {
  /** serve names starting with "." (default: 404) */
  allowDotfiles: boolean;
}

export type Resolved =
  | { ok: true; segments: string[]; hasTrailingSlash: boolean }
  | { ok: false; status: 400 | 404; reason: string };

const HEX = /^[0-9A-Fa-f]{2}$/;

/**
 * Resolves the path part of a request-target (no query) into decoded
 * segments under the root.
 */
export function resolveRequestPath(urlPath: string, options: ResolveOptions): Resolved {
  if (urlPath.charCodeAt(0) !== 0x2f) return { ok: false, status: 400, reason: 'path does not start with /' };
  const decoded = percentDecode(urlPath);
  if (decoded === null) return { ok: false, status: 400, reason: 'invalid percent-encoding' };
  if (decoded.includes('\0')) return { ok: false, status: 400, reason: 'NUL in path' };
  // A backslash is a separator to some file systems and servers; never a name here.
  if (decoded.includes('\\')) return { ok: false, status: 400, reason: 'backslash in path' };
  const segments: string[] = [];
  const parts = decoded.split('/');
  for (const part of parts) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      // RFC 3986 §5.2.4 would clamp at the root; a client that climbs is refused instead.
      if (segments.length === 0) return { ok: false, status: 400, reason: 'path climbs above the root' };
      segments.pop();
      continue;
    }
    if (!options.allowDotfiles && part.charCodeAt(0) === 0x2e) return { ok: false, status: 404, reason: 'dotfile' };
    segments.push(part);
  }
  return { ok: true, segments, hasTrailingSlash: decoded.endsWith('/') };
}

/** Decodes %XX once into UTF-8 text; null when an escape or the UTF-8 is invalid. */
function percentDecode(s: string): string | null {
  if (!s.includes('%')) return s;
  const bytes: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x25) {
      const hex = s.slice(i + 1, i + 3);
      if (!HEX.test(hex)) return null;
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else {
      bytes.push(c);
    }
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(new Uint8Array(bytes));
  } catch {
    return null;
  }
}

/** Joins decoded segments onto the root; the result is always inside it. */
export function joinUnderRoot(root: string, segments: string[]): string {
  const full = path.join(root, ...segments);
  if (full !== root && !full.startsWith(root + path.sep)) throw new Error(`internal error: ${full} is outside ${root}`);
  return full;
}

/** True when target is root or lies below it. */
export function isInside(root: string, target: string): boolean {
  return target === root || target.startsWith(root.endsWith(path.sep) ? root : root + path.sep);
}
