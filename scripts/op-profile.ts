/**
 * Where one forward+backward of a model goes, kernel by kernel (wasm, one core, the
 * layouts the backend profile picks):
 *   npx tsx scripts/op-profile.ts <model.json> <vocab> [batch]
 * Env: REPS (timed steps, default 5), NOPROFILE=1 (times only), ATT=batched|per-sequence|fused.
 * Prints the median step, then kernel time per kernel name and per kernel+input shapes
 * (tf.profile: nested kernels are counted inside their scopes too).
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/backend.ts';
import { loadModelConfig, resolveModelConfig } from '../src/model/config.ts';
import { GPT } from '../src/model/gpt.ts';

const [file, vocab, batch] = process.argv.slice(2);
const profile = await initBackend('wasm', { quiet: true });
const cfg = resolveModelConfig(loadModelConfig(file!), Number(vocab));
const layout = process.env.ATT as 'batched' | 'per-sequence' | 'fused' | undefined;
const model = new GPT(cfg, { kernels: profile.kernels, ...(layout ? { attention: layout } : {}) });
const B = Number(batch ?? 32), T = cfg.context;
const ids = () => tf.tensor2d(Int32Array.from({ length: B * T }, () => Math.floor(Math.random() * cfg.vocab_size)), [B, T], 'int32');
const vars = model.params.map((p) => p.variable);
const step = () => {
  const x = ids(), y = ids();
  const { value, grads } = tf.variableGrads(() => model.loss(x, y, { training: true }), vars);
  tf.dispose([x, y, value, ...Object.values(grads)]);
};
const reps = Number(process.env.REPS ?? 5);
for (let i = 0; i < 2; i++) step();
const ts: number[] = [];
for (let i = 0; i < reps; i++) {
  const t0 = performance.now();
  step();
  ts.push(performance.now() - t0);
}
ts.sort((a, b) => a - b);
console.log(`fwd+bwd wall median ${ts[reps >> 1]!.toFixed(1)} ms (min ${ts[0]!.toFixed(1)}) over ${reps}`);
if (process.env.NOPROFILE) process.exit(0);
const info = await tf.profile(step);
const byName = new Map<string, [number, number]>();
const byShape = new Map<string, [number, number]>();
let total = 0;
for (const k of info.kernels) {
  const ms = k.kernelTimeMs as number;
  total += ms;
  const a = byName.get(k.name) ?? [0, 0];
  byName.set(k.name, [a[0] + ms, a[1] + 1]);
  const key = `${k.name} ${JSON.stringify(k.inputShapes)}`;
  const b = byShape.get(key) ?? [0, 0];
  byShape.set(key, [b[0] + ms, b[1] + 1]);
}
console.log(`kernels ${info.kernels.length}, kernel time ${total.toFixed(1)} ms`);
for (const [n, [ms, c]] of [...byName].sort((a, b) => b[1][0] - a[1][0]).slice(0, 25)) console.log(`${ms.toFixed(1).padStart(8)} ${String(c).padStart(5)}  ${n}`);
console.log('---');
for (const [n, [ms, c]] of [...byShape].sort((a, b) => b[1][0] - a[1][0]).slice(0, 40)) console.log(`${ms.toFixed(1).padStart(8)} ${String(c).padStart(5)}  ${n}`);
