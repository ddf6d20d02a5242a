/**
 * Graph 6: the Approach-3 loss surface L(N, D) = E + A/N^α + B/D^β over
 * (N, D) on log axes — contour lines, iso-FLOP lines C = 6ND (straight lines
 * of slope −1), the efficient frontier (N_opt(C), D_opt(C)), and the runs.
 *
 * Contours are exact, not traced on a grid: for a level ℓ > E the contour is
 *   D(N) = ( B / (ℓ − E − A/N^α) )^(1/β)   wherever ℓ − E − A/N^α > 0,
 * a decreasing curve in N.
 */
import type { TopLevelSpec } from 'vega-lite';
import { predictLoss } from '../../fit/approach3.ts';
import { tokensForLoss } from '../../fit/laws.ts';
import type { Approach3, FitReport, RunData } from '../../fit/types.ts';
import { paramsOf, paramsTitle } from '../series.ts';
import {
  HEIGHT, INK, LABEL_SI, MUTED, WIDTH, fmtSci, fmtSig, logDomain, logTicks, niceTicks, viridis, type PositionEncoding, type ColorEncoding, type DashEncoding, chartFrame,
} from '../theme.ts';
import { approach3Law, approach3Optimum } from './optimalScaling.ts';

export function surfaceSkipReason(report: FitReport): string | null {
  if (report.approach3) return null;
  const why = report.warnings.find((w) => /approach 3/i.test(w));
  return 'no Approach-3 fit' + (why ? `: ${why}` : ' in fit.json');
}

type Law = Pick<Approach3, 'E' | 'A' | 'B' | 'alpha' | 'beta'>;

/** Points of the contour L(N, D) = level for N across [n0, n1] (log-spaced), keeping D within [d0, d1] widened 10×. */
export function contour(p: Law, level: number, [n0, n1]: [number, number], [d0, d1]: [number, number], samples = 240): { N: number; D: number }[] {
  const law = approach3Law(p);
  const out: { N: number; D: number }[] = [];
  for (let i = 0; i < samples; i++) {
    const N = n0 * (n1 / n0) ** (i / (samples - 1));
    const D = tokensForLoss(law, N, level); // (B / (ℓ − E − A/N^α))^(1/β), Infinity where unreachable
    if (D >= d0 / 10 && D <= d1 * 10) out.push({ N, D });
  }
  return out;
}

/** The runs as points: each run's parameter count and final token count. */
export function surfaceRunPoints(runs: RunData[], report: FitReport): { N: number; D: number; run: string }[] {
  return runs
    .map((r) => {
      const last = [...r.rows].reverse().find((x) => x.tokens > 0 && Number.isFinite(x.val_loss));
      return last ? { N: paramsOf(r, report.n), D: last.tokens, run: r.info.name } : null;
    })
    .filter((x): x is NonNullable<typeof x> => x !== null);
}

function distToSegment(p: { x: number; y: number }, a: { x: number; y: number }, b: { x: number; y: number }): number {
  const dx = b.x - a.x;
  const dy = b.y - a.y;
  const t = Math.max(0, Math.min(1, ((p.x - a.x) * dx + (p.y - a.y) * dy) / (dx * dx + dy * dy || 1)));
  return Math.hypot(p.x - a.x - t * dx, p.y - a.y - t * dy);
}

export const FRONTIER_LABEL = 'efficient frontier (N_opt, D_opt)';
export const ISOFLOP_LABEL = 'iso-FLOP line C = 6ND';

