/**
 * The schema_version field every JSON artifact carries, and the one rule for
 * files of another version: an older file is migrated when a migration exists,
 * a newer one is refused with a message that names both versions and the fix.
 */
import { UserError } from '../util/errors.ts';

/** The file's schema_version; files written before versions existed count as 0. */
export function versionOf(raw: unknown, path: string): number {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new UserError(`${path}: expected a JSON object`);
  const v = (raw as { schema_version?: unknown }).schema_version;
  if (v === undefined) return 0;
  if (!(typeof v === 'number' && Number.isInteger(v) && v >= 0)) throw new UserError(`${path}: schema_version must be a non-negative integer (got ${JSON.stringify(v)})`);
  return v;
}

/** Applies migrations[v] (v → v+1) from the file's version up to `current`; refuses newer files. */
export function migrate(raw: unknown, path: string, what: string, current: number, migrations: Record<number, (o: Record<string, unknown>) => Record<string, unknown>>): Record<string, unknown> {
  let v = versionOf(raw, path);
  if (v > current) {
    throw new UserError(
      `${path}: ${what} schema_version ${v} was written by a newer chinchilla-lab (this one reads up to ${current}); update the project (git pull && npm ci) to read it.`,
    );
  }
  let o = { ...(raw as Record<string, unknown>) };
  while (v < current) {
    const step = migrations[v];
    if (!step) {
      throw new UserError(`${path}: ${what} schema_version ${v} is too old to read (this version reads ${current}); re-create it with the current chinchilla-lab.`);
    }
    o = step(o);
    v += 1;
  }
  return { ...o, schema_version: current };
}
