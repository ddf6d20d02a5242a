/**
 * GPT-2's pre-tokenization: text is cut into pieces (words with their leading
 * space, number runs, punctuation runs, whitespace) by this regex, and BPE runs
 * inside each piece only. Source: openai/gpt-2 encoder.py, identical to
 * tiktoken's `gpt2` pat_str.
 */
export const GPT2_PATTERN = String.raw`'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`;

/** Call `fn` for every piece of `text`, in order; `end` is the piece's end offset (for progress). */
export function forEachPiece(text: string, fn: (piece: string, end: number) => void): void {
  const re = new RegExp(GPT2_PATTERN, 'gu');
  for (let m = re.exec(text); m !== null; m = re.exec(text)) fn(m[0], re.lastIndex);
}

/** How often each distinct piece occurs in `text` (the "word counts" BPE is trained on). */
export function pieceCounts(text: string): Map<string, number> {
  const counts = new Map<string, number>();
  forEachPiece(text, (p) => counts.set(p, (counts.get(p) ?? 0) + 1));
  return counts;
}
