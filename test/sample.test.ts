/** `chinchilla sample`: the draw (temperature, top-k) against hand counts, and text from a trained run's checkpoint. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { sampleToken } from '../src/sample/sample.ts';
import { Rng } from '../src/util/rng.ts';
import { sharedDatasetsOrSkip } from './helpers/data.ts';
import { cli } from './helpers/train.ts';

const shared = sharedDatasetsOrSkip('sample');
const dir = mkdtempSync(join(tmpdir(), 'chl-sample-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('sampleToken', () => {
  const logits = [Math.log(1), Math.log(2), Math.log(3), Math.log(4)]; // probabilities 0.1, 0.2, 0.3, 0.4

  it('draws by inverse CDF of softmax(logits / T)', () => {
    const o = { temperature: 1, topK: 0 };
    // CDF 0.1, 0.3, 0.6, 1.0
    expect([0, 0.09, 0.11, 0.29, 0.31, 0.59, 0.61, 0.999].map((u) => sampleToken(logits, o, u))).toEqual([0, 0, 1, 1, 2, 2, 3, 3]);
    // T = 0.5 squares the odds: 1, 4, 9, 16 over 30 -> CDF 1/30, 5/30, 14/30, 1
    const t = { temperature: 0.5, topK: 0 };
    expect([0.03, 0.04, 0.16, 0.17, 0.46, 0.47].map((u) => sampleToken(logits, t, u))).toEqual([0, 1, 1, 2, 2, 3]);
  });

  it('keeps only the top k', () => {
    // top 2: 3 and 4 over 7 -> CDF 3/7 = 0.4286, 1
    const o = { temperature: 1, topK: 2 };
    expect([0, 0.42, 0.43, 0.99].map((u) => sampleToken(logits, o, u))).toEqual([2, 2, 3, 3]);
    const rng = new Rng(1);
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 20000; i++) counts[sampleToken(logits, o, rng.next())]!++;
    expect(counts[0]! + counts[1]!).toBe(0);
    expect(counts[2]! / 20000).toBeCloseTo(3 / 7, 1);
  });
});

describe.skipIf(!shared)('chinchilla sample', () => {
  it('prints decoded text from a trained run, reproducibly from --seed', () => {
    const out = join(dir, 'run');
    const t = cli([
      'train', '--model', 'configs/models/tiny.json', '--tokenizer', 'byte', '--dataset', 'wikitext-2-v1', '--data-dir', shared!,
      '--backend', 'wasm', '--workers', '1', '--steps', '10', '--batch', '4', '--eval-interval', '10', '--eval-windows', '4', '--lr', '3e-3', '--out', out,
    ]);
    expect(t.status, t.stderr).toBe(0);
    const args = ['sample', out, '--prompt', 'The ', '--tokens', '40', '--seed', '7', '--backend', 'wasm'];
    const a = cli(args);
    expect(a.status, a.stderr).toBe(0);
    expect(a.stdout.startsWith('The ')).toBe(true);
    // byte tokenizer: 40 new tokens are 40 bytes (valid UTF-8 here is ASCII-heavy; at least 20 characters)
    expect(a.stdout.length).toBeGreaterThan(4 + 20);
    expect(cli(args).stdout).toBe(a.stdout);
    expect(cli([...args.slice(0, -4), '--seed', '8', '--backend', 'wasm']).stdout).not.toBe(a.stdout);
    const bad = cli(['sample', join(dir, 'nothing'), '--backend', 'wasm']);
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toMatch(/no readable run\.json/);
  }, 300_000);
});
