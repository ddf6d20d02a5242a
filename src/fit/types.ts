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

/** Columns of metrics.csv, in this order. */
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
] as const;

export type MetricColumn = (typeof METRIC_COLUMNS)[number];

/** One row of metrics.csv. `train_loss` is NaN at step 0 (no step taken yet). */
export type MetricRow = Record<MetricColumn, number>;

export type RunStatus = 'pending' | 'running' | 'finished' | 'diverged' | 'failed' | 'interrupted';

/** The parts of run.json that the fit and plots rely on (run.json has more). */
export interface RunInfo {
  name: string;
  status: RunStatus;
  params_total: number;
  params_non_embedding: number;
  model: {
    vocab_size: number;
    context: number;
    d_model: number;
    n_layers: number;
    n_heads: number;
    [k: string]: unknown;
  };
  train: { steps: number; batch: number; lr: number; [k: string]: unknown };
  /** For isoflop sweeps: the compute budget (FLOPs, 6ND) this run belongs to. */
  budget_flops?: number;
  backend?: { name: string; device?: string };
  dataset?: string;
  tokenizer?: string;
  started_at?: string;
  ended_at?: string;
  [k: string]: unknown;
}

/** A run as the fit sees it: its info and its evaluation rows. */
export interface RunData {
  dir: string;
  info: RunInfo;
  rows: MetricRow[];
}

export type ParamCount = 'total' | 'non-embedding';
export type FlopsColumn = 'flops_6nd' | 'flops_kaplan' | 'flops_chinchilla';
