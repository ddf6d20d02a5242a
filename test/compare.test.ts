/** The blog-vs-modern report: pairs by size, last rows, differences and notes, against hand-made runs. */
import { describe, expect, it } from 'vitest';
import type { MetricRow, RunData } from '../src/fit/types.ts';
import { compareRecipes, comparisonMarkdown } from '../src/report/compare.ts';

function run(name: string, params: number, losses: [number, number][], status = 'finished'): RunData {
  const rows = losses.map(([step, val_loss]) => ({ step, tokens: step * 8192, val_loss }) as MetricRow);
  return { dir: name, info: { name, status, params_total: params } as RunData['info'], rows };
}

describe('compareRecipes', () => {
  const runs = [
    run('blog-small', 6_698_833, [[0, 10.6], [450, 6.5]]),
    run('modern-small', 3_465_000, [[0, 10.8], [450, 6.2]]),
    run('blog-large', 30_581_841, [[0, 10.4], [450, 5.75]]),
    run('modern-large', 17_000_000, [[0, 10.5], [300, 5.9]], 'interrupted'),
    run('blog-orphan', 1, [[0, 1]]),
  ];
  it('pairs runs by size and subtracts the final losses (modern − blog)', () => {
    const rows = compareRecipes(runs);
    expect(rows.map((r) => r.size)).toEqual(['small', 'large']);
    expect(rows[0]!.difference).toBeCloseTo(6.2 - 6.5, 12);
    expect(rows[1]!.difference).toBeCloseTo(5.9 - 5.75, 12);
    expect(rows[0]!.params).toEqual({ a: 6_698_833, b: 3_465_000 });
  });
  it('prints a table and says which runs are unfinished or unequal', () => {
    const md = comparisonMarkdown(compareRecipes(runs));
    expect(md).toContain('| small | 6,698,833 | 3,465,000 | 6.500 | 6.200 | -0.300 |');
    expect(md).toContain('| large | 30,581,841 | 17,000,000 | 5.750 | 5.900 | +0.150 |');
    expect(md).toContain('large: the last rows are at different token counts (3,686,400 vs 2,457,600).');
    expect(md).toContain('modern-large is interrupted (last row at step 300).');
  });
});
