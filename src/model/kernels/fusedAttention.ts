/**
 * Causal self-attention as one forward and one backward kernel per layer on the wasm
 * backend: wasm/attention.c, built with clang's wasm32 target and SIMD128 (wasm/build.sh),
 * run on the memory of tfjs-backend-wasm's own module (wasmKernels.ts), so it reads qkv
 * and writes y, P and d(qkv) where tfjs keeps them. Same equations as ops.ts's
 * causalSelfAttention without attention dropout (the caller falls back to the
 * per-sequence layout when there is some); the masked half of every [T, T] product is
 * skipped. Deterministic: the same inputs give the same bits.
 *
 * Registered for the wasm backend only; `fusedAttentionReady()` says whether the current
 * backend can run it (the .wasm file found and compiled, the backend is wasm).
 */
import * as tf from '@tensorflow/tfjs';
import { op } from './op.ts';
import { checkInput, heapOffset as ptr, registerWasmKernel, wasmKernelsFor, withScratch } from './wasmKernels.ts';

const FORWARD = 'ChinchillaAttentionForward';
const BACKWARD = 'ChinchillaAttentionBackward';

interface Attrs {
  B: number;
  T: number;
  H: number;
}

const check = (name: string, t: tf.TensorInfo, shape: number[]) => checkInput('fused attention', name, t, shape);

registerWasmKernel<Attrs>(FORWARD, (be, { qkv }, { B, T, H }) => {
  const d = qkv!.shape[1]! / 3, hd = d / H;
  check('qkv', qkv!, [B * T, 3 * d]);
  const y = be.makeOutput([B * T, d], 'float32'); // [B·T, d]
  const p = be.makeOutput([B * H, T, T], 'float32'); // [B·H, T, T]
  const k = wasmKernelsFor(be);
  withScratch(be, k.attn_work_floats(T, hd), (work) => k.attn_forward(ptr(be, qkv!), ptr(be, y), ptr(be, p), work, B, T, H, hd));
  return [y, p];
});

registerWasmKernel<Attrs>(BACKWARD, (be, { qkv, p, dy }, { B, T, H }) => {
  const d = qkv!.shape[1]! / 3, hd = d / H;
  check('qkv', qkv!, [B * T, 3 * d]);
  check('p', p!, [B * H, T, T]);
  check('dy', dy!, [B * T, d]);
  const dqkv = be.makeOutput([B * T, 3 * d], 'float32'); // [B·T, 3d]
  const k = wasmKernelsFor(be);
  withScratch(be, k.attn_work_floats(T, hd), (work) => k.attn_backward(ptr(be, qkv!), ptr(be, p!), ptr(be, dy!), ptr(be, dqkv), work, B, T, H, hd));
  return dqkv;
});

/** Whether the current backend runs the fused kernels. */
export function fusedAttentionReady(): boolean {
  return !!tf.getKernel(FORWARD, tf.getBackend());
}

/**
 * qkv [B·T, 3d] -> y [B·T, d] through the fused kernels; saves qkv and P [B·H, T, T]
 * (as the per-sequence layout does). No attention dropout.
 */
export function fusedAttention(qkv: tf.Tensor2D, B: number, T: number, H: number): tf.Tensor2D {
  const attrs = { B, T, H } as unknown as tf.NamedAttrMap;
  const f = op<tf.Tensor2D>(([qkv], save) => {
    const [y, p] = tf.engine().runKernel(FORWARD, { qkv: qkv! }, attrs) as unknown as [tf.Tensor2D, tf.Tensor3D];
    save([qkv!, p!]);
    return {
      value: y!,
      gradFunc: (dy, [qkv, p]) => [tf.engine().runKernel(BACKWARD, { qkv: qkv!, p: p!, dy }, attrs) as tf.Tensor2D],
    };
  });
  return f(qkv);
}
