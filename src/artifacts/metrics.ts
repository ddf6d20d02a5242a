/**
 * metrics.csv: one row per evaluation of a run, in METRIC_COLUMNS order.
 * Written by the trainer (appended and fsynced row by row, so a crash keeps
 * every row so far) and read by the trainer (on --resume), the fit and the plots.
 *
 * Versions are column sets: a reader takes the columns it knows by name, so a
 * file from before val_loss_se/val_tokens existed reads with NaN there.
 */
import { closeSync, fsyncSync, openSync, readFileSync, writeSync } from 'node:fs';
import { parse } from 'csv-parse/sync';
import { stringify } from 'csv-stringify/sync';
import { writeFileAtomic } from '../util/atomic.ts';
import { UserError } from '../util/errors.ts';

/** Columns of metrics.csv, in this order (new columns are only ever appended). */
export const METRIC_COLUMNS = [
  'step',
  'tokens',
  'flops_6nd',
  'flops_kaplan',
  'flops_chinchilla',
  'train_loss',
  'val_loss',
  'lr',
  'elapsed_s',
  'tokens_per_s',
  /** standard error of val_loss: std of the per-window mean losses / √windows */
  'val_loss_se',
  /** validation tokens the evaluation covered (windows × context) */
  'val_tokens',
] as const;

export type MetricColumn = (typeof METRIC_COLUMNS)[number];

/**
 * One row of metrics.csv. `train_loss` is NaN at step 0 (no step taken yet);
 * val_loss_se and val_tokens are NaN in rows read from files older than those columns.
 */
export type MetricRow = Record<MetricColumn, number>;

/** Columns a reader cannot do without; the others become NaN when absent (older files). */
const REQUIRED_COLUMNS = ['step', 'tokens', 'val_loss'] as const;

/** A number as metrics.csv stores it: 10 significant digits (integers exact). */
export function metricValue(v: number): number {
  return Number.isInteger(v) || !Number.isFinite(v) ? v : Number(v.toPrecision(10));
}

/** Format a number for the CSV: NaN (train_loss at step 0) is left empty. */
export function metricCell(v: number): string {
  return Number.isFinite(v) ? String(metricValue(v)) : '';
}

function csvText(rows: MetricRow[]): string {
  return stringify([[...METRIC_COLUMNS], ...rows.map((r) => METRIC_COLUMNS.map((c) => metricCell(r[c])))]);
}

export interface ReadMetricsOptions {
  /** told about a dropped incomplete final line (default: a line on stderr) */
  warn?: (message: string) => void;
}

/**
 * Parse a metrics.csv: header + numeric rows; empty cells become NaN. A final
 * line without its newline (a crash in the middle of an append) is dropped with
 * a warning: every complete row is kept.
 */
export function readMetrics(path: string, o: ReadMetricsOptions = {}): MetricRow[] {
  let text = readFileSync(path, 'utf8');
  const firstBreak = text.indexOf('\n');
  if (firstBreak >= 0 && !text.endsWith('\n')) {
    const cut = text.lastIndexOf('\n') + 1;
    const dropped = text.slice(cut);
    (o.warn ?? ((m: string) => process.stderr.write(`warning: ${m}\n`)))(
      `${path}: dropped an incomplete last line ("${dropped.length > 40 ? dropped.slice(0, 40) + '…' : dropped}"), left by an interrupted write`,
    );
    text = text.slice(0, cut);
  }
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

/**
 * The live reader (the dashboard, while a trainer may be appending): only complete
 * lines count, and a row that is not all numbers is skipped and counted instead of
 * failing. Same columns as readMetrics; absent columns read as NaN.
 */
export interface TolerantRows {
  rows: MetricRow[];
  /** rows left out: an unfinished last line, or cells that are not numbers */
  skipped: number;
}

export function parseMetricsText(text: string): TolerantRows {
  const end = text.lastIndexOf('\n');
  const unfinished = end < text.length - 1 && text.slice(end + 1).trim() !== '' ? 1 : 0;
  const complete = end < 0 ? '' : text.slice(0, end + 1);
  const lines = complete.split(/\r?\n/).filter((l) => l.trim() !== '');
  if (lines.length === 0) return { rows: [], skipped: unfinished };
  const header = lines[0]!.split(',').map((s) => s.trim());
  const rows: MetricRow[] = [];
  let skipped = unfinished;
  for (const line of lines.slice(1)) {
    let cells: string[];
    try {
      // numbers never need quoting: split directly, and let csv-parse handle the rare quoted line
      cells = line.includes('"') ? ((parse(line, { trim: true }) as string[][])[0] ?? []) : line.split(',').map((s) => s.trim());
    } catch {
      skipped++;
      continue;
    }
    if (cells.length !== header.length) {
      skipped++;
      continue;
    }
    const row = {} as MetricRow;
    let ok = true;
    for (const c of METRIC_COLUMNS) {
      const i = header.indexOf(c);
      const s = i < 0 ? '' : cells[i]!;
      const v = s === '' ? NaN : Number(s);
      if (s !== '' && Number.isNaN(v)) ok = false;
      row[c] = v;
    }
    if (ok && Number.isFinite(row.step)) rows.push(row);
    else skipped++;
  }
  return { rows, skipped };
}

/** The metrics.csv writer: a header, then rows appended and fsynced one at a time. */
export class MetricsCsv {
  constructor(readonly path: string) {}

  /** Start a new file with just the header (atomically replaces any old one). */
  create(): void {
    writeFileAtomic(this.path, csvText([]));
  }

  /**
   * Keep only rows with step ≤ maxStep (used on resume: the checkpoint's step),
   * rewriting atomically in today's column set. Afterwards the file holds exactly
   * the rows an uninterrupted run had written by then; an incomplete last line is dropped.
   */
  truncateAfter(maxStep: number, o: ReadMetricsOptions = {}): MetricRow[] {
    const rows = readMetrics(this.path, o).filter((r) => r.step <= maxStep);
    writeFileAtomic(this.path, csvText(rows));
    return rows;
  }

  append(row: MetricRow): void {
    const line = stringify([METRIC_COLUMNS.map((c) => metricCell(row[c]))]);
    const fd = openSync(this.path, 'a');
    try {
      writeSync(fd, line);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }
}
