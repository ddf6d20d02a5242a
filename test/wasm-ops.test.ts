/**
 * The ops that run the project's own wasm kernels on the wasm backend (LayerNorm, GELU,
 * products, fused attention) against the same ops on the cpu backend, where they are
 * plain tfjs kernels with hand-written gradients: values and gradients agree to float
 * rounding, on sizes that hit every vector tail. The whole model too: loss and every
 * gradient of a GPT on wasm (all kernels ours) against cpu.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend, kernelLayouts } from '../src/backend.ts';
import { parseModelConfig, resolveModelConfig } from '../src/model/config.ts';
import { GPT } from '../src/model/gpt.ts';
import { useKernelLayouts } from '../src/model/kernels/layouts.ts';
import { wasmPointwiseReady, wasmSoftmax } from '../src/model/kernels/wasmPointwise.ts';
import { wasmProductsReady } from '../src/model/kernels/wasmProducts.ts';
import { gelu, layerNorm, linear } from '../src/model/ops.ts';
import { AdamW } from '../src/train/adamw.ts';
import { wasmAdamWReady } from '../src/model/kernels/wasmAdamW.ts';
import { Rng } from '../src/util/rng.ts';
import { sharedDatasetsOrSkip } from './helpers/data.ts';
import { trainTinyWith } from './helpers/train.ts';

const shared = sharedDatasetsOrSkip('wasm kernels off');

beforeAll(async () => {
  await initBackend('wasm', { quiet: true }); // registers wasm; the tests switch with tf.setBackend
});

const data = (n: number, seed: number, scale = 1) => {
  const rng = new Rng(seed);
  return Float32Array.from({ length: n }, () => rng.normal() * scale);
};

/** f's value and its gradients w.r.t. every input, on `backend`, as plain arrays. */
async function valueAndGrads(backend: string, shapes: number[][], f: (...xs: tf.Tensor[]) => tf.Tensor): Promise<Float32Array[]> {
  await tf.setBackend(backend);
  useKernelLayouts(kernelLayouts(backend));
  const xs = shapes.map((s, i) => tf.tensor(data(s.reduce((a, b) => a * b, 1), 10 + i, 2), s));
  const y = f(...xs);
  const gy = tf.tensor(data(y.size, 99), y.shape);
  const grads = tf.grads((...a: tf.Tensor[]) => tf.sum(tf.mul(f(...a), gy)))(xs);
  const out = [y, ...grads].map((t) => t.dataSync() as Float32Array);
  tf.dispose([...xs, y, gy, ...grads]);
  return out;
}

function expectClose(a: Float32Array[], b: Float32Array[], tol: number): void {
  expect(a.length).toBe(b.length);
  a.forEach((x, k) => {
    const scale = Math.max(1, ...Array.from(b[k]!, Math.abs));
    let worst = 0;
    for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(x[i]! - b[k]![i]!));
    expect(worst).toBeLessThan(tol * scale);
  });
}

