/**
 * The backend profile's shape (src/backend.ts builds it: the only module that
 * knows which backend runs). Types only, kept apart so backend.ts stays short.
 */
import type { KernelLayouts } from './model/kernels/layouts.ts';

export type BackendName = 'tensorflow-gpu' | 'webgpu' | 'tensorflow' | 'wasm' | 'cpu';

export interface BackendAttempt {
  backend: BackendName;
  ok: boolean;
  /** Why it was used or passed over, e.g. 'module @tensorflow/tfjs-node-gpu not installed'. */
  reason: string;
  /** What the user can do to get this backend. */
  fix?: string;
}

/**
 * What the rest of the project needs to know about the backend that runs, so
 * that no other module tests a backend's name. Passed explicitly to the model
 * (kernels), the trainer, the sweep and bench.
 */
export interface BackendProfile {
  name: BackendName;
  /** Name of the registered tfjs backend ('tensorflow', 'wasm', 'cpu'). */
  tfBackend: string;
  /** Human description of what executes the kernels. */
  device: string;
  /** Every backend tried, with why it was used or passed over. */
  attempts: BackendAttempt[];
  /** Worker threads of the wasm backend (1 under Node: tfjs has no threaded wasm in Node). */
  threads?: number;
  /** Which form of the layout-heavy ops the model uses (src/model/kernels/layouts.ts). */
  kernels: KernelLayouts;
  /**
   * Bytes one forward+backward pass may use (picks the micro-batch). The wasm heap tops
   * out between 2.5 and 3.5 GB and overflowing it shows up as "memory access out of
   * bounds", so wasm gets 1.5 GB, leaving room for weights, Adam moments, accumulated
   * gradients and fragmentation. A GPU gets a share of a 16 GB card.
   */
  memoryBudgetBytes: number;
  /**
   * Data-parallel worker threads for 'auto': one per core on the backends whose kernels
   * run on a single core (wasm — tfjs runs it single-threaded under Node — and the
   * pure-JS cpu backend); 1 on tensorflow-gpu (one device) and on tensorflow
   * (libtensorflow already spreads every op over all cores).
   */
  defaultWorkers: number;
  /** The kernels run on a GPU (not on a software rasteriser or the CPU). */
  onGpu: boolean;
  /** Same seed, config and worker count give bit-identical numbers (deterministic kernels). */
  bitReproducible: boolean;
  /** Tensors can be read back synchronously (dataSync); the training path never relies on it. */
  syncReadback: boolean;
  /** Largest tensor one kernel may bind, where the backend limits it (webgpu); the loss chunks its logits to fit. */
  maxTensorBytes?: number;
  /** The libtensorflow npm package behind the backend (tensorflow, tensorflow-gpu), for its native extras (summary writer). */
  nativeModule?: string;
}
