/**
 * Writes what scripts/blog-torch-compare.py checks the blog's model against: the
 * initial weights of a blog-layout GPT (configs/models/blog-*.json, PyTorch default
 * init), one batch of token ids and targets, and this project's logits, loss and
 * gradients for it (dropout off: masks cannot match across RNGs), all in one file in the
 * project's checkpoint format (src/train/checkpoint.ts):
 *
 *   npx tsx scripts/blog-torch-export.ts OUT_DIR [small|medium|large] [--backend cpu|wasm] [--batch B] [--context T]
 *   /usr/bin/python3 scripts/blog-torch-compare.py OUT_DIR
 *
 * Tensors: param/<name> (this project's layout, Linear weights [in, out]), grad/<name>,
 * data/idx and data/targets ([B, T] as float32, exact below 2^24), out/logits [B, T, V], out/loss [1].
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend, type BackendRequest } from '../src/backend.ts';
import { loadModelConfig, resolveModelConfig } from '../src/model/config.ts';
import { GPT } from '../src/model/gpt.ts';
import { saveCheckpoint } from '../src/train/checkpoint.ts';
import { Rng } from '../src/util/rng.ts';

const args = process.argv.slice(2);
const flag = (name: string, dflt: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args.splice(i, 2)[1]! : dflt;
};
const backend = flag('backend', 'cpu');
const B = Number(flag('batch', '4'));
const T = Number(flag('context', '64'));
const [outDir, size = 'small'] = args;
if (!outDir) {
  process.stderr.write('usage: npx tsx scripts/blog-torch-export.ts OUT_DIR [small|medium|large] [--backend cpu|wasm] [--batch B] [--context T]\n');
  process.exit(2);
}

const profile = await initBackend(backend as BackendRequest, { quiet: true });
const cfg = resolveModelConfig(loadModelConfig(`configs/models/blog-${size}.json`), 50257);
const model = new GPT(cfg, { kernels: profile.kernels });
const rng = new Rng(2024);
const idx = Array.from({ length: B * T }, () => rng.int(cfg.vocab_size));
const tgt = Array.from({ length: B * T }, () => rng.int(cfg.vocab_size));
const x = tf.tensor2d(idx, [B, T], 'int32');
const y = tf.tensor2d(tgt, [B, T], 'int32');
const vars = model.params.map((p) => p.variable);
const { value, grads } = tf.variableGrads(() => model.loss(x, y, { training: false }), vars);
const logits = model.forward(x);
await saveCheckpoint(outDir, {
  step: 0,
  optimizerT: 0,
  elapsedS: 0,
  seed: cfg.seed,
  tensors: [
    ...model.params.map((p) => ({ name: `param/${p.name}`, tensor: p.variable as tf.Tensor })),
    ...model.params.map((p) => ({ name: `grad/${p.name}`, tensor: grads[p.variable.name]! })),
    { name: 'data/idx', tensor: tf.tensor2d(Float32Array.from(idx), [B, T]) },
    { name: 'data/targets', tensor: tf.tensor2d(Float32Array.from(tgt), [B, T]) },
    { name: 'out/logits', tensor: logits },
    { name: 'out/loss', tensor: tf.reshape(value, [1]) },
  ],
  extra: { model: cfg, backend },
});
process.stdout.write(`wrote ${outDir}/checkpoints/latest.ckpt: blog-${size} (${model.numParams} params), batch ${B}×${T}, loss ${(await value.data())[0]}\n`);
