/**
 * Byte-level BPE training (Sennrich et al. 2016; byte-level as in GPT-2).
 *
 * Input: the distinct pre-tokenized pieces of the corpus with their counts
 * ("word frequencies"). Each piece starts as its UTF-8 bytes. Repeat
 * vocabSize - 256 times: take the adjacent pair (a, b) with the highest total
 * count sum_w count(w) * occurrences of (a, b) in w, make it a new token, and
 * replace its occurrences (left to right, non-overlapping) in every piece.
 *
 * Incremental: pair counts live in a Map and a max-heap; `where[pair]` lists
 * the pieces containing the pair, so a merge only rewrites those pieces and
 * adjusts the counts of pairs around them (lazy heap: stale entries are
 * skipped when popped). Ties go to the smaller (a, b), so training is
 * deterministic. Cost is roughly proportional to the pieces each merge
 * touches, not to corpus size x merges.
 */
import { UserError } from '../util/errors.ts';
import { pairKey } from './bpe.ts';

const utf8 = new TextEncoder();
const KEY_BASE = 2_097_152;

/** Returns the merges, flat [a0, b0, a1, b1, ...] (merge r creates token 256 + r). */
export function trainBpe(
  pieceCounts: Map<string, number>,
  vocabSize: number,
  onProgress?: (mergesDone: number) => void,
): Int32Array {
  const nMerges = vocabSize - 256;
  const words: number[][] = [];
  const freq: number[] = [];
  for (const [piece, c] of pieceCounts) {
    words.push(Array.from(utf8.encode(piece)));
    freq.push(c);
  }

  const counts = new Map<number, number>();
  const where = new Map<number, number[]>();
  for (let w = 0; w < words.length; w++) {
    const s = words[w];
    for (let i = 0; i + 1 < s.length; i++) {
      const k = pairKey(s[i], s[i + 1]);
      counts.set(k, (counts.get(k) ?? 0) + freq[w]);
      let list = where.get(k);
      if (!list) where.set(k, (list = []));
      list.push(w);
    }
  }
  const heap = new PairHeap();
  for (const [k, c] of counts) heap.push(c, k);

  const merges = new Int32Array(2 * nMerges);
  const seen = new Int32Array(words.length).fill(-1);
  const delta = new Map<number, number>();
  for (let r = 0; r < nMerges; r++) {
    // Best pair: pop until the entry matches the pair's current count.
    let best = -1;
    while (heap.size > 0) {
      const [c, k] = heap.pop();
      if (counts.get(k) === c && c > 0) {
        best = k;
        break;
      }
    }
    if (best === -1) {
      throw new UserError(
        `bpe:${vocabSize}: the training text allows only ${256 + r} tokens (every adjacent pair is already merged). ` +
          `Use a smaller N in --tokenizer bpe:N.`,
      );
    }
    const a = Math.floor(best / KEY_BASE);
    const b = best - a * KEY_BASE;
    const z = 256 + r;
    merges[2 * r] = a;
    merges[2 * r + 1] = b;

    delta.clear();
    const add = (k: number, d: number) => delta.set(k, (delta.get(k) ?? 0) + d);
    for (const w of where.get(best) ?? []) {
      if (seen[w] === r) continue; // listed twice
      seen[w] = r;
      const s = words[w];
      const f = freq[w];
      let found = false;
      for (let i = 0; i + 1 < s.length; i++) if (s[i] === a && s[i + 1] === b) found = true;
      if (!found) continue; // stale entry: the pair was consumed by an earlier merge
      for (let i = 0; i + 1 < s.length; i++) add(pairKey(s[i], s[i + 1]), -f);
      const t: number[] = [];
      for (let i = 0; i < s.length; i++) {
        if (i + 1 < s.length && s[i] === a && s[i + 1] === b) {
          t.push(z);
          i++;
        } else t.push(s[i]);
      }
      words[w] = t;
      for (let i = 0; i + 1 < t.length; i++) {
        const k = pairKey(t[i], t[i + 1]);
        add(k, f);
        if (t[i] === z || t[i + 1] === z) {
          let list = where.get(k);
          if (!list) where.set(k, (list = []));
          list.push(w);
        }
      }
    }
    where.delete(best);
    for (const [k, d] of delta) {
      if (d === 0) continue;
      const c = (counts.get(k) ?? 0) + d;
      if (c > 0) {
        counts.set(k, c);
        heap.push(c, k);
      } else counts.delete(k);
    }
    if (onProgress && ((r + 1) % 64 === 0 || r + 1 === nMerges)) onProgress(r + 1);
  }
  return merges;
}

/** Binary max-heap of (count, key), ordered by count desc then key asc. */
class PairHeap {
  private c: number[] = [];
  private k: number[] = [];
  get size(): number {
    return this.c.length;
  }
  private above(i: number, j: number): boolean {
    return this.c[i] > this.c[j] || (this.c[i] === this.c[j] && this.k[i] < this.k[j]);
  }
  private swap(i: number, j: number): void {
    [this.c[i], this.c[j]] = [this.c[j], this.c[i]];
    [this.k[i], this.k[j]] = [this.k[j], this.k[i]];
  }
  push(count: number, key: number): void {
    this.c.push(count);
    this.k.push(key);
    let i = this.c.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.above(i, p)) break;
      this.swap(i, p);
      i = p;
    }
  }
  pop(): [number, number] {
    const top: [number, number] = [this.c[0], this.k[0]];
    const lastC = this.c.pop()!;
    const lastK = this.k.pop()!;
    if (this.c.length > 0) {
      this.c[0] = lastC;
      this.k[0] = lastK;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < this.c.length && this.above(l, m)) m = l;
        if (r < this.c.length && this.above(r, m)) m = r;
        if (m === i) break;
        this.swap(i, m);
        i = m;
      }
    }
    return top;
  }
}
