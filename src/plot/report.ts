/**
 * The content of runs/<sweep>/report.md and report.html: a summary of the
 * scaling exponents, the plots (or why one was not drawn), the run table and
 * the fit tables with their warnings.
 */
import { conventionsOf, describeConventions } from '../artifacts/fitJson.ts';
import { PUBLISHED_A } from '../fit/laws.ts';
import type { ExponentIntervals, FitReport, Identifiability, RunData, ScalingExponent } from '../fit/types.ts';
import { fmtDuration } from '../util/progress.ts';
import type { Block } from './doc.ts';
import { seriesOf } from './series.ts';
import { fmtCount, fmtNum, fmtSci, fmtSig } from './theme.ts';

export interface ReportGraph {
  id: string;
  title: string;
  caption: string;
  /** the picture, when drawn */
  image?: { src: string; dataUri: string; width: number };
  /** why the graph was not drawn */
  skipped?: string;
}

export interface ReportInput {
  sweepName: string;
  sweepDir: string;
  runs: RunData[];
  fit: FitReport;
  /** how the fit was obtained, e.g. "read from fit.json" */
  fitNote: string;
  graphs: ReportGraph[];
  createdAt: string;
}

const exp = (e: ScalingExponent | null) => (e ? `${e.exponent.toFixed(3)} (R² ${e.r2.toFixed(3)}, ${e.points} pts)` : '–');

/** Graph 2's caveat, in the report and the README: the per-run slope is not Kaplan's α_C. */
export const PER_RUN_SLOPE_NOTE =
  'The per-run slope is the slope of one training curve: N is fixed along it, so C ∝ D, and its shape comes from the ' +
  "warm-up and the learning-rate decay. It is not Kaplan et al.'s α_C (≈ 0.050), which is the slope of the compute-efficient " +
  'frontier across model sizes.';

/** A summary cell: the estimate with its interval where the design identifies it, else "not identifiable" and why. */
function summaryCell(e: number | undefined, ci: [number, number] | undefined, design: Identifiability | undefined, missing: string): string {
  if (design && !design.identifiable) return `not identifiable: ${design.reason}`;
  if (e === undefined) return missing;
  return ci ? `${e.toFixed(3)} [${ci[0].toFixed(3)}, ${ci[1].toFixed(3)}]` : e.toFixed(3);
}

const ciNote = (ci: ExponentIntervals | undefined) => (ci ? `; ${Math.round(ci.level * 100)}% bootstrap over runs (${ci.samples}/${ci.drawn})` : '');

/** "wasm, CPU via WebAssembly (SIMD, 1 thread; the project's own kernels), 2 workers": the worker count from run.json train.workers. */
export function backendCell(run: RunData): string {
  if (!run.info.backend) return '–';
  const workers = Number((run.info.train as { workers?: unknown }).workers);
  const parts = [run.info.backend.name, run.info.backend.device].filter(Boolean);
  if (Number.isInteger(workers) && workers > 0) parts.push(`${workers} worker${workers === 1 ? '' : 's'}`);
  return parts.join(', ');
}
const withCi = (v: number, ci?: [number, number], f: (x: number) => string = fmtSig) => (ci ? `${f(v)} [${f(ci[0])}, ${f(ci[1])}]` : f(v));

function lastFinite(run: RunData, col: 'train_loss' | 'val_loss'): number {
  for (let i = run.rows.length - 1; i >= 0; i--) if (Number.isFinite(run.rows[i]![col])) return run.rows[i]![col];
  return NaN;
}

function wallTime(run: RunData): string {
  const s = run.info.elapsed_s ?? run.rows.at(-1)?.elapsed_s;
  return s !== undefined && Number.isFinite(s) ? fmtDuration(s) : '–';
}

