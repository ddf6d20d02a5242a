/**
 * Times the variants behind the layout choices of the backend profile (src/model/kernels/layouts.ts) on
 * one core, with the 786k model's shapes (d 128, 4 heads, context 256, 4096 rows =
 * 16 sequences), so that the choices can be re-checked on another machine or tfjs:
 *
 *   npx tsx scripts/kernel-bench.ts [wasm|cpu] [--quick]
 *
 * Every product gets a freshly made right operand, as in training (XNNPACK caches
 * the packed right operand per tensor, which would flatter the repeated calls).
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend, type BackendName } from '../src/backend.ts';
import { useKernelLayouts } from '../src/model/kernels/layouts.ts';
import { causalMask, causalSelfAttention, gatherRows, transpose2d, type AttentionLayout } from '../src/model/ops.ts';
import { wasmColSum, wasmMatMul, wasmMatMulTN, wasmProductsReady } from '../src/model/kernels/wasmProducts.ts';

const backend = (process.argv.slice(2).find((a) => !a.startsWith('--')) ?? 'wasm') as BackendName;
const quick = process.argv.includes('--quick');
const profile = await initBackend(backend, { quiet: true });
useKernelLayouts(profile.kernels); // the layouts the model would use on this backend

/** Median wall time (ms) of `reps` calls after one warm-up call. */
function time(f: () => tf.TensorContainer, reps = quick ? 3 : 7): number {
  tf.dispose(f());
  const ts: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    tf.dispose(f());
    ts.push(performance.now() - t0);
  }
  return ts.sort((a, b) => a - b)[reps >> 1]!;
}

const rows: string[][] = [['what', 'variant', 'ms', 'rate']];
function report(what: string, variant: string, ms: number, rate: string): void {
  rows.push([what, variant, ms.toFixed(2), rate]);
}
const gflops = (flops: number, ms: number) => `${(flops / ms / 1e6).toFixed(1)} GFLOP/s`;
const gelems = (n: number, ms: number) => `${(n / ms / 1e6).toFixed(2)} G elem/s`;
/** A copy with its own tensor id (a fresh right operand for XNNPACK). */
const fresh = <T extends tf.Tensor>(t: T): T => tf.add(t, 0) as T;

const N = 4096, d = 128, H = 4, T = 256, B = N / T;

const ours = wasmProductsReady(); // the project's wasm kernels (src/model/kernels/wasm/)

// ---- attention: batched [B·H, T, hd] products vs per-sequence 2-D blocks vs fused ----
{
  const mask = causalMask(T);
  const qkv = tf.randomNormal([N, 3 * d]) as tf.Tensor2D;
  const gy = tf.randomNormal([N, d]);
  const flops = 3 * 2 * 2 * B * H * T * T * (d / H); // fwd: 2 products; bwd: 4
  for (const layout of (ours ? ['batched', 'per-sequence', 'fused'] : ['batched', 'per-sequence']) as AttentionLayout[]) {
    const fwdBwd = () =>
      tf.tidy(() => tf.grad((x: tf.Tensor) => tf.sum(tf.mul(causalSelfAttention(x as tf.Tensor2D, mask, { B, T, H, dropout: 0, seed: 1, layout }), gy)))(qkv));
    const ms = time(fwdBwd, quick ? 2 : 3);
    report(`attention fwd+bwd, ${B}×${T} tokens, ${H} heads`, layout, ms, gflops(flops, ms));
  }
  tf.dispose([mask, qkv, gy]);
}

// ---- 2-D transposes: plain vs through 32×32 tiles ----------------------------------
for (const [r, c] of [[N, d], [N, 4 * d], [T, T]] as const) {
  const x = tf.randomNormal([r, c]) as tf.Tensor2D;
  const plain = time(() => tf.transpose(x), 20);
  report(`transpose [${r}, ${c}]`, 'plain', plain, gelems(r * c, plain));
  const b = 32;
  const tiled = time(() => tf.tidy(() => tf.reshape(tf.transpose(tf.transpose(tf.reshape(x, [r / b, b, c / b, b]), [2, 0, 3, 1]), [0, 2, 1, 3]), [c, r])), 20);
  report(`transpose [${r}, ${c}]`, '32×32 tiles', tiled, gelems(r * c, tiled));
  x.dispose();
}

