/**
 * Mapping a URL path onto a file under the served folder, refusing anything
 * that would leave it: `..` segments (also percent-encoded: %2e%2e, %2f, %5c),
 * NUL bytes, absolute paths, and symlinks whose target lies outside the folder.
 * Every refusal is a plain `null`, which the server answers with 404.
 */
import { realpathSync, statSync } from 'node:fs';
import { isAbsolute, join, relative, sep } from 'node:path';

/** True when `child` is `root` or lies below it (both absolute, already resolved). */
export function isInside(root: string, child: string): boolean {
  const rel = relative(root, child);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel) && rel.split(sep)[0] !== '..');
}

/**
 * The real path of the regular file that `urlPath` (the part after /files/, still
 * percent-encoded) names under `root`, or null when it is not such a file or
 * would leave `root`. `root` must be a real path (see realpathSync).
 */
export function resolveInside(root: string, urlPath: string): string | null {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return null; // malformed %-escape
  }
  if (decoded.includes('\0') || decoded.includes('\\')) return null;
  const parts = decoded.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.some((p) => p === '..')) return null;
  // hidden files (temp files of atomic writes, lock files) are not served either
  if (parts.some((p) => p.startsWith('.'))) return null;
  const candidate = join(root, ...parts);
  if (!isInside(root, candidate)) return null;
  let real: string;
  try {
    real = realpathSync(candidate);
    if (!statSync(real).isFile()) return null;
  } catch {
    return null;
  }
  return isInside(root, real) ? real : null;
}
