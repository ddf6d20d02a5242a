/**
 * Chinchilla Approach 2 (Hoffmann et al. 2022, §3.2): IsoFLOP profiles. For
 * each compute budget C, fit a parabola to loss against ln N over the models
 * trained with that compute; its minimum gives N_opt(C) (and D_opt(C) from the
 * profile's tokens at that N). Power laws N_opt ∝ C^a, D_opt ∝ C^b are fitted
 * across budgets.
 *
 * Two sources of profiles:
 *  - isoflop sweeps (runs carry budget_flops): one point per run, its final
 *    evaluation, grouped by budget;
 *  - ordinary sweeps: each run's curve is interpolated (log-log) at a set of
 *    compute values, so every run that reached C contributes its (N, D, L) at C.
 */
import { interpolateAt, logspace, type RunCurve } from './curves.ts';
import { fitLine, fitParabola, fitPowerLaw } from './regression.ts';
import type { Approach2, FitBasis, IsoFlopProfile } from './types.ts';

export interface Approach2Options {
  /** ordinary sweeps: compute values to interpolate at; default `budgetCount` log-spaced over the range covered by ≥ 3 runs */
  budgets?: number[];
  /** default 8 */
  budgetCount?: number;
  basis?: FitBasis;
}

type ProfilePoint = IsoFlopProfile['points'][number];

/** Fit the parabola of one profile and read off its minimum. */
export function analyseProfile(budget: number, points: ProfilePoint[], budgetNominal?: number): IsoFlopProfile {
  const profile: IsoFlopProfile = {
    budget,
    ...(budgetNominal !== undefined ? { budget_nominal: budgetNominal } : {}),
    points: [...points].sort((a, b) => a.params - b.params),
    parabola: null,
    n_opt: null,
    d_opt: null,
    loss_opt: null,
  };
  const x = profile.points.map((p) => Math.log(p.params));
  const sizes = new Set(x).size;
  if (sizes < 3) {
    profile.note = `${sizes} model size(s) at this budget; need ≥ 3 for a parabola`;
    return profile;
  }
  const par = fitParabola(
    x,
    profile.points.map((p) => p.loss),
  );
  if (!par) {
    profile.note = 'parabola fit failed (degenerate points)';
    return profile;
  }
  profile.parabola = par;
  const [p0, p1, p2] = par;
  if (!(p2 > 0)) {
    profile.note = 'loss is not convex in ln N at this budget (no minimum)';
    return profile;
  }
  const xOpt = -p1 / (2 * p2);
  const xMin = Math.min(...x);
  const xMax = Math.max(...x);
  if (xOpt < xMin || xOpt > xMax) {
    profile.note =
      `minimum at N = ${Math.exp(xOpt).toPrecision(3)} lies outside the sampled sizes ` +
      `[${Math.exp(xMin).toPrecision(3)}, ${Math.exp(xMax).toPrecision(3)}]; not used`;
    return profile;
  }
  // D at N_opt: along a profile ln D is (close to) linear in ln N (D = C/(6N) for 6ND FLOPs).
  const dLine = fitLine(
    x,
    profile.points.map((p) => Math.log(p.tokens)),
  );
  profile.n_opt = Math.exp(xOpt);
  profile.d_opt = dLine ? Math.exp(dLine.intercept + dLine.slope * xOpt) : null;
  profile.loss_opt = p0 + p1 * xOpt + p2 * xOpt * xOpt;
  return profile;
}

