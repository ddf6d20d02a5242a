/**
 * One AdamW update of one parameter tensor as a single wasm kernel (wasm/adamw.c) on the
 * wasm backend, where train/adamw.ts runs ~15 tfjs kernels per group of tensors and cuts
 * the results back out. Same float32 operations in the same order, so the same bits
 * (test/wasm-ops.test.ts compares it with the tfjs update). Registered for wasm only;
 * `wasmAdamWReady()` says whether the current backend runs it.
 */
import * as tf from '@tensorflow/tfjs';
import { checkInput, heapOffset as ptr, registerWasmKernel, wasmKernelsFor } from './wasmKernels.ts';

const ADAMW = 'ChinchillaAdamW';

/** The update's scalars (JS numbers; the kernel receives them rounded to float32, as tfjs scalars are). */
export interface AdamWScalars {
  beta1: number;
  beta2: number;
  /** bias corrections 1 − β1^t, 1 − β2^t */
  bc1: number;
  bc2: number;
  eps: number;
  lr: number;
  /** 1 − lr·wd where weight decay applies, else 1 */
  decay: number;
}

registerWasmKernel<AdamWScalars>(ADAMW, (be, { p, g, m, v }, a) => {
  for (const [name, t] of [['p', p], ['g', g], ['m', m], ['v', v]] as const) checkInput(ADAMW, name, t!, p!.shape);
  const outs = [p!, m!, v!].map((t) => be.makeOutput([...t.shape], 'float32'));
  const n = tf.util.sizeFromShape(p!.shape);
  wasmKernelsFor(be).adamw_update(
    ptr(be, p!), ptr(be, g!), ptr(be, m!), ptr(be, v!), ptr(be, outs[0]!), ptr(be, outs[1]!), ptr(be, outs[2]!), n,
    a.beta1, 1 - a.beta1, a.beta2, 1 - a.beta2, a.bc1, a.bc2, a.eps, a.lr, a.decay,
  );
  return outs;
});

/** Whether the current backend runs the kernel. */
export function wasmAdamWReady(): boolean {
  return !!tf.getKernel(ADAMW, tf.getBackend());
}

/** The updated [p, m, v] of one tensor (new tensors; the caller assigns them). */
export function wasmAdamW(p: tf.Tensor, g: tf.Tensor, m: tf.Tensor, v: tf.Tensor, s: AdamWScalars): [tf.Tensor, tf.Tensor, tf.Tensor] {
  return tf.engine().runKernel(ADAMW, { p, g, m, v }, s as unknown as tf.NamedAttrMap) as unknown as [tf.Tensor, tf.Tensor, tf.Tensor];
}
