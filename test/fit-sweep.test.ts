import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parsePointsCsv } from '../src/fit/csvPoints.ts';
import { fitSweep, loadRuns, type FitReport } from '../src/fit/index.ts';
import { UserError } from '../src/util/errors.ts';
import { PROJECT_ROOT } from '../src/util/paths.ts';
import { FIXTURE_LAW, FIXTURE_SIZES, makeFixtures } from './fixtures/fit/make.ts';

const FIXTURES = join(PROJECT_ROOT, 'test/fixtures/fit');
const SWEEP = join(FIXTURES, 'sweep');
const A_TRUE = FIXTURE_LAW.beta / (FIXTURE_LAW.alpha + FIXTURE_LAW.beta); // 4/7

const tmp = () => mkdtempSync(join(tmpdir(), 'fit-'));
/** A scratch copy of the fixture sweep (the CLI writes fit.json into it). */
function sweepCopy(): string {
  const dir = join(tmp(), 'sweep');
  cpSync(SWEEP, dir, { recursive: true });
  return dir;
}
const cli = (...args: string[]) =>
  spawnSync('node', [join(PROJECT_ROOT, 'bin/chinchilla.js'), 'fit', ...args], { encoding: 'utf8', cwd: PROJECT_ROOT });

function listFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .sort();
}

describe('fixture sweep', () => {
  it('is what test/fixtures/fit/make.ts generates', () => {
    const dir = tmp();
    makeFixtures(dir);
    const files = listFiles(dir);
    expect(files).toContain('sweep/sweep.json');
    expect(files.filter((f) => f.endsWith('metrics.csv'))).toHaveLength(6);
    for (const f of files) expect(readFileSync(join(dir, f), 'utf8')).toBe(readFileSync(join(FIXTURES, f), 'utf8'));
  });

  it('loadRuns reads every <run>/metrics.csv + run.json, sorted by size', () => {
    const runs = loadRuns(SWEEP);
    expect(runs.map((r) => r.info.params_total)).toEqual(FIXTURE_SIZES);
    expect(runs[0]!.info.name).toBe('n0-1000000');
    expect(runs[0]!.info.status).toBe('finished');
    for (const r of runs) {
      expect(r.rows).toHaveLength(41); // steps 0, 500, …, 20 000
      expect(r.rows[0]!.step).toBe(0);
      expect(r.rows[0]!.train_loss).toBeNaN(); // empty at step 0
      expect(r.rows[40]!.tokens).toBe(20000 * 65536);
      expect(r.rows[40]!.flops_6nd).toBe(6 * r.info.params_total * 20000 * 65536);
    }
  });
});

describe('fitSweep on the fixture sweep', () => {
  it('by default says what one schedule length cannot identify, and fits nothing it cannot', () => {
    const report = fitSweep(loadRuns(SWEEP), { n: 'total', sweepDir: SWEEP, grid: 'coarse' });
    expect(report.options!.points).toBe('final');
    expect(report.approach3).toBeNull();
    expect(report.approach3_design!.reason).toMatch(/all runs share one schedule length/);
    expect(report.approach1.design!.identifiable).toBe(false);
    expect(report.approach2.design!.identifiable).toBe(false);
    expect(report.agreement!.spread).toBeNull();
    // no run.json here has final_eval: each says how few tokens its final loss covered
    expect(report.warnings.filter((w) => /6 run\(s\) have no final_eval/.test(w))).toHaveLength(1);
  });

  it("with --points all (the mechanics: no schedule effect in this fixture) recovers the law's exponents with all four fits (full 4500-start grid)", () => {
    const report = fitSweep(loadRuns(SWEEP), { n: 'total', sweepDir: SWEEP, points: 'all', bootstrap: 0 });
    expect(report.warnings.some((w) => /--points all fits every evaluation/.test(w))).toBe(true);
    expect(report.runs).toHaveLength(6);
    // Fit 1: loss falls with compute along every run, close to a power law.
    expect(report.per_run).toHaveLength(6);
    for (const p of report.per_run) {
      expect(p.slope).toBeLessThan(-0.05);
      expect(p.slope).toBeGreaterThan(-0.1);
      expect(p.r2).toBeGreaterThan(0.9);
      expect(p.points).toBe(40);
    }
    // Approaches 1 and 2 (interpolated): a = 4/7 within 0.03.
    expect(Math.abs(report.approach1.n_opt!.exponent - A_TRUE)).toBeLessThan(0.03);
    expect(report.approach2.source).toBe('interpolated');
    expect(Math.abs(report.approach2.n_opt!.exponent - A_TRUE)).toBeLessThan(0.03);
    // Approach 3 on 240 curve points with 0.3 % noise.
    const a3 = report.approach3!;
    expect(a3.points).toBe(240);
    expect(a3.starts).toBe(4500);
    expect(a3.converged).toBe(true);
    expect(Math.abs(a3.E - FIXTURE_LAW.E)).toBeLessThan(0.05);
    expect(Math.abs(a3.alpha - FIXTURE_LAW.alpha)).toBeLessThan(0.02);
    expect(Math.abs(a3.beta - FIXTURE_LAW.beta)).toBeLessThan(0.03);
    expect(Math.abs(a3.a - A_TRUE)).toBeLessThan(0.02);
    expect(report.options).toEqual({ points: 'all', min_step: 0, bootstrap: 0, seed: 0, grid: 'full', window_ln_n: Math.log(2) });
  });
});

