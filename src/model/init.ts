/**
 * Seeded initial values for the two initialisation schemes of ModelConfig.init.
 *
 *   gpt2             (GPT-2 / nanoGPT) weights N(0, 0.02), residual projections N(0, 0.02/√(2L)),
 *                    embeddings N(0, 0.02), biases 0, LayerNorm gain 1.
 *   pytorch-default  what PyTorch's layers do when left alone (nn.Embedding: N(0, 1);
 *                    nn.Linear(fan_in, ·): weight and bias U(−1/√fan_in, 1/√fan_in)
 *                    (kaiming_uniform with a = √5 gives exactly that bound); nn.LayerNorm: 1, 0).
 */
import { Rng } from '../util/rng.ts';

/** N(0, std²) samples from a seeded stream (Box–Muller, both outputs used). */
export function normalArray(n: number, std: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    let u = rng.next();
    while (u === 0) u = rng.next();
    const r = std * Math.sqrt(-2 * Math.log(u));
    const a = 2 * Math.PI * rng.next();
    out[i] = r * Math.cos(a);
    if (i + 1 < n) out[i + 1] = r * Math.sin(a);
  }
  return out;
}

/** U(−bound, bound) samples from a seeded stream. */
export function uniformArray(n: number, bound: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (2 * rng.next() - 1) * bound;
  return out;
}

/** PyTorch's nn.Linear bound for a layer with `fanIn` inputs: 1/√fan_in. */
export function linearBound(fanIn: number): number {
  return 1 / Math.sqrt(fanIn);
}
