/**
 * A run's training curve as the fits see it: (N, D, C, L) at each evaluation,
 * plus log-log interpolation along the curve at any compute value.
 */
import type { FlopsColumn, ParamCount, RunData } from './types.ts';

export interface CurvePoint {
  step: number;
  /** parameters (the chosen count) */
  N: number;
  /** tokens seen */
  D: number;
  /** training compute so far (the chosen FLOPs column) */
  C: number;
  /** validation loss (nats/token) */
  L: number;
}

/**
 * A run's final loss: the trainer's final evaluation over the whole validation split
 * (run.json final_eval) when present, else its last metrics row (a small evaluation).
 */
export interface FinalPoint extends CurvePoint {
  /** standard error of L, when known */
  se: number;
  /** validation tokens the evaluation covered (NaN when unknown) */
  eval_tokens: number;
  source: 'final_eval' | 'last_row';
}

export interface RunCurve {
  run: string;
  /** the chosen parameter count */
  N: number;
  params_total: number;
  params_non_embedding: number;
  budget_flops?: number;
  /** usable points (C > 0, D > 0, finite L > 0, step ≥ minStep), by increasing compute */
  points: CurvePoint[];
  /** the run's final loss at its full schedule (the point Approaches 2 and 3 use by default) */
  final: FinalPoint;
}

export interface CurveOptions {
  n: ParamCount;
  flops: FlopsColumn;
  /** drop evaluations before this step (e.g. the warm-up); step 0 never counts (D = C = 0) */
  minStep: number;
}

export function paramColumn(n: ParamCount): 'params_total' | 'params_non_embedding' {
  return n === 'total' ? 'params_total' : 'params_non_embedding';
}

/** The usable curve of every run; runs that diverged or have no usable point are left out with a warning. */
export function runCurves(runs: RunData[], o: CurveOptions): { curves: RunCurve[]; warnings: string[] } {
  const warnings: string[] = [];
  const curves: RunCurve[] = [];
  const lastRow: string[] = [];
  for (const r of runs) {
    const N = r.info[paramColumn(o.n)];
    if (r.info.status === 'diverged' || r.info.status === 'failed') {
      warnings.push(`run ${r.info.name}: status "${r.info.status}", left out of the fits`);
      continue;
    }
    if (r.info.status && r.info.status !== 'finished') {
      warnings.push(`run ${r.info.name}: status "${r.info.status}"; its curve so far is used`);
    }
    const points: CurvePoint[] = [];
    for (const row of r.rows) {
      const C = row[o.flops];
      const D = row.tokens;
      const L = row.val_loss;
      if (row.step < o.minStep || !(C > 0) || !(D > 0) || !(L > 0) || !Number.isFinite(L) || !Number.isFinite(C)) continue;
      points.push({ step: row.step, N, D, C, L });
    }
    points.sort((a, b) => a.C - b.C);
    if (points.length === 0) {
      warnings.push(`run ${r.info.name}: no evaluation with compute > 0 and a finite val_loss, left out of the fits`);
      continue;
    }
    const final = finalPoint(r, points[points.length - 1]!, o.flops);
    if (final.source === 'last_row') lastRow.push(`${r.info.name} (${Number.isFinite(final.eval_tokens) ? Math.round(final.eval_tokens).toLocaleString('en-US') : '?'})`);
    curves.push({
      run: r.info.name,
      N,
      params_total: r.info.params_total,
      params_non_embedding: r.info.params_non_embedding,
      budget_flops: r.info.budget_flops,
      points,
      final,
    });
  }
  if (lastRow.length > 0) {
    warnings.push(
      `${lastRow.length} run(s) have no final_eval in run.json; their final loss is their last evaluation, over few validation tokens: ` +
        `${lastRow.join(', ')} (the trainer now evaluates the whole validation split at the end; re-run them to rank models reliably)`,
    );
  }
  return { curves, warnings };
}

