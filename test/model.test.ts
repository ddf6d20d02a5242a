/**
 * The GPT's forward pass and hand-written gradients: checked against a plain-ops
 * reference with tfjs's built-in gradients (cpu backend), across backends (wasm vs
 * cpu), and by training; plus the memory estimate against a measured peak on wasm.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../src/backend.ts';
import { parseModelConfig, resolveModelConfig, type ResolvedModelConfig } from '../src/model/config.ts';
import { GPT, estimateStepBytes } from '../src/model/gpt.ts';
import { embedding, headCrossEntropy } from '../src/model/ops.ts';
import { Rng, hashSeed } from '../src/util/rng.ts';

function config(o: Record<string, unknown>, vocab: number): ResolvedModelConfig {
  return resolveModelConfig(parseModelConfig(o, 'test'), vocab);
}

/**
 * nanoGPT's forward written with plain tfjs ops (built-in gradients), on the GPT's own variables.
 * With `drop`, dropout on the attention probabilities and the MLP output as the model's batched
 * attention layout and its trunk draw them (seeds hashSeed(seed0, layer, site)).
 */
function referenceLoss(m: GPT, idx: tf.Tensor2D, tgt: tf.Tensor2D, drop?: { rate: number; seed0: number }): tf.Scalar {
  const c = m.config;
  const [B, T] = idx.shape;
  const d = c.d_model, H = c.n_heads, hd = d / H;
  const P = new Map(m.params.map((p) => [p.name, p.variable as tf.Tensor]));
  const g = (n: string) => P.get(n)!;
  const ln = (x: tf.Tensor, pre: string) => {
    const { mean, variance } = tf.moments(x, -1, true);
    const y = tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, 1e-5))), g(pre + '.weight'));
    return P.has(pre + '.bias') ? tf.add(y, g(pre + '.bias')) : y;
  };
  const lin = (x: tf.Tensor, pre: string) => {
    const y = tf.matMul(x as tf.Tensor2D, g(pre + '.weight') as tf.Tensor2D);
    return P.has(pre + '.bias') ? tf.add(y, g(pre + '.bias')) : y;
  };
  let x: tf.Tensor = tf.add(tf.gather(g('wte'), tf.reshape(idx, [-1])), tf.tile(tf.slice(g('wpe'), [0, 0], [T, d]), [B, 1]));
  const causal = tf.cast(tf.linalg.bandPart(tf.ones([T, T]), -1, 0), 'bool');
  for (let l = 0; l < c.n_layers; l++) {
    const p = `h.${l}.`;
    const qkv = lin(ln(x, p + 'ln_1'), p + 'attn.c_attn');
    const [q, k, v] = tf.split(qkv, 3, 1).map((t) => tf.reshape(tf.transpose(tf.reshape(t, [B, T, H, hd]), [0, 2, 1, 3]), [B * H, T, hd]));
    let s = tf.div(tf.matMul(q!, k!, false, true), Math.sqrt(hd));
    s = tf.where(tf.broadcastTo(causal, s.shape), s, tf.fill(s.shape, -1e9));
    let pr = tf.softmax(s);
    if (drop) {
      const u = tf.randomUniform(pr.shape, 0, 1, 'float32', hashSeed(drop.seed0, l, 0));
      pr = tf.mul(pr, tf.div(tf.cast(tf.greaterEqual(u, drop.rate), 'float32'), 1 - drop.rate));
    }
    const y = tf.reshape(tf.transpose(tf.reshape(tf.matMul(pr, v!), [B, H, T, hd]), [0, 2, 1, 3]), [B * T, d]);
    x = tf.add(x, lin(y, p + 'attn.c_proj'));
    const u = lin(ln(x, p + 'ln_2'), p + 'mlp.c_fc');
    // GPT-2's tanh GELU, written the textbook way
    const gelu = tf.mul(tf.mul(u, 0.5), tf.add(1, tf.tanh(tf.mul(Math.sqrt(2 / Math.PI), tf.add(u, tf.mul(0.044715, tf.pow(u, 3)))))));
    const act = c.activation === 'relu' ? tf.maximum(u, 0) : gelu;
    const mlpOut = lin(act, p + 'mlp.c_proj');
    x = tf.add(x, drop ? tf.dropout(mlpOut, drop.rate, undefined, hashSeed(drop.seed0, l, 2)) : mlpOut);
  }
  const W = P.get('lm_head.weight') ?? g('wte');
  let logits = tf.matMul(ln(x, 'ln_f') as tf.Tensor2D, W as tf.Tensor2D, false, true);
  if (P.has('lm_head.bias')) logits = tf.add(logits, g('lm_head.bias'));
  const onehot = tf.oneHot(tf.reshape(tgt, [-1]) as tf.Tensor1D, c.vocab_size);
  return tf.neg(tf.mean(tf.sum(tf.mul(onehot, tf.logSoftmax(logits)), -1)));
}

