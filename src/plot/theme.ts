/**
 * Look and number formatting shared by every graph: size, font, colour-blind
 * safe palettes (Okabe–Ito for a few series, viridis for many or ordered ones),
 * and log-axis ticks that read as 1e15, 1e16 … or 1M, 10M ….
 */
import * as vega from 'vega';
import type { Config } from 'vega-lite';
import type { ColorDef, NumericArrayMarkPropDef, PositionDef } from 'vega-lite/types_unstable/channeldef.js';
import type { LayerSpec } from 'vega-lite/types_unstable/spec/layer.js';
import { FONT_FAMILY } from './fonts.ts';

/** vega-lite types for the encodings and layers the graphs share between layers. */
export type PositionEncoding = PositionDef<string>;
export type ColorEncoding = ColorDef<string>;
export type DashEncoding = NumericArrayMarkPropDef<string>;
export type Layer = LayerSpec<string>['layer'][number];
export type LayeredPanel = LayerSpec<string>;

export const WIDTH = 720;
export const HEIGHT = 450;
export const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';

/**
 * Okabe & Ito (2008) colour-blind-safe palette, black and yellow left out
 * (black marks the frontier lines; yellow is too faint on white).
 */
export const OKABE_ITO = ['#0072B2', '#E69F00', '#009E73', '#D55E00', '#CC79A7', '#56B4E9'] as const;
export const INK = '#111111';
export const MUTED = '#777777';

/** `n` colours evenly spaced along viridis over [from, to] (to < 1 leaves out the faint yellow end). */
export function viridis(n: number, from = 0, to = 0.85): string[] {
  const at = vega.scheme('viridis') as (t: number) => string;
  return Array.from({ length: n }, (_, i) => at(n === 1 ? from : from + ((to - from) * i) / (n - 1)));
}

/** Colour scale for `labels` in that order: Okabe–Ito up to 6 series, else viridis (dark → light). */
export function seriesColors(labels: string[]): { domain: string[]; range: string[] } {
  return { domain: labels, range: labels.length <= OKABE_ITO.length ? OKABE_ITO.slice(0, labels.length) : viridis(labels.length) };
}

/** Vega config: the shipped font everywhere, readable sizes, light grid. */
export function baseConfig(): Config {
  return {
    font: FONT_FAMILY,
    background: 'white',
    padding: 14,
    title: { fontSize: 17, anchor: 'start', offset: 12, subtitleFontSize: 12, subtitleColor: '#444', subtitlePadding: 5, color: INK },
    axis: {
      labelFontSize: 12,
      titleFontSize: 13,
      titleFontWeight: 'normal',
      titleColor: INK,
      labelColor: '#333',
      gridColor: '#e8e8e8',
      domainColor: '#999',
      tickColor: '#999',
      titlePadding: 10,
      labelOverlap: true,
    },
    legend: {
      labelFontSize: 12,
      titleFontSize: 12,
      titleColor: INK,
      labelColor: '#222',
      labelLimit: 460,
      titleLimit: 600,
      symbolSize: 110,
      symbolStrokeWidth: 2.5,
      rowPadding: 5,
      titlePadding: 6,
    },
    view: { stroke: '#bbb' },
    line: { strokeWidth: 2 },
  };
}

// ---- numbers as text --------------------------------------------------------

function trimZeros(s: string): string {
  return s.includes('.') ? s.replace(/0+$/, '').replace(/\.$/, '') : s;
}

/** 786432 -> "786K", 1.334e6 -> "1.33M", 2.7e9 -> "2.7B" (3 significant digits). */
export function fmtCount(n: number): string {
  if (!Number.isFinite(n)) return '–';
  for (const [u, s] of [[1e12, 'T'], [1e9, 'B'], [1e6, 'M'], [1e3, 'K']] as const) {
    if (Math.abs(n) >= u * 0.9995) return trimZeros((n / u).toPrecision(3)) + s;
  }
  return String(Math.round(n));
}

/** 1e15 -> "1e15", 2.5e16 -> "2.5e16" (significant digits `digits`). */
export function fmtSci(x: number, digits = 3): string {
  if (!Number.isFinite(x)) return '–';
  if (x === 0) return '0';
  const [m, e] = x.toExponential(digits - 1).split('e');
  return `${trimZeros(m!)}e${Number(e)}`;
}

/** 4 significant digits for moderate magnitudes (77.06, 0.3366), scientific otherwise (1.2e-5). */
export function fmtSig(x: number): string {
  if (!Number.isFinite(x)) return '–';
  const a = Math.abs(x);
  return a === 0 || (a >= 1e-3 && a < 1e5) ? trimZeros(x.toPrecision(4)).replace('-', '−') : fmtSci(x, 4).replace('-', '−');
}

/** "1 run", "4 runs" */
export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** Fixed decimals with a real minus sign: −0.136. */
export function fmtNum(x: number, decimals = 3): string {
  if (!Number.isFinite(x)) return '–';
  return x.toFixed(decimals).replace('-', '−');
}

