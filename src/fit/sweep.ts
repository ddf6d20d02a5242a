/**
 * All four fits over a sweep's runs, as one FitReport (runs/<sweep>/fit.json).
 *
 * Honest by default: Approaches 2 and 3 use one point per run, its final loss
 * (the trainer's final evaluation over the whole validation split); every
 * exponent gets a bootstrap interval over runs; and each approach says whether
 * the sweep's design identifies it (design.ts) — the summary prints "not
 * identifiable" and why where it does not.
 */
import { fitApproach1 } from './approach1.ts';
import { DEFAULT_WINDOW_LN_N, fitApproach2 } from './approach2.ts';
import { fitApproach3, type LossPoint } from './approach3.ts';
import { bootstrapExponents } from './bootstrap.ts';
import { paramColumn, runCurves } from './curves.ts';
import { analyseDesign } from './design.ts';
import { fitPerRun } from './perRun.ts';
import { checkSeparability } from './separability.ts';
import type { Agreement, Approach1, Approach2, Approach3, FitBasis, FitReport, FlopsColumn, ParamCount, RunData, Identifiability } from './types.ts';

export interface FitSweepOptions {
  n: ParamCount;
  /** compute column; default flops_6nd */
  flops?: FlopsColumn;
  /** bootstrap resamples (over runs) for every approach's intervals; default DEFAULT_BOOTSTRAP (0: none) */
  bootstrap?: number;
  seed?: number;
  /** Approach 3's points: each run's final loss ('final', default) or every evaluation of every run ('all') */
  points?: 'all' | 'final';
  /** leave out evaluations before this step (all fits); default 0 */
  minStep?: number;
  /** Approach 3 initialisation grid; default 'full' (Hoffmann et al.'s 4500 starts) */
  grid?: 'full' | 'coarse';
  /** Approach 2 on ordinary sweeps: compute values for the IsoFLOP profiles */
  budgets?: number[];
  /** Approach 2's parabola window (half-width in ln N around each profile's lowest loss) */
  window?: number;
  /** recorded as sweep_dir in the report */
  sweepDir?: string;
  progress?: boolean;
}

/** Every a and b gets an interval unless asked otherwise (the sweep runner's automatic fit included). */
export const DEFAULT_BOOTSTRAP = 100;

export const POINTS_ALL_WARNING =
  'approach 3: --points all fits every evaluation of every run; a mid-schedule checkpoint is not a model trained ' +
  'for that many tokens (its learning rate has not decayed), so schedule effects are mixed into E, A, B, α, β';

export function fitSweep(runs: RunData[], o: FitSweepOptions): FitReport {
  const flops = o.flops ?? 'flops_6nd';
  const minStep = o.minStep ?? 0;
  const pointsMode = o.points ?? 'final';
  const window = o.window ?? DEFAULT_WINDOW_LN_N;
  const K = Math.max(0, Math.floor(o.bootstrap ?? DEFAULT_BOOTSTRAP));
  const seed = o.seed ?? 0;
  const basis: FitBasis = { params: paramColumn(o.n), tokens: 'tokens', loss: 'val_loss', flops };
  const { curves, warnings } = runCurves(runs, { n: o.n, flops, minStep });
  const isoflop = curves.some((c) => c.budget_flops !== undefined);
  const design = analyseDesign(curves, { points: pointsMode, isoflop });

  const perRun = fitPerRun(curves);
  const approach1: Approach1 = fitApproach1(curves, { basis });
  const perSize = [...design.schedulesPerSize.values()].map((s) => s.size);
  if (perSize.length) approach1.schedules_per_size = [Math.min(...perSize), Math.max(...perSize)];
  approach1.design = design.approach1;
  if (!design.approach1.identifiable && approach1.n_opt) {
    approach1.warnings.push(`approach 1: the estimate is biased: ${design.approach1.reason} (Hoffmann et al. trained each size with 4 schedule lengths)`);
  }
  approach1.ci = bootstrapExponents(curves, (s) => fitApproach1(s, { basis }), { resamples: K, seed });
  approach1.design = determined(approach1.design, approach1.ci?.a);

  const approach2: Approach2 = fitApproach2(curves, { basis, budgets: o.budgets, window });
  approach2.design = design.approach2;
  if (!design.approach2.identifiable && approach2.n_opt) approach2.warnings.push(`approach 2: the estimate is biased: ${design.approach2.reason}`);
  approach2.ci = bootstrapExponents(curves, (s) => fitApproach2(s, { basis, budgets: o.budgets, window }), { resamples: K, seed: seed + 1 });
  approach2.design = determined(approach2.design, approach2.ci?.a);

  const a3Points: LossPoint[] = [];
  const groups: number[] = [];
  curves.forEach((c, i) => {
    const pts = pointsMode === 'all' ? c.points.slice(0, -1).concat([c.final]) : [c.final];
    for (const p of pts) {
      a3Points.push({ N: p.N, D: p.D, L: p.L });
      groups.push(i);
    }
  });
  const a3 = fitApproach3(a3Points, { bootstrap: K, seed, grid: o.grid, basis, progress: o.progress, groups });
  const a3Warnings = [...a3.warnings];
  if (pointsMode === 'all') a3Warnings.unshift(POINTS_ALL_WARNING);
  // a fit whose optimum is degenerate (E pinned at the data) does not identify a either, whatever the design
  if (a3.degenerate && design.approach3.identifiable && pointsMode === 'final') design.approach3 = { identifiable: false, reason: a3.degenerate };
  // nor does a law the runs do not follow: sizes trained with several schedule lengths show whether gains from D depend on N
  if (a3.fit && pointsMode === 'final') {
    const sep = checkSeparability(curves.map((c) => ({ N: c.N, D: c.final.D, L: c.final.L, se: c.final.se })), a3.fit);
    if (sep) a3.fit.separability = sep;
    if (sep && !sep.separable && design.approach3.identifiable) design.approach3 = { identifiable: false, reason: sep.summary };
  }
  if (a3.fit) design.approach3 = determined(design.approach3, a3.fit.ci?.a);
  if (a3.fit) a3.fit.design = design.approach3;
  if (a3.fit && !design.approach3.identifiable && pointsMode === 'final') {
    a3Warnings.push(`approach 3: not identified by this sweep's design: ${design.approach3.reason}`);
  }

  const report: FitReport = {
    schema_version: 2,
    sweep_dir: o.sweepDir ?? '',
    n: o.n,
    flops,
    runs: curves.map((c) => ({
      run: c.run,
      params: c.N,
      params_total: c.params_total,
      params_non_embedding: c.params_non_embedding,
      final_val_loss: c.final.L,
      tokens: c.final.D,
      compute: c.final.C,
      final_val_loss_se: Number.isFinite(c.final.se) ? c.final.se : null,
      final_eval_tokens: Number.isFinite(c.final.eval_tokens) ? c.final.eval_tokens : null,
      final_source: c.final.source,
      ...(c.budget_flops !== undefined ? { budget_flops: c.budget_flops } : {}),
    })),
    per_run: perRun.fits,
    approach1,
    approach2,
    approach3: a3.fit,
    approach3_design: design.approach3,
    agreement: agreement(approach1, approach2, a3.fit),
    warnings: [...warnings, ...perRun.warnings, ...approach1.warnings, ...approach2.warnings, ...a3Warnings],
    created_at: new Date().toISOString(),
    options: { points: pointsMode, min_step: minStep, bootstrap: K, seed, grid: o.grid ?? 'full', window_ln_n: window },
  };
  if (curves.length === 0) report.warnings.unshift('no run has a usable evaluation; nothing was fitted');
  return report;
}