/** Replace GPT-2's small init by larger seeded values so that gradients are O(0.01–1), not O(1e-4). */
function perturb(m: GPT, seed: number): void {
  const rng = new Rng(seed);
  for (const p of m.params) {
    const v = p.variable;
    const base = p.name.endsWith('ln_1.weight') || p.name.endsWith('ln_2.weight') || p.name === 'ln_f.weight' ? 1 : 0;
    const vals = Float32Array.from({ length: v.size }, () => base + 0.3 * rng.normal());
    const t = tf.tensor(vals, v.shape);
    v.assign(t);
    t.dispose();
  }
}

function ids(n: number, vocab: number, seed: number): number[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => rng.int(vocab));
}

/** Loss and gradients (by parameter name) of the model's own loss. */
function lossAndGrads(m: GPT, x: number[], y: number[], B: number, T: number, f?: (idx: tf.Tensor2D, tgt: tf.Tensor2D) => tf.Scalar) {
  return tf.tidy(() => {
    const idx = tf.tensor2d(x, [B, T], 'int32');
    const tgt = tf.tensor2d(y, [B, T], 'int32');
    const vars = m.params.map((p) => p.variable);
    const { value, grads } = tf.variableGrads(() => (f ? f(idx, tgt) : m.loss(idx, tgt)), vars);
    const out: Record<string, Float32Array> = {};
    for (const p of m.params) out[p.name] = grads[p.variable.name]!.dataSync() as Float32Array;
    return { loss: value.dataSync()[0]!, grads: out };
  });
}

function maxAbsDiff(a: Record<string, Float32Array>, b: Record<string, Float32Array>): number {
  let worst = 0;
  for (const k of Object.keys(a)) {
    const x = a[k]!, y = b[k]!;
    expect(y.length).toBe(x.length);
    for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(x[i]! - y[i]!));
  }
  return worst;
}

function maxAbs(a: Record<string, Float32Array>): number {
  let m = 0;
  for (const v of Object.values(a)) for (const x of v) m = Math.max(m, Math.abs(x));
  return m;
}

const B = 3, T = 8, V = 11;
const X = ids(B * T, V, 1), Y = ids(B * T, V, 2);
const variants: [string, Record<string, unknown>][] = [
  ['tied, bias', { tie_embeddings: true, bias: true }],
  ['untied, no bias', { tie_embeddings: false, bias: false }],
  // the blog's layout (Karpathy's "GPT from scratch")
  ['relu, bias-free qkv, untied head with bias, pytorch init', { tie_embeddings: false, head_bias: true, attn_bias: false, activation: 'relu', init: 'pytorch-default' }],
];

beforeAll(async () => {
  await initBackend('wasm', { quiet: true }); // registers wasm (and sets its .wasm paths)
  await tf.setBackend('cpu');
});

