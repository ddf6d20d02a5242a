import { availableParallelism } from 'node:os';
import type { BackendName } from '../../backend.ts';
import type { ResolvedModelConfig } from '../../model/config.ts';
import { chooseMicroBatch } from '../memory.ts';
import { UserError } from '../../util/errors.ts';
import { rowShare } from './protocol.ts';

/**
 * Default number of data-parallel workers: one per core on the backends whose
 * kernels run on a single core (wasm — tfjs runs it single-threaded under Node —
 * and the pure-JS cpu backend); 1 on tensorflow-gpu (one device) and on
 * tensorflow (libtensorflow already spreads every op over all cores).
 */
export function defaultWorkers(backend: BackendName): number {
  return backend === 'wasm' || backend === 'cpu' ? availableParallelism() : 1;
}

/**
 * The worker count a run uses: `requested` ('auto' or undefined → defaultWorkers),
 * at most one per row of the batch. A number below 1 or not an integer is a UserError.
 */
export function resolveWorkers(requested: number | 'auto' | undefined, backend: BackendName, batch: number): number {
  if (requested === undefined || requested === 'auto') return Math.max(1, Math.min(defaultWorkers(backend), batch));
  if (!(Number.isInteger(requested) && requested >= 1)) {
    throw new UserError(`--workers must be a positive integer or 'auto' (got ${requested}).`);
  }
  if (backend === 'webgpu' && requested > 1) {
    throw new UserError(`--workers ${requested}: the webgpu backend runs one worker (one GPU device, whose worker threads could only read back synchronously); use --workers 1 or auto.`);
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

/** The worker count CHINCHILLA_WORKERS asks for ('auto' when unset); the --workers flag of train and sweep sets it. */
export function workersFromEnv(): number | 'auto' {
  const v = process.env.CHINCHILLA_WORKERS;
  return v === undefined || v === '' ? 'auto' : parseWorkers(v);
}
