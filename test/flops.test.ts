import { describe, expect, it } from 'vitest';
import { loadModelConfig, parseModelConfig, resolveModelConfig } from '../src/model/config.ts';
import { chinchillaForwardFlopsPerSequence, flopsPerToken } from '../src/model/flops.ts';

describe('flopsPerToken', () => {
  // V 10, T 4, d 8, 2 layers, 2 heads (key size 4), d_ff 32, tied, bias:
  // N_total 1872, N_non_embedding 1760 (hand count in model-params.test.ts)
  const cfg = resolveModelConfig(parseModelConfig({ context: 4, d_model: 8, n_layers: 2, n_heads: 2, d_ff: 32 }, 't'), 10);

  it('6ND: 6·1872 = 11,232', () => {
    expect(flopsPerToken(cfg).flops_6nd).toBe(11_232);
  });

  it('Kaplan: 6·1760 + 6·2·4·8 = 10,560 + 384 = 10,944', () => {
    expect(flopsPerToken(cfg).flops_kaplan).toBe(10_944);
  });

  it('Chinchilla Appendix F, item by item', () => {
    // embeddings 2·T·V·d = 2·4·10·8 = 640
    // per layer: QKV 2·3·4·8·8 = 1536; logits 2·4²·8 = 256; softmax 3·2·4² = 96;
    //   reduction 2·4²·8 = 256; output projection 2·4·8·8 = 512; FFN 2·4·(2·8·32) = 4096  -> 6752
    // two layers 13,504; final logits 2·4·8·10 = 640
    // forward per sequence 640 + 13,504 + 640 = 14,784
    expect(chinchillaForwardFlopsPerSequence(cfg)).toBe(14_784);
    // training = 3 × forward, per token = / 4: 44,352 / 4 = 11,088
    expect(flopsPerToken(cfg).flops_chinchilla).toBe(11_088);
  });

  it('786k preset with the GPT-2 vocabulary', () => {
    const c = resolveModelConfig(loadModelConfig('configs/models/786k.json'), 50257);
    const f = flopsPerToken(c);
    expect(f.flops_6nd).toBe(6 * 7_259_008); // 43,554,048
    expect(f.flops_kaplan).toBe(6 * 793_344 + 6 * 4 * 256 * 128); // 4,760,064 + 786,432 = 5,546,496
    // embeddings and final logits 2·256·50257·128 = 3,293,642,752 each;
    // per layer 25,165,824 + 16,777,216 + 786,432 + 16,777,216 + 8,388,608 + 67,108,864 = 135,004,160
    // forward 2·3,293,642,752 + 4·135,004,160 = 7,127,302,144; ×3/256 = 83,523,072
    expect(f.flops_chinchilla).toBe(83_523_072);
  });
});
