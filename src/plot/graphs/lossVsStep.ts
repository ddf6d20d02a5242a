/**
 * Graph 1: validation loss against training step, one line per model,
 * labelled with its parameter count. The step axis turns logarithmic when the
 * runs' lengths differ by more than 100× (isoflop sweeps), and step 0 is then
 * left out (it has no place on a log axis).
 */
import type { TopLevelSpec } from 'vega-lite';
import type { FitReport, RunData } from '../../fit/types.ts';
import { seriesOf } from '../series.ts';
import {
  linLossY, LABEL_SI, linDomain, logDomain, logTicks, niceTicks, plural, seriesColors, chartFrame,
} from '../theme.ts';

export interface LossVsStepPoint {
  series: string;
  step: number;
  loss: number;
}

/** Whether the step axis is logarithmic: positive steps span more than two decades. */
export function stepAxisIsLog(runs: RunData[]): boolean {
  const steps = runs.flatMap((r) => r.rows.map((x) => x.step)).filter((s) => s > 0);
  return steps.length > 0 && Math.max(...steps) / Math.min(...steps) > 100;
}

/** The plotted points: every row with a finite step and val_loss (step > 0 on a log axis). */
export function lossVsStepPoints(runs: RunData[], report: FitReport): LossVsStepPoint[] {
  const log = stepAxisIsLog(runs);
  return seriesOf(runs, report).flatMap((s) =>
    s.run.rows
      .filter((r) => Number.isFinite(r.step) && Number.isFinite(r.val_loss) && (!log || r.step > 0))
      .map((r) => ({ series: s.label, step: r.step, loss: r.val_loss })),
  );
}

export function lossVsStepSpec(runs: RunData[], report: FitReport): TopLevelSpec {
  const series = seriesOf(runs, report);
  const values = lossVsStepPoints(runs, report);
  const log = stepAxisIsLog(runs);
  const stepDomain = log ? logDomain(values.map((v) => v.step), 0.02) : linDomain(values.map((v) => v.step), 0.01);
  const lossDomain = linDomain(values.map((v) => v.loss), 0.04);
  const kind = report.n === 'non-embedding' ? 'non-embedding' : 'total';
  return {
    ...chartFrame(
      'Validation loss during training',
      `${plural(series.length, 'run')} · one line per model, labelled with its ${kind} parameter count` + (log ? ' · log step axis (step 0 not shown)' : ''),
    ),
    data: { values },
    encoding: {
      x: {
        field: 'step',
        type: 'quantitative',
        title: 'training step (optimizer updates)',
        scale: log ? { type: 'log', domain: stepDomain, nice: false } : { domain: stepDomain, nice: false, zero: false },
        axis: log ? { values: logTicks(...stepDomain), labelExpr: LABEL_SI } : { values: niceTicks(...stepDomain, 8), labelExpr: "format(datum.value, ',')" },
      },
      y: linLossY(lossDomain),
      color: {
        field: 'series',
        type: 'nominal',
        title: 'model',
        scale: seriesColors(series.map((s) => s.label)),
        legend: { columns: series.length > 20 ? 2 : 1 },
      },
    },
    layer: [
      { name: 'lines', mark: { type: 'line', strokeWidth: 2, clip: true } },
      { name: 'points', mark: { type: 'point', filled: true, size: 26, opacity: 1, clip: true } },
    ],
  };
}
