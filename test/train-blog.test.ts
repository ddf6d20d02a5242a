/**
 * The training options of the blog's recipe: constant learning rate, decay on every
 * parameter, clipping off, its 0-based evaluation steps, train_loss measured on fresh
 * training windows, and the text joined as its train.py joins it. End to end on a tiny
 * model with the blog's layout, including exact resume with dropout on.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { treatText } from '../src/data/index.ts';
import { parseTrainConfig } from '../src/train/config.ts';
import { evalSchedule } from '../src/train/evalSchedule.ts';
import { readMetricsCsv } from '../src/train/metrics.ts';
import { learningRate } from '../src/train/schedule.ts';
import { readRunJson } from '../src/train/trainer.ts';
import { sharedDatasetsOrSkip } from './helpers/data.ts';
import { cli, runAndKill } from './helpers/train.ts';

const shared = sharedDatasetsOrSkip('train-blog');
const dir = mkdtempSync(join(tmpdir(), 'chl-train-blog-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('blog recipe units', () => {
  it('constant learning rate: lr at every step (after any warm-up)', () => {
    const o = { lr: 3e-4, warmup: 0, horizon: 500, minFrac: 0.1, schedule: 'constant' as const };
    for (const s of [0, 1, 250, 499, 600]) expect(learningRate(s, o)).toBe(3e-4);
    expect(learningRate(1, { ...o, warmup: 4 })).toBeCloseTo(1.5e-4, 15);
  });

  it("zero-based evaluation steps follow the blog's loop: after the update of step s, s % interval == 0", () => {
    const z = evalSchedule({ eval_steps: 'zero-based', eval_interval: 50, steps: 500 });
    expect(z.initial).toBe(false);
    const labels = Array.from({ length: 500 }, (_, i) => z.labelAfter(i + 1)).filter((l) => l !== null);
    expect(labels).toEqual([0, 50, 100, 150, 200, 250, 300, 350, 400, 450]);
    expect(z.labelAfter(1)).toBe(0); // "step 0" is after one update
    const c = evalSchedule({ eval_steps: 'completed', eval_interval: 50, steps: 120 });
    expect(c.initial).toBe(true);
    // the last step's row is the final evaluation's (trainer.ts), not the schedule's
    expect(Array.from({ length: 120 }, (_, i) => c.labelAfter(i + 1)).filter((l) => l !== null)).toEqual([50, 100]);
    const c100 = evalSchedule({ eval_steps: 'completed', eval_interval: 50, steps: 100 });
    expect(Array.from({ length: 100 }, (_, i) => c100.labelAfter(i + 1)).filter((l) => l !== null)).toEqual([50]);
  });

  it("joins non-blank lines with single spaces, each keeping its newline (HF rows)", () => {
    const s = ' \n = Title = \n \n First line . \n Second line . \n';
    expect(treatText(s, { joinLines: true })).toBe(' = Title = \n  First line . \n  Second line . \n');
    expect(treatText(' \n \n', { joinLines: true })).toBe('');
    expect(treatText('a\nb', { joinLines: true })).toBe('a\n b');
  });

  it('defaults are today’s recipe', () => {
    const t = parseTrainConfig({}, 'x');
    expect([t.lr_schedule, t.weight_decay_on, t.eval_steps, t.train_eval_windows, t.join_lines]).toEqual(['cosine', 'linear-weights', 'completed', 0, false]);
    expect(() => parseTrainConfig({ lr_schedule: 'linear' }, 'x.json')).toThrow(/lr_schedule/);
  });
});

describe.skipIf(!shared)('a tiny run with the blog recipe', () => {
  const model = join(dir, 'blog-tiny.json');
  writeFileSync(
    model,
    JSON.stringify({ context: 32, d_model: 32, n_layers: 2, n_heads: 2, dropout: 0.1, dropout_sites: ['attention', 'mlp'], activation: 'relu', attn_bias: false, tie_embeddings: false, head_bias: true, init: 'pytorch-default' }),
  );
  const args = (out: string, steps = 10, workers = 1) => [
    'train', '--model', model, '--tokenizer', 'byte', '--dataset', 'wikitext-2-v1', '--data-dir', shared!, '--join-lines',
    '--backend', 'wasm', '--workers', String(workers), '--steps', String(steps), '--batch', '4', '--eval-interval', '3', '--eval-windows', '8',
    '--lr', '3e-3', '--warmup', '0', '--lr-schedule', 'constant', '--weight-decay', '0.01', '--weight-decay-on', 'all',
    '--grad-clip', '0', '--eval-steps', 'zero-based', '--train-eval-windows', '8', '--out', out,
  ];

  it('writes rows at 0-based steps 0, 3, 6, 9 with tokens = step·batch·context, then the final evaluation at 10, and resumes exactly', async () => {
    const ref = join(dir, 'ref');
    const r = cli(args(ref));
    expect(r.status, r.stderr).toBe(0);
    const a = readMetricsCsv(join(ref, 'metrics.csv'));
    expect(a.map((x) => x.step)).toEqual([0, 3, 6, 9, 10]);
    expect(a.map((x) => x.tokens)).toEqual([0, 3 * 4 * 32, 6 * 4 * 32, 9 * 4 * 32, 10 * 4 * 32]);
    // the schedule's rows cover the 8 eval windows; the final one the whole validation split
    expect(a.slice(0, 4).every((x) => x.val_tokens === 8 * 32)).toBe(true);
    expect(a[4]!.val_tokens).toBeGreaterThan(100 * 8 * 32);
    expect(a.every((x) => x.lr === 3e-3)).toBe(true);
    // train_loss is measured (not NaN at "step 0": one update has been taken)
    expect(a.every((x) => Number.isFinite(x.train_loss) && Number.isFinite(x.val_loss))).toBe(true);
    const info = readRunJson(ref)!;
    expect(info.train).toMatchObject({ lr_schedule: 'constant', weight_decay_on: 'all', grad_clip: 0, eval_steps: 'zero-based', train_eval_windows: 8, join_lines: true });
    expect(info.text).toMatchObject({ join_lines: true });
    expect(info.final_eval).toMatchObject({ step: 10, tokens: a[4]!.val_tokens });
    expect(info.final_eval!.val_loss).toBeCloseTo(a[4]!.val_loss, 6);
    expect(info.model).toMatchObject({ activation: 'relu', init: 'pytorch-default', head_bias: true, attn_bias: false });

    const killed = join(dir, 'killed');
    const k = await runAndKill(args(killed), join(killed, 'metrics.csv'), 2);
    expect(k.killed).toBe(true);
    const r2 = cli([...args(killed), '--resume']);
    expect(r2.status, r2.stderr).toBe(0);
    const b = readMetricsCsv(join(killed, 'metrics.csv'));
    expect(b.map((x) => x.step)).toEqual([0, 3, 6, 9, 10]);
    for (let i = 0; i < a.length; i++) {
      expect(b[i]!.val_loss).toBeCloseTo(a[i]!.val_loss, 6);
      expect(b[i]!.train_loss).toBeCloseTo(a[i]!.train_loss, 6);
    }
  }, 120_000);

  it('with dropout on 2 workers: the same numbers for the same seed, and a resumed run equals the uninterrupted one', async () => {
    // dropout masks are keyed by (seed, step, micro-batch's first row, layer, site), whichever thread computes them
    const two = (out: string) => [...args(out, 7, 2), '--final-eval-windows', '64'];
    const ref = join(dir, 'w2-ref');
    const r = cli(two(ref));
    expect(r.status, r.stderr).toBe(0);
    const a = readMetricsCsv(join(ref, 'metrics.csv'));
    expect(a.map((x) => x.step)).toEqual([0, 3, 6, 7]);
    expect(readRunJson(ref)!.train).toMatchObject({ workers: 2 });
    const killed = join(dir, 'w2-killed');
    const k = await runAndKill(two(killed), join(killed, 'metrics.csv'), 2);
    expect(k.killed).toBe(true);
    const r2 = cli([...two(killed), '--resume']);
    expect(r2.status, r2.stderr).toBe(0);
    const b = readMetricsCsv(join(killed, 'metrics.csv'));
    expect(b.map((x) => x.step)).toEqual([0, 3, 6, 7]);
    for (let i = 0; i < a.length; i++) {
      expect(b[i]!.val_loss).toBe(a[i]!.val_loss);
      expect(b[i]!.train_loss).toBe(a[i]!.train_loss);
    }
  }, 180_000);
});
