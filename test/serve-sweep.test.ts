/**
 * `chinchilla sweep --serve --tensorboard`: the dashboard runs beside the sweep
 * and stays until Ctrl-C; every run gets its TensorBoard folder, whose scalars
 * match its metrics.csv.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readMetrics } from '../src/fit/load.ts';
import type { SweepView } from '../src/serve/scan.ts';
import { byTag, readScalars } from '../src/tensorboard/reader.ts';
import { PROJECT_ROOT } from '../src/util/paths.ts';
import { sharedDatasets } from './helpers/data.ts';
import { CLI } from './helpers/train.ts';

const shared = sharedDatasets();
const dir = mkdtempSync(join(tmpdir(), 'chinchilla-serve-sweep-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.skipIf(!shared)('sweep --serve --tensorboard', () => {
  it('serves the sweep while and after it trains, and writes each run’s scalars', async () => {
    const file = join(dir, 'tiny.json');
    writeFileSync(file, JSON.stringify({
      name: 'tiny',
      base: { tokenizer: 'byte', dataset: 'wikitext-2-v1', steps: 6, batch: 4, lr: 0.003, eval_interval: 3, eval_windows: 4 },
      runs: [
        { name: 'd8', model: { context: 32, d_model: 8, n_layers: 1, n_heads: 2 } },
        { name: 'd16', model: { context: 32, d_model: 16, n_layers: 1, n_heads: 2 } },
      ],
    }));
    const out = join(dir, 'out');
    const tb = join(dir, 'tb');
    const child = spawn(process.execPath, [CLI, 'sweep', file, '--data-dir', shared!, '--out', out, '--no-estimate',
      '--no-fit', '--tensorboard', tb, '--serve', '--port', '0'], { cwd: PROJECT_ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    await new Promise<void>((resolve, reject) => {
      child.stderr!.on('data', (d) => {
        stderr += d;
        if (stderr.includes('the dashboard stays at')) resolve();
      });
      void exited.then(() => reject(new Error(`sweep exited early:\n${stderr}`)));
    });
    const url = /dashboard: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(stderr)![1]!;
    const sweeps = (await (await fetch(url + 'api/sweeps')).json()) as SweepView[];
    expect(sweeps.map((s) => s.name)).toEqual(['tiny']);
    expect(sweeps[0]!.runs.map((r) => [r.name, r.status, r.rows])).toEqual([['d8', 'finished', 3], ['d16', 'finished', 3]]);
    child.kill('SIGINT');
    expect(await exited).toBe(0);

    for (const run of ['d8', 'd16']) {
      const rows = readMetrics(join(out, run, 'metrics.csv'));
      const tags = byTag(await readScalars(join(tb, 'tiny', run)));
      expect(tags.get('eval/val_loss')!.map(([s]) => s)).toEqual(rows.map((r) => r.step));
      tags.get('eval/val_loss')!.forEach(([, v], i) => expect(v).toBeCloseTo(rows[i]!.val_loss, 5));
      expect(tags.get('train/loss')!).toHaveLength(6);
    }
  });
});
