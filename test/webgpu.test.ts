/**
 * The webgpu backend against the cpu backend on the same tiny model: the loss and every
 * gradient of one batch, then 20 AdamW steps. Runs on whatever adapter Dawn offers; CI has
 * only Mesa's llvmpipe (OpenGL ES, software) — .ci/run installs it and sets
 * CHINCHILLA_REQUIRE_WEBGPU=1 so that a missing Dawn/Mesa fails there instead of skipping.
 */
import * as tf from '@tensorflow/tfjs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { initBackend } from '../src/backend.ts';
import { BatchSampler } from '../src/data/batches.ts';
import { getTokenizer, loadTokens } from '../src/data/index.ts';
import { listAdapters, pickAdapter, type WebGpuAdapter } from '../src/gpu/webgpu.ts';
import { UserError } from '../src/util/errors.ts';
import { parseModelConfig, resolveModelConfig } from '../src/model/config.ts';
import { GPT } from '../src/model/gpt.ts';
import { headCrossEntropy, headTokenLosses } from '../src/model/ops.ts';
import { useKernelLayouts } from '../src/model/kernels/layouts.ts';
import { parseTrainConfig } from '../src/train/config.ts';
import { readMetricsCsv } from '../src/train/metrics.ts';
import { trainRun } from '../src/train/trainer.ts';
import { sharedDatasetsOrSkip } from './helpers/data.ts';

/**
 * Tolerances. Both backends compute in float32 but sum in different orders (tiled GPU
 * matmuls vs JavaScript loops). Measured on llvmpipe (2026-11-29): the loss equal to the
 * last bit, gradients within 5.5e-7 of each tensor's largest entry, the trainer's 20 step
 * losses within 9.5e-7 nats and its validation loss within 6.6e-7. The bounds leave ~20–100×
 * room for hardware adapters, which may fuse multiply-adds and reduce in other orders.
 */
const LOSS_RTOL = 1e-5;
const GRAD_TOL = 1e-5; // max |g_webgpu − g_cpu| / max |g_cpu|, per parameter tensor
const TRAIN_LOSS_ATOL = 1e-4; // nats, each of the 20 steps and the final validation loss

const listing = await listAdapters();
const adapter = listing.adapters[0];
const required = process.env.CHINCHILLA_REQUIRE_WEBGPU === '1';
const why = `no WebGPU adapter (${listing.problems.join('; ') || 'Dawn offered none'}); on Debian/Ubuntu: apt-get install libegl1 libegl-mesa0 libgles2 libgl1-mesa-dri`;
if (!adapter && !required) console.warn(`[webgpu] skipped: ${why}`);
const shared = sharedDatasetsOrSkip('webgpu');

const tiny = parseModelConfig({ context: 64, d_model: 32, n_layers: 2, n_heads: 2 }, 'test');
const cfg = resolveModelConfig(tiny, 256);

afterAll(async () => {
  await initBackend('cpu', { quiet: true });
});

/** Loss and gradients (params order) of one batch of 4 sequences on `backend`. */
async function lossAndGrads(backend: 'cpu' | 'webgpu', x: Int32Array, y: Int32Array): Promise<{ loss: number; grads: Float32Array[]; names: string[] }> {
  await initBackend(backend, { quiet: true, gpuAdapter: backend === 'webgpu' ? String(adapter!.index) : undefined });
  const model = new GPT(cfg);
  const xt = tf.tensor2d(x, [4, 64], 'int32');
  const yt = tf.tensor2d(y, [4, 64], 'int32');
  const vars = model.params.map((p) => p.variable);
  const { value, grads } = tf.variableGrads(() => model.loss(xt, yt), vars);
  const loss = (await value.data())[0]!;
  const out = await Promise.all(vars.map(async (v) => (await grads[v.name]!.data()) as Float32Array));
  tf.dispose([xt, yt, value, ...Object.values(grads)]);
  const names = model.params.map((p) => p.name);
  model.dispose();
  return { loss, grads: out, names };
}

/**
 * A 20-step run of the trainer (batch 8, micro-batch 4; evaluation at 0 and 20, checkpoint, metrics.csv)
 * on `backend`: the training loss and the tensor count after each step, and the final validation loss.
 */