describe('GPT gradients', () => {
  for (const [label, o] of variants) {
    const cfg = config({ context: 8, d_model: 16, n_layers: 2, n_heads: 2, ...o }, V);

    it(`equal tfjs's built-in gradients of a plain-ops reference (cpu; ${label})`, async () => {
      await tf.setBackend('cpu');
      const m = new GPT(cfg);
      perturb(m, 7);
      const mine = lossAndGrads(m, X, Y, B, T);
      const ref = lossAndGrads(m, X, Y, B, T, (i, t) => referenceLoss(m, i, t));
      expect(mine.loss).toBeGreaterThan(1);
      expect(Math.abs(mine.loss - ref.loss)).toBeLessThan(1e-5);
      expect(maxAbs(ref.grads)).toBeGreaterThan(0.05);
      expect(maxAbsDiff(mine.grads, ref.grads)).toBeLessThan(1e-4);
      m.dispose();
    });

    it(`are the same on wasm as on cpu, chunked loss included (${label})`, async () => {
      await tf.setBackend('cpu');
      const mc = new GPT(cfg);
      perturb(mc, 7);
      const onCpu = lossAndGrads(mc, X, Y, B, T);
      mc.dispose();
      await tf.setBackend('wasm');
      // 5 rows of 11 logits per chunk: the 24 rows go through 5 chunks, recomputed in the backward
      for (const maxLogitsPerChunk of [undefined, 5 * V]) {
        const mw = new GPT(cfg, { maxLogitsPerChunk });
        perturb(mw, 7);
        const onWasm = lossAndGrads(mw, X, Y, B, T);
        expect(Math.abs(onWasm.loss - onCpu.loss)).toBeLessThan(1e-5);
        expect(maxAbsDiff(onWasm.grads, onCpu.grads)).toBeLessThan(1e-4);
        mw.dispose();
      }
      await tf.setBackend('cpu');
    });
  }

  it('equal the reference with dropout on the attention probabilities and the MLP output only (cpu, batched layout)', async () => {
    await tf.setBackend('cpu');
    const cfg = config({ context: 8, d_model: 16, n_layers: 2, n_heads: 2, dropout: 0.3, dropout_sites: ['attention', 'mlp'], activation: 'relu' }, V);
    const m = new GPT(cfg, { attention: 'batched' });
    perturb(m, 7);
    const o = { training: true, dropoutSeed: 99 };
    const mine = lossAndGrads(m, X, Y, B, T, (i, t) => m.loss(i, t, o));
    const ref = lossAndGrads(m, X, Y, B, T, (i, t) => referenceLoss(m, i, t, { rate: 0.3, seed0: 99 }));
    const evalRun = lossAndGrads(m, X, Y, B, T);
    expect(Math.abs(mine.loss - evalRun.loss)).toBeGreaterThan(1e-3); // the masks did something
    expect(Math.abs(mine.loss - ref.loss)).toBeLessThan(1e-5);
    expect(maxAbsDiff(mine.grads, ref.grads)).toBeLessThan(1e-4);
    m.dispose();
  });
});

describe('sparse pieces', () => {
  it('embedding gradient sums the rows of repeated ids on wasm (scatterND)', async () => {
    await tf.setBackend('wasm');
    const table = tf.variable(tf.zeros([5, 2]));
    const idsT = tf.tensor1d([1, 3, 1, 1, 0], 'int32');
    const dy = tf.tensor2d([[1, 2], [3, 4], [5, 6], [7, 8], [9, 10]]);
    const { grads } = tf.variableGrads(() => tf.sum(tf.mul(embedding(table as tf.Tensor2D, idsT), dy)), [table]);
    // row 1 gets dy rows 0, 2, 3: (1+5+7, 2+6+8); row 3 gets row 1; row 0 gets row 4
    expect(Array.from(grads[table.name]!.dataSync())).toEqual([9, 10, 13, 16, 0, 0, 3, 4, 0, 0]);
    tf.dispose([table, idsT, dy, grads[table.name]!]);
    await tf.setBackend('cpu');
  });

  it('head cross-entropy equals logsumexp − target logit, worked by hand', async () => {
    await tf.setBackend('wasm');
    // x·Wᵀ with W = I gives logits = x. Row 0: logits (0, ln 3), target 1:
    // lse = ln(1 + 3) = ln 4, loss = ln 4 − ln 3 = ln(4/3). Row 1: logits (0, 0), target 0: loss = ln 2.
    const x = tf.tensor2d([[0, Math.log(3)], [0, 0]]);
    const W = tf.eye(2) as tf.Tensor2D;
    const t = tf.tensor1d([1, 0], 'int32');
    const loss = headCrossEntropy(x, W, t, 100);
    expect(loss.dataSync()[0]).toBeCloseTo((Math.log(4 / 3) + Math.log(2)) / 2, 6);
    // d loss / d x = (softmax − onehot)·W / N: row 0 (1/4, 3/4 − 1)/2, row 1 (1/2 − 1, 1/2)/2
    const g = tf.grad((xx: tf.Tensor) => headCrossEntropy(xx as tf.Tensor2D, W, t, 1))(x);
    const expected = [0.125, -0.125, -0.25, 0.25];
    Array.from(g.dataSync()).forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 6));
    tf.dispose([x, W, t, loss, g]);
    await tf.setBackend('cpu');
  });
});

