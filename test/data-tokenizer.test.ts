import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Tiktoken } from 'js-tiktoken/lite';
import gpt2Ranks from 'js-tiktoken/ranks/gpt2';
import { afterAll, describe, expect, it } from 'vitest';
import { getTokenizer, loadEncoded, loadSplitText, type DataOptions, type Tokenizer } from '../src/data/index.ts';
import { pairKey, type BpeTokenizer } from '../src/data/bpe.ts';
import { trainBpe } from '../src/data/bpe-train.ts';
import { pieceCounts } from '../src/data/pretokenize.ts';
import { UserError } from '../src/util/errors.ts';
import { sharedDatasetsOrSkip } from './helpers/data.ts';

const shared = sharedDatasetsOrSkip('data-tokenizer');
const cacheRoot = mkdtempSync(join(tmpdir(), 'chinchilla-tok-'));
afterAll(() => rmSync(cacheRoot, { recursive: true, force: true }));

describe('gpt2 tokenizer', () => {
  it('gives the known GPT-2 ids', async () => {
    const g = await getTokenizer('gpt2', { dataset: 'wikitext-2-v1' });
    expect(g.vocabSize).toBe(50257);
    expect(g.encode('Hello world')).toEqual([15496, 995]);
    expect(g.encode(' the')).toEqual([262]);
    expect(g.encode('\n\n')).toEqual([628]);
    // A literal special token in the data is plain text, not id 50256.
    expect(g.encode('<|endoftext|>')).toEqual([27, 91, 437, 1659, 5239, 91, 29]);
    expect(g.decode([50256])).toBe('<|endoftext|>');
    expect(() => g.decode([50257])).toThrow(/outside the vocabulary/);
  });
});

describe('byte tokenizer', () => {
  it('is UTF-8 bytes', async () => {
    const b = await getTokenizer('byte', { dataset: 'wikitext-2-v1' });
    expect(b.vocabSize).toBe(256);
    expect(b.encode('aé奈')).toEqual([0x61, 0xc3, 0xa9, 0xe5, 0xa5, 0x88]);
    expect(b.decode([0x61, 0xc3, 0xa9, 0xe5, 0xa5, 0x88])).toBe('aé奈');
  });
});

describe('tokenizer specs', () => {
  it('rejects bad specs with a UserError naming --tokenizer', async () => {
    for (const spec of ['gpt3', 'bpe:256', 'bpe:x', 'bpe']) {
      const p = getTokenizer(spec, { dataset: 'wikitext-2-v1' });
      await expect(p).rejects.toBeInstanceOf(UserError);
      await expect(p).rejects.toThrow(/--tokenizer/);
    }
  });
});

/** Naive BPE: recount every pair from scratch at each step; same tie-break (max count, then smallest pair). */
function naiveBpe(counts: Map<string, number>, vocabSize: number): number[] {
  const enc = new TextEncoder();
  const words = [...counts].map(([w, c]) => ({ s: Array.from(enc.encode(w)), c }));
  const merges: number[] = [];
  for (let z = 256; z < vocabSize; z++) {
    const pc = new Map<number, number>();
    for (const { s, c } of words) for (let i = 0; i + 1 < s.length; i++) pc.set(pairKey(s[i], s[i + 1]), (pc.get(pairKey(s[i], s[i + 1])) ?? 0) + c);
    let best = -1;
    let bestC = 0;
    for (const [k, c] of pc) if (c > bestC || (c === bestC && k < best)) [best, bestC] = [k, c];
    const a = Math.floor(best / 2_097_152);
    const b = best % 2_097_152;
    merges.push(a, b);
    for (const w of words) {
      const t: number[] = [];
      for (let i = 0; i < w.s.length; i++) {
        if (i + 1 < w.s.length && w.s[i] === a && w.s[i + 1] === b) {
          t.push(z);
          i++;
        } else t.push(w.s[i]);
      }
      w.s = t;
    }
  }
  return merges;
}

describe('BPE training', () => {
  it('the incremental trainer makes exactly the merges of the naive algorithm', () => {
    const text = 'low lower lowest newer newest wider widest aaaa aaa aa a ' + 'the theme then there these thesis '.repeat(7);
    const counts = pieceCounts(text.repeat(3));
    expect(Array.from(trainBpe(counts, 285))).toEqual(naiveBpe(counts, 285));
  });

  it('hand-checked first merges on a tiny corpus', () => {
    // pieces: "aaab" x1 -> pairs (a,a) x2, (a,b) x1; " ab" x2 -> (32,a) x2, (a,b) x2
    const counts = new Map([['aaab', 1], [' ab', 2]]);
    const m = trainBpe(counts, 258);
    const a = 97;
    const b = 98;
    expect(Array.from(m)).toEqual([a, b, 32, 256]); // (a,b): 3 > (a,a): 2 = (32,a): 2; then (32,ab): 2 beats (a,a): 1
  });

  it('says when N is more than the text allows', () => {
    expect(() => trainBpe(new Map([['ab', 1]]), 258)).toThrow(/allows only 257 tokens/);
  });
});

