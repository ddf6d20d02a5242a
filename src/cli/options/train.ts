import type { Options } from 'yargs';
import { BACKEND_CHOICES } from '../../backend.ts';
import { parseWorkers } from '../../train/parallel/workers.ts';
import { UserError } from '../../util/errors.ts';
import { dataOptions as dataOptionsWithDefaults, tokenizerOption } from './data.ts';

/**
 * The data and tokenizer options without yargs defaults: for train, bench and
 * sweep an absent flag must not override the config file (the config's own
 * defaults, e.g. dataset wikitext-2-raw-v1 and tokenizer gpt2, then apply).
 */
export const runDataOptions = {
  ...dataOptionsWithDefaults,
  dataset: { ...dataOptionsWithDefaults.dataset, default: undefined, describe: dataOptionsWithDefaults.dataset.describe + ' (default wikitext-2-raw-v1)' },
  tokenizer: { ...tokenizerOption.tokenizer, default: undefined, describe: tokenizerOption.tokenizer.describe + ' (default gpt2)' },
} as const satisfies Record<string, Options>;

/** Options shared by `train`, `bench` and `sweep` (for sweep they override the file). */
export const backendOption = {
  backend: {
    type: 'string',
    choices: BACKEND_CHOICES as unknown as string[],
    default: 'auto',
    describe:
      'compute backend: auto tries tensorflow-gpu, webgpu (hardware adapters only), tensorflow, wasm, cpu in that order; ' +
      'webgpu asked for by name also takes a software adapter (llvmpipe)',
  },
  'gpu-adapter': {
    type: 'string',
    describe: "WebGPU adapter for the webgpu backend: its index or part of its name in 'chinchilla doctor' (default: the first hardware adapter)",
    // passed to initBackend explicitly (runtimeOptions); a flag given twice takes its last value
    coerce: (v: unknown) => String(Array.isArray(v) ? v[v.length - 1] : v),
  },
} as const satisfies Record<string, Options>;

/** --workers for `train`, `bench` and `sweep` (part of trainOptions). */
export const workersOption = {
  workers: {
    type: 'string',
    describe:
      "data-parallel worker threads, each with its own backend instance computing a share of every batch (one AdamW update on the summed gradients); " +
      "default 'auto': one per core on the wasm and cpu backends (on wasm 1 for models whose step is under 2.5e8 FLOPs, where the second core costs more than it saves), 1 on tensorflow and tensorflow-gpu. A run is reproducible for a given worker count",
  },
} as const satisfies Record<string, Options>;

export const trainOptions = {
  ...workersOption,
  steps: { type: 'number', describe: 'optimizer steps (default 500)' },
  batch: { type: 'number', describe: 'sequences per optimizer step (default 32)' },
  'micro-batch': {
    type: 'number',
    describe: 'sequences per forward/backward pass on each worker (gradient accumulation); default: the largest that fits the memory budget',
  },
  lr: { type: 'number', describe: 'peak learning rate of AdamW (default 3e-4)' },
  'eval-interval': { type: 'number', describe: 'evaluate and checkpoint every N steps (default 50)' },
  'eval-windows': {
    type: 'string',
    describe: "number of fixed validation windows, or 'all' for the whole validation split (default 64)",
  },
  'final-eval-windows': {
    type: 'string',
    describe: "validation windows of the final evaluation at the last step, whose loss and standard error the fits use: a number, or 'all' = every non-overlapping window of the validation split (default all)",
  },
  warmup: { type: 'number', describe: 'linear warm-up steps (default 10% of the run, at most 100)' },
  'weight-decay': { type: 'number', describe: 'decoupled weight decay (default 0.1)' },
  'grad-clip': { type: 'number', describe: 'clip gradients to this global norm; 0 disables (default 1.0)' },
  seed: { type: 'number', describe: 'seed of batches and dropout (default 1337)' },
  'lr-schedule': { type: 'string', choices: ['cosine', 'constant'], describe: 'learning rate after the warm-up: cosine decay or constant (default cosine)' },
  'weight-decay-on': { type: 'string', choices: ['linear-weights', 'all'], describe: 'parameters that weight decay applies to (default linear-weights)' },
  'eval-steps': {
    type: 'string',
    choices: ['completed', 'zero-based'],
    describe: "evaluation rows: after N completed updates, step 0 = initial weights (default); or the blog's 0-based loop index",
  },
  'train-eval-windows': {
    type: 'number',
    describe: 'train_loss = eval-mode loss on this many fresh random training windows per evaluation (default 0: mean training-step loss)',
  },
  'memory-budget-mb': {
    type: 'number',
    describe: 'memory one forward+backward may use when picking the micro-batch (default: by backend; wasm 1500)',
  },
} as const satisfies Record<string, Options>;

/** Map CLI flags onto TrainConfig keys; only flags the user gave are set. */
export function trainOverrides(argv: Record<string, unknown>): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  // a flag given twice arrives as an array: the last one wins, as in most CLIs
  const last = (v: unknown) => (Array.isArray(v) ? v[v.length - 1] : v);
  const set = (flag: string, key: string, f: (v: unknown) => unknown = (v) => v) => {
    if (argv[flag] !== undefined) o[key] = f(last(argv[flag]));
  };
  set('steps', 'steps');
  set('batch', 'batch');
  set('micro-batch', 'micro_batch');
  set('lr', 'lr');
  set('eval-interval', 'eval_interval');
  set('eval-windows', 'eval_windows', (v) => (v === 'all' ? 'all' : Number(v)));
  set('final-eval-windows', 'final_eval_windows', (v) => (v === 'all' ? 'all' : Number(v)));
  set('warmup', 'warmup_steps');
  set('weight-decay', 'weight_decay');
  set('grad-clip', 'grad_clip');
  set('seed', 'seed');
  set('lr-schedule', 'lr_schedule');
  set('weight-decay-on', 'weight_decay_on');
  set('eval-steps', 'eval_steps');
  set('train-eval-windows', 'train_eval_windows');
  if (argv['join-lines'] === true) o.join_lines = true; // a data flag that is also a TrainConfig field
  set('tokenizer', 'tokenizer');
  set('dataset', 'dataset');
  return o;
}

/**
 * The run-time flags that are not part of TrainConfig, parsed here and passed
 * explicitly (to initBackend and to trainRun/runSweep/runBench): --workers
 * (default: the user-facing variable CHINCHILLA_WORKERS, else 'auto') and
 * --memory-budget-mb (default: the backend profile's budget).
 */
export function runtimeOptions(argv: Record<string, unknown>): { workers: number | 'auto'; memoryBudgetMb?: number; gpuAdapter?: string } {
  const last = (v: unknown) => (Array.isArray(v) ? v[v.length - 1] : v);
  const env = process.env.CHINCHILLA_WORKERS;
  const workers = parseWorkers(last(argv.workers) ?? (env === '' ? undefined : env));
  const mb = last(argv['memory-budget-mb']);
  if (mb !== undefined && !(typeof mb === 'number' && mb > 0)) throw new UserError(`--memory-budget-mb must be a positive number of MiB (got ${String(mb)}).`);
  const gpuAdapter = argv['gpu-adapter'] === undefined ? undefined : String(last(argv['gpu-adapter']));
  return { workers, ...(mb !== undefined ? { memoryBudgetMb: mb as number } : {}), ...(gpuAdapter !== undefined ? { gpuAdapter } : {}) };
}
