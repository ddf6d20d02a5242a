/**
 * Data parallelism over worker threads: the summed gradient of W workers is the
 * one-thread gradient, training with a pool follows the one-thread run, a run
 * is reproducible for a given worker count (also across a SIGKILL), and the
 * worker threads go away with the run.
 */
import * as tf from '@tensorflow/tfjs';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend, kernelLayouts, type BackendName } from '../src/backend.ts';
import { BatchSampler } from '../src/data/batches.ts';
import { parseModelConfig, resolveModelConfig } from '../src/model/config.ts';
import { GPT } from '../src/model/gpt.ts';
import { AdamW } from '../src/train/adamw.ts';
import { readMetrics as readMetricsCsv } from '../src/artifacts/metrics.ts';
import { WorkerPool } from '../src/train/parallel/pool.ts';
import { rowShare } from '../src/train/parallel/protocol.ts';
import { AUTO_PARALLEL_MIN_FLOPS, parseWorkers, resolveWorkers, rowsPerWorker, workerMicroBatch } from '../src/train/parallel/workers.ts';
import { accumulateGradients, microBatches, trainStep } from '../src/train/step.ts';
import { Rng } from '../src/util/rng.ts';
import { sharedDatasetsOrSkip } from './helpers/data.ts';
import { cli, runAndKill } from './helpers/train.ts';

