/**
 * The runs as the graphs label them: one series per run, ordered by parameter
 * count, named by that count ("786K params"); runs of the same size in an
 * isoflop sweep are told apart by their budget.
 */
import type { FitReport, ParamCount, RunData } from '../fit/types.ts';
import { fmtCount, fmtSci } from './theme.ts';

export interface Series {
  run: RunData;
  name: string;
  /** parameter count of the fit's kind (report.n) */
  params: number;
  label: string;
}

export function paramsOf(run: RunData, n: ParamCount): number {
  return n === 'non-embedding' ? run.info.params_non_embedding : run.info.params_total;
}

/** "parameters N (total)" / "parameters N (non-embedding)" */
export function paramsTitle(n: ParamCount, symbol = 'N'): string {
  return `parameters ${symbol} (${n === 'non-embedding' ? 'non-embedding' : 'total'})`;
}

export function seriesOf(runs: RunData[], report: FitReport): Series[] {
  const fitted = new Map(report.runs.map((r) => [r.run, r.params]));
  const list = runs
    .map((run) => {
      const params = fitted.get(run.info.name) ?? paramsOf(run, report.n);
      return { run, name: run.info.name, params, label: `${fmtCount(params)} params` };
    })
    .sort((a, b) => a.params - b.params || (a.run.info.budget_flops ?? 0) - (b.run.info.budget_flops ?? 0) || a.name.localeCompare(b.name));
  // equal labels: an isoflop sweep names every run's budget; other runs of one size get their run name
  const count = new Map<string, number>();
  for (const s of list) count.set(s.label, (count.get(s.label) ?? 0) + 1);
  const clash = [...count.values()].some((c) => c > 1);
  for (const s of list) {
    const b = s.run.info.budget_flops;
    if (clash && b !== undefined) s.label += ` · C=${fmtSci(b, 2)}`;
    else if (count.get(s.label)! > 1) s.label += ` · ${s.name}`;
  }
  return list;
}

/** Rows of a run with a finite value in every named column (and > 0 where `positive`). */
export function usableRows<K extends keyof RunData['rows'][number]>(run: RunData, cols: K[], positive: K[] = []): RunData['rows'] {
  return run.rows.filter((r) => cols.every((c) => Number.isFinite(r[c])) && positive.every((c) => r[c] > 0));
}