export function reportBlocks(r: ReportInput): Block[] {
  const { fit, runs } = r;
  const a1 = fit.approach1;
  const a2 = fit.approach2;
  const a3 = fit.approach3;
  const nWord = fit.n === 'non-embedding' ? 'non-embedding' : 'total';
  const blocks: Block[] = [
    { kind: 'h', level: 1, text: `Scaling-law report: ${r.sweepName}` },
    {
      kind: 'p',
      text:
        `${runs.length} runs in \`${r.sweepDir}\` · generated ${r.createdAt} by \`chinchilla plot\` · ` +
        `fit: ${r.fitNote} · N = ${nWord} parameters, compute = \`${fit.flops}\`.`,
    },
    { kind: 'h', level: 2, text: 'Summary: compute-optimal scaling' },
    {
      kind: 'p',
      text: 'N_opt ∝ C^a and D_opt ∝ C^b (with C ≈ 6ND, a + b ≈ 1). Chinchilla found a ≈ b ≈ 0.5 (scale model and data equally); Kaplan et al. found a = 0.73.',
    },
    {
      kind: 'table',
      head: ['method', 'a (N_opt ∝ C^a)', 'b (D_opt ∝ C^b)', 'based on'],
      rows: [
        [
          'Approach 1: lower envelope',
          summaryCell(a1.n_opt?.exponent, a1.ci?.a, a1.design, '–'),
          summaryCell(a1.d_opt?.exponent, a1.ci?.b, a1.design, '–'),
          `${a1.envelope.length} envelope points; schedule lengths per size ${a1.schedules_per_size ? a1.schedules_per_size.join('–') : '?'}${ciNote(a1.ci)}`,
        ],
        [
          'Approach 2: IsoFLOP profiles',
          summaryCell(a2.n_opt?.exponent, a2.ci?.a, a2.design, '–'),
          summaryCell(a2.d_opt?.exponent, a2.ci?.b, a2.design, '–'),
          `${a2.profiles.filter((p) => p.n_opt !== null).length} of ${a2.profiles.length} profiles with an interior minimum (${a2.source})${ciNote(a2.ci)}`,
        ],
        [
          'Approach 3: parametric fit',
          summaryCell(a3?.a, a3?.ci?.a, a3?.design ?? fit.approach3_design, '–'),
          summaryCell(a3?.b, a3?.ci?.b, a3?.design ?? fit.approach3_design, '–'),
          a3 ? `${a3.points} points (${fit.options?.points === 'all' ? 'every evaluation' : "each run's final loss"})` : 'no fit',
        ],
        ['Chinchilla (Hoffmann et al. 2022)', `≈ ${PUBLISHED_A.chinchilla.toFixed(2)}`, `≈ ${PUBLISHED_A.chinchilla.toFixed(2)}`, 'published'],
        ['Kaplan et al. 2020', PUBLISHED_A.kaplan.toFixed(2), (1 - PUBLISHED_A.kaplan).toFixed(2), 'published'],
      ],
    },
    ...(fit.agreement ? [{ kind: 'p' as const, text: `Agreement: ${fit.agreement.summary}.` }] : []),
    { kind: 'p', text: `Fit made with ${describeConventions(conventionsOf(fit))}.` },
  ];

  // ---- plots
  blocks.push({ kind: 'h', level: 2, text: 'Plots' });
  r.graphs.forEach((g, i) => {
    blocks.push({ kind: 'h', level: 3, text: `${i + 1}. ${g.title}` });
    if (g.image) {
      blocks.push({ kind: 'img', alt: g.title, src: g.image.src, dataUri: g.image.dataUri, width: g.image.width });
      blocks.push({ kind: 'p', text: g.caption });
    } else {
      blocks.push({ kind: 'p', text: `Not drawn: ${g.skipped ?? 'no data'}.` });
    }
  });

  // ---- runs
  const series = seriesOf(runs, fit);
  blocks.push({ kind: 'h', level: 2, text: 'Runs' });
  blocks.push({
    kind: 'table',
    head: ['run', 'params (total)', 'params (non-emb.)', 'budget (FLOPs)', 'tokens', `FLOPs (${fit.flops})`, 'final train loss', 'final val loss', 'status', 'backend', 'wall time'],
    numeric: [false, true, true, true, true, true, true, true, false, false, true],
    rows: series.map(({ run }) => {
      const last = run.rows.at(-1);
      const backend = backendCell(run);
      return [
        run.info.name,
        fmtCount(run.info.params_total),
        fmtCount(run.info.params_non_embedding),
        run.info.budget_flops !== undefined ? fmtSci(run.info.budget_flops) : '–',
        last ? fmtCount(last.tokens) : '–',
        last ? fmtSci(last[fit.flops]) : '–',
        fmtNum(lastFinite(run, 'train_loss'), 4),
        fmtNum(lastFinite(run, 'val_loss'), 4),
        run.info.status ?? '–',
        backend,
        wallTime(run),
      ];
    }),
  });

  // ---- fits
  blocks.push({ kind: 'h', level: 2, text: 'Fits' });
  blocks.push({ kind: 'h', level: 3, text: 'Per-run power laws: log L = intercept + slope · log C' });
  blocks.push({ kind: 'p', text: PER_RUN_SLOPE_NOTE });
  blocks.push(
    fit.per_run.length === 0
      ? { kind: 'p', text: 'No run had enough evaluations for a fit.' }
      : {
          kind: 'table',
          head: ['run', 'N', 'slope', 'R²', 'points', 'compute range (FLOPs)'],
          numeric: [false, true, true, true, true, false],
          rows: [...fit.per_run]
            .sort((x, y) => x.params - y.params)
            .map((f) => [f.run, fmtCount(f.params), fmtNum(f.slope, 4), f.r2.toFixed(4), String(f.points), `${fmtSci(f.c_min)} – ${fmtSci(f.c_max)}`]),
        },
  );

  blocks.push({ kind: 'h', level: 3, text: 'Approach 1: lower envelope of the training curves' });
  const envRuns = [...new Set(a1.envelope.map((e) => e.run))];
  blocks.push({
    kind: 'list',
    items: [
      `envelope: ${a1.envelope.length} points from ${envRuns.length} run(s)${envRuns.length ? ` (${envRuns.join(', ')})` : ''}`,
      `N_opt ∝ C^a: ${a1.n_opt ? `a = ${a1.n_opt.exponent.toFixed(3)}, coefficient ${fmtSig(a1.n_opt.coefficient)}, R² ${a1.n_opt.r2.toFixed(3)}` : 'not fitted'}`,
      `D_opt ∝ C^b: ${a1.d_opt ? `b = ${a1.d_opt.exponent.toFixed(3)}, coefficient ${fmtSig(a1.d_opt.coefficient)}, R² ${a1.d_opt.r2.toFixed(3)}` : 'not fitted'}`,
      ...a1.warnings.map((w) => `warning: ${w}`),
    ],
  });

  blocks.push({ kind: 'h', level: 3, text: `Approach 2: IsoFLOP profiles (${a2.source})` });
  blocks.push(
    a2.profiles.length === 0
      ? { kind: 'p', text: 'No profiles.' }
      : {
          kind: 'table',
          head: ['budget (FLOPs)', 'runs', 'N_opt', 'D_opt', 'L_opt', 'note'],
          numeric: [true, true, true, true, true, false],
          rows: a2.profiles.map((p) => [
            fmtSci(p.budget_nominal ?? p.budget),
            String(p.points.length),
            p.n_opt !== null ? fmtCount(p.n_opt) : '–',
            p.d_opt !== null ? fmtCount(p.d_opt) : '–',
            p.loss_opt !== null ? p.loss_opt.toFixed(4) : '–',
            p.note ?? '',
          ]),
        },
  );
  blocks.push({
    kind: 'list',
    items: [
      `N_opt ∝ C^a: ${a2.n_opt ? `a = ${a2.n_opt.exponent.toFixed(3)}, coefficient ${fmtSig(a2.n_opt.coefficient)}, R² ${a2.n_opt.r2.toFixed(3)}` : 'not fitted'}`,
      `D_opt ∝ C^b: ${a2.d_opt ? `b = ${a2.d_opt.exponent.toFixed(3)}, coefficient ${fmtSig(a2.d_opt.coefficient)}, R² ${a2.d_opt.r2.toFixed(3)}` : 'not fitted'}`,
      ...a2.warnings.map((w) => `warning: ${w}`),
    ],
  });

  blocks.push({ kind: 'h', level: 3, text: 'Approach 3: parametric fit L(N, D) = E + A/N^α + B/D^β' });
  if (!a3) {
    blocks.push({ kind: 'p', text: 'No Approach-3 fit.' });
  } else {
    const rows: [string, number, [number, number] | undefined][] = [
      ['E (irreducible loss, nats/token)', a3.E, a3.ci?.E],
      ['A', a3.A, a3.ci?.A],
      ['B', a3.B, a3.ci?.B],
      ['α (parameters)', a3.alpha, a3.ci?.alpha],
      ['β (data)', a3.beta, a3.ci?.beta],
      ['a = β/(α+β)', a3.a, a3.ci?.a],
      ['b = α/(α+β)', a3.b, a3.ci?.b],
    ];
    blocks.push({
      kind: 'table',
      head: ['parameter', 'value', a3.bootstrap_samples ? `bootstrap interval (${a3.bootstrap_samples} samples)` : 'interval'],
      numeric: [false, true, true],
      rows: rows.map(([name, v, ci]) => [name, fmtSig(v), ci ? `${fmtSig(ci[0])} – ${fmtSig(ci[1])}` : '–']),
    });
    blocks.push({
      kind: 'list',
      items: [`fitted on ${a3.points} points, Huber loss ${fmtSig(a3.huber_loss)}`, ...a3.warnings.map((w) => `warning: ${w}`)],
    });
    const sep = a3.separability;
    if (sep) {
      blocks.push({
        kind: 'p',
        text:
          `Separability: ${sep.summary}. The law makes the gain per e-fold of tokens the same for every model size; ` +
          'each size trained with several schedule lengths measures its own.',
      });
      blocks.push({
        kind: 'table',
        head: ['N', 'runs', 'tokens', 'dL/d ln D (runs)', 'dL/d ln D (law)'],
        numeric: [true, true, false, true, true],
        rows: sep.sizes.map((z) => [fmtSig(z.N), String(z.runs), `${fmtSig(z.D_lo)} – ${fmtSig(z.D_hi)}`, `${z.slope.toFixed(3)} ± ${z.slope_se.toFixed(3)}`, z.law_slope.toFixed(3)]),
      });
    }
  }

  const shown = new Set([...a1.warnings, ...a2.warnings, ...(a3?.warnings ?? [])]);
  const other = fit.warnings.filter((w) => !shown.has(w));
  if (other.length > 0) {
    blocks.push({ kind: 'h', level: 3, text: 'Other warnings' });
    blocks.push({ kind: 'list', items: other });
  }
  return blocks;
}