async function train20(backend: 'cpu' | 'webgpu', outDir: string): Promise<{ losses: number[]; counts: number[]; val: number }> {
  const info = await initBackend(backend, { quiet: true, gpuAdapter: backend === 'webgpu' ? String(adapter!.index) : undefined });
  // the profile: no synchronous read-back; a software adapter is not a GPU (the long-CPU-plan warning still applies)
  if (backend === 'webgpu') expect(info).toMatchObject({ syncReadback: false, defaultWorkers: 1, onGpu: !adapter!.software });
  const train = parseTrainConfig(
    { tokenizer: 'byte', dataset: 'wikitext-2-v1', steps: 20, batch: 8, micro_batch: 4, lr: 3e-3, warmup_steps: 2, eval_interval: 20, eval_windows: 16, final_eval_windows: 16 },
    'test',
  );
  const losses: number[] = [];
  const counts: number[] = [];
  const res = await trainRun(
    { model: tiny, train, data: { dataDir: shared!, quiet: true }, outDir, resume: false, workers: 1 },
    info,
    { log: () => {}, onStep: (e) => { losses.push(e.loss); counts.push(tf.memory().numTensors); } },
  );
  expect(res.status).toBe('finished');
  const rows = readMetricsCsv(join(outDir, 'metrics.csv'));
  return { losses, counts, val: rows[rows.length - 1]!.val_loss };
}

