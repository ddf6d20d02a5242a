/**
 * Budget planning (`chinchilla plan`): the compute-optimal model for a FLOPs
 * budget under a scaling law, Kaplan et al.'s allocation for comparison, and
 * the inference-aware optimum of Sardana & Frankle 2023 ("Beyond
 * Chinchilla-Optimal: Accounting for Inference in Language Model Scaling Laws"):
 * the model that reaches the same loss as the Chinchilla-optimal one with the
 * least training + inference compute 6·N·D + 2·N·T.
 */
import { UserError } from '../util/errors.ts';
import { computeOptimal, eq4, kaplanAllocation, lawLoss, minParamsForLoss, tokensForLoss, type Law } from './laws.ts';

export { CHINCHILLA_TOKENS_PER_PARAM } from './laws.ts';

export interface Allocation {
  params: number;
  tokens: number;
  tokens_per_param: number;
  /** loss predicted by the plan's law */
  loss: number;
  /** training FLOPs, 6ND */
  training_flops: number;
}

export interface InferencePlan extends Allocation {
  inference_tokens: number;
  /** tokens_per_param over the law's own compute-optimal tokens/parameter at this budget (how many times over-trained) */
  times_optimal_tokens_per_param: number;
  /** the law's compute-optimal tokens/parameter at this budget (≈20 for Chinchilla-like laws) */
  optimal_tokens_per_param: number;
  /** 2·N·T */
  inference_flops: number;
  total_flops: number;
  /** the compute-optimal model's 6ND + 2NT, for comparison */
  compute_optimal_total_flops: number;
  /** 1 − total / compute-optimal total */
  saving: number;
}

export interface Plan {
  flops: number;
  law: Law;
  compute_optimal: Allocation & { a?: number; b?: number; G?: number };
  kaplan: Allocation & { note: string };
  inference?: InferencePlan;
}

function allocation(law: Law, N: number, D: number): Allocation {
  return { params: N, tokens: D, tokens_per_param: D / N, loss: lawLoss(law, N, D), training_flops: 6 * N * D };
}

/** Golden-section search for the minimum of f on [lo, hi] (f unimodal there). */
function goldenMin(f: (x: number) => number, lo: number, hi: number, tol = 1e-10): number {
  const r = (Math.sqrt(5) - 1) / 2;
  let a = lo;
  let b = hi;
  let c = b - r * (b - a);
  let d = a + r * (b - a);
  let fc = f(c);
  let fd = f(d);
  while (b - a > tol * Math.max(1, Math.abs(a) + Math.abs(b))) {
    if (fc < fd) {
      b = d;
      d = c;
      fd = fc;
      c = b - r * (b - a);
      fc = f(c);
    } else {
      a = c;
      c = d;
      fc = fd;
      d = a + r * (b - a);
      fd = f(d);
    }
  }
  return (a + b) / 2;
}

/**
 * The model reaching `target` loss with the least 6·N·D(N) + 2·N·T, where D(N)
 * solves L(N, D) = target. Searched over ln N between the smallest model that
 * can reach the target and 100× nCap: a coarse scan brackets the minimum, then a
 * golden-section search refines it.
 */
export function inferenceOptimal(law: Law, target: number, T: number, nCap: number): { N: number; D: number } {
  const total = (lnN: number) => {
    const N = Math.exp(lnN);
    const D = tokensForLoss(law, N, target);
    return 6 * N * D + 2 * N * T;
  };
  const lo = Math.log(minParamsForLoss(law, target)) + 1e-9;
  const hi = Math.log(nCap * 100);
  if (!(hi > lo)) throw new UserError(`plan: no model up to ${(nCap * 100).toExponential(2)} parameters reaches loss ${target}`);
  const K = 2000;
  let best = 0;
  let bestF = Infinity;
  const xs = Array.from({ length: K + 1 }, (_, i) => lo + ((hi - lo) * i) / K);
  xs.forEach((x, i) => {
    const f = total(x);
    if (f < bestF) {
      bestF = f;
      best = i;
    }
  });
  const lnN = goldenMin(total, xs[Math.max(0, best - 1)]!, xs[Math.min(K, best + 1)]!);
  const N = Math.exp(lnN);
  return { N, D: tokensForLoss(law, N, target) };
}

export function planBudget(law: Law, C: number, o: { inferenceTokens?: number } = {}): Plan {
  if (!(C > 0) || !Number.isFinite(C)) throw new UserError(`plan: FLOPs must be a positive number (got ${C})`);
  const opt = computeOptimal(law, C);
  const compute_optimal: Plan['compute_optimal'] = allocation(law, opt.N, opt.D);
  if (law.kind === 'chinchilla') {
    Object.assign(compute_optimal, eq4(law));
  }
  const k = kaplanAllocation(C);
  const plan: Plan = {
    flops: C,
    law,
    compute_optimal,
    kaplan: {
      ...allocation(law, k.N, k.D),
      note: "Kaplan et al. 2020: N = 1.3e9·(C/8.64e19)^0.73, D = C/(6N); loss under this plan's law",
    },
  };
  const T = o.inferenceTokens;
  if (T !== undefined) {
    if (!(T >= 0) || !Number.isFinite(T)) throw new UserError(`plan: --inference-tokens must be a number ≥ 0 (got ${T})`);
    const target = compute_optimal.loss;
    const inf = inferenceOptimal(law, target, T, opt.N);
    const a = allocation(law, inf.N, inf.D);
    const optTotal = 6 * opt.N * opt.D + 2 * opt.N * T;
    const total = a.training_flops + 2 * inf.N * T;
    plan.inference = {
      ...a,
      inference_tokens: T,
      times_optimal_tokens_per_param: a.tokens_per_param / compute_optimal.tokens_per_param,
      optimal_tokens_per_param: compute_optimal.tokens_per_param,
      inference_flops: 2 * inf.N * T,
      total_flops: total,
      compute_optimal_total_flops: optTotal,
      saving: 1 - total / optTotal,
    };
  }
  return plan;
}

/** Parse a FLOPs or token count: "5.76e23", "1e21", "576000000000000000000000" (> 0, or ≥ 0 with allowZero). */
export function parseCount(s: string | number, what: string, o: { allowZero?: boolean } = {}): number {
  const text = String(s).trim().replace(/_/g, '');
  if (!/^[+]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/.test(text)) {
    throw new UserError(`${what}: "${s}" is not a number; write e.g. 5.76e23 or 1000000`);
  }
  const v = Number(text);
  if (!Number.isFinite(v) || v < 0 || (v === 0 && !o.allowZero)) {
    throw new UserError(`${what}: ${s} must be a ${o.allowZero ? 'non-negative' : 'positive'}, finite number`);
  }
  return v;
}
