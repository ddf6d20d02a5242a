/**
 * Chinchilla Approach 3 (Hoffmann et al. 2022, §3.3 and App. D.2): fit
 *
 *   L(N, D) = E + A/N^α + B/D^β
 *
 * by minimising, over θ = (a, b, e, α, β) with A = e^a, B = e^b, E = e^e,
 *
 *   Σ_i Huber_δ( LSE(a − α·ln N_i, b − β·ln D_i, e) − ln L_i ),   δ = 1e-3,
 *
 * (LSE = log-sum-exp, so LSE(...) = ln L̂(N_i, D_i)) with L-BFGS started from
 * every point of Hoffmann et al.'s initialisation grid and keeping the best.
 * Confidence intervals come from a seeded bootstrap: whole runs are resampled
 * with replacement (all of a run's points together) when `groups` says which
 * run each point belongs to, else single points.
 */
import { progressBar } from '../util/progress.ts';
import { Rng } from '../util/rng.ts';
import { eq4, lawLoss } from './laws.ts';
import { lbfgs } from './lbfgs.ts';
import { quantile } from './regression.ts';
import type { Approach3, FitBasis } from './types.ts';

export const HUBER_DELTA = 1e-3;

/**
 * A fitted E closer than this fraction of the lowest observed loss to it is
 * "pinned at the floor": the law's irreducible term is doing no extrapolation
 * and the fit is degenerate (measured on the laptop IsoFLOP sweep: E = 3.377
 * against a lowest loss of 3.384, β = 1.53).
 */
export const E_FLOOR_FRAC = 0.01;

/** E + A/N^α + B/D^β (laws.ts's lawLoss, the one place the formula is written). */
export function predictLoss(p: { E: number; A: number; B: number; alpha: number; beta: number }, N: number, D: number): number {
  return lawLoss(p, N, D);
}

export interface LossPoint {
  N: number;
  D: number;
  L: number;
}

/** Huber loss: ½r² for |r| ≤ δ, δ(|r| − ½δ) beyond (linear tails). */
export function huber(r: number, delta = HUBER_DELTA): number {
  const a = Math.abs(r);
  return a <= delta ? 0.5 * r * r : delta * (a - 0.5 * delta);
}

/** dHuber/dr */
export function huberGrad(r: number, delta = HUBER_DELTA): number {
  return r > delta ? delta : r < -delta ? -delta : r;
}

/** θ index layout */
export const THETA = { a: 0, b: 1, e: 2, alpha: 3, beta: 4 } as const;

/**
 * The Huber objective and its analytic gradient over θ = [a, b, e, α, β].
 * `weights` (optional) multiplies each point's term; the bootstrap uses integer
 * resampling counts as weights, which is the same as refitting on the resample.
 *
 * With t1 = a − α ln N, t2 = b − β ln D, t3 = e, LSE = ln Σ e^tj and the
 * softmax weights p_j = e^(tj − LSE):
 *   ∂LSE/∂a = p1, ∂LSE/∂α = −p1 ln N, ∂LSE/∂b = p2, ∂LSE/∂β = −p2 ln D, ∂LSE/∂e = p3.
 */
export function huberObjective(points: LossPoint[], o: { delta?: number; weights?: ArrayLike<number> } = {}) {
  const n = points.length;
  const lnN = Float64Array.from(points, (p) => Math.log(p.N));
  const lnD = Float64Array.from(points, (p) => Math.log(p.D));
  const lnL = Float64Array.from(points, (p) => Math.log(p.L));
  const w = o.weights ? Float64Array.from(o.weights) : null;
  const delta = o.delta ?? HUBER_DELTA;
  return (theta: Float64Array, g: Float64Array): number => {
    const a = theta[0]!;
    const b = theta[1]!;
    const e = theta[2]!;
    const alpha = theta[3]!;
    const beta = theta[4]!;
    let f = 0;
    let ga = 0;
    let gb = 0;
    let ge = 0;
    let gal = 0;
    let gbe = 0;
    for (let i = 0; i < n; i++) {
      const wi = w ? w[i]! : 1;
      if (wi === 0) continue;
      const t1 = a - alpha * lnN[i]!;
      const t2 = b - beta * lnD[i]!;
      const t3 = e;
      const m = Math.max(t1, t2, t3);
      const e1 = Math.exp(t1 - m);
      const e2 = Math.exp(t2 - m);
      const e3 = Math.exp(t3 - m);
      const s = e1 + e2 + e3;
      const r = m + Math.log(s) - lnL[i]!;
      const ar = Math.abs(r);
      f += wi * (ar <= delta ? 0.5 * r * r : delta * (ar - 0.5 * delta));
      const h = (wi * (r > delta ? delta : r < -delta ? -delta : r)) / s;
      ga += h * e1;
      gal -= h * e1 * lnN[i]!;
      gb += h * e2;
      gbe -= h * e2 * lnD[i]!;
      ge += h * e3;
    }
    g[0] = ga;
    g[1] = gb;
    g[2] = ge;
    g[3] = gal;
    g[4] = gbe;
    return f;
  };
}

