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
  /**
   * Hoffmann et al. 2022, Appendix F as written: the itemised forward count WITH the embedding
   * lookup (counted as a matmul, 2·V·d per token) and the final logits, backward = 2× forward.
   * This is what the metrics.csv column flops_chinchilla holds.
   */
  flops_chinchilla: number;
  /**
   * The same count WITHOUT the embedding and final-logits terms: the way Table A4's ratios
   * (1.03 … 0.99 against 6ND) come out (a known typo in Appendix F, found in the nanoGPT
   * scaling-laws notebook by correspondence with the authors). Not a metrics column.
   */
  flops_chinchilla_no_embedding: number;
}

export interface ChinchillaCountOptions {
  /** count the embedding lookup and the final logits (Appendix F as written); default true */
  embeddingAndLogits?: boolean;
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
 * Biases, LayerNorms and nonlinearities are not counted (as in the paper). With
 * `embeddingAndLogits: false` the first and last terms are left out, which is how
 * Table A4's ratios are reproduced (see test/flops.test.ts).
 */
export function chinchillaForwardFlopsPerSequence(cfg: ResolvedModelConfig, o: ChinchillaCountOptions = {}): number {
  const { vocab_size: V, context: T, d_model: d, n_heads: h, d_ff: f, n_layers: L } = cfg;
  const hk = d; // h heads of key size k = d/h
  const embeddings = 2 * T * V * d;
  const attention = 2 * 3 * T * d * hk + 2 * T * T * hk + 3 * h * T * T + 2 * T * T * hk + 2 * T * hk * d;
  const feedForward = 2 * T * (2 * d * f);
  const logits = 2 * T * d * V;
  const layers = L * (attention + feedForward);
  return (o.embeddingAndLogits ?? true) ? embeddings + layers + logits : layers;
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
    flops_chinchilla_no_embedding: (3 * chinchillaForwardFlopsPerSequence(cfg, { embeddingAndLogits: false })) / context,
  };
}