describe('Identity on wasm (tf.clone: what custom gradients save)', () => {
  it('shares the buffer instead of copying it, and keeps it alive after the original is disposed', async () => {
    await tf.setBackend('wasm');
    const be = tf.backend() as unknown as { dataIdMap: { get(id: object): { memoryOffset: number } } };
    const before = tf.memory().numTensors;
    const a = tf.tensor([1.5, -2, 3.25, 4], [2, 2]);
    const b = tf.clone(a);
    expect(be.dataIdMap.get(b.dataId).memoryOffset).toBe(be.dataIdMap.get(a.dataId).memoryOffset);
    a.dispose();
    expect(Array.from(b.dataSync())).toEqual([1.5, -2, 3.25, 4]);
    b.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('wasm kernels against the plain ops on cpu', () => {
  it('run on wasm and not on cpu', async () => {
    await tf.setBackend('wasm');
    expect(wasmPointwiseReady() && wasmProductsReady() && wasmAdamWReady()).toBe(true);
    await tf.setBackend('cpu');
    expect(wasmPointwiseReady() || wasmProductsReady() || wasmAdamWReady()).toBe(false);
  });

  it("AdamW's wasm kernel gives the same bits as the tfjs update, over 5 steps with and without decay", async () => {
    const shapes = [[3, 5], [7], [64], [2, 2, 2]];
    const run = async (backend: string) => {
      await tf.setBackend(backend);
      const params = shapes.map((s, i) => ({ name: `p${i}`, variable: tf.variable(tf.tensor(data(s.reduce((a, b) => a * b, 1), i), s)), decay: i % 2 === 0 }));
      const opt = new AdamW(params, { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1 });
      for (let t = 0; t < 5; t++) {
        const grads = shapes.map((s, i) => tf.tensor(data(s.reduce((a, b) => a * b, 1), 100 * t + i, 0.5), s));
        opt.step(grads, 3e-3 * (1 + t));
        tf.dispose(grads);
      }
      const out = [...params.map((p) => p.variable), ...opt.m, ...opt.v].map((t) => Array.from(t.dataSync()));
      opt.dispose();
      params.forEach((p) => p.variable.dispose());
      return out;
    };
    const [wasm, cpu] = [await run('wasm'), await run('cpu')];
    expect(wasm).toEqual(cpu);
  });

  for (const [N, d] of [[7, 10], [64, 32], [5, 3]] as const) {
    it(`layerNorm with and without bias, [${N}, ${d}]`, async () => {
      const withBias = (x: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => layerNorm(x as tf.Tensor2D, g as tf.Tensor1D, b as tf.Tensor1D);
      expectClose(await valueAndGrads('wasm', [[N, d], [d], [d]], withBias), await valueAndGrads('cpu', [[N, d], [d], [d]], withBias), 2e-5);
      const noBias = (x: tf.Tensor, g: tf.Tensor) => layerNorm(x as tf.Tensor2D, g as tf.Tensor1D, null);
      expectClose(await valueAndGrads('wasm', [[N, d], [d]], noBias), await valueAndGrads('cpu', [[N, d], [d]], noBias), 2e-5);
    });

    it(`gelu and linear, [${N}, ${d}]`, async () => {
      const g = (x: tf.Tensor) => gelu(x as tf.Tensor2D);
      expectClose(await valueAndGrads('wasm', [[N, d]], g), await valueAndGrads('cpu', [[N, d]], g), 2e-6);
      const lin = (x: tf.Tensor, w: tf.Tensor, b: tf.Tensor) => linear(x as tf.Tensor2D, w as tf.Tensor2D, b as tf.Tensor1D);
      expectClose(await valueAndGrads('wasm', [[N, d], [d, 9], [9]], lin), await valueAndGrads('cpu', [[N, d], [d, 9], [9]], lin), 1e-5);
    });
  }

  for (const [N, V] of [[3, 1], [5, 7], [4, 50], [2, 50257]] as const) {
    it(`the head's row softmax against tf.softmax on cpu, [${N}, ${V}] (every tail of its 16 partial sums)`, async () => {
      const x = data(N * V, 7, 6);
      x[0] = 80; // a row whose other terms are all below e^−87 of its largest
      await tf.setBackend('wasm');
      const t = tf.tensor2d(x, [N, V]);
      const y = wasmSoftmax(t);
      const got = y.dataSync() as Float32Array;
      tf.dispose([t, y]);
      await tf.setBackend('cpu');
      const ref = tf.tidy(() => tf.softmax(tf.tensor2d(x, [N, V])).dataSync() as Float32Array);
      // relative: cpu sums a row in order, so its own rounding grows with V (measured worst: 2.1e-7 at V ≤ 50, 2.8e-6 at 50257)
      let worst = 0;
      for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i]! - ref[i]!) / Math.max(ref[i]!, 1e-30));
      expect(worst).toBeLessThan(V > 1000 ? 3e-5 : 2e-6);
      for (let r = 0; r < N; r++) expect(got.subarray(r * V, (r + 1) * V).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    });
  }

  it('gelu at large |x| (the sigmoid through e^−|z|) and at 0', async () => {
    await tf.setBackend('wasm');
    const x = tf.tensor2d([[-100, -20, -5, 0, 5, 20, 100]]);
    const y = Array.from(gelu(x).dataSync());
    expect(y[0]).toBeCloseTo(0, 6);
    expect(y[3]).toBe(0);
    expect(y[6]).toBe(100);
    expect(y[5]).toBe(20);
    expect(y.every(Number.isFinite)).toBe(true);
    x.dispose();
  });

  // the whole model: GELU or ReLU, with and without biases, tied and untied head, T not a multiple of 8
  for (const extra of [{}, { activation: 'relu', bias: false, tie_embeddings: false }] as const) {
    it(`a GPT's loss and gradients on wasm equal cpu's (${JSON.stringify(extra)})`, async () => {
      const cfg = resolveModelConfig(parseModelConfig({ context: 13, d_model: 20, n_layers: 2, n_heads: 2, ...extra }, 'test'), 37);
      const rng = new Rng(5);
      const ids = Array.from({ length: 3 * 13 }, () => rng.int(37));
      const run = async (backend: string) => {
        await tf.setBackend(backend);
        const m = new GPT(cfg, { kernels: kernelLayouts(backend) });
        // larger weights than GPT-2's init, so that attention and GELU are far from their linear regime
        for (const p of m.params) tf.tidy(() => p.variable.assign(tf.mul(p.variable, p.name.includes('ln_') ? 1 : 10)));
        const x = tf.tensor2d(ids, [3, 13], 'int32'), y = tf.tensor2d([...ids.slice(1), 0], [3, 13], 'int32');
        const vars = m.params.map((p) => p.variable);
        const { value, grads } = tf.variableGrads(() => m.loss(x, y), vars);
        const out = [value.dataSync() as Float32Array, ...vars.map((v) => grads[v.name]!.dataSync() as Float32Array)];
        tf.dispose([x, y, value, ...Object.values(grads)]);
        m.dispose();
        return out;
      };
      const [wasm, cpu] = [await run('wasm'), await run('cpu')];
      expect(cpu[0]![0]).toBeGreaterThan(1);
      expectClose(wasm, cpu, 5e-5);
    });
  }
});

describe.skipIf(!shared)('CHINCHILLA_WASM_KERNELS=0', () => {
  it("turns the project's kernels off: the same run on tfjs's kernels ends at the same loss", () => {
    const [on, off] = trainTinyWith(shared!, { context: 32, d_model: 24, n_layers: 2, n_heads: 2 }, { steps: 30, batch: 4 }, [{}, { CHINCHILLA_WASM_KERNELS: '0' }]);
    expect(on!.stdout).toMatch(/the project's own kernels/);
    expect(off!.stdout).toMatch(/tfjs kernels \(XNNPACK\)/);
    // the same equations on other kernels: rounding-level differences at most (measured: the same 10 digits)
    expect(Math.abs(on!.info.final_eval.val_loss - off!.info.final_eval.val_loss)).toBeLessThan(1e-4);
    expect(on!.info.final_eval.val_loss).toBeLessThan(Math.log(256) - 0.5);
  });
});
