/**
 * Graph 5: compute-optimal model size N_opt and data D_opt against compute,
 * N_opt ∝ C^a and D_opt ∝ C^b, as fitted by Approaches 1–3, beside the
 * published exponents: Chinchilla (Hoffmann et al. 2022, a ≈ b ≈ 0.5) and
 * Kaplan et al. (2020, a = 0.73, so b = 1 − a = 0.27 since D = C/(6N)).
 * The reference lines' slopes are the published ones; they are drawn through
 * the centre of this sweep's points (their offset carries no information).
 */
import type { TopLevelSpec } from 'vega-lite';
import { PUBLISHED_A, chinchillaLaw, computeOptimal, type ChinchillaLaw } from '../../fit/laws.ts';
import type { Approach3, FitReport, RunData, ScalingExponent } from '../../fit/types.ts';
import { paramsTitle } from '../series.ts';
import {
  INK, LABEL_SCI, LABEL_SI, SCHEMA, WIDTH, baseConfig, computeTitle, logDomain, logTicks, type LayeredPanel, type PositionEncoding, type ColorEncoding, type DashEncoding,
} from '../theme.ts';

const CHINCHILLA_A = PUBLISHED_A.chinchilla;
const KAPLAN_A = PUBLISHED_A.kaplan;

/** Approach 3's compute-optimal allocation under C = 6ND (Hoffmann et al. 2022, eq. 4, in laws.ts). */
export function approach3Optimum(p: Pick<Approach3, 'E' | 'A' | 'B' | 'alpha' | 'beta'>, C: number): { N: number; D: number } {
  return computeOptimal(approach3Law(p), C);
}

/** The fitted Approach-3 parameters as a law of src/fit/laws.ts. */
export function approach3Law(p: Pick<Approach3, 'E' | 'A' | 'B' | 'alpha' | 'beta'>): ChinchillaLaw {
  return chinchillaLaw(p);
}

/** The point markers' own legend (the colour/dash legend shows lines only). */
export const MARKERS = ['Approach 1: envelope points (lowest loss at each compute)', 'Approach 2: IsoFLOP minima (parabola vertices)'] as const;

export function optimalScalingSkipReason(report: FitReport): string | null {
  const anything =
    report.approach1.envelope.length > 0 || report.approach2.profiles.some((p) => p.n_opt !== null) || report.approach3 !== null;
  return anything ? null : 'no compute-optimal points: Approach 1 has no envelope, Approach 2 no minima and Approach 3 no fit';
}

const fmtR2 = (e: ScalingExponent) => `R² ${e.r2.toFixed(2)}`;

interface Row {
  series: string;
  compute: number;
  value: number;
}

function geoMean(v: number[]): number {
  return Math.exp(v.reduce((s, x) => s + Math.log(x), 0) / v.length);
}

/** The points and lines of both panels; `labels` are shared so one legend serves both. */
export function optimalScalingData(report: FitReport) {
  const a1 = report.approach1;
  const a2 = report.approach2;
  const a3 = report.approach3;
  const exps = (n: ScalingExponent | null, d: ScalingExponent | null) =>
    [n ? `a = ${n.exponent.toFixed(3)} (${fmtR2(n)})` : null, d ? `b = ${d.exponent.toFixed(3)} (${fmtR2(d)})` : null].filter(Boolean).join(', ');
  // a fit the sweep's design does not identify is still drawn, but its label says so (report.md gives the reason)
  const unidentified = (d: { identifiable: boolean } | undefined) => (d && !d.identifiable ? ' (NOT IDENTIFIABLE)' : '');
  const L1 = `Approach 1, envelope` + (a1.n_opt || a1.d_opt ? `: ${exps(a1.n_opt, a1.d_opt)}${unidentified(a1.design)}` : ' (no fit)');
  const L2 = `Approach 2, IsoFLOP minima` + (a2.n_opt || a2.d_opt ? `: ${exps(a2.n_opt, a2.d_opt)}${unidentified(a2.design)}` : ' (no fit)');
  const L3 = a3 ? `Approach 3, parametric: a = ${a3.a.toFixed(3)}, b = ${a3.b.toFixed(3)}${unidentified(a3.design)}` : 'Approach 3 (no fit)';
  const LC = `Chinchilla: a ≈ b ≈ ${CHINCHILLA_A.toFixed(2)}`;
  const LK = `Kaplan et al.: a = ${KAPLAN_A.toFixed(2)}, b = ${(1 - KAPLAN_A).toFixed(2)}`;

  const pts = (which: 'N' | 'D'): Row[] => [
    ...a1.envelope.filter((e) => e.compute > 0).map((e) => ({ series: L1, compute: e.compute, value: which === 'N' ? e.params : e.tokens })),
    ...a2.profiles
      .filter((p) => p.n_opt !== null && p.d_opt !== null)
      .map((p) => ({ series: L2, compute: p.budget, value: which === 'N' ? p.n_opt! : p.d_opt! })),
  ];
  const computes = [...pts('N').map((r) => r.compute)];
  if (computes.length === 0) computes.push(...report.runs.map((r) => r.compute).filter((c) => c > 0));
  const cDomain = logDomain(computes, 0.05);
  const ends = [cDomain[0], cDomain[1]];
  const grid = Array.from({ length: 40 }, (_, i) => cDomain[0] * (cDomain[1] / cDomain[0]) ** (i / 39));
  const powerLaw = (label: string, e: ScalingExponent | null): Row[] =>
    e ? ends.map((c) => ({ series: label, compute: c, value: e.coefficient * c ** e.exponent })) : [];

  const panel = (which: 'N' | 'D') => {
    const points = pts(which);
    const lines: Row[] = [
      ...powerLaw(L1, which === 'N' ? a1.n_opt : a1.d_opt),
      ...powerLaw(L2, which === 'N' ? a2.n_opt : a2.d_opt),
      ...(a3 ? grid.map((c) => ({ series: L3, compute: c, value: approach3Optimum(a3, c)[which] })) : []),
    ];
    // reference slopes through the centre of the points (else of the fitted lines)
    const centre = points.length > 0 ? points : lines;
    const refs: Row[] = [];
    if (centre.length > 0) {
      const c0 = geoMean(centre.map((r) => r.compute));
      const v0 = geoMean(centre.map((r) => r.value));
      const kaplan = which === 'N' ? KAPLAN_A : 1 - KAPLAN_A;
      for (const [label, e] of [[LC, CHINCHILLA_A], [LK, kaplan]] as const) {
        for (const c of ends) refs.push({ series: label, compute: c, value: v0 * (c / c0) ** e });
      }
    }
    return { points, lines: [...lines, ...refs] };
  };
  return { labels: [L1, L2, L3, LC, LK], cDomain, N: panel('N'), D: panel('D') };
}

