/** configs/sweep-blog.json is the blog's experiment; the comparison sweep trains the same shapes with both recipes on the same tokens. */
import { describe, expect, it } from 'vitest';
import { loadSweep } from '../src/sweep/config.ts';

describe('configs/sweep-blog.json', () => {
  const plan = loadSweep('configs/sweep-blog.json');
  it('has the three blog models with their true parameter counts', () => {
    expect(plan.runs.map((r) => [r.name, r.params_total, r.model.d_model, r.model.n_heads, r.model.n_layers])).toEqual([
      ['small', 6_698_833, 64, 4, 4],
      ['medium', 13_740_625, 128, 4, 4],
      ['large', 30_581_841, 256, 8, 6],
    ]);
    for (const r of plan.runs) {
      expect(r.model).toMatchObject({ context: 256, dropout: 0.1, activation: 'relu', attn_bias: false, tie_embeddings: false, head_bias: true, init: 'pytorch-default' });
      expect(r.model.dropout_sites).toEqual(['attention', 'mlp']);
    }
  });
  it("uses the blog's recipe", () => {
    for (const r of plan.runs) {
      expect(r.train).toMatchObject({
        tokenizer: 'gpt2', dataset: 'wikitext-2-raw-v1', join_lines: true, steps: 500, batch: 32, lr: 3e-4, lr_schedule: 'constant', warmup_steps: 0,
        beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.01, weight_decay_on: 'all', grad_clip: 0,
        eval_interval: 50, eval_steps: 'zero-based', eval_windows: 50 * 32, train_eval_windows: 50 * 32,
      });
      expect(r.tokens).toBe(500 * 32 * 256);
      expect(r.flops_6nd).toBe(6 * r.params_total * 500 * 32 * 256);
    }
  });
});

describe('configs/sweep-blog-vs-modern.json', () => {
  const plan = loadSweep('configs/sweep-blog-vs-modern.json');
  it('trains each blog shape with both recipes on the same tokens', () => {
    expect(plan.runs.map((r) => r.name)).toEqual(['blog-small', 'blog-medium', 'blog-large', 'modern-small', 'modern-medium', 'modern-large']);
    for (const size of ['small', 'medium', 'large']) {
      const b = plan.runs.find((r) => r.name === `blog-${size}`)!;
      const m = plan.runs.find((r) => r.name === `modern-${size}`)!;
      expect([m.model.d_model, m.model.n_layers, m.model.n_heads]).toEqual([b.model.d_model, b.model.n_layers, b.model.n_heads]);
      expect(m.tokens).toBe(b.tokens);
      expect(m.model).toMatchObject({ activation: 'gelu', init: 'gpt2', tie_embeddings: true, bias: true });
      expect(m.train).toMatchObject({ lr_schedule: 'cosine', warmup_steps: 50, grad_clip: 1, weight_decay_on: 'linear-weights', eval_steps: 'zero-based' });
    }
  });
});