describe('pickAdapter (which adapter --backend and --gpu-adapter get)', () => {
  const mk = (index: number, name: string, software: boolean): WebGpuAdapter =>
    ({ index, name, driver: '', vendor: '', dawnBackend: software ? 'opengles' : 'vulkan', software, featureLevel: 'core', maxBufferBytes: 0, maxStorageBufferBindingBytes: 0, handle: null as never });
  const gpu = mk(0, 'NVIDIA H200', false);
  const igpu = mk(1, 'Intel(R) UHD Graphics 630', false);
  const llvmpipe = mk(2, 'llvmpipe-llvm-15-0-6-256-bits', true);

  it('auto takes the first hardware adapter and never a software one', () => {
    expect(pickAdapter([gpu, igpu, llvmpipe], undefined, false)).toBe(gpu);
    expect(pickAdapter([llvmpipe], undefined, false)).toMatch(/only a software adapter .*llvmpipe.*auto does not use; ask for it with --backend webgpu/);
    expect(pickAdapter([], undefined, false)).toMatch(/^no hardware WebGPU adapter/);
  });
  it('an explicit --backend webgpu takes a software adapter when there is nothing else', () => {
    expect(pickAdapter([llvmpipe], undefined, true)).toBe(llvmpipe);
  });
  it('--gpu-adapter: a number is an index, anything else part of a name; no match is a UserError', () => {
    expect(pickAdapter([gpu, igpu, llvmpipe], '1', false)).toBe(igpu);
    expect(pickAdapter([gpu, igpu, llvmpipe], 'intel', false)).toBe(igpu);
    expect(pickAdapter([gpu, igpu, llvmpipe], 'LLVMPIPE', false)).toBe(llvmpipe);
    expect(() => pickAdapter([llvmpipe], '5', true)).toThrow(UserError); // not 'llvm-15'
    expect(() => pickAdapter([gpu], 'amd', false)).toThrow(/--gpu-adapter 'amd' matches no WebGPU adapter; the adapters here are: #0 NVIDIA H200 \(vulkan, hardware\)/);
  });
});

describe.runIf(required && !adapter)('webgpu in CI', () => {
  it('has Dawn and Mesa (CHINCHILLA_REQUIRE_WEBGPU=1)', () => {
    throw new Error(why);
  });
});

/** The head's loss with rows × vocab above 2^24 (GPT-2's vocabulary at 512 rows is 25.7M), on `backend`. */
async function bigHeadLoss(backend: 'cpu' | 'webgpu'): Promise<{ train: number; evalMean: number; last: number }> {
  const info = await initBackend(backend, { quiet: true, gpuAdapter: backend === 'webgpu' ? String(adapter!.index) : undefined });
  useKernelLayouts(info.kernels); // as the model does: webgpu takes the per-row target gather
  const [rows, V, d] = [400, 50257, 8]; // 400 × 50257 = 20.1M > 2^24 = 16.8M
  const x = tf.tensor2d(Float32Array.from({ length: rows * d }, (_, i) => Math.sin(i * 0.7)), [rows, d]);
  const W = tf.tensor2d(Float32Array.from({ length: V * d }, (_, i) => Math.cos(i * 1.3)), [V, d]);
  const t = tf.tensor1d(Int32Array.from({ length: rows }, (_, i) => (i * 7919) % V), 'int32');
  const train = headCrossEntropy(x, W, t, rows);
  const ev = headTokenLosses(x, W, t, rows);
  const out = { train: (await train.data())[0]!, evalMean: (await ev.mean.data())[0]!, last: (await ev.rows.data())[rows - 1]! };
  tf.dispose([x, W, t, train, ev.mean, ev.rows]);
  return out;
}

describe.skipIf(!adapter)('webgpu: the loss where rows × vocab passes 2^24', () => {
  // tfjs-webgpu reads gather indices as float32; a flat row·V + t index lost its low bits there
  it('matches cpu (the target of each row is picked along the vocabulary, not by a flat index)', async () => {
    const cpu = await bigHeadLoss('cpu');
    const gpu = await bigHeadLoss('webgpu');
    console.log(`[webgpu] 400 × 50257 head loss: cpu ${cpu.train} webgpu ${gpu.train}; last row ${cpu.last} vs ${gpu.last}`);
    for (const k of ['train', 'evalMean', 'last'] as const) expect(Math.abs(gpu[k] - cpu[k]) / cpu[k], k).toBeLessThan(LOSS_RTOL);
  });
});

describe.skipIf(!adapter || !shared)('webgpu backend vs cpu on the tiny model', () => {
  it('the loss and every gradient of one batch agree', async () => {
    const tok = await getTokenizer('byte', { dataDir: shared!, dataset: 'wikitext-2-v1', quiet: true });
    const tokens = await loadTokens('validation', tok, { dataDir: shared!, dataset: 'wikitext-2-v1', quiet: true });
    const sampler = new BatchSampler(tokens, { batch: 4, context: 64, seed: 11 });
    const { x, y } = sampler.batch(0, 0, 4);
    const cpu = await lossAndGrads('cpu', x, y);
    const gpu = await lossAndGrads('webgpu', x, y);
    expect(tf.getBackend()).toBe('webgpu');
    expect(cpu.loss).toBeGreaterThan(Math.log(256) - 0.1); // untrained: ≈ uniform over 256 bytes
    expect(Math.abs(gpu.loss - cpu.loss) / cpu.loss).toBeLessThan(LOSS_RTOL);
    expect(gpu.grads.length).toBe(cpu.grads.length);
    const worst: [string, number][] = cpu.grads.map((c, i) => {
      const g = gpu.grads[i]!;
      let maxAbs = 0;
      let maxDiff = 0;
      for (let j = 0; j < c.length; j++) {
        maxAbs = Math.max(maxAbs, Math.abs(c[j]!));
        maxDiff = Math.max(maxDiff, Math.abs(g[j]! - c[j]!));
      }
      return [cpu.names[i]!, maxAbs > 0 ? maxDiff / maxAbs : maxDiff];
    });
    console.log(`[webgpu] loss cpu ${cpu.loss} webgpu ${gpu.loss}; worst gradient ${JSON.stringify(worst.reduce((a, b) => (b[1] > a[1] ? b : a)))}`);
    for (const [name, rel] of worst) expect(rel, name).toBeLessThan(GRAD_TOL);
  });

  it('20 training steps of the trainer: the same losses as on cpu, and a flat tensor count', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'chl-webgpu-'));
    try {
      const cpu = await train20('cpu', join(dir, 'cpu'));
      const gpu = await train20('webgpu', join(dir, 'webgpu'));
      expect(gpu.losses.length).toBe(20);
      const diffs = gpu.losses.map((l, i) => Math.abs(l - cpu.losses[i]!));
      console.log(`[webgpu] 20 steps: loss ${cpu.losses[0]!.toFixed(4)} -> ${cpu.losses[19]!.toFixed(4)} on cpu; max |webgpu - cpu| ${Math.max(...diffs).toExponential(2)}; val ${cpu.val} vs ${gpu.val}`);
      expect(cpu.losses[19]!).toBeLessThan(cpu.losses[0]! - 0.3); // it learns something in 20 steps at lr 3e-3
      for (let i = 0; i < 20; i++) expect(diffs[i]!, `step ${i + 1}`).toBeLessThan(TRAIN_LOSS_ATOL);
      expect(Math.abs(gpu.val - cpu.val)).toBeLessThan(TRAIN_LOSS_ATOL);
      // parameters, moments and gradients stay on the device: nothing accumulates per step
      expect(new Set(gpu.counts.slice(1)).size).toBe(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
