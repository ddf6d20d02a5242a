/**
 * GPT-2's tokenizer files for Hugging Face (vocab.json, merges.txt), generated
 * offline from js-tiktoken's gpt2 rank table — the table our gpt2 tokenizer
 * encodes with, so the exported files give the same ids.
 *
 *  - Hugging Face's byte-level BPE writes each byte as a printable character
 *    (`bytes_to_unicode` of GPT-2's encoder.py: the 188 printable Latin-1 bytes
 *    stand for themselves, the other 68 become U+0100…U+0143; a space is 'Ġ').
 *  - vocab.json maps each token, so written, to its rank (= id); plus <|endoftext|>.
 *  - merges.txt lists the merges in rank order: rank 256 + i is made by merge i.
 *    The pair of a token is recovered by running BPE on its bytes with only the
 *    ranks below its own: what remains are the two parts its merge joined.
 */
import gpt2Ranks from 'js-tiktoken/ranks/gpt2';

export const GPT2_EOT_TEXT = '<|endoftext|>';

/** GPT-2's bytes_to_unicode: byte -> one printable character. */
export function bytesToUnicode(): string[] {
  const bs: number[] = [];
  for (let b = '!'.charCodeAt(0); b <= '~'.charCodeAt(0); b++) bs.push(b);
  for (let b = 0xa1; b <= 0xac; b++) bs.push(b);
  for (let b = 0xae; b <= 0xff; b++) bs.push(b);
  const map: string[] = new Array(256);
  for (const b of bs) map[b] = String.fromCharCode(b);
  let n = 0;
  for (let b = 0; b < 256; b++) if (map[b] === undefined) map[b] = String.fromCharCode(256 + n++);
  return map;
}

/** The token byte strings by rank (index = id), from js-tiktoken's compressed table. */
export function gpt2TokenBytes(): Uint8Array[] {
  const tokens: Uint8Array[] = [];
  for (const line of gpt2Ranks.bpe_ranks.split('\n')) {
    if (!line) continue;
    const [, offsetStr, ...b64] = line.split(' ');
    const offset = Number.parseInt(offsetStr!, 10);
    b64.forEach((t, i) => (tokens[offset + i] = Uint8Array.from(Buffer.from(t, 'base64'))));
  }
  for (let i = 0; i < tokens.length; i++) if (!tokens[i]) throw new Error(`gpt2 rank table has no token ${i}`);
  return tokens;
}

export interface Gpt2TokenizerFiles {
  /** vocab.json text */
  vocab: string;
  /** merges.txt text */
  merges: string;
  /** number of merges (50000 for GPT-2) */
  mergeCount: number;
}

export function gpt2TokenizerFiles(): Gpt2TokenizerFiles {
  const tokens = gpt2TokenBytes();
  const u = bytesToUnicode();
  const show = (b: Uint8Array) => Array.from(b, (x) => u[x]).join('');
  const key = (b: Uint8Array) => Buffer.from(b).toString('latin1');
  const rank = new Map(tokens.map((t, i) => [key(t), i]));

  const merges: string[] = [];
  for (let r = 0; r < tokens.length; r++) {
    const t = tokens[r]!;
    if (t.length === 1) {
      if (r >= 256) throw new Error(`gpt2 rank ${r} is a single byte after the byte block`);
      continue;
    }
    // BPE of t's bytes restricted to ranks < r: merge the lowest-ranked adjacent pair until none is left
    let parts = Array.from(t, (x) => String.fromCharCode(x));
    for (;;) {
      let best = -1;
      let bestRank = r;
      for (let i = 0; i + 1 < parts.length; i++) {
        const rr = rank.get(parts[i]! + parts[i + 1]!);
        if (rr !== undefined && rr < bestRank) [best, bestRank] = [i, rr];
      }
      if (best < 0) break;
      parts = [...parts.slice(0, best), parts[best]! + parts[best + 1]!, ...parts.slice(best + 2)];
    }
    if (parts.length !== 2) throw new Error(`gpt2 rank ${r}: BPE below its rank leaves ${parts.length} parts, not 2`);
    if (r !== 256 + merges.length) throw new Error(`gpt2 rank ${r} is out of merge order`);
    merges.push(parts.map((p) => show(Buffer.from(p, 'latin1'))).join(' '));
  }
  // written by hand: JSON.stringify would move integer-like keys ("0", "201", …) to the front
  const entries = tokens.map((t, i) => `${JSON.stringify(show(t))}: ${i}`);
  entries.push(`${JSON.stringify(GPT2_EOT_TEXT)}: ${tokens.length}`);
  return { vocab: `{${entries.join(', ')}}\n`, merges: `#version: 0.2\n${merges.join('\n')}\n`, mergeCount: merges.length };
}
