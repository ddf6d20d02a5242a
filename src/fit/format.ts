/**
 * Human-readable tables for `chinchilla fit` and `chinchilla plan`.
 */
import { formatTable } from '../util/table.ts';
import type { Plan } from './plan.ts';
import type { Approach3, ExponentIntervals, FitReport, Identifiability, ScalingExponent } from './types.ts';

const sci = (x: number | null | undefined, d = 2): string => (x === null || x === undefined || !Number.isFinite(x) ? '—' : x.toExponential(d));
const fix = (x: number | null | undefined, d = 3): string => (x === null || x === undefined || !Number.isFinite(x) ? '—' : x.toFixed(d));

/** Left-aligned first column, right-aligned others, a rule under the header (src/util/table.ts). */
export function table(header: string[], rows: string[][]): string {
  return formatTable(header, rows, { rule: true });
}

function designLine(d: Identifiability | undefined, ci?: ExponentIntervals): string {
  const interval = ci
    ? `  ${Math.round(ci.level * 100)}% bootstrap over runs (${ci.samples}/${ci.drawn}): a ${ci.a ? `[${fix(ci.a[0], 3)}, ${fix(ci.a[1], 3)}]` : '—'}, b ${ci.b ? `[${fix(ci.b[0], 3)}, ${fix(ci.b[1], 3)}]` : '—'}\n`
    : '';
  return interval + (d && !d.identifiable ? `  NOT IDENTIFIABLE: ${d.reason}` : d ? '  identified by the sweep design' : '');
}

function exponentLine(label: string, e: ScalingExponent | null): string {
  return e ? `  ${label} = ${sci(e.coefficient, 3)} · C^${fix(e.exponent, 3)}   (R² ${fix(e.r2, 3)}, ${e.points} points)` : `  ${label}: —`;
}

export function formatApproach3(f: Approach3 | null): string {
  if (!f) return '  no fit (see warnings)';
  const ci = (k: keyof NonNullable<Approach3['ci']>, d: number, s = false) => {
    const v = f.ci?.[k];
    return v ? `  [${s ? sci(v[0], 3) : fix(v[0], d)}, ${s ? sci(v[1], 3) : fix(v[1], d)}]` : '';
  };
  const lvl = f.ci ? ` (${Math.round((f.ci_level ?? 0.9) * 100)}% bootstrap intervals, ${f.bootstrap_samples} resamples)` : '';
  return [
    `  L(N, D) = E + A/N^α + B/D^β fitted to ${f.points} points${lvl}`,
    `    E     = ${fix(f.E, 4)}${ci('E', 4)}`,
    `    A     = ${sci(f.A, 4)}${ci('A', 0, true)}`,
    `    B     = ${sci(f.B, 4)}${ci('B', 0, true)}`,
    `    α     = ${fix(f.alpha, 4)}${ci('alpha', 4)}`,
    `    β     = ${fix(f.beta, 4)}${ci('beta', 4)}`,
    `    a = β/(α+β) = ${fix(f.a, 4)}${ci('a', 4)}   (N_opt ∝ C^a)`,
    `    b = α/(α+β) = ${fix(f.b, 4)}${ci('b', 4)}   (D_opt ∝ C^b)`,
    `    Huber loss (δ = 1e-3, summed) ${sci(f.huber_loss, 4)}; best of ${f.starts ?? '?'} L-BFGS starts${f.converged === false ? ' (not converged)' : ''}`,
  ].join('\n');
}

