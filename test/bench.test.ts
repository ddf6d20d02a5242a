/**
 * The speed work's pieces: the fast layouts compute the same numbers as the plain
 * ones (attention, transposes, weight and bias gradients, row gathers), the step
 * profiler's bookkeeping, and `bench` with --workers and --profile.
 */
import * as tf from '@tensorflow/tfjs';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { initBackend } from '../src/backend.ts';
import { parseModelConfig, resolveModelConfig } from '../src/model/config.ts';
import { GPT } from '../src/model/gpt.ts';
import { causalMask, causalSelfAttention, colSum, gatherRows, matMulTN, transpose2d, type AttentionLayout } from '../src/model/ops.ts';
import { dropoutKeep } from '../src/model/kernels/perSequenceAttention.ts';
import { fusedAttentionReady } from '../src/model/kernels/fusedAttention.ts';
import { kernelLayouts } from '../src/backend.ts';
import { PLAIN_LAYOUTS, useKernelLayouts } from '../src/model/kernels/layouts.ts';
import { randomTokens, timeSteps } from '../src/train/bench.ts';
import { parseTrainConfig } from '../src/train/config.ts';
import { PhaseTimer } from '../src/train/step.ts';
import { hashSeed, Rng } from '../src/util/rng.ts';
import { cli } from './helpers/train.ts';

beforeAll(async () => {
  await initBackend('wasm', { quiet: true }); // registers wasm; tests switch with tf.setBackend
});

function randn(shape: number[], seed: number): tf.Tensor {
  const rng = new Rng(seed);
  return tf.tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.normal()), shape);
}

function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  expect(a.shape).toEqual(b.shape);
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);
}

describe('layout helpers equal the plain ops', () => {
  for (const backend of ['wasm', 'cpu']) {
    it(`transpose2d, matMulTN, colSum and gatherRows on ${backend}`, async () => {
      await tf.setBackend(backend);
      useKernelLayouts(kernelLayouts(backend)); // what the backend profile gives the model
      // 256×96 is cut into 32×32 tiles on wasm; 64×96 is small enough for the plain
      // transpose; 12×40 is not tiled either (12 is no multiple of 8)
      for (const [r, c] of [[256, 96], [64, 96], [12, 40]] as const) {
        const x = randn([r, c], r) as tf.Tensor2D;
        expect(maxAbsDiff(transpose2d(x), tf.transpose(x))).toBe(0);
        expect(maxAbsDiff(colSum(x), tf.sum(x, 0))).toBeLessThan(1e-4);
        // xᵀ·y with x the wider and with y the wider
        const y = randn([r, 16], 3) as tf.Tensor2D;
        expect(maxAbsDiff(matMulTN(x, y), tf.matMul(x, y, true, false))).toBeLessThan(1e-4);
        expect(maxAbsDiff(matMulTN(y, x), tf.matMul(y, x, true, false))).toBeLessThan(1e-4);
        tf.dispose([x, y]);
      }
      const table = randn([7, 5], 9) as tf.Tensor2D;
      const ids = tf.tensor1d([6, 0, 3, 3, 1], 'int32');
      expect(maxAbsDiff(gatherRows(table, ids), tf.gather(table, ids))).toBe(0);
      const bad = tf.tensor1d([2, 7], 'int32');
      if (kernelLayouts(backend).hostGather) expect(() => gatherRows(table, bad)).toThrow(/7/);
      tf.dispose([table, ids, bad]);
      useKernelLayouts(PLAIN_LAYOUTS);
    });
  }

  it('prefers fused attention, tiles and host gathers on wasm only (where they were faster)', () => {
    expect(kernelLayouts('wasm')).toEqual({ attention: 'fused', tiledTranspose: true, hostGather: true, targetGather: 'flat' });
    expect(kernelLayouts('cpu')).toEqual({ attention: 'batched', tiledTranspose: false, hostGather: false, targetGather: 'flat' });
    expect(kernelLayouts('webgpu')).toMatchObject({ attention: 'batched', targetGather: 'per-row' });
    expect(kernelLayouts('tensorflow')).toEqual({ attention: 'batched', tiledTranspose: false, hostGather: false, targetGather: 'flat' });
  });
});

