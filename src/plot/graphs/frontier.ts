/**
 * Graph 3: the compute-optimal frontier — every evaluation of every run as
 * loss against compute, with the lower envelope (report.approach1.envelope:
 * the lowest loss reached at each compute, Chinchilla's Approach 1) drawn on
 * top in black.
 */
import type { TopLevelSpec } from 'vega-lite';
import type { FitReport, RunData } from '../../fit/types.ts';
import { seriesOf } from '../series.ts';
import {
  INK, logDomain, plural, seriesColors, type ColorEncoding, chartFrame,
  logComputeX,
  logLossY,
} from '../theme.ts';

export const ENVELOPE_LABEL = 'lower envelope (compute-optimal frontier)';

export function frontierPoints(runs: RunData[], report: FitReport): { series: string; compute: number; loss: number }[] {
  // the same rows as graph 2, labelled by model only
  return seriesOf(runs, report).flatMap((s) =>
    s.run.rows
      .filter((r) => r[report.flops] > 0 && Number.isFinite(r.val_loss) && r.val_loss > 0)
      .map((r) => ({ series: s.label, compute: r[report.flops], loss: r.val_loss })),
  );
}

export function frontierSpec(runs: RunData[], report: FitReport): TopLevelSpec {
  const series = seriesOf(runs, report);
  const points = frontierPoints(runs, report);
  const envelope = report.approach1.envelope
    .filter((e) => e.compute > 0 && e.loss > 0)
    .map((e) => ({ series: ENVELOPE_LABEL, compute: e.compute, loss: e.loss, run: e.run }));
  const envRuns = new Set(envelope.map((e) => e.run));
  const cDomain = logDomain(points.map((p) => p.compute), 0.03);
  const lDomain = logDomain(points.map((p) => p.loss), 0.04);
  const colors = seriesColors(series.map((s) => s.label));
  const x = logComputeX(cDomain, report.flops);
  const y = logLossY(lDomain);
  const color: ColorEncoding = {
    field: 'series',
    type: 'nominal',
    title: 'runs',
    scale: colors,
  };
  return {
    ...chartFrame(
      'Compute-optimal frontier (Approach 1)',
      `${plural(points.length, 'evaluation')} of ${plural(series.length, 'run')} · black: lowest loss reached at each compute ` +
        `(${envelope.length} points from ${envRuns.size} run${envRuns.size === 1 ? '' : 's'})`,
    ),
    layer: [
      { name: 'points', data: { values: points }, mark: { type: 'point', filled: true, size: 26, opacity: 0.8, clip: true }, encoding: { x, y, color } },
      {
        name: 'envelope',
        data: { values: envelope },
        mark: { type: 'line', color: INK, strokeWidth: 3, opacity: 0.9, clip: true },
        encoding: { x, y, stroke: { field: 'series', type: 'nominal', title: 'Approach 1', scale: { domain: [ENVELOPE_LABEL], range: [INK] } } },
      },
    ],
    resolve: { scale: { color: 'independent' } },
  };
}
