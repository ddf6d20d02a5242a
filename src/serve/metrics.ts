/**
 * metrics.csv as the dashboard reads it, while a trainer may be appending to
 * it: only complete lines (ending in a newline) count, and a row that is not
 * all numbers is skipped rather than failing the page. Columns and their
 * meaning are the trainer's (METRIC_COLUMNS); absent columns read as NaN.
 */
import { parse } from 'csv-parse/sync';
import { METRIC_COLUMNS, type MetricRow } from '../fit/types.ts';

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
