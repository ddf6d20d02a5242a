import * as tf from '@tensorflow/tfjs';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend, type BackendInfo } from '../src/backend.ts';
import { BatchSampler } from '../src/data/batches.ts';
import { getTokenizer, loadTokens } from '../src/data/index.ts';
import { parseModelConfig, resolveModelConfig } from '../src/model/config.ts';
import { GPT } from '../src/model/gpt.ts';
import { AdamW } from '../src/train/adamw.ts';
import { readMetrics as readMetricsCsv } from '../src/artifacts/metrics.ts';
import { trainStep } from '../src/train/step.ts';
import { trainRun } from '../src/train/trainer.ts';
import { parseTrainConfig } from '../src/train/config.ts';
import { METRIC_COLUMNS } from '../src/fit/types.ts';
import { sharedDatasetsOrSkip } from './helpers/data.ts';
import { cli, runAndInterrupt, runAndKill } from './helpers/train.ts';
import { checkpointPath, loadCheckpoint, saveCheckpoint } from '../src/train/checkpoint.ts';

const shared = sharedDatasetsOrSkip('train');
const dir = mkdtempSync(join(tmpdir(), 'chl-train-it-'));
const tiny = parseModelConfig({ context: 64, d_model: 32, n_layers: 2, n_heads: 2 }, 'test');
const data = { dataDir: shared, dataset: 'wikitext-2-v1' as const, quiet: true };
let backend: BackendInfo;

