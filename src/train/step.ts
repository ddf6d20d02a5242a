import * as tf from '@tensorflow/tfjs';
import type { BatchSampler } from '../data/batches.ts';
import type { GPT } from '../model/gpt.ts';
import { hashSeed } from '../util/rng.ts';
import { clipByGlobalNorm, type AdamW } from './adamw.ts';
import type { WorkerPool } from './parallel/pool.ts';

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
  pool?: WorkerPool | null;
}

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
  const value = (await loss.data())[0]!; // asynchronous: webgpu under Node cannot read back synchronously
  timer.record('communication', performance.now() - t0);
  loss.dispose();
  return value;
}

/**
 * A StepTimer that sums each phase's exclusive wall time (inner phases are not
 * counted in the outer one) and syncs on the smallest tensor a phase returns, so
 * that asynchronous backends are timed up to the end of the phase's work.
 */
export class PhaseTimer implements StepTimer {
  readonly totals: Partial<Record<StepPhase, number>> = {};
  private readonly inner: number[] = [];

  phase<T>(name: StepPhase, f: () => T): T {
    this.inner.push(0);
    const t0 = performance.now();
    const r = f();
    syncOn(r);
    const dt = performance.now() - t0;
    const innerMs = this.inner.pop()!;
    this.totals[name] = (this.totals[name] ?? 0) + dt - innerMs;
    if (this.inner.length) this.inner[this.inner.length - 1]! += dt;
    return r;
  }

  record(name: StepPhase, ms: number): void {
    this.totals[name] = (this.totals[name] ?? 0) + ms;
  }

  /** Adds another timer's totals (e.g. a worker's) into this one. */
  add(totals: Partial<Record<StepPhase, number>>): void {
    for (const [k, v] of Object.entries(totals)) this.totals[k as StepPhase] = (this.totals[k as StepPhase] ?? 0) + v;
  }
}

/** Reads the smallest tensor found in r (a tensor, an array or an object of them): a sync point. */
function syncOn(r: unknown): void {
  const found: tf.Tensor[] = [];
  const visit = (v: unknown) => {
    if (v instanceof tf.Tensor) found.push(v);
    else if (Array.isArray(v)) v.forEach(visit);
    else if (v && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) Object.values(v).forEach(visit);
  };
  visit(r);
  const live = found.filter((t) => !t.isDisposed);
  // webgpu cannot read back synchronously: its phases are timed up to dispatch only
  if (live.length && tf.getBackend() !== 'webgpu') live.reduce((a, b) => (b.size < a.size ? b : a)).dataSync();
}
