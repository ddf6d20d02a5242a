/**
 * fit.json — the FitReport that `chinchilla fit` writes (src/fit/sweep.ts) and
 * that `plot`, `plan --law` and the report read. One schema for writer and
 * readers; `schema_version` says which.
 *
 *   version 2: final points by default, design/identifiability, bootstrap
 *              intervals on every a and b, Approach 2 windows, agreement.
 *   version 1 (no schema_version): older fits; read for plan/plot, with a note
 *              that their numbers predate the honest defaults (re-run `chinchilla fit`).
 *
 * The file name carries the conventions: fit.json is the default fit (N = total
 * parameters, C = flops_6nd, final points); any other fit is written to a name
 * that says so (fitFileName), unless the user asks to replace fit.json.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import type { FitConventions, FitReport } from '../fit/types.ts';
import { UserError } from '../util/errors.ts';
import { writeJsonAtomic } from '../util/atomic.ts';

export const FIT_SCHEMA_VERSION = 2;

export const DEFAULT_CONVENTIONS: FitConventions = { n: 'total', flops: 'flops_6nd', points: 'final', min_step: 0 };

const num = z.number();
const exponent = z.looseObject({ exponent: num, coefficient: num, r2: num, points: num }).nullable();
const identifiability = z.object({ identifiable: z.boolean(), reason: z.string().optional() });
const interval = z.tuple([num, num]);
const exponentIntervals = z.object({ a: interval.optional(), b: interval.optional(), samples: num, drawn: num, level: num });

const runRow = z.looseObject({
  run: z.string(),
  params: num,
  params_total: num,
  params_non_embedding: num,
  final_val_loss: num,
  tokens: num,
  compute: num,
  final_val_loss_se: num.nullable().optional(),
  final_eval_tokens: num.nullable().optional(),
  final_source: z.enum(['final_eval', 'last_row']).optional(),
  budget_flops: num.optional(),
});

const profile = z.looseObject({
  budget: num,
  budget_nominal: num.optional(),
  points: z.array(z.looseObject({ params: num, tokens: num, loss: num, run: z.string() })),
  parabola: z.tuple([num, num, num]).nullable(),
  n_opt: num.nullable(),
  d_opt: num.nullable(),
  loss_opt: num.nullable(),
  note: z.string().optional(),
  edge_minimum: z.enum(['smallest', 'largest']).optional(),
  window: z.object({ ln_n_half_width: num, runs: z.array(z.string()) }).optional(),
});

const approach1 = z.looseObject({
  envelope: z.array(z.looseObject({ compute: num, loss: num, run: z.string(), params: num, tokens: num, bracketed: z.boolean().optional() })),
  n_opt: exponent,
  d_opt: exponent,
  design: identifiability.optional(),
  ci: exponentIntervals.optional(),
  warnings: z.array(z.string()),
});

const approach2 = z.looseObject({
  source: z.enum(['isoflop', 'interpolated']),
  profiles: z.array(profile),
  n_opt: exponent,
  d_opt: exponent,
  window_ln_n: num.optional(),
  design: identifiability.optional(),
  ci: exponentIntervals.optional(),
  warnings: z.array(z.string()),
});

const approach3 = z
  .looseObject({
    E: num,
    A: num,
    B: num,
    alpha: num,
    beta: num,
    a: num,
    b: num,
    huber_loss: num,
    points: num,
    ci: z.record(z.string(), interval).optional(),
    design: identifiability.optional(),
    separability: z
      .looseObject({
        separable: z.boolean(),
        summary: z.string(),
        sizes: z.array(z.looseObject({ N: num, runs: num, D_lo: num, D_hi: num, slope: num, slope_se: num, law_slope: num })),
      })
      .optional(),
    warnings: z.array(z.string()),
  })
  .nullable();

export const FitJsonSchema = z.looseObject({
  schema_version: z.number().int().optional(),
  sweep_dir: z.string(),
  n: z.enum(['total', 'non-embedding']),
  flops: z.enum(['flops_6nd', 'flops_kaplan', 'flops_chinchilla']),
  runs: z.array(runRow),
  per_run: z.array(z.looseObject({ run: z.string(), slope: num, intercept: num })),
  approach1,
  approach2,
  approach3,
  approach3_design: identifiability.optional(),
  agreement: z
    .object({
      a: z.array(z.object({ approach: z.union([z.literal(1), z.literal(2), z.literal(3)]), value: num, ci: interval.optional(), identifiable: z.boolean() })),
      spread: num.nullable(),
      summary: z.string(),
    })
    .optional(),
  warnings: z.array(z.string()),
  created_at: z.string(),
  options: z
    .looseObject({ points: z.enum(['all', 'final']), min_step: num, bootstrap: num, seed: num, grid: z.enum(['full', 'coarse']), window_ln_n: num.optional() })
    .optional(),
});

/** The conventions of a fit (old fits without options used every evaluation). */
export function conventionsOf(r: Pick<FitReport, 'n' | 'flops' | 'options'>): FitConventions {
  return { n: r.n, flops: r.flops, points: r.options?.points ?? 'all', min_step: r.options?.min_step ?? 0 };
}