// ---- forward products x·W over N rows: XNNPACK (packs a fresh W) vs the project's kernel ----
for (const [nin, nout] of [[d, 3 * d], [d, 4 * d], [4 * d, d], [d, d], [d, 256]] as const) {
  const x = tf.randomNormal([N, nin]) as tf.Tensor2D, w = tf.randomNormal([nin, nout]) as tf.Tensor2D;
  const flops = 2 * N * nin * nout;
  const copy = time(() => fresh(w), 20); // the fresh copy's own cost, taken off below
  const xnn = time(() => tf.tidy(() => tf.matMul(x, fresh(w)))) - copy;
  report(`y = x·W, x [${N}, ${nin}], W [${nin}, ${nout}]`, 'tf.matMul', xnn, gflops(flops, xnn));
  if (ours) {
    const k = time(() => wasmMatMul(x, w));
    report(`y = x·W, x [${N}, ${nin}], W [${nin}, ${nout}]`, 'one kernel (products.c)', k, gflops(flops, k));
  }
  tf.dispose([x, w]);
}

// ---- weight gradients xᵀ·dy over N rows: which operand to transpose, which to pack ----
for (const [nin, nout] of [[d, 3 * d], [d, 4 * d], [4 * d, d], [d, d]] as const) {
  const x = tf.randomNormal([N, nin]) as tf.Tensor2D, dy = tf.randomNormal([N, nout]) as tf.Tensor2D;
  const flops = 2 * N * nin * nout;
  const tx = time(() => tf.tidy(() => tf.matMul(transpose2d(fresh(x)), fresh(dy))));
  report(`dW = xᵀ·dy, x [${N}, ${nin}], dy [${N}, ${nout}]`, 'transpose x, pack dy', tx, gflops(flops, tx));
  const tdy = time(() => tf.tidy(() => tf.transpose(tf.matMul(transpose2d(fresh(dy)), fresh(x)))));
  report(`dW = xᵀ·dy, x [${N}, ${nin}], dy [${N}, ${nout}]`, 'transpose dy, pack x', tdy, gflops(flops, tdy));
  if (ours) {
    const k = time(() => wasmMatMulTN(x, dy));
    report(`dW = xᵀ·dy, x [${N}, ${nin}], dy [${N}, ${nout}]`, 'one kernel (products.c)', k, gflops(flops, k));
  }
  tf.dispose([x, dy]);
}

// ---- column sums (bias and LayerNorm gradients) -------------------------------------
for (const n of [d, 4 * d]) {
  const x = tf.randomNormal([N, n]) as tf.Tensor2D;
  const ones = time(() => tf.tidy(() => tf.matMul(tf.ones([1, N]), fresh(x))));
  report(`column sums of [${N}, ${n}]`, '1ᵀ·x (packs x)', ones, gelems(N * n, ones));
  const xt = time(() => tf.tidy(() => tf.matMul(transpose2d(fresh(x)), tf.ones([N, 1]))));
  report(`column sums of [${N}, ${n}]`, 'xᵀ·1', xt, gelems(N * n, xt));
  const sum = time(() => tf.tidy(() => tf.sum(fresh(x), 0)));
  report(`column sums of [${N}, ${n}]`, 'sum over axis 0', sum, gelems(N * n, sum));
  if (ours) {
    const k = time(() => wasmColSum(x), 20);
    report(`column sums of [${N}, ${n}]`, 'one kernel (products.c)', k, gelems(N * n, k));
  }
  x.dispose();
}

// ---- embedding rows -------------------------------------------------------------------
{
  const table = tf.randomNormal([256, d]) as tf.Tensor2D;
  const ids = tf.tensor1d(Int32Array.from({ length: N }, (_, i) => (i * 7919) % 256), 'int32');
  const g = time(() => tf.gather(table, ids), 10);
  report(`gather ${N} rows of [256, ${d}]`, 'tf.gather', g, gelems(N * d, g));
  const h = time(() => gatherRows(table, ids), 10);
  report(`gather ${N} rows of [256, ${d}]`, `gatherRows (${profile.kernels.hostGather ? 'host copy' : 'tf.gather'})`, h, gelems(N * d, h));
  tf.dispose([table, ids]);
}

const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
console.log(`backend ${backend} (tfjs ${tf.version.tfjs}); preferred: ${JSON.stringify(profile.kernels)}\n`);
console.log(rows.map((r) => r.map((cell, c) => (c >= 2 ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!))).join('  ')).join('\n'));
