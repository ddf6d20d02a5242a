/**
 * What the main thread and a data-parallel worker thread say to each other.
 *
 * Bulk data never goes through messages: the token stream, the weights and each
 * worker's gradient live in SharedArrayBuffers set up once (workerData); a step
 * is one small message each way.
 *
 *   main                                         worker r
 *   weights → shared buffer
 *   { type: 'step', step, profile }       →      loads the weights, computes the gradient of
 *                                                its rows of the step's batch (drawn from the
 *                                                stateless sampler), writes it to its buffer
 *                                        ←      { type: 'done', loss, phases }
 *   sums the gradients in rank order, applies one AdamW update
 */
import type { BackendName } from '../../backend.ts';
import type { ResolvedModelConfig } from '../../model/config.ts';
import type { StepPhase } from '../step.ts';

export interface WorkerInit {
  rank: number;
  backend: BackendName;
  model: ResolvedModelConfig;
  /** Int32Array of the training tokens */
  tokens: SharedArrayBuffer;
  batch: number;
  microBatch: number;
  seed: number;
  /** this worker's rows of every batch: [from, to) */
  rows: [number, number];
  /** Float32Array of all parameters, flat in GPT.params order (written by main before each step) */
  weights: SharedArrayBuffer;
  /** Float32Array, same layout: this worker's gradient share */
  grads: SharedArrayBuffer;
}

export type ToWorker = { type: 'step'; step: number; profile: boolean };

export type FromWorker =
  | { type: 'ready' }
  | { type: 'done'; step: number; loss: number; phases: Partial<Record<StepPhase, number>> }
  | { type: 'error'; message: string; stack?: string };

/** Offsets of each parameter in the flat layout (params order) and the total size. */
export function flatLayout(sizes: number[]): { offsets: number[]; total: number } {
  const offsets: number[] = [];
  let total = 0;
  for (const n of sizes) {
    offsets.push(total);
    total += n;
  }
  return { offsets, total };
}

/** Rows of rank r when `batch` rows are split as evenly as possible over `workers` ranks (in order). */
export function rowShare(batch: number, workers: number, r: number): [number, number] {
  return [Math.round((r * batch) / workers), Math.round(((r + 1) * batch) / workers)];
}
