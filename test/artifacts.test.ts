import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  METRIC_COLUMNS,
  MetricsCsv,
  readMetrics,
  readRunInfo,
  readRunJson,
  readRunStatus,
  readSweepJson,
  writeRunJson,
  writeSweepJson,
  type MetricRow,
  type RunJson,
  type SweepJson,
} from '../src/artifacts/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'chl-artifacts-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const row = (step: number, val: number): MetricRow => ({
  step,
  tokens: step * 256,
  flops_6nd: step * 1.5e9,
  flops_kaplan: step * 1.25e9,
  flops_chinchilla: step * 2e9,
  train_loss: step === 0 ? NaN : val + 0.1,
  val_loss: val,
  lr: 3e-4,
  elapsed_s: step * 0.5,
  tokens_per_s: step === 0 ? 0 : 512,
  val_loss_se: 0.0123456789,
  val_tokens: 2048,
});

const runJson = (): RunJson => ({
  schema_version: 1,
  name: 'tiny',
  status: 'finished',
  params_total: 1000,
  params_non_embedding: 800,
  params_embedding: 200,
  model: { context: 64, d_model: 32, n_layers: 2, n_heads: 2, vocab_size: 256, d_ff: 128, dropout: 0, bias: true, tie_embeddings: true, seed: 0 } as RunJson['model'],
  model_source: 'configs/models/tiny.json',
  train: { steps: 12, batch: 4, lr: 2e-3, warmup_steps: 1, micro_batch_used: 4, workers: 1 } as RunJson['train'],
  flops_per_token: { flops_6nd: 6000, flops_kaplan: 5000, flops_chinchilla: 7000 },
  tokens_per_step: 256,
  dataset: 'wikitext-2-v1',
  text: { strip_markers: false, drop_blank_lines: false },
  tokenizer: 'byte',
  tokenizer_id: 'byte',
  seed: 1337,
  eval: { windows: 8, seed: 20220329, rows: 8, tokens: 512 },
  final_eval: { val_loss: 3.25, val_loss_se: 0.01, tokens: 1024, windows: 16, step: 12 },
  data_tokens: { train: 1e6, validation: 1e5 },
  backend: { name: 'wasm', tf_backend: 'wasm', device: 'CPU', threads: 1, passed_over: [{ backend: 'tensorflow', reason: 'not installed' }] },
  host: { hostname: 'h', cpus: 'cpu', cores: 2, memory_gb: 8, platform: 'linux x64' },
  versions: { node: '20', 'chinchilla-lab': '0.1.0', '@tensorflow/tfjs-node': null },
  git_commit: null,
  started_at: '2026-01-01T00:00:00.000Z',
  ended_at: '2026-01-01T00:01:00.000Z',
  resumed_at: [],
  elapsed_s: 60,
  sweep: 'quick',
  budget_flops: 1e15,
});

describe('metrics.csv', () => {
  it('round-trips rows through the writer and the reader (NaN as an empty cell)', () => {
    const csv = new MetricsCsv(join(dir, 'm1.csv'));
    csv.create();
    const rows = [row(0, 5.5), row(3, 5.25), row(6, 5.125)];
    rows.forEach((r) => csv.append(r));
    const text = readFileSync(csv.path, 'utf8');
    expect(text.split('\n')[0]).toBe(METRIC_COLUMNS.join(','));
    expect(METRIC_COLUMNS.slice(-2)).toEqual(['val_loss_se', 'val_tokens']); // new columns at the end
    expect(text.split('\n')[1]).toBe('0,0,0,0,0,,5.5,0.0003,0,0,0.0123456789,2048');
    expect(readMetrics(csv.path)).toEqual(rows);
  });

  it('reads a file of the previous version (no val_loss_se, val_tokens) with NaN there', () => {
    const p = join(dir, 'old.csv');
    writeFileSync(p, 'step,tokens,flops_6nd,flops_kaplan,flops_chinchilla,train_loss,val_loss,lr,elapsed_s,tokens_per_s\n0,0,0,0,0,,5.5,0.0003,0,0\n');
    const [r] = readMetrics(p);
    expect(r!.val_loss).toBe(5.5);
    expect(r!.val_loss_se).toBeNaN();
    expect(r!.val_tokens).toBeNaN();
  });

  it('drops an incomplete last line with a warning, and resume truncation removes it and later rows', () => {
    const csv = new MetricsCsv(join(dir, 'm2.csv'));
    csv.create();
    [row(0, 5.5), row(3, 5.25), row(6, 5.125)].forEach((r) => csv.append(r));
    const whole = readFileSync(csv.path, 'utf8');
    writeFileSync(csv.path, whole + '9,2304,13500000'); // a crash in the middle of an append
    const warnings: string[] = [];
    expect(readMetrics(csv.path, { warn: (m) => warnings.push(m) }).map((r) => r.step)).toEqual([0, 3, 6]);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/m2\.csv: dropped an incomplete last line \("9,2304,13500000"\)/);
    // --resume from the checkpoint at step 3: the file is what an uninterrupted run had written by then
    expect(csv.truncateAfter(3, { warn: () => {} }).map((r) => r.step)).toEqual([0, 3]);
    const lines = whole.split('\n');
    expect(readFileSync(csv.path, 'utf8')).toBe(lines.slice(0, 3).join('\n') + '\n');
  });
});

