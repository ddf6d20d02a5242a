/**
 * Chinchilla Approach 1 (Hoffmann et al. 2022, §3.1): the lower envelope of
 * loss over compute across all runs. Each model size is trained with several
 * schedule lengths (Hoffmann et al.: four cosine cycles spanning 16× in tokens;
 * an IsoFLOP grid provides them, since a size appears at several budgets). Each
 * run's curve is smoothed and interpolated; at each compute value C the run with
 * the lowest loss is the compute-optimal one; its (N, D) at C are N_opt(C),
 * D_opt(C), and power laws N_opt ∝ C^a, D_opt ∝ C^b are fitted to them. With
 * one schedule length per size, every envelope point but a run's last is a
 * checkpoint whose learning rate has not decayed: the estimate is biased, and
 * the fit says so (design.ts).
 *
 * Runs are evaluated at a log-spaced grid of compute values (Hoffmann et al.
 * used 1500) by log-log interpolation along each curve. Only compute values
 * covered by at least two runs form the envelope, and only its "bracketed"
 * points are fitted: those where a smaller and a larger model than the winner
 * also have data. Elsewhere the winner may be lowest only because the model
 * that would beat it has no evaluation at that compute (a larger model's curve
 * starts late; a smaller one's ends early), which biases the slope (on synthetic
 * sweeps this moved a by up to 0.1; bracketed points keep it within ~0.02).
 */
import { interpolateAt, logspace, smoothCurve, type RunCurve } from './curves.ts';
import { fitPowerLaw } from './regression.ts';
import type { Approach1, EnvelopePoint, FitBasis } from './types.ts';

export interface Approach1Options {
  /** compute grid size (log-spaced); default 500 */
  grid?: number;
  basis?: FitBasis;
}

export function fitApproach1(raw: RunCurve[], o: Approach1Options = {}): Approach1 {
  const warnings: string[] = [];
  const curves = raw.map(smoothCurve);
  const empty = (msg: string): Approach1 => ({ envelope: [], n_opt: null, d_opt: null, warnings: [...warnings, msg], basis: o.basis });
  const distinctN = new Set(curves.map((c) => c.N)).size;
  if (distinctN < 2) {
    return empty(`approach 1: needs runs of ≥ 2 distinct model sizes (have ${distinctN}); no envelope fit`);
  }
  const cLo = Math.min(...curves.map((c) => c.points[0]!.C));
  const cHi = Math.max(...curves.map((c) => c.points[c.points.length - 1]!.C));

  const envelope: EnvelopePoint[] = [];
  for (const C of logspace(cLo, cHi, o.grid ?? 500)) {
    let best: EnvelopePoint | null = null;
    const covering: number[] = [];
    for (const c of curves) {
      const at = interpolateAt(c, C);
      if (!at) continue;
      covering.push(c.N);
      if (!best || at.L < best.loss) best = { compute: C, loss: at.L, run: c.run, params: c.N, tokens: at.D };
    }
    if (best && covering.length >= 2) {
      const N = best.params;
      best.bracketed = covering.some((n) => n < N) && covering.some((n) => n > N);
      envelope.push(best);
    }
  }

  // N_opt(C) is identified only where the winner is bracketed: a smaller and a larger
  // model also have data at C (else a model with no data there might be better).
  // With too few sizes for that, fall back to the whole envelope, with a warning.
  const sizes = (pts: EnvelopePoint[]) => new Set(pts.map((p) => p.params)).size;
  let used = envelope.filter((p) => p.bracketed);
  let fitted: 'bracketed' | 'all' = 'bracketed';
  if (sizes(used) < 2) {
    if (sizes(envelope) < 2) {
      return {
        envelope,
        n_opt: null,
        d_opt: null,
        warnings: [
          ...warnings,
          `approach 1: the loss envelope holds ${sizes(envelope)} distinct model size(s); need ≥ 2 for N_opt ∝ C^a ` +
            '(train the models longer so that their curves cross, or add sizes)',
        ],
        basis: o.basis,
      };
    }
    warnings.push(
      'approach 1: fewer than 2 model sizes win where both a smaller and a larger model have data; ' +
        'fitted the whole envelope instead, whose exponents are biased by where curves start and end (add model sizes)',
    );
    used = envelope;
    fitted = 'all';
  } else if (sizes(used) < 3) {
    warnings.push(`approach 1: only ${sizes(used)} model sizes on the fitted envelope; the exponents are rough`);
  }
  const C = used.map((p) => p.compute);
  return {
    envelope,
    n_opt: fitPowerLaw(C, used.map((p) => p.params)),
    d_opt: fitPowerLaw(C, used.map((p) => p.tokens)),
    fit_range: [used[0]!.compute, used[used.length - 1]!.compute],
    fitted_points: fitted,
    warnings,
    basis: o.basis,
  };
}