describe('attention layouts', () => {
  // context 160 ([T, T] blocks tiled on wasm), 32 (small: plain transposes) and 12 (not tiled; the
  // fused kernel pads it to 16); 4 heads of 8, and at T = 12 also 4 heads of 10 (padded to 16 columns)
  const cases = [160, 32, 12].flatMap((context) => ['wasm', 'cpu'].map((backend) => ({ context, backend, d: 32 })));
  cases.push({ context: 12, backend: 'wasm', d: 40 }, { context: 61, backend: 'wasm', d: 40 });
  for (const { context, backend, d } of cases) {
    const layouts: AttentionLayout[] = backend === 'wasm' ? ['per-sequence', 'fused'] : ['per-sequence'];
    for (const layout of layouts) {
      it(`${layout} and batched give the same loss and gradients (${backend}, T = ${context}, d = ${d})`, async () => {
        await tf.setBackend(backend);
        const cfg = resolveModelConfig(parseModelConfig({ context, d_model: d, n_layers: 2, n_heads: 4 }, 'test'), 19);
        const rng = new Rng(context);
        const ids = (n: number) => Array.from({ length: n }, () => rng.int(19));
        const B = 3;
        const x = tf.tensor2d(ids(B * context), [B, context], 'int32'), y = tf.tensor2d(ids(B * context), [B, context], 'int32');
        const run = (attention: AttentionLayout) => {
          const m = new GPT(cfg, { attention });
          // larger weights than GPT-2's init, so that attention is far from uniform
          for (const p of m.params) tf.tidy(() => p.variable.assign(tf.mul(p.variable, p.name.includes('ln_') ? 1 : 10)));
          const vars = m.params.map((p) => p.variable);
          const { value, grads } = tf.variableGrads(() => m.loss(x, y), vars);
          const out = { loss: value.dataSync()[0]!, grads: vars.map((v) => grads[v.name]!) };
          value.dispose();
          m.dispose();
          return out;
        };
        const batched = run('batched');
        const perSeq = run(layout);
        expect(perSeq.loss).toBeGreaterThan(1);
        expect(Math.abs(perSeq.loss - batched.loss)).toBeLessThan(1e-5);
        const worst = Math.max(...perSeq.grads.map((g, i) => maxAbsDiff(g, batched.grads[i]!)));
        const scale = Math.max(...batched.grads.map((g) => tf.tidy(() => tf.max(tf.abs(g)).dataSync()[0]!)));
        expect(scale).toBeGreaterThan(0.01);
        expect(worst).toBeLessThan(1e-5 * Math.max(1, scale));
        tf.dispose([x, y, ...batched.grads, ...perSeq.grads]);
      });
    }
  }

  it('fused attention runs on wasm and is deterministic; with attention dropout the per-sequence layout runs', async () => {
    await tf.setBackend('wasm');
    expect(fusedAttentionReady()).toBe(true);
    const [B, T, H, hd] = [2, 24, 2, 8];
    const qkv = tf.mul(randn([B * T, 3 * H * hd], 7), 2) as tf.Tensor2D;
    const gy = randn([B * T, H * hd], 8);
    const mask = causalMask(T);
    const grad = (layout: AttentionLayout, dropout: number) =>
      tf.grad((x: tf.Tensor) => tf.sum(tf.mul(causalSelfAttention(x as tf.Tensor2D, mask, { B, T, H, dropout, seed: 3, layout }), gy)))(qkv);
    const [a, b] = [grad('fused', 0), grad('fused', 0)];
    expect(Array.from(a.dataSync())).toEqual(Array.from(b.dataSync()));
    const [c, d] = [grad('fused', 0.2), grad('per-sequence', 0.2)];
    expect(Array.from(c.dataSync())).toEqual(Array.from(d.dataSync()));
    const before = tf.memory().numTensors;
    tf.dispose(grad('fused', 0));
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([qkv, gy, mask, a, b, c, d]);
  });
});

describe('per-sequence attention with dropout', () => {
  for (const backend of ['wasm', 'cpu']) {
    it(`equals autodiff of the same equations and keep masks (${backend})`, async () => {
      await tf.setBackend(backend);
      const [B, T, H, hd, rate, seed] = [2, 32, 2, 8, 0.3, 17];
      const d = H * hd;
      const qkv = tf.mul(randn([B * T, 3 * d], 4), 2) as tf.Tensor2D;
      const gy = randn([B * T, d], 5);
      const mask = causalMask(T);
      const ours = tf.grad((x: tf.Tensor) => tf.sum(tf.mul(causalSelfAttention(x as tf.Tensor2D, mask, { B, T, H, dropout: rate, seed, layout: 'per-sequence' }), gy)))(qkv);
      // reference: plain tf ops, tfjs's own gradients; keep masks as perSequenceAttention draws them
      const ref = tf.grad((x: tf.Tensor) => {
        const heads: tf.Tensor[] = [];
        for (let b = 0; b < B; b++) {
          const rows = tf.slice(x, [b * T, 0], [T, 3 * d]);
          const ys: tf.Tensor[] = [];
          for (let h = 0; h < H; h++) {
            const [q, k, v] = [0, 1, 2].map((c) => tf.slice(rows, [0, c * d + h * hd], [T, hd]));
            const p = tf.softmax(tf.add(tf.div(tf.matMul(q!, k!, false, true), Math.sqrt(hd)), mask));
            ys.push(tf.matMul(tf.mul(p, dropoutKeep<tf.Rank.R2>([T, T], rate, hashSeed(seed, b, h))), v!));
          }
          heads.push(tf.concat(ys, 1));
        }
        return tf.sum(tf.mul(tf.concat(heads, 0), gy));
      })(qkv);
      const scale = tf.tidy(() => tf.max(tf.abs(ref)).dataSync()[0]!);
      expect(scale).toBeGreaterThan(0.1);
      expect(maxAbsDiff(ours, ref)).toBeLessThan(1e-5 * scale);
      tf.dispose([qkv, gy, mask, ours, ref]);
    });
  }
});

