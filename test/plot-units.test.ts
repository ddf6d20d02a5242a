/**
 * The pieces behind the graphs: font metrics read from the shipped TTF, text
 * drawn with no system fonts, tick values and number formats, and the closed
 * forms of graph 6 (exact contours, compute-optimal frontier).
 */
import { readFileSync } from 'node:fs';
import * as vega from 'vega';
import { describe, expect, it } from 'vitest';
import { predictLoss } from '../src/fit/index.ts';
import { approach3Optimum } from '../src/plot/graphs/optimalScaling.ts';
import { contour } from '../src/plot/graphs/surface.ts';
import { FONT_FILES, FontMetrics, plotFonts, useFontMetricsInVega } from '../src/plot/fonts.ts';
import { rasterise, renderSvg } from '../src/plot/render.ts';
import { LABEL_SCI, LABEL_SI, fmtCount, fmtNum, fmtSci, fmtSig, logTicks, niceTicks } from '../src/plot/theme.ts';

describe('font metrics from DejaVu Sans', () => {
  // advance widths in the font's hmtx table (unitsPerEm 2048): i = 569, H = 1540, e = 1260, l = 569, o = 1253
  it('reads advance widths through cmap and hmtx', () => {
    const { regular } = plotFonts();
    expect(regular.width('i')).toBe(569 / 2048);
    expect(regular.width('iiii')).toBe((4 * 569) / 2048);
    expect(regular.width('Hello')).toBe((1540 + 1260 + 569 + 569 + 1253) / 2048);
    expect(regular.width('')).toBe(0);
  });

  it('has separate bold metrics and the glyphs the graphs use (α β ≈ ² − ◆)', () => {
    const { regular, bold } = plotFonts();
    expect(bold.width('Hello')).toBeGreaterThan(regular.width('Hello'));
    const notdef = regular.width('\u{10FFFD}'); // a private-use code point the font lacks
    for (const ch of ['α', 'β', '≈', '²', '−', '◆', '∝']) expect(regular.width(ch), ch).not.toBe(notdef);
  });

  it('is what vega measures text with', () => {
    useFontMetricsInVega();
    const tm = (vega as unknown as { textMetrics: { width(item: object, text: string): number } }).textMetrics;
    expect(tm.width({ fontSize: 10 }, 'iiii')).toBeCloseTo((10 * 4 * 569) / 2048, 12);
    expect(tm.width({ fontSize: 10, fontWeight: 'bold' }, 'Hello')).toBeCloseTo(10 * new FontMetrics(readFileSync(FONT_FILES.bold)).width('Hello'), 12);
  });
});

/** Pixels darker than mid-grey in an RGBA buffer. */
function darkPixels(rgba: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < rgba.length; i += 4) if (rgba[i]! + rgba[i + 1]! + rgba[i + 2]! < 384) n++;
  return n;
}

describe('rasterising with no system fonts', () => {
  const svg = (family: string) =>
    `<svg xmlns="http://www.w3.org/2000/svg" width="120" height="50"><text x="5" y="38" font-family="${family}" font-size="32">Hg</text></svg>`;

  it('draws text in the shipped font, and falls back to it for unknown families', () => {
    const dejavu = rasterise(svg('DejaVu Sans'), 1);
    expect(dejavu.width).toBe(120);
    expect(darkPixels(dejavu.pixels)).toBeGreaterThan(200); // glyphs drawn, not an empty box
    // an unknown family and generic sans-serif both resolve to DejaVu Sans: the same pixels
    expect(Buffer.from(rasterise(svg('No Such Font'), 1).pixels).equals(Buffer.from(dejavu.pixels))).toBe(true);
    expect(Buffer.from(rasterise(svg('sans-serif'), 1).pixels).equals(Buffer.from(dejavu.pixels))).toBe(true);
  });
});

