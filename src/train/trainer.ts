import * as tf from '@tensorflow/tfjs';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BackendInfo } from '../backend.ts';
import { BatchSampler, evalSet, type Batch } from '../data/batches.ts';
import { getTokenizer, loadTokens, type DataOptions, type Tokenizer } from '../data/index.ts';
import type { MetricRow, RunStatus } from '../fit/types.ts';
import { resolveModelConfig, type ModelConfig, type ResolvedModelConfig } from '../model/config.ts';
import { flopsPerToken } from '../model/flops.ts';
import { GPT } from '../model/gpt.ts';
import { paramCounts } from '../model/params.ts';
import { writeJsonAtomic } from '../util/atomic.ts';
import { UserError } from '../util/errors.ts';
import { AdamW } from './adamw.ts';
import { trainStep, type StepSetup } from './step.ts';
import { loadCheckpoint, removeCheckpoints, saveCheckpoint } from './checkpoint.ts';
import { warmupSteps, type TrainConfig } from './config.ts';
import { chooseMicroBatch, memoryBudgetBytes } from './memory.ts';
import { WorkerPool } from './parallel/pool.ts';
import { resolveWorkers, workerMicroBatch, workersFromEnv } from './parallel/workers.ts';
import { MetricsCsv, readMetricsCsv } from './metrics.ts';
import { gitCommit, hostInfo, packageVersions } from './runinfo.ts';
import { learningRate } from './schedule.ts';
import { evalSchedule } from './evalSchedule.ts';
import { hashSeed } from '../util/rng.ts';

/** The validation windows are drawn with this seed for every run, so all curves are comparable. */
export const EVAL_SEED = 20220329;

export interface RunSpec {
  /** run name (defaults to the out dir's basename) */
  name?: string;
  model: ModelConfig;
  /** where the model config came from (a preset path), recorded in run.json */
  modelSource?: string;
  train: TrainConfig;
  /** data location options (the dataset itself is train.dataset) */
  data: Omit<DataOptions, 'dataset'>;
  outDir: string;
  /** continue from the checkpoint in outDir if there is one */
  resume: boolean;
  /** memory budget for one forward+backward (bytes); default from the backend */
  memoryBudget?: number;
  /** extra keys merged into run.json (e.g. sweep name, budget_flops) */
  extraInfo?: Record<string, unknown>;
  /** data-parallel worker threads (default: CHINCHILLA_WORKERS, else 'auto' = one per core on wasm/cpu) */
  workers?: number | 'auto';
}

export interface StepEvent {
  step: number; // steps completed
  steps: number;
  loss: number;
  lr: number;
  tokensPerS: number;
}

export interface TrainHooks {
  /** called once the run is set up, before the first step */
  onStart?(s: { info: RunJson; startStep: number; microBatch: number }): void;
  onStep?(e: StepEvent): void;
  onEval?(row: MetricRow): void;
  /** polled after every step: true stops the run cleanly after a checkpoint (Ctrl-C) */
  shouldStop?(): boolean;
  log?(msg: string): void;
}

export interface RunJson {
  name: string;
  status: RunStatus;
  params_total: number;
  params_non_embedding: number;
  params_embedding: number;
  model: ResolvedModelConfig;
  model_source: string | null;
  train: TrainConfig & { warmup_steps: number; micro_batch_used: number; workers: number };
  flops_per_token: ReturnType<typeof flopsPerToken>;
  tokens_per_step: number;
  dataset: string;
  tokenizer: string;
  tokenizer_id: string;
  seed: number;
  eval: { windows: number | 'all'; seed: number; rows: number; tokens: number };
  data_tokens: { train: number; validation: number };
  backend: { name: string; tf_backend: string; device: string; threads?: number; passed_over: { backend: string; reason: string }[] };
  host: ReturnType<typeof hostInfo>;
  versions: Record<string, string | null>;
  git_commit: string | null;
  started_at: string;
  ended_at: string | null;
  resumed_at: string[];
  message?: string;
  [k: string]: unknown;
}

export interface RunResult {
  status: RunStatus;
  rows: MetricRow[];
  info: RunJson;
  outDir: string;
}

