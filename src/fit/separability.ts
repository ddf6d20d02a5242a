/**
 * Do the runs follow a loss that is separable in N and D, as Approach 3's
 *
 *   L(N, D) = E + A/N^α + B/D^β
 *
 * assumes? Under that law the gain from more tokens does not depend on the model:
 *
 *   ∂L/∂ln D = −β·B·D^−β          the same for every N at a given D.
 *
 * A size trained with several schedule lengths (an IsoFLOP grid trains a size at
 * every budget whose step window holds it) measures its own slope s_N = dL/d ln D
 * from its final losses. The fitted law predicts, over the same D span,
 *
 *   ŝ_N = B·(D_hi^−β − D_lo^−β) / ln(D_hi/D_lo)     (no N in it),
 *
 * and the slope's standard error follows from the final evaluations' errors. Where
 * some size's |s_N − ŝ_N| exceeds both MIN_SLOPE_GAP and Z_SLOPE standard errors,
 * the runs are not separable: the law cannot describe them, and its exponents,
 * however narrow their intervals, say nothing about the allocation.
 */
/** A gap in dL/d ln D (nats per e-fold of tokens) below this is not called a failure, whatever the noise. */
export const MIN_SLOPE_GAP = 0.05;
/** ... nor one within this many standard errors of the slope. */
export const Z_SLOPE = 4;

export interface SizeSlope {
  /** parameters (the fit's N) */
  N: number;
  /** runs (schedule lengths) of this size, and their token span */
  runs: number;
  D_lo: number;
  D_hi: number;
  /** least-squares slope of the final losses against ln D, and its standard error */
  slope: number;
  slope_se: number;
  /** the fitted law's slope over the same span (the same for every N) */
  law_slope: number;
}

export interface Separability {
  sizes: SizeSlope[];
  /** false when some size's slope departs from the law's by more than MIN_SLOPE_GAP and Z_SLOPE standard errors */
  separable: boolean;
  /** one sentence with the numbers, for the report */
  summary: string;
}

export interface FinalLoss {
  N: number;
  D: number;
  L: number;
  /** standard error of L (NaN when unknown: then only MIN_SLOPE_GAP decides) */
  se: number;
}

/** Slope of y on x by least squares, with its standard error from the points' own errors. */
function slopeWithError(x: number[], y: number[], se: number[]): { slope: number; se: number } {
  const n = x.length;
  const mx = x.reduce((s, v) => s + v, 0) / n;
  const my = y.reduce((s, v) => s + v, 0) / n;
  const sxx = x.reduce((s, v) => s + (v - mx) ** 2, 0);
  const slope = x.reduce((s, v, i) => s + (v - mx) * (y[i]! - my), 0) / sxx;
  const variance = x.reduce((s, v, i) => s + ((v - mx) / sxx) ** 2 * (Number.isFinite(se[i]!) ? se[i]! ** 2 : 0), 0);
  return { slope, se: Math.sqrt(variance) };
}

const fmtN = (n: number) => (n >= 1e6 ? `${(n / 1e6).toPrecision(3)}M` : n >= 1e3 ? `${(n / 1e3).toPrecision(3)}K` : String(n));

/** The check over the runs' final losses and the fitted law; null when no size has two schedule lengths. */
export function checkSeparability(points: FinalLoss[], law: { B: number; beta: number }): Separability | null {
  const bySize = new Map<number, FinalLoss[]>();
  for (const p of points) bySize.set(p.N, [...(bySize.get(p.N) ?? []), p]);
  const sizes: SizeSlope[] = [];
  for (const [N, ps] of [...bySize].sort((a, b) => a[0] - b[0])) {
    const Ds = ps.map((p) => p.D);
    const D_lo = Math.min(...Ds);
    const D_hi = Math.max(...Ds);
    if (ps.length < 2 || !(D_hi > D_lo * 1.05)) continue;
    const { slope, se } = slopeWithError(
      ps.map((p) => Math.log(p.D)),
      ps.map((p) => p.L),
      ps.map((p) => p.se),
    );
    const law_slope = (law.B * (D_hi ** -law.beta - D_lo ** -law.beta)) / Math.log(D_hi / D_lo);
    sizes.push({ N, runs: ps.length, D_lo, D_hi, slope, slope_se: se, law_slope });
  }
  if (sizes.length === 0) return null;
  const off = sizes.filter((s) => Math.abs(s.slope - s.law_slope) > Math.max(MIN_SLOPE_GAP, Z_SLOPE * s.slope_se));
  const steepest = sizes.reduce((a, b) => (b.slope < a.slope ? b : a));
  const flattest = sizes.reduce((a, b) => (b.slope > a.slope ? b : a));
  const range =
    `per size, dL/d ln D runs from ${flattest.slope.toFixed(3)} (N = ${fmtN(flattest.N)}) to ${steepest.slope.toFixed(3)} ` +
    `(N = ${fmtN(steepest.N)}) over ${sizes.length} sizes with 2+ schedule lengths, where E + A/N^α + B/D^β gives ` +
    `${Math.max(...sizes.map((s) => s.law_slope)).toFixed(3)} to ${Math.min(...sizes.map((s) => s.law_slope)).toFixed(3)} for every N at those D`;
  const bar = sizes.some((s) => s.slope_se > 0) ? `${MIN_SLOPE_GAP} nats and ${Z_SLOPE} standard errors` : `${MIN_SLOPE_GAP} nats (no standard errors given)`;
  return {
    sizes,
    separable: off.length === 0,
    summary: off.length
      ? `the runs are not separable in N and D: ${range}; ${off.length} of ${sizes.length} sizes differ from the law's slope by more than ${bar} (larger models gain more per token than the law allows)`
      : `the runs are consistent with a separable loss: ${range}; every size within ${bar.replace(' and ', ' or ')} of the law's slope`,
  };
}
