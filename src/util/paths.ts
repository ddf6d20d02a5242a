import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join, resolve } from 'node:path';

/**
 * The project's root folder (where its package.json is): the nearest folder above this module
 * whose package.json names chinchilla-lab. A bundled CLI (scripts/gpu-bundle.sh) lives outside the
 * checkout and finds none; it then uses the current folder, which scripts/gpu-check.sh makes the
 * checkout.
 */
function findProjectRoot(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    const pj = join(dir, 'package.json');
    try {
      if (existsSync(pj) && (JSON.parse(readFileSync(pj, 'utf8')) as { name?: string }).name === 'chinchilla-lab') return dir;
    } catch {
      // an unreadable package.json is not ours; keep looking
    }
    if (dirname(dir) === dir) return resolve(process.cwd());
  }
}

export const PROJECT_ROOT = findProjectRoot();

/** Default cache folder for datasets, tokenizers and encoded splits. */
export function dataRoot(): string {
  return process.env.CHINCHILLA_DATA_ROOT ?? resolve(PROJECT_ROOT, 'data');
}
