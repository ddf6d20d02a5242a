/**
 * Wall-time estimates that cost seconds, whatever the models.
 *
 * Distinct model shapes are timed in order of cost while the calibration
 * stays within its time budget. A shape whose full step is predicted under
 * FULL_STEP_S seconds (from the shapes timed so far, or at first from a
 * floor FLOP rate) is timed at full size: one warm-up step and two timed
 * steps, or, for a step predicted short, three warm-up steps and as many
 * timed ones as fill TIMED_S (at most MAX_TIMED_STEPS); the fastest counts.
 * A tiny model's first steps run cold (JIT, allocator, worker threads): two of
 * them made the laptop IsoFLOP sweep's estimate 3-4.6x too long for its
 * smallest models, whose steady steps (~7 ms) are faster than any timed one.
 * Any other shape takes the line of the largest shape timed, its fixed part
 * scaled by parameters and its token part by FLOPs (bigger matrices run at
 * least as fast, so this errs long). Only when the first (cheapest) shape is
 * already too big for a full step is it timed on small steps (one sequence
 * per worker, context cut to CALIBRATION_CONTEXT tokens), with a second small
 * step of about four times the tokens, when the budget allows, for the line
 * t = fixed + per-token · tokens (the fixed part: per-op dispatch, the AdamW
 * update, weights and gradients between threads), extended to
 * batch × context tokens; small steps run less efficiently, so this errs long.
 * Evaluations cost a third of a training sequence (forward only) per
 * window: the small one every eval_interval steps (eval_windows) and the
 * final one at the last step (final_eval_windows; 'all' is every window of
 * the validation split).
 */
import type { BackendProfile } from '../backend.ts';
import { resolveModelConfig } from '../model/config.ts';
import { randomTokens, timeSteps } from '../train/bench.ts';
import { resolveWorkers } from '../train/parallel/workers.ts';
import type { PlannedRun } from './config.ts';

export interface RunEstimate {
  /** seconds for the whole run: training steps plus evaluations */
  seconds: number;
  /** seconds per full optimizer step */
  stepSeconds: number;
  /** 'timed' at a small batch, or 'scaled' by FLOPs from another shape */
  how: 'timed' | 'scaled';
}

export interface EstimateResult {
  /** by run index */
  runs: Map<number, RunEstimate>;
  calibrationSeconds: number;
  timedShapes: number;
  shapes: number;
  /** the model whose FLOP rate was used for the shapes not timed */
  scaledFrom?: string;
}

export interface EstimateOptions {
  /** seconds the calibration may take (default 10) */
  budgetS?: number;
  workers?: number | 'auto';
  /** validation tokens per (tokenizer, dataset), for 'all' evaluation windows */
  validationTokens?: (r: PlannedRun) => number | undefined;
  log?: (m: string) => void;
  /** given each calibration step's times (the CLI passes one for CHINCHILLA_DEBUG_ESTIMATE) */
  debug?: (m: string) => void;
}

/** The longest context the calibration steps use (the token part of a step is linear in it, the attention aside). */
export const CALIBRATION_CONTEXT = 64;
/** Shapes whose full step is predicted below this many seconds are timed at full size. */
export const FULL_STEP_S = 2;
/** Seconds of timed steps a short full-size step gets (after its warm-up), and the most steps that takes. */
export const TIMED_S = 0.2;
export const MAX_TIMED_STEPS = 30;
/** Training FLOP/s assumed before anything is timed (below any backend on any machine: errs long). */
export const FLOOR_FLOPS_PER_S = 1e9;

/** Training FLOPs of one sequence (6·N per token). */
const seqFlops = (r: PlannedRun, context: number) => 6 * r.params_total * context;

/** The smallest batch, dividing `batch`, that gives every worker one sequence. */
export function calibrationBatch(batch: number, workers: number): number {
  for (let b = Math.max(1, workers); b <= batch; b++) if (batch % b === 0) return b;
  return batch;
}

/** Validation tokens assumed when the split was not encoded (a failed check in a dry run): WikiText-2's 1.1 M characters at about 3 a token. */
export const DEFAULT_VALIDATION_TOKENS = Math.ceil(1.1e6 / 3);

/** Validation windows an evaluation covers. */
export function evalWindowCount(windows: number | 'all', context: number, validationTokens: number | undefined): number {
  if (windows !== 'all') return windows;
  return Math.max(1, Math.floor(((validationTokens ?? DEFAULT_VALIDATION_TOKENS) - 1) / context));
}

/**
 * Seconds a run takes given the seconds of one full step: the training steps, the small evaluations
 * (step 0 and every eval_interval steps before the last) and the final evaluation at the last step.
 */
export function runSeconds(r: PlannedRun, stepSeconds: number, context: number, validationTokens?: number): number {
  const t = r.train;
  const perWindow = stepSeconds / t.batch / 3;
  const evals = 1 + Math.floor((t.steps - 1) / t.eval_interval);
  const windows =
    evals * evalWindowCount(t.eval_windows, context, validationTokens) +
    evalWindowCount(t.final_eval_windows, context, validationTokens);
  return t.steps * stepSeconds + windows * perWindow;
}

