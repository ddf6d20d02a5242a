/**
 * The blog's two graphs (its plot.py), drawn from any sweep beside ours:
 *
 *   blog-1  validation loss against step, one line per model;
 *   blog-2  validation loss against compute on log-log axes with, per model, the
 *           least-squares line of log10 L on log10 C over its evaluations after
 *           step 0 (step 0 has C = 0 in the blog's logging and no place on a log
 *           axis), and "slope=… R²=…" in the legend, as plot.py labels it.
 *
 * Both draw only the blog's own evaluation rows, those on the run's eval_interval
 * schedule (src/train/evalSchedule.ts), not the final evaluation's row at step =
 * steps (the whole validation split, for the fits), and say so in their subtitle.
 *
 * Compute is the blog's: C = 6 · N_total · tokens (flops_6nd). Models are labelled
 * with their true total parameter count (the blog's "~786K/~4M/~25M" are not the
 * counts of its models), plus the run name.
 */
import type { TopLevelSpec } from 'vega-lite';
import type { FitReport, RunData } from '../../fit/types.ts';
import { fitLine } from '../../fit/regression.ts';
import {
  linLossY, chartFrame, fmtCount, linDomain, logComputeX, logDomain, logLossY, niceTicks, plural, seriesColors,
} from '../theme.ts';

interface BlogSeries {
  run: RunData;
  label: string;
  params: number;
}

/** Runs by total parameter count, labelled "6.70M params · small". */
function blogSeries(runs: RunData[]): BlogSeries[] {
  return runs
    .map((run) => ({ run, params: run.info.params_total, label: `${fmtCount(run.info.params_total)} params · ${run.info.name}` }))
    .sort((a, b) => a.params - b.params || a.label.localeCompare(b.label));
}

/**
 * The run's rows on its evaluation schedule: multiples of eval_interval below `steps`
 * (both eval_steps modes label them so). Without the schedule in run.json, every row but
 * the final evaluation's (run.json final_eval.step).
 */
export function scheduledRows(run: RunData): RunData['rows'] {
  const steps = run.info.train?.steps;
  const every = run.info.train?.eval_interval;
  if (steps !== undefined && every !== undefined) return run.rows.filter((r) => r.step < steps && r.step % every === 0);
  const final = run.info.final_eval?.step;
  return run.rows.filter((r) => r.step !== final);
}

/** The subtitle's note on which rows are drawn. */
const ROWS_NOTE = 'scheduled evaluations only (the final whole-split evaluation is not drawn)';

export interface BlogFit {
  run: string;
  /** log10 L = intercept + slope · log10 C */
  slope: number;
  intercept: number;
  r2: number;
  points: number;
  c_min: number;
  c_max: number;
}

/** Per run: the least-squares line of log10(val_loss) on log10(flops_6nd), rows with step > 0 only. */
export function blogFits(runs: RunData[]): BlogFit[] {
  const out: BlogFit[] = [];
  for (const run of runs) {
    const rows = scheduledRows(run).filter((r) => r.step > 0 && r.flops_6nd > 0 && Number.isFinite(r.val_loss) && r.val_loss > 0);
    const f = fitLine(rows.map((r) => Math.log10(r.flops_6nd)), rows.map((r) => Math.log10(r.val_loss)));
    if (!f) continue;
    const cs = rows.map((r) => r.flops_6nd);
    out.push({ run: run.info.name, slope: f.slope, intercept: f.intercept, r2: f.r2, points: f.points, c_min: Math.min(...cs), c_max: Math.max(...cs) });
  }
  return out;
}

/** The legend entry, as plot.py writes it: "<model> (slope=-0.123, R²=0.987)". */
export function blogFitLabel(label: string, f: BlogFit | undefined): string {
  return f ? `${label} (slope=${f.slope.toFixed(3)}, R²=${f.r2.toFixed(3)})` : `${label} (no fit: fewer than 2 points after step 0)`;
}

export function blogLossVsStepSpec(runs: RunData[], _report: FitReport): TopLevelSpec {
  const series = blogSeries(runs);
  const values = series.flatMap((s) =>
    scheduledRows(s.run).filter((r) => Number.isFinite(r.step) && Number.isFinite(r.val_loss)).map((r) => ({ series: s.label, step: r.step, loss: r.val_loss })),
  );
  const stepDomain = linDomain(values.map((v) => v.step), 0.01);
  const lossDomain = linDomain(values.map((v) => v.loss), 0.04);
  return {
    ...chartFrame('Validation loss vs step (the blog’s graph)', `${plural(series.length, 'run')} · one line per model · ${ROWS_NOTE}`),
    data: { values },
    encoding: {
      x: {
        field: 'step',
        type: 'quantitative',
        title: 'step',
        scale: { domain: stepDomain, nice: false, zero: false },
        axis: { values: niceTicks(...stepDomain, 8), labelExpr: "format(datum.value, ',')" },
      },
      y: linLossY(lossDomain),
      color: { field: 'series', type: 'nominal', title: 'model', scale: seriesColors(series.map((s) => s.label)) },
    },
    layer: [
      { name: 'lines', mark: { type: 'line', strokeWidth: 2, clip: true } },
      { name: 'points', mark: { type: 'point', filled: true, size: 26, opacity: 1, clip: true } },
    ],
  };
}

export function blogLossVsComputeSpec(runs: RunData[], _report: FitReport): TopLevelSpec {
  const series = blogSeries(runs);
  const fits = new Map(blogFits(runs).map((f) => [f.run, f]));
  const label = new Map(series.map((s) => [s.run.info.name, blogFitLabel(s.label, fits.get(s.run.info.name))]));
  const points = series.flatMap((s) =>
    scheduledRows(s.run)
      .filter((r) => r.step > 0 && r.flops_6nd > 0 && Number.isFinite(r.val_loss) && r.val_loss > 0)
      .map((r) => ({ series: label.get(s.run.info.name)!, compute: r.flops_6nd, loss: r.val_loss })),
  );
  const lines = [...fits.values()].flatMap((f) =>
    [f.c_min, f.c_max].map((c) => ({ series: label.get(f.run)!, compute: c, loss: 10 ** (f.intercept + f.slope * Math.log10(c)) })),
  );
  const x = logComputeX(logDomain(points.map((p) => p.compute), 0.03), 'flops_6nd');
  const y = logLossY(logDomain(points.map((p) => p.loss).concat(lines.map((l) => l.loss)), 0.04));
  const color = { field: 'series', type: 'nominal' as const, title: 'model (least-squares fit, dashed)', scale: seriesColors(series.map((s) => label.get(s.run.info.name)!)) };
  return {
    ...chartFrame(
      'Loss vs compute, log-log (the blog’s graph)',
      `${plural(series.length, 'run')} · C = 6·N_total·tokens · dashed: least squares of log10 L on log10 C, step 0 excluded · ${ROWS_NOTE}`,
    ),
    layer: [
      { name: 'points', data: { values: points }, mark: { type: 'point', filled: true, size: 30, opacity: 0.85, clip: true }, encoding: { x, y, color } },
      { name: 'fits', data: { values: lines }, mark: { type: 'line', strokeDash: [7, 4], strokeWidth: 2.2, clip: true }, encoding: { x, y, color } },
    ],
  };
}
