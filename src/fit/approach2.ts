/**
 * Chinchilla Approach 2 (Hoffmann et al. 2022, §3.2): IsoFLOP profiles. For
 * each compute budget C, fit a parabola to loss against ln N over the models
 * around the profile's lowest loss (a window in ln N: every model within
 * `window` of it, and at least its two neighbours), not over the whole profile:
 * far from the minimum a profile is not a parabola, and its far ends would pull
 * the vertex. The vertex gives N_opt(C) (and D_opt(C) from the profile's
 * tokens at that N). A profile whose lowest loss is at its smallest or largest
 * model does not bracket its minimum: it is reported as such and left out.
 * Power laws N_opt ∝ C^a, D_opt ∝ C^b are fitted across budgets.
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
  /** half-width in ln N of the parabola window around each profile's lowest loss; default DEFAULT_WINDOW_LN_N */
  window?: number;
  basis?: FitBasis;
}

/**
 * ln 2: models within 2× of the best one (and at least its two neighbours). On the laptop
 * IsoFLOP sweep a wider window (ln 3) reached the steep large-model side of the top budget's
 * profile and pushed its vertex below the smallest model; ln 2 keeps the parabola local.
 */
export const DEFAULT_WINDOW_LN_N = Math.log(2);

type ProfilePoint = IsoFlopProfile['points'][number];

/** Fit the parabola of one profile and read off its minimum. */
export function analyseProfile(budget: number, points: ProfilePoint[], budgetNominal?: number, window = DEFAULT_WINDOW_LN_N): IsoFlopProfile {
  const profile: IsoFlopProfile = {
    budget,
    ...(budgetNominal !== undefined ? { budget_nominal: budgetNominal } : {}),
    points: [...points].sort((a, b) => a.params - b.params),
    parabola: null,
    n_opt: null,
    d_opt: null,
    loss_opt: null,
  };
  const xAll = profile.points.map((p) => Math.log(p.params));
  const sizes = new Set(xAll).size;
  if (sizes < 3) {
    profile.note = `${sizes} model size(s) at this budget; need ≥ 3 for a parabola`;
    return profile;
  }
  // the lowest loss, and whether the profile brackets it
  let iMin = 0;
  profile.points.forEach((p, i) => {
    if (p.loss < profile.points[iMin]!.loss) iMin = i;
  });
  const xs = [...new Set(xAll)].sort((a, b) => a - b);
  const k = xs.indexOf(xAll[iMin]!);
  if (k === 0 || k === xs.length - 1) {
    profile.edge_minimum = k === 0 ? 'smallest' : 'largest';
    profile.note =
      `lowest loss at the ${profile.edge_minimum} model (N = ${profile.points[iMin]!.params.toPrecision(3)}): ` +
      `the profile does not bracket its minimum; left out (add ${k === 0 ? 'smaller' : 'larger'} models at this budget)`;
    return profile;
  }
  // window: within `window` of the best ln N, and at least its two neighbouring sizes
  const lo = Math.min(xs[k - 1]!, xs[k]! - window);
  const hi = Math.max(xs[k + 1]!, xs[k]! + window);
  const inWindow = profile.points.filter((_, i) => xAll[i]! >= lo - 1e-12 && xAll[i]! <= hi + 1e-12);
  profile.window = { ln_n_half_width: window, runs: inWindow.map((p) => p.run) };
  const x = inWindow.map((p) => Math.log(p.params));
  const par = fitParabola(
    x,
    inWindow.map((p) => p.loss),
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
    inWindow.map((p) => Math.log(p.tokens)),
  );
  profile.n_opt = Math.exp(xOpt);
  profile.d_opt = dLine ? Math.exp(dLine.intercept + dLine.slope * xOpt) : null;
  profile.loss_opt = p0 + p1 * xOpt + p2 * xOpt * xOpt;
  return profile;
}

/** Profiles from an isoflop sweep: runs grouped by budget_flops, each contributing its final evaluation. */
function isoflopProfiles(curves: RunCurve[], window: number): IsoFlopProfile[] {
  const groups = new Map<string, RunCurve[]>();
  for (const c of curves) {
    if (c.budget_flops === undefined) continue;
    const key = c.budget_flops.toPrecision(6);
    groups.set(key, [...(groups.get(key) ?? []), c]);
  }
  const profiles: IsoFlopProfile[] = [];
  for (const group of groups.values()) {
    const finals = group.map((c) => ({ c, p: c.final }));
    // The budget in the chosen FLOPs column: geometric mean of the runs' final compute.
    const budget = Math.exp(finals.reduce((s, f) => s + Math.log(f.p.C), 0) / finals.length);
    profiles.push(
      analyseProfile(
        budget,
        finals.map(({ c, p }) => ({ params: c.N, tokens: p.D, loss: p.L, run: c.run })),
        group[0]!.budget_flops,
        window,
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

function interpolatedProfiles(curves: RunCurve[], budgets: number[], window: number): IsoFlopProfile[] {
  return budgets.map((C) => {
    const points: ProfilePoint[] = [];
    for (const c of curves) {
      const at = interpolateAt(c, C);
      if (at) points.push({ params: c.N, tokens: at.D, loss: at.L, run: c.run });
    }
    return analyseProfile(C, points, undefined, window);
  });
}

export function fitApproach2(curves: RunCurve[], o: Approach2Options = {}): Approach2 {
  const warnings: string[] = [];
  const window = o.window ?? DEFAULT_WINDOW_LN_N;
  const withBudget = curves.filter((c) => c.budget_flops !== undefined);
  const source: Approach2['source'] = withBudget.length > 0 ? 'isoflop' : 'interpolated';
  let profiles: IsoFlopProfile[];
  if (source === 'isoflop') {
    if (withBudget.length < curves.length) {
      warnings.push(`approach 2: ${curves.length - withBudget.length} run(s) without budget_flops left out of the IsoFLOP profiles`);
    }
    profiles = isoflopProfiles(withBudget, window);
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
          window_ln_n: window,
          basis: o.basis,
        };
      }
      // stay slightly inside the range so every profile keeps its ≥ 3 runs
      budgets = logspace(range[0] * 1.0001, range[1] / 1.0001, o.budgetCount ?? 8);
    }
    profiles = interpolatedProfiles(curves, budgets, window);
  }
  for (const p of profiles) {
    if (p.note) warnings.push(`approach 2: budget ${p.budget.toPrecision(3)} FLOPs: ${p.note}`);
  }
  const good = profiles.filter((p) => p.n_opt !== null && p.d_opt !== null);
  if (good.length < 2) {
    warnings.push(`approach 2: ${good.length} budget(s) with a usable minimum; need ≥ 2 for N_opt ∝ C^a`);
    return { source, profiles, n_opt: null, d_opt: null, window_ln_n: window, warnings, basis: o.basis };
  }
  const C = good.map((p) => p.budget);
  return {
    source,
    profiles,
    n_opt: fitPowerLaw(C, good.map((p) => p.n_opt!)),
    d_opt: fitPowerLaw(C, good.map((p) => p.d_opt!)),
    window_ln_n: window,
    warnings,
    basis: o.basis,
  };
}
