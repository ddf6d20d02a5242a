/**
 * Encoded splits, cached on disk as typed arrays so that only the first run
 * pays for tokenization. Key: (dataset, split, sha256 of the released split
 * file, text treatment, tokenizer id). File layout (little-endian):
 *
 *   bytes 0..3   magic "CLTK"
 *   bytes 4..7   uint32 bytes per token (2: Uint16 when vocab <= 65536, else 4: Int32)
 *   bytes 8..11  uint32 token count
 *   bytes 12..15 uint32 vocab size
 *   bytes 16..   the tokens
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../util/atomic.ts';
import { dataRoot } from '../util/paths.ts';
import { progressBar } from '../util/progress.ts';
import { treatmentTag } from './text.ts';
import type { Tokenizer } from './tokenizer.ts';
import type { DataOptions, Split } from './types.ts';
import { loadSplitText } from './wikitext.ts';

const MAGIC = 0x4b544c43; // "CLTK" read as little-endian uint32
const HEADER = 16;

export interface EncodedSplit {
  tokens: Int32Array;
  /** sha256 of the released split file. */
  sha256: string;
  /** The cache file holding the tokens. */
  file: string;
  /** True when read from the cache; false when encoded now. */
  cached: boolean;
  /** Seconds spent encoding (0 when cached). */
  encodeSeconds: number;
  /** The split's text, as tokenized (saves re-reading it for statistics). */
  text: string;
}

/** Token ids of a split (disk-cached). */
export async function loadTokens(split: Split, tok: Tokenizer, o: DataOptions): Promise<Int32Array> {
  return (await loadEncoded(split, tok, o)).tokens;
}

export async function loadEncoded(split: Split, tok: Tokenizer, o: DataOptions): Promise<EncodedSplit> {
  const src = await loadSplitText(split, o);
  const safeId = tok.id.replace(/[^A-Za-z0-9._+-]/g, '_');
  const file = join(
    o.cacheRoot ?? dataRoot(),
    'encoded',
    `${o.dataset}-${split}-${src.sha256.slice(0, 16)}${treatmentTag(o)}-${safeId}.${tok.vocabSize <= 65536 ? 'u16' : 'i32'}`,
  );
  const hit = existsSync(file) ? readTokenFile(file, tok.vocabSize) : undefined;
  if (hit) return { tokens: hit, sha256: src.sha256, file, cached: true, encodeSeconds: 0, text: src.text };

  const t0 = performance.now();
  const total = src.text.length;
  // Splits encode at roughly 10 MB/s; only the train split is worth a progress bar.
  const bar = progressBar(`encoding ${split} with ${tok.name}`, Math.ceil(total / 1024), {
    unit: ' Kchar',
    quiet: o.quiet || total < 4_000_000,
  });
  const ids = tok.encode(src.text, (done: number) => bar.update(Math.ceil(done / 1024)));
  bar.stop();
  const tokens = Int32Array.from(ids);
  const encodeSeconds = (performance.now() - t0) / 1000;
  writeFileAtomic(file, tokenFileBytes(tokens, tok.vocabSize));
  return { tokens, sha256: src.sha256, file, cached: false, encodeSeconds, text: src.text };
}

export function tokenFileBytes(tokens: Int32Array, vocabSize: number): Uint8Array {
  const width = vocabSize <= 65536 ? 2 : 4;
  const buf = new Uint8Array(HEADER + width * tokens.length);
  const dv = new DataView(buf.buffer);
  dv.setUint32(0, MAGIC, true);
  dv.setUint32(4, width, true);
  dv.setUint32(8, tokens.length, true);
  dv.setUint32(12, vocabSize, true);
  if (width === 2) {
    const body = new Uint16Array(tokens.length);
    body.set(tokens);
    buf.set(new Uint8Array(body.buffer), HEADER);
  } else {
    buf.set(new Uint8Array(tokens.buffer, tokens.byteOffset, tokens.byteLength), HEADER);
  }
  return buf;
}

/** The tokens of a cache file, or undefined if it is not a complete file for this vocab. */
export function readTokenFile(file: string, vocabSize: number): Int32Array | undefined {
  const buf = readFileSync(file);
  if (buf.length < HEADER) return undefined;
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const width = dv.getUint32(4, true);
  const count = dv.getUint32(8, true);
  if (dv.getUint32(0, true) !== MAGIC || dv.getUint32(12, true) !== vocabSize) return undefined;
  if ((width !== 2 && width !== 4) || buf.length !== HEADER + width * count) return undefined;
  // Copy into an aligned buffer before viewing it as Uint16/Int32.
  const body = new Uint8Array(width * count);
  body.set(buf.subarray(HEADER));
  return width === 2 ? Int32Array.from(new Uint16Array(body.buffer)) : new Int32Array(body.buffer);
}
