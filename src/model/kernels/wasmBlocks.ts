/**
 * Pieces of a tensor's flat data copied out inside the wasm heap, each as its own
 * tensor: one device-side copy per piece, where reading x back to the host
 * (dataSync; wasm's tf.slice does the same for every slice) and uploading each
 * piece again costs a host copy of x, one of each piece and an engine round trip
 * per piece. Used by perSequenceAttention's splitBlocks (the 786k step on one
 * core: 2,304 -> 2,041 ms) and by the optimizer's flat update (train/adamw.ts).
 *
 * Registered as a custom kernel for the wasm backend only; on other backends
 * flatBlocks returns null (the caller copies on the host) and splitFlat uses tf.split.
 */
import * as tf from '@tensorflow/tfjs';

const KERNEL = 'ChinchillaCopyOut';

/** The part of tfjs-backend-wasm's BackendWasm this kernel uses. */
interface WasmHeap {
  makeOutput(shape: number[], dtype: 'float32'): tf.TensorInfo;
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array;
}

interface CopyOutAttrs {
  /** flat offset of each piece in x */
  offsets: number[];
  /** shape of each piece */
  shapes: number[][];
}

const sizeOf = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

if (!tf.getKernel(KERNEL, 'wasm')) {
  tf.registerKernel({
    kernelName: KERNEL,
    backendName: 'wasm',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const heap = backend as unknown as WasmHeap;
      const x = inputs.x as tf.TensorInfo;
      const { offsets, shapes } = attrs as unknown as CopyOutAttrs;
      if (x.dtype !== 'float32') throw new Error(`${KERNEL}: float32 only, got ${x.dtype}`);
      // allocate every output first: a heap growth would detach views taken earlier
      const outs = shapes.map((s) => heap.makeOutput([...s], 'float32'));
      const src = heap.typedArrayFromHeap(x);
      outs.forEach((o, j) => heap.typedArrayFromHeap(o).set(src.subarray(offsets[j]!, offsets[j]! + sizeOf(shapes[j]!))));
      return outs;
    },
  });
}

function copyOut(x: tf.Tensor, offsets: number[], shapes: number[][]): tf.Tensor[] {
  const attrs = { offsets, shapes } as unknown as tf.NamedAttrMap;
  return tf.engine().runKernel(KERNEL, { x }, attrs) as unknown as tf.Tensor[];
}

const onHeap = () => !!tf.getKernel(KERNEL, tf.getBackend());

/** Blocks `indices` of x's flat data as [r, c] tensors, or null where the backend has no such kernel. */
export function flatBlocks(x: tf.Tensor, shape: [number, number], indices: number[]): tf.Tensor2D[] | null {
  if (!onHeap()) return null;
  return copyOut(x, indices.map((i) => i * shape[0] * shape[1]), indices.map(() => shape)) as tf.Tensor2D[];
}

/** The consecutive pieces of a flat x with the given shapes (their sizes add up to x's). */
export function splitFlat(x: tf.Tensor1D, shapes: number[][]): tf.Tensor[] {
  const sizes = shapes.map(sizeOf);
  if (sizes.reduce((a, b) => a + b, 0) !== x.size) throw new RangeError(`splitFlat: pieces of ${sizes.reduce((a, b) => a + b, 0)} elements from ${x.size}`);
  if (onHeap()) {
    const offsets = sizes.map((_, i) => sizes.slice(0, i).reduce((a, b) => a + b, 0));
    return copyOut(x, offsets, shapes);
  }
  return tf.tidy(() => tf.split(x, sizes).map((t, i) => tf.reshape(t, shapes[i]!)));
}
