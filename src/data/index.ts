/** Public API of the data pipeline: WikiText-2 loading, tokenizers, encoded splits, batches. */
export type { DatasetVariant, Split, DataOptions } from './types.ts';
export { DATASET_VARIANTS, SPLITS } from './types.ts';
export { RELEASES, type Release, type SplitFile } from './releases.ts';
export { loadSplitText, type SplitText } from './wikitext.ts';
export { treatText, countLines, countChars, type TextTreatment } from './text.ts';
export type { Tokenizer } from './tokenizer.ts';
export { getTokenizer, parseTokenizerSpec, TOKENIZER_HELP, type TokenizerSpec } from './tokenizers.ts';
export { GPT2_VOCAB_SIZE, GPT2_EOT } from './tokenizer-gpt2.ts';
export { loadTokens, loadEncoded, type EncodedSplit } from './encoded.ts';
export { BatchSampler, evalSet, type Batch } from './batches.ts';
