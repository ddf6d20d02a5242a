/**
 * Reading a sweep directory: every folder below it that holds a metrics.csv
 * and a run.json is one run (see types.ts for the layout).
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { UserError } from '../util/errors.ts';
import { readMetrics } from '../artifacts/metrics.ts';
import { readRunInfo } from '../artifacts/runJson.ts';
import type { RunData } from './types.ts';

/** Folders inside a run that never hold other runs. */
const SKIP_DIRS = new Set(['checkpoints', 'plots', 'node_modules']);

/** Parse a metrics.csv (the artifact reader: empty cells → NaN, an incomplete last line dropped with a warning). */
export { readMetrics } from '../artifacts/metrics.ts';
/** Parse run.json through its schema (older versions migrated); the fields the fit needs are checked. */
export { readRunInfo } from '../artifacts/runJson.ts';

function findRunDirs(dir: string, out: string[]): void {
  if (existsSync(join(dir, 'metrics.csv')) && existsSync(join(dir, 'run.json'))) {
    out.push(dir);
    return;
  }
  for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    if (e.isDirectory() && !e.name.startsWith('.') && !SKIP_DIRS.has(e.name)) findRunDirs(join(dir, e.name), out);
  }
}

/**
 * Every <run>/metrics.csv + run.json below sweepDir (searched recursively), sorted by parameter count.
 * A run's name is run.json's `name`, else its folder path relative to the sweep.
 */
export function loadRuns(sweepDir: string): RunData[] {
  if (!existsSync(sweepDir) || !statSync(sweepDir).isDirectory()) {
    throw new UserError(`${sweepDir}: no such directory; give the sweep folder (e.g. runs/<sweep>) written by \`chinchilla sweep\``);
  }
  const dirs: string[] = [];
  findRunDirs(sweepDir, dirs);
  if (dirs.length === 0) {
    throw new UserError(`${sweepDir}: no runs found (no folder with both metrics.csv and run.json); run \`chinchilla sweep\` first`);
  }
  const runs = dirs.map((dir) => {
    const info = readRunInfo(join(dir, 'run.json'));
    const name = info.name ?? (relative(sweepDir, dir) || basename(dir));
    return { dir, info: { ...info, name }, rows: readMetrics(join(dir, 'metrics.csv')) };
  });
  return runs.sort((a, b) => a.info.params_total - b.info.params_total || a.info.name.localeCompare(b.info.name));
}
