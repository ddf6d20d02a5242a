/**
 * The separability check of Approach 3 (src/fit/separability.ts): per-size slopes dL/d ln D
 * against the fitted law's, by hand on four points, on grids drawn from a separable law (passes)
 * and from one where larger models gain more per token (fails), and inside fitSweep, where a
 * failure makes Approach 3 "not identifiable" with the numbers as its reason.
 */
import { describe, expect, it } from 'vitest';
import { checkSeparability, MIN_SLOPE_GAP, type FinalLoss } from '../src/fit/separability.ts';
import { fitApproach3 } from '../src/fit/approach3.ts';
import { fitSweep, MAX_A_INTERVAL } from '../src/fit/sweep.ts';
import { loadSweep } from '../src/sweep/config.ts';
import { PROJECT_ROOT } from '../src/util/paths.ts';
import { Rng } from '../src/util/rng.ts';
import type { RunData } from '../src/fit/types.ts';
import { gridPoints, isoflopSweep, type Law } from './fixtures/fit/synthetic.ts';

const LAW: Law = { E: 1.8, A: 121, B: 1500, alpha: 0.3, beta: 0.4 };

describe('checkSeparability', () => {
  it('by hand: two sizes at two token counts', () => {
    // size 1e6: L 3.0 -> 2.9 over D 1e8 -> e·1e8 (slope −0.1); size 4e6: 2.8 -> 2.5 (slope −0.3)
    const e = Math.E;
    const pts: FinalLoss[] = [
      { N: 1e6, D: 1e8, L: 3.0, se: 0.003 },
      { N: 1e6, D: e * 1e8, L: 2.9, se: 0.004 },
      { N: 4e6, D: 1e8, L: 2.8, se: 0.003 },
      { N: 4e6, D: e * 1e8, L: 2.5, se: 0.004 },
    ];
    // B chosen so that the law's slope over [1e8, e·1e8] is exactly −0.1
    const law = { B: 0.1 / (1e8 ** -0.3 - (e * 1e8) ** -0.3), beta: 0.3 };
    const r = checkSeparability(pts, law)!;
    expect(r.sizes.map((s) => s.N)).toEqual([1e6, 4e6]);
    expect(r.sizes[0]!.slope).toBeCloseTo(-0.1, 12);
    expect(r.sizes[1]!.slope).toBeCloseTo(-0.3, 12);
    // two points: se of the slope = sqrt(se1² + se2²) / ln(D2/D1) = 0.005 / 1
    expect(r.sizes[0]!.slope_se).toBeCloseTo(0.005, 12);
    // the law's slope over [1e8, e·1e8]: B·(D_hi^−β − D_lo^−β) / 1, the same for both sizes
    const lawSlope = law.B * ((e * 1e8) ** -0.3 - 1e8 ** -0.3);
    expect(lawSlope).toBeCloseTo(-0.1, 12);
    expect(r.sizes[0]!.law_slope).toBeCloseTo(lawSlope, 12);
    expect(r.sizes[1]!.law_slope).toBeCloseTo(lawSlope, 12);
    // size 1e6 is on it, size 4e6 is 0.2 nats per e-fold off (40 standard errors)
    expect(r.separable).toBe(false);
    expect(r.summary).toMatch(/not separable.*1 of 2 sizes/);
  });

  it('no size with two schedule lengths: nothing to check', () => {
    expect(checkSeparability([{ N: 1e6, D: 1e8, L: 3, se: 0.01 }, { N: 2e6, D: 5e7, L: 3, se: 0.01 }], { B: 1, beta: 0.3 })).toBeNull();
  });

  it('passes on losses drawn from E + A/N^α + B/D^β (noise 0.003)', () => {
    const pts = gridPoints(LAW, [1e6, 3e6, 1e7, 3e7], [2e7, 6e7, 2e8], 0.003, 3).map((p) => ({ ...p, se: 0.003 }));
    const r = checkSeparability(pts, LAW)!;
    expect(r.sizes).toHaveLength(4);
    expect(r.separable).toBe(true);
    for (const s of r.sizes) expect(Math.abs(s.slope - s.law_slope)).toBeLessThan(MIN_SLOPE_GAP / 2);
  });

  it('fails where larger models gain more per token (an N·D interaction the law lacks)', () => {
    // L = law + 0.2·ln(N/1e6)·(2e7/D)^0.3: at 3e7 parameters the gain per e-fold of D is ~0.15 larger
    const pts = gridPoints(LAW, [1e6, 3e6, 1e7, 3e7], [2e7, 6e7, 2e8], 0.003, 3).map((p) => ({
      ...p,
      L: p.L + 0.2 * Math.log(p.N / 1e6) * (2e7 / p.D) ** 0.3,
      se: 0.003,
    }));
    const r = checkSeparability(pts, LAW)!;
    expect(r.separable).toBe(false);
    expect(r.sizes[3]!.slope).toBeLessThan(r.sizes[0]!.slope - 0.1);
  });
});

