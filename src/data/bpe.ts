/**
 * A trained byte-level BPE: ids 0..255 are the bytes, id 256+r is the r-th
 * merge (a, b) -> the concatenation of tokens a and b. Encoding pre-tokenizes
 * with GPT-2's regex, then inside each piece repeatedly merges the adjacent
 * pair with the lowest merge rank (all its occurrences, left to right) - the
 * same order in which training applied the merges.
 */
import { decodeBytes, PieceMemo, utf8Bytes, type Tokenizer } from './tokenizer.ts';

/** Pair (a, b) of token ids as one number; ids < 2^21, so the key is exact in a double. */
export const pairKey = (a: number, b: number): number => a * 2_097_152 + b;
export const MAX_BPE_VOCAB = 2_097_152;

export class BpeTokenizer implements Tokenizer {
  readonly vocabSize: number;
  /** Byte string of every token id. */
  readonly tokenBytes: Uint8Array[];
  private readonly rank = new Map<number, number>();
  private readonly memo = new PieceMemo((piece) => this.encodePiece(utf8Bytes(piece)));

  /** `merges` is flat: [a0, b0, a1, b1, ...]; merge r creates id 256 + r. */
  constructor(
    readonly merges: Int32Array,
    readonly name: string,
    readonly id: string,
  ) {
    const nMerges = merges.length / 2;
    this.vocabSize = 256 + nMerges;
    this.tokenBytes = Array.from({ length: 256 }, (_, b) => Uint8Array.of(b));
    for (let r = 0; r < nMerges; r++) {
      const a = merges[2 * r];
      const b = merges[2 * r + 1];
      if (!(a >= 0 && a < 256 + r && b >= 0 && b < 256 + r)) {
        throw new Error(`${name}: merge ${r} refers to an unknown token (${a}, ${b})`);
      }
      const ta = this.tokenBytes[a];
      const tb = this.tokenBytes[b];
      const t = new Uint8Array(ta.length + tb.length);
      t.set(ta);
      t.set(tb, ta.length);
      this.tokenBytes.push(t);
      this.rank.set(pairKey(a, b), r);
    }
  }

  /** BPE inside one pre-tokenized piece. */
  encodePiece(bytes: Uint8Array): number[] {
    let sym = Array.from(bytes);
    while (sym.length > 1) {
      let best = -1;
      for (let i = 0; i + 1 < sym.length; i++) {
        const r = this.rank.get(pairKey(sym[i], sym[i + 1]));
        if (r !== undefined && (best === -1 || r < best)) best = r;
      }
      if (best === -1) break;
      const a = this.merges[2 * best];
      const b = this.merges[2 * best + 1];
      const z = 256 + best;
      const next: number[] = [];
      for (let i = 0; i < sym.length; i++) {
        if (i + 1 < sym.length && sym[i] === a && sym[i + 1] === b) {
          next.push(z);
          i++;
        } else next.push(sym[i]);
      }
      sym = next;
    }
    return sym;
  }

  encode(text: string, onProgress?: (doneChars: number) => void): number[] {
    return this.memo.encode(text, onProgress);
  }

  decode(ids: ArrayLike<number>): string {
    return decodeBytes(ids, this.tokenBytes, this.name);
  }
}
