/**
 * Training batches and evaluation windows over a token stream.
 *
 * A window is context+1 consecutive tokens starting at s: x = tokens[s .. s+context),
 * y = tokens[s+1 .. s+context] (next-token targets, x shifted by one).
 * Valid starts: s in [0, n - context - 1], i.e. n - context choices.
 */
import { UserError } from '../util/errors.ts';
import { hashSeed, Rng } from '../util/rng.ts';

export interface Batch {
  /** Inputs, row-major [rows, context]. */
  x: Int32Array;
  /** Targets, row-major [rows, context]: y[r, t] = x[r, t + 1] within the window. */
  y: Int32Array;
  rows: number;
}

/** Domain tag so eval windows never coincide with train step 0's draws for the same seed. */
const EVAL_DOMAIN = 0x4556414c; // "EVAL"

function checkLength(tokens: Int32Array, context: number, what: string): void {
  if (!Number.isInteger(context) || context < 1) throw new UserError(`${what}: context must be a positive integer (got ${context}).`);
  if (tokens.length < context + 1) {
    throw new UserError(
      `${what}: the split has ${tokens.length} tokens, fewer than context + 1 = ${context + 1}. Use a smaller context.`,
    );
  }
}

function copyWindow(tokens: Int32Array, s: number, context: number, x: Int32Array, y: Int32Array, row: number): void {
  x.set(tokens.subarray(s, s + context), row * context);
  y.set(tokens.subarray(s + 1, s + context + 1), row * context);
}

export class BatchSampler {
  readonly batchSize: number;
  readonly context: number;
  readonly seed: number;

  constructor(
    private readonly tokens: Int32Array,
    o: { batch: number; context: number; seed: number },
  ) {
    if (!Number.isInteger(o.batch) || o.batch < 1) throw new UserError(`batch size must be a positive integer (got ${o.batch}).`);
    checkLength(tokens, o.context, 'BatchSampler');
    this.batchSize = o.batch;
    this.context = o.context;
    this.seed = o.seed;
  }

  /** Start of row r of step `step`'s batch: uniform over the n - context valid starts. */
  start(step: number, row: number): number {
    return new Rng(hashSeed(this.seed, step, row)).int(this.tokens.length - this.context);
  }

  /**
   * Rows [from, to) of step `step`'s batch; row r is a window of context+1 tokens whose start is drawn
   * from Rng(hashSeed(seed, step, r)) — stateless, so resume and data-parallel workers are trivially exact.
   */
  batch(step: number, from = 0, to = this.batchSize): Batch {
    if (!(Number.isInteger(from) && Number.isInteger(to) && 0 <= from && from <= to && to <= this.batchSize)) {
      throw new RangeError(`batch rows [${from}, ${to}) outside [0, ${this.batchSize})`);
    }
    const rows = to - from;
    const T = this.context;
    const x = new Int32Array(rows * T);
    const y = new Int32Array(rows * T);
    for (let i = 0; i < rows; i++) copyWindow(this.tokens, this.start(step, from + i), T, x, y, i);
    return { x, y, rows };
  }
}

/**
 * Fixed evaluation windows: `windows` seeded starts (window i from
 * Rng(hashSeed(seed, EVAL, i))), identical for every model and run with the
 * same (seed, context); or 'all' = the consecutive non-overlapping windows
 * s = 0, T, 2T, ... covering the whole split (floor((n-1)/T) rows; the last
 * partial window is left out).
 */
export function evalSet(tokens: Int32Array, o: { context: number; windows: number | 'all'; seed: number }): Batch {
  checkLength(tokens, o.context, 'evalSet');
  const T = o.context;
  if (o.windows === 'all') {
    const rows = Math.floor((tokens.length - 1) / T);
    const x = new Int32Array(rows * T);
    const y = new Int32Array(rows * T);
    for (let r = 0; r < rows; r++) copyWindow(tokens, r * T, T, x, y, r);
    return { x, y, rows };
  }
  if (!Number.isInteger(o.windows) || o.windows < 1) {
    throw new UserError(`eval windows must be a positive integer or 'all' (got ${o.windows}).`);
  }
  const rows = o.windows;
  const x = new Int32Array(rows * T);
  const y = new Int32Array(rows * T);
  for (let r = 0; r < rows; r++) {
    const s = new Rng(hashSeed(o.seed, EVAL_DOMAIN, r)).int(tokens.length - T);
    copyWindow(tokens, s, T, x, y, r);
  }
  return { x, y, rows };
}
