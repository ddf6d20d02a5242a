/**
 * The gradient of a share of a batch: what every rank computes each step, the
 * main thread (step.ts) and each worker thread (parallel/worker.ts) alike.
 */
import * as tf from '@tensorflow/tfjs';
import type { BatchSampler } from '../data/batches.ts';
import type { GPT } from '../model/gpt.ts';
import { hashSeed } from '../util/rng.ts';

/**
 * Where a step's time goes (bench --profile):
 *   data           drawing the rows and uploading them as tensors
 *   forward        the loss of each micro-batch
 *   backward       its gradients, accumulated over micro-batches
 *   communication  weights out to the workers, gradients and losses back, their sum
 *   wait           waiting for the slowest worker (load imbalance)
 *   optimizer      global-norm clipping and the AdamW update
 */
export type StepPhase = 'data' | 'forward' | 'backward' | 'communication' | 'wait' | 'optimizer';

/**
 * Optional per-phase timer. Phases nest (forward runs inside backward's
 * variableGrads); a timer should count each phase's time without its inner
 * phases', and time a phase that returns tensors up to a sync on them.
 */
export interface StepTimer {
  phase<T>(name: StepPhase, f: () => T): T;
  /** adds time measured by the caller (e.g. awaiting other threads) */
  record(name: StepPhase, ms: number): void;
}

export const noTimer: StepTimer = { phase: (_n, f) => f(), record: () => {} };

/**
 * Micro-batches of rows [from, to) of a batch: consecutive slices of at most
 * `microBatch` rows, each weighted by its share rows/batch of the batch mean.
 */
export function microBatches(from: number, to: number, microBatch: number, batch: number): { from: number; to: number; weight: number }[] {
  const out: { from: number; to: number; weight: number }[] = [];
  for (let r = from; r < to; r += microBatch) {
    const r1 = Math.min(to, r + microBatch);
    out.push({ from: r, to: r1, weight: (r1 - r) / batch });
  }
  return out;
}

export interface GradientSetup {
  model: GPT;
  sampler: BatchSampler;
  batch: number;
  microBatch: number;
  seed: number;
}

/**
 * Σ over the micro-batches m of rows [from, to) of step `step`'s batch of
 * (rows_m / batch) · (loss_m, ∇loss_m): this share's part of the batch-mean loss
 * and of its gradient (params order). Summing the parts of a partition of
 * [0, batch) gives the batch's mean loss and gradient. The caller owns the tensors.
 */
export function accumulateGradients(
  s: GradientSetup,
  step: number,
  from: number,
  to: number,
  timer: StepTimer = noTimer,
): { grads: tf.Tensor[]; loss: tf.Scalar } {
  const { model, sampler } = s;
  const context = model.config.context;
  const vars = model.params.map((p) => p.variable);
  let gradSum: tf.Tensor[] | null = null;
  let lossSum: tf.Scalar = tf.scalar(0);
  for (const mb of microBatches(from, to, s.microBatch, s.batch)) {
    const rows = mb.to - mb.from;
    const { xt, yt } = timer.phase('data', () => {
      const { x, y } = sampler.batch(step, mb.from, mb.to);
      return { xt: tf.tensor2d(x, [rows, context], 'int32'), yt: tf.tensor2d(y, [rows, context], 'int32') };
    });
    // dropout masks are seeded by the micro-batch's first row, whatever thread computes it
    const dropoutSeed = hashSeed(s.seed, step, mb.from, 7);
    const { value, grads } = timer.phase('backward', () =>
      tf.variableGrads(() => timer.phase('forward', () => model.loss(xt, yt, { training: true, dropoutSeed })), vars),
    );
    xt.dispose();
    yt.dispose();
    const ordered = vars.map((v) => grads[v.name]!);
    const prev: tf.Tensor[] | null = gradSum;
    const next: tf.Tensor[] = tf.tidy(() => ordered.map((g, i): tf.Tensor => (prev ? prev[i]!.add(g.mul(mb.weight)) : g.mul(mb.weight))));
    const nextLoss = tf.tidy(() => lossSum.add(value.mul(mb.weight))) as tf.Scalar;
    prev?.forEach((g) => g.dispose());
    ordered.forEach((g) => g.dispose());
    value.dispose();
    lossSum.dispose();
    gradSum = next;
    lossSum = nextLoss;
  }
  if (!gradSum) throw new RangeError(`no rows in [${from}, ${to})`);
  return { grads: gradSum, loss: lossSum };
}
