import * as tf from '@tensorflow/tfjs';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../src/backend.ts';
import { AdamW, clipByGlobalNorm } from '../src/train/adamw.ts';
import { Rng } from '../src/util/rng.ts';
import { loadCheckpoint, saveCheckpoint, checkpointPath } from '../src/train/checkpoint.ts';
import { MetricsCsv, readMetricsCsv } from '../src/train/metrics.ts';
import { learningRate } from '../src/train/schedule.ts';
import { parseTrainConfig } from '../src/train/config.ts';
import { METRIC_COLUMNS } from '../src/fit/types.ts';

let dir: string;
beforeAll(async () => {
  await tf.setBackend('cpu');
  dir = mkdtempSync(join(tmpdir(), 'chl-train-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('learning-rate schedule', () => {
  const o = { lr: 1e-3, warmup: 10, horizon: 110, minFrac: 0.1 };
  it('warms up linearly', () => {
    expect(learningRate(0, o)).toBeCloseTo(1e-4, 12);
    expect(learningRate(4, o)).toBeCloseTo(5e-4, 12);
    expect(learningRate(9, o)).toBeCloseTo(1e-3, 12);
  });
  it('decays by a cosine to 10 % at the horizon', () => {
    expect(learningRate(10, o)).toBeCloseTo(1e-3, 12);
    // halfway through the decay: min + (max-min)/2
    expect(learningRate(60, o)).toBeCloseTo(1e-4 + 0.5 * 9e-4, 12);
    expect(learningRate(110, o)).toBeCloseTo(1e-4, 12);
    expect(learningRate(500, o)).toBeCloseTo(1e-4, 12);
  });
});

describe('AdamW', () => {
  it('matches a hand-computed update with decoupled weight decay', () => {
    const w = tf.variable(tf.tensor1d([1, -2]));
    const b = tf.variable(tf.tensor1d([0.5]));
    const opt = new AdamW(
      [
        { name: 'w', variable: w, decay: true },
        { name: 'b', variable: b, decay: false },
      ],
      { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1 },
    );
    const lr = 0.01;
    // step 1: m̂ = g, v̂ = g², so the update is lr·sign(g) (up to eps)
    opt.step([tf.tensor1d([0.5, -1]), tf.tensor1d([2])], lr);
    const w1 = w.dataSync();
    expect(w1[0]).toBeCloseTo(1 * (1 - lr * 0.1) - lr, 6);
    expect(w1[1]).toBeCloseTo(-2 * (1 - lr * 0.1) + lr, 6);
    expect(b.dataSync()[0]).toBeCloseTo(0.5 - lr, 6); // no decay on b
    // step 2 with g = 0.5 again for w[0]: m = 0.9·0.5·0.1 + 0.1·0.5 ... computed by hand
    opt.step([tf.tensor1d([0.5, -1]), tf.tensor1d([2])], lr);
    const m = 0.9 * 0.05 + 0.1 * 0.5; // 0.095
    const v = 0.95 * 0.05 * 0.25 + 0.05 * 0.25; // 0.024375
    const mh = m / (1 - 0.9 ** 2);
    const vh = v / (1 - 0.95 ** 2);
    const expected = w1[0]! * (1 - lr * 0.1) - (lr * mh) / (Math.sqrt(vh) + 1e-8);
    expect(w.dataSync()[0]).toBeCloseTo(expected, 6);
    expect(opt.t).toBe(2);
    opt.dispose();
  });

  for (const [backend, groupElements] of [['wasm', undefined], ['cpu', undefined], ['wasm', 16]] as const) {
    it(`updates tensors as flat vectors with the bits of a per-tensor update (${backend}, groups of ${groupElements ?? 'all'})`, async () => {
      await initBackend(backend as 'wasm' | 'cpu', { quiet: true });
      const rng = new Rng(5);
      const rand = (shape: number[]) => tf.tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.normal()), shape);
      const shapes = [[3, 4], [4], [2, 5], [7]];
      const decays = [true, false, true, false];
      const params = shapes.map((s, i) => ({ name: `p${i}`, variable: tf.variable(rand(s)), decay: decays[i]! }));
      const ref = params.map((p) => ({ p: tf.variable(p.variable.clone()), m: tf.variable(tf.zerosLike(p.variable)), v: tf.variable(tf.zerosLike(p.variable)), decay: p.decay }));
      const o = { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1 };
      // groups of at most 16 elements: [3,4] + [4], then [2,5] alone, then [7]
      const opt = new AdamW(params, { ...o, ...(groupElements ? { groupElements } : {}) });
      const before = tf.memory().numTensors;
      for (let t = 1; t <= 3; t++) {
        const grads = shapes.map((s) => rand(s));
        const lr = 0.01 * t;
        opt.step(grads, lr);
        // the per-tensor update this replaced (torch.optim.AdamW's order of operations)
        tf.tidy(() =>
          ref.forEach((r, i) => {
            const g = grads[i]!;
            const m = r.m.mul(o.beta1).add(g.mul(1 - o.beta1));
            const v = r.v.mul(o.beta2).add(g.square().mul(1 - o.beta2));
            r.m.assign(m);
            r.v.assign(v);
            const update = m.div(1 - o.beta1 ** t).div(v.div(1 - o.beta2 ** t).sqrt().add(o.eps));
            const w = r.decay ? r.p.mul(1 - lr * o.weightDecay) : r.p;
            r.p.assign(w.sub(update.mul(lr)));
          }),
        );
        tf.dispose(grads);
      }
      expect(tf.memory().numTensors).toBe(before);
      ref.forEach((r, i) => {
        expect(Array.from(params[i]!.variable.dataSync())).toEqual(Array.from(r.p.dataSync()));
        expect(Array.from(opt.m[i]!.dataSync())).toEqual(Array.from(r.m.dataSync()));
        expect(Array.from(opt.v[i]!.dataSync())).toEqual(Array.from(r.v.dataSync()));
        expect(params[i]!.variable.shape).toEqual(shapes[i]);
      });
      opt.dispose();
      tf.dispose([...params.map((p) => p.variable), ...ref.flatMap((r) => [r.p, r.m, r.v])]);
    });
  }

  it('clips by global norm', () => {
    const { grads, norm } = clipByGlobalNorm([tf.tensor1d([3, 0]), tf.tensor1d([4])], 1);
    expect(norm.dataSync()[0]).toBeCloseTo(5, 6);
    expect(Array.from(grads[0]!.dataSync())[0]).toBeCloseTo(0.6, 5);
    expect(grads[1]!.dataSync()[0]).toBeCloseTo(0.8, 5);
    const small = clipByGlobalNorm([tf.tensor1d([0.3])], 1);
    expect(small.grads[0]!.dataSync()[0]).toBeCloseTo(0.3, 6);
  });
});

