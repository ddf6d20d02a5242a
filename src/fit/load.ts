/**
 * Reading a sweep directory: every folder below it that holds a metrics.csv
 * and a run.json is one run (see types.ts for the layout).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { parse } from 'csv-parse/sync';
import { z } from 'zod';
import { UserError } from '../util/errors.ts';
import { parseOrThrow } from '../util/zod.ts';
import { METRIC_COLUMNS, type MetricRow, type RunData, type RunInfo } from './types.ts';

/** Columns a fit cannot do without; the others become NaN when absent. */
const REQUIRED_COLUMNS = ['step', 'tokens', 'val_loss'] as const;

/** Folders inside a run that never hold other runs. */
const SKIP_DIRS = new Set(['checkpoints', 'plots', 'node_modules']);

const positiveCount = z.number().int().positive();
const RunInfoSchema = z.looseObject({
  name: z.string().optional(),
  status: z.enum(['pending', 'running', 'finished', 'diverged', 'failed', 'interrupted']).optional(),
  params_total: positiveCount,
  params_non_embedding: positiveCount,
  model: z.looseObject({}).optional(),
  train: z.looseObject({}).optional(),
  budget_flops: z.number().positive().optional(),
});

/** Parse a metrics.csv: header + numeric rows; empty cells (train_loss at step 0) become NaN. */
export function readMetrics(path: string): MetricRow[] {
  const text = readFileSync(path, 'utf8');
  let records: Record<string, string>[];
  try {
    records = parse(text, { columns: true, skip_empty_lines: true, trim: true }) as Record<string, string>[];
  } catch (e) {
    throw new UserError(`${path}: not a readable CSV (${(e as Error).message})`);
  }
  const header = text.split(/\r?\n/, 1)[0]!.split(',').map((s) => s.trim());
  for (const c of REQUIRED_COLUMNS) {
    if (!header.includes(c)) {
      throw new UserError(`${path}: column "${c}" is missing; metrics.csv needs the columns ${METRIC_COLUMNS.join(',')}`);
    }
  }
  return records.map((rec, i) => {
    const row = {} as MetricRow;
    for (const c of METRIC_COLUMNS) {
      const s = rec[c];
      const v = s === undefined || s === '' ? NaN : Number(s);
      if (s !== undefined && s !== '' && Number.isNaN(v)) {
        throw new UserError(`${path}: row ${i + 2}, column ${c}: "${s}" is not a number`);
      }
      row[c] = v;
    }
    return row;
  });
}

/** Parse run.json; the fields the fit needs are checked, the rest is kept as is. */
export function readRunInfo(path: string): RunInfo {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new UserError(`${path}: not valid JSON (${(e as Error).message})`);
  }
  const info = parseOrThrow(RunInfoSchema, raw, path, 'run.json is written by `chinchilla train`; re-run or fix the field.');
  return info as unknown as RunInfo;
}

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
