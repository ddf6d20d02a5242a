/**
 * Fit 1: each run's loss against compute on log-log axes,
 *   ln L = c − α·ln C   (reported as slope = −α, intercept = c, natural logs),
 * over the run's evaluations with C > 0.
 */
import type { RunCurve } from './curves.ts';
import { fitLine } from './regression.ts';
import type { RunPowerLaw } from './types.ts';

export function fitRunPowerLaw(curve: RunCurve): RunPowerLaw | null {
  const pts = curve.points;
  const line = fitLine(
    pts.map((p) => Math.log(p.C)),
    pts.map((p) => Math.log(p.L)),
  );
  if (!line) return null;
  return {
    run: curve.run,
    params: curve.N,
    slope: line.slope,
    intercept: line.intercept,
    r2: line.r2,
    points: line.points,
    c_min: pts[0]!.C,
    c_max: pts[pts.length - 1]!.C,
  };
}

/** Per-run power laws; runs with fewer than 3 evaluations get a warning rather than a 2-point "fit". */
export function fitPerRun(curves: RunCurve[]): { fits: RunPowerLaw[]; warnings: string[] } {
  const fits: RunPowerLaw[] = [];
  const warnings: string[] = [];
  for (const c of curves) {
    if (new Set(c.points.map((p) => p.C)).size < 3) {
      warnings.push(`per-run fit: run ${c.run} has ${c.points.length} usable evaluation(s); need ≥ 3 at distinct compute for a slope`);
      continue;
    }
    const f = fitRunPowerLaw(c);
    if (f) fits.push(f);
  }
  return { fits, warnings };
}
