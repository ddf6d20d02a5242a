import * as tf from '@tensorflow/tfjs';
import { describe, expect, it, beforeAll } from 'vitest';
import { initBackend, kernelLayouts, type BackendName } from '../src/backend.ts';
import { BatchSampler, evalSet } from '../src/data/batches.ts';
import { parseModelConfig, resolveModelConfig } from '../src/model/config.ts';
import { GPT } from '../src/model/gpt.ts';
import { chunkLosses, evalChunks, evaluate, standardError } from '../src/train/evaluate.ts';
import { WorkerPool } from '../src/train/parallel/pool.ts';
import { Rng } from '../src/util/rng.ts';

describe('the standard error of the evaluation', () => {
  it('is sd(window losses)/√n, checked by hand', () => {
    // losses 1, 2, 3, 4: mean 2.5; squared deviations 2.25 + 0.25 + 0.25 + 2.25 = 5;
    // sd = √(5/3) = 1.2909944; se = sd/√4 = 0.6454972
    expect(standardError([1, 2, 3, 4])).toBeCloseTo(0.6454972244, 9);
    expect(standardError([3.5])).toBe(0);
    expect(standardError([2, 2, 2])).toBe(0);
  });

  it('cuts the windows into chunks fixed by the window index', () => {
    expect(evalChunks(10, 4)).toEqual([[0, 4], [4, 8], [8, 10]]);
  });
});

const cfg = resolveModelConfig(parseModelConfig({ context: 16, d_model: 16, n_layers: 1, n_heads: 2 }, 'test'), 64);
const rng = new Rng(5);
const tokens = Int32Array.from({ length: 4000 }, () => rng.int(64));
const validation = Int32Array.from({ length: 3000 }, () => rng.int(64));

for (const backend of ['wasm', 'cpu'] as BackendName[]) {
  describe(`evaluation on ${backend}`, () => {
    beforeAll(async () => {
      await initBackend(backend, { quiet: true });
    });

    it('a chunk gives model.loss bit for bit, and each window its own loss', async () => {
      const model = new GPT(cfg, { kernels: kernelLayouts(backend) });
      const set = evalSet(validation, { context: 16, windows: 5, seed: 1 });
      await chunkLosses(model, set, 0, 1); // the first call caches the model's causal mask
      const before = tf.memory().numTensors;
      const r = await chunkLosses(model, set, 0, 5);
      expect(tf.memory().numTensors).toBe(before); // flat
      const lossOf = async (from: number, to: number) => {
        const l = tf.tidy(() =>
          model.loss(tf.tensor2d(set.x.subarray(from * 16, to * 16), [to - from, 16], 'int32'), tf.tensor2d(set.y.subarray(from * 16, to * 16), [to - from, 16], 'int32')),
        );
        const v = (await l.data())[0]!;
        l.dispose();
        return v;
      };
      expect(r.mean).toBe(await lossOf(0, 5)); // the number the evaluation always reported
      for (let i = 0; i < 5; i++) expect(r.windows[i]).toBeCloseTo(await lossOf(i, i + 1), 5);
      const mean = Array.from(r.windows).reduce((a, b) => a + b, 0) / 5;
      expect(mean).toBeCloseTo(r.mean, 5);
      model.dispose();
    });

    it('gives the same bits with the chunks spread over 1, 2 or 3 threads, and frees its tensors', async () => {
      const model = new GPT(cfg, { kernels: kernelLayouts(backend) });
      const set = evalSet(validation, { context: 16, windows: 'all', seed: 1 }); // 187 windows
      const sampler = new BatchSampler(tokens, { batch: 6, context: 16, seed: 2 });
      const one = await evaluate(model, set, 'final', 40, null); // chunks of 40: 40, 40, 40, 40, 27
      expect(one.windows).toBe(Math.floor(2999 / 16));
      expect(one.tokens).toBe(one.windows * 16);
      expect(one.val_loss).toBeGreaterThan(Math.log(64) - 0.5); // untrained: about ln V
      // val_loss is Σ chunk loss × rows / windows, as the single-threaded evaluation always computed it
      let sum = 0;
      for (const [f, t] of evalChunks(set.rows, 40)) sum += (await chunkLosses(model, set, f, t)).mean * (t - f);
      expect(one.val_loss).toBe(sum / set.rows);
      expect(one.val_loss_se).toBeGreaterThan(0);
      for (const workers of [2, 3]) {
        const pool = await WorkerPool.start({
          model, sampler, tokens, batch: 6, microBatch: 2, seed: 2, workers, backend, kernels: kernelLayouts(backend),
          validation, evalSets: { eval: { windows: 8, seed: 1 }, final: { windows: 'all', seed: 1 } },
        });
        try {
          const before = tf.memory().numTensors;
          const split = await evaluate(model, set, 'final', 40, pool);
          expect(tf.memory().numTensors).toBe(before);
          expect(split).toEqual(one); // bit for bit: each chunk is computed whole by one thread
        } finally {
          await pool.close();
        }
      }
      model.dispose();
    });
  });
}
