/**
 * All four fits over a sweep's runs, as one FitReport (runs/<sweep>/fit.json).
 */
import { fitApproach1 } from './approach1.ts';
import { fitApproach2 } from './approach2.ts';
import { fitApproach3, type LossPoint } from './approach3.ts';
import { paramColumn, runCurves } from './curves.ts';
import { fitPerRun } from './perRun.ts';
import type { FitBasis, FitReport, FlopsColumn, ParamCount, RunData } from './types.ts';

export interface FitSweepOptions {
  n: ParamCount;
  /** compute column; default flops_6nd */
  flops?: FlopsColumn;
  /** bootstrap resamples for Approach 3's intervals; default 0 */
  bootstrap?: number;
  seed?: number;
  /** Approach 3's points: every evaluation of every run ('all', default) or each run's final one */
  points?: 'all' | 'final';
  /** leave out evaluations before this step (all fits); default 0 */
  minStep?: number;
  /** Approach 3 initialisation grid; default 'full' (Hoffmann et al.'s 4500 starts) */
  grid?: 'full' | 'coarse';
  /** Approach 2 on ordinary sweeps: compute values for the IsoFLOP profiles */
  budgets?: number[];
  /** recorded as sweep_dir in the report */
  sweepDir?: string;
  progress?: boolean;
}

export function fitSweep(runs: RunData[], o: FitSweepOptions): FitReport {
  const flops = o.flops ?? 'flops_6nd';
  const minStep = o.minStep ?? 0;
  const pointsMode = o.points ?? 'all';
  const basis: FitBasis = { params: paramColumn(o.n), tokens: 'tokens', loss: 'val_loss', flops };
  const { curves, warnings } = runCurves(runs, { n: o.n, flops, minStep });

  const perRun = fitPerRun(curves);
  const approach1 = fitApproach1(curves, { basis });
  const approach2 = fitApproach2(curves, { basis, budgets: o.budgets });

  const a3Points: LossPoint[] = curves.flatMap((c) =>
    (pointsMode === 'all' ? c.points : c.points.slice(-1)).map((p) => ({ N: p.N, D: p.D, L: p.L })),
  );
  const a3 = fitApproach3(a3Points, {
    bootstrap: o.bootstrap,
    seed: o.seed,
    grid: o.grid,
    basis,
    progress: o.progress,
  });

  const report: FitReport = {
    sweep_dir: o.sweepDir ?? '',
    n: o.n,
    flops,
    runs: curves.map((c) => {
      const last = c.points[c.points.length - 1]!;
      return {
        run: c.run,
        params: c.N,
        params_total: c.params_total,
        params_non_embedding: c.params_non_embedding,
        final_val_loss: last.L,
        tokens: last.D,
        compute: last.C,
      };
    }),
    per_run: perRun.fits,
    approach1,
    approach2,
    approach3: a3.fit,
    warnings: [...warnings, ...perRun.warnings, ...approach1.warnings, ...approach2.warnings, ...a3.warnings],
    created_at: new Date().toISOString(),
    options: { points: pointsMode, min_step: minStep, bootstrap: o.bootstrap ?? 0, seed: o.seed ?? 0, grid: o.grid ?? 'full' },
  };
  if (curves.length === 0) report.warnings.unshift('no run has a usable evaluation; nothing was fitted');
  return report;
}
