/**
 * GPT-2's byte-level BPE (vocab 50257 = 256 bytes + 50000 merges + <|endoftext|>),
 * using js-tiktoken's rank table. Text is pre-tokenized with GPT-2's regex and
 * each distinct piece is encoded once (PieceMemo), which is what makes encoding
 * a 10 MB split take seconds with a pure-JS BPE.
 */
import { Tiktoken } from 'js-tiktoken/lite';
import gpt2Ranks from 'js-tiktoken/ranks/gpt2';
import { PieceMemo, type Tokenizer } from './tokenizer.ts';

export const GPT2_VOCAB_SIZE = 50257;
export const GPT2_EOT = 50256;

export class Gpt2Tokenizer implements Tokenizer {
  readonly name = 'gpt2';
  readonly id = 'gpt2';
  readonly vocabSize = GPT2_VOCAB_SIZE;
  private readonly tt = new Tiktoken(gpt2Ranks);
  // Special tokens are treated as plain text (allowed: none, disallowed: none),
  // so a literal "<|endoftext|>" in the data is encoded like any other string.
  private readonly memo = new PieceMemo((piece) => this.tt.encode(piece, [], []));

  encode(text: string, onProgress?: (doneChars: number) => void): number[] {
    return this.memo.encode(text, onProgress);
  }

  decode(ids: ArrayLike<number>): string {
    const arr = Array.from(ids);
    for (const id of arr) {
      if (!Number.isInteger(id) || id < 0 || id >= GPT2_VOCAB_SIZE) {
        throw new RangeError(`gpt2: token id ${id} is outside the vocabulary (0..${GPT2_VOCAB_SIZE - 1})`);
      }
    }
    return this.tt.decode(arr);
  }
}

let shared: Gpt2Tokenizer | undefined;
/** One shared instance: building the rank table takes ~0.3 s. */
export function gpt2Tokenizer(): Gpt2Tokenizer {
  return (shared ??= new Gpt2Tokenizer());
}
