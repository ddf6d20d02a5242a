/**
 * Graph 4: IsoFLOP profiles (Chinchilla's Approach 2) — at each compute
 * budget, the runs' loss against parameter count, the fitted parabola
 * loss = p0 + p1·x + p2·x² in x = ln N, and its minimum (N_opt, L_opt).
 */
import type { TopLevelSpec } from 'vega-lite';
import type { FitReport, IsoFlopProfile, RunData } from '../../fit/types.ts';
import { paramsTitle } from '../series.ts';
import {
  INK, LABEL_SI, linLossY, fmtCount, fmtSci, linDomain, logDomain, logTicks, viridis, type Layer, type PositionEncoding, type ColorEncoding, chartFrame,
} from '../theme.ts';

export function isoflopSkipReason(report: FitReport): string | null {
  return report.approach2.profiles.length === 0
    ? 'no IsoFLOP profiles: the runs carry no budget_flops and no common compute budgets could be interpolated from their curves'
    : null;
}

function profileLabel(p: IsoFlopProfile): string {
  const c = p.budget_nominal !== undefined ? fmtSci(p.budget_nominal, 2) : fmtSci(p.budget, 3);
  const why = !p.parabola ? 'fewer than 3 sizes, no parabola' : p.parabola[2] <= 0 ? 'no minimum (parabola opens downward)' : 'minimum outside the sizes';
  return `C = ${c} FLOPs: ` + (p.n_opt !== null ? `N_opt = ${fmtCount(p.n_opt)}` : why);
}

/** The measured points of all profiles (one per run and budget). */
export function isoflopPoints(report: FitReport): { budget: string; params: number; loss: number; run: string }[] {
  return report.approach2.profiles.flatMap((p) =>
    p.points.filter((q) => q.params > 0 && Number.isFinite(q.loss)).map((q) => ({ budget: profileLabel(p), params: q.params, loss: q.loss, run: q.run })),
  );
}

export function isoflopSpec(_runs: RunData[], report: FitReport): TopLevelSpec {
  const profiles = [...report.approach2.profiles].sort((a, b) => a.budget - b.budget);
  const labels = profiles.map(profileLabel);
  const points = isoflopPoints(report);
  const curves = profiles.flatMap((p) => {
    if (!p.parabola || p.points.length === 0) return [];
    const [p0, p1, p2] = p.parabola;
    // drawn over the runs it was fitted to (its window in ln N), not extrapolated across the whole profile
    const fitted = p.window ? p.points.filter((q) => p.window!.runs.includes(q.run)) : p.points;
    const ns = (fitted.length ? fitted : p.points).map((q) => q.params).concat(p.n_opt ?? []);
    const lo = Math.log(Math.min(...ns) / 1.15);
    const hi = Math.log(Math.max(...ns) * 1.15);
    return Array.from({ length: 80 }, (_, i) => {
      const x = lo + ((hi - lo) * i) / 79;
      return { budget: profileLabel(p), params: Math.exp(x), loss: p0 + p1 * x + p2 * x * x };
    });
  });
  const minima = profiles
    .filter((p) => p.n_opt !== null && p.loss_opt !== null)
    .map((p) => ({ budget: profileLabel(p), params: p.n_opt!, loss: p.loss_opt!, kind: 'parabola minimum (N_opt, L_opt)' }));
  const nDomain = logDomain(points.map((p) => p.params).concat(minima.map((m) => m.params)), 0.12);
  const lDomain = linDomain(points.map((p) => p.loss).concat(minima.map((m) => m.loss)), 0.08);
  const x: PositionEncoding = {
    field: 'params',
    type: 'quantitative',
    title: paramsTitle(report.n) + ', log scale',
    scale: { type: 'log', domain: nDomain, nice: false },
    axis: { values: logTicks(...nDomain), labelExpr: LABEL_SI },
  };
  const y: PositionEncoding = linLossY(lDomain);
  const color: ColorEncoding = {
    field: 'budget',
    type: 'nominal',
    title: 'compute budget',
    scale: { domain: labels, range: viridis(labels.length, 0.05, 0.8) },
  };
  const source =
    report.approach2.source === 'isoflop' ? 'runs planned per budget (isoflop sweep)' : 'profiles interpolated from the training curves';
  // diamonds at the parabola minima (none when no profile has one: no empty legend entry)
  const minimaLayer: Layer[] =
    minima.length === 0
      ? []
      : [
          {
            name: 'minima',
            data: { values: minima },
            mark: { type: 'point', shape: 'diamond', filled: true, size: 230, stroke: INK, strokeWidth: 1.5, clip: true },
            encoding: {
              x,
              y,
              color,
              shape: { field: 'kind', type: 'nominal', title: null, scale: { domain: ['parabola minimum (N_opt, L_opt)'], range: ['diamond'] } },
            },
          },
        ];
  return {
    ...chartFrame(
      'IsoFLOP profiles (Approach 2)',
      `${profiles.length} budgets, ${source} · lines: parabola in ln N over its fitting window` + (minima.length > 0 ? ' · ◆ its minimum' : ''),
    ),
    layer: [
      { name: 'parabolas', data: { values: curves }, mark: { type: 'line', strokeWidth: 2, opacity: 0.9, clip: true }, encoding: { x, y, color } },
      { name: 'points', data: { values: points }, mark: { type: 'point', filled: true, size: 70, clip: true }, encoding: { x, y, color } },
      ...minimaLayer,
    ],
  };
}