describe.skipIf(!shared)('tokenizers on real WikiText-2 text', () => {
  const dir = shared!;
  const tok: DataOptions = { dataset: 'wikitext-2-v1', dataDir: dir, cacheRoot, quiet: true };
  const raw: DataOptions = { dataset: 'wikitext-2-raw-v1', dataDir: dir, cacheRoot, quiet: true };

  it('round-trips decode(encode(s)) == s on real lines, including non-ASCII, for gpt2, byte and bpe', async () => {
    const valid = (await loadSplitText('validation', raw)).text;
    const nonAscii = valid.split('\n').filter((l) => /[^\x00-\x7f]/.test(l));
    expect(nonAscii.length).toBe(525); // grep -cP '[^\x00-\x7F]' wiki.valid.raw
    expect(nonAscii.some((l) => l.includes('奈良 シカマル'))).toBe(true);
    const tokenizers: Tokenizer[] = [
      await getTokenizer('gpt2', tok),
      await getTokenizer('byte', tok),
      await getTokenizer('bpe:1024', tok), // trained on the tokenized train split
    ];
    for (const t of tokenizers) {
      for (const line of nonAscii) expect(t.decode(t.encode(line))).toBe(line);
      expect(t.decode(t.encode(valid))).toBe(valid);
    }
  });

  it('gpt2 piece-memoized encoding equals js-tiktoken on the whole raw validation split', async () => {
    const text = (await loadSplitText('validation', raw)).text;
    const ours = (await getTokenizer('gpt2', raw)).encode(text);
    const ref = new Tiktoken(gpt2Ranks).encode(text, [], []);
    expect(ours.length).toBe(ref.length);
    expect(ours).toEqual(ref);
  });

  it('bpe:N has exactly N tokens, compresses better than bytes, and is saved and reused', async () => {
    const N = 2048;
    const t0 = performance.now();
    const bpe = await getTokenizer(`bpe:${N}`, tok);
    console.log(`bpe:${N} on wikitext-2-v1 train: ${((performance.now() - t0) / 1000).toFixed(2)} s`);
    expect(bpe.vocabSize).toBe(N);
    expect(bpe.id).toBe(`bpe${N}-wikitext-2-v1-9e9fa1ad55b1c2c9`);
    const valid = (await loadSplitText('validation', tok)).text;
    const ids = bpe.encode(valid);
    expect(ids.every((i) => i >= 0 && i < N)).toBe(true);
    const bytes = Buffer.byteLength(valid);
    expect(ids.length).toBeLessThan(bytes / 2.5); // byte tokenizer: exactly `bytes` tokens
    // Ids 0..255 are the bytes; every merged id N-1 >= id >= 256 stands for >= 2 bytes.
    const table = (bpe as BpeTokenizer).tokenBytes;
    expect(table.length).toBe(N);
    expect(table.slice(256).every((t) => t.length >= 2)).toBe(true);

    const files = readdirSync(join(cacheRoot, 'tokenizers'));
    expect(files).toContain(`bpe${N}-wikitext-2-v1-9e9fa1ad55b1c2c9.json`);
    const file = join(cacheRoot, 'tokenizers', `bpe${N}-wikitext-2-v1-9e9fa1ad55b1c2c9.json`);
    const mtime = statSync(file).mtimeMs;
    const again = await getTokenizer(`bpe:${N}`, tok);
    expect(statSync(file).mtimeMs).toBe(mtime); // read back, not retrained
    expect(again.encode(valid)).toEqual(ids);
    // A different text treatment is a different tokenizer.
    const stripped = await getTokenizer(`bpe:${N}`, { ...tok, stripMarkers: true });
    expect(stripped.id).toBe(`bpe${N}-wikitext-2-v1-9e9fa1ad55b1c2c9+strip`);
  });

  it('bpe:N needs the train split: raw train missing here is a clear error', async () => {
    await expect(getTokenizer('bpe:512', raw)).rejects.toThrow(/train split not found.*wiki\.train\.raw/s);
  });

  it('encoded splits are cached as Uint16 typed arrays and reused', async () => {
    const g = await getTokenizer('gpt2', tok);
    const first = await loadEncoded('validation', g, tok);
    expect(first.cached).toBe(false);
    expect(first.file.endsWith('.u16')).toBe(true);
    expect(statSync(first.file).size).toBe(16 + 2 * first.tokens.length);
    const second = await loadEncoded('validation', g, tok);
    expect(second.cached).toBe(true);
    expect(second.tokens).toEqual(first.tokens);
    expect(Array.from(second.tokens.subarray(0, 8))).toEqual(g.encode(' \n = Homarus gammarus = \n').slice(0, 8));
    // Keyed by tokenizer and treatment: another tokenizer gets its own file.
    const b = await loadEncoded('validation', await getTokenizer('byte', tok), tok);
    expect(b.tokens.length).toBe(1_121_681); // bytes of wiki.valid.tokens
    expect(b.file).not.toBe(first.file);
    expect(existsSync(b.file)).toBe(true);
  });
});