export function optimalScalingSpec(_runs: RunData[], report: FitReport): TopLevelSpec {
  const d = optimalScalingData(report);
  const [L1, L2, , LC, LK] = d.labels as [string, string, string, string, string];
  // legend entries only for what is drawn (an approach without points or fit is left out)
  const style: Record<string, [string, number[]]> = {
    [d.labels[0]!]: ['#0072B2', [1, 0]],
    [d.labels[1]!]: ['#D55E00', [1, 0]],
    [d.labels[2]!]: ['#009E73', [1, 0]],
    [LC]: ['#555555', [8, 5]],
    [LK]: ['#CC79A7', [2, 3]],
  };
  const drawn = new Set([...d.N.points, ...d.N.lines, ...d.D.points, ...d.D.lines].map((r) => r.series));
  const shown = d.labels.filter((l) => drawn.has(l));
  // colour and dash share one legend: same field, title and legend layout
  const legendShared = {
    field: 'series',
    type: 'nominal',
    title: 'fitted exponents (N_opt ∝ C^a, D_opt ∝ C^b)',
    legend: { orient: 'bottom', direction: 'vertical', columns: 1, titleLimit: 700, symbolType: 'stroke', symbolSize: 300 },
  } as const;
  const color: ColorEncoding = { ...legendShared, scale: { domain: shown, range: shown.map((l) => style[l]![0]) } };
  const dash: DashEncoding = { ...legendShared, scale: { domain: shown, range: shown.map((l) => style[l]![1]) } };
  const x: PositionEncoding = {
    field: 'compute',
    type: 'quantitative',
    title: computeTitle(report.flops),
    scale: { type: 'log', domain: d.cDomain, nice: false },
    axis: { values: logTicks(...d.cDomain), labelExpr: LABEL_SCI },
  };
  const panel = (which: 'N' | 'D'): LayeredPanel => {
    const p = d[which];
    const vDomain = logDomain(p.points.map((r) => r.value).concat(p.lines.filter((r) => r.series !== LC && r.series !== LK).map((r) => r.value)), 0.1);
    const y: PositionEncoding = {
      field: 'value',
      type: 'quantitative',
      title: which === 'N' ? paramsTitle(report.n, 'N_opt') : 'training tokens D_opt',
      scale: { type: 'log', domain: vDomain, nice: false },
      axis: { values: logTicks(...vDomain), labelExpr: LABEL_SI },
    };
    const pointsOf = (label: string, marker: string) => p.points.filter((r) => r.series === label).map((r) => ({ ...r, marker }));
    const shape = {
      field: 'marker',
      type: 'nominal',
      title: 'points',
      scale: { domain: [...MARKERS], range: ['circle', 'square'] },
      legend: { orient: 'bottom', direction: 'vertical', columns: 1, labelLimit: 700 },
    } as const;
    return {
      width: WIDTH,
      height: 250,
      title: { text: which === 'N' ? 'compute-optimal model size N_opt' : 'compute-optimal training tokens D_opt', fontSize: 14 },
      layer: [
        { name: `${which}_lines`, data: { values: p.lines }, mark: { type: 'line', strokeWidth: 2.2, clip: true }, encoding: { x, y, color, strokeDash: dash } },
        {
          name: `${which}_envelope`,
          data: { values: pointsOf(L1, MARKERS[0]) },
          mark: { type: 'point', filled: true, size: 16, opacity: 0.45, clip: true },
          encoding: { x, y, color, shape },
        },
        {
          name: `${which}_minima`,
          data: { values: pointsOf(L2, MARKERS[1]) },
          mark: { type: 'point', filled: true, size: 110, stroke: INK, strokeWidth: 1, clip: true },
          encoding: { x, y, color, shape },
        },
      ],
    };
  };
  return {
    $schema: SCHEMA,
    config: baseConfig(),
    title: {
      text: 'Compute-optimal allocation: N_opt and D_opt against compute',
      subtitle: 'grey dashed / pink dotted: published exponents, drawn through the centre of this sweep’s points (offset arbitrary)',
    },
    vconcat: [panel('N'), panel('D')],
    spacing: 28,
  };
}
