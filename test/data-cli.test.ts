import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { RELEASES } from '../src/data/index.ts';
import { PROJECT_ROOT } from '../src/util/paths.ts';
import { sharedDatasetsOrSkip } from './helpers/data.ts';

const shared = sharedDatasetsOrSkip('data-cli');
const dataRoot = mkdtempSync(join(tmpdir(), 'chinchilla-cli-'));
afterAll(() => rmSync(dataRoot, { recursive: true, force: true }));

function chinchilla(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [join(PROJECT_ROOT, 'bin', 'chinchilla.js'), ...args], {
    encoding: 'utf8',
    env: { ...process.env, CHINCHILLA_DATA_ROOT: dataRoot, WIKITEXT2_DIR: shared ?? '', ...env },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe.skipIf(!shared)('chinchilla data', () => {
  it('--json: per-split lines, chars, tokens, sha256 of the tokenized release', () => {
    const r = chinchilla(['data', '--dataset', 'wikitext-2-v1', '--json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.tokenizer).toEqual({ name: 'gpt2', id: 'gpt2', vocab_size: 50257 });
    const files = RELEASES['wikitext-2-v1'].files;
    for (const split of ['train', 'validation', 'test'] as const) {
      expect(j[split].lines).toBe(files[split].lines);
      expect(j[split].bytes).toBe(files[split].bytes);
      expect(j[split].sha256).toBe(files[split].sha256);
      expect(j[split].cached).toBe(false);
      expect(j[split].distinct_tokens).toBeLessThanOrEqual(50257);
    }
    // GPT-2 token count of wiki.valid.tokens (equal to js-tiktoken's, see data-tokenizer.test.ts).
    expect(j.validation.tokens).toBe(258_659);
    expect(j.validation.chars).toBe(1_120_192); // code points; 1,121,681 bytes
    // Second run: every split comes from the encoded cache.
    const again = JSON.parse(chinchilla(['data', '--dataset', 'wikitext-2-v1', '--json']).stdout);
    for (const split of ['train', 'validation', 'test']) {
      expect(again[split].cached).toBe(true);
      expect(again[split].tokens).toBe(j[split].tokens);
    }
  });

  it('raw release without its train split: train reported missing, not a crash', () => {
    const r = chinchilla(['data', '--json', '--tokenizer', 'byte']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.dataset).toBe('wikitext-2-raw-v1');
    expect(j.train.missing).toBe(true);
    expect(j.train.reason).toContain('wiki.train.raw');
    expect(j.validation.tokens).toBe(RELEASES['wikitext-2-raw-v1'].files.validation.bytes); // byte tokenizer
    expect(j.test.sha256).toBe(RELEASES['wikitext-2-raw-v1'].files.test.sha256);
  });

  it('prints a readable table', () => {
    const r = chinchilla(['data', '--dataset', 'wikitext-2-v1', '--tokenizer', 'byte', '--strip-markers']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('WikiText-2 wikitext-2-v1, tokenizer byte (vocab 256), markers stripped');
    expect(r.stdout).toMatch(/^split\s+lines\s+characters\s+tokens\s+distinct/m);
    expect(r.stdout).toMatch(/^validation\s+3,760\s/m);
    expect(r.stdout).toContain(`validation ${RELEASES['wikitext-2-v1'].files.validation.sha256}`);
  });
});

describe('chinchilla data errors', () => {
  it('a bad --tokenizer is one clear line, exit 1, no stack trace', () => {
    const r = chinchilla(['data', '--tokenizer', 'bpe:12']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('error: --tokenizer bpe:12: N must be between 257');
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});
