/**
 * The one plain-text table printer of the CLI (fit, plan, sweep plans, data stats):
 * first column left-aligned, the others right-aligned, two spaces between columns,
 * no trailing spaces; optionally a rule of dashes under the header.
 */
export function formatTable(header: string[], rows: string[][], o: { rule?: boolean } = {}): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) =>
    widths
      .map((w, i) => (i === 0 ? (r[i] ?? '').padEnd(w) : (r[i] ?? '').padStart(w)))
      .join('  ')
      .trimEnd();
  return [line(header), ...(o.rule ? [line(widths.map((w) => '-'.repeat(w)))] : []), ...rows.map(line)].join('\n');
}