/**
 * Initialisation grids, θ = [a, b, e, α, β].
 *  full:   Hoffmann et al.'s grid: α, β ∈ {0, 0.5, …, 2}, e ∈ {−1, −0.5, …, 1}, a, b ∈ {0, 5, …, 25}
 *          (5·5·5·6·6 = 4500 starts);
 *  coarse: every other value of each axis: α, β ∈ {0, 1, 2}, e ∈ {−1, 0, 1}, a, b ∈ {0, 10, 20}
 *          (243 starts), for quick looks.
 */
export function initGrid(kind: 'full' | 'coarse'): number[][] {
  const range = (lo: number, hi: number, step: number) =>
    Array.from({ length: Math.round((hi - lo) / step) + 1 }, (_, i) => lo + i * step);
  const full = kind === 'full';
  const ab = full ? range(0, 25, 5) : range(0, 20, 10);
  const es = full ? range(-1, 1, 0.5) : range(-1, 1, 1);
  const exps = full ? range(0, 2, 0.5) : range(0, 2, 1);
  const grid: number[][] = [];
  for (const a of ab) for (const b of ab) for (const e of es) for (const alpha of exps) for (const beta of exps) grid.push([a, b, e, alpha, beta]);
  return grid;
}

export interface Approach3Options {
  /** bootstrap resamples for the confidence intervals; 0 = none */
  bootstrap?: number;
  seed?: number;
  /** initialisation grid (see initGrid); default 'full' */
  grid?: 'full' | 'coarse';
  /** bootstrap refits start from this many of the best distinct optima of the full-data grid search; default 4 */
  bootstrapStarts?: number;
  /** interval coverage; default 0.9 (5th–95th percentile) */
  ciLevel?: number;
  delta?: number;
  basis?: FitBasis;
  /** progress bar on stderr */
  progress?: boolean;
  /** the run (any integer id) of each point: the bootstrap then resamples runs, not points */
  groups?: number[];
}

interface Optimum {
  theta: Float64Array;
  f: number;
  converged: boolean;
}

const LBFGS_OPTS = { gtol: 1e-10, ftol: 1e-15, maxIter: 2000, memory: 10 };

/**
 * L-BFGS from each start. Besides the gradient and function tolerances, a run
 * also counts as converged when its line search can no longer decrease f while
 * max|∇f| ≤ 1e-6·δ·n: each point moves ∇f by at most about δ·|ln N| (the Huber
 * slope times the softmax weight times ln N or ln D), so that is ∇f's natural
 * scale, and near an optimum with many residuals in Huber's linear part f is
 * flat to round-off long before an absolute gtol is met.
 */
function minimiseFrom(fg: ReturnType<typeof huberObjective>, starts: ArrayLike<number>[], gScale: number, onStart?: () => void): Optimum[] {
  const out: Optimum[] = [];
  for (const s of starts) {
    const r = lbfgs(fg, s, LBFGS_OPTS);
    onStart?.();
    const flat = r.reason === 'lineSearch' && r.g.every((v) => Math.abs(v) <= 1e-6 * gScale);
    if (Number.isFinite(r.f) && r.x.every(Number.isFinite)) out.push({ theta: r.x, f: r.f, converged: r.converged || flat });
  }
  return out.sort((a, b) => a.f - b.f);
}

/** The named parameters of θ, with a and b from Hoffmann et al.'s eq. 4 (laws.ts). */
function eq4Params(theta: ArrayLike<number>) {
  const law = {
    E: Math.exp(theta[THETA.e]!),
    A: Math.exp(theta[THETA.a]!),
    B: Math.exp(theta[THETA.b]!),
    alpha: theta[THETA.alpha]!,
    beta: theta[THETA.beta]!,
  };
  const { a, b } = eq4(law);
  return { ...law, a, b };
}

/** Why these points cannot support a 5-parameter fit, or null if they can. */
export function approach3Problems(points: LossPoint[]): string | null {
  const nN = new Set(points.map((p) => p.N)).size;
  const nD = new Set(points.map((p) => p.D)).size;
  if (points.length < 5) return `${points.length} point(s); need ≥ 5 to fit E, A, B, α, β`;
  if (nN < 2) return `${nN} distinct model size (N); need ≥ 2 to separate A/N^α from the rest`;
  if (nD < 2) return `${nD} distinct token count (D); need ≥ 2 to separate B/D^β from the rest`;
  return null;
}

