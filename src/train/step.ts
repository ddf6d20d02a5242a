import * as tf from '@tensorflow/tfjs';
import type { BatchSampler } from '../data/batches.ts';
import type { GPT } from '../model/gpt.ts';
import { hashSeed } from '../util/rng.ts';
import { clipByGlobalNorm, type AdamW } from './adamw.ts';

export interface StepSetup {
  model: GPT;
  opt: AdamW;
  sampler: BatchSampler;
  batch: number;
  microBatch: number;
  gradClip: number;
  seed: number;
}

/** Optional per-phase timer (bench --profile); phases are timed with a sync at their end. */
export interface StepTimer {
  phase<T>(name: 'data' | 'forward_backward' | 'optimizer' | 'readback', f: () => T): T;
}

const noTimer: StepTimer = { phase: (_n, f) => f() };

/**
 * One optimizer step: gradients of the mean loss over `batch` sequences,
 * accumulated over batch/microBatch equal micro-batches, clipped by global
 * norm, then one AdamW update. Returns the batch's mean training loss.
 * Everything stays on the backend's device; only the loss is read back.
 */
export async function trainStep(s: StepSetup, step: number, lr: number, timer: StepTimer = noTimer): Promise<number> {
  const { model, opt, sampler, batch, microBatch } = s;
  const context = model.config.context;
  const nMicro = batch / microBatch;
  const vars = model.params.map((p) => p.variable);
  let gradSum: tf.Tensor[] | null = null;
  let lossSum: tf.Scalar = tf.scalar(0);
  for (let m = 0; m < nMicro; m++) {
    const { xt, yt } = timer.phase('data', () => {
      const { x, y } = sampler.batch(step, m * microBatch, (m + 1) * microBatch);
      return {
        xt: tf.tensor2d(x, [microBatch, context], 'int32'),
        yt: tf.tensor2d(y, [microBatch, context], 'int32'),
      };
    });
    const { value, grads } = timer.phase('forward_backward', () =>
      tf.variableGrads(() => model.loss(xt, yt, { training: true, dropoutSeed: hashSeed(s.seed, step, m, 7) }), vars),
    );
    xt.dispose();
    yt.dispose();
    // the batch loss is the mean of the equal-sized micro-batch losses
    const w = 1 / nMicro;
    const ordered = vars.map((v) => grads[v.name]!);
    const prev: tf.Tensor[] | null = gradSum;
    const next: tf.Tensor[] = tf.tidy(() => ordered.map((g, i): tf.Tensor => (prev ? prev[i]!.add(g.mul(w)) : g.mul(w))));
    const nextLoss = tf.tidy(() => lossSum.add(value.mul(w))) as tf.Scalar;
    prev?.forEach((g) => g.dispose());
    ordered.forEach((g) => g.dispose());
    value.dispose();
    lossSum.dispose();
    gradSum = next;
    lossSum = nextLoss;
  }
  timer.phase('optimizer', () => {
    const { grads: clipped, norm } = clipByGlobalNorm(gradSum!, s.gradClip);
    opt.step(clipped, lr);
    gradSum!.forEach((g) => g.dispose());
    clipped.forEach((g) => g.dispose());
    norm.dispose();
  });
  const loss = await timer.phase('readback', () => lossSum.data());
  lossSum.dispose();
  return loss[0]!;
}
