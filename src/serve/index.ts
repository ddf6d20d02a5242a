/** The dashboard server (`chinchilla serve`, `chinchilla sweep --serve`). */
export { startServer, type DashboardServer, type ServeOptions } from './server.ts';
export { announce } from './announce.ts';
export { RunsTree, type RunView, type SweepView } from './scan.ts';
export { sweepGraphs, liveFit } from './graphs.ts';
export { parseMetricsText } from '../artifacts/metrics.ts';