/** run.json's final_eval (BRIEF contract 2) when present, else the last usable metrics row. */
function finalPoint(r: RunData, last: CurvePoint, flops: FlopsColumn): FinalPoint {
  const fe = (r.info as { final_eval?: { val_loss: number; val_loss_se: number; tokens: number; step: number } | null }).final_eval;
  const rowAt = r.rows.find((x) => x.step === fe?.step);
  if (fe && Number.isFinite(fe.val_loss) && fe.val_loss > 0) {
    const D = rowAt?.tokens ?? last.D;
    const C = rowAt?.[flops] ?? last.C;
    return { step: fe.step, N: last.N, D, C, L: fe.val_loss, se: fe.val_loss_se, eval_tokens: fe.tokens, source: 'final_eval' };
  }
  const row = r.rows.find((x) => x.step === last.step) as (Record<string, number> | undefined);
  const train = r.info.train as { eval_windows?: number | string };
  const context = Number(r.info.model?.context);
  const valTokens = row?.val_tokens;
  const evalTokens = Number.isFinite(valTokens) ? valTokens! : typeof train?.eval_windows === 'number' && context > 0 ? train.eval_windows * context : NaN;
  const se = row?.val_loss_se;
  return { ...last, se: Number.isFinite(se) ? se! : NaN, eval_tokens: evalTokens, source: 'last_row' };
}

/**
 * Loss and tokens of a run at compute C, by linear interpolation of (ln C, ln L)
 * and (ln C, ln D) between the neighbouring evaluations; null outside the run's
 * compute range (no extrapolation).
 */
export function interpolateAt(curve: RunCurve, C: number): { L: number; D: number } | null {
  const p = curve.points;
  if (p.length === 0 || C < p[0]!.C || C > p[p.length - 1]!.C) return null;
  // binary search for the last point with p.C ≤ C
  let lo = 0;
  let hi = p.length - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (p[mid]!.C <= C) lo = mid;
    else hi = mid;
  }
  const a = p[lo]!;
  const b = p[hi]!;
  if (a.C === C || a === b) return { L: a.L, D: a.D };
  if (b.C === C) return { L: b.L, D: b.D };
  const t = (Math.log(C) - Math.log(a.C)) / (Math.log(b.C) - Math.log(a.C));
  return {
    L: Math.exp(Math.log(a.L) + t * (Math.log(b.L) - Math.log(a.L))),
    D: Math.exp(Math.log(a.D) + t * (Math.log(b.D) - Math.log(a.D))),
  };
}

/** n values spaced evenly in log between lo and hi (inclusive). */
export function logspace(lo: number, hi: number, n: number): number[] {
  if (n === 1) return [Math.sqrt(lo * hi)];
  const a = Math.log(lo);
  const b = Math.log(hi);
  return Array.from({ length: n }, (_, i) => Math.exp(a + ((b - a) * i) / (n - 1)));
}

/**
 * The curve as Approach 1 uses it (Hoffmann et al. 2022, §3.1: "we first smooth
 * the training curves"): ln L replaced by a straight line in ln C fitted through each
 * evaluation and its two neighbours (evaluations are noisy: intermediate ones use few
 * validation windows; a local line, unlike a plain average, leaves a power law
 * unchanged), the final point replaced by the run's final loss (its large final evaluation).
 */
export function smoothCurve(curve: RunCurve): RunCurve {
  const p = curve.points;
  const points = p.map((q, i) => {
    if (i === p.length - 1) return { ...q, L: curve.final.L };
    const nb = p.slice(Math.max(0, i - 1), Math.min(p.length - 1, i + 2));
    if (nb.length < 3) return q;
    const x = nb.map((t) => Math.log(t.C));
    const y = nb.map((t) => Math.log(t.L));
    const mx = (x[0]! + x[1]! + x[2]!) / 3;
    const my = (y[0]! + y[1]! + y[2]!) / 3;
    const sxx = x.reduce((s, v) => s + (v - mx) ** 2, 0);
    const slope = sxx > 0 ? x.reduce((s, v, j) => s + (v - mx) * (y[j]! - my), 0) / sxx : 0;
    return { ...q, L: Math.exp(my + slope * (Math.log(q.C) - mx)) };
  });
  return { ...curve, points };
}
