/**
 * The blog's model layout (Karpathy's "GPT from scratch", configs/models/blog-*.json):
 * PyTorch's default initialisation, per tensor, and the parameter counts of its
 * three models against the closed form of that layout.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadModelConfig, parseModelConfig, resolveModelConfig } from '../src/model/config.ts';
import { flopsPerToken } from '../src/model/flops.ts';
import { GPT } from '../src/model/gpt.ts';
import { paramCounts } from '../src/model/params.ts';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

function stats(v: Float32Array) {
  let s = 0, s2 = 0, min = Infinity, max = -Infinity;
  for (const x of v) {
    s += x;
    s2 += x * x;
    min = Math.min(min, x);
    max = Math.max(max, x);
  }
  const mean = s / v.length;
  return { mean, std: Math.sqrt(s2 / v.length - mean * mean), min, max, n: v.length };
}

/**
 * Closed form of the blog's layout (no LayerNorm-free parts, bias-free q/k/v, untied head with bias):
 *   per block  ln_1, ln_2 4d; q,k,v 3d²; proj d² + d; fc 4d² + 4d; fc proj 4d² + d   = 12d² + 10d
 *   plus wte V·d, wpe T·d, ln_f 2d, lm_head V·d + V.
 */
function blogClosedForm(V: number, T: number, d: number, L: number): number {
  return V * d + T * d + L * (12 * d * d + 10 * d) + 2 * d + V * d + V;
}

describe('pytorch-default initialisation', () => {
  it('draws every tensor from PyTorch default distribution (mean, std, bounds per tensor)', () => {
    const cfg = resolveModelConfig(parseModelConfig({ ...loadModelConfig('configs/models/blog-small.json'), name: undefined }, 't'), 1000);
    const m = new GPT(cfg);
    const d = cfg.d_model, f = cfg.d_ff;
    for (const p of m.params) {
      const s = stats(p.variable.dataSync() as Float32Array);
      const n = p.name;
      if (n === 'wte' || n === 'wpe') {
        // nn.Embedding: N(0, 1)
        expect(Math.abs(s.mean)).toBeLessThan(4 / Math.sqrt(s.n));
        expect(Math.abs(s.std - 1)).toBeLessThan(0.02);
      } else if (/ln_[12f]\.weight$/.test(n)) {
        expect([s.min, s.max]).toEqual([1, 1]);
      } else if (/ln_[12f]\.bias$/.test(n)) {
        expect([s.min, s.max]).toEqual([0, 0]);
      } else {
        // nn.Linear(fan_in, ·): weight and bias U(−1/√fan_in, 1/√fan_in); std = bound/√3
        const fanIn = n.endsWith('mlp.c_proj.weight') || n.endsWith('mlp.c_proj.bias') ? f : d;
        const bound = 1 / Math.sqrt(fanIn);
        expect(s.min).toBeGreaterThanOrEqual(-bound);
        expect(s.max).toBeLessThanOrEqual(bound);
        // the extremes come close to the bound (n ≥ 64 samples)
        expect(s.max).toBeGreaterThan(0.8 * bound);
        expect(s.min).toBeLessThan(-0.8 * bound);
        const stdErr = bound / Math.sqrt(3) / Math.sqrt(s.n);
        expect(Math.abs(s.mean)).toBeLessThan(5 * stdErr);
        expect(Math.abs(s.std - bound / Math.sqrt(3)) / (bound / Math.sqrt(3))).toBeLessThan(s.n > 1000 ? 0.03 : 0.2);
      }
    }
    // the layout: no q/k/v bias, an untied head with a bias, everything else biased
    const names = m.params.map((p) => p.name);
    expect(names).not.toContain('h.0.attn.c_attn.bias');
    expect(names).toContain('h.0.attn.c_proj.bias');
    expect(names.slice(-2)).toEqual(['lm_head.weight', 'lm_head.bias']);
    m.dispose();
  });

  it('is deterministic from the seed', () => {
    const cfg = resolveModelConfig(parseModelConfig({ context: 8, d_model: 16, n_layers: 1, n_heads: 2, init: 'pytorch-default' }, 't'), 50);
    const [a, b] = [new GPT(cfg), new GPT(cfg)];
    a.params.forEach((p, i) => expect(Array.from(p.variable.dataSync())).toEqual(Array.from(b.params[i]!.variable.dataSync())));
    a.dispose();
    b.dispose();
  });
});

describe("the blog's three models", () => {
  const V = 50257;
  const cases: [string, number, number, number][] = [
    // file, d_model, n_layers, total parameters (hand count)
    ['blog-small', 64, 4, 6_698_833],
    ['blog-medium', 128, 4, 13_740_625],
    ['blog-large', 256, 6, 30_581_841],
  ];
  for (const [file, d, L, total] of cases) {
    it(`${file}: ${total.toLocaleString('en')} parameters = closed form; 6·N FLOPs per token`, () => {
      const cfg = resolveModelConfig(loadModelConfig(`configs/models/${file}.json`), V);
      expect(cfg.d_model).toBe(d);
      expect(cfg.n_layers).toBe(L);
      expect(blogClosedForm(V, 256, d, L)).toBe(total);
      const c = paramCounts(cfg);
      expect(c.total).toBe(total);
      // non-embedding: the blocks and ln_f (12·L·d² + 10·L·d + 2d)
      expect(c.non_embedding).toBe(L * (12 * d * d + 10 * d) + 2 * d);
      expect(flopsPerToken(cfg).flops_6nd).toBe(6 * total);
    });
  }

  it('the model allocates exactly the counted parameters (blog-small)', () => {
    const cfg = resolveModelConfig(loadModelConfig('configs/models/blog-small.json'), V);
    const m = new GPT(cfg);
    expect(m.numParams).toBe(paramCounts(cfg).total);
    m.dispose();
  });

  it('counts follow each option: attn_bias, head_bias, tie_embeddings', () => {
    const base = { context: 16, d_model: 8, n_layers: 2, n_heads: 2 };
    const n = (o: Record<string, unknown>) => paramCounts(resolveModelConfig(parseModelConfig({ ...base, ...o }, 't'), 100)).total;
    const ref = n({});
    expect(n({ attn_bias: false })).toBe(ref - 2 * 3 * 8);
    expect(n({ tie_embeddings: false })).toBe(ref + 100 * 8);
    expect(n({ tie_embeddings: false, head_bias: true })).toBe(ref + 100 * 8 + 100);
    // a built model agrees
    for (const o of [{ attn_bias: false }, { tie_embeddings: false, head_bias: true }, { bias: false, attn_bias: true }]) {
      const cfg = resolveModelConfig(parseModelConfig({ ...base, ...o }, 't'), 100);
      const m = new GPT(cfg);
      expect(m.numParams).toBe(paramCounts(cfg).total);
      m.dispose();
    }
  });

  it('refuses head_bias on a tied head, naming the fix', () => {
    expect(() => parseModelConfig({ context: 8, d_model: 8, n_layers: 1, n_heads: 1, head_bias: true }, 'x.json')).toThrow(/head_bias.*tie_embeddings/);
  });
});