export function isDefaultConventions(c: FitConventions): boolean {
  return c.n === DEFAULT_CONVENTIONS.n && c.flops === DEFAULT_CONVENTIONS.flops && c.points === DEFAULT_CONVENTIONS.points && c.min_step === 0;
}

/** "N = params_total, C = flops_6nd, Approach 3 on final points" */
export function describeConventions(c: FitConventions): string {
  const n = c.n === 'total' ? 'params_total' : 'params_non_embedding';
  const pts = c.points === 'final' ? "each run's final loss" : 'every evaluation (--points all)';
  return `N = ${n}, C = ${c.flops}, Approach 3 on ${pts}${c.min_step ? `, evaluations from step ${c.min_step}` : ''}`;
}

/** fit.json for the default conventions, else e.g. fit.n-non-embedding.flops_kaplan.points-all.json. */
export function fitFileName(c: FitConventions): string {
  if (isDefaultConventions(c)) return 'fit.json';
  const parts: string[] = [];
  if (c.n !== DEFAULT_CONVENTIONS.n) parts.push(`n-${c.n}`);
  if (c.flops !== DEFAULT_CONVENTIONS.flops) parts.push(c.flops);
  if (c.points !== DEFAULT_CONVENTIONS.points) parts.push(`points-${c.points}`);
  if (c.min_step) parts.push(`min-step-${c.min_step}`);
  return `fit.${parts.join('.')}.json`;
}

export function fitJsonPath(sweepDir: string): string {
  return join(sweepDir, 'fit.json');
}

/** Parse a fit.json's text; a UserError naming the file and the fix when it is not one. */
export function parseFitJson(raw: unknown, where: string): FitReport {
  const r = FitJsonSchema.safeParse(raw);
  if (!r.success) {
    const first = r.error.issues[0]!;
    throw new UserError(
      `${where}: not a fit report (${first.path.join('.') || 'top level'}: ${first.message}); re-create it with \`chinchilla fit <sweep>\``,
    );
  }
  const v = r.data.schema_version ?? 1;
  if (v > FIT_SCHEMA_VERSION) {
    throw new UserError(`${where}: fit.json schema_version ${v} is newer than this chinchilla-lab reads (${FIT_SCHEMA_VERSION}); update the project`);
  }
  return r.data as unknown as FitReport;
}

export function readFitJson(path: string): FitReport {
  if (!existsSync(path)) throw new UserError(`${path}: no such file; run \`chinchilla fit <sweep>\` first`);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new UserError(`${path}: not valid JSON (${(e as Error).message}); re-create it with \`chinchilla fit <sweep>\``);
  }
  return parseFitJson(raw, path);
}

export function writeFitJson(path: string, report: FitReport): void {
  writeJsonAtomic(path, { ...report, schema_version: FIT_SCHEMA_VERSION });
}