describe('chinchilla fit (CLI)', () => {
  it('fit <sweep> --json prints the FitReport (and only it) and writes the same to fit.json', () => {
    const dir = sweepCopy();
    const r = cli(dir, '--json', '--grid', 'coarse', '--bootstrap', '20', '--seed', '3', '--points', 'all', '--replace');
    expect(r.status).toBe(0);
    const report = JSON.parse(r.stdout) as FitReport; // the whole of stdout is one JSON document
    expect(report.sweep_dir).toBe(dir);
    expect(report.n).toBe('total');
    expect(report.flops).toBe('flops_6nd');
    const a3 = report.approach3!;
    for (const k of ['E', 'A', 'B', 'alpha', 'beta'] as const) expect(typeof a3[k]).toBe('number');
    expect(Math.abs(a3.alpha - FIXTURE_LAW.alpha)).toBeLessThan(0.02);
    expect(a3.bootstrap_samples).toBe(20);
    expect(a3.ci!.alpha![0]).toBeLessThanOrEqual(a3.alpha);
    const onDisk = JSON.parse(readFileSync(join(dir, 'fit.json'), 'utf8'));
    expect(onDisk).toEqual(report);
    // atomic write: no temp file left behind
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('prints readable tables without --json, honouring --n and --flops', () => {
    const dir = sweepCopy();
    const r = cli(dir, '--grid', 'coarse', '--bootstrap', '0', '--n', 'non-embedding', '--flops', 'flops_kaplan');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/N = params_non_embedding, C = flops_kaplan/);
    expect(r.stdout).toMatch(/Per-run loss vs compute/);
    expect(r.stdout).toMatch(/Approach 1/);
    expect(r.stdout).toMatch(/Approach 2/);
    expect(r.stdout).toMatch(/Approach 3/);
    // another convention than the default: its own file, fit.json untouched
    expect(r.stdout).toMatch(/wrote .*fit\.n-non-embedding\.flops_kaplan\.json \(N = params_non_embedding, C = flops_kaplan/);
    expect(readdirSync(dir)).not.toContain('fit.json');
    const report = JSON.parse(readFileSync(join(dir, 'fit.n-non-embedding.flops_kaplan.json'), 'utf8')) as FitReport;
    expect(report.schema_version).toBe(2);
    expect(report.n).toBe('non-embedding');
    expect(report.runs[0]!.params).toBe(loadRuns(SWEEP)[0]!.info.params_non_embedding);
  });

  it('a single model size: warnings and nulls rather than confident numbers', () => {
    const dir = sweepCopy();
    for (const d of readdirSync(dir)) if (d.startsWith('n') && d !== 'n2-4000000') rmSync(join(dir, d), { recursive: true });
    const r = cli(dir, '--json', '--grid', 'coarse', '--bootstrap', '0');
    expect(r.status).toBe(0);
    const report = JSON.parse(r.stdout) as FitReport;
    expect(report.per_run).toHaveLength(1);
    expect(report.approach1.n_opt).toBeNull();
    expect(report.approach2.n_opt).toBeNull();
    expect(report.approach3).toBeNull();
    const w = report.warnings.join('\n');
    expect(w).toMatch(/approach 1: needs runs of ≥ 2 distinct model sizes/);
    expect(w).toMatch(/approach 3: 1 point\(s\); need ≥ 5/);
  });

  it('fit --csv FILE --json fits Approach 3 to a table and puts E, A, B, alpha, beta at the top level', () => {
    const r = cli('--csv', join(FIXTURES, 'points.csv'), '--n-col', 'params', '--d-col', 'tokens', '--loss-col', 'loss', '--json', '--bootstrap', '20');
    expect(r.status).toBe(0);
    const f = JSON.parse(r.stdout);
    for (const k of ['E', 'A', 'B', 'alpha', 'beta', 'a', 'b']) expect(typeof f[k]).toBe('number');
    expect(f.points).toBe(48);
    expect(Math.abs(f.E - FIXTURE_LAW.E)).toBeLessThan(0.05);
    expect(Math.abs(f.alpha - FIXTURE_LAW.alpha)).toBeLessThan(0.03);
    expect(Math.abs(f.beta - FIXTURE_LAW.beta)).toBeLessThan(0.03);
    expect(Math.abs(f.a - A_TRUE)).toBeLessThan(0.02);
    expect(Object.keys(f.ci).sort()).toEqual(['A', 'B', 'E', 'a', 'alpha', 'b', 'beta']);
    expect(Array.isArray(f.warnings)).toBe(true);
    expect(f.basis).toEqual({ params: 'params', tokens: 'tokens', loss: 'loss' });
    // the table's sizes each come with several token counts, drawn from the separable law: the check passes
    expect(f.separability.separable).toBe(true);
    expect(f.separability.sizes.length).toBeGreaterThanOrEqual(4);
  });

  it('bad input exits 1 with one message naming the problem', () => {
    const dir = tmp();
    const empty = join(dir, 'empty.csv');
    writeFileSync(empty, '');
    let r = cli('--csv', empty, '--n-col', 'N', '--d-col', 'D', '--loss-col', 'L');
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^error: .*empty\.csv: no data rows/);
    expect(r.stderr).not.toMatch(/at .*\.ts:\d+/); // no stack trace
    const oneN = join(dir, 'one.csv');
    writeFileSync(oneN, 'N,D,L\n' + [1e9, 2e9, 5e9, 1e10, 2e10, 5e10].map((d) => `1e8,${d},${(2 + 400 / d ** 0.3).toFixed(5)}`).join('\n'));
    r = cli('--csv', oneN, '--n-col', 'N', '--d-col', 'D', '--loss-col', 'L');
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/one\.csv: 1 distinct model size \(N\); need ≥ 2/);
    r = cli('--csv', oneN, '--n-col', 'N');
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/--csv needs --d-col, --loss-col/);
    r = cli(join(dir, 'nowhere'));
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/nowhere: no such directory/);
    r = cli();
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/give a sweep folder/);
  });
});

