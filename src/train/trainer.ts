/**
 * Train one model: the training loop, read top to bottom like nanoGPT's train.py.
 *
 *   set-up        setup.ts      data, model, optimizer, sampler, workers, micro-batch
 *   resume        resume.ts     checkpoint save/restore (file format: checkpoint.ts)
 *   one step      step.ts       gradient (over the worker pool), clip, AdamW
 *   evaluation    evaluate.ts   mean loss and standard error over fixed windows
 *   records       artifacts/    metrics.csv rows and run.json (runinfo.ts builds it)
 *
 * Writes outDir/metrics.csv, outDir/run.json and outDir/checkpoints/. Evaluates
 * on `eval_windows` windows on the eval_steps schedule (evalSchedule.ts: by default
 * at step 0 and every eval_interval steps), and at the last step on
 * `final_eval_windows` (the whole validation split by default); checkpoints at
 * each evaluation; resumable bit-for-bit.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { MetricsCsv, metricValue, readMetrics, type MetricRow } from '../artifacts/metrics.ts';
import { readRunJson, writeRunJson, type RunJson, type RunJsonExtras, type RunStatus } from '../artifacts/runJson.ts';
import type { BackendProfile } from '../backend.ts';
import { evalSet, type Batch } from '../data/batches.ts';
import type { DataOptions } from '../data/index.ts';
import { resolveModelConfig, type ModelConfig } from '../model/config.ts';
import { UserError } from '../util/errors.ts';
import { hashSeed } from '../util/rng.ts';
import { removeCheckpoints } from './checkpoint.ts';
import { warmupSteps, type TrainConfig } from './config.ts';
import { evalSchedule } from './evalSchedule.ts';
import { evaluate, EvaluationStopped, type EvalSetId } from './evaluate.ts';
import { emptyInterval, restoreRunCheckpoint, saveRunCheckpoint } from './resume.ts';
import { describeRun } from './runinfo.ts';
import { learningRate } from './schedule.ts';
import { prepareData, setUpTraining, startPool } from './setup.ts';
import { trainStep } from './step.ts';

export type { RunJson } from '../artifacts/runJson.ts';
export { readRunJson } from '../artifacts/runJson.ts';
export { prepareData } from './setup.ts';

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
  /** keys the sweep adds to run.json */
  extraInfo?: RunJsonExtras;
  /** data-parallel worker threads ('auto' or absent: the backend profile's defaultWorkers) */
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

export interface RunResult {
  status: RunStatus;
  rows: MetricRow[];
  info: RunJson;
  outDir: string;
}