/** Vega expressions for tick labels (the axis's `labelExpr`). */
export const LABEL_SCI = "replace(format(datum.value, '.2~e'), 'e+', 'e')";
export const LABEL_SI = "replace(replace(format(datum.value, '.3~s'), 'k', 'K'), 'G', 'B')";
export const LABEL_PLAIN = "format(datum.value, '.3~g')";

// ---- domains and ticks -------------------------------------------------------

/** [min, max] of the positive finite values, widened by `pad` of the span on each side in log space. */
export function logDomain(values: number[], pad = 0.04): [number, number] {
  const v = values.filter((x) => Number.isFinite(x) && x > 0);
  if (v.length === 0) return [1, 10];
  let lo = Math.log10(Math.min(...v));
  let hi = Math.log10(Math.max(...v));
  if (hi - lo < 1e-9) {
    lo -= 0.15;
    hi += 0.15;
  }
  const w = (hi - lo) * pad;
  return [10 ** (lo - w), 10 ** (hi + w)];
}

/** [min, max] of the finite values, widened by `pad` of the span on each side. */
export function linDomain(values: number[], pad = 0.04): [number, number] {
  const v = values.filter(Number.isFinite);
  if (v.length === 0) return [0, 1];
  let lo = Math.min(...v);
  let hi = Math.max(...v);
  if (hi - lo < 1e-12) {
    lo -= 0.5;
    hi += 0.5;
  }
  const w = (hi - lo) * pad;
  return [lo - w, hi + w];
}

/**
 * Tick values for a log axis over [lo, hi]: powers of ten when the range holds
 * ≥ 4 of them (every other one past 10 ticks), else 1-2-5 steps, else 1…9.
 */
export function logTicks(lo: number, hi: number): number[] {
  const k0 = Math.floor(Math.log10(lo));
  const k1 = Math.ceil(Math.log10(hi));
  const inRange = (mults: number[]) => {
    const out: number[] = [];
    for (let k = k0; k <= k1; k++) for (const m of mults) {
      const v = m * 10 ** k;
      if (v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9)) out.push(Number(v.toPrecision(12)));
    }
    return out;
  };
  const decades = inRange([1]);
  if (decades.length >= 4) {
    const stride = Math.ceil(decades.length / 10);
    return decades.filter((_, i) => i % stride === 0);
  }
  const oneTwoFive = inRange([1, 2, 5]);
  if (oneTwoFive.length >= 3) return oneTwoFive;
  const all = inRange([1, 2, 3, 4, 5, 6, 7, 8, 9]);
  if (all.length >= 2) return all;
  // a narrow range (e.g. N_opt over a short sweep): three log-spaced values, 2 significant digits
  return [0.15, 0.5, 0.85].map((t) => Number((lo * (hi / lo) ** t).toPrecision(2)));
}

/** About `count` round tick values (steps of 1, 2 or 5 × 10^k) inside [lo, hi]. */
export function niceTicks(lo: number, hi: number, count = 6): number[] {
  const raw = (hi - lo) / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step - 1e-9) * step; v <= hi + 1e-9 * step; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

/** Title of the compute axis for a FLOPs column. */
export function computeTitle(flops: string): string {
  const how: Record<string, string> = { flops_6nd: '6ND', flops_kaplan: 'Kaplan, 6N·D + attention', flops_chinchilla: 'Chinchilla, full count' };
  return `compute (FLOPs, ${how[flops] ?? flops})`;
}

export const LOSS_TITLE = 'validation loss (nats/token)';

/** x channel: compute on a log axis with ticks that read 1e15, 1e16, … */
export function logComputeX(domain: [number, number], flops: string, field = 'compute'): PositionEncoding {
  return {
    field,
    type: 'quantitative',
    title: computeTitle(flops),
    scale: { type: 'log', domain, nice: false },
    axis: { values: logTicks(...domain), labelExpr: LABEL_SCI },
  };
}

/** y channel: validation loss on a linear axis with plain tick labels. */
export function linLossY(domain: [number, number], field = 'loss'): PositionEncoding {
  return {
    field,
    type: 'quantitative',
    title: LOSS_TITLE,
    scale: { domain, nice: false, zero: false },
    axis: { values: niceTicks(...domain, 8), labelExpr: LABEL_PLAIN },
  };
}

/** y channel: validation loss on a log axis with plain tick labels. */
export function logLossY(domain: [number, number], field = 'loss'): PositionEncoding {
  return {
    field,
    type: 'quantitative',
    title: LOSS_TITLE + ', log scale',
    scale: { type: 'log', domain, nice: false },
    axis: { values: niceTicks(...domain, 8), labelExpr: LABEL_PLAIN },
  };
}

/** The top-level keys every graph shares: schema, size, theme, title. */
export function chartFrame(text: string, subtitle: string | string[]) {
  return { $schema: SCHEMA, width: WIDTH, height: HEIGHT, config: baseConfig(), title: { text, subtitle } };
}