/** Fit L(N, D) = E + A/N^α + B/D^β; null (with the reason in `warnings`) when the points cannot support it. */
export function fitApproach3(
  points: LossPoint[],
  o: Approach3Options = {},
): { fit: Approach3 | null; warnings: string[]; /** why the optimum does not determine the law (E at the data floor), if so */ degenerate?: string } {
  const bad = points.filter((p) => !(p.N > 0 && p.D > 0 && p.L > 0) || ![p.N, p.D, p.L].every(Number.isFinite));
  if (bad.length) throw new Error(`fitApproach3: ${bad.length} point(s) with non-positive or non-finite N, D or L`);
  const problem = approach3Problems(points);
  if (problem) return { fit: null, warnings: [`approach 3: ${problem}; no parametric fit`] };

  const warnings: string[] = [];
  const grid = initGrid(o.grid ?? 'full');
  const K = Math.max(0, Math.floor(o.bootstrap ?? 0));
  const bar = progressBar('approach 3', grid.length + K, { quiet: !o.progress, unit: ' fits' });
  const fg = huberObjective(points, { delta: o.delta });
  const gScale = (o.delta ?? HUBER_DELTA) * points.length;
  const optima = minimiseFrom(fg, grid, gScale, () => bar.increment());
  if (optima.length === 0) {
    bar.stop();
    return { fit: null, warnings: ['approach 3: L-BFGS found no finite optimum from any start'] };
  }
  const best = optima[0]!;
  const p = eq4Params(best.theta);
  if (!best.converged) warnings.push('approach 3: the best L-BFGS run stopped before its convergence tolerance');
  if (new Set(points.map((q) => q.N)).size < 4) {
    warnings.push('approach 3: fewer than 4 distinct model sizes; A and α are weakly determined');
  }
  if (!(p.alpha > 0 && p.beta > 0)) {
    warnings.push(`approach 3: fitted α = ${p.alpha.toPrecision(3)}, β = ${p.beta.toPrecision(3)}; a non-positive exponent means the data do not pin down the law`);
  }
  const minL = Math.min(...points.map((q) => q.L));
  let degenerate: string | undefined;
  if (p.E > minL) warnings.push(`approach 3: fitted E = ${p.E.toPrecision(4)} exceeds the lowest observed loss ${minL.toPrecision(4)}`);
  else if (minL - p.E < E_FLOOR_FRAC * minL) {
    degenerate =
      `the fitted E = ${p.E.toPrecision(4)} sits at the lowest observed loss ${minL.toPrecision(4)} (β = ${p.beta.toPrecision(3)}): ` +
      'the runs do not follow E + A/N^α + B/D^β, so its a is not determined';
    warnings.push(
      `approach 3: fitted E = ${p.E.toPrecision(4)} sits at the lowest observed loss ${minL.toPrecision(4)} (within ${E_FLOOR_FRAC * 100} %): ` +
        'the fit puts the irreducible loss at the data and bends B/D^β steeply (β = ' +
        p.beta.toPrecision(3) +
        ') to reach it, which is what E + A/N^α + B/D^β does when the runs do not follow that separable form ' +
        '(e.g. larger models gaining more per token than smaller ones at the same D); its a is not trustworthy',
    );
  }

  const fit: Approach3 = {
    ...p,
    huber_loss: best.f,
    points: points.length,
    log_params: {
      a: best.theta[THETA.a]!,
      b: best.theta[THETA.b]!,
      e: best.theta[THETA.e]!,
      alpha: best.theta[THETA.alpha]!,
      beta: best.theta[THETA.beta]!,
    },
    starts: grid.length,
    converged: best.converged,
    warnings,
    ...(o.basis ? { basis: o.basis } : {}),
  };

  if (K > 0) {
    // Starts for the refits: the best few distinct optima of the full-data search (a
    // resample moves the optimum a little, so the full grid again is not needed).
    const starts: Float64Array[] = [];
    for (const opt of optima) {
      if (starts.length >= (o.bootstrapStarts ?? 4)) break;
      if (starts.every((s) => s.some((v, i) => Math.abs(v - opt.theta[i]!) > 1e-3 * Math.max(1, Math.abs(v))))) starts.push(opt.theta);
    }
    const rng = new Rng(o.seed ?? 0);
    const samples: ReturnType<typeof eq4Params>[] = [];
    const counts = new Float64Array(points.length);
    // resampling unit: runs (groups) when given, else points
    const groupIds = o.groups ? [...new Set(o.groups)] : null;
    const members = new Map<number, number[]>();
    if (o.groups) o.groups.forEach((g, i) => members.set(g, [...(members.get(g) ?? []), i]));
    for (let k = 0; k < K; k++) {
      counts.fill(0);
      if (groupIds) {
        for (let j = 0; j < groupIds.length; j++) for (const i of members.get(groupIds[rng.int(groupIds.length)]!)!) counts[i]! += 1;
      } else for (let i = 0; i < points.length; i++) counts[rng.int(points.length)]! += 1;
      const r = minimiseFrom(huberObjective(points, { delta: o.delta, weights: counts }), starts, gScale);
      if (r.length) samples.push(eq4Params(r[0]!.theta));
      bar.increment();
    }
    const level = o.ciLevel ?? 0.9;
    const lo = (1 - level) / 2;
    const ci: NonNullable<Approach3['ci']> = {};
    for (const key of ['E', 'A', 'B', 'alpha', 'beta', 'a', 'b'] as const) {
      const v = samples.map((s) => s[key]);
      ci[key] = [quantile(v, lo), quantile(v, 1 - lo)];
    }
    fit.ci = ci;
    fit.bootstrap_unit = groupIds ? 'runs' : 'points';
    fit.bootstrap_samples = samples.length;
    fit.ci_level = level;
  }
  bar.stop();
  return { fit, warnings, ...(degenerate ? { degenerate } : {}) };
}