export async function trainRun(spec: RunSpec, profile: BackendProfile, hooks: TrainHooks = {}): Promise<RunResult> {
  const t = spec.train;
  const log = hooks.log ?? ((m: string) => process.stderr.write(m + '\n'));
  const outDir = spec.outDir;
  const name = spec.name ?? outDir.split('/').filter(Boolean).pop() ?? 'run';
  const csvPath = join(outDir, 'metrics.csv');
  const previous = readRunJson(outDir);
  if (!spec.resume && (existsSync(csvPath) || previous)) {
    throw new UserError(`${outDir} already holds a run. Pass --resume to continue it, or choose another --out (or delete the folder to start over).`);
  }
  if (spec.resume && previous?.status === 'finished') {
    log(`${name}: already finished; nothing to do.`);
    return { status: 'finished', rows: readMetrics(csvPath, { warn: log }), info: previous, outDir };
  }

  // ---- set-up: data, model, optimizer, evaluation windows ------------------------
  const dataOpts: DataOptions = { ...spec.data, dataset: t.dataset, joinLines: t.join_lines || (spec.data.joinLines ?? false) };
  const data = await prepareData(t.tokenizer, dataOpts);
  const cfg = resolveModelConfig(spec.model, data.tokenizer.vocabSize);
  const s = setUpTraining(cfg, t, profile, data.train, spec.workers);
  const { model, opt } = s;
  const evalSpecs = { eval: { windows: t.eval_windows, seed: EVAL_SEED }, final: { windows: t.final_eval_windows, seed: EVAL_SEED } };
  const evalSets = { eval: evalSet(data.validation, { context: cfg.context, ...evalSpecs.eval }), final: null as ReturnType<typeof evalSet> | null };
  const tokensPerStep = t.batch * cfg.context;
  const warmup = warmupSteps(t);
  const lrAt = (step: number) => learningRate(step, { lr: t.lr, warmup, horizon: t.steps, minFrac: t.min_lr_frac, schedule: t.lr_schedule });
  const schedule = evalSchedule(t);
  mkdirSync(outDir, { recursive: true });
  const info = describeRun({
    name, cfg, modelSource: spec.modelSource ?? null, train: t, microBatch: s.microBatch, workers: s.workers, data: dataOpts,
    tokenizerId: data.tokenizer.id, evalSet: evalSets.eval, evalSeed: EVAL_SEED,
    dataTokens: { train: data.train.length, validation: data.validation.length }, profile, previous, extras: spec.extraInfo,
  });

  // ---- resume from the checkpoint, or start afresh ------------------------------
  const csv = new MetricsCsv(csvPath);
  let rows: MetricRow[] = [];
  let startStep = 0;
  let elapsedBefore = 0;
  let interval = emptyInterval(); // train loss and time since the last evaluation
  const restored = spec.resume ? restoreRunCheckpoint(outDir, model, opt) : null;
  if (restored) {
    ({ step: startStep, elapsedS: elapsedBefore, interval } = restored);
    // the file ends with exactly the rows an uninterrupted run had written by the checkpoint's step
    rows = existsSync(csvPath) ? csv.truncateAfter(startStep, { warn: log }) : (csv.create(), []);
    if (rows.at(-1)?.step === t.steps) info.final_eval = previous?.final_eval ?? null;
    info.resumed_at = [...info.resumed_at, new Date().toISOString()];
    log(`${name}: resuming from step ${startStep} (checkpoint), ${rows.length} evaluation rows kept.`);
  } else {
    if (spec.resume && (existsSync(csvPath) || previous)) log(`${name}: no checkpoint found; starting from step 0.`);
    removeCheckpoints(outDir);
    csv.create();
  }
  writeRunJson(outDir, info);
  hooks.onStart?.({ info, startStep, microBatch: s.microBatch });

  const wallStart = performance.now();
  const elapsed = () => elapsedBefore + (performance.now() - wallStart) / 1000;
  const checkpoint = (step: number) => saveRunCheckpoint(outDir, { model, opt, step, elapsedS: elapsed(), seed: t.seed, interval });

  /**
   * train_eval_windows > 0: the evaluation-mode loss on that many training windows drawn
   * afresh for the row labelled `label` (the blog's estimate_loss). Computed on this thread
   * (the workers hold only the validation sets), so it does not depend on the worker count.
   */
  const trainEval = async (label: number): Promise<number> => {
    const set: Batch = evalSet(data.train, { context: cfg.context, windows: t.train_eval_windows, seed: hashSeed(t.seed, label, 0x5452) });
    return (await evaluate(model, set, 'eval', s.evalRows, null)).val_loss;
  };

  /**
   * Evaluate after `done` updates, append the metrics row labelled `step` (evalSchedule.ts;
   * = done except in the blog's zero-based mode); returns the validation loss. The caller checkpoints.
   */
  const recordEval = async (step: number, which: EvalSetId, done = step): Promise<number> => {
    const set = which === 'final' ? (evalSets.final ??= evalSet(data.validation, { context: cfg.context, ...evalSpecs.final })) : evalSets.eval;
    // the final evaluation (the whole validation split by default) can take minutes: Ctrl-C stops it between chunks
    const e = await evaluate(model, set, which, s.evalRows, s.pool, which === 'final' ? hooks.shouldStop : undefined);
    if (!Number.isFinite(e.val_loss)) return e.val_loss;
    const trainLoss = t.train_eval_windows > 0 ? await trainEval(step) : interval.lossCount > 0 ? interval.lossSum / interval.lossCount : NaN;
    const tokens = step * tokensPerStep;
    const row: MetricRow = {
      step,
      tokens,
      flops_6nd: tokens * info.flops_per_token.flops_6nd,
      flops_kaplan: tokens * info.flops_per_token.flops_kaplan,
      flops_chinchilla: tokens * info.flops_per_token.flops_chinchilla,
      train_loss: trainLoss,
      val_loss: e.val_loss,
      lr: lrAt(Math.min(done, t.steps - 1)),
      elapsed_s: elapsed(),
      tokens_per_s: interval.trainTime > 0 ? interval.tokens / interval.trainTime : 0,
      val_loss_se: e.val_loss_se,
      val_tokens: e.tokens,
    };
    csv.append(row);
    rows.push(row);
    // run.json repeats the final row's numbers exactly as metrics.csv stores them
    if (which === 'final') info.final_eval = { val_loss: metricValue(e.val_loss), val_loss_se: metricValue(e.val_loss_se), tokens: e.tokens, windows: e.windows, step };
    hooks.onEval?.(row);
    interval = emptyInterval();
    return e.val_loss;
  };

  const finish = (status: RunStatus, message?: string): RunResult => {
    info.status = status;
    info.ended_at = new Date().toISOString();
    info.elapsed_s = elapsed();
    if (message) info.message = message;
    writeRunJson(outDir, info);
    s.dispose();
    return { status, rows, info, outDir };
  };
  /** The final evaluation after the last update; null when the user stopped it (then checkpointed: --resume evaluates again). */
  const finalEval = async (step: number): Promise<number | null> => {
    try {
      return await recordEval(step, 'final');
    } catch (e) {
      if (!(e instanceof EvaluationStopped)) throw e;
      await checkpoint(step);
      log(`${name}: stopped during the final evaluation at step ${step}; checkpoint written. Run again with --resume to evaluate.`);
      return null;
    }
  };
  const stoppedInFinal = (step: number) => finish('interrupted', `stopped by the user during the final evaluation at step ${step}`);
  const diverged = (what: string, v: number, step: number, hint: string) => {
    const msg = `${what} became ${v} at step ${step}. The CSV and the last good checkpoint are kept; ${hint}`;
    log(`${name}: diverged: ${msg}`);
    return finish('diverged', msg);
  };

  // ---- the training loop --------------------------------------------------------
  try {
    await startPool(s, profile, data.train, { validation: data.validation, evalSets: evalSpecs });
    if (schedule.initial && startStep === 0 && rows.length === 0) {
      const v = await recordEval(0, 'eval');
      if (!Number.isFinite(v)) return finish('diverged', `validation loss is ${v} at step 0: check the model config`);
      await checkpoint(0);
    }
    for (let step = startStep; step < t.steps; step++) {
      const lr = lrAt(step);
      const t0 = performance.now();
      const loss = await trainStep(s, step, lr);
      const dt = (performance.now() - t0) / 1000;
      // CPU backends finish every op synchronously: let the event loop run (Ctrl-C, timers) once per step
      await new Promise((r) => setImmediate(r));
      if (!Number.isFinite(loss)) return diverged('training loss', loss, step + 1, `(lr ${lr.toExponential(2)}) try a lower --lr or more warm-up.`);
      interval.lossSum += loss;
      interval.lossCount += 1;
      interval.trainTime += dt;
      interval.tokens += tokensPerStep;
      const done = step + 1;
      hooks.onStep?.({ step: done, steps: t.steps, loss, lr, tokensPerS: tokensPerStep / dt });

      const last = done === t.steps;
      // the schedule's row (if one is due), then at the last step the final evaluation's row
      const label = schedule.labelAfter(done);
      for (const [step, which] of [...(label !== null ? [[label, 'eval'] as const] : []), ...(last ? [[done, 'final'] as const] : [])]) {
        const v = which === 'final' ? await finalEval(step) : await recordEval(step, which, done);
        if (v === null) return stoppedInFinal(done);
        if (!Number.isFinite(v)) return diverged('validation loss', v, done, 'try a lower --lr.');
      }
      if (label !== null || last) await checkpoint(done);
      if (hooks.shouldStop?.() && !last) {
        if (label === null) await checkpoint(done); // an evaluation step has one already
        log(`${name}: stopped at step ${done}; checkpoint written. Run again with --resume to continue.`);
        return finish('interrupted', `stopped by the user at step ${done}`);
      }
    }
    // resumed from a checkpoint at the last step whose final evaluation was stopped: evaluate now
    if (rows.at(-1)?.step !== t.steps) {
      const v = await finalEval(t.steps);
      if (v === null) return stoppedInFinal(t.steps);
      if (!Number.isFinite(v)) return diverged('validation loss', v, t.steps, 'try a lower --lr.');
      await checkpoint(t.steps);
    }
    return finish('finished');
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    const hint = /memory access out of bounds|out of memory|OOM/i.test(msg)
      ? ` This is the backend running out of memory: pass a smaller --micro-batch (now ${s.microBatch}).`
      : '';
    finish('failed', msg + hint);
    if (hint) throw new UserError(`${name}: ${msg}.${hint}`);
    throw e;
  } finally {
    await s.pool?.close();
  }
}