describe('GPT model', () => {
  const cfg = config({ context: 8, d_model: 16, n_layers: 2, n_heads: 2, dropout: 0.2 }, V);

  it('is deterministic from the seed and uses GPT-2 init', async () => {
    await tf.setBackend('cpu');
    const a = new GPT(cfg), b = new GPT(cfg), c = new GPT({ ...cfg, seed: 1 });
    const wa = a.params[0]!.variable.dataSync(), wb = b.params[0]!.variable.dataSync(), wc = c.params[0]!.variable.dataSync();
    expect(Array.from(wa)).toEqual(Array.from(wb));
    expect(Array.from(wa)).not.toEqual(Array.from(wc));
    const std = (name: string) => {
      const v = a.params.find((p) => p.name === name)!.variable.dataSync() as Float32Array;
      return Math.sqrt(v.reduce((s: number, x: number) => s + x * x, 0) / v.length);
    };
    expect(std('wte')).toBeGreaterThan(0.017);
    expect(std('wte')).toBeLessThan(0.023);
    // residual projections: 0.02/√(2·n_layers) = 0.01 (d×4d = 1024 samples)
    expect(std('h.0.mlp.c_proj.weight')).toBeGreaterThan(0.009);
    expect(std('h.0.mlp.c_proj.weight')).toBeLessThan(0.011);
    expect(Array.from(a.params.find((p) => p.name === 'h.1.ln_2.weight')!.variable.dataSync())).toEqual(new Array(16).fill(1));
    expect(Array.from(a.params.find((p) => p.name === 'h.1.attn.c_attn.bias')!.variable.dataSync())).toEqual(new Array(48).fill(0));
    const decayed = a.params.filter((p) => p.decay).map((p) => p.name);
    expect(decayed).toEqual(['h.0.attn.c_attn.weight', 'h.0.attn.c_proj.weight', 'h.0.mlp.c_fc.weight', 'h.0.mlp.c_proj.weight',
      'h.1.attn.c_attn.weight', 'h.1.attn.c_proj.weight', 'h.1.mlp.c_fc.weight', 'h.1.mlp.c_proj.weight']);
    [a, b, c].forEach((m) => m.dispose());
  });

  it('forward gives [B, T, V] logits whose cross-entropy is the loss; starts near ln V', async () => {
    await tf.setBackend('wasm');
    const m = new GPT(cfg);
    tf.tidy(() => {
      const idx = tf.tensor2d(X, [B, T], 'int32'), tgt = tf.tensor2d(Y, [B, T], 'int32');
      const logits = m.forward(idx);
      expect(logits.shape).toEqual([B, T, V]);
      const ce = tf.losses.softmaxCrossEntropy(tf.oneHot(tf.reshape(tgt, [-1]) as tf.Tensor1D, V), tf.reshape(logits, [B * T, V]));
      const loss = m.loss(idx, tgt).dataSync()[0]!;
      expect(loss).toBeCloseTo(ce.dataSync()[0]!, 5);
      expect(Math.abs(loss - Math.log(V))).toBeLessThan(0.1); // GPT-2 init: near-uniform predictions
    });
    m.dispose();
    await tf.setBackend('cpu');
  });

  it('applies dropout only when training, reproducibly from dropoutSeed', async () => {
    await tf.setBackend('wasm');
    const m = new GPT(cfg);
    perturb(m, 3);
    const loss = (o: Parameters<GPT['loss']>[2]) =>
      tf.tidy(() => m.loss(tf.tensor2d(X, [B, T], 'int32'), tf.tensor2d(Y, [B, T], 'int32'), o).dataSync()[0]!);
    const evalLoss = loss({});
    expect(loss({ training: false, dropoutSeed: 5 })).toBe(evalLoss);
    const a = loss({ training: true, dropoutSeed: 5 });
    expect(loss({ training: true, dropoutSeed: 5 })).toBe(a);
    expect(a).not.toBe(evalLoss);
    expect(loss({ training: true, dropoutSeed: 6 })).not.toBe(a);
    // gradients flow through the dropout masks (same masks in forward and backward)
    const g = tf.tidy(() => {
      const { grads } = tf.variableGrads(() => m.loss(tf.tensor2d(X, [B, T], 'int32'), tf.tensor2d(Y, [B, T], 'int32'), { training: true, dropoutSeed: 5 }));
      return Object.values(grads).every((t) => t.dataSync().every(Number.isFinite));
    });
    expect(g).toBe(true);
    m.dispose();
    await tf.setBackend('cpu');
  });

  it('trains on wasm: 150 Adam steps on one repeated batch drive the loss from ln V to near zero', async () => {
    await tf.setBackend('wasm');
    const c = config({ context: 16, d_model: 32, n_layers: 2, n_heads: 2 }, 32);
    const m = new GPT(c);
    const x = ids(4 * 16, 32, 11), y = ids(4 * 16, 32, 12); // random targets: only memorisation lowers the loss
    const idx = tf.tensor2d(x, [4, 16], 'int32'), tgt = tf.tensor2d(y, [4, 16], 'int32');
    const opt = tf.train.adam(1e-2);
    const vars = m.params.map((p) => p.variable);
    const losses: number[] = [];
    for (let s = 0; s < 150; s++) {
      const l = opt.minimize(() => m.loss(idx, tgt), true, vars)!;
      losses.push(l.dataSync()[0]!);
      l.dispose();
    }
    expect(losses[0]).toBeGreaterThan(Math.log(32) - 0.1);
    expect(losses[149]).toBeLessThan(0.2);
    opt.dispose();
    tf.dispose([idx, tgt]);
    m.dispose();
    await tf.setBackend('cpu');
  });

  it('leaks no tensors over a training step', async () => {
    await tf.setBackend('wasm');
    const m = new GPT(cfg);
    const idx = tf.tensor2d(X, [B, T], 'int32'), tgt = tf.tensor2d(Y, [B, T], 'int32');
    const step = () => {
      const { value, grads } = tf.variableGrads(() => m.loss(idx, tgt, { training: true, dropoutSeed: 1 }));
      tf.dispose([value, ...Object.values(grads)]);
    };
    step(); // first call creates the cached causal mask
    const before = tf.memory().numTensors;
    step();
    tf.tidy(() => m.forward(idx)).dispose();
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([idx, tgt]);
    m.dispose();
    await tf.setBackend('cpu');
  });
});

