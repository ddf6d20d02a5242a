/**
 * Scaling-law fitting: per-run power laws and Chinchilla's three approaches
 * over a sweep directory, plus the published laws and budget planning.
 */
export { loadRuns, readMetrics, readRunInfo } from './load.ts';
export { fitSweep, type FitSweepOptions } from './sweep.ts';
export { predictLoss, fitApproach3, approach3Problems, huberObjective, huber, initGrid, HUBER_DELTA, type LossPoint, type Approach3Options } from './approach3.ts';
export { fitApproach1, type Approach1Options } from './approach1.ts';
export { fitApproach2, analyseProfile, type Approach2Options } from './approach2.ts';
export { fitPerRun, fitRunPowerLaw } from './perRun.ts';
export { runCurves, interpolateAt, type RunCurve, type CurvePoint } from './curves.ts';
export { lbfgs, strongWolfeLineSearch, type Objective, type LbfgsOptions, type LbfgsResult } from './lbfgs.ts';
export { fitLine, fitPowerLaw, fitParabola } from './regression.ts';
export { readPointsCsv, parsePointsCsv, type CsvColumns } from './csvPoints.ts';
export {
  LAWS,
  HOFFMANN2022,
  EPOCH2024,
  KAPLAN2020,
  PF_DAY,
  loadLaw,
  lawLoss,
  computeOptimal,
  kaplanAllocation,
  tokensForLoss,
  type Law,
  type ChinchillaLaw,
  type KaplanLaw,
} from './laws.ts';
export { planBudget, inferenceOptimal, parseCount, type Plan, type Allocation, type InferencePlan } from './plan.ts';
export { formatFitReport, formatApproach3, formatPlan } from './format.ts';
export * from './types.ts';