describe('input validation', () => {
  const cols = { n: 'N', d: 'D', loss: 'L' };
  it('CSV tables: empty, missing column, non-numeric and non-positive values are UserErrors naming row and column', () => {
    expect(() => parsePointsCsv('', cols, 't.csv')).toThrow(UserError);
    expect(() => parsePointsCsv('N,D,L\n', cols, 't.csv')).toThrow(/t\.csv: no data rows/);
    expect(() => parsePointsCsv('N,D,loss\n1,2,3\n', cols, 't.csv')).toThrow(/t\.csv: no column "L" \(given by --loss-col\); the header has: N, D, loss/);
    expect(() => parsePointsCsv('N,D,L\n1e8,1e9,3\n1e8,-5,3\n', cols, 't.csv')).toThrow(/t\.csv: row 3, column "D" \(tokens\): -5 must be > 0/);
    expect(() => parsePointsCsv('N,D,L\n1e8,1e9,0\n', cols, 't.csv')).toThrow(/row 2, column "L" \(loss\): 0 must be > 0/);
    expect(() => parsePointsCsv('N,D,L\n1e8,lots,3\n', cols, 't.csv')).toThrow(/row 2, column "D" \(tokens\): "lots" is not a number/);
    expect(() => parsePointsCsv('N,D,L\n1e8,,3\n', cols, 't.csv')).toThrow(/row 2, column "D" \(tokens\): "" is not a number/);
    expect(parsePointsCsv('N,D,L\n1e8,1e9,3.5\n', cols, 't.csv')).toEqual([{ N: 1e8, D: 1e9, L: 3.5 }]);
  });

  it('sweeps: no runs, a run.json without params_total, a metrics.csv without val_loss are UserErrors naming the file', () => {
    const dir = tmp();
    expect(() => loadRuns(dir)).toThrow(/no runs found/);
    const run = join(dir, 'r1');
    mkdirSync(run);
    cpSync(join(SWEEP, 'n0-1000000', 'metrics.csv'), join(run, 'metrics.csv'));
    const info = JSON.parse(readFileSync(join(SWEEP, 'n0-1000000', 'run.json'), 'utf8'));
    delete info.params_total;
    writeFileSync(join(run, 'run.json'), JSON.stringify(info));
    expect(() => loadRuns(dir)).toThrow(UserError);
    expect(() => loadRuns(dir)).toThrow(/r1\/run\.json: invalid config\n {2}- params_total:/);
    info.params_total = 1e6;
    writeFileSync(join(run, 'run.json'), JSON.stringify(info));
    writeFileSync(join(run, 'metrics.csv'), 'step,tokens,flops_6nd\n0,0,0\n');
    expect(() => loadRuns(dir)).toThrow(/r1\/metrics\.csv: column "val_loss" is missing/);
  });
});
