/**
 * Training FLOPs per token (forward + backward) under three accountings.
 * All are per token of a sequence of length T = cfg.context (training always uses
 * full-context windows), counting a multiply-add as 2 FLOPs.
 */
import type { ResolvedModelConfig } from './config.ts';
import { paramCounts } from './params.ts';

export interface FlopsPerToken {
  /** 6·N_total: the experiment's convention (Chinchilla's C ≈ 6ND, Hoffmann et al. 2022 §3). */
  flops_6nd: number;
  /** Kaplan et al. 2020, Table 1: C_forward ≈ 2N + 2·n_layer·n_ctx·d_attn; training = 3× forward. */
  flops_kaplan: number;
  /** Hoffmann et al. 2022, Appendix F: the itemised forward count, backward = 2× forward. */
  flops_chinchilla: number;
}

/**
 * Chinchilla's forward FLOPs for one sequence (Hoffmann et al. 2022, Appendix F, Table 4),
 * with T = sequence length, V = vocab, d = d_model, h = heads, k = key size (h·k = d), f = d_ff:
 *   embeddings          2·T·V·d
 *   per layer:
 *     key/query/value   2·3·T·d·(h·k)
 *     key @ query       2·T²·(h·k)
 *     softmax           3·h·T²
 *     softmax @ value   2·T²·(h·k)
 *     final linear      2·T·(h·k)·d
 *     feed-forward      2·T·(d·f + f·d)     (Chinchilla writes 2·T·(2·d·f))
 *   final logits        2·T·d·V
 * Biases, LayerNorms and nonlinearities are not counted (as in the paper).
 */
export function chinchillaForwardFlopsPerSequence(cfg: ResolvedModelConfig): number {
  const { vocab_size: V, context: T, d_model: d, n_heads: h, d_ff: f, n_layers: L } = cfg;
  const hk = d; // h heads of key size k = d/h
  const embeddings = 2 * T * V * d;
  const attention = 2 * 3 * T * d * hk + 2 * T * T * hk + 3 * h * T * T + 2 * T * T * hk + 2 * T * hk * d;
  const feedForward = 2 * T * (2 * d * f);
  const logits = 2 * T * d * V;
  return embeddings + L * (attention + feedForward) + logits;
}

export function flopsPerToken(cfg: ResolvedModelConfig): FlopsPerToken {
  const { total, non_embedding } = paramCounts(cfg);
  const { n_layers, context, d_model } = cfg;
  return {
    flops_6nd: 6 * total,
    // 3 × (2·N + 2·n_layer·n_ctx·d_attn), d_attn = d_model
    flops_kaplan: 6 * non_embedding + 6 * n_layers * context * d_model,
    // backward = 2 × forward, so training = 3 × forward; per token = per sequence / T
    flops_chinchilla: (3 * chinchillaForwardFlopsPerSequence(cfg)) / context,
  };
}
