/**
 * Bootstrap intervals for the exponents a (N_opt ∝ C^a) and b (D_opt ∝ C^b) of
 * Approaches 1 and 2: draw the sweep's runs with replacement, refit, and take
 * percentiles. A resample that gives no estimate (e.g. a budget lost all its
 * runs) is skipped and counted. Approach 3 resamples runs inside its own fit
 * (approach3.ts, `groups`).
 */
import { Rng } from '../util/rng.ts';
import type { RunCurve } from './curves.ts';
import { quantile } from './regression.ts';
import type { ExponentIntervals, ScalingExponent } from './types.ts';

export function bootstrapExponents(
  curves: RunCurve[],
  refit: (sample: RunCurve[]) => { n_opt: ScalingExponent | null; d_opt: ScalingExponent | null },
  o: { resamples: number; seed: number; level?: number },
): ExponentIntervals | undefined {
  if (!(o.resamples > 0) || curves.length === 0) return undefined;
  const rng = new Rng(o.seed);
  const level = o.level ?? 0.9;
  const as: number[] = [];
  const bs: number[] = [];
  for (let k = 0; k < o.resamples; k++) {
    // duplicated runs get distinct names so that grouping by budget keeps each copy
    const sample = curves.map((_, j) => {
      const c = curves[rng.int(curves.length)]!;
      return { ...c, run: `${c.run}#${j}` };
    });
    const r = refit(sample);
    if (r.n_opt && Number.isFinite(r.n_opt.exponent)) as.push(r.n_opt.exponent);
    if (r.d_opt && Number.isFinite(r.d_opt.exponent)) bs.push(r.d_opt.exponent);
  }
  const lo = (1 - level) / 2;
  const ci = (v: number[]): [number, number] | undefined => (v.length >= 2 ? [quantile(v, lo), quantile(v, 1 - lo)] : undefined);
  return { a: ci(as), b: ci(bs), samples: Math.min(as.length, bs.length), drawn: o.resamples, level };
}
