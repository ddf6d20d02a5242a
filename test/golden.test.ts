/**
 * Cross-framework golden test: our GPT's logits, loss and every gradient (the
 * hand-written backward passes of src/model/ops.ts) against PyTorch autograd in
 * float64 (scripts/torch-reference.py), on the weights of a checkpoint we wrote.
 * Runs from the committed fixture in test/fixtures/golden/ — no Python needed.
 *
 * Tolerance (float32 against a float64 reference): logits and loss within 1e-5
 * absolute; each gradient tensor within 1e-5 of its largest reference entry
 * (max |ours − torch| ≤ 1e-5 · max |torch|). Measured on cpu and wasm: logits
 * ≤ 6e-7, loss ≤ 2e-7, gradients ≤ 1e-6 of their max (README "Golden test").
 */
import * as tf from '@tensorflow/tfjs';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { initBackend } from '../src/backend.ts';
import { resolveModelConfig, parseModelConfig } from '../src/model/config.ts';
import { GPT } from '../src/model/gpt.ts';
import { loadCheckpoint } from '../src/train/checkpoint.ts';
import { decodeSafetensors, tensorData } from '../src/util/safetensors.ts';

const FIXTURES = join(import.meta.dirname, 'fixtures', 'golden');
const LOGITS_TOL = 1e-5;
const GRAD_REL_TOL = 1e-5;

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}
function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!));
  return m;
}

for (const backend of ['cpu', 'wasm'] as const) {
  describe(`golden numbers from PyTorch on ${backend}`, () => {
    for (const name of ['tied', 'untied']) {
      it(`${name}: logits, loss and all gradients match`, async () => {
        await initBackend(backend, { quiet: true });
        const dir = join(FIXTURES, name);
        const c = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
        const ref = decodeSafetensors(readFileSync(join(dir, 'reference.safetensors')));
        const cfg = resolveModelConfig(parseModelConfig(c.model, name), c.model.vocab_size);
        const before = tf.memory().numTensors;
        const model = new GPT(cfg);
        const ck = loadCheckpoint(dir)!;
        tf.tidy(() => model.params.forEach((p) => p.variable.assign(tf.tensor(ck.get(`param/${p.name}`), p.variable.shape))));
        const idx = tf.tensor2d(c.idx, undefined, 'int32');
        const targets = tf.tensor2d(c.targets, undefined, 'int32');

        const logits = model.forward(idx);
        const { value, grads } = tf.variableGrads(() => model.loss(idx, targets), model.params.map((p) => p.variable));
        const report: string[] = [];
        const dLogits = maxAbsDiff((await logits.data()) as Float32Array, tensorData(ref, 'logits'));
        const dLoss = Math.abs((await value.data())[0]! - tensorData(ref, 'loss')[0]!);
        report.push(`logits ${dLogits.toExponential(1)}, loss ${dLoss.toExponential(1)}`);
        expect(dLogits).toBeLessThan(LOGITS_TOL);
        expect(dLoss).toBeLessThan(LOGITS_TOL);
        expect(Object.keys(grads).length).toBe(ref.tensors.size - 2);
        let worst = 0;
        for (const p of model.params) {
          const r = tensorData(ref, `grad/${p.name}`);
          const g = (await grads[p.variable.name]!.data()) as Float32Array;
          const rel = maxAbsDiff(g, r) / maxAbs(r);
          worst = Math.max(worst, rel);
          expect(rel, `gradient of ${p.name}`).toBeLessThan(GRAD_REL_TOL);
        }
        report.push(`worst gradient ${worst.toExponential(1)} of its max`);
        console.log(`golden ${name} on ${backend}: ${report.join(', ')}`);
        tf.dispose([idx, targets, logits, value, ...Object.values(grads)]);
        model.dispose();
        expect(tf.memory().numTensors).toBe(before);
      });
    }
  });
}
