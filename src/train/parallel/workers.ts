import type { BackendProfile } from '../../backend.ts';
import type { ResolvedModelConfig } from '../../model/config.ts';
import { chooseMicroBatch } from '../memory.ts';
import { UserError } from '../../util/errors.ts';
import { rowShare } from './protocol.ts';

/**
 * The worker count a run uses: `requested` ('auto' or undefined → the backend
 * profile's defaultWorkers), at most one per row of the batch. A number below 1
 * or not an integer is a UserError.
 */
export function resolveWorkers(requested: number | 'auto' | undefined, profile: Pick<BackendProfile, 'defaultWorkers'> & Partial<Pick<BackendProfile, 'name' | 'syncReadback'>>, batch: number): number {
  if (requested === undefined || requested === 'auto') return Math.max(1, Math.min(profile.defaultWorkers, batch));
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
