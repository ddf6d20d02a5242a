import type { ResolvedModelConfig } from '../model/config.ts';
import { estimateStepBytes } from '../model/gpt.ts';

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
