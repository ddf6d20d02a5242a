/** The blog's two graphs (./blog.ts) as entries of the graph list, after ours. */
import type { FitReport, RunData } from '../../fit/types.ts';
import { blogLossVsComputeSpec, blogLossVsStepSpec, scheduledRows } from './blog.ts';

const noRows = (runs: RunData[], _r: FitReport) =>
  runs.some((r) => scheduledRows(r).some((x) => Number.isFinite(x.val_loss))) ? null : 'no run has a validation-loss row yet';

/** Same shape as ./index.ts's Graph (not imported, to keep the import graph acyclic). */
export const BLOG_GRAPHS = [
  {
    id: 'blog-1-val-loss-vs-step',
    title: 'The blog’s graph: validation loss against step',
    caption: 'As the blog’s plot.py draws it: one line per model, labelled here with its true total parameter count.',
    skip: noRows,
    spec: blogLossVsStepSpec,
  },
  {
    id: 'blog-2-loss-vs-compute',
    title: 'The blog’s graph: loss against compute, log-log, with a least-squares line per model',
    caption:
      'C = 6·N_total·tokens. Each dashed line is the least-squares fit of log10 L on log10 C over that model’s evaluations after step 0; ' +
      'its slope and R² are in the legend as plot.py prints them.',
    skip: (runs, r) =>
      noRows(runs, r) ?? (runs.some((run) => scheduledRows(run).filter((x) => x.step > 0 && x.flops_6nd > 0).length >= 2) ? null : 'no run has two evaluations after step 0'),
    spec: blogLossVsComputeSpec,
  },
] satisfies { id: string; title: string; caption: string; skip(runs: RunData[], r: FitReport): string | null; spec: unknown }[];
