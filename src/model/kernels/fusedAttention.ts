/**
 * Causal self-attention as one forward and one backward kernel per layer on the wasm
 * backend: wasm/attention.c, built with clang's wasm32 target and SIMD128 (wasm/build.sh),
 * instantiated on the memory of tfjs-backend-wasm's own module, so it reads qkv and
 * writes y, P and d(qkv) where tfjs keeps them. Same equations as ops.ts's
 * causalSelfAttention without attention dropout (the caller falls back to the
 * per-sequence layout when there is some); the masked half of every [T, T] product is
 * skipped. Deterministic: the same inputs give the same bits.
 *
 * Registered for the wasm backend only; `fusedAttentionReady()` says whether the current
 * backend can run it (the .wasm file found and compiled, the backend is wasm).
 */
import * as tf from '@tensorflow/tfjs';
import { readFileSync } from 'node:fs';
import { op } from './op.ts';

const FORWARD = 'ChinchillaAttentionForward';
const BACKWARD = 'ChinchillaAttentionBackward';

/** The parts of the WebAssembly JS API used here (the project's TypeScript lib has no DOM types). */
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: unknown };
}
const WA = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

/** The part of tfjs-backend-wasm's BackendWasm these kernels use. */
interface WasmBackend {
  wasm: { asm: { memory: object }; _malloc(bytes: number): number; _free(ptr: number): void };
  dataIdMap: { get(dataId: object): { memoryOffset: number } };
  makeOutput(shape: number[], dtype: 'float32'): tf.TensorInfo;
}

/** wasm/attention.c's exports (pointers are byte offsets into the backend's heap). */
interface AttentionExports {
  attn_work_floats(T: number, hd: number): number;
  attn_forward(qkv: number, y: number, p: number, work: number, B: number, T: number, H: number, hd: number): void;
  attn_backward(qkv: number, p: number, dy: number, dqkv: number, work: number, B: number, T: number, H: number, hd: number): void;
}

interface Attrs {
  B: number;
  T: number;
  H: number;
}

let compiled: object | null | undefined;

/** The compiled module, or null where the .wasm file is missing (a bundle that left it out). */
function attentionModule(): object | null {
  if (compiled === undefined) {
    try {
      compiled = new WA.Module(readFileSync(new URL('./wasm/attention.wasm', import.meta.url)));
    } catch {
      compiled = null;
    }
  }
  return compiled;
}

/** One instance per backend (each worker thread has its own backend and heap). */
const instances = new WeakMap<object, AttentionExports>();

function exportsFor(backend: WasmBackend): AttentionExports {
  let e = instances.get(backend);
  if (!e) {
    e = new WA.Instance(attentionModule()!, { env: { memory: backend.wasm.asm.memory } }).exports as unknown as AttentionExports;
    instances.set(backend, e);
  }
  return e;
}

const ptr = (backend: WasmBackend, t: tf.TensorInfo) => backend.dataIdMap.get(t.dataId).memoryOffset;

/** Runs `f` with `floats` of scratch from the backend's heap. */
function withWork<T>(backend: WasmBackend, floats: number, f: (work: number) => T): T {
  const work = backend.wasm._malloc(floats * 4);
  if (!work) throw new Error(`fused attention: cannot allocate ${(floats * 4) / 2 ** 20} MB of scratch on the wasm heap`);
  try {
    return f(work >>> 0);
  } finally {
    backend.wasm._free(work);
  }
}

function check(name: string, t: tf.TensorInfo, shape: number[]): void {
  if (t.dtype !== 'float32' || t.shape.join() !== shape.join()) {
    throw new Error(`fused attention: ${name} must be float32 [${shape.join(', ')}], got ${t.dtype} [${t.shape.join(', ')}]`);
  }
}

if (attentionModule() && !tf.getKernel(FORWARD, 'wasm')) {
  tf.registerKernel({
    kernelName: FORWARD,
    backendName: 'wasm',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const be = backend as unknown as WasmBackend;
      const { B, T, H } = attrs as unknown as Attrs;
      const qkv = inputs.qkv as tf.TensorInfo;
      const d = qkv.shape[1]! / 3, hd = d / H;
      check('qkv', qkv, [B * T, 3 * d]);
      const y = be.makeOutput([B * T, d], 'float32'); // [B·T, d]
      const p = be.makeOutput([B * H, T, T], 'float32'); // [B·H, T, T]
      const k = exportsFor(be);
      withWork(be, k.attn_work_floats(T, hd), (work) => k.attn_forward(ptr(be, qkv), ptr(be, y), ptr(be, p), work, B, T, H, hd));
      return [y, p];
    },
  });
  tf.registerKernel({
    kernelName: BACKWARD,
    backendName: 'wasm',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const be = backend as unknown as WasmBackend;
      const { B, T, H } = attrs as unknown as Attrs;
      const { qkv, p, dy } = inputs as Record<string, tf.TensorInfo>;
      const d = qkv!.shape[1]! / 3, hd = d / H;
      check('qkv', qkv!, [B * T, 3 * d]);
      check('p', p!, [B * H, T, T]);
      check('dy', dy!, [B * T, d]);
      const dqkv = be.makeOutput([B * T, 3 * d], 'float32'); // [B·T, 3d]
      const k = exportsFor(be);
      withWork(be, k.attn_work_floats(T, hd), (work) => k.attn_backward(ptr(be, qkv!), ptr(be, p!), ptr(be, dy!), ptr(be, dqkv), work, B, T, H, hd));
      return dqkv;
    },
  });
}

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
