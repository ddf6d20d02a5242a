import { z } from 'zod';
import { parseOrThrow } from '../util/zod.ts';

/**
 * Everything that defines a training run, apart from the model shape (which
 * lives in configs/models/*.json). Defaults follow the experiment we
 * reproduce: batch 32 × context 256, AdamW lr 3e-4, 500 steps, eval every 50.
 */
export const TrainConfigSchema = z.strictObject({
  tokenizer: z.string().default('gpt2').describe('gpt2 | byte | bpe:N'),
  dataset: z.enum(['wikitext-2-raw-v1', 'wikitext-2-v1']).default('wikitext-2-raw-v1'),
  steps: z.number().int().positive().default(500),
  batch: z.number().int().positive().default(32),
  /** sequences per forward/backward pass; 'auto' picks the largest that fits the memory budget */
  micro_batch: z.union([z.number().int().positive(), z.literal('auto')]).default('auto'),
  lr: z.number().positive().max(1).default(3e-4),
  /** cosine decay ends at min_lr_frac · lr */
  min_lr_frac: z.number().min(0).max(1).default(0.1),
  /** linear warm-up steps; default: 10 % of the run, at most 100 */
  warmup_steps: z.number().int().min(0).optional(),
  weight_decay: z.number().min(0).default(0.1),
  beta1: z.number().min(0).lt(1).default(0.9),
  beta2: z.number().min(0).lt(1).default(0.95),
  eps: z.number().positive().default(1e-8),
  grad_clip: z.number().min(0).default(1.0),
  eval_interval: z.number().int().positive().default(50),
  /** number of fixed validation windows, or 'all' for the whole validation split */
  eval_windows: z.union([z.number().int().positive(), z.literal('all')]).default(64),
  /**
   * the final evaluation at the last step: 'all' = every non-overlapping context window
   * of the validation split (the number the fits rank models by), or a number of seeded windows
   */
  final_eval_windows: z.union([z.number().int().positive(), z.literal('all')]).default('all'),
  seed: z.number().int().min(0).default(1337),
});

export type TrainConfig = z.infer<typeof TrainConfigSchema>;

export function parseTrainConfig(raw: unknown, where: string): TrainConfig {
  return parseOrThrow(TrainConfigSchema, raw, where);
}

export function warmupSteps(cfg: TrainConfig): number {
  return cfg.warmup_steps ?? Math.min(100, Math.floor(cfg.steps / 10));
}
