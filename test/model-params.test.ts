import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadModelConfig, parseModelConfig, resolveModelConfig } from '../src/model/config.ts';
import { GPT } from '../src/model/gpt.ts';
import { paramCounts } from '../src/model/params.ts';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('paramCounts', () => {
  for (const tie_embeddings of [true, false]) {
    for (const bias of [true, false]) {
      it(`equals the sum of the variables' sizes (tied ${tie_embeddings}, bias ${bias})`, () => {
        const cfg = resolveModelConfig(parseModelConfig({ context: 12, d_model: 24, n_layers: 3, n_heads: 4, d_ff: 40, tie_embeddings, bias }, 't'), 37);
        const m = new GPT(cfg);
        const c = paramCounts(cfg);
        expect(c.total).toBe(m.params.reduce((s, p) => s + p.variable.size, 0));
        const embeddingNames = ['wte', 'wpe', 'lm_head.weight'];
        expect(c.embedding).toBe(m.params.filter((p) => embeddingNames.includes(p.name)).reduce((s, p) => s + p.variable.size, 0));
        expect(c.non_embedding).toBe(c.total - c.embedding);
        m.dispose();
      });
    }
  }

  it('hand count for d 8, 2 layers, d_ff 32, V 10, context 4 (tied, bias)', () => {
    const cfg = resolveModelConfig(parseModelConfig({ context: 4, d_model: 8, n_layers: 2, n_heads: 2, d_ff: 32 }, 't'), 10);
    // per block: ln_1 + ln_2 2·(8+8) = 32; c_attn 8·24+24 = 216; c_proj 8·8+8 = 72;
    // c_fc 8·32+32 = 288; mlp.c_proj 32·8+8 = 264 -> 872; two blocks 1744; ln_f 16 -> 1760
    // embeddings: wte 10·8 = 80, wpe 4·8 = 32 -> 112
    expect(paramCounts(cfg)).toEqual({ total: 1872, non_embedding: 1760, embedding: 112 });
    // untied: lm_head 10·8 = 80 more, counted with the embeddings
    expect(paramCounts({ ...cfg, tie_embeddings: false })).toEqual({ total: 1952, non_embedding: 1760, embedding: 192 });
    // no bias: each block loses 16 (LN biases) + 24 + 8 + 32 + 8 = 88; ln_f loses 8 -> 1760 − 176 − 8 = 1576
    expect(paramCounts({ ...cfg, bias: false }).non_embedding).toBe(1576);
  });

  it('presets: 12·L·d² plus biases and LayerNorms (13·d per block + 2·d for ln_f)', () => {
    const count = (name: string) => paramCounts(resolveModelConfig(loadModelConfig(`configs/models/${name}.json`), 50257));
    // 786k: 4·(12·128² + 13·128) + 2·128 = 4·(196,608 + 1,664) + 256 = 793,344
    // embeddings 50257·128 + 256·128 = 6,432,896 + 32,768 = 6,465,664
    expect(count('786k')).toEqual({ non_embedding: 793_344, embedding: 6_465_664, total: 7_259_008 });
    // 4m: 6·(12·256² + 13·256) + 512 = 6·789,760 + 512 = 4,739,072
    expect(count('4m').non_embedding).toBe(4_739_072);
    // 25m: 8·(12·512² + 13·512) + 1024 = 8·3,152,384 + 1024 = 25,220,096
    expect(count('25m').non_embedding).toBe(25_220_096);
  });
});
