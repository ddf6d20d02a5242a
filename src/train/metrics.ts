import { closeSync, fsyncSync, openSync, writeSync } from 'node:fs';
import { stringify } from 'csv-stringify/sync';
import { METRIC_COLUMNS, type MetricRow } from '../fit/types.ts';
import { readMetrics } from '../fit/load.ts';
import { writeFileAtomic } from '../util/atomic.ts';

/** Format a number for the CSV: NaN (train_loss at step 0) is left empty. */
function cell(v: number): string {
  if (!Number.isFinite(v)) return '';
  return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(10)));
}

/**
 * metrics.csv: a header, then one row per evaluation, appended and fsynced as
 * it is written so that a crash keeps every row so far.
 */
export class MetricsCsv {
  constructor(readonly path: string) {}

  /** Start a new file with just the header (atomically replaces any old one). */
  create(): void {
    writeFileAtomic(this.path, stringify([[...METRIC_COLUMNS]]));
  }

  /** Keep only rows with step ≤ maxStep (used on resume), rewriting atomically. */
  truncateAfter(maxStep: number): MetricRow[] {
    const rows = readMetrics(this.path).filter((r) => r.step <= maxStep);
    writeFileAtomic(this.path, stringify([[...METRIC_COLUMNS], ...rows.map((r) => METRIC_COLUMNS.map((c) => cell(r[c])))]));
    return rows;
  }

  append(row: MetricRow): void {
    const line = stringify([METRIC_COLUMNS.map((c) => cell(row[c]))]);
    const fd = openSync(this.path, 'a');
    try {
      writeSync(fd, line);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }
}

/** Read a metrics.csv (empty cells become NaN); the same reader the fit uses. */
export { readMetrics as readMetricsCsv } from '../fit/load.ts';