const cfg = resolveModelConfig(parseModelConfig({ context: 32, d_model: 32, n_layers: 2, n_heads: 4, seed: 5 }, 'test'), 64);
const rng = new Rng(11);
// mostly a fixed succession (t → t+3 mod 64) with 10 % random tokens: learnable in a few steps
const tokens = Int32Array.from({ length: 5000 }, (_, i) => (rng.next() < 0.1 ? rng.int(64) : (3 * i) % 64));
const dir = mkdtempSync(join(tmpdir(), 'chl-parallel-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Flat copy of tensors (params order). */
function flat(ts: tf.Tensor[]): Float32Array {
  const parts = ts.map((t) => t.dataSync() as Float32Array);
  const out = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

function maxAbs(a: Float32Array): number {
  return a.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
}

describe('row shares and micro-batches', () => {
  it('split a batch into consecutive shares that cover it once', () => {
    expect([0, 1].map((r) => rowShare(32, 2, r))).toEqual([[0, 16], [16, 32]]);
    expect([0, 1, 2].map((r) => rowShare(32, 3, r))).toEqual([[0, 11], [11, 21], [21, 32]]);
    expect(rowsPerWorker(32, 3)).toBe(11);
    // micro-batches of a share, weighted by rows/batch: the weights of a partition sum to 1
    expect(microBatches(11, 21, 4, 32)).toEqual([
      { from: 11, to: 15, weight: 4 / 32 },
      { from: 15, to: 19, weight: 4 / 32 },
      { from: 19, to: 21, weight: 2 / 32 },
    ]);
    const all = [0, 1, 2].flatMap((r) => microBatches(...rowShare(32, 3, r), 4, 32));
    expect(all.reduce((a, m) => a + m.weight, 0)).toBeCloseTo(1, 12);
  });

  it('resolve the worker count and each worker’s micro-batch', () => {
    // 'auto' is the backend profile's default (one per core on wasm/cpu, 1 on tensorflow[-gpu])
    expect(resolveWorkers(3, { defaultWorkers: 2 }, 32)).toBe(3);
    expect(resolveWorkers('auto', { defaultWorkers: 1 }, 32)).toBe(1);
    expect(resolveWorkers('auto', { defaultWorkers: 16 }, 32)).toBe(16);
    expect(resolveWorkers('auto', { defaultWorkers: 16 }, 1)).toBe(1); // never more workers than rows
    // on wasm, 'auto' runs one worker for models whose step is under 2.5e8 FLOPs (6·N_total·tokens)
    const tiny = resolveModelConfig(parseModelConfig({ context: 64, d_model: 16, n_layers: 1, n_heads: 1 }, 't'), 512); // 12,528 params
    const wide = resolveModelConfig(parseModelConfig({ context: 64, d_model: 48, n_layers: 1, n_heads: 2 }, 'w'), 512); // 56,016 params
    expect(6 * 12528 * 32 * 64).toBeLessThan(AUTO_PARALLEL_MIN_FLOPS);
    expect(6 * 56016 * 16 * 64).toBeGreaterThan(AUTO_PARALLEL_MIN_FLOPS);
    expect(resolveWorkers('auto', { defaultWorkers: 2, name: 'wasm' }, 32, tiny)).toBe(1);
    expect(resolveWorkers('auto', { defaultWorkers: 2, name: 'wasm' }, 16, wide)).toBe(2);
    expect(resolveWorkers('auto', { defaultWorkers: 2, name: 'cpu' }, 32, tiny)).toBe(2);
    expect(resolveWorkers(2, { defaultWorkers: 2, name: 'wasm' }, 32, tiny)).toBe(2); // asked for: kept
    expect(() => resolveWorkers(40, { defaultWorkers: 2 }, 32)).toThrow(/--workers 40 exceeds the batch of 32/);
    expect(() => parseWorkers('two')).toThrow(/--workers must be a positive integer or 'auto'/);
    expect(parseWorkers('2')).toBe(2);
    // an explicit micro-batch is capped by the share; 'auto' divides the share
    expect(workerMicroBatch(cfg, 32, 32, 2, 1e12)).toBe(16);
    expect(workerMicroBatch(cfg, 4, 32, 2, 1e12)).toBe(4);
    expect(workerMicroBatch(cfg, 'auto', 32, 2, 1e12)).toBe(16);
  });
});

for (const backend of ['wasm', 'cpu'] as BackendName[]) {
  describe(`two workers on ${backend}`, () => {
    beforeAll(async () => {
      await initBackend(backend, { quiet: true });
    });

    it('give the same gradient and loss as one worker for the same batch', async () => {
      for (const [batch, microBatch] of [
        [8, 4],
        [5, 2], // uneven shares (3 + 2 rows) and a short last micro-batch
      ] as const) {
        const model = new GPT(cfg);
        const sampler = new BatchSampler(tokens, { batch, context: cfg.context, seed: 3 });
        const setup = { model, sampler, batch, microBatch, seed: 3 };
        const one = accumulateGradients(setup, 7, 0, batch);
        const g1 = flat(one.grads);
        const l1 = one.loss.dataSync()[0]!;
        tf.dispose([...one.grads, one.loss]);

        const pool = await WorkerPool.start({ ...setup, workers: 2, backend, kernels: kernelLayouts(backend), tokens });
        try {
          const two = await pool.gradients(7);
          const g2 = flat(two.grads);
          tf.dispose(two.grads);
          expect(maxAbs(g1)).toBeGreaterThan(1e-3);
          expect(maxAbsDiff(g1, g2)).toBeLessThan(1e-6);
          expect(two.loss).toBeCloseTo(l1, 5);
          expect(l1).toBeGreaterThan(Math.log(64) - 0.5); // an untrained model: about ln V
        } finally {
          await pool.close();
          model.dispose();
        }
      }
    });

    it('train in step with one worker, and reproducibly for the same worker count', async () => {
      const batch = 8;
      const run = async (workers: number) => {
        const model = new GPT(cfg);
        const opt = new AdamW(model.params, { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1 });
        const sampler = new BatchSampler(tokens, { batch, context: cfg.context, seed: 9 });
        const base = { model, sampler, batch, microBatch: 2, seed: 9 };
        const pool = workers > 1 ? await WorkerPool.start({ ...base, workers, backend, kernels: kernelLayouts(backend), tokens }) : null;
        const losses: number[] = [];
        try {
          for (let s = 0; s < 5; s++) losses.push(await trainStep({ ...base, opt, gradClip: 1, pool }, s, 3e-3));
          return { losses, weights: flat(model.params.map((p) => p.variable)) };
        } finally {
          await pool?.close();
          opt.dispose();
          model.dispose();
        }
      };
      const before = tf.memory().numTensors;
      const one = await run(1);
      const two = await run(2);
      const twoAgain = await run(2);
      expect(tf.memory().numTensors).toBe(before);
      expect(one.losses[4]).toBeLessThan(one.losses[0]! - 0.05); // it learns
      two.losses.forEach((l, i) => expect(l).toBeCloseTo(one.losses[i]!, 4));
      expect(maxAbsDiff(one.weights, two.weights)).toBeLessThan(1e-4);
      expect(twoAgain.losses).toEqual(two.losses); // bit for bit
      expect(maxAbsDiff(two.weights, twoAgain.weights)).toBe(0);
    });

    it('report a worker that died as an error of the step', async () => {
      const model = new GPT(cfg);
      const sampler = new BatchSampler(tokens, { batch: 4, context: cfg.context, seed: 1 });
      const pool = await WorkerPool.start({ model, sampler, batch: 4, microBatch: 2, seed: 1, workers: 2, backend, kernels: kernelLayouts(backend), tokens });
      try {
        // kill the worker thread behind the pool's back, as a crash would
        await (pool as unknown as { remotes: { worker: { terminate(): Promise<number> } }[] }).remotes[0]!.worker.terminate();
        await expect(pool.gradients(0)).rejects.toThrow(/worker 1 exited/);
      } finally {
        await pool.close();
        model.dispose();
      }
      await expect(pool.gradients(0)).rejects.toThrow(/closed/);
    });
  });
}

const shared = sharedDatasetsOrSkip('parallel');

describe.skipIf(!shared)('training with --workers 2 from the CLI', () => {
  it('resumes after SIGKILL to the same rows as the uninterrupted run, and matches --workers 1', async () => {
    const args = (out: string, workers: number) => [
      'train', '--model', 'configs/models/tiny.json', '--tokenizer', 'byte', '--dataset', 'wikitext-2-v1', '--data-dir', shared!,
      '--backend', 'wasm', '--steps', '12', '--batch', '4', '--eval-interval', '3', '--eval-windows', '8', '--lr', '2e-3',
      '--final-eval-windows', '24', '--workers', String(workers), '--out', out,
    ];
    const ref = join(dir, 'ref');
    const r = cli(args(ref, 2));
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/2 workers, micro-batch 2/);
    expect(JSON.parse(readFileSync(join(ref, 'run.json'), 'utf8')).train.workers).toBe(2);
    const killed = join(dir, 'killed');
    const k = await runAndKill(args(killed, 2), join(killed, 'metrics.csv'), 3);
    expect(k.killed).toBe(true);
    const r2 = cli([...args(killed, 2), '--resume']);
    expect(r2.status, r2.stderr).toBe(0);
    const single = join(dir, 'single');
    expect(cli(args(single, 1)).status).toBe(0);
    const a = readMetricsCsv(join(ref, 'metrics.csv'));
    const b = readMetricsCsv(join(killed, 'metrics.csv'));
    const c = readMetricsCsv(join(single, 'metrics.csv'));
    expect(a.map((x) => x.step)).toEqual([0, 3, 6, 9, 12]);
    expect(b.map((x) => x.step)).toEqual([0, 3, 6, 9, 12]);
    for (let i = 0; i < a.length; i++) {
      expect(b[i]!.val_loss).toBe(a[i]!.val_loss); // bit-exact for the same worker count
      if (i > 0) expect(b[i]!.train_loss).toBe(a[i]!.train_loss);
      expect(c[i]!.val_loss).toBeCloseTo(a[i]!.val_loss, 4); // one worker: the same curve within float noise
    }
    // the final evaluation (24 windows, split over both threads) also resumes bit for bit
    expect(a[4]!.val_tokens).toBe(24 * 64);
    expect(b[4]!.val_loss_se).toBe(a[4]!.val_loss_se);
  });
});
