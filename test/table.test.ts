import { describe, expect, it } from 'vitest';
import { formatTable } from '../src/util/table.ts';

describe('formatTable', () => {
  it('left-aligns the first column, right-aligns the rest, trims trailing spaces', () => {
    expect(formatTable(['run', 'params', 'note'], [['xs', '1,000', ''], ['large', '12', 'ok']])).toBe(
      ['run    params  note', 'xs      1,000', 'large      12    ok'].join('\n'),
    );
  });
  it('draws a rule under the header when asked', () => {
    expect(formatTable(['a', 'bb'], [['x', '1']], { rule: true })).toBe(['a  bb', '-  --', 'x   1'].join('\n'));
  });
});
