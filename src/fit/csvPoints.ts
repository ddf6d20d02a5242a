/**
 * (N, D, L) points from any CSV table with a header, e.g. losses published in
 * a paper, for `chinchilla fit --csv`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { parse } from 'csv-parse/sync';
import { UserError } from '../util/errors.ts';
import type { LossPoint } from './approach3.ts';

export interface CsvColumns {
  n: string;
  d: string;
  loss: string;
}

/** Parse CSV text; every problem is a UserError naming `where`, the row and the column. */
export function parsePointsCsv(text: string, cols: CsvColumns, where: string): LossPoint[] {
  let records: Record<string, string>[];
  try {
    records = parse(text, { columns: true, skip_empty_lines: true, trim: true, bom: true }) as Record<string, string>[];
  } catch (e) {
    throw new UserError(`${where}: not a readable CSV (${(e as Error).message})`);
  }
  if (records.length === 0) {
    throw new UserError(`${where}: no data rows; the CSV needs a header line and one row per (parameters, tokens, loss) point`);
  }
  const header = Object.keys(records[0]!);
  for (const [flag, name] of [
    ['--n-col', cols.n],
    ['--d-col', cols.d],
    ['--loss-col', cols.loss],
  ] as const) {
    if (!header.includes(name)) {
      throw new UserError(`${where}: no column "${name}" (given by ${flag}); the header has: ${header.join(', ')}`);
    }
  }
  const points = records.map((rec, i) => {
    const row = i + 2; // 1-based, after the header
    const num = (name: string, what: string): number => {
      const s = rec[name] ?? '';
      const v = Number(s);
      if (s === '' || !Number.isFinite(v)) throw new UserError(`${where}: row ${row}, column "${name}" (${what}): "${s}" is not a number`);
      if (!(v > 0)) throw new UserError(`${where}: row ${row}, column "${name}" (${what}): ${s} must be > 0`);
      return v;
    };
    return { N: num(cols.n, 'parameters'), D: num(cols.d, 'tokens'), L: num(cols.loss, 'loss') };
  });
  return points;
}

export function readPointsCsv(path: string, cols: CsvColumns): LossPoint[] {
  if (!existsSync(path)) throw new UserError(`${path}: no such file (--csv)`);
  return parsePointsCsv(readFileSync(path, 'utf8'), cols, path);
}
