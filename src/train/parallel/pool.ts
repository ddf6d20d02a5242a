/**
 * Data parallelism over worker threads, for CPU backends (wasm, cpu) whose
 * kernels run on one core. Rank 0 is the calling thread, with the model and the
 * optimizer; ranks 1…W−1 are worker threads with their own backend instance
 * and model copy. Each step:
 *
 *   1. main writes its weights to a shared buffer               (communication)
 *   2. every rank computes the gradient of its share of the batch's rows,
 *      (rows_m/batch)·∇loss_m summed over its micro-batches      (data, forward, backward)
 *   3. main reads its own gradient, waits for the others         (communication, wait)
 *   4. main sums the shares in rank order and uploads the sum    (communication)
 * and the caller clips and applies one AdamW update on main. The sum of the
 * shares is the gradient of the batch-mean loss, as with one thread; the fixed
 * rank order makes a run reproducible for a given worker count.
 */
import * as tf from '@tensorflow/tfjs';
import { Worker } from 'node:worker_threads';
import type { BackendName } from '../../backend.ts';
import type { BatchSampler } from '../../data/batches.ts';
import type { GPT } from '../../model/gpt.ts';
import type { KernelLayouts } from '../../model/kernels/layouts.ts';
import type { ChunkResults, EvalPool, EvalSetId } from '../evaluate.ts';
import { accumulateGradients, noTimer, type StepPhase, type StepTimer } from '../gradients.ts';
import { flatLayout, rowShare, type EvalSetSpec, type FromWorker, type ToWorker, type WorkerInit } from './protocol.ts';

export interface PoolOptions {
  /** total ranks including this thread (≥ 2 to start any worker thread) */
  workers: number;
  /** the backend this thread runs (each worker initialises the same one) */
  backend: BackendName;
  /** kernel layouts of the backend profile (each worker builds its model with them) */
  kernels: KernelLayouts;
  model: GPT;
  tokens: Int32Array;
  /** validation tokens and the evaluation sets the workers may be asked to evaluate (absent: training only) */
  validation?: Int32Array;
  evalSets?: Record<EvalSetId, EvalSetSpec>;
  sampler: BatchSampler;
  batch: number;
  microBatch: number;
  seed: number;
}

interface Remote {
  worker: Worker;
  grads: Float32Array;
  /** the reply the worker owes, if a request is in flight */
  pending: { resolve: (m: FromWorker) => void; reject: (e: Error) => void } | null;
  failure: Error | null;
}

export class WorkerPool implements EvalPool {
  /** summed phase times (ms) of each worker thread since the last takeWorkerPhases() */
  private workerPhases: Partial<Record<StepPhase, number>>[];
  private closed = false;

  private constructor(
    private readonly o: PoolOptions,
    private readonly remotes: Remote[],
    private readonly weights: Float32Array,
    private readonly offsets: number[],
    private readonly total: number,
  ) {
    this.workerPhases = remotes.map(() => ({}));
  }

  /** Total ranks (this thread included). */
  get size(): number {
    return this.remotes.length + 1;
  }

  /** Starts workers−1 threads and waits until each has its backend and model. */
  static async start(o: PoolOptions): Promise<WorkerPool> {
    if (!(Number.isInteger(o.workers) && o.workers >= 2)) throw new RangeError(`a pool needs at least 2 ranks (got ${o.workers})`);
    if (o.workers > o.batch) throw new RangeError(`${o.workers} workers for a batch of ${o.batch} rows: some would have none`);
    const { offsets, total } = flatLayout(o.model.params.map((p) => p.variable.size));
    const shared = (a: Int32Array) => {
      const b = new SharedArrayBuffer(a.byteLength);
      new Int32Array(b).set(a);
      return b;
    };
    const tokens = shared(o.tokens);
    const validation = o.validation ? shared(o.validation) : null;
    const weights = new SharedArrayBuffer(total * 4);
    const remotes: Remote[] = [];
    const pool = new WorkerPool(o, remotes, new Float32Array(weights), offsets, total);
    try {
      const ready: Promise<FromWorker>[] = [];
      for (let r = 1; r < o.workers; r++) {
        const grads = new SharedArrayBuffer(total * 4);
        const init: WorkerInit = {
          rank: r,
          backend: o.backend,
          model: o.model.config,
          kernels: o.kernels,
          tokens,
          validation,
          evalSets: o.evalSets ?? null,
          batch: o.batch,
          microBatch: o.microBatch,
          seed: o.seed,
          rows: rowShare(o.batch, o.workers, r),
          weights,
          grads,
        };
        const worker = new Worker(new URL('./bootstrap.js', import.meta.url), { workerData: init });
        worker.unref(); // never keeps the process alive, even if close() is missed
        const remote: Remote = { worker, grads: new Float32Array(grads), pending: null, failure: null };
        remotes.push(remote);
        pool.listen(remote, r);
        ready.push(pool.reply(remote));
      }
      for (const m of await Promise.all(ready)) if (m.type !== 'ready') throw new Error(`worker did not start: ${JSON.stringify(m)}`);
    } catch (e) {
      await pool.close();
      throw e;
    }
    return pool;
  }

