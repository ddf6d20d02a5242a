import * as tf from '@tensorflow/tfjs';

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

  constructor(
    readonly params: Param[],
    readonly opts: AdamWOptions,
  ) {
    // tidy releases the zeros; the variables keep their own copy of the data
    this.m = params.map((p) => tf.tidy(() => tf.variable(tf.zerosLike(p.variable), false)));
    this.v = params.map((p) => tf.tidy(() => tf.variable(tf.zerosLike(p.variable), false)));
  }

  /** Apply one update with gradients `grads` (same order as params). */
  step(grads: tf.Tensor[], lr: number): void {
    const { beta1, beta2, eps, weightDecay } = this.opts;
    this.t += 1;
    const bc1 = 1 - Math.pow(beta1, this.t);
    const bc2 = 1 - Math.pow(beta2, this.t);
    tf.tidy(() => {
      this.params.forEach((p, i) => {
        const g = grads[i]!;
        const m = this.m[i]!.mul(beta1).add(g.mul(1 - beta1));
        const v = this.v[i]!.mul(beta2).add(g.square().mul(1 - beta2));
        this.m[i]!.assign(m);
        this.v[i]!.assign(v);
        const update = m.div(bc1).div(v.div(bc2).sqrt().add(eps));
        let w: tf.Tensor = p.variable;
        if (p.decay && weightDecay > 0) w = w.mul(1 - lr * weightDecay);
        p.variable.assign(w.sub(update.mul(lr)));
      });
    });
  }

  dispose(): void {
    for (const t of [...this.m, ...this.v]) t.dispose();
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
