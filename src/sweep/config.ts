import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { loadModelConfig, parseModelConfig, resolveModelConfig, type ModelConfig } from '../model/config.ts';
import { paramCounts } from '../model/params.ts';
import { TrainConfigSchema, type TrainConfig } from '../train/config.ts';
import { UserError } from '../util/errors.ts';
import { PROJECT_ROOT } from '../util/paths.ts';
import { parseOrThrow } from '../util/zod.ts';

/**
 * A sweep file lists training runs in one of three ways:
 *
 *   { "base": {...}, "runs": [ { "model": "configs/models/786k.json", "lr": 1e-3 }, … ] }
 *       a base config plus per-run overrides;
 *   { "base": {...}, "grid": { "model": [...], "lr": [...], "seed": [...] } }
 *       the product of lists (sizes × learning rates × seeds × …);
 *   { "base": {...}, "isoflop": { "budgets": [1e13, 1e14], "models": [...] } }
 *       Chinchilla's IsoFLOP profiles (Approach 2): each model gets the number
 *       of steps that spends the budget, C ≈ 6·N·D with D = steps·batch·context;
 *       a model entry may be { "model": …, "lr": … } to give that size its own LR.
 *
 * `base` holds TrainConfig keys (tokenizer, dataset, steps, batch, lr, …) and
 * optionally `model`. A model is a preset path (relative to the sweep file or
 * the project) or an inline model config.
 */
const ModelRef = z.union([z.string().min(1), z.record(z.string(), z.unknown())]);

const RunFields = TrainConfigSchema.partial().extend({
  model: ModelRef.optional(),
  name: z.string().regex(/^[A-Za-z0-9_.+-]+$/, 'use letters, digits, and _ . + - only').optional(),
});

const GridFields = z
  .strictObject({
    model: z.array(ModelRef).min(1).optional(),
    lr: z.array(z.number().positive()).min(1).optional(),
    seed: z.array(z.number().int().min(0)).min(1).optional(),
    batch: z.array(z.number().int().positive()).min(1).optional(),
    steps: z.array(z.number().int().positive()).min(1).optional(),
    tokenizer: z.array(z.string()).min(1).optional(),
  })
  .refine((g) => Object.keys(g).length > 0, 'grid needs at least one list, e.g. "model": [...]');

/**
 * One size of an IsoFLOP ladder: a model, or { "model": …, "lr": … } with that size's peak learning
 * rate (small transformers want a smaller one as they widen; the same LR for every size lets the
 * widest fail to train and bends the profiles).
 */
const IsoflopModel = z.union([
  z.string().min(1),
  z.strictObject({ model: ModelRef, lr: z.number().positive().optional() }),
  z.record(z.string(), z.unknown()).refine((r) => !('model' in r), 'an entry with "model" takes only "model" and "lr"'),
]);

const IsoflopFields = z.strictObject({
  budgets: z.array(z.number().positive()).min(1, 'give at least one compute budget in FLOPs'),
  models: z.array(IsoflopModel).min(1, 'give at least one model'),
  /** which parameter count N enters C = 6·N·D (default total, matching flops_6nd) */
  params: z.enum(['total', 'non-embedding']).default('total'),
  /** runs needing fewer steps than this are left out (their loss would mean little) */
  min_steps: z.number().int().positive().default(10),
  max_steps: z.number().int().positive().optional(),
});

export const SweepFileSchema = z
  .strictObject({
    $schema: z.string().optional(),
    name: z.string().regex(/^[A-Za-z0-9_.+-]+$/, 'use letters, digits, and _ . + - only').optional(),
    description: z.string().optional(),
    base: RunFields.strict().default({}),
    runs: z.array(RunFields.strict()).min(1).optional(),
    grid: GridFields.optional(),
    isoflop: IsoflopFields.optional(),
  })
  .superRefine((s, ctx) => {
    const kinds = (['runs', 'grid', 'isoflop'] as const).filter((k) => s[k] !== undefined);
    if (kinds.length !== 1)
      ctx.addIssue({
        code: 'custom',
        path: [],
        message: `a sweep needs exactly one of "runs", "grid" or "isoflop" (found ${kinds.length ? kinds.join(', ') : 'none'})`,
      });
  });

