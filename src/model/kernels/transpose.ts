/**
 * Layout-dependent forms of transpose, column sum and row gather (see layouts.ts):
 * the same numbers up to float rounding, computed the way the backend runs fastest.
 *
 * On wasm the products run as the project's own kernels (wasmProducts.ts: a·b, aᵀ·b
 * and column sums, no transposes). Without them (CHINCHILLA_WASM_KERNELS=0, or a
 * bundle that left kernels.wasm out) the products are plain 2-D a·b with both operands
 * untransposed: tfjs's wasm backend runs exactly that case through XNNPACK (~30 GFLOP/s
 * on one core) and every transposed or batched matMul through a naive loop (1–2
 * GFLOP/s). XNNPACK first repacks b (the "weights"), which costs about as much per
 * element as a transpose; so a product over the N = B·T rows transposes the wider
 * operand and packs the narrower one. Attention's per-head products are laid out the
 * same way.
 *
 * How a few layout-heavy steps are best expressed depends on the backend's kernels:
 * layouts.ts says which form to use (measured there).
 */
import * as tf from '@tensorflow/tfjs';
import { activeKernelLayouts } from './layouts.ts';
import { wasmColSum, wasmMatMul, wasmMatMulTN, wasmProductsReady } from './wasmProducts.ts';

/**
 * Up to this many elements wasm's plain 2-D transpose beats the tiles (one core, median
 * of 100: [64, 64] 5 vs 14 µs, [64, 128] 8 vs 22 µs, [2048, 8] 8 vs 25 µs; at
 * [128, 128] a tie, 46 vs 34–60 µs; from [2048, 32] on the plain one is 5–9× slower).
 */
const PLAIN_TRANSPOSE_MAX = 16384;

/** xᵀ for x [r, c]; through b×b tiles (b = 32, 16 or 8 dividing r and c) where that is faster. */
export function transpose2d(x: tf.Tensor2D): tf.Tensor2D {
  const [r, c] = x.shape;
  const tiled = activeKernelLayouts().tiledTranspose && r * c > PLAIN_TRANSPOSE_MAX;
  const b = tiled ? [32, 16, 8].find((b) => r % b === 0 && c % b === 0) : undefined;
  if (b === undefined) return tf.transpose(x);
  return tf.tidy(() => {
    // [r/b, b, c/b, b] -> [c/b, r/b, b, b]: tile (j, i) transposed in place
    const tiles = tf.transpose(tf.reshape(x, [r / b, b, c / b, b]), [2, 0, 3, 1]);
    // [c/b, r/b, b, b] -> [c/b, b, r/b, b] = [c, r]
    return tf.reshape(tf.transpose(tiles, [0, 2, 1, 3]), [c, r]) as tf.Tensor2D;
  });
}

/**
 * xᵀ·y for x [N, m], y [N, n] -> [m, n]: one kernel on wasm (wasmProducts.ts); elsewhere
 * transposes the wider of x, y and packs the narrower.
 */
export function matMulTN(x: tf.Tensor2D, y: tf.Tensor2D): tf.Tensor2D {
  if (wasmProductsReady()) return wasmMatMulTN(x, y);
  return tf.tidy(() =>
    x.shape[1] >= y.shape[1]
      ? tf.matMul(transpose2d(x), y)
      : tf.transpose(tf.matMul(transpose2d(y), x)), // (yᵀ·x)ᵀ, a small [n, m] transpose
  );
}

/** a·b (+ bias on every row) for a [N, k], b [k, n], bias [n]: one kernel on wasm (wasmProducts.ts), else tfjs's. */
export function matMul(a: tf.Tensor2D, b: tf.Tensor2D, bias: tf.Tensor1D | null = null): tf.Tensor2D {
  if (wasmProductsReady()) return wasmMatMul(a, b, bias);
  return bias ? (tf.fused.matMul({ a, b, bias }) as tf.Tensor2D) : tf.matMul(a, b);
}

/** x·Wᵀ for x [N, k], W [n, k] -> [N, n]. */
export function matMulNT(x: tf.Tensor2D, w: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => matMul(x, tf.transpose(w)));
}

/**
 * Column sums of x [N, n] -> [n]: one kernel on wasm (wasmProducts.ts); elsewhere as a
 * product (a sum over axis 0 was 2–4× slower on wasm): xᵀ·1 where transposes are tiled,
 * else 1ᵀ·x.
 */
export function colSum(x: tf.Tensor2D): tf.Tensor1D {
  if (wasmProductsReady()) return wasmColSum(x);
  const [N, n] = x.shape;
  return tf.tidy(() =>
    tf.reshape(activeKernelLayouts().tiledTranspose ? tf.matMul(transpose2d(x), tf.ones([N, 1])) : tf.matMul(tf.ones([1, N]), x), [n]),
  );
}

/** Rows `ids` of table [V, d] -> [N, d] (tf.gather, or copied on the host where that is faster). */
export function gatherRows(table: tf.Tensor2D, ids: tf.Tensor1D): tf.Tensor2D {
  if (!activeKernelLayouts().hostGather) return tf.gather(table, ids) as tf.Tensor2D;
  const [V, d] = table.shape;
  const t = table.dataSync() as Float32Array;
  const idx = ids.dataSync();
  const out = new Float32Array(idx.length * d);
  for (let i = 0; i < idx.length; i++) {
    const r = idx[i]!;
    if (!(r >= 0 && r < V)) throw new RangeError(`gather: index ${r} is not in [0, ${V - 1}]`);
    out.set(t.subarray(r * d, r * d + d), i * d);
  }
  return tf.tensor2d(out, [idx.length, d]);
}
