/**
 * The model's products as the project's own wasm kernels (wasm/products.c) on the wasm
 * backend: x·W (+ b), xᵀ·y and column sums, from the operands as they lie. XNNPACK's
 * product repacks its right operand on every call (here every weight changes every
 * step) and xᵀ·y needed a tiled transpose first; these were 1.1–1.6× faster on the
 * model's shapes (scripts/kernel-bench.ts) and gave the same bits. Sums run over k in
 * order, so the same inputs give the same bits. Where the native addon loads
 * (nativeKernels.ts: the same sums with 256/512-bit vectors, the same bits) it runs them
 * on the same heap instead. Registered for wasm only;
 * `wasmProductsReady()` says whether the current backend runs them.
 */
import * as tf from '@tensorflow/tfjs';
import { checkInput, heapOffset as ptr, keptScratch, nativeOn, registerWasmKernel, wasmKernelsFor } from './wasmKernels.ts';

const MATMUL = 'ChinchillaMatMul';
const MATMUL_TN = 'ChinchillaMatMulTN';
const COL_SUM = 'ChinchillaColSum';

registerWasmKernel(MATMUL, (be, { a, b, bias }) => {
  const [M, K] = a!.shape as [number, number];
  const N = b!.shape[1]!;
  checkInput(MATMUL, 'a', a!, [M, K]);
  checkInput(MATMUL, 'b', b!, [K, N]);
  if (bias) checkInput(MATMUL, 'bias', bias, [N]);
  const out = be.makeOutput([M, N], 'float32'); // [M, N]
  const n = nativeOn(be);
  if (n) {
    n.native.nn(n.heap, ptr(be, a!), ptr(be, b!), bias ? ptr(be, bias) : 0, ptr(be, out), M, K, N);
    return out;
  }
  const k = wasmKernelsFor(be);
  k.matmul_nn(ptr(be, a!), ptr(be, b!), bias ? ptr(be, bias) : 0, ptr(be, out), M, K, N, keptScratch(be, k.matmul_work_floats()));
  return out;
});

registerWasmKernel(MATMUL_TN, (be, { x, y }) => {
  const [K, M] = x!.shape as [number, number];
  const N = y!.shape[1]!;
  checkInput(MATMUL_TN, 'x', x!, [K, M]);
  checkInput(MATMUL_TN, 'y', y!, [K, N]);
  const out = be.makeOutput([M, N], 'float32'); // [M, N]
  const n = nativeOn(be);
  if (n) {
    n.native.tn(n.heap, ptr(be, x!), ptr(be, y!), ptr(be, out), K, M, N);
    return out;
  }
  const k = wasmKernelsFor(be);
  k.matmul_tn(ptr(be, x!), ptr(be, y!), ptr(be, out), K, M, N, keptScratch(be, k.matmul_work_floats()));
  return out;
});

registerWasmKernel(COL_SUM, (be, { x }) => {
  const [N, n] = x!.shape as [number, number];
  checkInput(COL_SUM, 'x', x!, [N, n]);
  const out = be.makeOutput([n], 'float32'); // [n]
  wasmKernelsFor(be).col_sum(ptr(be, x!), ptr(be, out), N, n);
  return out;
});

/** Whether the current backend runs these kernels. */
export function wasmProductsReady(): boolean {
  return !!tf.getKernel(MATMUL_TN, tf.getBackend());
}

/** a·b (+ bias on every row) for a [M, K], b [K, N], bias [N] -> [M, N] (no gradient: the ops that use it have their own). */
export function wasmMatMul(a: tf.Tensor2D, b: tf.Tensor2D, bias: tf.Tensor1D | null = null): tf.Tensor2D {
  return tf.engine().runKernel(MATMUL, bias ? { a, b, bias } : { a, b }) as tf.Tensor2D;
}

/** xᵀ·y for x [K, M], y [K, N] -> [M, N] (no gradient: used inside backward passes). */
export function wasmMatMulTN(x: tf.Tensor2D, y: tf.Tensor2D): tf.Tensor2D {
  return tf.engine().runKernel(MATMUL_TN, { x, y }) as tf.Tensor2D;
}

/** Column sums of x [N, n] -> [n]. */
export function wasmColSum(x: tf.Tensor2D): tf.Tensor1D {
  return tf.engine().runKernel(COL_SUM, { x }) as tf.Tensor1D;
}