export type SweepFile = z.infer<typeof SweepFileSchema>;

export interface PlannedRun {
  /** folder name under the sweep dir */
  name: string;
  index: number;
  model: ModelConfig;
  modelSource: string;
  train: TrainConfig;
  params_total: number;
  params_non_embedding: number;
  vocab: number;
  tokens: number;
  flops_6nd: number;
  budget_flops?: number;
}

export interface SweepPlan {
  name: string;
  kind: 'runs' | 'grid' | 'isoflop';
  file: string;
  raw: SweepFile;
  runs: PlannedRun[];
  skipped: string[];
}

/** Vocabulary size of a tokenizer spec, without building the tokenizer. */
export function vocabOf(spec: string, where: string): number {
  if (spec === 'gpt2') return 50257;
  if (spec === 'byte') return 256;
  const m = /^bpe:(\d+)$/.exec(spec);
  if (m) return Number(m[1]);
  throw new UserError(`${where}: tokenizer "${spec}" is not one of gpt2, byte, bpe:N`);
}

function loadModelRef(ref: string | Record<string, unknown>, fileDir: string, where: string): { model: ModelConfig; source: string } {
  if (typeof ref !== 'string') return { model: parseModelConfig(ref, where), source: 'inline' };
  const candidates = isAbsolute(ref) ? [ref] : [...new Set([resolve(fileDir, ref), resolve(PROJECT_ROOT, ref), resolve(ref)])];
  const path = candidates.find((p) => existsSync(p));
  if (!path)
    throw new UserError(`${where}: model file "${ref}" not found (looked in ${candidates.join(', ')}). Use a path like configs/models/786k.json.`);
  const model = loadModelConfig(path);
  return { model: { ...model, name: model.name ?? basename(path, '.json') }, source: ref };
}

function fmtNum(x: number): string {
  return x.toExponential(0).replace('+', '');
}

