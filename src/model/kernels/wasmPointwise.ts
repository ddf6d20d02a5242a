/**
 * LayerNorm and GELU as one wasm kernel per direction, and the output head's row softmax
 * (wasm/pointwise.c) on the wasm
 * backend, where ops.ts builds each from 6–12 tfjs kernels (each a pass over [N, d] and
 * a dispatch: most of a tiny model's step). Same equations as ops.ts's layerNorm and
 * gelu; LayerNorm saves xhat and rstd as there, GELU saves only x (its backward
 * recomputes σ). GELU runs as native code where the addon loads (nativeKernels.ts: the
 * same operations with wider vectors, the same bits). Registered for wasm only; `wasmPointwiseReady()` says whether the
 * current backend runs them.
 */
import * as tf from '@tensorflow/tfjs';
import { op } from './op.ts';
import { checkInput, heapOffset as ptr, nativeOn, registerWasmKernel, wasmKernelsFor } from './wasmKernels.ts';

const LN_FORWARD = 'ChinchillaLayerNormForward';
const LN_BACKWARD = 'ChinchillaLayerNormBackward';
const GELU_FORWARD = 'ChinchillaGeluForward';
const GELU_BACKWARD = 'ChinchillaGeluBackward';
const SOFTMAX = 'ChinchillaSoftmax';

/** LayerNorm's eps (forward) and whether it has a bias, i.e. computes db (backward). */
const register = registerWasmKernel<{ eps?: number; hasBias?: boolean }>;

register(LN_FORWARD, (be, { x, g, b }, { eps }) => {
  const [N, d] = x!.shape as [number, number];
  checkInput(LN_FORWARD, 'x', x!, [N, d]);
  checkInput(LN_FORWARD, 'g', g!, [d]);
  if (b) checkInput(LN_FORWARD, 'b', b, [d]);
  const [y, xhat, rstd] = [be.makeOutput([N, d], 'float32'), be.makeOutput([N, d], 'float32'), be.makeOutput([N], 'float32')];
  wasmKernelsFor(be).layernorm_forward(ptr(be, x!), ptr(be, g!), b ? ptr(be, b) : 0, ptr(be, y), ptr(be, xhat), ptr(be, rstd), N, d, eps!);
  return [y, xhat, rstd];
});
register(LN_BACKWARD, (be, { dy, xhat, rstd, g }, { hasBias }) => {
  const [N, d] = dy!.shape as [number, number];
  checkInput(LN_BACKWARD, 'dy', dy!, [N, d]);
  checkInput(LN_BACKWARD, 'xhat', xhat!, [N, d]);
  checkInput(LN_BACKWARD, 'rstd', rstd!, [N]);
  checkInput(LN_BACKWARD, 'g', g!, [d]);
  const [dx, dg] = [be.makeOutput([N, d], 'float32'), be.makeOutput([d], 'float32')];
  const db = hasBias ? be.makeOutput([d], 'float32') : null;
  wasmKernelsFor(be).layernorm_backward(ptr(be, dy!), ptr(be, xhat!), ptr(be, rstd!), ptr(be, g!), ptr(be, dx), ptr(be, dg), db ? ptr(be, db) : 0, N, d);
  return db ? [dx, dg, db] : [dx, dg];
});
register(GELU_FORWARD, (be, { x }) => {
  checkInput(GELU_FORWARD, 'x', x!, x!.shape);
  const y = be.makeOutput([...x!.shape], 'float32');
  const n = tf.util.sizeFromShape(x!.shape), on = nativeOn(be);
  if (on) on.native.geluForward(on.heap, ptr(be, x!), ptr(be, y), n);
  else wasmKernelsFor(be).gelu_forward(ptr(be, x!), ptr(be, y), n);
  return y;
});
register(GELU_BACKWARD, (be, { x, dy }) => {
  checkInput(GELU_BACKWARD, 'dy', dy!, x!.shape);
  const dx = be.makeOutput([...x!.shape], 'float32');
  const n = tf.util.sizeFromShape(x!.shape), on = nativeOn(be);
  if (on) on.native.geluBackward(on.heap, ptr(be, x!), ptr(be, dy!), ptr(be, dx), n);
  else wasmKernelsFor(be).gelu_backward(ptr(be, x!), ptr(be, dy!), ptr(be, dx), n);
  return dx;
});

register(SOFTMAX, (be, { x }) => {
  const [N, V] = x!.shape as [number, number];
  checkInput(SOFTMAX, 'x', x!, [N, V]);
  const y = be.makeOutput([N, V], 'float32');
  const on = nativeOn(be);
  if (on) on.native.softmaxRows(on.heap, ptr(be, x!), ptr(be, y), N, V);
  else wasmKernelsFor(be).softmax_rows(ptr(be, x!), ptr(be, y), N, V);
  return y;
});

/** Whether the current backend runs these kernels. */
export function wasmPointwiseReady(): boolean {
  return !!tf.getKernel(LN_FORWARD, tf.getBackend());
}

const run = (name: string, inputs: tf.NamedTensorMap, attrs: object = {}) => tf.engine().runKernel(name, inputs, attrs as tf.NamedAttrMap);

/** LayerNorm over the last axis of x [N, d] (see ops.ts's layerNorm). */
export function wasmLayerNorm(x: tf.Tensor2D, g: tf.Tensor1D, b: tf.Tensor1D | null, eps: number): tf.Tensor2D {
  const f = op<tf.Tensor2D>(([x, g, b], save) => {
    const [y, xhat, rstd] = run(LN_FORWARD, b ? { x: x!, g: g!, b } : { x: x!, g: g! }, { eps }) as tf.Tensor[];
    save([xhat!, rstd!, g!]);
    return {
      value: y as tf.Tensor2D,
      gradFunc: (dy, [xhat, rstd, g]) => run(LN_BACKWARD, { dy, xhat: xhat!, rstd: rstd!, g: g! }, { hasBias: !!b }) as tf.Tensor[],
    };
  });
  return b ? f(x, g, b) : f(x, g);
}

/** GELU in GPT-2's tanh form (see ops.ts's gelu). */
export function wasmGelu(x: tf.Tensor2D): tf.Tensor2D {
  const f = op<tf.Tensor2D>(([x], save) => {
    save([x!]);
    return {
      value: run(GELU_FORWARD, { x: x! }) as tf.Tensor2D,
      gradFunc: (dy, [x]) => [run(GELU_BACKWARD, { x: x!, dy }) as tf.Tensor2D],
    };
  });
  return f(x);
}

/** Softmax over the last axis of x [N, V] (no gradient: the output head has its own, ops.ts's headCrossEntropy). */
export function wasmSoftmax(x: tf.Tensor2D): tf.Tensor2D {
  return run(SOFTMAX, { x }) as tf.Tensor2D;
}
