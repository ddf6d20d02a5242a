/**
 * Graph 2: validation loss against compute on log-log axes — each model's
 * evaluations as points and its fitted power law (report.per_run:
 * log L = intercept + slope·log C) as a dashed line over the compute range it
 * was fitted on, with slope and R² in the legend.
 */
import type { TopLevelSpec } from 'vega-lite';
import type { FitReport, RunData } from '../../fit/types.ts';
import { seriesOf } from '../series.ts';
import {
  fmtNum, logDomain, plural, seriesColors, type ColorEncoding, chartFrame,
  logComputeX,
  logLossY,
} from '../theme.ts';

export interface ComputePoint {
  series: string;
  compute: number;
  loss: number;
}

/** Every evaluation with compute > 0 and a finite validation loss, labelled with its model and fit. */
export function lossVsComputePoints(runs: RunData[], report: FitReport): ComputePoint[] {
  const labels = legendLabels(runs, report);
  return seriesOf(runs, report).flatMap((s) =>
    s.run.rows
      .filter((r) => r[report.flops] > 0 && Number.isFinite(r.val_loss) && r.val_loss > 0)
      .map((r) => ({ series: labels.get(s.name)!, compute: r[report.flops], loss: r.val_loss })),
  );
}

/** run name -> "786K params: slope −0.136, R² 0.982" (fit part left out when the run has no fit). */
function legendLabels(runs: RunData[], report: FitReport): Map<string, string> {
  const fits = new Map(report.per_run.map((f) => [f.run, f]));
  return new Map(
    seriesOf(runs, report).map((s) => {
      const f = fits.get(s.name);
      return [s.name, f ? `${s.label}: slope ${fmtNum(f.slope, 3)}, R² ${f.r2.toFixed(3)}` : `${s.label} (no fit)`];
    }),
  );
}

export function lossVsComputeSpec(runs: RunData[], report: FitReport): TopLevelSpec {
  const labels = legendLabels(runs, report);
  const series = seriesOf(runs, report);
  const points = lossVsComputePoints(runs, report);
  // two ends of each fitted line; straight on log-log axes
  const fits = report.per_run
    .filter((f) => labels.has(f.run) && f.c_min > 0 && f.c_max > f.c_min)
    .flatMap((f) =>
      [f.c_min, f.c_max].map((c) => ({ series: labels.get(f.run)!, compute: c, loss: Math.exp(f.intercept + f.slope * Math.log(c)) })),
    );
  const cDomain = logDomain(points.map((p) => p.compute), 0.03);
  const lDomain = logDomain(points.map((p) => p.loss).concat(fits.map((f) => f.loss)), 0.04);
  const x = logComputeX(cDomain, report.flops);
  const y = logLossY(lDomain);
  const color: ColorEncoding = {
    field: 'series',
    type: 'nominal',
    title: 'model: fitted L ∝ C^slope (dashed)',
    scale: seriesColors(series.map((s) => labels.get(s.name)!)),
  };
  return {
    ...chartFrame(
      'Validation loss against compute',
      [
        `${plural(series.length, 'run')} · points: evaluations · dashed: per-model power law log L = intercept + slope·log C`,
        "a slope is one training curve's (N fixed, so C ∝ D; shaped by warm-up and LR decay), not Kaplan's α_C",
      ],
    ),
    layer: [
      { name: 'points', data: { values: points }, mark: { type: 'point', filled: true, size: 30, opacity: 0.85, clip: true }, encoding: { x, y, color } },
      {
        name: 'fits',
        data: { values: fits },
        mark: { type: 'line', strokeDash: [7, 4], strokeWidth: 2.2, clip: true },
        encoding: { x, y, color },
      },
    ],
  };
}
