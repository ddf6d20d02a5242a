import type { BackendInfo } from '../backend.ts';
import type { ResolvedModelConfig } from '../model/config.ts';
import { DEFAULT_MAX_LOGITS_PER_CHUNK, estimateStepBytes, type GPTOptions } from '../model/gpt.ts';

const MB = 2 ** 20;

/**
 * How many bytes one forward+backward pass may use. The wasm heap tops out
 * between 2.5 and 3.5 GB and overflowing it shows up as "memory access out of
 * bounds", so wasm gets 1.5 GB, leaving room for weights, Adam moments,
 * accumulated gradients and fragmentation. A GPU gets a share of a 16 GB card.
 * CHINCHILLA_MEMORY_BUDGET_MB overrides it (the --memory-budget-mb flag sets it).
 */
export function memoryBudgetBytes(backend: Pick<BackendInfo, 'backend' | 'memoryBudgetBytes'>): number {
  const env = Number(process.env.CHINCHILLA_MEMORY_BUDGET_MB);
  if (Number.isFinite(env) && env > 0) return env * MB;
  switch (backend.backend) {
    case 'wasm':
      return 1500 * MB;
    case 'cpu':
      return 3000 * MB;
    case 'tensorflow':
      return 6000 * MB;
    case 'tensorflow-gpu':
      return 9000 * MB;
    case 'webgpu': // from the adapter (src/gpu/webgpu.ts adapterMemoryBudget)
      return backend.memoryBudgetBytes ?? 4000 * MB;
  }
}

/**
 * Model options the backend imposes: where one kernel may bind at most `maxTensorBytes` (webgpu),
 * the loss computes its logits in row chunks that fit (a 32×256×50257 float32 block is 1.6 GB).
 */
export function gptOptions(backend: Pick<BackendInfo, 'maxTensorBytes'>): GPTOptions {
  if (!backend.maxTensorBytes) return {};
  return { maxLogitsPerChunk: Math.min(DEFAULT_MAX_LOGITS_PER_CHUNK, Math.floor(backend.maxTensorBytes / 4)) };
}

/** The largest divisor of `batch` whose forward+backward fits in `budget` bytes (at least 1). */
export function chooseMicroBatch(cfg: ResolvedModelConfig, batch: number, budget: number): number {
  let best = 1;
  for (let m = 1; m <= batch; m++) {
    if (batch % m === 0 && estimateStepBytes(cfg, m) <= budget) best = m;
  }
  return best;
}
