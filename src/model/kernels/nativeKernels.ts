/**
 * The native kernels (native/products.c and pointwise.c, built by native/build.mjs into
 * build/native/chinchilla-native.node at `npm ci`): the wasm backend's x·W (+ b), xᵀ·y,
 * GELU and row-softmax kernels call them on the wasm heap where the addon loads. On CPUs with 256- or 512-bit
 * vectors they run 2–3× faster than the 128-bit wasm kernels, with the same bits (the same
 * float32 operations in the same order: products sum k in order, without fused
 * multiply-adds), so a run's numbers do not depend on which ran.
 * Off where the addon is missing (no compiler at install, a bundle, a browser) or with
 * CHINCHILLA_NATIVE=0.
 */
import { createRequire } from 'node:module';

/** The addon's exports; pointers are byte offsets into `heap`. */
export interface NativeKernels {
  nn(heap: ArrayBuffer, a: number, b: number, bias: number, c: number, M: number, K: number, N: number): void;
  tn(heap: ArrayBuffer, a: number, b: number, c: number, K: number, M: number, N: number): void;
  geluForward(heap: ArrayBuffer, x: number, y: number, n: number): void;
  geluBackward(heap: ArrayBuffer, x: number, dy: number, dx: number, n: number): void;
  softmaxRows(heap: ArrayBuffer, x: number, y: number, N: number, V: number): void;
  /** "avx512", "avx2" or "generic": the vector width this CPU runs */
  variant(): string;
}

/** Where build.mjs writes the addon (the repository's build/ folder). */
export const NATIVE_ADDON = new URL('../../../build/native/chinchilla-native.node', import.meta.url);

let loaded: NativeKernels | null | undefined;
let failure = '';

/** The addon, or null (then `nativeKernelsStatus()` says why). */
export function nativeKernels(): NativeKernels | null {
  if (loaded === undefined) {
    if (process.env.CHINCHILLA_NATIVE === '0') {
      failure = 'off (CHINCHILLA_NATIVE=0)';
      return (loaded = null);
    }
    try {
      loaded = createRequire(import.meta.url)(NATIVE_ADDON.pathname) as NativeKernels;
    } catch (e) {
      failure = `not loaded (${(e as Error).message.split('\n')[0]}); build it with: node src/model/kernels/native/build.mjs`;
      loaded = null;
    }
  }
  return loaded;
}

/** For bench and run.json's device: "products, GELU and softmax native avx512", or why the native kernels are not running. */
export function nativeKernelsStatus(): string {
  const n = nativeKernels();
  return n ? `products, GELU and softmax native ${n.variant()}` : `native kernels ${failure}`;
}
