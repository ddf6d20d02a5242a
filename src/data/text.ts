/**
 * Optional treatment of the released text. By default a split's text is the
 * file content exactly as released (same bytes the published sha256 covers):
 *
 *  - Blank lines are kept. In both releases every blank line is a single
 *    space (" \n"), and each file starts with one; they separate paragraphs and
 *    headings. `dropBlankLines` removes every whitespace-only line.
 *  - The WikiText tokenization markers are kept: the release splits hyphens,
 *    thousands separators and decimal points inside words as " @-@ ", " @,@ ",
 *    " @.@ " (e.g. "state @-@ of @-@ the @-@ art", "1 @,@ 000", "3 @.@ 5").
 *    `stripMarkers` joins them back: " @-@ " -> "-", " @,@ " -> ",", " @.@ " -> "."
 *    ("state-of-the-art", "1,000", "3.5"). Nothing else is changed (other
 *    tokenization spaces, e.g. before punctuation, stay as released).
 *  - `joinLines` prepares the text as the blog's train.py does with the Hugging Face
 *    dataset: `" ".join(line for line in split["text"] if line.strip())`. Each HF row is one
 *    line of the release with its trailing "\n", so the result is the non-blank lines, each
 *    still ending in "\n", joined by single spaces ("a\n b\n c\n"); it is then encoded once.
 */
export interface TextTreatment {
  stripMarkers?: boolean;
  dropBlankLines?: boolean;
  joinLines?: boolean;
}

const MARKER = / @([-,.])@ /g;

export function treatText(text: string, o: TextTreatment): string {
  let t = text;
  if (o.stripMarkers) t = t.replace(MARKER, '$1');
  if (o.dropBlankLines) {
    const kept = t.split('\n').filter((line) => line.trim() !== '');
    t = kept.length > 0 ? kept.join('\n') + '\n' : '';
  }
  if (o.joinLines) {
    const rows = t.split(/(?<=\n)/); // lines with their "\n", as HF's rows
    t = rows.filter((row) => row.trim() !== '').join(' ');
  }
  return t;
}

/** Short tag naming a non-default treatment, for cache keys: '', '+strip', '+drop', '+strip+drop', '+join', … */
export function treatmentTag(o: TextTreatment): string {
  return (o.stripMarkers ? '+strip' : '') + (o.dropBlankLines ? '+drop' : '') + (o.joinLines ? '+join' : '');
}

/** Number of lines as `wc -l` counts them, plus a final unterminated line if any. */
export function countLines(text: string): number {
  let n = 0;
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) n++;
  return text.length > 0 && !text.endsWith('\n') ? n + 1 : n;
}

/** Number of Unicode characters (code points), not UTF-16 code units. */
export function countChars(text: string): number {
  let n = text.length;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0xdc00 && c <= 0xdfff && i > 0) {
      const p = text.charCodeAt(i - 1);
      if (p >= 0xd800 && p <= 0xdbff) n--; // low half of a surrogate pair
    }
  }
  return n;
}
