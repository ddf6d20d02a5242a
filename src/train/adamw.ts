import * as tf from '@tensorflow/tfjs';
import { splitFlat } from '../model/kernels/wasmBlocks.ts';

export interface Param {
  name: string;
  variable: tf.Variable;
  /** whether decoupled weight decay applies (not to biases, LayerNorm gains, embeddings) */
  decay: boolean;
}

export interface AdamWOptions {
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
}

/**
 * AdamW (Loshchilov & Hutter 2019), as torch.optim.AdamW:
 *   p ← p − lr·wd·p                      (decoupled decay, only where param.decay)
 *   m ← β1·m + (1−β1)·g
 *   v ← β2·v + (1−β2)·g²
 *   p ← p − lr · m̂ / (√v̂ + ε),   m̂ = m/(1−β1^t), v̂ = v/(1−β2^t)
 * The moments live on the backend's device as variables; nothing is read back.
 */
export class AdamW {
  readonly m: tf.Variable[];
  readonly v: tf.Variable[];
  /** number of updates applied so far */
  t = 0;
  /** true on the elements of the decayed parameters (flat, params order) */
  private readonly decayMask: tf.Tensor1D;

  constructor(
    readonly params: Param[],
    readonly opts: AdamWOptions,
  ) {
    // tidy releases the zeros; the variables keep their own copy of the data
    this.m = params.map((p) => tf.tidy(() => tf.variable(tf.zerosLike(p.variable), false)));
    this.v = params.map((p) => tf.tidy(() => tf.variable(tf.zerosLike(p.variable), false)));
    const mask = new Uint8Array(params.reduce((n, p) => n + p.variable.size, 0));
    params.reduce((at, p) => (mask.fill(p.decay ? 1 : 0, at, at + p.variable.size), at + p.variable.size), 0);
    this.decayMask = tf.tensor1d(mask, 'bool');
  }

  /**
   * Apply one update with gradients `grads` (same order as params).
   * All parameters are updated as one flat vector: the same float operations on
   * every element as one update per tensor (so the same bits), in about 15 kernels
   * instead of 15 per tensor; the results are cut back into the variables inside
   * the wasm heap (splitFlat).
   */
  step(grads: tf.Tensor[], lr: number): void {
    const { beta1, beta2, eps, weightDecay } = this.opts;
    this.t += 1;
    const bc1 = 1 - Math.pow(beta1, this.t);
    const bc2 = 1 - Math.pow(beta2, this.t);
    const flat = (ts: tf.Tensor[]) => tf.concat(ts.map((t) => tf.reshape(t, [-1]))) as tf.Tensor1D;
    const shapes = this.params.map((p) => p.variable.shape);
    tf.tidy(() => {
      const g = flat(grads);
      const m = flat(this.m).mul(beta1).add(g.mul(1 - beta1));
      const v = flat(this.v).mul(beta2).add(g.square().mul(1 - beta2));
      const update = m.div(bc1).div(v.div(bc2).sqrt().add(eps));
      let w: tf.Tensor = flat(this.params.map((p) => p.variable));
      if (weightDecay > 0 && this.params.some((p) => p.decay)) w = tf.where(this.decayMask, w.mul(1 - lr * weightDecay), w);
      const next = w.sub(update.mul(lr)) as tf.Tensor1D;
      for (const [vars, t] of [[this.m, m], [this.v, v], [this.params.map((p) => p.variable), next]] as const) {
        splitFlat(t as tf.Tensor1D, shapes).forEach((x, i) => vars[i]!.assign(x));
      }
    });
  }

  dispose(): void {
    for (const t of [...this.m, ...this.v]) t.dispose();
    this.decayMask.dispose();
  }
}

/**
 * Scale gradients so that their global L2 norm is at most maxNorm
 * (torch.nn.utils.clip_grad_norm_). Returns new tensors and the norm before
 * clipping; the caller owns (and disposes) them.
 */
export function clipByGlobalNorm(grads: tf.Tensor[], maxNorm: number): { grads: tf.Tensor[]; norm: tf.Scalar } {
  return tf.tidy(() => {
    const norm = tf.sqrt(tf.addN(grads.map((g) => g.square().sum()))) as tf.Scalar;
    if (!(maxNorm > 0)) return { grads: grads.map((g) => g.clone()), norm };
    const scale = tf.minimum(tf.scalar(1), tf.scalar(maxNorm).div(norm.add(1e-6)));
    return { grads: grads.map((g) => g.mul(scale)), norm };
  });
}
