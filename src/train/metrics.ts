/** metrics.csv lives in src/artifacts/metrics.ts; these names stay for code that imported them from here. */
export { MetricsCsv, readMetrics as readMetricsCsv } from '../artifacts/metrics.ts';