/** The three a's with intervals, and their spread over the approaches the design identifies. */
/**
 * The widest 90 % bootstrap interval of a that still counts as determined by the runs. An
 * interval wider than this (e.g. [0.05, 0.92]) says the data admit almost any allocation,
 * whatever the design: the approach is then reported "not identifiable" with the interval.
 */
export const MAX_A_INTERVAL = 0.5;

/** The design's verdict, overturned when the bootstrap interval of a is too wide to mean anything. */
export function determined(d: Identifiability, ci: [number, number] | undefined): Identifiability {
  if (!d.identifiable || !ci || !(ci[1] - ci[0] > MAX_A_INTERVAL)) return d;
  return {
    identifiable: false,
    reason: `its 90 % bootstrap interval for a, [${ci[0].toFixed(3)}, ${ci[1].toFixed(3)}], is wider than ${MAX_A_INTERVAL}: the runs do not determine it`,
  };
}

export function agreement(a1: Approach1, a2: Approach2, a3: Approach3 | null): Agreement {
  const a: Agreement['a'] = [];
  if (a1.n_opt) a.push({ approach: 1, value: a1.n_opt.exponent, ci: a1.ci?.a, identifiable: a1.design?.identifiable ?? true });
  if (a2.n_opt) a.push({ approach: 2, value: a2.n_opt.exponent, ci: a2.ci?.a, identifiable: a2.design?.identifiable ?? true });
  if (a3) a.push({ approach: 3, value: a3.a, ci: a3.ci?.a, identifiable: a3.design?.identifiable ?? true });
  const ok = a.filter((x) => x.identifiable);
  const spread = ok.length >= 2 ? Math.max(...ok.map((x) => x.value)) - Math.min(...ok.map((x) => x.value)) : null;
  const fmt = (x: Agreement['a'][number]) =>
    `Approach ${x.approach} a = ${x.value.toFixed(3)}${x.ci ? ` [${x.ci[0].toFixed(3)}, ${x.ci[1].toFixed(3)}]` : ''}`;
  let summary: string;
  if (ok.length < 2) {
    summary = `fewer than two approaches are identified by this sweep's design (${ok.length ? ok.map(fmt).join('; ') : 'none'}); no agreement to judge`;
  } else {
    const overlap = ok.every((x) => x.ci) && Math.max(...ok.map((x) => x.ci![0])) <= Math.min(...ok.map((x) => x.ci![1]));
    const verdict = spread! <= 0.12 && overlap ? 'agree' : spread! <= 0.12 ? 'agree within 0.12, though not every pair of intervals overlaps' : 'disagree';
    summary = `the approaches ${verdict}: ${ok.map(fmt).join('; ')}; spread (max − min) ${spread!.toFixed(3)}`;
  }
  const left = a.filter((x) => !x.identifiable).map((x) => x.approach);
  if (left.length) summary += `; left out as not identified: Approach ${left.join(', ')} (see its section)`;
  return { a, spread, summary };
}
