/**
 * Which form of a few layout-heavy ops runs fastest on a backend, so that the
 * model hits its fast kernels without knowing which backend runs. The backend
 * profile (src/backend.ts) says which layouts to use; the model installs its
 * layouts (GPTOptions.kernels) before it builds ops, and each op reads them once
 * when it is built (its backward uses the same ones).
 *
 * Measured with scripts/kernel-bench.ts (786k shapes, one core, 4096 rows):
 *   attention       per-sequence 2-D blocks vs batched [B·H, T, hd] products: fwd+bwd of
 *                   a layer for 16 sequences on wasm 87 vs 601 ms; on cpu the batched
 *                   form is ~10 % faster (2.0 vs 2.3 s for 8 sequences). 'fused': one
 *                   wasm SIMD kernel per layer and direction (fusedAttention.ts), wasm only,
 *                   without attention dropout (with some, the per-sequence layout runs)
 *   tiledTranspose  wasm's 2-D transpose writes with a stride of one row (0.15 G
 *                   elements/s); through 32×32 tiles (two 4-D transposes) 0.35–0.8 G/s.
 *                   On cpu the tiles are 3–4× slower.
 *   hostGather      wasm's GatherV2 takes 17 ms for 4096 rows of 128; copying the rows
 *                   on the host 1.5 ms (a synchronous read-back: only for backends that have one).
 *   targetGather    the loss's P[i, t_i]: one flat gather at row·V + t_i, or a gather along the
 *                   vocabulary with one index per row (batchDims 1). tfjs-webgpu reads gather
 *                   indices as float32, exact only below 2^24 (a flat index over 512 rows of
 *                   GPT-2's 50257 tokens is 25.7M), so webgpu takes per-row; wasm's GatherV2 with
 *                   batchDims reads out of bounds, so the rest take flat (int32, exact). Same values.
 * libtensorflow and GPU backends keep the plain, batched forms (and their data on the device).
 */
export interface KernelLayouts {
  attention: 'batched' | 'per-sequence' | 'fused';
  tiledTranspose: boolean;
  hostGather: boolean;
  targetGather: 'flat' | 'per-row';
}

/** The plain forms: right for every backend, fastest on libtensorflow, cpu and GPUs. */
export const PLAIN_LAYOUTS: KernelLayouts = { attention: 'batched', tiledTranspose: false, hostGather: false, targetGather: 'flat' };

/** webgpu: the plain forms, with the loss's targets gathered per row (float32 gather indices). */
export const WEBGPU_LAYOUTS: KernelLayouts = { ...PLAIN_LAYOUTS, targetGather: 'per-row' };

/** The forms the wasm backend runs fastest (with its own kernels, wasmKernels.ts; the per-sequence attention where they are off). */
export const WASM_LAYOUTS: KernelLayouts = { attention: 'fused', tiledTranspose: true, hostGather: true, targetGather: 'flat' };

let active: KernelLayouts = PLAIN_LAYOUTS;

/** Layouts the ops built from now on use (set by the model from its options). */
export function useKernelLayouts(k: KernelLayouts): void {
  active = k;
}

export function activeKernelLayouts(): KernelLayouts {
  return active;
}

export type AttentionLayout = KernelLayouts['attention'];

export interface AttentionShape {
  B: number;
  T: number;
  H: number;
  /** Dropout on the attention probabilities (0 = off) and its seed. */
  dropout: number;
  seed: number;
  /** How the per-head products are laid out (default: the model's kernel layouts). */
  layout?: AttentionLayout;
}
