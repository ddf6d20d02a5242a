/**
 * Identity on the wasm backend without a copy. tfjs's custom gradients save every tensor the
 * backward needs through clone(), i.e. the Identity kernel, and tfjs-backend-wasm's Identity
 * copies the whole buffer: for a GPT-2-vocabulary head that is the [rows, 50257] softmax,
 * 412 MB and 20 ms per micro-batch of 2,048 rows. Tensors are immutable, so the clone can share
 * the buffer under a reference count, as the backend's own Reshape and the cpu backend's
 * Identity already do. The same bits (nothing is computed). Installed by backend.ts once the
 * wasm backend is imported, with the project's own kernels (CHINCHILLA_WASM_KERNELS=0 keeps
 * tfjs's copying Identity).
 */
import * as tf from '@tensorflow/tfjs';

interface RefCounting {
  incRef(dataId: object): void;
}

let installed = false;

export function installSharingIdentity(): void {
  if (installed) return;
  installed = true;
  tf.unregisterKernel('Identity', 'wasm');
  tf.registerKernel({
    kernelName: 'Identity',
    backendName: 'wasm',
    kernelFunc: ({ inputs, backend }) => {
      const x = inputs.x as tf.TensorInfo;
      (backend as unknown as RefCounting).incRef(x.dataId);
      return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
    },
  });
}
