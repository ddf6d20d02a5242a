/**
 * run.json: what a run is (model, training config, data, backend, host) and how
 * it stands (status, times, final evaluation). Written by the trainer
 * (src/train), read back on --resume, by the sweep (status) and by the fit and
 * plots (through RunInfo, the part of it they need).
 *
 * Versions: 0 = files without schema_version (before this schema; no
 * final_eval) are migrated on read; 1 = current.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import type { ResolvedModelConfig } from '../model/config.ts';
import type { TrainConfig } from '../train/config.ts';
import { writeJsonAtomic } from '../util/atomic.ts';
import { UserError } from '../util/errors.ts';
import { parseOrThrow } from '../util/zod.ts';
import { migrate } from './version.ts';

export const RUN_JSON_VERSION = 1;

export const RUN_STATUSES = ['pending', 'running', 'finished', 'diverged', 'failed', 'interrupted'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

const count = z.number().int().nonnegative();
const positiveCount = z.number().int().positive();
const windows = z.union([positiveCount, z.literal('all')]);

/** A JSON object that has at least these numeric keys (model and train configs have their own schemas upstream). */
const objectWithNumbers = <T>(keys: string[]) =>
  z.custom<T>((v) => !!v && typeof v === 'object' && keys.every((k) => typeof (v as Record<string, unknown>)[k] === 'number'), {
    message: `expected an object with numeric ${keys.join(', ')}`,
  });

/** The large final evaluation at the last step (null until the run has finished it). */
export const FinalEvalSchema = z.object({
  val_loss: z.number(),
  /** standard error of val_loss: std of the per-window mean losses / √windows */
  val_loss_se: z.number(),
  tokens: count,
  windows: count,
  step: count,
});
export type FinalEval = z.infer<typeof FinalEvalSchema>;

/** TrainConfig as the run used it. */
export type RunTrainConfig = TrainConfig & { warmup_steps: number; micro_batch_used: number; workers: number };

export const RunJsonSchema = z.object({
  schema_version: z.literal(RUN_JSON_VERSION),
  name: z.string(),
  status: z.enum(RUN_STATUSES),
  params_total: positiveCount,
  params_non_embedding: positiveCount,
  params_embedding: count,
  model: objectWithNumbers<ResolvedModelConfig>(['vocab_size', 'context', 'd_model', 'n_layers', 'n_heads']),
  /** where the model config came from (a preset path), or null */
  model_source: z.string().nullable(),
  train: objectWithNumbers<RunTrainConfig>(['steps', 'batch', 'lr', 'warmup_steps', 'micro_batch_used', 'workers']),
  flops_per_token: z.object({ flops_6nd: z.number(), flops_kaplan: z.number(), flops_chinchilla: z.number() }),
  tokens_per_step: positiveCount,
  dataset: z.string(),
  text: z.object({ strip_markers: z.boolean(), drop_blank_lines: z.boolean(), join_lines: z.boolean().optional() }),
  tokenizer: z.string(),
  tokenizer_id: z.string(),
  seed: count,
  /** the small evaluation of every eval_interval */
  eval: z.object({ windows, seed: count, rows: count, tokens: count }),
  final_eval: FinalEvalSchema.nullable(),
  data_tokens: z.object({ train: count, validation: count }),
  backend: z.object({
    name: z.string(),
    tf_backend: z.string(),
    device: z.string(),
    threads: z.number().optional(),
    passed_over: z.array(z.object({ backend: z.string(), reason: z.string() })),
  }),
  host: z.object({ hostname: z.string(), cpus: z.string(), cores: count, memory_gb: z.number(), platform: z.string() }),
  versions: z.record(z.string(), z.string().nullable()),
  git_commit: z.string().nullable(),
  started_at: z.string(),
  ended_at: z.string().nullable(),
  resumed_at: z.array(z.string()),
  /** training wall time so far (s), across resumes */
  elapsed_s: z.number().optional(),
  /** why the run stopped, failed or diverged */
  message: z.string().optional(),
  /** sweep runs: the sweep's name */
  sweep: z.string().optional(),
  /** isoflop sweep runs: the compute budget (FLOPs, 6ND) this run belongs to */
  budget_flops: z.number().positive().optional(),
});
export type RunJson = z.infer<typeof RunJsonSchema>;

