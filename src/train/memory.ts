import type { ResolvedModelConfig } from '../model/config.ts';
import { DEFAULT_MAX_LOGITS_PER_CHUNK, estimateStepBytes, type GPTOptions } from '../model/gpt.ts';

/**
 * Model options the backend imposes: where one kernel may bind at most `maxTensorBytes` (webgpu),
 * the loss computes its logits in row chunks that fit (a 32×256×50257 float32 block is 1.6 GB).
 */
export function gptOptions(backend: { maxTensorBytes?: number }): GPTOptions {
  if (!backend.maxTensorBytes) return {};
  return { maxLogitsPerChunk: Math.min(DEFAULT_MAX_LOGITS_PER_CHUNK, Math.floor(backend.maxTensorBytes / 4)) };
}

/**
 * The largest divisor of `batch` whose forward+backward fits in `budget` bytes
 * (at least 1). The budget comes from the backend profile (memoryBudgetBytes,
 * which --memory-budget-mb overrides).
 */
export function chooseMicroBatch(cfg: ResolvedModelConfig, batch: number, budget: number): number {
  let best = 1;
  for (let m = 1; m <= batch; m++) {
    if (batch % m === 0 && estimateStepBytes(cfg, m) <= budget) best = m;
  }
  return best;
}
