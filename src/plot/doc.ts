/**
 * A small document model for the sweep report, rendered both to Markdown
 * (report.md, images linked) and to one self-contained HTML file (report.html,
 * images inlined as data URIs). Inline markup: `code` only.
 */
export type Block =
  | { kind: 'h'; level: 1 | 2 | 3; text: string }
  | { kind: 'p'; text: string }
  | { kind: 'list'; items: string[] }
  | { kind: 'table'; head: string[]; rows: string[][]; numeric?: boolean[] }
  | { kind: 'img'; alt: string; /** path relative to the report */ src: string; /** data URI for the HTML */ dataUri: string; width: number };

// ---- Markdown ----------------------------------------------------------------

const mdCell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

export function toMarkdown(blocks: Block[]): string {
  const out: string[] = [];
  for (const b of blocks) {
    switch (b.kind) {
      case 'h':
        out.push(`${'#'.repeat(b.level)} ${b.text}`);
        break;
      case 'p':
        out.push(b.text);
        break;
      case 'list':
        out.push(b.items.map((i) => `- ${i}`).join('\n'));
        break;
      case 'table':
        out.push(
          [
            `| ${b.head.map(mdCell).join(' | ')} |`,
            `| ${b.head.map((_, i) => (b.numeric?.[i] ? '---:' : '---')).join(' | ')} |`,
            ...b.rows.map((r) => `| ${r.map(mdCell).join(' | ')} |`),
          ].join('\n'),
        );
        break;
      case 'img':
        out.push(`![${b.alt}](${b.src})`);
        break;
    }
  }
  return out.join('\n\n') + '\n';
}

// ---- HTML --------------------------------------------------------------------

export function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Escape, then turn `code` spans into <code>. */
function inline(s: string): string {
  return escapeHtml(s).replace(/`([^`]+)`/g, '<code>$1</code>');
}

const STYLE = `
body { font-family: "DejaVu Sans", "Segoe UI", Helvetica, Arial, sans-serif; color: #111; max-width: 1180px; margin: 2em auto; padding: 0 1.5em; line-height: 1.45; }
h1 { font-size: 1.7em; margin-bottom: 0.2em; } h2 { margin-top: 1.8em; border-bottom: 1px solid #ddd; padding-bottom: 0.2em; } h3 { margin-top: 1.4em; }
table { border-collapse: collapse; margin: 0.8em 0; font-size: 0.9em; } th, td { border: 1px solid #ccc; padding: 0.3em 0.6em; }
th { background: #f3f3f3; text-align: left; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
tbody tr:nth-child(even) { background: #fafafa; }
img { max-width: 100%; height: auto; border: 1px solid #eee; margin: 0.5em 0; }
code { background: #f3f3f3; padding: 0 0.25em; border-radius: 3px; }
`;

export function toHtml(title: string, blocks: Block[]): string {
  const body = blocks.map((b) => {
    switch (b.kind) {
      case 'h':
        return `<h${b.level}>${inline(b.text)}</h${b.level}>`;
      case 'p':
        return `<p>${inline(b.text)}</p>`;
      case 'list':
        return `<ul>\n${b.items.map((i) => `<li>${inline(i)}</li>`).join('\n')}\n</ul>`;
      case 'table': {
        const head = `<tr>${b.head.map((h) => `<th>${inline(h)}</th>`).join('')}</tr>`;
        const rows = b.rows.map((r) => `<tr>${r.map((c, i) => `<td${b.numeric?.[i] ? ' class="num"' : ''}>${inline(c)}</td>`).join('')}</tr>`);
        return `<table>\n<thead>${head}</thead>\n<tbody>\n${rows.join('\n')}\n</tbody>\n</table>`;
      }
      case 'img':
        return `<img alt="${escapeHtml(b.alt)}" width="${Math.round(b.width)}" src="${b.dataUri}">`;
    }
  });
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(title)}</title>`,
    `<style>${STYLE}</style>`,
    '</head>',
    '<body>',
    ...body,
    '</body>',
    '</html>',
    '',
  ].join('\n');
}
