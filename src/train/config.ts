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
  /** global-norm clipping threshold; 0 turns clipping off */
  grad_clip: z.number().min(0).default(1.0),
  /** cosine: warm-up then cosine decay to min_lr_frac·lr; constant: lr at every step after any warm-up */
  lr_schedule: z.enum(['cosine', 'constant']).default('cosine'),
  /** which parameters weight decay applies to: Linear weights only (nanoGPT), or all (torch.optim.AdamW(model.parameters())) */
  weight_decay_on: z.enum(['linear-weights', 'all']).default('linear-weights'),
  /** evaluation rows: 'completed' updates (step 0 = initial weights), or the blog's 'zero-based' loop index (src/train/evalSchedule.ts) */
  eval_steps: z.enum(['completed', 'zero-based']).default('completed'),
  /**
   * 0: train_loss is the mean training-step loss since the last evaluation. N > 0: train_loss is
   * the evaluation-mode loss (dropout off) on N random training windows drawn afresh at each
   * evaluation, as the blog logs it.
   */
  train_eval_windows: z.number().int().min(0).default(0),
  /** train on the text as the blog prepares it: non-blank lines joined with single spaces (src/data/text.ts) */
  join_lines: z.boolean().default(false),
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