describe('ticks and number formats', () => {
  it('puts log ticks on decades when there are ≥ 4, else on 1-2-5, else on 1…9', () => {
    expect(logTicks(5e13, 2e17)).toEqual([1e14, 1e15, 1e16, 1e17]);
    expect(logTicks(1e12, 3e14)).toEqual([1e12, 2e12, 5e12, 1e13, 2e13, 5e13, 1e14, 2e14]);
    expect(logTicks(3.2, 7.7)).toEqual([4, 5, 6, 7]);
    // a range with at most one 1…9 × 10^k value (graph 5's N_opt panel in a short sweep) still gets labels
    expect(logTicks(1.21e5, 1.79e5)).toEqual([1.3e5, 1.5e5, 1.7e5]);
    expect(logTicks(1.5e5, 2.5e5).length).toBeGreaterThanOrEqual(2);
    expect(logTicks(1e3, 1e30).length).toBeLessThanOrEqual(10);
  });

  it('picks round linear ticks', () => {
    expect(niceTicks(3.93, 7.07, 8)).toEqual([4, 4.5, 5, 5.5, 6, 6.5, 7]);
    expect(niceTicks(0, 1000, 8)).toEqual([0, 200, 400, 600, 800, 1000]);
  });

  it('formats counts, compute and signed numbers', () => {
    expect(fmtCount(786432)).toBe('786K');
    expect(fmtCount(1334016)).toBe('1.33M');
    expect(fmtCount(999999)).toBe('1M');
    expect(fmtCount(2.7e9)).toBe('2.7B');
    expect(fmtCount(512)).toBe('512');
    expect(fmtSci(1e15)).toBe('1e15');
    expect(fmtSci(2.5e16)).toBe('2.5e16');
    expect(fmtSci(7152842212700)).toBe('7.15e12');
    expect(fmtNum(-0.1364)).toBe('−0.136');
    expect(fmtSig(77.0586)).toBe('77.06');
    expect(fmtSig(1.2e-5)).toBe('1.2e−5');
  });

  it('labels log axes as 1e15 and parameter axes as 786K / 1M / 1B', async () => {
    const axis = (values: number[], labelExpr: string) =>
      renderSvg({
        width: 300,
        height: 40,
        data: { values: values.map((v) => ({ v })) },
        mark: 'tick',
        encoding: { x: { field: 'v', type: 'quantitative', scale: { type: 'log' }, axis: { values, labelExpr, labelOverlap: false } } },
      });
    const texts = (svg: string) => [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]);
    expect(texts((await axis([1e15, 1e16, 2.5e17], LABEL_SCI)).svg)).toEqual(['1e15', '1e16', '2.5e17', 'v']);
    expect(texts((await axis([786432, 1e6, 1.5e9], LABEL_SI)).svg)).toEqual(['786K', '1M', '1.5B', 'v']);
  });
});

describe('graph 6 closed forms', () => {
  const law = { E: 2.0, A: 80, B: 120, alpha: 0.34, beta: 0.28 }; // the fixtures' law

  it('traces contours exactly: every point has L(N, D) = level, D falling as N grows', () => {
    for (const level of [3, 3.5, 5]) {
      const pts = contour(law, level, [1e5, 1e8], [1e6, 1e10]);
      expect(pts.length).toBeGreaterThan(20);
      for (const p of pts) expect(predictLoss(law, p.N, p.D)).toBeCloseTo(level, 9);
      for (let i = 1; i < pts.length; i++) expect(pts[i]!.D).toBeLessThan(pts[i - 1]!.D);
    }
    // below E + A/N^α no D reaches the level: no points
    expect(contour(law, 2.0, [1e5, 1e8], [1e6, 1e10])).toEqual([]);
  });

  it('puts the frontier on C = 6ND at the loss minimum, growing as C^a with a = β/(α+β)', () => {
    const C = 1e16;
    const { N, D } = approach3Optimum(law, C);
    expect(6 * N * D).toBeCloseTo(C, -4);
    const onBudget = (n: number) => predictLoss(law, n, C / (6 * n));
    expect(onBudget(N)).toBeLessThan(onBudget(N * 1.05));
    expect(onBudget(N)).toBeLessThan(onBudget(N / 1.05));
    const a = law.beta / (law.alpha + law.beta);
    expect(approach3Optimum(law, 10 * C).N / N).toBeCloseTo(10 ** a, 10);
    // the fixtures' comment: N_opt(1e16) ≈ 5.3M
    expect(N / 1e6).toBeCloseTo(5.3, 1);
  });
});
