import { fileURLToPath } from 'node:url';
import { dirname, resolve } from 'node:path';

/** The project's root folder (where package.json is). */
export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Default cache folder for datasets, tokenizers and encoded splits. */
export function dataRoot(): string {
  return process.env.CHINCHILLA_DATA_ROOT ?? resolve(PROJECT_ROOT, 'data');
}