/** Loaded and encoded splits, shared by every run of a process that uses the same tokenizer and dataset. */
interface PreparedData {
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

export function readRunJson(outDir: string): RunJson | null {
  const p = join(outDir, 'run.json');
  if (!existsSync(p)) return null;
  try {
    return JSON.parse(readFileSync(p, 'utf8')) as RunJson;
  } catch {
    return null;
  }
}

/**
 * Train one model and write outDir/metrics.csv, outDir/run.json and
 * outDir/checkpoints/. Evaluates at step 0, every eval_interval steps and at
 * the last step; checkpoints at each evaluation; resumable bit-for-bit.
 */
export async function trainRun(spec: RunSpec, backend: BackendInfo, hooks: TrainHooks = {}): Promise<RunResult> {
  const t = spec.train;
  const log = hooks.log ?? ((m: string) => process.stderr.write(m + '\n'));
  const outDir = spec.outDir;
  const name = spec.name ?? outDir.split('/').filter(Boolean).pop() ?? 'run';
  const csvPath = join(outDir, 'metrics.csv');
  const previous = readRunJson(outDir);

  if (!spec.resume && (existsSync(csvPath) || previous)) {
    throw new UserError(
      `${outDir} already holds a run. Pass --resume to continue it, or choose another --out (or delete the folder to start over).`,
    );
  }
  if (spec.resume && previous?.status === 'finished') {
    log(`${name}: already finished; nothing to do.`);
    return { status: 'finished', rows: readMetricsCsv(csvPath), info: previous, outDir };
  }

  // ---- data, model, optimizer -------------------------------------------
  const dataOpts: DataOptions = { ...spec.data, dataset: t.dataset, joinLines: t.join_lines || (spec.data.joinLines ?? false) };
  const data = await prepareData(t.tokenizer, dataOpts);
  const cfg = resolveModelConfig(spec.model, data.tokenizer.vocabSize);
  const counts = paramCounts(cfg);
  const fpt = flopsPerToken(cfg);
  const tokensPerStep = t.batch * cfg.context;
  if (data.train.length < cfg.context + 2) {
    throw new UserError(`the train split has ${data.train.length} tokens, fewer than one window of context ${cfg.context} + 1`);
  }
  const budget = spec.memoryBudget ?? memoryBudgetBytes(backend);
  const workers = resolveWorkers(spec.workers ?? workersFromEnv(), backend.backend, t.batch);
  const microBatch = t.micro_batch === 'auto' ? chooseMicroBatch(cfg, t.batch, budget) : t.micro_batch;
  if (t.batch % microBatch !== 0) {
    throw new UserError(`micro_batch ${microBatch} must divide batch ${t.batch}; pick a divisor of ${t.batch} or 'auto'.`);
  }
  // each worker cuts its micro-batches from its own share of the batch
  const workerMicro = workers > 1 ? workerMicroBatch(cfg, t.micro_batch, t.batch, workers, budget) : microBatch;
  const warmup = warmupSteps(t);
  const sampler = new BatchSampler(data.train, { batch: t.batch, context: cfg.context, seed: t.seed });
  const validationSet = evalSet(data.validation, { context: cfg.context, windows: t.eval_windows, seed: EVAL_SEED });
  const evalData = validationSet;
  const schedule = evalSchedule(t);

  mkdirSync(outDir, { recursive: true });
  const model = new GPT(cfg);
  const decayed = t.weight_decay_on === 'all' ? model.params.map((p) => ({ ...p, decay: true })) : model.params;
  const opt = new AdamW(decayed, { beta1: t.beta1, beta2: t.beta2, eps: t.eps, weightDecay: t.weight_decay });
  const csv = new MetricsCsv(csvPath);
  const stepSetup: StepSetup = { model, opt, sampler, batch: t.batch, microBatch: workerMicro, gradClip: t.grad_clip, seed: t.seed };

  const now = () => new Date().toISOString();
  const info: RunJson = {
    name,
    status: 'running',
    params_total: counts.total,
    params_non_embedding: counts.non_embedding,
    params_embedding: counts.embedding,
    model: cfg,
    model_source: spec.modelSource ?? null,
    train: { ...t, warmup_steps: warmup, micro_batch_used: workerMicro, workers },
    flops_per_token: fpt,
    tokens_per_step: tokensPerStep,
    dataset: t.dataset,
    text: { strip_markers: spec.data.stripMarkers ?? false, drop_blank_lines: spec.data.dropBlankLines ?? false, join_lines: dataOpts.joinLines },
    tokenizer: t.tokenizer,
    tokenizer_id: data.tokenizer.id,
    seed: t.seed,
    eval: { windows: t.eval_windows, seed: EVAL_SEED, rows: evalData.rows, tokens: evalData.rows * cfg.context },
    data_tokens: { train: data.train.length, validation: data.validation.length },
    backend: {
      name: backend.backend,
      tf_backend: backend.tfBackend,
      device: backend.device,
      threads: backend.threads,
      passed_over: backend.attempts.filter((a) => !a.ok).map((a) => ({ backend: a.backend, reason: a.reason })),
    },
    host: hostInfo(),
    versions: packageVersions(),
    git_commit: gitCommit(),
    started_at: previous?.started_at ?? now(),
    ended_at: null,
    resumed_at: previous?.resumed_at ?? [],
    ...spec.extraInfo,
  };

  // ---- resume -------------------------------------------------------------
  let startStep = 0;
  let elapsedBefore = 0;
  let rows: MetricRow[] = [];
  // accumulators of the current evaluation interval (restored on resume)
  let intervalLossSum = 0;
  let intervalLossCount = 0;
  let intervalTrainTime = 0;
  let intervalTokens = 0;
  const ckpt = spec.resume ? loadCheckpoint(outDir) : null;
  if (ckpt) {
    const h = ckpt.header;
    tf.tidy(() =>
      model.params.forEach((p, i) => {
        p.variable.assign(tf.tensor(ckpt.get(`param/${p.name}`), p.variable.shape));
        opt.m[i]!.assign(tf.tensor(ckpt.get(`adam_m/${p.name}`), p.variable.shape));
        opt.v[i]!.assign(tf.tensor(ckpt.get(`adam_v/${p.name}`), p.variable.shape));
      }),
    );
    opt.t = h.optimizer_t;
    startStep = h.step;
    elapsedBefore = h.elapsed_s;
    const acc = (h.extra ?? {}) as Record<string, number>;
    intervalLossSum = acc.interval_loss_sum ?? 0;
    intervalLossCount = acc.interval_loss_count ?? 0;
    intervalTrainTime = acc.interval_train_time ?? 0;
    intervalTokens = acc.interval_tokens ?? 0;
    rows = existsSync(csvPath) ? csv.truncateAfter(startStep) : (csv.create(), []);
    info.resumed_at = [...info.resumed_at, now()];
    log(`${name}: resuming from step ${startStep} (checkpoint), ${rows.length} evaluation rows kept.`);
  } else {
    if (spec.resume && (existsSync(csvPath) || previous)) log(`${name}: no checkpoint found; starting from step 0.`);
    removeCheckpoints(outDir);
    csv.create();
  }
  writeJsonAtomic(join(outDir, 'run.json'), info);
  hooks.onStart?.({ info, startStep, microBatch: workerMicro });

  const wallStart = performance.now();
  const elapsed = () => elapsedBefore + (performance.now() - wallStart) / 1000;

  const checkpoint = (step: number) =>
    saveCheckpoint(outDir, {
      step,
      optimizerT: opt.t,
      elapsedS: elapsed(),
      seed: t.seed,
      tensors: [
        ...model.params.map((p) => ({ name: `param/${p.name}`, tensor: p.variable as tf.Tensor })),
        ...model.params.map((p, i) => ({ name: `adam_m/${p.name}`, tensor: opt.m[i] as tf.Tensor })),
        ...model.params.map((p, i) => ({ name: `adam_v/${p.name}`, tensor: opt.v[i] as tf.Tensor })),
      ],
      extra: {
        interval_loss_sum: intervalLossSum,
        interval_loss_count: intervalLossCount,
        interval_train_time: intervalTrainTime,
        interval_tokens: intervalTokens,
      },
    });

  const finish = (status: RunStatus, message?: string): RunResult => {
    info.status = status;
    info.ended_at = now();
    info.elapsed_s = elapsed();
    if (message) info.message = message;
    writeJsonAtomic(join(outDir, 'run.json'), info);
    opt.dispose();
    model.dispose();
    return { status, rows, info, outDir };
  };

  /** Mean loss (dropout off) over evaluation windows: by default the fixed validation windows. */
  const evaluate = async (evalData: Batch = validationSet): Promise<number> => {
    let sum = 0;
    for (let from = 0; from < evalData.rows; from += microBatch) {
      const to = Math.min(evalData.rows, from + microBatch);
      const n = to - from;
      const l = tf.tidy(() => {
        const x = tf.tensor2d(evalData.x.subarray(from * cfg.context, to * cfg.context), [n, cfg.context], 'int32');
        const y = tf.tensor2d(evalData.y.subarray(from * cfg.context, to * cfg.context), [n, cfg.context], 'int32');
        return model.loss(x, y, { training: false });
      });
      sum += (await l.data())[0]! * n;
      l.dispose();
    }
    return sum / evalData.rows;
  };

  const flops = (step: number) => {
    const tokens = step * tokensPerStep;
    return {
      tokens,
      flops_6nd: tokens * fpt.flops_6nd,
      flops_kaplan: tokens * fpt.flops_kaplan,
      flops_chinchilla: tokens * fpt.flops_chinchilla,
    };
  };

  /** train_eval_windows > 0: the loss on that many training windows drawn afresh for this evaluation. */
  const trainEval = async (label: number) =>
    evaluate(evalSet(data.train, { context: cfg.context, windows: t.train_eval_windows, seed: hashSeed(t.seed, label, 0x5452) }));

  /** An evaluation row labelled `step` (see evalSchedule), taken after `done` updates (its checkpoint's step). */
  const recordEval = async (step: number, lr: number, done = step) => {
    const val = await evaluate();
    if (!Number.isFinite(val)) return val;
    const row: MetricRow = {
      step,
      ...flops(step),
      train_loss: t.train_eval_windows > 0 ? await trainEval(step) : intervalLossCount > 0 ? intervalLossSum / intervalLossCount : NaN,
      val_loss: val,
      lr,
      elapsed_s: elapsed(),
      tokens_per_s: intervalTrainTime > 0 ? intervalTokens / intervalTrainTime : 0,
    };
    csv.append(row);
    rows.push(row);
    hooks.onEval?.(row);
    intervalLossSum = intervalLossCount = intervalTrainTime = intervalTokens = 0;
    await checkpoint(done);
    return val;
  };

  const lrAt = (step: number) => learningRate(step, { lr: t.lr, warmup, horizon: t.steps, minFrac: t.min_lr_frac, schedule: t.lr_schedule });

  try {
    if (workers > 1) {
      stepSetup.pool = await WorkerPool.start({ ...stepSetup, workers, backend: backend.backend, tokens: data.train });
    }
    if (schedule.initial && startStep === 0 && rows.length === 0) {
      const v = await recordEval(0, lrAt(0));
      if (!Number.isFinite(v)) return finish('diverged', `validation loss is ${v} at step 0: check the model config`);
    }
    for (let step = startStep; step < t.steps; step++) {
      const lr = lrAt(step);
      const t0 = performance.now();
      const loss = await trainStep(stepSetup, step, lr);
      const dt = (performance.now() - t0) / 1000;
      // CPU backends finish every op synchronously: let the event loop run (Ctrl-C, timers) once per step
      await new Promise((r) => setImmediate(r));

      if (!Number.isFinite(loss)) {
        const msg = `training loss became ${loss} at step ${step + 1} (lr ${lr.toExponential(2)}). The CSV and the last good checkpoint are kept; try a lower --lr or more warm-up.`;
        log(`${name}: diverged: ${msg}`);
        return finish('diverged', msg);
      }
      intervalLossSum += loss;
      intervalLossCount += 1;
      intervalTrainTime += dt;
      intervalTokens += tokensPerStep;
      const done = step + 1;
      hooks.onStep?.({ step: done, steps: t.steps, loss, lr, tokensPerS: tokensPerStep / dt });

      const label = schedule.labelAfter(done);
      if (label !== null) {
        const v = await recordEval(label, lrAt(Math.min(done, t.steps - 1)), done);
        if (!Number.isFinite(v)) {
          const msg = `validation loss became ${v} at step ${done}. The CSV and the last good checkpoint are kept; try a lower --lr.`;
          log(`${name}: diverged: ${msg}`);
          return finish('diverged', msg);
        }
      }
      if (hooks.shouldStop?.() && done < t.steps) {
        if (label === null) await checkpoint(done); // an evaluation step has one already
        log(`${name}: stopped at step ${done}; checkpoint written. Run again with --resume to continue.`);
        return finish('interrupted', `stopped by the user at step ${done}`);
      }
    }
    return finish('finished');
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    const hint = /memory access out of bounds|out of memory|OOM/i.test(msg)
      ? ` This is the backend running out of memory: pass a smaller --micro-batch (now ${microBatch}).`
      : '';
    finish('failed', msg + hint);
    if (hint) throw new UserError(`${name}: ${msg}.${hint}`);
    throw e;
  } finally {
    await stepSetup.pool?.close();
  }
}