beforeAll(async () => {
  backend = await initBackend('wasm', { quiet: true });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.skipIf(!shared)('training on the wasm backend', () => {
  it('loss on real WikiText-2 falls well below ln(vocab)', async () => {
    const before = tf.memory().numTensors;
    const train = parseTrainConfig(
      { tokenizer: 'byte', dataset: 'wikitext-2-v1', steps: 150, batch: 8, lr: 3e-3, eval_interval: 50, eval_windows: 32, final_eval_windows: 256, warmup_steps: 10 },
      'test',
    );
    const res = await trainRun({ model: tiny, train, data, outDir: join(dir, 'falls'), resume: false }, backend, { log: () => {} });
    expect(res.status).toBe('finished');
    const rows = readMetricsCsv(join(dir, 'falls', 'metrics.csv'));
    expect(rows.map((r) => r.step)).toEqual([0, 50, 100, 150]);
    const lnV = Math.log(256);
    expect(rows[0]!.val_loss).toBeGreaterThan(lnV - 0.1); // untrained ≈ uniform
    expect(rows[0]!.val_loss).toBeLessThan(lnV + 0.1);
    expect(rows[3]!.val_loss).toBeLessThan(0.6 * lnV); // ≈ 3.3 nats/byte: it learned the text's statistics
    expect(rows[3]!.train_loss).toBeLessThan(rows[1]!.train_loss);
    // every tensor the run created was released
    expect(tf.memory().numTensors).toBe(before);
    const info = JSON.parse(readFileSync(join(dir, 'falls', 'run.json'), 'utf8'));
    expect(info.status).toBe('finished');
    expect(typeof info.params_total).toBe('number');
    expect(typeof info.params_non_embedding).toBe('number');
    expect(info.backend.name).toBe('wasm');
    expect(info.schema_version).toBe(1);
    // intermediate rows: the 32 small windows; the last row is the final evaluation on 256 windows
    expect(rows.slice(0, 3).map((r) => r.val_tokens)).toEqual([32 * 64, 32 * 64, 32 * 64]);
    expect(rows[3]!.val_tokens).toBe(256 * 64);
    expect(rows[3]!.val_loss_se).toBeGreaterThan(0);
    expect(rows[3]!.val_loss_se).toBeLessThan(0.1);
    expect(info.final_eval).toEqual({ val_loss: rows[3]!.val_loss, val_loss_se: rows[3]!.val_loss_se, tokens: 256 * 64, windows: 256, step: 150 });
  });

  it('does not grow tf.memory().numTensors from step to step', async () => {
    const tok = await getTokenizer('byte', data);
    const tokens = await loadTokens('validation', tok, data);
    const cfg = resolveModelConfig(tiny, 256);
    const model = new GPT(cfg);
    const opt = new AdamW(model.params, { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1 });
    const sampler = new BatchSampler(tokens, { batch: 8, context: 64, seed: 1 });
    const setup = { model, opt, sampler, batch: 8, microBatch: 4, gradClip: 1, seed: 1 };
    await trainStep(setup, 0, 1e-3);
    await trainStep(setup, 1, 1e-3);
    const after2 = tf.memory().numTensors;
    for (let s = 2; s < 6; s++) await trainStep(setup, s, 1e-3);
    expect(tf.memory().numTensors).toBe(after2);
    opt.dispose();
    model.dispose();
  });

  it('gradient accumulation over micro-batches gives the same step as one full batch', async () => {
    const tok = await getTokenizer('byte', data);
    const tokens = await loadTokens('validation', tok, data);
    const cfg = resolveModelConfig(tiny, 256);
    const weightsAfter = async (microBatch: number) => {
      const model = new GPT(cfg);
      const opt = new AdamW(model.params, { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1 });
      const sampler = new BatchSampler(tokens, { batch: 8, context: 64, seed: 3 });
      const loss = await trainStep({ model, opt, sampler, batch: 8, microBatch, gradClip: 1, seed: 3 }, 0, 1e-3);
      const w = Array.from(model.params[2]!.variable.dataSync());
      opt.dispose();
      model.dispose();
      return { loss, w };
    };
    const full = await weightsAfter(8);
    const acc = await weightsAfter(2);
    expect(acc.loss).toBeCloseTo(full.loss, 4);
    acc.w.forEach((v, i) => expect(v).toBeCloseTo(full.w[i]!, 4));
  });
});

describe.skipIf(!shared)('resume after SIGKILL', () => {
  for (const be of ['wasm', 'cpu']) {
    it(`reproduces the uninterrupted run's rows bit for bit on ${be}, after a cut-off last line too`, async () => {
      const args = (out: string) => [
        'train',
        '--model', 'configs/models/tiny.json',
        '--tokenizer', 'byte',
        '--dataset', 'wikitext-2-v1',
        '--data-dir', shared!,
        '--backend', be,
        '--steps', '12',
        '--batch', '4',
        '--eval-interval', '3',
        '--eval-windows', '8',
        '--final-eval-windows', '16',
        '--lr', '2e-3',
        '--out', out,
      ];
      const ref = join(dir, `ref-${be}`);
      const r = cli(args(ref));
      expect(r.status, r.stderr).toBe(0);
      const killed = join(dir, `killed-${be}`);
      const k = await runAndKill(args(killed), join(killed, 'metrics.csv'), 3);
      expect(k.killed).toBe(true);
      const csvPath = join(killed, 'metrics.csv');
      const partial = readMetricsCsv(csvPath);
      expect(partial.length).toBeLessThan(5);
      // a crash in the middle of an append leaves half a line: readers drop it, resume cuts it away
      appendFileSync(csvPath, '9,2304,4936');
      const warnings: string[] = [];
      expect(readMetricsCsv(csvPath, { warn: (m) => warnings.push(m) })).toEqual(partial);
      expect(warnings[0]).toMatch(/dropped an incomplete last line/);
      const ckStep = loadCheckpoint(killed)!.header.step; // it must resume from a real checkpoint
      expect(ckStep).toBeGreaterThan(0);
      const r2 = cli([...args(killed), '--resume']);
      expect(r2.status, r2.stderr).toBe(0);
      expect(r2.stderr).toContain(`resuming from step ${ckStep} (checkpoint)`);
      expect(r2.stderr).not.toMatch(/no checkpoint found/);
      // the file ends with exactly the rows (and bytes) the uninterrupted run wrote, apart from the wall times
      const a = readMetricsCsv(join(ref, 'metrics.csv'));
      const b = readMetricsCsv(csvPath);
      expect(a.map((x) => x.step)).toEqual([0, 3, 6, 9, 12]);
      expect(b.map((x) => x.step)).toEqual([0, 3, 6, 9, 12]);
      for (let i = 0; i < a.length; i++) {
        for (const c of METRIC_COLUMNS) if (c !== 'elapsed_s' && c !== 'tokens_per_s') expect(b[i]![c], `row ${i} ${c}`).toBe(a[i]![c]);
      }
      expect(a[4]!.val_tokens).toBe(16 * 64);
      const header = readFileSync(csvPath, 'utf8').split('\n')[0];
      expect(header).toBe(METRIC_COLUMNS.join(','));
      expect(JSON.parse(readFileSync(join(killed, 'run.json'), 'utf8')).final_eval).toEqual(JSON.parse(readFileSync(join(ref, 'run.json'), 'utf8')).final_eval);
      // a finished run is left alone by --resume
      const r3 = cli([...args(killed), '--resume']);
      expect(r3.status).toBe(0);
      expect(r3.stderr).toMatch(/already finished/);
    });
  }

  it('Ctrl-C stops cleanly after a checkpoint, and --resume finishes the run', async () => {
    const out = join(dir, 'sigint');
    const args = ['train', '--model', 'configs/models/tiny.json', '--tokenizer', 'byte', '--dataset', 'wikitext-2-v1', '--data-dir', shared!,
      '--backend', 'wasm', '--steps', '400', '--batch', '4', '--eval-interval', '100', '--eval-windows', '4', '--final-eval-windows', '4', '--out', out];
    const r = await runAndInterrupt(args, join(out, 'metrics.csv'), 1);
    expect(r.code).toBe(130);
    expect(r.stderr).toMatch(/stopping training after writing a checkpoint/);
    const info = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8'));
    expect(info.status).toBe('interrupted');
    const ck = loadCheckpoint(out)!;
    expect(ck.header.step).toBeGreaterThan(0);
    expect(ck.header.step).toBeLessThan(400);
    const r2 = cli([...args, '--resume']);
    expect(r2.status, r2.stderr).toBe(0);
    expect(readMetricsCsv(join(out, 'metrics.csv')).map((x) => x.step)).toEqual([0, 100, 200, 300, 400]);
  });

  it('a NaN loss stops the run as diverged and keeps the CSV and the checkpoint', async () => {
    const out = join(dir, 'diverge');
    const args = ['train', '--model', 'configs/models/tiny.json', '--tokenizer', 'byte', '--dataset', 'wikitext-2-v1', '--data-dir', shared!,
      '--backend', 'wasm', '--batch', '4', '--eval-interval', '2', '--eval-windows', '4', '--final-eval-windows', '4', '--out', out];
    expect(cli([...args, '--steps', '2']).status).toBe(0);
    // poison the weights in the checkpoint, as an overflowing update would, and continue the run
    const ck = loadCheckpoint(out)!;
    const tensors = ck.header.tensors.map((t) => ({ name: t.name, tensor: tf.tensor(ck.get(t.name), t.shape) }));
    const wte = tensors.find((t) => t.name === 'param/wte')!;
    wte.tensor = tf.fill(wte.tensor.shape, NaN);
    await saveCheckpoint(out, { step: 2, optimizerT: ck.header.optimizer_t, elapsedS: 1, seed: ck.header.rng.seed, tensors });
    const info = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8'));
    writeFileSync(join(out, 'run.json'), JSON.stringify({ ...info, status: 'interrupted' }));
    const before = readFileSync(checkpointPath(out));
    const r = cli([...args, '--steps', '6', '--resume']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/diverged: training loss became NaN at step 3/);
    expect(JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')).status).toBe('diverged');
    expect(readMetricsCsv(join(out, 'metrics.csv')).map((x) => x.step)).toEqual([0, 2]);
    expect(readFileSync(checkpointPath(out)).equals(before)).toBe(true);
  });

  it('refuses to overwrite a run without --resume', () => {
    const r = cli(['train', '--model', 'configs/models/tiny.json', '--tokenizer', 'byte', '--dataset', 'wikitext-2-v1', '--data-dir', shared!, '--steps', '3', '--out', join(dir, 'ref-wasm')]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/already holds a run\. Pass --resume/);
  });
});
