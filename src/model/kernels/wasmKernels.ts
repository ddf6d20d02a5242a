/**
 * The project's own wasm kernels (wasm/*.c, built into wasm/kernels.wasm by wasm/build.sh),
 * instantiated once per tfjs-backend-wasm backend on that backend's own memory, so that
 * they read and write tensors where tfjs keeps them: a tensor is a byte offset into the
 * heap (its memoryOffset), scratch comes from the heap's malloc. Node only (the file is
 * read with fs); where it is missing (a bundle that left it out) `wasmKernelsFor` gives
 * null and the callers keep the tfjs kernels.
 */
import * as tf from '@tensorflow/tfjs';
import { readFileSync } from 'node:fs';
import { nativeKernels, type NativeKernels } from './nativeKernels.ts';

/** The parts of the WebAssembly JS API used here (the project's TypeScript lib has no DOM types). */
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: unknown };
}
const WA = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

/** The part of tfjs-backend-wasm's BackendWasm the kernels use. */
export interface WasmBackend {
  wasm: { asm: { memory: { buffer: ArrayBuffer } }; _malloc(bytes: number): number; _free(ptr: number): void };
  dataIdMap: { get(dataId: object): { memoryOffset: number } };
  makeOutput(shape: number[], dtype: 'float32'): tf.TensorInfo;
}

/** kernels.wasm's exports; pointers are byte offsets into the backend's heap. */
export interface WasmKernels {
  attn_work_floats(T: number, hd: number): number;
  attn_forward(qkv: number, y: number, p: number, work: number, B: number, T: number, H: number, hd: number): void;
  attn_backward(qkv: number, p: number, dy: number, dqkv: number, work: number, B: number, T: number, H: number, hd: number): void;
  matmul_work_floats(): number;
  matmul_tn(a: number, b: number, c: number, K: number, M: number, N: number, work: number): void;
  matmul_nn(a: number, b: number, bias: number, c: number, M: number, K: number, N: number, work: number): void;
  col_sum(x: number, out: number, N: number, n: number): void;
  layernorm_forward(x: number, g: number, b: number, y: number, xhat: number, rstd: number, N: number, d: number, eps: number): void;
  layernorm_backward(dy: number, xhat: number, rstd: number, g: number, dx: number, dg: number, db: number, N: number, d: number): void;
  gelu_forward(x: number, y: number, n: number): void;
  gelu_backward(x: number, dy: number, dx: number, n: number): void;
  softmax_rows(x: number, y: number, N: number, V: number): void;
  adamw_update(
    p: number, g: number, m: number, v: number, pOut: number, mOut: number, vOut: number, n: number,
    beta1: number, oneMinusBeta1: number, beta2: number, oneMinusBeta2: number, bc1: number, bc2: number, eps: number, lr: number, decay: number,
  ): void;
}

let compiled: object | null | undefined;

/**
 * The compiled module, or null where kernels.wasm is missing or CHINCHILLA_WASM_KERNELS=0
 * turns the kernels off (tfjs's own kernels then run everything, slower: a way to rule
 * them out when something looks wrong).
 */
export function kernelsModule(): object | null {
  if (compiled === undefined) {
    if (process.env.CHINCHILLA_WASM_KERNELS === '0') return (compiled = null);
    try {
      compiled = new WA.Module(readFileSync(new URL('./wasm/kernels.wasm', import.meta.url)));
    } catch {
      compiled = null;
    }
  }
  return compiled;
}

/** One instance per backend (each worker thread has its own backend and heap). */
const instances = new WeakMap<object, WasmKernels>();

export function wasmKernelsFor(backend: WasmBackend): WasmKernels {
  let e = instances.get(backend);
  if (!e) {
    e = new WA.Instance(kernelsModule()!, { env: { memory: backend.wasm.asm.memory } }).exports as unknown as WasmKernels;
    instances.set(backend, e);
  }
  return e;
}

/** Inputs of a kernel by name (optional ones may be missing). */
export type KernelInputs = Record<string, tf.TensorInfo | undefined>;

/**
 * Registers `f` as tfjs kernel `name` for the wasm backend, where kernels.wasm is there
 * and the kernel is not registered yet (module reloads, several importers).
 */
export function registerWasmKernel<A>(name: string, f: (backend: WasmBackend, inputs: KernelInputs, attrs: A) => tf.TensorInfo | tf.TensorInfo[]): void {
  if (!kernelsModule() || tf.getKernel(name, 'wasm')) return;
  tf.registerKernel({
    kernelName: name,
    backendName: 'wasm',
    kernelFunc: ({ inputs, backend, attrs }) => f(backend as unknown as WasmBackend, inputs as KernelInputs, attrs as unknown as A),
  });
}

/** A tensor's byte offset in the heap. */
export const heapOffset = (backend: WasmBackend, t: tf.TensorInfo): number => backend.dataIdMap.get(t.dataId).memoryOffset;

/** A scratch buffer of `floats` kept for the backend's lifetime (the products' packed panels). */
const kept = new WeakMap<object, Map<number, number>>();
export function keptScratch(backend: WasmBackend, floats: number): number {
  let m = kept.get(backend);
  if (!m) kept.set(backend, (m = new Map()));
  let p = m.get(floats);
  if (p === undefined) {
    p = backend.wasm._malloc(floats * 4) >>> 0;
    if (!p) throw new Error(`wasm kernels: cannot allocate ${((floats * 4) / 2 ** 20).toFixed(1)} MB of scratch on the wasm heap`);
    m.set(floats, p);
  }
  return p;
}

/** Runs `f` with `floats` of scratch from the backend's heap. */
export function withScratch<T>(backend: WasmBackend, floats: number, f: (work: number) => T): T {
  const work = backend.wasm._malloc(floats * 4);
  if (!work) throw new Error(`wasm kernels: cannot allocate ${((floats * 4) / 2 ** 20).toFixed(1)} MB of scratch on the wasm heap`);
  try {
    return f(work >>> 0);
  } finally {
    backend.wasm._free(work);
  }
}

/** Throws unless t is float32 with this shape (the kernels trust their inputs' layout). */
export function checkInput(kernel: string, name: string, t: tf.TensorInfo, shape: number[]): void {
  if (t.dtype !== 'float32' || t.shape.join() !== shape.join()) {
    throw new Error(`${kernel}: ${name} must be float32 [${shape.join(', ')}], got ${t.dtype} [${t.shape.join(', ')}]`);
  }
}

/**
 * The native kernels and the heap to hand them, where they can run on this backend: the addon
 * loaded and the heap is a plain ArrayBuffer (a threaded tfjs-backend-wasm build would give a
 * SharedArrayBuffer, which the addon refuses; then the wasm kernels run).
 */
export function nativeOn(backend: WasmBackend): { native: NativeKernels; heap: ArrayBuffer } | null {
  const native = nativeKernels();
  const heap = backend.wasm.asm.memory.buffer;
  return native && heap instanceof ArrayBuffer ? { native, heap } : null;
}