describe('step profile', () => {
  afterEach(() => vi.restoreAllMocks());

  it('counts each phase without its inner phases, and adds recorded waits', () => {
    // clock readings: backward starts at 0, forward runs 10→30 inside it, backward ends at 100
    const clock = [0, 10, 30, 100];
    vi.spyOn(performance, 'now').mockImplementation(() => clock.shift()!);
    const t = new PhaseTimer();
    const r = t.phase('backward', () => t.phase('forward', () => 42));
    expect(r).toBe(42);
    t.record('wait', 7);
    t.add({ wait: 3, data: 1 });
    expect(t.totals).toEqual({ forward: 20, backward: 80, wait: 10, data: 1 });
  });

  it('times steps with two workers and reports each thread’s phases', async () => {
    const backend = await initBackend('wasm', { quiet: true });
    const cfg = resolveModelConfig(parseModelConfig({ context: 32, d_model: 32, n_layers: 1, n_heads: 2 }, 'test'), 64);
    const t = parseTrainConfig({ batch: 8, micro_batch: 2 }, 'test');
    const r = await timeSteps(cfg, t, backend, randomTokens(64, 4096), { steps: 2, warmupSteps: 1, profile: true, workers: 2 });
    expect(r.workers).toBe(2);
    expect(r.microBatch).toBe(2);
    expect(r.times).toHaveLength(2);
    const main = Object.keys(r.phases).sort();
    expect(main).toEqual(['backward', 'communication', 'data', 'forward', 'optimizer', 'wait']);
    expect(r.workerPhases).toHaveLength(1);
    expect(Object.keys(r.workerPhases[0]!).sort()).toEqual(['backward', 'communication', 'data', 'forward']);
    // the phases are parts of the timed steps
    const phaseSum = Object.values(r.phases).reduce((a, b) => a + b, 0);
    expect(phaseSum).toBeLessThanOrEqual(r.times.reduce((a, b) => a + b, 0) + 1);
  });
});

describe('chinchilla bench', () => {
  it('--json with --workers 2 reports the workers, and the numbers agree with each other', () => {
    const r = cli(['bench', '--model', 'configs/models/tiny.json', '--tokenizer', 'byte', '--batch', '8', '--steps', '2', '--warmup-steps', '1',
      '--backend', 'wasm', '--workers', '2', '--data-dir', '/nonexistent-chinchilla-data', '--json']);
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const j = JSON.parse(lines[0]!);
    expect(j.workers).toBe(2);
    expect(j.batch).toBe(8);
    expect(j.micro_batch).toBeLessThanOrEqual(4);
    // tokens/s is computed from the unrounded median; ms_per_step is printed to 0.1 ms
    const expected = (8 * j.context) / (j.ms_per_step / 1000);
    expect(Math.abs(j.tokens_per_s / expected - 1)).toBeLessThan(0.01);
  });

  it('--profile prints the phases of the main thread and of each worker', () => {
    const r = cli(['bench', '--model', 'configs/models/tiny.json', '--tokenizer', 'byte', '--batch', '8', '--steps', '2', '--warmup-steps', '1',
      '--backend', 'wasm', '--workers', '2', '--data-dir', '/nonexistent-chinchilla-data', '--profile']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/over 2 workers/);
    expect(r.stdout).toMatch(/main\s+worker 1/);
    for (const phase of ['data', 'forward', 'backward', 'communication', 'wait', 'optimizer', 'other', 'idle']) {
      expect(r.stdout).toMatch(new RegExp(`^\\s+${phase}\\s`, 'm'));
    }
  });

  it('documents --workers in the help of train, bench and sweep', () => {
    for (const cmd of ['train', 'bench', 'sweep']) {
      const r = cli([cmd, '--help']);
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(/--workers\s+data-parallel worker threads/);
    }
  });
});
