/**
 * One optimizer step: the batch's gradient (on this thread, or summed over the
 * worker pool), clipped by global norm, then one AdamW update.
 */
import type { Tensor } from '@tensorflow/tfjs';
import type { BatchSampler } from '../data/batches.ts';
import type { GPT } from '../model/gpt.ts';
import { clipByGlobalNorm, type AdamW } from './adamw.ts';
import { accumulateGradients, noTimer, type StepTimer } from './gradients.ts';

export { accumulateGradients, microBatches, noTimer, type GradientSetup, type StepPhase, type StepTimer } from './gradients.ts';
export { PhaseTimer } from './phaseTimer.ts';

/** The data-parallel pool as a step sees it (parallel/pool.ts). */
export interface GradientPool {
  gradients(step: number, timer?: StepTimer): Promise<{ grads: Tensor[]; loss: number }>;
}

export interface StepSetup {
  model: GPT;
  opt: AdamW;
  sampler: BatchSampler;
  batch: number;
  /** sequences per forward/backward pass (per worker) */
  microBatch: number;
  gradClip: number;
  seed: number;
  /** data-parallel worker threads; absent or null: the whole batch on this thread */
  pool?: GradientPool | null;
}

/**
 * One optimizer step: gradients of the mean loss over `batch` sequences,
 * accumulated over micro-batches (split across the pool's workers when there
 * is one), clipped by global norm, then one AdamW update. Returns the batch's
 * mean training loss.
 */
export async function trainStep(s: StepSetup, step: number, lr: number, timer: StepTimer = noTimer): Promise<number> {
  const { grads, loss } = s.pool ? await s.pool.gradients(step, timer) : accumulateGradients(s, step, 0, s.batch, timer);
  timer.phase('optimizer', () => {
    const { grads: clipped, norm } = clipByGlobalNorm(grads, s.gradClip);
    s.opt.step(clipped, lr);
    grads.forEach((g) => g.dispose());
    clipped.forEach((g) => g.dispose());
    norm.dispose();
    return s.model.params[s.model.params.length - 1]!.variable; // updated last: a sync point for the timer
  });
  if (typeof loss === 'number') return loss;
  const t0 = performance.now();
  const value = (await loss.data())[0]!; // asynchronous read-back: every backend can do it
  timer.record('communication', performance.now() - t0);
  loss.dispose();
  return value;
}
