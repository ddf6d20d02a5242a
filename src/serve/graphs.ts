/**
 * The dashboard's graphs: the very vega-lite specifications `chinchilla plot`
 * draws (src/plot/graphs), built here and rendered in the page by vega-embed.
 *
 * While a sweep runs there is no fit.json, so the fits the graphs need are
 * made live, in memory, from the rows so far: per-run power laws, Approach 1
 * (envelope) and Approach 2 (IsoFLOP profiles). Approach 3's multi-start
 * L-BFGS is too slow to redo on every appended row, so graphs that need it
 * (optimal allocation, loss surface) appear once the sweep's own fit.json
 * exists and is current; the dashboard never writes fit.json (read-only).
 */
import { readFitJson } from '../artifacts/fitJson.ts';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { TopLevelSpec } from 'vega-lite';
import { fitApproach1 } from '../fit/approach1.ts';
import { fitApproach2 } from '../fit/approach2.ts';
import { paramColumn, runCurves } from '../fit/curves.ts';
import { formatFitReport } from '../fit/format.ts';
import { fitPerRun } from '../fit/perRun.ts';
import type { FitBasis, FitReport, FlopsColumn, ParamCount, RunData } from '../fit/types.ts';
import { staleReason } from '../plot/fitFile.ts';
import { GRAPHS } from '../plot/graphs/index.ts';

export interface GraphOut {
  id: string;
  title: string;
  caption: string;
  /** why the graph is not drawn yet */
  skipped?: string;
  spec?: TopLevelSpec;
}

export interface GraphsResponse {
  n: ParamCount;
  /** where the fit came from: fit.json (current) or live */
  fit: 'fit.json' | 'live';
  graphs: GraphOut[];
  /** the fit tables (as `chinchilla fit` prints them), when fit.json is current */
  fit_text: string | null;
}

/** Graphs drawn from fit.json only (they need Approach 3, which liveFit leaves out). */
const NEEDS_APPROACH3 = new Set(['5-optimal-allocation', '6-loss-surface']);

/** Per-run fits and Approaches 1 and 2 from the rows so far (no Approach 3). */
export function liveFit(runs: RunData[], n: ParamCount, flops: FlopsColumn = 'flops_6nd'): FitReport {
  const basis: FitBasis = { params: paramColumn(n), tokens: 'tokens', loss: 'val_loss', flops };
  const { curves, warnings } = runCurves(runs, { n, flops, minStep: 0 });
  const perRun = fitPerRun(curves);
  const a1 = fitApproach1(curves, { basis });
  const a2 = fitApproach2(curves, { basis });
  return {
    sweep_dir: '',
    n,
    flops,
    runs: curves.map((c) => {
      const last = c.points[c.points.length - 1]!;
      return { run: c.run, params: c.N, params_total: c.params_total, params_non_embedding: c.params_non_embedding, final_val_loss: last.L, tokens: last.D, compute: last.C };
    }),
    per_run: perRun.fits,
    approach1: a1,
    approach2: a2,
    approach3: null,
    warnings: [...warnings, ...perRun.warnings, ...a1.warnings, ...a2.warnings],
    created_at: new Date().toISOString(),
  };
}

/** fit.json when it exists, is current for these runs and was made with this N; else null. */
function currentFitJson(sweepDir: string, runs: RunData[], n: ParamCount): FitReport | null {
  const p = join(sweepDir, 'fit.json');
  if (!existsSync(p)) return null;
  try {
    const fit = readFitJson(p);
    if ( !Array.isArray(fit.runs) || !fit.approach1 || fit.n !== n) return null;
    return staleReason(sweepDir, runs, fit) === null ? fit : null;
  } catch {
    return null;
  }
}

/**
 * Every graph of `chinchilla plot` for the chosen runs (all when `only` is
 * empty) and parameter count; graphs that do not apply yet carry the reason.
 */
export function sweepGraphs(sweepDir: string, all: RunData[], n: ParamCount, only: string[] = []): GraphsResponse {
  const runs = only.length > 0 ? all.filter((r) => only.includes(r.info.name)) : all;
  const fromFile = only.length === 0 ? currentFitJson(sweepDir, runs, n) : null;
  const fit = fromFile ?? liveFit(runs, n, 'flops_6nd');
  const graphs: GraphOut[] = GRAPHS.map((g) => {
    const base = { id: g.id, title: g.title, caption: g.caption };
    if (runs.length === 0) return { ...base, skipped: 'no run selected' };
    if (!fromFile && NEEDS_APPROACH3.has(g.id)) return { ...base, skipped: 'needs Approach 3: drawn once the sweep’s fit.json is written (`chinchilla fit`, or at the end of the sweep)' };
    try {
      const skipped = g.skip(runs, fit);
      if (skipped) return { ...base, skipped };
      return { ...base, spec: g.spec(runs, fit) };
    } catch (e) {
      return { ...base, skipped: `cannot be drawn from the data so far (${(e as Error).message})` };
    }
  });
  return { n, fit: fromFile ? 'fit.json' : 'live', graphs, fit_text: fromFile ? formatFitReport(fromFile) : null };
}
