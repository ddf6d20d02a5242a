/**
 * Evaluation: the mean next-token loss over a fixed set of validation windows,
 * with its standard error.
 *
 *   chunk mean   m_c = model.loss of chunk c (its rows × T targets), as the training loss computes it
 *   val_loss     = Σ_c m_c · rows_c / n                  (n windows; chunk order)
 *   window loss  ℓ_i = mean over the window's T targets of −log p(y_t | x_≤t)
 *   val_loss_se  = sd(ℓ) / √n,  sd² = Σ_i (ℓ_i − ℓ̄)² / (n − 1)   (0 when n = 1)
 *
 * The windows are cut into chunks of `chunkRows` consecutive windows (the run's
 * micro-batch: a function of the config and the backend profile, never of the
 * worker count), fixed by the window index alone. A chunk is computed whole by
 * one rank (this thread or a worker of the pool), and the chunk means are summed
 * in chunk order in float64 on this thread. So the numbers do not depend on how
 * the chunks were spread over the workers: on one backend, 1 or W workers give
 * the same bits — and the same val_loss as before the evaluation was split.
 */
import * as tf from '@tensorflow/tfjs';
import type { Batch } from '../data/batches.ts';
import type { GPT } from '../model/gpt.ts';

/** Chunks [from, to) of `rows` windows, `per` at a time. */
export function evalChunks(rows: number, per: number): [number, number][] {
  const out: [number, number][] = [];
  for (let r = 0; r < rows; r += per) out.push([r, Math.min(rows, r + per)]);
  return out;
}

/** Mean loss of the windows [from, to) of `set` (as model.loss computes it) and each window's loss. */
export async function chunkLosses(model: GPT, set: Batch, from: number, to: number): Promise<{ mean: number; windows: Float32Array }> {
  const T = model.config.context;
  const n = to - from;
  const { mean, perSequence } = tf.tidy(() =>
    model.evalLosses(
      tf.tensor2d(set.x.subarray(from * T, to * T), [n, T], 'int32'),
      tf.tensor2d(set.y.subarray(from * T, to * T), [n, T], 'int32'),
    ),
  );
  const m = (await mean.data())[0]!;
  const windows = (await perSequence.data()) as Float32Array;
  tf.dispose([mean, perSequence]);
  return { mean: m, windows };
}

export interface EvalSummary {
  val_loss: number;
  val_loss_se: number;
  windows: number;
  tokens: number;
}

/** Standard error of the mean of per-window losses (see the top of this file); 0 for one window. */
export function standardError(losses: ArrayLike<number>): number {
  const n = losses.length;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += losses[i]!;
  const mean = sum / n;
  let ss = 0;
  for (let i = 0; i < n; i++) ss += (losses[i]! - mean) ** 2;
  return n > 1 ? Math.sqrt(ss / (n - 1)) / Math.sqrt(n) : 0;
}

/** What a rank computed for its chunks: each chunk's mean, and the losses of their windows in order. */
export interface ChunkResults {
  means: number[];
  windows: Float32Array;
}

/** Something that computes chunks on other threads (parallel/pool.ts). */
export interface EvalPool {
  readonly size: number;
  /** Publishes the current weights, then has rank r (1…size−1) compute `chunks[r]`; resolves to each rank's results. */
  evaluate(set: EvalSetId, chunks: [number, number][][]): Promise<ChunkResults[]>;
}

/** Which evaluation set: the small one of every eval_interval, or the large final one. */
export type EvalSetId = 'eval' | 'final';

/** Computes `chunks` of `set` on this thread. */
export async function computeChunks(model: GPT, set: Batch, chunks: [number, number][]): Promise<ChunkResults> {
  const windows = new Float32Array(chunks.reduce((a, [f, t]) => a + t - f, 0));
  const means: number[] = [];
  let at = 0;
  for (const [from, to] of chunks) {
    const r = await chunkLosses(model, set, from, to);
    means.push(r.mean);
    windows.set(r.windows, at);
    at += to - from;
  }
  return { means, windows };
}

/**
 * Evaluate `set` (identified to the workers as `id`) with the model's current
 * weights, in chunks of `chunkRows` windows spread over this thread and the
 * pool's workers in rank order.
 */
export async function evaluate(model: GPT, set: Batch, id: EvalSetId, chunkRows: number, pool?: EvalPool | null): Promise<EvalSummary> {
  const chunks = evalChunks(set.rows, chunkRows);
  const ranks = pool ? Math.min(pool.size, chunks.length) : 1;
  const bounds = (r: number) => [Math.round((r * chunks.length) / ranks), Math.round(((r + 1) * chunks.length) / ranks)] as const;
  const share = (r: number) => chunks.slice(...bounds(r));
  const remote = ranks > 1 ? pool!.evaluate(id, Array.from({ length: pool!.size }, (_, r) => (r > 0 && r < ranks ? share(r) : []))) : null;
  remote?.catch(() => {}); // awaited below; no unhandled rejection if this thread fails first
  const results = [await computeChunks(model, set, share(0)), ...(remote ? (await remote).slice(1, ranks) : [])];
  // put the chunks back in order: rank r holds chunks bounds(r)
  const windows = new Float32Array(set.rows);
  let sum = 0;
  results.forEach((res, r) => {
    const [c0, c1] = bounds(r);
    if (res.means.length !== c1 - c0) throw new Error(`evaluation: rank ${r} returned ${res.means.length} chunks instead of ${c1 - c0}`);
    windows.set(res.windows, chunks[c0]?.[0] ?? 0);
    for (let c = c0; c < c1; c++) sum += res.means[c - c0]! * (chunks[c]![1] - chunks[c]![0]);
  });
  return { val_loss: sum / set.rows, val_loss_se: standardError(windows), windows: set.rows, tokens: set.rows * model.config.context };
}
