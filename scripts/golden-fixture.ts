/**
 * Writes the inputs of the cross-framework golden test (test/golden.test.ts):
 *
 *   test/fixtures/golden/<case>/config.json              model config + a fixed batch (idx, targets)
 *   test/fixtures/golden/<case>/checkpoint.safetensors   a checkpoint in our format (saveCheckpoint)
 *
 * The weights are the model's seeded initialisation plus seeded N(0, 0.1²) noise
 * on every tensor (so biases and LayerNorm gains are not 0 and 1 and every
 * gradient path is exercised). Then the PyTorch reference computes the numbers:
 *
 *   npx tsx scripts/golden-fixture.ts
 *   /usr/bin/python3 scripts/torch-reference.py golden test/fixtures/golden/<case>
 */
import * as tf from '@tensorflow/tfjs';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { initBackend } from '../src/backend.ts';
import { parseModelConfig, resolveModelConfig } from '../src/model/config.ts';
import { GPT } from '../src/model/gpt.ts';
import { saveCheckpoint } from '../src/train/checkpoint.ts';
import { Rng, hashSeed } from '../src/util/rng.ts';

export const GOLDEN_CASES = {
  // tied head with biases, the GPT-2 layout; d_ff not 4·d, T = context
  tied: { model: { context: 16, d_model: 24, n_layers: 2, n_heads: 3, d_ff: 40, vocab_size: 67, seed: 7 }, batch: 3, T: 16 },
  // untied head without biases; T < context
  untied: { model: { context: 12, d_model: 16, n_layers: 1, n_heads: 2, vocab_size: 50, tie_embeddings: false, bias: false, seed: 8 }, batch: 2, T: 8 },
} as const;

async function main(): Promise<void> {
  await initBackend('cpu', { quiet: true });
  for (const [name, c] of Object.entries(GOLDEN_CASES)) {
    const cfg = resolveModelConfig(parseModelConfig(c.model, name), c.model.vocab_size);
    const model = new GPT(cfg);
    const rng = new Rng(hashSeed(cfg.seed, 99));
    const normal = () => Math.sqrt(-2 * Math.log(1 - rng.next())) * Math.cos(2 * Math.PI * rng.next());
    for (const p of model.params) {
      const w = (await p.variable.data()) as Float32Array;
      p.variable.assign(tf.tensor(w.map((x) => x + 0.1 * normal()), p.variable.shape));
    }
    const tokens = () => Array.from({ length: c.batch }, () => Array.from({ length: c.T }, () => Math.floor(rng.next() * cfg.vocab_size)));
    const dir = join('test', 'fixtures', 'golden', name);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ model: cfg, idx: tokens(), targets: tokens() }) + '\n');
    await saveCheckpoint(dir, {
      step: 0,
      optimizerT: 0,
      elapsedS: 0,
      seed: cfg.seed,
      tensors: model.params.map((p) => ({ name: `param/${p.name}`, tensor: p.variable as tf.Tensor })),
    });
    model.dispose();
    console.log(`wrote ${dir}`);
  }
}

await main();