describe('checkpoint', () => {
  it('round-trips tensors and state exactly', async () => {
    const a = tf.tensor2d([
      [1.5, -2.25],
      [Math.PI, 1e-30],
    ]);
    const b = tf.tensor1d([7]);
    await saveCheckpoint(dir, {
      step: 50,
      optimizerT: 50,
      elapsedS: 12.5,
      seed: 42,
      tensors: [
        { name: 'param/a', tensor: a },
        { name: 'param/b', tensor: b },
      ],
      extra: { interval_loss_sum: 3.25 },
    });
    const ck = loadCheckpoint(dir)!;
    expect(ck.header.step).toBe(50);
    expect(ck.header.rng.seed).toBe(42);
    expect(ck.header.extra).toEqual({ interval_loss_sum: 3.25 });
    expect(Array.from(ck.get('param/a'))).toEqual(Array.from(a.dataSync()));
    expect(Array.from(ck.get('param/b'))).toEqual([7]);
    expect(() => ck.get('param/c')).toThrow(/no tensor param\/c/);
  });
  it('rejects a truncated file with a clear error', async () => {
    const p = checkpointPath(dir);
    const buf = readFileSync(p);
    writeFileSync(p, buf.subarray(0, buf.length - 3));
    expect(() => loadCheckpoint(dir)).toThrow(/latest.safetensors is corrupt or unreadable \(truncated/);
  });
});

describe('metrics CSV', () => {
  it('writes the exact columns, appends, and truncates on resume', () => {
    const path = join(dir, 'metrics.csv');
    const csv = new MetricsCsv(path);
    csv.create();
    const row = (step: number) =>
      Object.fromEntries(METRIC_COLUMNS.map((c) => [c, c === 'step' ? step : c === 'train_loss' && step === 0 ? NaN : step + 0.5])) as never;
    csv.append(row(0));
    csv.append(row(50));
    csv.append(row(100));
    const text = readFileSync(path, 'utf8').split('\n');
    expect(text[0]).toBe('step,tokens,flops_6nd,flops_kaplan,flops_chinchilla,train_loss,val_loss,lr,elapsed_s,tokens_per_s,val_loss_se,val_tokens');
    expect(text[1]!.split(',')[5]).toBe(''); // no train loss at step 0
    expect(readMetricsCsv(path).map((r) => r.step)).toEqual([0, 50, 100]);
    csv.truncateAfter(50);
    const rows = readMetricsCsv(path);
    expect(rows.map((r) => r.step)).toEqual([0, 50]);
    expect(rows[1]!.val_loss).toBe(50.5);
    expect(Number.isNaN(rows[0]!.train_loss)).toBe(true);
  });
});

describe('train config', () => {
  it('has the experiment’s defaults', () => {
    const c = parseTrainConfig({}, 'test');
    expect(c).toMatchObject({ steps: 500, batch: 32, lr: 3e-4, eval_interval: 50, eval_windows: 64, final_eval_windows: 'all', tokenizer: 'gpt2', beta1: 0.9, beta2: 0.95 });
  });
  it('names a bad field', () => {
    expect(() => parseTrainConfig({ lr: -1 }, 'flags')).toThrow(/flags: invalid config[\s\S]*lr:/);
    expect(() => parseTrainConfig({ stepz: 3 }, 'flags')).toThrow(/stepz/);
  });
});