describe('run.json', () => {
  it('round-trips through the schema (writer and reader)', () => {
    const out = join(dir, 'run1');
    mkdirSync(out);
    writeRunJson(out, runJson());
    expect(readRunJson(out)).toEqual(runJson());
    expect(readRunStatus(out)).toBe('finished');
    const info = readRunInfo(join(out, 'run.json'));
    expect(info.final_eval?.val_loss).toBe(3.25);
    expect(info.budget_flops).toBe(1e15);
  });

  it('refuses to write a field the schema does not allow, naming it', () => {
    const out = join(dir, 'run-bad');
    expect(() => writeRunJson(out, { ...runJson(), params_total: -1 })).toThrow(/params_total/);
  });

  it('migrates a file from before schema_version (version 0): final_eval is null', () => {
    const out = join(dir, 'run0');
    mkdirSync(out);
    const { schema_version: _v, final_eval: _f, ...old } = runJson();
    writeFileSync(join(out, 'run.json'), JSON.stringify(old));
    const r = readRunJson(out)!;
    expect(r.schema_version).toBe(1);
    expect(r.final_eval).toBeNull();
    expect(r.params_total).toBe(1000);
  });

  it('refuses a newer version with a message that says which and what to do', () => {
    const out = join(dir, 'run9');
    mkdirSync(out);
    writeFileSync(join(out, 'run.json'), JSON.stringify({ ...runJson(), schema_version: 9 }));
    expect(() => readRunJson(out)).toThrow(/run\.json schema_version 9 was written by a newer chinchilla-lab \(this one reads up to 1\); update the project/);
    expect(() => readRunInfo(join(out, 'run.json'))).toThrow(/schema_version 9/);
  });

  it('reads a hand-made run.json for the fit (only the fields it needs)', () => {
    const p = join(dir, 'hand.json');
    writeFileSync(p, JSON.stringify({ name: 'h', params_total: 10, params_non_embedding: 8, model: { context: 4 } }));
    expect(readRunInfo(p)).toMatchObject({ name: 'h', params_total: 10, final_eval: null, schema_version: 1 });
    writeFileSync(p, JSON.stringify({ name: 'h', params_total: 0, params_non_embedding: 8 }));
    expect(() => readRunInfo(p)).toThrow(/params_total/);
  });
});

describe('sweep.json', () => {
  const sweep: SweepJson = {
    schema_version: 1,
    name: 'quick',
    kind: 'runs',
    file: 'configs/sweep-quick.json',
    config: { name: 'quick', base: { steps: 300 } },
    skipped: [],
    updated_at: '2026-01-01T00:00:00.000Z',
    runs: [{ name: 'xs', index: 0, dir: 'runs/quick/xs', status: 'pending', params_total: 10, params_non_embedding: 8, steps: 300, tokens: 1e5, flops_6nd: 6e6, est_s: 12 }],
  };
  it('round-trips, migrates version 0 and refuses newer versions', () => {
    const out = join(dir, 'sweep');
    writeSweepJson(out, sweep);
    expect(readSweepJson(out)).toEqual(sweep);
    const { schema_version: _v, ...old } = sweep;
    writeFileSync(join(out, 'sweep.json'), JSON.stringify(old));
    expect(readSweepJson(out)).toEqual(sweep);
    writeFileSync(join(out, 'sweep.json'), JSON.stringify({ ...sweep, schema_version: 2 }));
    expect(() => readSweepJson(out)).toThrow(/sweep\.json schema_version 2 was written by a newer/);
  });
});
