/**
 * Blocks of a tensor cut out inside the wasm heap: the consecutive, equal-sized
 * pieces of x's flat data at the given indices, each as its own [r, c] tensor.
 * One device-side copy per block, where reading x back to the host (dataSync)
 * and uploading each block again (tf.tensor2d) costs a host copy of x, one of
 * each block and an engine round trip per block (perSequenceAttention's
 * splitBlocks: ~13 ms of the 786k forward per layer on one core).
 *
 * Registered as a custom kernel for the wasm backend only; flatBlocks returns
 * null on other backends (the caller falls back to the host copy).
 */
import * as tf from '@tensorflow/tfjs';

const KERNEL = 'ChinchillaFlatBlocks';

/** The part of tfjs-backend-wasm's BackendWasm this kernel uses. */
interface WasmHeap {
  makeOutput(shape: number[], dtype: 'float32'): tf.TensorInfo;
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array;
}

interface FlatBlocksAttrs {
  shape: [number, number];
  indices: number[];
}

if (!tf.getKernel(KERNEL, 'wasm')) {
  tf.registerKernel({
    kernelName: KERNEL,
    backendName: 'wasm',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const heap = backend as unknown as WasmHeap;
      const x = inputs.x as tf.TensorInfo;
      const { shape, indices } = attrs as unknown as FlatBlocksAttrs;
      if (x.dtype !== 'float32') throw new Error(`${KERNEL}: float32 only, got ${x.dtype}`);
      const size = shape[0] * shape[1];
      // allocate every output first: a heap growth would detach views taken earlier
      const outs = indices.map(() => heap.makeOutput([...shape], 'float32'));
      const src = heap.typedArrayFromHeap(x);
      outs.forEach((o, j) => heap.typedArrayFromHeap(o).set(src.subarray(indices[j]! * size, (indices[j]! + 1) * size)));
      return outs;
    },
  });
}

/** Blocks `indices` of x's flat data as [r, c] tensors, or null where the backend has no such kernel. */
export function flatBlocks(x: tf.Tensor, shape: [number, number], indices: number[]): tf.Tensor2D[] | null {
  if (!tf.getKernel(KERNEL, tf.getBackend())) return null;
  const attrs = { shape, indices } as unknown as tf.NamedAttrMap;
  return tf.engine().runKernel(KERNEL, { x }, attrs) as unknown as tf.Tensor2D[];
}
