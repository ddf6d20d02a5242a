import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { METRIC_COLUMNS } from '../src/fit/types.ts';
import { readMetrics as readMetricsCsv } from '../src/artifacts/metrics.ts';
import { sharedDatasetsOrSkip } from './helpers/data.ts';
import { cli, runAndKill } from './helpers/train.ts';

const shared = sharedDatasetsOrSkip('sweep');
const dir = mkdtempSync(join(tmpdir(), 'chl-sweep-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.skipIf(!shared)('sweep end to end on the cpu backend', () => {
  const file = join(dir, 'tiny-sweep.json');
  writeFileSync(
    file,
    JSON.stringify({
      name: 'tiny',
      base: { tokenizer: 'byte', dataset: 'wikitext-2-v1', steps: 8, batch: 4, lr: 0.003, eval_interval: 2, eval_windows: 4, final_eval_windows: 8 },
      runs: [
        { name: 'd8', model: { context: 32, d_model: 8, n_layers: 1, n_heads: 2 } },
        { name: 'd16', model: { context: 32, d_model: 16, n_layers: 1, n_heads: 2 } },
        { name: 'd24', model: { context: 32, d_model: 24, n_layers: 2, n_heads: 2 } },
      ],
    }),
  );
  const out = join(dir, 'out');
  const args = ['sweep', file, '--backend', 'cpu', '--data-dir', shared!, '--out', out, '--estimate-steps', '1'];
  const csv = (run: string) => join(out, run, 'metrics.csv');

  it('a run killed mid-way resumes, finished runs are skipped, and the fit is written at the end', async () => {
    // kill the whole sweep while the second run is in its second evaluation interval
    const k = await runAndKill(args, csv('d16'), 2);
    expect(k.killed).toBe(true);
    expect(readMetricsCsv(csv('d8')).map((r) => r.step)).toEqual([0, 2, 4, 6, 8]);
    const partial = readMetricsCsv(csv('d16')).length;
    expect(partial).toBeLessThan(5);
    expect(existsSync(join(out, 'd24'))).toBe(false);

    const r = cli(args);
    expect(r.status, r.stderr).toBe(0);
    // the plan: one row per run with params, tokens, FLOPs, estimate and status
    expect(r.stderr).toMatch(/run\s+params\s+non-emb\s+steps\s+tokens\s+FLOPs \(6ND\)\s+est\. time\s+status/);
    expect(r.stderr).toMatch(/d8\s.*finished/);
    expect(r.stderr).toMatch(/d16: resuming from step [0-8]|d16: no checkpoint found/);
    for (const run of ['d8', 'd16', 'd24']) {
      const text = readFileSync(csv(run), 'utf8');
      expect(text.split('\n')[0]).toBe(METRIC_COLUMNS.join(','));
      expect(readMetricsCsv(csv(run)).map((x) => x.step)).toEqual([0, 2, 4, 6, 8]);
      const info = JSON.parse(readFileSync(join(out, run, 'run.json'), 'utf8'));
      expect(info.status).toBe('finished');
      expect(info.backend.name).toBe('cpu');
      expect(existsSync(join(out, run, 'checkpoints', 'latest.safetensors'))).toBe(true);
      expect(existsSync(join(out, run, '.lock'))).toBe(false);
    }
    // run.json: the sweep's name and the final evaluation on final_eval_windows
    for (const run of ['d8', 'd16', 'd24']) {
      const info = JSON.parse(readFileSync(join(out, run, 'run.json'), 'utf8'));
      expect(info.sweep).toBe('tiny');
      expect(info.final_eval).toMatchObject({ windows: 8, tokens: 8 * 32, step: 8 });
    }
    const sweep = JSON.parse(readFileSync(join(out, 'sweep.json'), 'utf8'));
    expect(sweep.schema_version).toBe(1);
    expect(sweep.runs.map((x: { status: string }) => x.status)).toEqual(['finished', 'finished', 'finished']);
    expect(existsSync(join(out, 'fit.json'))).toBe(true);

    // a re-run trains nothing
    const before = readFileSync(csv('d16'), 'utf8');
    const again = cli([...args, '--no-fit']);
    expect(again.status, again.stderr).toBe(0);
    expect(readFileSync(csv('d16'), 'utf8')).toBe(before);
    expect(again.stderr).not.toMatch(/resuming/);
  });

  it('--shard runs only its share', () => {
    const out2 = join(dir, 'sharded');
    const r = cli(['sweep', file, '--backend', 'cpu', '--data-dir', shared!, '--out', out2, '--no-estimate', '--shard', '1/2', '--steps', '2']);
    expect(r.status, r.stderr).toBe(0);
    expect(existsSync(csv('d16').replace(out, out2))).toBe(true);
    expect(existsSync(join(out2, 'd8', 'metrics.csv'))).toBe(false);
    expect(existsSync(join(out2, 'd24', 'metrics.csv'))).toBe(false);
    expect(r.stderr).toMatch(/2 run\(s\) not finished.*Other shards/);
  });
});
