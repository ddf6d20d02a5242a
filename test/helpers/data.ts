/**
 * Where the tests find WikiText-2: env WIKITEXT2_DIR, else <repo>/../shared/datasets
 * if it exists (the CI layout). Data tests skip, with a message, when neither exists.
 */
import { existsSync } from 'node:fs';
import { expect } from 'vitest';
import { UserError } from '../../src/util/errors.ts';
import { resolve } from 'node:path';
import { PROJECT_ROOT } from '../../src/util/paths.ts';

export function sharedDatasets(): string | undefined {
  const env = process.env.WIKITEXT2_DIR;
  if (env) return existsSync(env) ? resolve(env) : undefined;
  const dir = resolve(PROJECT_ROOT, '..', 'shared', 'datasets');
  return existsSync(dir) ? dir : undefined;
}

/** The shared folder, or undefined after printing why the data tests are skipped. */
export function sharedDatasetsOrSkip(what: string): string | undefined {
  const dir = sharedDatasets();
  if (!dir) {
    console.warn(
      `[${what}] skipped: no WikiText-2 copies found. Set WIKITEXT2_DIR to a folder with ` +
        `wikitext-2/wiki.*.tokens[.gz] and wikitext-2-raw/wiki.*.raw[.gz] (CI uses ../shared/datasets).`,
    );
  }
  return dir;
}

/** Await `p`, expect it to reject with a UserError, and return that error. */
export async function userError(p: Promise<unknown>): Promise<UserError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(UserError);
    return e as UserError;
  }
  throw new Error('expected a UserError');
}
