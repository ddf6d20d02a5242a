/**
 * One schema per file the project writes, used by the code that writes it and
 * the code that reads it. Each JSON carries schema_version (see version.ts).
 *   metrics.ts    <run>/metrics.csv   METRIC_COLUMNS, MetricRow, reader, writer
 *   runJson.ts    <run>/run.json      RunJson (+ RunInfo, the fit's view of it)
 *   sweepJson.ts  <sweep>/sweep.json  SweepJson
 */
export * from './metrics.ts';
export * from './runJson.ts';
export * from './sweepJson.ts';
export { migrate, versionOf } from './version.ts';