/** Read, validate and expand a sweep file into concrete runs. CLI overrides win over the file. */
export function loadSweep(file: string, overrides: Partial<TrainConfig> = {}): SweepPlan {
  if (!existsSync(file)) throw new UserError(`sweep file ${file} not found`);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new UserError(`${file} is not valid JSON: ${(e as Error).message}`);
  }
  const s = parseOrThrow(SweepFileSchema, raw, file, 'See configs/sweep.json for an example.');
  // Validation above fills in defaults; merge the values the file actually gives, so that a
  // per-run default never hides the base (TrainConfigSchema applies the defaults once, below).
  const given = raw as { base?: Record<string, unknown>; runs?: Record<string, unknown>[]; grid?: Record<string, unknown[]> };
  const dir = dirname(resolve(file));
  const name = s.name ?? basename(file, '.json');
  const { model: baseModel, name: _ignored, ...baseTrain } = (given.base ?? {}) as Record<string, unknown> & {
    model?: string | Record<string, unknown>;
  };

  type Spec = { name?: string; model?: string | Record<string, unknown>; train: Record<string, unknown>; budget?: number };
  let specs: Spec[] = [];
  let kind: SweepPlan['kind'];
  if (s.runs) {
    kind = 'runs';
    specs = given.runs!.map(({ model, name, ...rest }) => ({
      name: name as string | undefined,
      model: (model as Spec['model']) ?? baseModel,
      train: { ...baseTrain, ...rest },
    }));
  } else if (s.grid) {
    kind = 'grid';
    const axes = Object.entries(s.grid).filter(([, v]) => v !== undefined) as [string, unknown[]][];
    let combos: Record<string, unknown>[] = [{}];
    for (const [k, values] of axes) combos = combos.flatMap((c) => values.map((v) => ({ ...c, [k]: v })));
    specs = combos.map(({ model, ...rest }) => ({ model: (model as Spec['model']) ?? baseModel, train: { ...baseTrain, ...rest } }));
  } else {
    kind = 'isoflop';
    const iso = s.isoflop!;
    const sizes = iso.models.map((m) =>
      typeof m === 'object' && 'model' in m
        ? { model: m.model as Spec['model'], train: m.lr !== undefined ? { ...baseTrain, lr: m.lr } : { ...baseTrain } }
        : { model: m as Spec['model'], train: { ...baseTrain } },
    );
    specs = iso.budgets.flatMap((budget) => sizes.map(({ model, train }) => ({ model, train: { ...train }, budget })));
  }

  const runs: PlannedRun[] = [];
  const skipped: string[] = [];
  const names = new Set<string>();
  specs.forEach((spec, i) => {
    const where = `${file}: run ${i + 1}`;
    if (spec.model === undefined) throw new UserError(`${where}: no "model" (give one per run or in "base")`);
    const { model, source } = loadModelRef(spec.model, dir, where);
    const train = parseOrThrow(TrainConfigSchema, { ...spec.train, ...overrides }, where);
    const vocab = vocabOf(train.tokenizer, where);
    const counts = paramCounts(resolveModelConfig(model, vocab));
    const tokensPerStep = train.batch * model.context;
    let budget: number | undefined;
    if (spec.budget !== undefined) {
      budget = spec.budget;
      const iso = s.isoflop!;
      const n = iso.params === 'total' ? counts.total : counts.non_embedding;
      const steps = Math.round(budget / (6 * n * tokensPerStep));
      const label = `C${fmtNum(budget)}-${model.name}`;
      if (steps < iso.min_steps || (iso.max_steps && steps > iso.max_steps)) {
        skipped.push(`${label}: the budget gives ${steps} steps, outside [${iso.min_steps}, ${iso.max_steps ?? '∞'}]`);
        return;
      }
      train.steps = overrides.steps ?? steps;
    }
    let runName = spec.name;
    if (!runName) {
      const parts = [budget !== undefined ? `C${fmtNum(budget)}` : null, model.name ?? `model${i}`];
      if (kind === 'grid' && s.grid) {
        for (const k of Object.keys(s.grid)) {
          if (k === 'model') continue;
          const v = (train as Record<string, unknown>)[k];
          parts.push(`${k}${typeof v === 'number' ? (k === 'lr' ? fmtNum(v) : v) : String(v).replace(/[^A-Za-z0-9]/g, '')}`);
        }
      }
      runName = parts.filter(Boolean).join('-');
    }
    if (names.has(runName)) throw new UserError(`${where}: two runs are named "${runName}"; give them distinct "name"s`);
    names.add(runName);
    runs.push({
      name: runName,
      index: runs.length,
      model,
      modelSource: source,
      train,
      params_total: counts.total,
      params_non_embedding: counts.non_embedding,
      vocab,
      tokens: train.steps * tokensPerStep,
      flops_6nd: 6 * counts.total * train.steps * tokensPerStep,
      budget_flops: budget,
    });
  });
  if (runs.length === 0) throw new UserError(`${file}: the sweep has no runs${skipped.length ? ` (all skipped: ${skipped.join('; ')})` : ''}`);
  return { name, kind, file, raw: s, runs, skipped };
}

/** Parse "--shard i/n" (0 ≤ i < n). */
export function parseShard(s: string): { index: number; count: number } {
  const m = /^(\d+)\/(\d+)$/.exec(s.trim());
  if (!m) throw new UserError(`--shard "${s}" must look like i/n, e.g. 0/4 (run every 4th run starting at the first)`);
  const index = Number(m[1]);
  const count = Number(m[2]);
  if (count < 1 || index >= count) throw new UserError(`--shard ${s}: need 0 ≤ i < n`);
  return { index, count };
}
