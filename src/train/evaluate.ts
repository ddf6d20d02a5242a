/**
 * Evaluation: the mean next-token loss over a fixed set of validation windows,
 * with its standard error.
 *
 *   window loss  ℓ_i = mean over the window's T targets of −log p(y_t | x_≤t)
 *   val_loss     = (1/n) Σ_i ℓ_i                         (all windows hold T tokens)
 *   val_loss_se  = sd(ℓ) / √n,  sd² = Σ_i (ℓ_i − val_loss)² / (n − 1)   (0 when n = 1)
 *
 * The windows are cut into chunks of `evalRows` consecutive windows, fixed by
 * the window index alone; a chunk is computed whole by one rank (this thread or
 * a worker of the pool), and the window losses are summed in window order in
 * float64 on this thread. So the numbers do not depend on how the chunks were
 * spread over the workers: on one backend, 1 or W workers give the same bits.
 */
import * as tf from '@tensorflow/tfjs';
import type { Batch } from '../data/batches.ts';
import type { ResolvedModelConfig } from '../model/config.ts';
import type { GPT } from '../model/gpt.ts';

/** At most this many logits (rows × T × V floats) are alive in one evaluation chunk: 64 MB. */
const MAX_EVAL_LOGITS = 2 ** 24;

/** Windows per evaluation chunk: a function of the model shape only (never of the worker count). */
export function evalRows(cfg: ResolvedModelConfig): number {
  return Math.max(1, Math.min(64, Math.floor(MAX_EVAL_LOGITS / (cfg.context * cfg.vocab_size))));
}

/** Chunks [from, to) of `rows` windows, `per` at a time. */
export function evalChunks(rows: number, per: number): [number, number][] {
  const out: [number, number][] = [];
  for (let r = 0; r < rows; r += per) out.push([r, Math.min(rows, r + per)]);
  return out;
}

/** Loss of each window in [from, to) of `set` (one forward pass, no gradient). */
export async function windowLosses(model: GPT, set: Batch, from: number, to: number): Promise<Float32Array> {
  const T = model.config.context;
  const V = model.config.vocab_size;
  const n = to - from;
  const losses = tf.tidy(() => {
    const x = tf.tensor2d(set.x.subarray(from * T, to * T), [n, T], 'int32');
    const y = tf.tensor1d(set.y.subarray(from * T, to * T), 'int32');
    const logits = tf.reshape(model.forward(x, { training: false }), [n * T, V]); // [n·T, V]
    const lse = tf.logSumExp(logits, 1); // [n·T]
    const at = tf.add(tf.mul(tf.range(0, n * T, 1, 'int32'), tf.scalar(V, 'int32')), y); // row·V + target
    const picked = tf.gather(tf.reshape(logits, [-1]), at); // logits[i, y_i]
    return tf.mean(tf.reshape(tf.sub(lse, picked), [n, T]), 1); // [n]
  });
  const out = (await losses.data()) as Float32Array;
  losses.dispose();
  return out;
}

export interface EvalSummary {
  val_loss: number;
  val_loss_se: number;
  windows: number;
  tokens: number;
}

/** Mean, standard error (see the top of this file), windows and tokens of per-window losses. */
export function summarise(losses: ArrayLike<number>, context: number): EvalSummary {
  const n = losses.length;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += losses[i]!;
  const mean = sum / n;
  let ss = 0;
  for (let i = 0; i < n; i++) ss += (losses[i]! - mean) ** 2;
  const se = n > 1 ? Math.sqrt(ss / (n - 1)) / Math.sqrt(n) : 0;
  return { val_loss: mean, val_loss_se: se, windows: n, tokens: n * context };
}

/** Something that computes the window losses of chunks on other threads (parallel/pool.ts). */
export interface EvalPool {
  readonly size: number;
  /** Publishes the current weights, then has rank r (1…size−1) compute `chunks[r]`; resolves to the losses per rank. */
  evaluate(set: EvalSetId, chunks: [number, number][][]): Promise<Float32Array[]>;
}

/** Which evaluation set: the small one of every eval_interval, or the large final one. */
export type EvalSetId = 'eval' | 'final';

/**
 * Evaluate `set` (identified to the workers as `id`) with the model's current
 * weights: chunks spread over this thread and the pool's workers in rank order.
 */
export async function evaluate(model: GPT, set: Batch, id: EvalSetId, pool?: EvalPool | null): Promise<EvalSummary> {
  const chunks = evalChunks(set.rows, evalRows(model.config));
  const ranks = pool ? Math.min(pool.size, chunks.length) : 1;
  const share = (r: number) => chunks.slice(Math.round((r * chunks.length) / ranks), Math.round(((r + 1) * chunks.length) / ranks));
  const remote = ranks > 1 ? pool!.evaluate(id, Array.from({ length: pool!.size }, (_, r) => (r > 0 && r < ranks ? share(r) : []))) : null;
  remote?.catch(() => {}); // awaited below; no unhandled rejection if this thread fails first
  const losses = new Float32Array(set.rows);
  for (const [from, to] of share(0)) losses.set(await windowLosses(model, set, from, to), from);
  if (remote) {
    const parts = await remote;
    for (let r = 1; r < ranks; r++) {
      let at = share(r)[0]?.[0] ?? 0;
      const got = parts[r]!;
      losses.set(got, at);
      at += got.length;
    }
  }
  return summarise(losses, model.config.context);
}