  private listen(remote: Remote, rank: number): void {
    const fail = (e: Error) => {
      remote.failure ??= e;
      const p = remote.pending;
      remote.pending = null;
      p?.reject(remote.failure);
    };
    remote.worker.on('message', (m: FromWorker) => {
      if (m.type === 'error') return fail(new Error(`worker ${rank}: ${m.message}`));
      const p = remote.pending;
      remote.pending = null;
      p?.resolve(m);
    });
    remote.worker.on('error', (e) => fail(new Error(`worker ${rank} crashed: ${e.message}`)));
    remote.worker.on('exit', (code) => {
      if (!this.closed) fail(new Error(`worker ${rank} exited (code ${code})`));
    });
  }

  /** The next message of a worker. */
  private reply(remote: Remote): Promise<FromWorker> {
    if (remote.failure) return Promise.reject(remote.failure);
    return new Promise((resolve, reject) => (remote.pending = { resolve, reject }));
  }

  /** Writes main's current weights to the shared buffer (asynchronous read-back). */
  private async publishWeights(): Promise<void> {
    const params = this.o.model.params;
    for (let i = 0; i < params.length; i++) this.weights.set((await params[i]!.variable.data()) as Float32Array, this.offsets[i]!);
  }

  /** Sends one request to every worker and returns their replies (in rank order). */
  private ask(messageFor: (rank: number) => ToWorker): Promise<FromWorker>[] {
    const replies = this.remotes.map((remote, k) => {
      const r = this.reply(remote);
      remote.worker.postMessage(messageFor(k + 1));
      return r;
    });
    replies.forEach((r) => r.catch(() => {})); // observed by the caller; no unhandled rejection if this thread fails first
    return replies;
  }

  /**
   * Gradient (params order, on this thread's backend; the caller disposes it)
   * and mean loss of step `step`'s whole batch, computed across all ranks.
   */
  async gradients(step: number, timer: StepTimer = noTimer): Promise<{ grads: tf.Tensor[]; loss: number }> {
    if (this.closed) throw new Error('the worker pool is closed');
    const { model } = this.o;
    const profile = timer !== noTimer;
    let t0 = performance.now();
    await this.publishWeights();
    timer.record('communication', performance.now() - t0);
    const replies = this.ask(() => ({ type: 'step', step, profile }));
    // rank 0's share, on this thread, while the workers compute theirs
    const [from, to] = rowShare(this.o.batch, this.size, 0);
    const local = accumulateGradients(this.o, step, from, to, timer);
    t0 = performance.now();
    const sum = new Float32Array(this.total);
    for (let i = 0; i < local.grads.length; i++) sum.set((await local.grads[i]!.data()) as Float32Array, this.offsets[i]!);
    let loss = (await local.loss.data())[0]!;
    timer.record('communication', performance.now() - t0);
    tf.dispose([...local.grads, local.loss]);
    t0 = performance.now();
    const done = await Promise.all(replies);
    timer.record('wait', performance.now() - t0);
    const grads = timer.phase('communication', () => {
      done.forEach((m, k) => {
        if (m.type !== 'done' || m.step !== step) throw new Error(`worker ${k + 1} answered ${JSON.stringify(m)} to step ${step}`);
        loss += m.loss;
        const g = this.remotes[k]!.grads;
        for (let i = 0; i < this.total; i++) sum[i]! += g[i]!;
        if (profile) for (const [ph, ms] of Object.entries(m.phases)) this.workerPhases[k]![ph as StepPhase] = (this.workerPhases[k]![ph as StepPhase] ?? 0) + ms;
      });
      return model.params.map((p, i) => tf.tensor(sum.subarray(this.offsets[i]!, this.offsets[i]! + p.variable.size), p.variable.shape));
    });
    return { grads, loss };
  }

  /**
   * Window losses of evaluation set `set` with main's current weights: worker r
   * computes chunks[r] (chunks[0], this thread's, is the caller's to compute).
   */
  async evaluate(set: EvalSetId, chunks: [number, number][][]): Promise<ChunkResults[]> {
    if (this.closed) throw new Error('the worker pool is closed');
    await this.publishWeights();
    const replies = this.ask((r) => ({ type: 'eval', set, chunks: chunks[r] ?? [] }));
    const done = await Promise.all(replies);
    return [
      { means: [], windows: new Float32Array(0) },
      ...done.map((m, k) => {
        if (m.type !== 'evaluated' || m.set !== set) throw new Error(`worker ${k + 1} answered ${JSON.stringify(m)} to an evaluation of ${set}`);
        return { means: m.means, windows: m.windows };
      }),
    ];
  }

  /** Each worker thread's phase times (ms, summed over the steps since the last call). */
  takeWorkerPhases(): Partial<Record<StepPhase, number>>[] {
    const out = this.workerPhases;
    this.workerPhases = this.remotes.map(() => ({}));
    return out;
  }

  /** Stops every worker thread (idempotent). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(this.remotes.map((r) => r.worker.terminate()));
  }
}
