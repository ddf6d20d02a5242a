/**
 * Closed-form parameter counts of the GPT in ./gpt.ts.
 *
 * Per block (d = d_model, f = d_ff, β = 1 if bias else 0, α = 1 if attn_bias else 0):
 *   ln_1, ln_2        2·(d + β·d)
 *   attn.c_attn       d·3d + α·3d
 *   attn.c_proj       d·d  + β·d
 *   mlp.c_fc          d·f  + β·f
 *   mlp.c_proj        f·d  + β·d
 *   => 4d² + 2·d·f + β·(6d + f) + α·3d + 2d  (= 12d² + 13d with f = 4d, α = β = 1)
 * Plus ln_f (d + β·d), token embedding wte (V·d), position embedding wpe (context·d),
 * and, when the head is untied, lm_head (V·d, plus V if head_bias).
 *
 * Non-embedding count (Kaplan et al. 2020, §2.1): all parameters except the
 * vocabulary and position embeddings. An untied output head (the "de-embedding")
 * is counted with the embeddings, as its size also scales with the vocabulary and
 * Kaplan's N ≈ 12·n_layer·d_model² has no term for it; so non_embedding does not
 * depend on tie_embeddings, and total = non_embedding + embedding always.
 */
import type { ResolvedModelConfig } from './config.ts';

export interface ParamCounts {
  total: number;
  non_embedding: number;
  embedding: number;
}

export function paramCounts(cfg: ResolvedModelConfig): ParamCounts {
  const { vocab_size: V, context, d_model: d, d_ff: f, n_layers: L } = cfg;
  const beta = cfg.bias ? 1 : 0;
  const alpha = (cfg.attn_bias ?? cfg.bias) ? 1 : 0;
  const layerNorm = d + beta * d;
  const perBlock = 2 * layerNorm + (3 * d * d + alpha * 3 * d) + (d * d + beta * d) + (d * f + beta * f) + (f * d + beta * d);
  const non_embedding = L * perBlock + layerNorm;
  const embedding = V * d + context * d + (cfg.tie_embeddings ? 0 : V * d + (cfg.head_bias ? V : 0));
  return { total: non_embedding + embedding, non_embedding, embedding };
}
