import * as tf from '@tensorflow/tfjs';
import { describe, expect, it, beforeAll } from 'vitest';
import { initBackend, kernelLayouts, type BackendName } from '../src/backend.ts';
import { BatchSampler, evalSet } from '../src/data/batches.ts';
import { parseModelConfig, resolveModelConfig } from '../src/model/config.ts';
import { GPT } from '../src/model/gpt.ts';
import { evalChunks, evaluate, summarise, windowLosses } from '../src/train/evaluate.ts';
import { WorkerPool } from '../src/train/parallel/pool.ts';
import { Rng } from '../src/util/rng.ts';

describe('the standard error of the evaluation', () => {
  it('is sd(window losses)/√n, checked by hand', () => {
    // losses 1, 2, 3, 4: mean 2.5; squared deviations 2.25 + 0.25 + 0.25 + 2.25 = 5;
    // sd = √(5/3) = 1.2909944; se = sd/√4 = 0.6454972
    const s = summarise([1, 2, 3, 4], 64);
    expect(s.val_loss).toBe(2.5);
    expect(s.val_loss_se).toBeCloseTo(0.6454972244, 9);
    expect(s.windows).toBe(4);
    expect(s.tokens).toBe(256);
    expect(summarise([3.5], 8)).toEqual({ val_loss: 3.5, val_loss_se: 0, windows: 1, tokens: 8 });
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

    it('window losses are the model loss of each window', async () => {
      const model = new GPT(cfg, { kernels: kernelLayouts(backend) });
      const set = evalSet(validation, { context: 16, windows: 5, seed: 1 });
      await windowLosses(model, set, 0, 1); // the first call caches the model's causal mask
      const before = tf.memory().numTensors;
      const losses = await windowLosses(model, set, 0, 5);
      expect(tf.memory().numTensors).toBe(before); // flat
      expect(Array.from(await windowLosses(model, set, 2, 4))).toEqual(Array.from(losses.subarray(2, 4))); // rows do not depend on their chunk
      for (let i = 0; i < 5; i++) {
        const l = tf.tidy(() =>
          model.loss(tf.tensor2d(set.x.subarray(i * 16, i * 16 + 16), [1, 16], 'int32'), tf.tensor2d(set.y.subarray(i * 16, i * 16 + 16), [1, 16], 'int32')),
        );
        expect(losses[i]).toBeCloseTo((await l.data())[0]!, 5);
        l.dispose();
      }
      model.dispose();
    });

    it('gives the same bits with the windows split over 1, 2 or 3 threads, and frees its tensors', async () => {
      const model = new GPT(cfg, { kernels: kernelLayouts(backend) });
      const set = evalSet(validation, { context: 16, windows: 'all', seed: 1 }); // 187 windows, several chunks
      const sampler = new BatchSampler(tokens, { batch: 6, context: 16, seed: 2 });
      const one = await evaluate(model, set, 'final', null);
      expect(one.windows).toBe(Math.floor(2999 / 16));
      expect(one.val_loss).toBeGreaterThan(Math.log(64) - 0.5); // untrained: about ln V
      for (const workers of [2, 3]) {
        const pool = await WorkerPool.start({
          model, sampler, tokens, batch: 6, microBatch: 2, seed: 2, workers, backend, kernels: kernelLayouts(backend),
          validation, evalSets: { eval: { windows: 8, seed: 1 }, final: { windows: 'all', seed: 1 } },
        });
        try {
          const before = tf.memory().numTensors;
          const split = await evaluate(model, set, 'final', pool);
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
