/**
 * The fit behind the plots: runs/<sweep>/fit.json when it is current, else a
 * fresh fitSweep. fit.json is stale when any run's metrics.csv or run.json is
 * newer than it, or when its runs are not the sweep's runs; a stale or absent
 * fit.json is replaced. A fit.json made with another --n or --flops is left
 * alone (it is someone's deliberate `chinchilla fit`); the plots then use a
 * fit made in memory.
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { conventionsOf, describeConventions, fitFileName, fitJsonPath, readFitJson, writeFitJson } from '../artifacts/fitJson.ts';
import { fitSweep } from '../fit/index.ts';
import type { FitReport, FlopsColumn, ParamCount, RunData } from '../fit/types.ts';
import { UserError } from '../util/errors.ts';

export interface FitChoice {
  report: FitReport;
  /** 'read': fit.json was current; 'fitted': fitted now */
  source: 'read' | 'fitted';
  /** whether fit.json was (re)written */
  written: boolean;
  /** why it was fitted, for the report ("fit.json is older than d64l2/metrics.csv") */
  reason: string;
  /** the conventions the fit was made with, in words */
  conventions: string;
}

export { fitJsonPath };

/** The plots' own fits: the default conventions, with bootstrap intervals. */
const PLOT_FIT = { bootstrap: 100, seed: 0 } as const;

/** Why fit.json cannot be used for these runs, or null when it is current. */
export function staleReason(sweepDir: string, runs: RunData[], fit: FitReport): string | null {
  const fitTime = statSync(fitJsonPath(sweepDir)).mtimeMs;
  for (const r of runs) {
    for (const f of ['metrics.csv', 'run.json']) {
      const p = join(r.dir, f);
      if (existsSync(p) && statSync(p).mtimeMs > fitTime) return `fit.json is older than ${r.info.name}/${f}`;
    }
  }
  const fitted = new Set(fit.runs.map((r) => r.run));
  const missing = runs.filter((r) => !fitted.has(r.info.name) && r.rows.some((x) => Number.isFinite(x.val_loss)));
  if (missing.length > 0) return `fit.json does not include ${missing.map((r) => r.info.name).join(', ')}`;
  return null;
}

export function loadOrFit(
  sweepDir: string,
  runs: RunData[],
  o: { n?: ParamCount; flops?: FlopsColumn; refit?: boolean } = {},
): FitChoice {
  const path = fitJsonPath(sweepDir);
  let existing: FitReport | null = null;
  let reason = 'no fit.json';
  if (existsSync(path)) {
    try {
      existing = readFitJson(path);
    } catch (e) {
      if (!(e instanceof UserError)) throw e;
      reason = e.message;
    }
  }
  const n = o.n ?? existing?.n ?? 'total';
  const flops = o.flops ?? existing?.flops ?? 'flops_6nd';
  const words = (r: FitReport) => describeConventions(conventionsOf(r));
  if (existing && !o.refit) {
    const stale = staleReason(sweepDir, runs, existing);
    if (!stale && existing.n === n && existing.flops === flops) {
      return { report: existing, source: 'read', written: false, reason: 'fit.json is current', conventions: words(existing) };
    }
    if (!stale) {
      // another parameter count or compute column than fit.json's: fit in memory, keep fit.json
      const report = fitSweep(runs, { n, flops, sweepDir, ...PLOT_FIT });
      return {
        report,
        source: 'fitted',
        written: false,
        reason: `fit.json holds n=${existing.n}, flops=${existing.flops}; fitted n=${n}, flops=${flops} for the plots (fit.json left as is)`,
        conventions: words(report),
      };
    }
    reason = stale;
  }
  if (o.refit) reason = '--refit';
  const report = fitSweep(runs, { n, flops, sweepDir, ...PLOT_FIT });
  // fit.json holds the default conventions; a fit with others goes to a file named after them
  writeFitJson(join(sweepDir, fitFileName(conventionsOf(report))), report);
  return { report, source: 'fitted', written: true, reason, conventions: words(report) };
}
