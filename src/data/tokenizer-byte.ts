import { decodeBytes, utf8Bytes, type Tokenizer } from './tokenizer.ts';

const BYTE_TABLE: Uint8Array[] = Array.from({ length: 256 }, (_, b) => Uint8Array.of(b));

/** One token per UTF-8 byte: vocab 256, lossless for any text. */
export class ByteTokenizer implements Tokenizer {
  readonly name = 'byte';
  readonly id = 'byte';
  readonly vocabSize = 256;

  encode(text: string): number[] {
    return Array.from(utf8Bytes(text));
  }

  decode(ids: ArrayLike<number>): string {
    return decodeBytes(ids, BYTE_TABLE, 'byte');
  }
}
