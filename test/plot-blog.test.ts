/**
 * The blog's graphs: the per-model least-squares line of log10 L on log10 C (step 0
 * excluded) against closed forms, and the legend text plot.py writes.
 */
import { describe, expect, it } from 'vitest';
import type { FitReport, MetricRow, RunData } from '../src/fit/types.ts';
import { blogFitLabel, blogFits, blogLossVsComputeSpec, blogLossVsStepSpec, scheduledRows } from '../src/plot/graphs/blog.ts';
import { renderSvg } from '../src/plot/render.ts';

function run(name: string, N: number, loss: (C: number, step: number) => number): RunData {
  const rows: MetricRow[] = [0, 50, 100, 150, 200].map((step) => {
    const tokens = step * 32 * 256;
    const C = 6 * N * tokens;
    return { step, tokens, flops_6nd: C, flops_kaplan: C, flops_chinchilla: C, train_loss: NaN, val_loss: loss(C, step), lr: 3e-4, elapsed_s: step, tokens_per_s: 1 } as MetricRow;
  });
  return { dir: `/x/${name}`, info: { name, status: 'finished', params_total: N, params_non_embedding: N / 10, model: { vocab_size: 50257, context: 256, d_model: 64, n_layers: 4, n_heads: 4 }, train: { steps: 200, batch: 32, lr: 3e-4 } }, rows };
}

// exact power laws after step 0; step 0 (C = 0) has some loss that must not enter the fit
const runs = [
  run('small', 6_698_833, (C, s) => (s === 0 ? 10.5 : 40 * C ** -0.08)),
  run('large', 30_581_841, (C, s) => (s === 0 ? 10.2 : 90 * C ** -0.12)),
];
const report = { runs: [], n: 'total', flops: 'flops_6nd', per_run: [] } as unknown as FitReport;

describe("the blog's loss-vs-compute fit", () => {
  it('recovers each power law exactly from the rows after step 0', () => {
    const fits = blogFits(runs);
    expect(fits.map((f) => f.run)).toEqual(['small', 'large']);
    expect(fits[0]!.slope).toBeCloseTo(-0.08, 12);
    expect(fits[0]!.intercept).toBeCloseTo(Math.log10(40), 10);
    expect(fits[1]!.slope).toBeCloseTo(-0.12, 12);
    expect(fits.every((f) => f.points === 4 && Math.abs(f.r2 - 1) < 1e-12)).toBe(true);
    expect(fits[0]!.c_min).toBe(6 * 6_698_833 * 50 * 32 * 256);
  });

  it('R² is that of a line fitted in log10 space (hand-computed for three points)', () => {
    // log10 C = 1, 2, 3 and log10 L = 1, 3, 2: slope 0.5, intercept 1, fitted 1.5, 2, 2.5; SS_res 1.5, SS_tot 2 -> R² 0.25
    const r = run('h', 1, () => 1);
    r.rows = [1, 2, 3].map((lc, i) => ({ ...r.rows[i + 1]!, flops_6nd: 10 ** lc, val_loss: 10 ** [1, 3, 2][i]! }));
    const [f] = blogFits([r]);
    expect(f!.slope).toBeCloseTo(0.5, 12);
    expect(f!.intercept).toBeCloseTo(1, 12);
    expect(f!.r2).toBeCloseTo(0.25, 12);
  });

  it('labels the legend as plot.py does and draws both graphs', async () => {
    const [f] = blogFits(runs);
    expect(blogFitLabel('6.70M params · small', f)).toBe('6.70M params · small (slope=-0.080, R²=1.000)');
    const svg = (await renderSvg(blogLossVsComputeSpec(runs, report))).svg;
    expect(svg).toContain('slope=-0.080, R²=1.000');
    expect(svg).toContain('slope=-0.120, R²=1.000');
    const steps = (await renderSvg(blogLossVsStepSpec(runs, report))).svg;
    expect(steps).toContain('small');
  });
});

describe("the blog's graphs draw only the schedule's rows", () => {
  // eval_interval 50, steps 200: rows 0, 50, 100, 150 on the schedule, then the final evaluation at step 200
  // (whole validation split) with a loss off the power law, which must enter neither graph nor fit
  const r = run('small', 6_698_833, (C, s) => (s === 0 ? 10.5 : s === 200 ? 99 : 40 * C ** -0.08));
  r.info = { ...r.info, train: { steps: 200, batch: 32, lr: 3e-4, eval_interval: 50 }, final_eval: { val_loss: 99, val_loss_se: 0.01, tokens: 1e6, windows: 4000, step: 200 } };

  it('leaves out the final evaluation row', () => {
    expect(scheduledRows(r).map((x) => x.step)).toEqual([0, 50, 100, 150]);
    const [f] = blogFits([r]);
    expect(f!.points).toBe(3);
    expect(f!.slope).toBeCloseTo(-0.08, 12);
    const values = (blogLossVsStepSpec([r], report) as { data: { values: { step: number }[] } }).data.values;
    expect(values.map((v) => v.step)).toEqual([0, 50, 100, 150]);
  });

  it('without the schedule in run.json, leaves out the row at final_eval.step', () => {
    const bare = { ...r, info: { ...r.info, train: { steps: 200, batch: 32, lr: 3e-4 } } };
    expect(scheduledRows(bare).map((x) => x.step)).toEqual([0, 50, 100, 150]);
  });

  it('says so in both subtitles', async () => {
    for (const spec of [blogLossVsStepSpec([r], report), blogLossVsComputeSpec([r], report)]) {
      expect((await renderSvg(spec)).svg).toContain('the final whole-split evaluation is not drawn');
    }
  });
});
