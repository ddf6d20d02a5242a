import type { BackendProfile } from '../../backend.ts';
import type { ResolvedModelConfig } from '../../model/config.ts';
import { paramCounts } from '../../model/params.ts';
import { chooseMicroBatch } from '../memory.ts';
import { UserError } from '../../util/errors.ts';
import { rowShare } from './protocol.ts';

/**
 * Below this much work per step (6·N_total·tokens, FLOPs), 'auto' runs one worker on wasm:
 * a step's synchronisation (weights out, gradients back, the optimizer while the worker
 * waits) costs 2-4 ms, more than the second core saves. Measured with `bench` (2-core VM,
 * bpe:512, context 64, tokens/s with 1 vs 2 workers): batch 32, d16 299K vs 274K
 * (1.5e8 FLOPs), d24 213K vs 228K (2.6e8); batch 16, d32 149K vs 142K (1.9e8), d48 99K vs
 * 102K (3.4e8); d8 at batch 32 458K vs 338K.
 */
export const AUTO_PARALLEL_MIN_FLOPS = 2.5e8;

/**
 * The worker count a run uses: `requested` ('auto' or undefined → the backend
 * profile's defaultWorkers, or 1 on wasm when `cfg`'s step is below
 * AUTO_PARALLEL_MIN_FLOPS), at most one per row of the batch. A number below 1
 * or not an integer is a UserError.
 */
export function resolveWorkers(
  requested: number | 'auto' | undefined,
  profile: Pick<BackendProfile, 'defaultWorkers'> & Partial<Pick<BackendProfile, 'name' | 'syncReadback'>>,
  batch: number,
  cfg?: ResolvedModelConfig,
): number {
  if (requested === undefined || requested === 'auto') {
    const n = Math.max(1, Math.min(profile.defaultWorkers, batch));
    const small = cfg !== undefined && profile.name === 'wasm' && 6 * paramCounts(cfg).total * batch * cfg.context < AUTO_PARALLEL_MIN_FLOPS;
    return small ? 1 : n;
  }
  if (!(Number.isInteger(requested) && requested >= 1)) {
    throw new UserError(`--workers must be a positive integer or 'auto' (got ${requested}).`);
  }
  if (profile.syncReadback === false && requested > 1) {
    // a GPU device without synchronous read-back (webgpu): the worker threads would each need their own device
    throw new UserError(`--workers ${requested}: the ${profile.name ?? 'GPU'} backend runs one worker (one device); use --workers 1 or auto.`);
  }
  if (requested > batch) throw new UserError(`--workers ${requested} exceeds the batch of ${batch} sequences; use at most ${batch}.`);
  return requested;
}

/** Rows the busiest worker computes per step (the share micro-batches are cut from). */
export function rowsPerWorker(batch: number, workers: number): number {
  let most = 0;
  for (let r = 0; r < workers; r++) {
    const [a, b] = rowShare(batch, workers, r);
    most = Math.max(most, b - a);
  }
  return most;
}

/** Parses a --workers value: a positive integer or 'auto'. */
export function parseWorkers(v: unknown): number | 'auto' {
  if (v === undefined || v === 'auto') return 'auto';
  const n = Number(v);
  if (!(Number.isInteger(n) && n >= 1)) throw new UserError(`--workers must be a positive integer or 'auto' (got '${String(v)}').`);
  return n;
}

/**
 * Sequences per forward/backward pass on each worker: the configured number
 * (at most the worker's share of the batch), or for 'auto' the largest divisor of
 * the share whose forward+backward fits `budget` bytes (each worker thread has its
 * own backend, hence its own memory budget).
 */
export function workerMicroBatch(cfg: ResolvedModelConfig, microBatch: number | 'auto', batch: number, workers: number, budget: number): number {
  const share = rowsPerWorker(batch, workers);
  return microBatch === 'auto' ? chooseMicroBatch(cfg, share, budget) : Math.min(microBatch, share);
}
