/** The tokenizer interface shared by gpt2, byte and bpe:N, plus helpers they share. */
import { forEachPiece } from './pretokenize.ts';

export interface Tokenizer {
  /** Human name, e.g. 'gpt2', 'byte', 'bpe:8192'. */
  readonly name: string;
  /** Unique key for caches: equal ids encode identically. */
  readonly id: string;
  readonly vocabSize: number;
  /** Token ids of `text`; `onProgress` (optional) is told how many characters are done. */
  encode(text: string, onProgress?: (doneChars: number) => void): number[];
  decode(ids: ArrayLike<number>): string;
}

/**
 * Encode by pre-tokenizing with the GPT-2 regex and encoding each distinct
 * piece once (memoized). A corpus has far fewer distinct pieces than pieces
 * (WikiText-2 train: ~2.1M pieces, ~70k distinct), which makes whole-split
 * encoding take seconds. Pieces are independent, so the result equals encoding
 * the text in one go.
 */
export class PieceMemo {
  private readonly memo = new Map<string, readonly number[]>();
  constructor(
    private readonly encodePiece: (piece: string) => readonly number[],
    private readonly maxEntries = 1 << 20,
  ) {}

  encode(text: string, onProgress?: (doneChars: number) => void): number[] {
    const out: number[] = [];
    let nextReport = 1 << 20;
    forEachPiece(text, (piece, end) => {
      let ids = this.memo.get(piece);
      if (ids === undefined) {
        ids = this.encodePiece(piece);
        if (this.memo.size < this.maxEntries) this.memo.set(piece, ids);
      }
      for (let i = 0; i < ids.length; i++) out.push(ids[i]);
      if (onProgress && end >= nextReport) {
        onProgress(end);
        nextReport = end + (1 << 20);
      }
    });
    onProgress?.(text.length);
    return out;
  }
}

const utf8 = new TextEncoder();
/** UTF-8 bytes of a string. */
export function utf8Bytes(s: string): Uint8Array {
  return utf8.encode(s);
}

/** Decode token byte strings back to text (invalid UTF-8 from a partial sequence becomes U+FFFD). */
export function decodeBytes(ids: ArrayLike<number>, tokenBytes: readonly Uint8Array[], what: string): string {
  let n = 0;
  for (let i = 0; i < ids.length; i++) {
    const b = tokenBytes[ids[i]];
    if (b === undefined) throw new RangeError(`${what}: token id ${ids[i]} is outside the vocabulary (0..${tokenBytes.length - 1})`);
    n += b.length;
  }
  const buf = new Uint8Array(n);
  let o = 0;
  for (let i = 0; i < ids.length; i++) {
    const b = tokenBytes[ids[i]];
    buf.set(b, o);
    o += b.length;
  }
  return new TextDecoder('utf-8').decode(buf);
}
