/**
 * The six graphs, in report order. Each is a pure function (runs, report) ->
 * vega-lite spec; `skip` says why a graph does not apply to a sweep (it is then
 * left out with that note in the report, not an error).
 */
import type { TopLevelSpec } from 'vega-lite';
import type { FitReport, RunData } from '../../fit/types.ts';
import { BLOG_GRAPHS } from './blogGraphs.ts';
import { frontierSpec } from './frontier.ts';
import { isoflopSkipReason, isoflopSpec } from './isoflop.ts';
import { lossVsComputeSpec } from './lossVsCompute.ts';
import { lossVsStepSpec } from './lossVsStep.ts';
import { optimalScalingSkipReason, optimalScalingSpec } from './optimalScaling.ts';
import { surfaceSkipReason, surfaceSpec } from './surface.ts';

export interface Graph {
  /** file name without extension, e.g. "1-loss-vs-step" */
  id: string;
  title: string;
  /** one or two sentences under the picture in the report: what it shows, how to read it */
  caption: string;
  skip(runs: RunData[], report: FitReport): string | null;
  spec(runs: RunData[], report: FitReport): TopLevelSpec;
}

const hasEvaluations = (runs: RunData[]) =>
  runs.some((r) => r.rows.some((x) => Number.isFinite(x.val_loss))) ? null : 'no run has a validation-loss row yet';

export const GRAPHS: Graph[] = [
  {
    id: '1-loss-vs-step',
    title: 'Validation loss against training step',
    caption:
      'One line per model, labelled with its parameter count. Bigger models should sit lower at the same step; ' +
      'a line that rises or turns flat early points at a learning-rate or data problem.',
    skip: (runs) => hasEvaluations(runs),
    spec: lossVsStepSpec,
  },
  {
    id: '2-loss-vs-compute',
    title: 'Validation loss against compute',
    caption:
      'Log-log axes. Points are evaluations; each dashed line is that model’s power law L ∝ C^slope, whose slope and R² are in the legend. ' +
      'Straight, parallel lines mean each model follows a clean power law in compute. ' +
      'A slope here is that of one training curve (N fixed, so C ∝ D), shaped by warm-up and learning-rate decay; ' +
      "it is not Kaplan et al.'s α_C, the slope of the compute-efficient frontier across model sizes.",
    skip: (runs, report) => hasEvaluations(runs) ?? (report.runs.length === 0 ? 'the fit used no run' : null),
    spec: lossVsComputeSpec,
  },
  {
    id: '3-compute-frontier',
    title: 'Compute-optimal frontier (Approach 1)',
    caption:
      'Every evaluation of every run; the black line is the lower envelope, the lowest loss reached at each compute. ' +
      'Which model forms the envelope as compute grows is what Approach 1 turns into N_opt(C).',
    skip: (runs, report) => hasEvaluations(runs) ?? (report.approach1.envelope.length === 0 ? 'Approach 1 found no envelope' : null),
    spec: frontierSpec,
  },
  {
    id: '4-isoflop-profiles',
    title: 'IsoFLOP profiles (Approach 2)',
    caption:
      'At each compute budget, final loss against model size with the parabola fitted in ln N; its minimum (◆) is the compute-optimal size ' +
      'for that budget. A minimum outside the sampled sizes is not used for the exponent fit.',
    skip: (_runs, report) => isoflopSkipReason(report),
    spec: isoflopSpec,
  },
  {
    id: '5-optimal-allocation',
    title: 'Compute-optimal N and D against compute',
    caption:
      'N_opt ∝ C^a and D_opt ∝ C^b from each approach, beside Chinchilla’s a ≈ b ≈ 0.5 and Kaplan et al.’s a = 0.73. ' +
      'Only the reference lines’ slopes matter; they are drawn through the centre of this sweep’s points.',
    skip: (_runs, report) => optimalScalingSkipReason(report),
    spec: optimalScalingSpec,
  },
  {
    id: '6-loss-surface',
    title: 'Approach 3: fitted loss surface',
    caption:
      'Contours of the fitted L(N, D) = E + A/N^α + B/D^β, iso-FLOP lines C = 6ND (dashed) and the efficient frontier (black), ' +
      'where each iso-FLOP line touches the lowest contour. Circles are the runs; their distance from the frontier shows how far from compute-optimal they were trained.',
    skip: (_runs, report) => surfaceSkipReason(report),
    spec: surfaceSpec,
  },
  ...BLOG_GRAPHS,
];