export function surfaceSpec(runs: RunData[], report: FitReport): TopLevelSpec {
  const fit = report.approach3;
  if (!fit) throw new Error('surfaceSpec needs report.approach3');
  const runPts = surfaceRunPoints(runs, report);
  const tokens = runs.flatMap((r) => r.rows.map((x) => x.tokens)).filter((t) => t > 0);
  // the view holds the runs and the compute-optimal point at the smallest and largest compute they reached,
  // so it shows how far the runs are from the frontier
  const finalC = report.runs.map((r) => r.compute).filter((c) => c > 0);
  const optima = finalC.length > 0 ? [Math.min(...finalC), Math.max(...finalC)].map((C) => approach3Optimum(fit, C)) : [];
  const nDomain = logDomain(runPts.map((p) => p.N).concat(optima.map((o) => o.N)), 0.12);
  const dDomain = logDomain(tokens.concat(runPts.map((p) => p.D), optima.map((o) => o.D)), 0.06);

  // ~8 round loss levels between the surface's lowest (largest N, D) and highest corner
  const lo = predictLoss(fit, nDomain[1], dDomain[1]);
  const hi = predictLoss(fit, nDomain[0], dDomain[0]);
  const levels = niceTicks(lo, hi, 8).filter((l) => l > lo && l < hi && l > fit.E);
  const fmtLevel = (l: number) => `L = ${Number(l.toPrecision(4))}`;
  const contours = levels.flatMap((l) => contour(fit, l, nDomain, dDomain).map((q) => ({ ...q, line: fmtLevel(l) })));

  // iso-FLOP lines: an isoflop sweep's budgets, else round compute values across the view
  const cLo = 6 * nDomain[0] * dDomain[0];
  const cHi = 6 * nDomain[1] * dDomain[1];
  const decades = logTicks(cLo, cHi).filter((c) => c > cLo && c < cHi);
  const budgets =
    report.approach2.source === 'isoflop' && report.approach2.profiles.length > 0
      ? [...new Set(report.approach2.profiles.map((p) => p.budget_nominal ?? p.budget))]
      : decades.filter((_, i) => i % Math.ceil(decades.length / 5) === 0); // at most 5 lines
  // a line D = C/(6N) has slope −1 in log-log; on screen that is this angle (degrees, clockwise)
  const pxPerDecadeN = WIDTH / Math.log10(nDomain[1] / nDomain[0]);
  const pxPerDecadeD = HEIGHT / Math.log10(dDomain[1] / dDomain[0]);
  const angle = (Math.atan2(pxPerDecadeD, pxPerDecadeN) * 180) / Math.PI;
  const frontier = Array.from({ length: 160 }, (_, i) => (cLo / 10) * ((cHi * 10) / (cLo / 10)) ** (i / 159))
    .map((C) => approach3Optimum(fit, C))
    .filter((o) => o.N >= nDomain[0] / 3 && o.N <= nDomain[1] * 3 && o.D >= dDomain[0] / 3 && o.D <= dDomain[1] * 3)
    .map((o) => ({ ...o, line: FRONTIER_LABEL }));

  // screen position (px) of (N, D), to keep the iso-FLOP labels clear of the runs and the frontier
  const px = (N: number, D: number) => ({ x: Math.log10(N / nDomain[0]) * pxPerDecadeN, y: HEIGHT - Math.log10(D / dDomain[0]) * pxPerDecadeD });
  const obstacles = [...runPts, ...frontier].map((p) => px(p.N, p.D));
  const isoLines: { N: number; D: number; budget: string; line: string }[] = [];
  const isoLabels: { N: number; D: number; text: string }[] = [];
  for (const C of budgets) {
    const n0 = Math.max(nDomain[0], C / (6 * dDomain[1]));
    const n1 = Math.min(nDomain[1], C / (6 * dDomain[0]));
    if (!(n0 < n1)) continue;
    const text = `C = ${fmtSci(C, 2)}`;
    for (const N of [n0, n1]) isoLines.push({ N, D: C / (6 * N), budget: text, line: ISOFLOP_LABEL });
    // the label runs along the line from its anchor; take the first place along the line where no run
    // circle or frontier point lies within 12 px of the label's extent (≈ 6.5 px per character)
    const len = 6.5 * text.length;
    const clear = (t: number) => {
      const N = n0 * (n1 / n0) ** t;
      const a = px(N, C / (6 * N));
      const unit = Math.hypot(pxPerDecadeN, pxPerDecadeD);
      const b = { x: a.x + (len * pxPerDecadeN) / unit, y: a.y + (len * pxPerDecadeD) / unit };
      // inside the frame, with room for the text above the line
      if (a.y < 16 || b.x > WIDTH - 4 || b.y > HEIGHT - 4) return false;
      return obstacles.every((o) => distToSegment(o, a, b) > 12);
    };
    const t = [0.04, 0.15, 0.3, 0.45, 0.6, 0.75].find(clear);
    if (t === undefined) continue; // no room on this line: the legend still explains it
    const N = n0 * (n1 / n0) ** t;
    isoLabels.push({ N, D: C / (6 * N), text });
  }

  // legend: the contour levels, then the guides that are drawn
  const guides = [...(frontier.length > 0 ? [FRONTIER_LABEL] : []), ...(isoLines.length > 0 ? [ISOFLOP_LABEL] : [])];
  const lines = [...levels.map(fmtLevel), ...guides];
  const color: ColorEncoding = {
    field: 'line',
    type: 'nominal',
    title: 'lines',
    scale: { domain: lines, range: [...viridis(levels.length), ...guides.map((g) => (g === FRONTIER_LABEL ? INK : MUTED))] },
    legend: { symbolType: 'stroke', symbolStrokeWidth: 2.5 },
  };
  const strokeDash: DashEncoding = {
    field: 'line',
    type: 'nominal',
    title: 'lines',
    scale: { domain: lines, range: lines.map((l) => (l === ISOFLOP_LABEL ? [5, 4] : [1, 0])) },
    legend: { symbolType: 'stroke', symbolStrokeWidth: 2.5 },
  };
  const x: PositionEncoding = {
    field: 'N',
    type: 'quantitative',
    title: paramsTitle(report.n) + ', log scale',
    scale: { type: 'log', domain: nDomain, nice: false },
    axis: { values: logTicks(...nDomain), labelExpr: LABEL_SI },
  };
  const y: PositionEncoding = {
    field: 'D',
    type: 'quantitative',
    title: 'training tokens D, log scale',
    scale: { type: 'log', domain: dDomain, nice: false },
    axis: { values: logTicks(...dDomain), labelExpr: LABEL_SI },
  };
  const ci = fit.ci?.alpha && fit.ci?.beta ? ` (CI α ${fit.ci.alpha.map((v) => v.toFixed(2)).join('–')}, β ${fit.ci.beta.map((v) => v.toFixed(2)).join('–')})` : '';
  return {
    ...chartFrame(
      'Approach 3: fitted loss surface L(N, D) = E + A/N^α + B/D^β',
      [
        `E = ${fmtSig(fit.E)}, A = ${fmtSig(fit.A)}, B = ${fmtSig(fit.B)}, α = ${fit.alpha.toFixed(3)}, β = ${fit.beta.toFixed(3)}${ci}, ` +
          `fitted on ${fit.points} points`,
        `frontier: N_opt ∝ C^${fit.a.toFixed(3)}, D_opt ∝ C^${fit.b.toFixed(3)} · circles: the runs (N, final D)`,
      ],
    ),
    layer: [
      {
        name: 'contours',
        data: { values: contours },
        mark: { type: 'line', strokeWidth: 1.8, clip: true },
        encoding: { x, y, color, strokeDash, order: { field: 'N', type: 'quantitative' } },
      },
      {
        name: 'isoflop',
        data: { values: isoLines },
        mark: { type: 'line', strokeWidth: 1.4, clip: true },
        encoding: { x, y, color, strokeDash, detail: { field: 'budget' } },
      },
      {
        name: 'isoflop_labels',
        data: { values: isoLabels },
        mark: { type: 'text', align: 'left', baseline: 'bottom', dy: -3, angle, fontSize: 11, color: MUTED, clip: true },
        encoding: { x, y, text: { field: 'text' } },
      },
      {
        name: 'frontier',
        data: { values: frontier },
        mark: { type: 'line', strokeWidth: 3.2, clip: true },
        encoding: { x, y, color, strokeDash, order: { field: 'N', type: 'quantitative' } },
      },
      {
        name: 'runs',
        data: { values: runPts },
        mark: { type: 'point', filled: true, fill: 'white', stroke: INK, strokeWidth: 1.6, size: 64, opacity: 1, clip: true },
        encoding: { x, y },
      },
    ],
  };
}