describe('fitSweep: a non-separable sweep leaves Approach 3 not identifiable', () => {
  // An IsoFLOP grid on a ladder (each size at several budgets), as configs/sweep-isoflop.json
  const LADDER = Array.from({ length: 20 }, (_, k) => Math.round(2e5 * 1.5 ** k));
  const grid = () => isoflopSweep(LAW, { budgets: [1e15, 3e15, 1e16, 3e16, 1e17], perBudget: 0, spread: 4, evals: 4, sigma: 0.003, seed: 4, ladder: LADDER });

  it('separable runs: checked, passed, Approach 3 identified', () => {
    const r = fitSweep(grid(), { n: 'total', grid: 'coarse', bootstrap: 20 });
    expect(r.approach3!.separability!.separable).toBe(true);
    expect(r.approach3!.separability!.sizes.length).toBeGreaterThanOrEqual(5);
    expect(r.approach3!.design!.identifiable).toBe(true);
  });

  it('runs with the interaction: "not identifiable", the reason names the slopes', () => {
    const runs: RunData[] = grid().map((run) => ({
      ...run,
      rows: run.rows.map((row) =>
        row.tokens > 0 ? { ...row, val_loss: row.val_loss + 0.3 * Math.log(run.info.params_total / 1e6) * (2e8 / row.tokens) ** 0.3 } : row,
      ),
    }));
    const r = fitSweep(runs, { n: 'total', grid: 'coarse', bootstrap: 20 });
    expect(r.approach3!.separability!.separable).toBe(false);
    expect(r.approach3!.design).toMatchObject({ identifiable: false });
    expect(r.approach3!.design!.reason).toMatch(/not separable in N and D: per size, dL\/d ln D runs from/);
    expect(r.agreement!.summary).toMatch(/left out as not identified: Approach 3/);
  });
});

// scaled to each design's measured losses (3.3–4.2 nats; 2.7–3.0 for the larger grid, 2.68–3.22 measured); α = β, so a = ½
for (const [file, runs, law] of [
  ['sweep-isoflop.json', 33, { E: 2.6, A: 25, B: 150, alpha: 0.4, beta: 0.4 }],
  ['sweep-isoflop-large.json', 30, { E: 1.7, A: 40, B: 300, alpha: 0.4, beta: 0.4 }],
] as const) {
  describe(`the IsoFLOP design of configs/${file} identifies Approach 3 when the runs follow the law`, () => {
    it(`its ${runs} (N, D) with losses from a separable law (a = ½) and the final evaluations' noise: a within 0.05, interval < 0.5`, () => {
      const plan = loadSweep(`${PROJECT_ROOT}/configs/${file}`);
      expect(plan.runs).toHaveLength(runs);
      const rng = new Rng(7);
      const pts = plan.runs.map((r) => {
        const L = law.E + law.A / r.params_total ** law.alpha + law.B / r.tokens ** law.beta + 0.003 * rng.normal();
        return { N: r.params_total, D: r.tokens, L, se: 0.003 };
      });
      const { fit } = fitApproach3(pts, { bootstrap: 40, seed: 1, grid: 'coarse', groups: pts.map((_, i) => i) });
      expect(Math.abs(fit!.a - 0.5)).toBeLessThan(0.05);
      expect(fit!.ci!.a![1] - fit!.ci!.a![0]).toBeLessThan(MAX_A_INTERVAL);
      expect(checkSeparability(pts, fit!)!.separable).toBe(true);
    });
  });
}