describe('estimateStepBytes', () => {
  it('covers the measured peak of one forward+backward on wasm, within 45%', async () => {
    await tf.setBackend('wasm');
    const c = config({ context: 128, d_model: 64, n_layers: 2, n_heads: 4 }, 2048);
    for (const micro of [2, 4]) {
      const m = new GPT(c);
      const idx = tf.tensor2d(ids(micro * 128, 2048, 1), [micro, 128], 'int32');
      const tgt = tf.tensor2d(ids(micro * 128, 2048, 2), [micro, 128], 'int32');
      const before = tf.memory().numBytes;
      const prof = await tf.profile(() => {
        const { value, grads } = tf.variableGrads(() => m.loss(idx, tgt));
        tf.dispose([value, ...Object.values(grads)]);
      });
      const peak = prof.peakBytes - before;
      const est = estimateStepBytes(c, micro);
      expect(est).toBeGreaterThanOrEqual(peak);
      expect(est).toBeLessThan(1.45 * peak); // 1.35-1.40 since GELU and LayerNorm run as wasm kernels (estimateStepBytes)
      tf.dispose([idx, tgt]);
      m.dispose();
    }
    await tf.setBackend('cpu');
  });

  it('grows linearly with the micro-batch and uses chunked logits for large vocabularies', () => {
    const c = config({ context: 256, d_model: 128, n_layers: 4, n_heads: 4 }, 50257);
    const e1 = estimateStepBytes(c, 1), e2 = estimateStepBytes(c, 2), e3 = estimateStepBytes(c, 3);
    expect(e3 - e2).toBeCloseTo(e2 - e1, -3);
    // 32×256 rows × 50257 logits are 1.6 GB per copy and the head holds 3 copies (4.9 GB);
    // chunks of 2^27 / 50257 = 2670 rows cap the head term at 3·2670·50257·4 B = 1.6 GB
    const e32 = estimateStepBytes(c, 32);
    const unchunked = estimateStepBytes(c, 32, { maxLogitsPerChunk: 2 ** 40 });
    expect(unchunked - e32).toBeCloseTo(3 * 4 * (8192 - 2670) * 50257, -3);
    expect(e32).toBeLessThan(3.2e9);
  });
});
