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
 *
 *   weights → shared buffer
 *   { type: 'eval', set, chunks }         →      loads the weights, computes the loss of each
 *                                                chunk and window of its share of the evaluation set
 *                                        ←      { type: 'evaluated', means, windows }
 */
import type { BackendName } from '../../backend.ts';
import type { ResolvedModelConfig } from '../../model/config.ts';
import type { KernelLayouts } from '../../model/kernels/layouts.ts';
import type { EvalSetId } from '../evaluate.ts';
import type { StepPhase } from '../gradients.ts';

/** How a worker rebuilds an evaluation set (data/batches.ts evalSet) from the validation tokens. */
export interface EvalSetSpec {
  windows: number | 'all';
  seed: number;
}

export interface WorkerInit {
  rank: number;
  backend: BackendName;
  model: ResolvedModelConfig;
  /** the kernel layouts of main's backend profile */
  kernels: KernelLayouts;
  /** Int32Array of the training tokens */
  tokens: SharedArrayBuffer;
  batch: number;
  microBatch: number;
  seed: number;
  /** Int32Array of the validation tokens, and the evaluation sets cut from them (null: no evaluation on workers) */
  validation: SharedArrayBuffer | null;
  evalSets: Record<EvalSetId, EvalSetSpec> | null;
  /** this worker's rows of every batch: [from, to) */
  rows: [number, number];
  /** Float32Array of all parameters, flat in GPT.params order (written by main before each step) */
  weights: SharedArrayBuffer;
  /** Float32Array, same layout: this worker's gradient share */
  grads: SharedArrayBuffer;
}

export type ToWorker =
  | { type: 'step'; step: number; profile: boolean }
  | { type: 'eval'; set: EvalSetId; chunks: [number, number][] };

export type FromWorker =
  | { type: 'ready' }
  | { type: 'done'; step: number; loss: number; phases: Partial<Record<StepPhase, number>> }
  | { type: 'evaluated'; set: EvalSetId; means: number[]; windows: Float32Array }
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
