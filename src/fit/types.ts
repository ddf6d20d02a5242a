/**
 * Shapes shared by the fitting module (src/fit), the plots (src/plot) and the
 * sweep runner. A sweep directory looks like:
 *
 *   runs/<sweep>/sweep.json              sweep config + status of each run
 *   runs/<sweep>/<run>/metrics.csv       one row per evaluation (METRIC_COLUMNS)
 *   runs/<sweep>/<run>/run.json          RunInfo (config, params_total, …)
 *   runs/<sweep>/<run>/checkpoints/      latest checkpoint
 *   runs/<sweep>/fit.json                FitReport (written by `chinchilla fit`)
 *   runs/<sweep>/plots/*.svg|png         (written by `chinchilla plot`)
 */
import type { Separability } from './separability.ts';

// The file formats live in src/artifacts (one schema per file); re-exported here for the fit's users.
import type { MetricRow, RunInfo } from '../artifacts/index.ts';
export { METRIC_COLUMNS } from '../artifacts/metrics.ts';
export type { MetricColumn, MetricRow } from '../artifacts/metrics.ts';
export type { RunInfo, RunStatus } from '../artifacts/runJson.ts';

/** A run as the fit sees it: its info and its evaluation rows. */
export interface RunData {
  dir: string;
  info: RunInfo;
  rows: MetricRow[];
}

export type ParamCount = 'total' | 'non-embedding';
export type FlopsColumn = 'flops_6nd' | 'flops_kaplan' | 'flops_chinchilla';

/** Which columns a fit used: N (params_total / params_non_embedding, or a CSV column), D, L and C. */
export interface FitBasis {
  params: string;
  tokens: string;
  loss: string;
  /** absent for fits that do not use compute (Approach 3 on a CSV table) */
  flops?: string;
}

/** log L = intercept − slope_abs·log C, reported as slope (negative) and intercept, natural logs. */
export interface PowerLawFit {
  /** d log L / d log C (negative when loss falls with compute), e.g. −0.136. */
  slope: number;
  /** value of log L at log C = 0 (natural log). */
  intercept: number;
  r2: number;
  points: number;
}

/** Per-run fit of loss against compute (fit 1). */
export interface RunPowerLaw extends PowerLawFit {
  run: string;
  params: number;
  /** Compute range (FLOPs) of the points used. */
  c_min: number;
  c_max: number;
}

/** y = k · C^exponent fitted in log space. */
export interface ScalingExponent {
  exponent: number;
  /** coefficient k (so y = k·C^exponent) */
  coefficient: number;
  r2: number;
  points: number;
}

export interface EnvelopePoint {
  compute: number;
  loss: number;
  run: string;
  params: number;
  tokens: number;
  /** a smaller and a larger model than this one also have data at this compute (only such points are fitted) */
  bracketed?: boolean;
}

/** Whether the sweep's design identifies an approach's exponents (see design.ts). */
export interface Identifiability {
  identifiable: boolean;
  /** why not, e.g. "all runs share one schedule length (D)" */
  reason?: string;
}

/** Bootstrap percentile intervals of a and b, resampling runs with replacement. */
export interface ExponentIntervals {
  a?: [number, number];
  b?: [number, number];
  /** resamples that gave an estimate, of those drawn */
  samples: number;
  drawn: number;
  level: number;
}

/** Chinchilla Approach 1. */
export interface Approach1 {
  envelope: EnvelopePoint[];
  n_opt: ScalingExponent | null; // N_opt ∝ C^a
  d_opt: ScalingExponent | null; // D_opt ∝ C^b
  /** compute range of the envelope points used for n_opt/d_opt */
  fit_range?: [number, number];
  /** which envelope points n_opt/d_opt were fitted to: the bracketed ones, or all (too few sizes for that) */
  fitted_points?: 'bracketed' | 'all';
  /** schedule lengths (distinct final token counts) per model size: min and max over sizes */
  schedules_per_size?: [number, number];
  design?: Identifiability;
  ci?: ExponentIntervals;
  warnings: string[];
  basis?: FitBasis;
}