/** Profiles from an isoflop sweep: runs grouped by budget_flops, each contributing its final evaluation. */
function isoflopProfiles(curves: RunCurve[]): IsoFlopProfile[] {
  const groups = new Map<string, RunCurve[]>();
  for (const c of curves) {
    if (c.budget_flops === undefined) continue;
    const key = c.budget_flops.toPrecision(6);
    groups.set(key, [...(groups.get(key) ?? []), c]);
  }
  const profiles: IsoFlopProfile[] = [];
  for (const group of groups.values()) {
    const finals = group.map((c) => ({ c, p: c.points[c.points.length - 1]! }));
    // The budget in the chosen FLOPs column: geometric mean of the runs' final compute.
    const budget = Math.exp(finals.reduce((s, f) => s + Math.log(f.p.C), 0) / finals.length);
    profiles.push(
      analyseProfile(
        budget,
        finals.map(({ c, p }) => ({ params: c.N, tokens: p.D, loss: p.L, run: c.run })),
        group[0]!.budget_flops,
      ),
    );
  }
  return profiles.sort((a, b) => a.budget - b.budget);
}

/** Compute range over which at least `k` runs have data (null if none). */
function coveredRange(curves: RunCurve[], k: number): [number, number] | null {
  // Coverage only changes at curve ends: scan the sorted start/end events.
  const events: [number, number][] = [];
  for (const c of curves) {
    events.push([c.points[0]!.C, +1], [c.points[c.points.length - 1]!.C, -1]);
  }
  events.sort((a, b) => a[0] - b[0] || b[1] - a[1]);
  let n = 0;
  let lo: number | null = null;
  let hi: number | null = null;
  for (const [C, d] of events) {
    const before = n;
    n += d;
    if (before < k && n >= k && lo === null) lo = C;
    if (before >= k && n < k) hi = C;
  }
  return lo !== null && hi !== null && hi > lo ? [lo, hi] : null;
}

function interpolatedProfiles(curves: RunCurve[], budgets: number[]): IsoFlopProfile[] {
  return budgets.map((C) => {
    const points: ProfilePoint[] = [];
    for (const c of curves) {
      const at = interpolateAt(c, C);
      if (at) points.push({ params: c.N, tokens: at.D, loss: at.L, run: c.run });
    }
    return analyseProfile(C, points);
  });
}

export function fitApproach2(curves: RunCurve[], o: Approach2Options = {}): Approach2 {
  const warnings: string[] = [];
  const withBudget = curves.filter((c) => c.budget_flops !== undefined);
  const source: Approach2['source'] = withBudget.length > 0 ? 'isoflop' : 'interpolated';
  let profiles: IsoFlopProfile[];
  if (source === 'isoflop') {
    if (withBudget.length < curves.length) {
      warnings.push(`approach 2: ${curves.length - withBudget.length} run(s) without budget_flops left out of the IsoFLOP profiles`);
    }
    profiles = isoflopProfiles(withBudget);
  } else {
    let budgets = o.budgets;
    if (!budgets) {
      const range = coveredRange(curves, 3);
      if (!range) {
        return {
          source,
          profiles: [],
          n_opt: null,
          d_opt: null,
          warnings: ['approach 2: no compute value is reached by ≥ 3 runs of different sizes; no IsoFLOP profiles'],
          basis: o.basis,
        };
      }
      // stay slightly inside the range so every profile keeps its ≥ 3 runs
      budgets = logspace(range[0] * 1.0001, range[1] / 1.0001, o.budgetCount ?? 8);
    }
    profiles = interpolatedProfiles(curves, budgets);
  }
  for (const p of profiles) {
    if (p.note) warnings.push(`approach 2: budget ${p.budget.toPrecision(3)} FLOPs: ${p.note}`);
  }
  const good = profiles.filter((p) => p.n_opt !== null && p.d_opt !== null);
  if (good.length < 2) {
    warnings.push(`approach 2: ${good.length} budget(s) with a usable minimum; need ≥ 2 for N_opt ∝ C^a`);
    return { source, profiles, n_opt: null, d_opt: null, warnings, basis: o.basis };
  }
  const C = good.map((p) => p.budget);
  return {
    source,
    profiles,
    n_opt: fitPowerLaw(C, good.map((p) => p.n_opt!)),
    d_opt: fitPowerLaw(C, good.map((p) => p.d_opt!)),
    warnings,
    basis: o.basis,
  };
}
