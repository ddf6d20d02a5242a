/**
 * Where a step's time goes, for `bench --profile`. Timing a phase of an
 * asynchronous backend needs a sync point: this profiler reads the phase's
 * smallest result back synchronously where the backend profile allows it
 * (syncReadback; every backend today), else it times only the dispatch. It is
 * the one synchronous read-back under src/train, and never runs in training or evaluation.
 */
import * as tf from '@tensorflow/tfjs';
import type { StepPhase, StepTimer } from './gradients.ts';

/**
 * A StepTimer that sums each phase's exclusive wall time (inner phases are not
 * counted in the outer one) and syncs on the smallest tensor a phase returns, so
 * that asynchronous backends are timed up to the end of the phase's work.
 */
export class PhaseTimer implements StepTimer {
  readonly totals: Partial<Record<StepPhase, number>> = {};
  private readonly inner: number[] = [];

  /** `sync`: read each phase's result back to time the work itself (needs a profile with syncReadback). */
  constructor(private readonly o: { sync: boolean } = { sync: true }) {}

  phase<T>(name: StepPhase, f: () => T): T {
    this.inner.push(0);
    const t0 = performance.now();
    const r = f();
    if (this.o.sync) syncOn(r);
    const dt = performance.now() - t0;
    const innerMs = this.inner.pop()!;
    this.totals[name] = (this.totals[name] ?? 0) + dt - innerMs;
    if (this.inner.length) this.inner[this.inner.length - 1]! += dt;
    return r;
  }

  record(name: StepPhase, ms: number): void {
    this.totals[name] = (this.totals[name] ?? 0) + ms;
  }

  /** Adds another timer's totals (e.g. a worker's) into this one. */
  add(totals: Partial<Record<StepPhase, number>>): void {
    for (const [k, v] of Object.entries(totals)) this.totals[k as StepPhase] = (this.totals[k as StepPhase] ?? 0) + v;
  }
}

/** Reads the smallest tensor found in r (a tensor, an array or an object of them): a sync point. */
function syncOn(r: unknown): void {
  const found: tf.Tensor[] = [];
  const visit = (v: unknown) => {
    if (v instanceof tf.Tensor) found.push(v);
    else if (Array.isArray(v)) v.forEach(visit);
    else if (v && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) Object.values(v).forEach(visit);
  };
  visit(r);
  const live = found.filter((t) => !t.isDisposed);
  if (live.length) live.reduce((a, b) => (b.size < a.size ? b : a)).dataSync();
}
