/**
 * The blog-vs-modern comparison (configs/sweep-blog-vs-modern.json): runs named
 * `<recipe>-<size>` are paired by size, and each pair's final validation loss
 * (the last evaluation row: for a finished run, the final evaluation over the whole
 * validation split, the same windows for both recipes) is set side by side with the difference ours − blog's
 * (negative: our recipe reached a lower loss on the same tokens).
 */
import type { RunData } from '../fit/types.ts';

export interface ComparisonRow {
  size: string;
  params: { a: number; b: number };
  /** last evaluation of each run: step label, tokens, val_loss; null when the run has no row yet */
  a: { run: string; status: string; step: number; tokens: number; val_loss: number } | null;
  b: { run: string; status: string; step: number; tokens: number; val_loss: number } | null;
  /** b.val_loss − a.val_loss, NaN when either is missing */
  difference: number;
}

function last(run: RunData | undefined) {
  if (!run) return null;
  const rows = run.rows.filter((r) => Number.isFinite(r.val_loss));
  const r = rows[rows.length - 1];
  return r ? { run: run.info.name, status: run.info.status, step: r.step, tokens: r.tokens, val_loss: r.val_loss } : null;
}

/** Pairs `${a}-<size>` with `${b}-<size>` (default a = blog, b = modern), in the order of a's runs. */
export function compareRecipes(runs: RunData[], a = 'blog', b = 'modern'): ComparisonRow[] {
  const byName = new Map(runs.map((r) => [r.info.name, r]));
  const sizes = runs.map((r) => r.info.name).filter((n) => n.startsWith(`${a}-`)).map((n) => n.slice(a.length + 1));
  return sizes
    .filter((s) => byName.has(`${b}-${s}`))
    .map((size) => {
      const ra = byName.get(`${a}-${size}`)!, rb = byName.get(`${b}-${size}`)!;
      const la = last(ra), lb = last(rb);
      return {
        size,
        params: { a: ra.info.params_total, b: rb.info.params_total },
        a: la,
        b: lb,
        difference: la && lb ? lb.val_loss - la.val_loss : NaN,
      };
    });
}

const f3 = (x: number | undefined) => (x === undefined || !Number.isFinite(x) ? '—' : x.toFixed(3));
const count = (n: number) => n.toLocaleString('en');

/** A Markdown table of the comparison, with a note on unequal or unfinished runs. */
export function comparisonMarkdown(rows: ComparisonRow[], a = 'blog', b = 'modern'): string {
  const lines = [
    `| model | params (${a}) | params (${b}) | final val loss (${a}) | final val loss (${b}) | ${b} − ${a} |`,
    '|---|---:|---:|---:|---:|---:|',
    ...rows.map(
      (r) =>
        `| ${r.size} | ${count(r.params.a)} | ${count(r.params.b)} | ${f3(r.a?.val_loss)} | ${f3(r.b?.val_loss)} | ${Number.isFinite(r.difference) ? (r.difference > 0 ? '+' : '') + r.difference.toFixed(3) : '—'} |`,
    ),
  ];
  const notes: string[] = [];
  for (const r of rows) {
    if (!r.a || !r.b) notes.push(`${r.size}: ${!r.a ? a : b} run has no evaluation yet.`);
    else {
      if (r.a.tokens !== r.b.tokens) notes.push(`${r.size}: the last rows are at different token counts (${count(r.a.tokens)} vs ${count(r.b.tokens)}).`);
      for (const x of [r.a, r.b]) if (x.status !== 'finished') notes.push(`${x.run} is ${x.status} (last row at step ${x.step}).`);
    }
  }
  return lines.join('\n') + '\n' + (notes.length ? '\n' + notes.map((n) => `- ${n}`).join('\n') + '\n' : '');
}
