import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, hostname } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { loadSweep, parseShard } from '../src/sweep/config.ts';
import { tryLock } from '../src/sweep/lock.ts';
import { PROJECT_ROOT } from '../src/util/paths.ts';

const dir = mkdtempSync(join(tmpdir(), 'chl-sweepcfg-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const tiny = { context: 16, d_model: 16, n_layers: 1, n_heads: 2 };
function write(name: string, obj: unknown): string {
  const p = join(dir, name);
  writeFileSync(p, typeof obj === 'string' ? obj : JSON.stringify(obj));
  return p;
}

describe('sweep files', () => {
  it('expands the experiment: 3 runs, 500 steps, batch 32 × 256, GPT-2 vocabulary', () => {
    const plan = loadSweep(join(PROJECT_ROOT, 'configs/sweep.json'));
    expect(plan.runs.map((r) => r.name)).toEqual(['786k', '4m', '25m']);
    for (const r of plan.runs) {
      expect(r.train).toMatchObject({ steps: 500, batch: 32, lr: 3e-4, eval_interval: 50, tokenizer: 'gpt2', dataset: 'wikitext-2-raw-v1' });
      expect(r.model.context).toBe(256);
      expect(r.vocab).toBe(50257);
      expect(r.tokens).toBe(500 * 32 * 256);
      expect(r.flops_6nd).toBe(6 * r.params_total * r.tokens);
    }
    expect(plan.runs.map((r) => r.model.d_model)).toEqual([128, 256, 512]);
  });

  it('applies a base, per-run overrides and CLI overrides (CLI wins)', () => {
    const f = write('list.json', { base: { model: tiny, tokenizer: 'byte', steps: 7 }, runs: [{ name: 'a' }, { name: 'b', lr: 1e-3, steps: 9 }] });
    const p = loadSweep(f);
    expect(p.runs.map((r) => [r.name, r.train.steps, r.train.lr])).toEqual([
      ['a', 7, 3e-4],
      ['b', 9, 1e-3],
    ]);
    expect(loadSweep(f, { steps: 3 }).runs.map((r) => r.train.steps)).toEqual([3, 3]);
  });

  it('takes the product of a grid', () => {
    const f = write('grid.json', {
      base: { tokenizer: 'byte', steps: 5 },
      grid: { model: [tiny, { ...tiny, d_model: 32, name: 'w32' }], lr: [1e-3, 3e-4], seed: [1, 2] },
    });
    const p = loadSweep(f);
    expect(p.kind).toBe('grid');
    expect(p.runs).toHaveLength(8);
    expect(new Set(p.runs.map((r) => r.name)).size).toBe(8);
    expect(p.runs.filter((r) => r.model.d_model === 32)).toHaveLength(4);
  });

  it('derives isoflop step counts from C = 6·N·D', () => {
    const f = write('iso.json', { base: { tokenizer: 'byte', batch: 4 }, isoflop: { budgets: [1e10, 1e11], models: [tiny], min_steps: 1 } });
    const p = loadSweep(f);
    expect(p.runs).toHaveLength(2);
    for (const r of p.runs) {
      const tokensPerStep = 4 * 16;
      expect(r.train.steps).toBe(Math.round(r.budget_flops! / (6 * r.params_total * tokensPerStep)));
      // the realised compute is within half a step of the budget
      expect(Math.abs(r.flops_6nd - r.budget_flops!)).toBeLessThanOrEqual(3 * r.params_total * tokensPerStep);
    }
    expect(p.runs[1]!.train.steps / p.runs[0]!.train.steps).toBeCloseTo(10, 1);
  });

  it('gives an isoflop size its own learning rate ({ "model", "lr" }); the CLI still wins', () => {
    const wide = { ...tiny, d_model: 32, name: 'w32' };
    const f = write('iso-lr.json', {
      base: { tokenizer: 'byte', batch: 4, lr: 8e-3 },
      isoflop: { budgets: [1e10, 1e11], models: [tiny, { model: wide, lr: 4e-3 }], min_steps: 1 },
    });
    const p = loadSweep(f);
    expect(p.runs.map((r) => [r.model.d_model, r.train.lr])).toEqual([
      [16, 8e-3],
      [32, 4e-3],
      [16, 8e-3],
      [32, 4e-3],
    ]);
    expect(loadSweep(f, { lr: 1e-3 }).runs.map((r) => r.train.lr)).toEqual([1e-3, 1e-3, 1e-3, 1e-3]);
    const bad = write('iso-lr-bad.json', { base: { tokenizer: 'byte' }, isoflop: { budgets: [1e10], models: [{ model: wide, lr: 1e-3, steps: 5 }] } });
    expect(() => loadSweep(bad)).toThrow(/isoflop\.models\.0/);
  });

  it('rejects bad files with errors that name the field', () => {
    const cases: [unknown, RegExp][] = [
      ['{ not json', /not valid JSON/],
      [{ base: { model: tiny }, runs: [{ lr: -1 }] }, /runs\.0\.lr/],
      [{ base: { model: tiny }, runs: [{ stepz: 5 }] }, /stepz/],
      [{ base: { model: tiny } }, /exactly one of "runs", "grid" or "isoflop"/],
      [{ base: { model: { ...tiny, n_heads: 3 } }, runs: [{}] }, /n_heads/],
      [{ runs: [{ name: 'x' }] }, /no "model"/],
      [{ base: { model: 'configs/models/nope.json' }, runs: [{}] }, /nope\.json" not found/],
      [{ base: { model: tiny, tokenizer: 'wordpiece' }, runs: [{}] }, /tokenizer "wordpiece"/],
    ];
    cases.forEach(([c], i) => write(`bad${i}.json`, c));
    cases.forEach(([, re], i) => expect(() => loadSweep(join(dir, `bad${i}.json`))).toThrow(re));
  });

  it('parses --shard', () => {
    expect(parseShard('1/3')).toEqual({ index: 1, count: 3 });
    expect(() => parseShard('3/3')).toThrow(/0 ≤ i < n/);
    expect(() => parseShard('x')).toThrow(/i\/n/);
  });

  it('a bad sweep file exits non-zero and writes nothing', () => {
    const out = join(dir, 'out-bad');
    const f = write('bad-cli.json', { base: { model: tiny }, runs: [{ batch: 0 }] });
    const r = spawnSync(process.execPath, [join(PROJECT_ROOT, 'bin/chinchilla.js'), 'sweep', f, '--out', out], { encoding: 'utf8' });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/runs\.0\.batch/);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect(existsSync(out)).toBe(false);
  });
});

describe('run locks', () => {
  it('lets one holder in, and takes over a lock whose process is gone', () => {
    const run = join(dir, 'lockrun');
    const a = tryLock(run);
    expect('lock' in a).toBe(true);
    const b = tryLock(run);
    expect('heldBy' in b && b.heldBy?.pid).toBe(process.pid);
    if ('lock' in a) a.lock.release();
    expect(readdirSync(run)).not.toContain('.lock');
    // a lock left by a dead process on this host is stale
    writeFileSync(join(run, '.lock'), JSON.stringify({ pid: 999999999, host: hostname(), since: 'then' }));
    const c = tryLock(run);
    expect('lock' in c).toBe(true);
    if ('lock' in c) c.lock.release();
  });
});
