/**
 * `chinchilla bench` and the sweep's wall-time estimate: time training steps of
 * a run set up exactly as the trainer sets it up (setup.ts).
 */
import type { BackendProfile } from '../backend.ts';
import { getTokenizer, loadTokens, type DataOptions } from '../data/index.ts';
import { resolveModelConfig, type ModelConfig, type ResolvedModelConfig } from '../model/config.ts';
import { flopsPerToken } from '../model/flops.ts';
import { paramCounts } from '../model/params.ts';
import { Rng } from '../util/rng.ts';
import type { TrainConfig } from './config.ts';
import { PhaseTimer } from './phaseTimer.ts';
import { setUpTraining, startPool } from './setup.ts';
import { trainStep, type StepPhase } from './step.ts';

export interface BenchOptions {
  model: ModelConfig;
  modelName: string;
  train: TrainConfig;
  data: DataOptions;
  steps: number;
  warmupSteps: number;
  profile: boolean;
  /** data-parallel workers ('auto' or absent: the backend profile's defaultWorkers) */
  workers?: number | 'auto';
  onProgress?: (done: number, total: number) => void;
}

/** Time per step of one phase, and its share of the step. */
export interface PhaseShare {
  ms_per_step: number;
  share: number;
}

export interface BenchResult {
  backend: string;
  device: string;
  threads: number | null;
  model: string;
  params_total: number;
  params_non_embedding: number;
  vocab: number;
  tokenizer: string;
  batch: number;
  /** sequences per forward/backward pass on each worker */
  micro_batch: number;
  workers: number;
  context: number;
  steps: number;
  ms_per_step: number;
  ms_per_step_mean: number;
  ms_per_step_min: number;
  tokens_per_s: number;
  gflops: number;
  peak_rss_mb: number;
  data: string;
  /** where this thread's step time goes (phases of StepPhase, plus 'other') */
  profile?: Record<string, PhaseShare>;
  /** the same for each worker thread (ranks 1…W−1); their 'idle' is the time they waited for main */
  profile_workers?: Record<string, PhaseShare>[];
}

/**
 * Time training steps after a warm-up: the median wall time of full steps
 * (batch sampling, forward, backward, optimizer update, loss read-back).
 */
export async function runBench(o: BenchOptions, backend: BackendProfile): Promise<BenchResult> {
  const tokenizer = await getTokenizer(o.train.tokenizer, o.data);
  // Real tokens from the train split when it is here, else another split, else uniform random tokens.
  let tokens: Int32Array;
  let dataSource: string;
  try {
    tokens = await loadTokens('train', tokenizer, o.data);
    dataSource = `${o.data.dataset}/train`;
  } catch {
    try {
      tokens = await loadTokens('validation', tokenizer, o.data);
      dataSource = `${o.data.dataset}/validation (train split not available)`;
    } catch {
      tokens = randomTokens(tokenizer.vocabSize);
      dataSource = 'random tokens (dataset not available)';
    }
  }
  const cfg = resolveModelConfig(o.model, tokenizer.vocabSize);
  const counts = paramCounts(cfg);
  const fpt = flopsPerToken(cfg);
  const t = o.train;
  const timing = await timeSteps(cfg, t, backend, tokens, {
    steps: o.steps,
    warmupSteps: o.warmupSteps,
    profile: o.profile,
    workers: o.workers,
    onProgress: o.onProgress,
  });
  const { times, phases, workerPhases, microBatch, workers } = timing;
  const ms = median(times);
  const tokensPerS = (t.batch * cfg.context) / (ms / 1000);
  const result: BenchResult = {
    backend: backend.name,
    device: backend.device,
    threads: backend.threads ?? null,
    model: o.modelName,
    params_total: counts.total,
    params_non_embedding: counts.non_embedding,
    vocab: cfg.vocab_size,
    tokenizer: tokenizer.name,
    batch: t.batch,
    micro_batch: microBatch,
    workers,
    context: cfg.context,
    steps: o.steps,
    ms_per_step: round(ms, 1),
    ms_per_step_mean: round(times.reduce((a, b) => a + b, 0) / times.length, 1),
    ms_per_step_min: round(Math.min(...times), 1),
    tokens_per_s: round(tokensPerS, 0),
    gflops: round((tokensPerS * fpt.flops_chinchilla) / 1e9, 2),
    peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
    data: dataSource,
  };
  if (o.profile) {
    const sum = times.reduce((a, b) => a + b, 0);
    result.profile = shares(phases, sum, o.steps, 'other');
    if (workerPhases.length) result.profile_workers = workerPhases.map((p) => shares(p, sum, o.steps, 'idle'));
  }
  return result;
}

/** Phase totals (ms over `steps` steps of `sumMs` in all) as per-step times and shares; the rest is `restName`. */
function shares(phases: Partial<Record<StepPhase, number>>, sumMs: number, steps: number, restName: string): Record<string, PhaseShare> {
  const order: StepPhase[] = ['data', 'forward', 'backward', 'communication', 'wait', 'optimizer'];
  const out: Record<string, PhaseShare> = {};
  let known = 0;
  for (const k of order) {
    const v = phases[k];
    if (v === undefined) continue;
    known += v;
    out[k] = { ms_per_step: round(v / steps, 1), share: round(v / sumMs, 3) };
  }
  out[restName] = { ms_per_step: round((sumMs - known) / steps, 1), share: round((sumMs - known) / sumMs, 3) };
  return out;
}

/**
 * Run `warmupSteps` untimed then `steps` timed training steps of a fresh model
 * on `tokens` (with `workers` data-parallel workers); returns each timed step's
 * wall time (ms) and, with profile, the time per phase summed over the timed
 * steps, for this thread and for each worker thread.
 */
export async function timeSteps(
  cfg: ResolvedModelConfig,
  t: TrainConfig,
  backend: BackendProfile,
  tokens: Int32Array,
  o: {
    steps: number;
    warmupSteps: number;
    profile?: boolean;
    workers?: number | 'auto';
    onProgress?: (done: number, total: number) => void;
  },
): Promise<{
  times: number[];
  phases: Partial<Record<StepPhase, number>>;
  workerPhases: Partial<Record<StepPhase, number>>[];
  microBatch: number;
  workers: number;
}> {
  const s = setUpTraining(cfg, t, backend, tokens, o.workers);
  const timer = new PhaseTimer({ sync: backend.syncReadback });
  const total = o.warmupSteps + o.steps;
  const times: number[] = [];
  let workerPhases: Partial<Record<StepPhase, number>>[] = [];
  try {
    const pool = await startPool(s, backend, tokens);
    for (let i = 0; i < total; i++) {
      const measuring = i >= o.warmupSteps;
      if (i === o.warmupSteps) pool?.takeWorkerPhases(); // drop the warm-up's
      const t0 = performance.now();
      await trainStep(s, i, t.lr, o.profile && measuring ? timer : undefined);
      if (measuring) times.push(performance.now() - t0);
      o.onProgress?.(i + 1, total);
    }
    workerPhases = pool?.takeWorkerPhases() ?? [];
  } finally {
    await s.pool?.close();
    s.dispose();
  }
  return { times, phases: timer.totals, workerPhases, microBatch: s.microBatch, workers: s.workers };
}

/** Uniform random tokens, for timing when no data is at hand. */
export function randomTokens(vocab: number, n = 1 << 18, seed = 1): Int32Array {
  const rng = new Rng(seed);
  return Int32Array.from({ length: n }, () => rng.int(vocab));
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function round(x: number, d: number): number {
  const f = 10 ** d;
  return Math.round(x * f) / f;
}