/** Extra keys a caller (the sweep) may add to run.json. */
export type RunJsonExtras = Pick<RunJson, 'sweep' | 'budget_flops'>;

const MIGRATIONS = {
  // 0 → 1: schema_version added; final_eval did not exist
  0: (o: Record<string, unknown>) => ({ ...o, final_eval: o.final_eval ?? null }),
};

const HINT = 'run.json is written by `chinchilla train`; fix the field or re-run the training.';

function readJson(path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new UserError(`${path}: not valid JSON (${(e as Error).message}); ${HINT}`);
  }
}

/** Validate and write run.json atomically. */
export function writeRunJson(outDir: string, info: RunJson): void {
  const path = join(outDir, 'run.json');
  writeJsonAtomic(path, parseOrThrow(RunJsonSchema, info, path, 'this is a bug in the trainer: it wrote a run.json its own schema refuses'));
}

/** outDir/run.json in full (older versions migrated), or null when there is none. */
export function readRunJson(outDir: string): RunJson | null {
  const path = join(outDir, 'run.json');
  if (!existsSync(path)) return null;
  return parseOrThrow(RunJsonSchema, migrate(readJson(path), path, 'run.json', RUN_JSON_VERSION, MIGRATIONS), path, HINT);
}

/** The status in outDir/run.json: 'pending' when there is none or it cannot be read. */
export function readRunStatus(outDir: string): RunStatus {
  const path = join(outDir, 'run.json');
  if (!existsSync(path)) return 'pending';
  try {
    const s = (JSON.parse(readFileSync(path, 'utf8')) as { status?: unknown }).status;
    return RUN_STATUSES.includes(s as RunStatus) ? (s as RunStatus) : 'pending';
  } catch {
    return 'pending';
  }
}

/**
 * The part of run.json the fit and the plots rely on: name, status and the
 * parameter counts are required; everything else may be absent (hand-made and
 * synthetic runs carry only a few fields).
 */
type Required_ = 'name' | 'status' | 'params_total' | 'params_non_embedding';
export type RunInfo = Pick<RunJson, Required_> &
  Partial<Omit<RunJson, Required_ | 'model' | 'train'>> & {
    model: Pick<ResolvedModelConfig, 'vocab_size' | 'context' | 'd_model' | 'n_layers' | 'n_heads'> & Partial<ResolvedModelConfig>;
    train: Pick<RunTrainConfig, 'steps' | 'batch' | 'lr'> & Partial<RunTrainConfig>;
  };

const RunInfoSchema = z.object({
  name: z.string().optional(),
  status: z.enum(RUN_STATUSES).optional(),
  params_total: positiveCount,
  params_non_embedding: positiveCount,
  budget_flops: z.number().positive().optional(),
  final_eval: FinalEvalSchema.nullable().optional(),
  elapsed_s: z.number().optional(),
});

/**
 * Read run.json for the fit/plots: older versions migrated, the fields they need
 * checked, the rest kept as written. `name` may be absent (the loader names the
 * run after its folder).
 */
export function readRunInfo(path: string): Omit<RunInfo, 'name'> & { name?: string } {
  const raw = migrate(readJson(path), path, 'run.json', RUN_JSON_VERSION, MIGRATIONS);
  const checked = parseOrThrow(RunInfoSchema, raw, path, HINT);
  // hand-made runs may lack status, model or train: the fit only reads them where present
  return { ...(raw as Omit<RunInfo, 'name'>), ...checked } as Omit<RunInfo, 'name'> & { name?: string };
}
