/**
 * What a sweep's design can identify. A checkpoint in the middle of a cosine
 * schedule is not a model trained for that many tokens (its learning rate has
 * not decayed), so tokens D vary honestly only between runs with different
 * schedule lengths. Hoffmann et al. 2022 used, for Approach 1, several schedule
 * lengths per model size (four, spanning 16×), and for Approaches 2 and 3 one
 * final point per schedule-matched run. From the runs' final points:
 *
 *  - Approach 1 needs ≥ 2 schedule lengths for most sizes (else every point
 *    of its envelope is an intermediate checkpoint, biased by the schedule);
 *  - Approach 2 needs an IsoFLOP design (runs planned for shared budgets);
 *  - Approach 3 needs N and D to vary independently across final points:
 *    (ln N, ln D) not on one line (e.g. an IsoFLOP grid, or a size trained for
 *    two schedule lengths); when every run has the same D, or D is a fixed
 *    power of N, A/N^α and B/D^β cannot be told apart.
 *
 * Fits with intermediate checkpoints (`--points all`) are never "identified"
 * by this test: their D's come from one schedule.
 */
import type { RunCurve } from './curves.ts';
import type { Identifiability } from './types.ts';

export interface Design {
  sizes: number;
  /** schedule lengths (final token counts) per model size */
  schedulesPerSize: Map<number, Set<number>>;
  approach1: Identifiability;
  approach2: Identifiability;
  approach3: Identifiability;
}

/** Tokens of two runs within 1 % count as the same schedule length. */
function roundTokens(D: number): number {
  return Number(D.toPrecision(2));
}

export function analyseDesign(curves: RunCurve[], o: { points: 'all' | 'final'; isoflop: boolean }): Design {
  const schedulesPerSize = new Map<number, Set<number>>();
  for (const c of curves) {
    const set = schedulesPerSize.get(c.N) ?? new Set<number>();
    set.add(roundTokens(c.final.D));
    schedulesPerSize.set(c.N, set);
  }
  const sizes = schedulesPerSize.size;
  const multi = [...schedulesPerSize.values()].filter((s) => s.size >= 2).length;
  const allTokens = new Set(curves.map((c) => roundTokens(c.final.D)));
  const oneSchedule =
    allTokens.size <= 1 ? 'all runs share one schedule length (D)' : 'each model size has a single schedule length (D is tied to N)';

  const yes: Identifiability = { identifiable: true };
  const approach1: Identifiability =
    sizes < 2
      ? { identifiable: false, reason: `${sizes} model size(s); need ≥ 2` }
      : multi < 2
        ? { identifiable: false, reason: `${oneSchedule}: the envelope consists of mid-schedule checkpoints, biased by the schedule` }
        : yes;
  const approach2: Identifiability = o.isoflop
    ? yes
    : { identifiable: false, reason: 'not an IsoFLOP sweep: profiles come from mid-schedule checkpoints, biased by the schedule' };
  let approach3: Identifiability = yes;
  if (o.points === 'all') {
    approach3 =
      multi >= 1
        ? { identifiable: false, reason: '--points all mixes mid-schedule checkpoints (schedule effects) into the fit' }
        : { identifiable: false, reason: `${oneSchedule}; --points all fills D from mid-schedule checkpoints, biased by the schedule` };
  } else if (sizes < 2) approach3 = { identifiable: false, reason: `${sizes} model size(s); need ≥ 2` };
  else if (collinear(curves)) {
    approach3 = {
      identifiable: false,
      reason: `${allTokens.size <= 1 ? oneSchedule : 'D is a fixed function of N across the runs'}, so A/N^α and B/D^β cannot be told apart`,
    };
  }
  return { sizes, schedulesPerSize, approach1, approach2, approach3 };
}

/** Whether the runs' final (ln N, ln D) lie on one line (or one of them does not vary). */
function collinear(curves: RunCurve[]): boolean {
  const x = curves.map((c) => Math.log(c.N));
  const y = curves.map((c) => Math.log(c.final.D));
  const mean = (v: number[]) => v.reduce((s, t) => s + t, 0) / v.length;
  const mx = mean(x);
  const my = mean(y);
  let sxx = 0;
  let syy = 0;
  let sxy = 0;
  for (let i = 0; i < x.length; i++) {
    sxx += (x[i]! - mx) ** 2;
    syy += (y[i]! - my) ** 2;
    sxy += (x[i]! - mx) * (y[i]! - my);
  }
  if (sxx < 1e-6 || syy < 1e-6) return true;
  return (sxy * sxy) / (sxx * syy) > 0.999;
}
