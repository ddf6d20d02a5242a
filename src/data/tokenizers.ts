/**
 * getTokenizer(spec): 'gpt2' | 'byte' | 'bpe:N'.
 *
 * bpe:N is trained on the dataset's train split (as treated by
 * stripMarkers/dropBlankLines) and saved as JSON under
 * <cacheRoot>/tokenizers/, keyed by dataset + train sha256 + treatment + N, so
 * it is trained once and reused by every later run.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../util/errors.ts';
import { writeJsonAtomic } from '../util/atomic.ts';
import { dataRoot } from '../util/paths.ts';
import { progressBar } from '../util/progress.ts';
import { BpeTokenizer, MAX_BPE_VOCAB } from './bpe.ts';
import { trainBpe } from './bpe-train.ts';
import { pieceCounts } from './pretokenize.ts';
import { treatmentTag } from './text.ts';
import { ByteTokenizer } from './tokenizer-byte.ts';
import { gpt2Tokenizer } from './tokenizer-gpt2.ts';
import type { Tokenizer } from './tokenizer.ts';
import type { DataOptions } from './types.ts';
import { loadSplitText } from './wikitext.ts';

export type TokenizerSpec = { kind: 'gpt2' } | { kind: 'byte' } | { kind: 'bpe'; vocabSize: number };

export const TOKENIZER_HELP = "'gpt2' (GPT-2 BPE, 50257 tokens), 'byte' (UTF-8 bytes, 256) or 'bpe:N' (byte-level BPE with N >= 257 tokens trained on the train split)";

export function parseTokenizerSpec(spec: string): TokenizerSpec {
  const s = spec.trim().toLowerCase();
  if (s === 'gpt2') return { kind: 'gpt2' };
  if (s === 'byte') return { kind: 'byte' };
  const m = /^bpe:(\d+)$/.exec(s);
  if (m) {
    const n = Number(m[1]);
    if (n < 257 || n > MAX_BPE_VOCAB) {
      throw new UserError(`--tokenizer ${spec}: N must be between 257 (256 bytes + 1 merge) and ${MAX_BPE_VOCAB}, e.g. bpe:8192.`);
    }
    return { kind: 'bpe', vocabSize: n };
  }
  throw new UserError(`--tokenizer "${spec}" is not a tokenizer: use ${TOKENIZER_HELP}.`);
}

export async function getTokenizer(spec: string, o: DataOptions): Promise<Tokenizer> {
  const p = parseTokenizerSpec(spec);
  switch (p.kind) {
    case 'gpt2':
      return gpt2Tokenizer();
    case 'byte':
      return new ByteTokenizer();
    case 'bpe':
      return trainedBpe(p.vocabSize, o);
  }
}

interface SavedBpe {
  format: 'chinchilla-bpe';
  version: 1;
  vocab_size: number;
  dataset: string;
  train_sha256: string;
  treatment: string;
  pattern: 'gpt2';
  /** Flat [a0, b0, a1, b1, ...]: merge r makes token 256 + r. */
  merges: number[];
}

/** Load bpe:N for this dataset/train split from the cache, or train and save it. */
export async function trainedBpe(vocabSize: number, o: DataOptions): Promise<BpeTokenizer> {
  const train = await loadSplitText('train', o);
  const tag = treatmentTag(o);
  const id = `bpe${vocabSize}-${o.dataset}-${train.sha256.slice(0, 16)}${tag}`;
  const name = `bpe:${vocabSize}`;
  const file = join(o.cacheRoot ?? dataRoot(), 'tokenizers', `${id}.json`);

  if (existsSync(file)) {
    try {
      const saved = JSON.parse(readFileSync(file, 'utf8')) as SavedBpe;
      if (
        saved.format === 'chinchilla-bpe' &&
        saved.vocab_size === vocabSize &&
        saved.train_sha256 === train.sha256 &&
        saved.treatment === tag &&
        saved.merges.length === 2 * (vocabSize - 256)
      ) {
        return new BpeTokenizer(Int32Array.from(saved.merges), name, id);
      }
    } catch {
      // unreadable: fall through and train again (the file is replaced atomically)
    }
  }

  const t0 = Date.now();
  const counts = pieceCounts(train.text);
  const bar = progressBar(`training ${name} on ${o.dataset} train`, vocabSize - 256, { unit: ' merges', quiet: o.quiet });
  const merges = trainBpe(counts, vocabSize, (done) => bar.update(done));
  bar.stop();
  const saved: SavedBpe = {
    format: 'chinchilla-bpe',
    version: 1,
    vocab_size: vocabSize,
    dataset: o.dataset,
    train_sha256: train.sha256,
    treatment: tag,
    pattern: 'gpt2',
    merges: Array.from(merges),
  };
  writeJsonAtomic(file, saved);
  if (!o.quiet) {
    process.stderr.write(`Trained ${name} (${counts.size} distinct pieces) in ${((Date.now() - t0) / 1000).toFixed(1)} s -> ${file}\n`);
  }
  return new BpeTokenizer(merges, name, id);
}
