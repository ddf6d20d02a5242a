import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadModelConfig, parseModelConfig, resolveModelConfig } from '../src/model/config.ts';
import { paramCounts } from '../src/model/params.ts';
import { UserError } from '../src/util/errors.ts';

function errorOf(f: () => unknown): UserError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(UserError);
    return e as UserError;
  }
  throw new Error('expected a UserError');
}

describe('model config', () => {
  it('fills defaults: d_ff = 4·d_model, dropout 0, tied, bias, seed 1337, GPT-2 layout', () => {
    const c = parseModelConfig({ context: 64, d_model: 32, n_layers: 2, n_heads: 2 }, 'x.json');
    expect(c).toEqual({
      context: 64, d_model: 32, n_layers: 2, n_heads: 2, d_ff: 128, dropout: 0, tie_embeddings: true, bias: true, seed: 1337,
      activation: 'gelu', head_bias: false, init: 'gpt2', dropout_sites: ['embedding', 'attention', 'attn_proj', 'mlp'],
    });
    // attn_bias is absent (= follows bias) unless given
    expect(parseModelConfig({ context: 64, d_model: 32, n_layers: 2, n_heads: 2, bias: false, attn_bias: true }, 'x.json').attn_bias).toBe(true);
  });

  it('names a bad option value and the choices', () => {
    expect(() => parseModelConfig({ context: 8, d_model: 8, n_layers: 1, n_heads: 1, activation: 'swish' }, 'x.json')).toThrow(/activation must be one of gelu, relu/);
    expect(() => parseModelConfig({ context: 8, d_model: 8, n_layers: 1, n_heads: 1, init: 'xavier' }, 'x.json')).toThrow(/init must be one of gpt2, pytorch-default/);
    expect(() => parseModelConfig({ context: 8, d_model: 8, n_layers: 1, n_heads: 1, dropout_sites: ['ffn'] }, 'x.json')).toThrow(/dropout_sites/);
  });

  it('rejects unknown keys, naming the key and the file', () => {
    const e = errorOf(() => parseModelConfig({ context: 64, d_model: 32, n_layers: 2, n_heads: 2, n_embd: 3 }, 'configs/models/bad.json'));
    expect(e.message).toContain('configs/models/bad.json');
    expect(e.message).toContain('"n_embd"');
    expect(e.message).toContain('remove');
  });

  it('requires n_heads to divide d_model and suggests a divisor', () => {
    const e = errorOf(() => parseModelConfig({ context: 64, d_model: 30, n_layers: 2, n_heads: 4 }, 'm.json'));
    expect(e.message).toMatch(/n_heads: n_heads \(4\) must divide d_model \(30\); pick e\.g\. n_heads = (3|5)/);
  });

  it('names missing and mistyped fields', () => {
    const e = errorOf(() => parseModelConfig({ context: 64.5, d_model: 32, n_heads: 2, dropout: 1 }, 'm.json'));
    expect(e.message).toContain('context: context must be a whole number');
    expect(e.message).toContain('n_layers');
    expect(e.message).toContain('dropout: dropout must be in [0, 1)');
  });

  it('resolves vocab_size from the tokenizer, and refuses a preset that disagrees', () => {
    const c = parseModelConfig({ context: 64, d_model: 32, n_layers: 2, n_heads: 2 }, 'm.json');
    expect(resolveModelConfig(c, 50257).vocab_size).toBe(50257);
    const fixed = parseModelConfig({ context: 64, d_model: 32, n_layers: 2, n_heads: 2, vocab_size: 256 }, 'm.json');
    expect(resolveModelConfig(fixed, 256).vocab_size).toBe(256);
    expect(errorOf(() => resolveModelConfig(fixed, 50257)).message).toContain('sets vocab_size 256 but the tokenizer has 50257 tokens');
  });

  it('loads files, naming bad JSON and missing files', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cfg-'));
    writeFileSync(join(dir, 'a.json'), '{"context": 64, "d_model": 32,');
    expect(errorOf(() => loadModelConfig(join(dir, 'a.json'))).message).toContain('is not valid JSON');
    expect(errorOf(() => loadModelConfig(join(dir, 'nope.json'))).message).toContain('cannot read model config');
    writeFileSync(join(dir, 'b.json'), '{"context": 64, "d_model": 32, "n_layers": 1, "n_heads": 1}');
    expect(loadModelConfig(join(dir, 'b.json')).name).toBe('b');
  });
});

describe('presets', () => {
  // named by non-embedding size 12·n_layers·d_model² (Kaplan's approximation)
  const presets: [string, number][] = [
    ['786k', 786_432],
    ['4m', 4_718_592],
    ['25m', 25_165_824],
  ];
  for (const [name, n12] of presets) {
    it(`${name}: context 256, no vocab_size, 12·L·d² = ${n12}`, () => {
      const c = loadModelConfig(`configs/models/${name}.json`);
      expect(c.name).toBe(name);
      expect(c.context).toBe(256);
      expect(c.vocab_size).toBeUndefined();
      expect(12 * c.n_layers * c.d_model ** 2).toBe(n12);
    });
  }

  it('quick-* presets span more than 10x in non-embedding parameters', () => {
    const sizes = ['xs', 's', 'm', 'l'].map((s) => paramCounts(resolveModelConfig(loadModelConfig(`configs/models/quick-${s}.json`), 2048)).non_embedding);
    for (let i = 1; i < sizes.length; i++) expect(sizes[i]!).toBeGreaterThan(sizes[i - 1]!);
    expect(sizes[3]! / sizes[0]!).toBeGreaterThan(10);
    expect(loadModelConfig('configs/models/tiny.json').d_model).toBe(32);
  });
});
