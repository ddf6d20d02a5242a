import * as tf from '@tensorflow/tfjs';
import { wasmAdamW, wasmAdamWReady } from '../model/kernels/wasmAdamW.ts';
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
  /** largest flat update grouping several tensors (default GROUP_ELEMENTS; for tests) */
  groupElements?: number;
}

/**
 * AdamW (Loshchilov & Hutter 2019), as torch.optim.AdamW:
 *   p ← p − lr·wd·p                      (decoupled decay, only where param.decay)
 *   m ← β1·m + (1−β1)·g
 *   v ← β2·v + (1−β2)·g²
 *   p ← p − lr · m̂ / (√v̂ + ε),   m̂ = m/(1−β1^t), v̂ = v/(1−β2^t)
 * The moments live on the backend's device as variables; nothing is read back.
 */
/** Largest flat update (elements) that groups several parameter tensors. */
const GROUP_ELEMENTS = 1 << 20;

export class AdamW {
  readonly m: tf.Variable[];
  readonly v: tf.Variable[];
  /** number of updates applied so far */
  t = 0;
  /** params[from, to) updated together; mask: where weight decay applies ('all', none: null, else true on the decayed elements) */
  private readonly groups: { from: number; to: number; mask: tf.Tensor1D | 'all' | null }[] = [];

  constructor(
    readonly params: Param[],
    readonly opts: AdamWOptions,
  ) {
    // tidy releases the zeros; the variables keep their own copy of the data
    this.m = params.map((p) => tf.tidy(() => tf.variable(tf.zerosLike(p.variable), false)));
    this.v = params.map((p) => tf.tidy(() => tf.variable(tf.zerosLike(p.variable), false)));
    const cap = opts.groupElements ?? GROUP_ELEMENTS;
    for (let from = 0; from < params.length; ) {
      let to = from + 1;
      let size = params[from]!.variable.size;
      while (to < params.length && size + params[to]!.variable.size <= cap) size += params[to++]!.variable.size;
      const group = params.slice(from, to);
      const decayed = group.filter((p) => p.decay).length;
      let mask: tf.Tensor1D | 'all' | null = decayed === 0 ? null : decayed === group.length ? 'all' : null;
      if (decayed > 0 && decayed < group.length) {
        const bits = new Uint8Array(size);
        group.reduce((at, p) => (bits.fill(p.decay ? 1 : 0, at, at + p.variable.size), at + p.variable.size), 0);
        mask = tf.tensor1d(bits, 'bool');
      }
      this.groups.push({ from, to, mask });
      from = to;
    }
  }

  /**
   * Apply one update with gradients `grads` (same order as params).
   * Parameters are updated in groups of consecutive tensors of at most GROUP_ELEMENTS
   * elements (a larger tensor is a group of its own), each group as one flat vector:
   * the same float operations on every element as one update per tensor (so the same
   * bits), in about 15 kernels per group instead of 15 per tensor; the results are cut
   * back into the variables inside the wasm heap (splitFlat). The cap keeps the
   * temporaries of a large model's update as small as they were per tensor.
   */
  step(grads: tf.Tensor[], lr: number): void {
    const { beta1, beta2, eps, weightDecay } = this.opts;
    this.t += 1;
    const bc1 = 1 - Math.pow(beta1, this.t);
    const bc2 = 1 - Math.pow(beta2, this.t);
    if (wasmAdamWReady()) {
      // wasm: one kernel per tensor, the same float32 operations (so the same bits) as the groups below
      this.params.forEach((p, i) =>
        tf.tidy(() => {
          const decay = weightDecay > 0 && p.decay ? 1 - lr * weightDecay : 1;
          const [w, m, v] = wasmAdamW(p.variable, grads[i]!, this.m[i]!, this.v[i]!, { beta1, beta2, bc1, bc2, eps, lr, decay });
          p.variable.assign(w);
          this.m[i]!.assign(m);
          this.v[i]!.assign(v);
        }),
      );
      return;
    }
    const flat = (ts: tf.Tensor[]) => (ts.length === 1 ? tf.reshape(ts[0]!, [-1]) : tf.concat(ts.map((t) => tf.reshape(t, [-1])))) as tf.Tensor1D;
    for (const { from, to, mask } of this.groups) {
      const params = this.params.slice(from, to).map((p) => p.variable);
      const shapes = params.map((p) => p.shape);
      tf.tidy(() => {
        const g = flat(grads.slice(from, to));
        const m = flat(this.m.slice(from, to)).mul(beta1).add(g.mul(1 - beta1));
        const v = flat(this.v.slice(from, to)).mul(beta2).add(g.square().mul(1 - beta2));
        const update = m.div(bc1).div(v.div(bc2).sqrt().add(eps));
        let w: tf.Tensor = flat(params);
        if (weightDecay > 0 && mask) w = mask === 'all' ? w.mul(1 - lr * weightDecay) : tf.where(mask, w.mul(1 - lr * weightDecay), w);
        const next = w.sub(update.mul(lr)) as tf.Tensor1D;
        for (const [vars, t] of [[this.m.slice(from, to), m], [this.v.slice(from, to), v], [params, next]] as const) {
          splitFlat(t as tf.Tensor1D, shapes).forEach((x, i) => vars[i]!.assign(x));
        }
      });
    }
  }

  dispose(): void {
    for (const t of [...this.m, ...this.v]) t.dispose();
    for (const g of this.groups) if (g.mask instanceof tf.Tensor) g.mask.dispose();
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
