import { describe, expect, it } from 'vitest';
import { BatchSampler, evalSet } from '../src/data/batches.ts';
import { UserError } from '../src/util/errors.ts';
import { hashSeed, Rng } from '../src/util/rng.ts';

/** tokens[i] = i, so a window's content tells where it starts. */
const arange = (n: number) => Int32Array.from({ length: n }, (_, i) => i);

function rowsOf(a: Int32Array, T: number): number[][] {
  return Array.from({ length: a.length / T }, (_, r) => Array.from(a.subarray(r * T, (r + 1) * T)));
}

describe('BatchSampler', () => {
  const tokens = arange(1000);
  const T = 16;

  it('rows are consecutive windows and y is x shifted by one', () => {
    const s = new BatchSampler(tokens, { batch: 8, context: T, seed: 7 });
    const { x, y, rows } = s.batch(3);
    expect(rows).toBe(8);
    expect(x.length).toBe(8 * T);
    for (const [r, row] of rowsOf(x, T).entries()) {
      const start = row[0];
      expect(start).toBe(s.start(3, r));
      expect(row).toEqual(Array.from({ length: T }, (_, t) => start + t));
      expect(rowsOf(y, T)[r]).toEqual(row.map((v) => v + 1));
      expect(start).toBeGreaterThanOrEqual(0);
      expect(start + T).toBeLessThanOrEqual(999); // the last target exists
    }
  });

  it('row r of step k starts at Rng(hashSeed(seed, k, r)).int(n - T): stateless and reproducible', () => {
    const a = new BatchSampler(tokens, { batch: 4, context: T, seed: 42 });
    const b = new BatchSampler(tokens, { batch: 4, context: T, seed: 42 });
    for (const step of [0, 1, 57, 1_000_000]) {
      for (let r = 0; r < 4; r++) expect(a.start(step, r)).toBe(new Rng(hashSeed(42, step, r)).int(1000 - T));
      expect(b.batch(step)).toEqual(a.batch(step));
    }
    // Any order of calls, any row range: same rows (resume / data-parallel workers).
    const full = a.batch(9);
    const part = b.batch(9, 1, 3);
    expect(part.rows).toBe(2);
    expect(part.x).toEqual(full.x.subarray(T, 3 * T));
    expect(part.y).toEqual(full.y.subarray(T, 3 * T));
    // Another seed or step gives other windows.
    const c = new BatchSampler(tokens, { batch: 4, context: T, seed: 43 });
    expect(c.batch(9).x).not.toEqual(full.x);
    expect(a.batch(10).x).not.toEqual(full.x);
  });

  it('covers every valid start, and only those', () => {
    // n = 20, T = 16: starts 0..3 (n - T = 4 choices).
    const s = new BatchSampler(arange(20), { batch: 64, context: 16, seed: 1 });
    const starts = new Set<number>();
    for (let step = 0; step < 10; step++) for (const row of rowsOf(s.batch(step).x, 16)) starts.add(row[0]);
    expect([...starts].sort()).toEqual([0, 1, 2, 3]);
  });

  it('rejects a split shorter than context + 1, and bad row ranges', () => {
    expect(() => new BatchSampler(arange(16), { batch: 1, context: 16, seed: 0 })).toThrow(UserError);
    expect(() => new BatchSampler(arange(17), { batch: 1, context: 16, seed: 0 })).not.toThrow();
    const s = new BatchSampler(arange(100), { batch: 4, context: 8, seed: 0 });
    expect(() => s.batch(0, 3, 5)).toThrow(RangeError);
  });
});

describe('evalSet', () => {
  it("'all' = consecutive non-overlapping windows: floor((n-1)/T) rows covering every target once", () => {
    const n = 1001;
    const T = 100;
    const e = evalSet(arange(n), { context: T, windows: 'all', seed: 0 });
    expect(e.rows).toBe(10);
    expect(Array.from(e.x)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    expect(Array.from(e.y)).toEqual(Array.from({ length: 1000 }, (_, i) => i + 1));
    // One token short: the last partial window is left out.
    expect(evalSet(arange(1000), { context: T, windows: 'all', seed: 0 }).rows).toBe(9);
  });

  it('seeded windows are fixed: same for every call (model, run), y = x + 1', () => {
    const tokens = arange(5000);
    const a = evalSet(tokens, { context: 32, windows: 20, seed: 1234 });
    const b = evalSet(tokens, { context: 32, windows: 20, seed: 1234 });
    expect(a.rows).toBe(20);
    expect(b).toEqual(a);
    for (const [r, row] of rowsOf(a.x, 32).entries()) {
      expect(row).toEqual(Array.from({ length: 32 }, (_, t) => row[0] + t));
      expect(rowsOf(a.y, 32)[r]).toEqual(row.map((v) => v + 1));
    }
    // More windows extend the same list.
    const more = evalSet(tokens, { context: 32, windows: 30, seed: 1234 });
    expect(more.x.subarray(0, 20 * 32)).toEqual(a.x);
    expect(evalSet(tokens, { context: 32, windows: 20, seed: 99 }).x).not.toEqual(a.x);
    // Not the training draws of step 0 for the same seed.
    const train = new BatchSampler(tokens, { batch: 20, context: 32, seed: 1234 }).batch(0);
    expect(train.x).not.toEqual(a.x);
  });

  it('rejects bad window counts', () => {
    expect(() => evalSet(arange(100), { context: 8, windows: 0, seed: 0 })).toThrow(UserError);
    expect(() => evalSet(arange(100), { context: 8, windows: 2.5, seed: 0 })).toThrow(UserError);
  });
});