export function formatFitReport(r: FitReport): string {
  const out: string[] = [];
  const col = r.n === 'total' ? 'params_total' : 'params_non_embedding';
  out.push(`Scaling-law fits for ${r.sweep_dir || 'sweep'}: N = ${col}, C = ${r.flops}, L = val_loss, ${r.runs.length} run(s)`);
  out.push('');
  out.push('Runs');
  out.push(
    table(
      ['run', 'N', 'tokens', 'C', 'final loss'],
      r.runs.map((x) => [x.run, sci(x.params), sci(x.tokens), sci(x.compute), fix(x.final_val_loss, 4)]),
    ),
  );
  out.push('');
  out.push('Per-run loss vs compute: ln L = intercept + slope · ln C');
  out.push(
    table(
      ['run', 'N', 'points', 'C range', 'slope', 'intercept', 'R²'],
      r.per_run.map((p) => [p.run, sci(p.params), String(p.points), `${sci(p.c_min)}–${sci(p.c_max)}`, fix(p.slope, 4), fix(p.intercept, 3), fix(p.r2, 4)]),
    ),
  );
  out.push('');
  const a1 = r.approach1;
  const fitted = a1.fitted_points === 'all' ? a1.envelope : a1.envelope.filter((p) => p.bracketed);
  const onEnv = new Set(fitted.map((p) => p.run)).size;
  const which = a1.fitted_points === 'all' ? 'whole envelope fitted' : 'points bracketed by smaller and larger models';
  out.push(`Approach 1 (lower envelope of loss over compute; ${onEnv} model size(s) on it, ${which})`);
  out.push(exponentLine('N_opt', a1.n_opt));
  out.push(exponentLine('D_opt', a1.d_opt));
  out.push(designLine(a1.design, a1.ci));
  out.push('');
  const a2 = r.approach2;
  out.push(`Approach 2 (IsoFLOP profiles, ${a2.source === 'isoflop' ? 'from budget_flops runs' : 'interpolated along the curves'})`);
  if (a2.profiles.length) {
    out.push(
      table(
        ['budget C', 'sizes', 'N_opt', 'D_opt', 'L_opt', 'note'],
        a2.profiles.map((p) => [sci(p.budget), String(p.points.length), sci(p.n_opt), sci(p.d_opt), fix(p.loss_opt, 4), p.note ?? '']),
      ),
    );
  }
  out.push(exponentLine('N_opt', a2.n_opt));
  out.push(exponentLine('D_opt', a2.d_opt));
  out.push(designLine(a2.design, a2.ci));
  out.push('');
  out.push(`Approach 3 (parametric fit, Huber loss on ln L, L-BFGS)`);
  out.push(formatApproach3(r.approach3));
  const sep = r.approach3?.separability;
  if (sep) {
    out.push(`  Separability: ${sep.summary}`);
    out.push(
      table(
        ['N', 'runs', 'tokens', 'dL/d ln D', '± se', 'law'],
        sep.sizes.map((z) => [sci(z.N), String(z.runs), `${sci(z.D_lo)}–${sci(z.D_hi)}`, fix(z.slope, 3), fix(z.slope_se, 3), fix(z.law_slope, 3)]),
      ),
    );
  }
  out.push(designLine(r.approach3?.design ?? r.approach3_design));
  if (r.agreement) {
    out.push('');
    out.push(`Agreement: ${r.agreement.summary}`);
  }
  if (r.warnings.length) {
    out.push('');
    out.push('Warnings');
    for (const w of r.warnings) out.push(`  - ${w}`);
  }
  return out.join('\n');
}

export function formatPlan(p: Plan): string {
  const law = p.law;
  const lawDesc =
    law.kind === 'chinchilla'
      ? `L = ${law.E} + ${law.A}/N^${law.alpha} + ${law.B}/D^${law.beta}`
      : `L = [(${law.Nc.toExponential(1)}/N)^(${law.alphaN}/${law.alphaD}) + ${law.Dc.toExponential(1)}/D]^${law.alphaD}`;
  const out: string[] = [];
  out.push(`Budget C = ${sci(p.flops, 3)} FLOPs (C = 6ND), law ${law.name}: ${lawDesc}`);
  out.push(`  (${law.source})`);
  out.push('');
  const rows: string[][] = [];
  const row = (name: string, a: { params: number; tokens: number; tokens_per_param: number; loss: number; training_flops: number }) =>
    rows.push([name, sci(a.params, 3), sci(a.tokens, 3), fix(a.tokens_per_param, 1), fix(a.loss, 4), sci(a.training_flops, 3)]);
  row(law.kind === 'kaplan' ? 'compute-optimal (Kaplan allocation)' : 'compute-optimal (Chinchilla)', p.compute_optimal);
  if (law.kind !== 'kaplan') row('Kaplan 2020 allocation', p.kaplan);
  if (p.inference) row(`inference-aware (T = ${sci(p.inference.inference_tokens, 2)})`, p.inference);
  out.push(table(['allocation', 'params N', 'tokens D', 'D/N', 'loss', 'train FLOPs'], rows));
  if (p.compute_optimal.a !== undefined) {
    out.push('');
    out.push(
      `N_opt = G·(C/6)^a with G = (αA/(βB))^(1/(α+β)) = ${fix(p.compute_optimal.G, 4)}, a = ${fix(p.compute_optimal.a, 4)}, b = ${fix(p.compute_optimal.b, 4)}`,
    );
  }
  if (p.inference) {
    const i = p.inference;
    out.push('');
    out.push(
      `Inference-aware (Sardana & Frankle 2023): same loss ${fix(i.loss, 4)} with ${sci(i.params, 3)} parameters trained on ` +
        `${fix(i.tokens_per_param, 1)} tokens/parameter (${fix(i.times_optimal_tokens_per_param, 2)}× the ${fix(i.optimal_tokens_per_param, 1)} ` +
        `tokens/parameter that is compute-optimal under ${law.name} at this budget).`,
    );
    out.push(
      `  training ${sci(i.training_flops, 3)} + inference ${sci(i.inference_flops, 3)} = ${sci(i.total_flops, 3)} FLOPs, ` +
        `vs ${sci(i.compute_optimal_total_flops, 3)} for the compute-optimal model (${fix(100 * i.saving, 1)}% less).`,
    );
  }
  return out.join('\n');
}
