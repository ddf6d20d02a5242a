import type { BackendInfo } from '../backend.ts';
import { BatchSampler } from '../data/batches.ts';
import { getTokenizer, loadTokens, type DataOptions } from '../data/index.ts';
import { resolveModelConfig, type ModelConfig, type ResolvedModelConfig } from '../model/config.ts';
import { flopsPerToken } from '../model/flops.ts';
import { GPT } from '../model/gpt.ts';
import { paramCounts } from '../model/params.ts';
import { Rng } from '../util/rng.ts';
import { AdamW } from './adamw.ts';
import type { TrainConfig } from './config.ts';
import { chooseMicroBatch, memoryBudgetBytes } from './memory.ts';
import { trainStep, type StepTimer } from './step.ts';

export interface BenchOptions {
  model: ModelConfig;
  modelName: string;
  train: TrainConfig;
  data: DataOptions;
  steps: number;
  warmupSteps: number;
  profile: boolean;
  onProgress?: (done: number, total: number) => void;
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
  micro_batch: number;
  context: number;
  steps: number;
  ms_per_step: number;
  ms_per_step_mean: number;
  ms_per_step_min: number;
  tokens_per_s: number;
  gflops: number;
  peak_rss_mb: number;
  data: string;
  profile?: Record<string, { ms_per_step: number; share: number }>;
}

/**
 * Time training steps after a warm-up: the median wall time of full steps
 * (batch sampling, forward, backward, optimizer update, loss read-back).
 */
export async function runBench(o: BenchOptions, backend: BackendInfo): Promise<BenchResult> {
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
    onProgress: o.onProgress,
  });
  const { times, phases, microBatch } = timing;
  const ms = median(times);
  const tokensPerS = (t.batch * cfg.context) / (ms / 1000);
  const result: BenchResult = {
    backend: backend.backend,
    device: backend.device,
    threads: backend.threads ?? null,
    model: o.modelName,
    params_total: counts.total,
    params_non_embedding: counts.non_embedding,
    vocab: cfg.vocab_size,
    tokenizer: tokenizer.name,
    batch: t.batch,
    micro_batch: microBatch,
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
    const known = Object.values(phases).reduce((a, b) => a + b, 0);
    const prof: Record<string, { ms_per_step: number; share: number }> = {};
    for (const [k, v] of Object.entries(phases)) prof[k] = { ms_per_step: round(v / o.steps, 1), share: round(v / sum, 3) };
    prof.other = { ms_per_step: round((sum - known) / o.steps, 1), share: round((sum - known) / sum, 3) };
    result.profile = prof;
  }
  return result;
}

/**
 * Run `warmupSteps` untimed then `steps` timed training steps of a fresh model
 * on `tokens`; returns each timed step's wall time (ms) and, with profile, the
 * time per phase summed over the timed steps.
 */
export async function timeSteps(
  cfg: ResolvedModelConfig,
  t: TrainConfig,
  backend: BackendInfo,
  tokens: Int32Array,
  o: { steps: number; warmupSteps: number; profile?: boolean; onProgress?: (done: number, total: number) => void },
): Promise<{ times: number[]; phases: Record<string, number>; microBatch: number }> {
  const microBatch = t.micro_batch === 'auto' ? chooseMicroBatch(cfg, t.batch, memoryBudgetBytes(backend)) : t.micro_batch;
  const model = new GPT(cfg);
  const opt = new AdamW(model.params, { beta1: t.beta1, beta2: t.beta2, eps: t.eps, weightDecay: t.weight_decay });
  const sampler = new BatchSampler(tokens, { batch: t.batch, context: cfg.context, seed: t.seed });
  const setup = { model, opt, sampler, batch: t.batch, microBatch, gradClip: t.grad_clip, seed: t.seed };
  const phases: Record<string, number> = {};
  const timer: StepTimer = {
    phase(name, f) {
      const t0 = performance.now();
      const r = f();
      phases[name] = (phases[name] ?? 0) + performance.now() - t0;
      return r;
    },
  };
  const total = o.warmupSteps + o.steps;
  const times: number[] = [];
  try {
    for (let i = 0; i < total; i++) {
      const measuring = i >= o.warmupSteps;
      const t0 = performance.now();
      await trainStep(setup, i, t.lr, o.profile && measuring ? timer : undefined);
      if (measuring) times.push(performance.now() - t0);
      o.onProgress?.(i + 1, total);
    }
  } finally {
    opt.dispose();
    model.dispose();
  }
  return { times, phases, microBatch };
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