export interface IsoFlopProfile {
  /** compute of the profile in the chosen FLOPs column (isoflop sweeps: geometric mean of the runs' final compute) */
  budget: number;
  /** isoflop sweeps: the budget_flops (6ND) the runs were planned for */
  budget_nominal?: number;
  /** the (N, loss) points at this budget */
  points: { params: number; tokens: number; loss: number; run: string }[];
  /** parabola loss = p0 + p1·x + p2·x² with x = log N (natural log); null if it could not be fitted */
  parabola: [number, number, number] | null;
  n_opt: number | null;
  d_opt: number | null;
  loss_opt: number | null;
  /** why this profile gave no N_opt, or was left out of the exponent fit (e.g. minimum outside the sampled N) */
  note?: string;
  /** the lowest loss is at the smallest or largest model: reported, left out of the exponent fit */
  edge_minimum?: 'smallest' | 'largest';
  /** the runs the parabola was fitted to (a window in ln N around the lowest loss) */
  window?: { ln_n_half_width: number; runs: string[] };
}

/** Chinchilla Approach 2 (IsoFLOP profiles). */
export interface Approach2 {
  /** 'isoflop' when runs carry budget_flops, 'interpolated' for ordinary sweeps */
  source: 'isoflop' | 'interpolated';
  profiles: IsoFlopProfile[];
  n_opt: ScalingExponent | null;
  d_opt: ScalingExponent | null;
  /** parabola window: points within this distance in ln N of each profile's lowest loss (at least its two neighbours) */
  window_ln_n?: number;
  design?: Identifiability;
  ci?: ExponentIntervals;
  warnings: string[];
  basis?: FitBasis;
}

/** Chinchilla Approach 3: L(N, D) = E + A/N^alpha + B/D^beta. */
export interface Approach3 {
  E: number;
  A: number;
  B: number;
  alpha: number;
  beta: number;
  /** a = beta/(alpha+beta): N_opt ∝ C^a; b = alpha/(alpha+beta): D_opt ∝ C^b */
  a: number;
  b: number;
  huber_loss: number;
  points: number;
  /** bootstrap percentile intervals [lo, hi] (e.g. 5–95 %) per parameter */
  ci?: Partial<Record<'E' | 'A' | 'B' | 'alpha' | 'beta' | 'a' | 'b', [number, number]>>;
  bootstrap_samples?: number;
  /** coverage of the ci intervals (0.9 = 5th–95th percentile) */
  ci_level?: number;
  /** the fitted log-space parameters: a = ln A, b = ln B, e = ln E (as optimised) */
  log_params?: { a: number; b: number; e: number; alpha: number; beta: number };
  /** number of L-BFGS starts in the initialisation grid, and whether the best one converged */
  starts?: number;
  converged?: boolean;
  /** what the bootstrap resampled: whole runs (all of a run's points together) or single points */
  bootstrap_unit?: 'runs' | 'points';
  design?: Identifiability;
  /** do the final losses follow a loss separable in N and D (separability.ts)? absent without 2+ schedule lengths per size */
  separability?: Separability;
  warnings: string[];
  basis?: FitBasis;
}

/** Do the three approaches agree on a? */
export interface Agreement {
  /** a per approach that gave one (identified or not), with interval */
  a: { approach: 1 | 2 | 3; value: number; ci?: [number, number]; identifiable: boolean }[];
  /** max − min over the identified approaches (null with fewer than 2) */
  spread: number | null;
  /** one line for the summary */
  summary: string;
}

/** The conventions a fit was made with; fit.json is the default ones. */
export interface FitConventions {
  n: ParamCount;
  flops: FlopsColumn;
  points: 'all' | 'final';
  min_step: number;
}

/** The whole of runs/<sweep>/fit.json (schema: src/artifacts/fitJson.ts). */
export interface FitReport {
  schema_version?: number;
  sweep_dir: string;
  n: ParamCount;
  flops: FlopsColumn;
  runs: {
    run: string;
    params: number;
    params_total: number;
    params_non_embedding: number;
    final_val_loss: number;
    tokens: number;
    compute: number;
    /** standard error of final_val_loss and the validation tokens it covered (NaN/absent when unknown) */
    final_val_loss_se?: number | null;
    final_eval_tokens?: number | null;
    /** 'final_eval': run.json's final evaluation; 'last_row': the last metrics row */
    final_source?: 'final_eval' | 'last_row';
    budget_flops?: number;
  }[];
  per_run: RunPowerLaw[];
  approach1: Approach1;
  approach2: Approach2;
  approach3: Approach3 | null;
  /** why Approach 3 is null or not identified by the design */
  approach3_design?: Identifiability;
  agreement?: Agreement;
  warnings: string[];
  created_at: string;
  /** fit options that shaped the numbers */
  options?: { points: 'all' | 'final'; min_step: number; bootstrap: number; seed: number; grid: 'full' | 'coarse'; window_ln_n?: number };
}
