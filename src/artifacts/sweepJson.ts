/**
 * runs/<sweep>/sweep.json: the sweep's config and the state of each run, written
 * by the sweep runner (from the runs' own run.json files, so shards can share it)
 * and read for the sweep's name and run list.
 *
 * Versions: 0 = files without schema_version (same fields) are migrated; 1 = current.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { writeJsonAtomic } from '../util/atomic.ts';
import { UserError } from '../util/errors.ts';
import { parseOrThrow } from '../util/zod.ts';
import { RUN_STATUSES } from './runJson.ts';
import { migrate } from './version.ts';

export const SWEEP_JSON_VERSION = 1;

export const SweepRunStateSchema = z.object({
  name: z.string(),
  index: z.number().int().nonnegative(),
  dir: z.string(),
  status: z.enum(RUN_STATUSES),
  params_total: z.number().int().positive(),
  params_non_embedding: z.number().int().positive(),
  steps: z.number().int().positive(),
  tokens: z.number().nonnegative(),
  flops_6nd: z.number().nonnegative(),
  /** isoflop sweeps: the budget (FLOPs, 6ND) the run belongs to */
  budget_flops: z.number().positive().optional(),
  /** estimated wall time (s) from timed steps */
  est_s: z.number().nonnegative().optional(),
});
export type SweepRunState = z.infer<typeof SweepRunStateSchema>;

export const SweepJsonSchema = z.object({
  schema_version: z.literal(SWEEP_JSON_VERSION),
  name: z.string(),
  kind: z.string(),
  /** the sweep file it was planned from */
  file: z.string(),
  /** the sweep file's content as given (validated by src/sweep/config.ts) */
  config: z.record(z.string(), z.unknown()),
  /** runs the plan left out, with the reason */
  skipped: z.array(z.string()),
  updated_at: z.string(),
  runs: z.array(SweepRunStateSchema),
});
export type SweepJson = z.infer<typeof SweepJsonSchema>;

const HINT = 'sweep.json is rewritten by `chinchilla sweep`: run the sweep command again to refresh it.';

export function writeSweepJson(sweepDir: string, s: SweepJson): void {
  const path = join(sweepDir, 'sweep.json');
  writeJsonAtomic(path, parseOrThrow(SweepJsonSchema, s, path, 'this is a bug in the sweep runner'));
}

/** runs/<sweep>/sweep.json (older versions migrated), or null when there is none. */
export function readSweepJson(sweepDir: string): SweepJson | null {
  const path = join(sweepDir, 'sweep.json');
  if (!existsSync(path)) return null;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new UserError(`${path}: not valid JSON (${(e as Error).message}); ${HINT}`);
  }
  return parseOrThrow(SweepJsonSchema, migrate(raw, path, 'sweep.json', SWEEP_JSON_VERSION, { 0: (o) => o }), path, HINT);
}
