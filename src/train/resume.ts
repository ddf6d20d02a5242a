/**
 * Checkpoint and resume of a training run: the weights, both Adam moments, the
 * optimizer's step count and the accumulators of the current evaluation
 * interval, saved with saveCheckpoint and restored from loadCheckpoint
 * (checkpoint.ts owns the file format).
 */
import * as tf from '@tensorflow/tfjs';
import type { GPT } from '../model/gpt.ts';
import type { AdamW } from './adamw.ts';
import { loadCheckpoint, saveCheckpoint } from './checkpoint.ts';

/** What the training loop accumulates between two evaluations (the next metrics row's train_loss and tokens/s). */
export interface IntervalStats {
  lossSum: number;
  lossCount: number;
  trainTime: number;
  tokens: number;
}

export const emptyInterval = (): IntervalStats => ({ lossSum: 0, lossCount: 0, trainTime: 0, tokens: 0 });

export async function saveRunCheckpoint(
  outDir: string,
  s: { model: GPT; opt: AdamW; step: number; elapsedS: number; seed: number; interval: IntervalStats },
): Promise<void> {
  const { model, opt } = s;
  await saveCheckpoint(outDir, {
    step: s.step,
    optimizerT: opt.t,
    elapsedS: s.elapsedS,
    seed: s.seed,
    tensors: [
      ...model.params.map((p) => ({ name: `param/${p.name}`, tensor: p.variable as tf.Tensor })),
      ...model.params.map((p, i) => ({ name: `adam_m/${p.name}`, tensor: opt.m[i] as tf.Tensor })),
      ...model.params.map((p, i) => ({ name: `adam_v/${p.name}`, tensor: opt.v[i] as tf.Tensor })),
    ],
    extra: {
      interval_loss_sum: s.interval.lossSum,
      interval_loss_count: s.interval.lossCount,
      interval_train_time: s.interval.trainTime,
      interval_tokens: s.interval.tokens,
    },
  });
}

/**
 * Loads outDir's checkpoint into the model and optimizer; returns the step it
 * was taken at, the training time before it and the interval accumulators, or
 * null when there is no checkpoint.
 */
export function restoreRunCheckpoint(outDir: string, model: GPT, opt: AdamW): { step: number; elapsedS: number; interval: IntervalStats } | null {
  const ckpt = loadCheckpoint(outDir);
  if (!ckpt) return null;
  const h = ckpt.header;
  tf.tidy(() =>
    model.params.forEach((p, i) => {
      p.variable.assign(tf.tensor(ckpt.get(`param/${p.name}`), p.variable.shape));
      opt.m[i]!.assign(tf.tensor(ckpt.get(`adam_m/${p.name}`), p.variable.shape));
      opt.v[i]!.assign(tf.tensor(ckpt.get(`adam_v/${p.name}`), p.variable.shape));
    }),
  );
  opt.t = h.optimizer_t;
  const acc = (h.extra ?? {}) as Record<string, number>;
  return {
    step: h.step,
    elapsedS: h.elapsed_s,
    interval: {
      lossSum: acc.interval_loss_sum ?? 0,
      lossCount: acc.interval_loss_count ?? 0,
      trainTime: acc.interval_train_time ?? 0,
      tokens: acc.interval_tokens ?? 0,
    },
  };
}
