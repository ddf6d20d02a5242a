/**
 * Setting up a training run, shared by `train` (trainer.ts), `bench` and the
 * sweep's wall-time estimate (bench.ts timeSteps): data, model, optimizer,
 * batch sampler, worker count and micro-batch, and the worker pool.
 */
import type { BackendProfile } from '../backend.ts';
import { BatchSampler } from '../data/batches.ts';
import { getTokenizer, loadTokens, type DataOptions, type Tokenizer } from '../data/index.ts';
import type { ResolvedModelConfig } from '../model/config.ts';
import { GPT } from '../model/gpt.ts';
import { UserError } from '../util/errors.ts';
import { AdamW } from './adamw.ts';
import type { TrainConfig } from './config.ts';
import type { EvalSetId } from './evaluate.ts';
import { chooseMicroBatch, gptOptions } from './memory.ts';
import { WorkerPool } from './parallel/pool.ts';
import type { EvalSetSpec } from './parallel/protocol.ts';
import { resolveWorkers, workerMicroBatch } from './parallel/workers.ts';
import type { StepSetup } from './step.ts';

/** Loaded and encoded splits, shared by every run of a process that uses the same tokenizer and dataset. */
export interface PreparedData {
  tokenizer: Tokenizer;
  train: Int32Array;
  validation: Int32Array;
}
const prepared = new Map<string, Promise<PreparedData>>();

export function prepareData(tokenizerSpec: string, data: DataOptions): Promise<PreparedData> {
  const key = JSON.stringify([tokenizerSpec, data.dataset, data.dataDir ?? null, data.cacheRoot ?? null, data.stripMarkers, data.dropBlankLines, data.joinLines ?? false]);
  let p = prepared.get(key);
  if (!p) {
    p = (async () => {
      const tokenizer = await getTokenizer(tokenizerSpec, data);
      const train = await loadTokens('train', tokenizer, data);
      const validation = await loadTokens('validation', tokenizer, data);
      return { tokenizer, train, validation };
    })();
    p.catch(() => prepared.delete(key));
    prepared.set(key, p);
  }
  return p;
}

/** Everything a training loop needs; dispose() frees the model and optimizer. */
export interface TrainingSetup extends StepSetup {
  cfg: ResolvedModelConfig;
  workers: number;
  /** sequences per forward/backward pass of one rank (each worker cuts its share of the batch into these) */
  microBatch: number;
  /** windows per evaluation chunk: the micro-batch of the whole batch on one rank (independent of the worker count) */
  evalRows: number;
  /** the worker threads (startPool), null with one rank */
  pool: WorkerPool | null;
  dispose(): void;
}

/**
 * Model, optimizer, sampler, worker count and micro-batch for `t` on `tokens`.
 * `workers`: what the user asked for ('auto'/undefined → the profile's default).
 */
export function setUpTraining(cfg: ResolvedModelConfig, t: TrainConfig, profile: BackendProfile, tokens: Int32Array, workers?: number | 'auto'): TrainingSetup {
  if (tokens.length < cfg.context + 2) {
    throw new UserError(`the train split has ${tokens.length} tokens, fewer than one window of context ${cfg.context} + 1`);
  }
  const ranks = resolveWorkers(workers, profile, t.batch, cfg);
  const budget = profile.memoryBudgetBytes;
  const mainMicro = t.micro_batch === 'auto' ? chooseMicroBatch(cfg, t.batch, budget) : t.micro_batch;
  if (t.batch % mainMicro !== 0) {
    throw new UserError(`micro_batch ${mainMicro} must divide batch ${t.batch}; pick a divisor of ${t.batch} or 'auto'.`);
  }
  // each worker cuts its micro-batches from its own share of the batch
  const microBatch = ranks > 1 ? workerMicroBatch(cfg, t.micro_batch, t.batch, ranks, budget) : mainMicro;
  const model = new GPT(cfg, { kernels: profile.kernels, ...gptOptions(profile) });
  // weight_decay_on 'all': torch.optim.AdamW(model.parameters()) decays every tensor (the blog's recipe)
  const decayed = t.weight_decay_on === 'all' ? model.params.map((p) => ({ ...p, decay: true })) : model.params;
  const opt = new AdamW(decayed, { beta1: t.beta1, beta2: t.beta2, eps: t.eps, weightDecay: t.weight_decay });
  const sampler = new BatchSampler(tokens, { batch: t.batch, context: cfg.context, seed: t.seed });
  return {
    cfg,
    model,
    opt,
    sampler,
    batch: t.batch,
    microBatch,
    evalRows: mainMicro,
    gradClip: t.grad_clip,
    seed: t.seed,
    workers: ranks,
    pool: null,
    dispose: () => {
      opt.dispose();
      model.dispose();
    },
  };
}

/**
 * Starts the worker pool of a set-up with more than one rank (sets s.pool; the
 * caller closes it). With `validation`, the workers can also evaluate `evalSets`.
 */
export async function startPool(
  s: TrainingSetup,
  profile: BackendProfile,
  tokens: Int32Array,
  evaluation?: { validation: Int32Array; evalSets: Record<EvalSetId, EvalSetSpec> },
): Promise<WorkerPool | null> {
  if (s.workers <= 1) return null;
  const pool = await WorkerPool.start({ ...s, workers: s.workers, backend: profile.name, kernels: profile.kernels, tokens, ...evaluation });
  s.pool = pool;
  return pool;
}