export async function estimateRuns(runs: PlannedRun[], backend: BackendProfile, o: EstimateOptions = {}): Promise<EstimateResult> {
  const budgetMs = (o.budgetS ?? 10) * 1000;
  const t0 = performance.now();
  type Shape = { key: string; runs: PlannedRun[]; flopsPerSeq: number; context: number };
  const shapes = new Map<string, Shape>();
  for (const r of runs) {
    const cfg = resolveModelConfig(r.model, r.vocab);
    const key = JSON.stringify([cfg, r.train.batch, r.train.micro_batch]);
    const s = shapes.get(key) ?? { key, runs: [], flopsPerSeq: seqFlops(r, cfg.context), context: cfg.context };
    s.runs.push(r);
    shapes.set(key, s);
  }
  const ordered = [...shapes.values()].sort((a, b) => a.flopsPerSeq - b.flopsPerSeq);
  const out = new Map<number, RunEstimate>();
  // seconds per parameter (fixed part) and training FLOPs per second (token part) of the largest shape timed
  let rate: { fixedPerParam: number; flopsPerS: number; name: string } | undefined;
  let timedShapes = 0;
  const left = () => budgetMs / 1000 - (performance.now() - t0) / 1000;
  for (const s of ordered) {
    const r = s.runs[0]!;
    const cfg = resolveModelConfig(r.model, r.vocab);
    const workers = resolveWorkers(o.workers, backend, r.train.batch, cfg);
    const ctx = Math.min(cfg.context, CALIBRATION_CONTEXT);
    const fullTokens = r.train.batch * cfg.context;
    const fromRate = (tokens: number) => (rate ? rate.fixedPerParam * r.params_total + (6 * r.params_total * tokens) / rate.flopsPerS : 0);
    /** seconds of one step of `batch` sequences of `context` tokens (the fastest timed step: a long run's steps are warmer than any of these) */
    const time = async (batch: number, context: number, steps: number, warmupSteps = 1) => {
      const { times } = await timeSteps(
        { ...cfg, context },
        { ...r.train, batch, micro_batch: batch === r.train.batch ? r.train.micro_batch : 'auto' },
        backend,
        randomTokens(r.vocab, Math.max(1 << 14, (context + 1) * batch * 4)),
        { steps, warmupSteps, workers },
      );
      o.debug?.(`${r.name} batch ${batch} ctx ${context}: ${times.map((x) => x.toFixed(1)).join(', ')} ms`);
      return Math.min(...times) / 1000;
    };
    // the full step predicted from the largest shape timed, or, before any, at a floor rate no backend is below
    const predictedFull = rate ? fromRate(fullTokens) : (6 * r.params_total * fullTokens) / FLOOR_FLOPS_PER_S;
    const b1 = calibrationBatch(r.train.batch, workers);
    const n1 = b1 * ctx;
    let stepSeconds: number;
    let how: RunEstimate['how'] = 'timed';
    let fixed = 0;
    let perToken: number;
    // short steps: more of them, after a longer warm-up (the first steps of a tiny model run cold)
    const fullSteps = Math.min(MAX_TIMED_STEPS, Math.max(2, Math.ceil(TIMED_S / Math.max(predictedFull, 1e-4))));
    const fullWarmup = fullSteps > 2 ? 3 : 1;
    // a warm-up step costs about two steps: start no timing that would overrun the budget
    if (predictedFull <= FULL_STEP_S && (fullSteps + 2 * fullWarmup) * predictedFull < left()) {
      o.log?.(`timing ${r.model.name ?? r.name} to estimate wall time…`);
      stepSeconds = await time(r.train.batch, cfg.context, fullSteps, fullWarmup);
      perToken = stepSeconds / fullTokens;
    } else if (rate) {
      // a shape timed at full size scales better than small steps of this one (those err long)
      stepSeconds = fromRate(fullTokens);
      how = 'scaled';
      perToken = NaN;
    } else {
      o.log?.(`timing ${r.model.name ?? r.name} on small steps to estimate wall time…`);
      const predictedSmall = rate ? fromRate(n1) : (6 * r.params_total * n1) / FLOOR_FLOPS_PER_S;
      const t1 = await time(b1, ctx, predictedSmall > 1 ? 1 : 2);
      perToken = t1 / n1; // no fixed part: errs long
      const b2 = [4, 3, 2].map((k) => k * b1).find((b) => r.train.batch % b === 0 && b <= r.train.batch);
      if (b2 && 3 * t1 * (b2 / b1) < left()) {
        const t2 = await time(b2, ctx, 1);
        perToken = Math.min(Math.max((t2 - t1) / (b2 * ctx - n1), (0.2 * t1) / n1), t1 / n1);
        fixed = Math.max(0, t1 - perToken * n1);
      }
      stepSeconds = fixed + perToken * fullTokens;
    }
    if (how === 'timed') {
      rate = { fixedPerParam: fixed / r.params_total, flopsPerS: (6 * r.params_total) / perToken, name: r.model.name ?? r.name };
      timedShapes++;
    }
    for (const run of s.runs) {
      out.set(run.index, { seconds: runSeconds(run, stepSeconds, s.context, o.validationTokens?.(run)), stepSeconds, how });
    }
  }
  return {
    runs: out,
    calibrationSeconds: (performance.now() - t0) / 1000,
    timedShapes,
    shapes: ordered.length,
    ...(timedShapes < ordered.length && rate ? { scaledFrom: rate.name } : {}),
  };
}
