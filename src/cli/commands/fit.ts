import { join } from 'node:path';
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { approach3Problems, fitApproach3 } from '../../fit/approach3.ts';
import { readPointsCsv } from '../../fit/csvPoints.ts';
import { checkSeparability } from '../../fit/separability.ts';
import { formatApproach3, formatFitReport } from '../../fit/format.ts';
import { loadRuns } from '../../fit/load.ts';
import { parseCount } from '../../fit/plan.ts';
import { fitSweep } from '../../fit/sweep.ts';
import type { FlopsColumn, ParamCount } from '../../fit/types.ts';
import { describeConventions, fitFileName, writeFitJson } from '../../artifacts/fitJson.ts';
import { UserError } from '../../util/errors.ts';

interface Args {
  sweep?: string;
  n: ParamCount;
  flops: FlopsColumn;
  bootstrap: number;
  seed: number;
  points: 'all' | 'final';
  'min-step': number;
  grid: 'full' | 'coarse';
  budgets?: string[];
  window?: number;
  json: boolean;
  csv?: string;
  'n-col'?: string;
  'd-col'?: string;
  'loss-col'?: string;
  out?: string;
  replace: boolean;
}

function checkInt(v: number, flag: string, min: number): number {
  if (!Number.isInteger(v) || v < min) throw new UserError(`${flag}: ${v} is not an integer ≥ ${min}`);
  return v;
}

/** `fit --csv`: Approach 3 on a table of (parameters, tokens, loss). */
function fitCsv(argv: Args): void {
  const missing = (['n-col', 'd-col', 'loss-col'] as const).filter((k) => !argv[k]);
  if (missing.length) {
    throw new UserError(`--csv needs ${missing.map((m) => `--${m}`).join(', ')}: the names of the parameter, token and loss columns`);
  }
  const file = argv.csv!;
  const points = readPointsCsv(file, { n: argv['n-col']!, d: argv['d-col']!, loss: argv['loss-col']! });
  const problem = approach3Problems(points);
  if (problem) throw new UserError(`${file}: ${problem}; Approach 3 cannot be fitted to these rows`);
  const { fit, warnings } = fitApproach3(points, {
    bootstrap: argv.bootstrap,
    seed: argv.seed,
    grid: argv.grid,
    basis: { params: argv['n-col']!, tokens: argv['d-col']!, loss: argv['loss-col']! },
    progress: !argv.json || process.stderr.isTTY,
  });
  if (!fit) throw new UserError(`${file}: ${warnings.join('; ')}`);
  // sizes that appear with several token counts show whether the gain per token depends on N (no errors in a table: the 0.05-nat gap decides)
  const sep = checkSeparability(points.map((p) => ({ ...p, se: NaN })), fit);
  if (sep) fit.separability = sep;
  if (argv.json) {
    process.stdout.write(JSON.stringify({ source: file, ...fit, warnings }, null, 2) + '\n');
    return;
  }
  process.stdout.write(`Approach 3 on ${file} (N = ${argv['n-col']}, D = ${argv['d-col']}, L = ${argv['loss-col']})\n`);
  process.stdout.write(formatApproach3(fit) + '\n');
  if (sep) process.stdout.write(`  Separability: ${sep.summary}\n`);
  for (const w of warnings) process.stdout.write(`  warning: ${w}\n`);
}

const command: CommandModule<object, Args> = {
  command: 'fit [sweep]',
  describe: 'fit scaling laws to a sweep (per-run power laws, Chinchilla approaches 1–3) or Approach 3 to a CSV table',
  builder: (y: Argv) =>
    y
      .positional('sweep', { type: 'string', describe: 'sweep folder (runs/<sweep>) holding <run>/metrics.csv + run.json; fit.json is written there' })
      .option('n', {
        choices: ['total', 'non-embedding'] as const,
        default: 'total' as const,
        describe: 'parameter count N: params_total (Chinchilla) or params_non_embedding (Kaplan)',
      })
      .option('flops', {
        choices: ['flops_6nd', 'flops_kaplan', 'flops_chinchilla'] as const,
        default: 'flops_6nd' as const,
        describe: 'metrics.csv column used as compute C',
      })
      .option('bootstrap', {
        type: 'number',
        default: 100,
        describe: 'bootstrap resamples (drawing runs with replacement) for the intervals on every a and b (0: none)',
      })
      .option('seed', { type: 'number', default: 0, describe: 'seed of the bootstrap resampling' })
      .option('points', {
        choices: ['all', 'final'] as const,
        default: 'final' as const,
        describe:
          "Approach 3 on each run's final loss ('final', default) or on every evaluation of every run ('all': mid-schedule " +
          'checkpoints are not models trained for that many tokens, so schedule effects bias the fit; a warning says so)',
      })
      .option('min-step', { type: 'number', default: 0, describe: 'leave out evaluations before this step (e.g. the warm-up) from all fits' })
      .option('grid', {
        choices: ['full', 'coarse'] as const,
        default: 'full' as const,
        describe: "Approach 3 L-BFGS starts: Hoffmann et al.'s 4500-point grid, or a 243-point subset (faster)",
      })
      .option('budgets', {
        type: 'string',
        array: true,
        describe: 'Approach 2 on ordinary sweeps: compute values (FLOPs) for the IsoFLOP profiles (default: 8 spread over the data)',
      })
      .option('window', {
        type: 'number',
        describe: "Approach 2: half-width in ln N of the parabola window around each profile's lowest loss (default ln 2 ≈ 0.69; at least its two neighbours)",
      })
      .option('out', {
        type: 'string',
        describe:
          'write the report here. Default: <sweep>/fit.json for the default conventions (--n total, --flops flops_6nd, --points final), ' +
          'else a name that says which, e.g. fit.n-non-embedding.flops_kaplan.json',
      })
      .option('replace', {
        type: 'boolean',
        default: false,
        describe: 'write a fit with other conventions to fit.json anyway (plot and plan --law <sweep>/fit.json then use it)',
      })
      .option('json', { type: 'boolean', default: false, describe: 'print the report as JSON on stdout and nothing else' })
      .option('csv', { type: 'string', describe: 'fit Approach 3 to this CSV table instead of a sweep (needs --n-col, --d-col, --loss-col)' })
      .option('n-col', { type: 'string', describe: 'with --csv: column holding the parameter count N' })
      .option('d-col', { type: 'string', describe: 'with --csv: column holding the training tokens D' })
      .option('loss-col', { type: 'string', describe: 'with --csv: column holding the loss L' })
      .example('$0 fit runs/wikitext2-gpt2', 'all fits; writes runs/wikitext2-gpt2/fit.json')
      .example('$0 fit runs/isoflop', 'the IsoFLOP sweep of `npm run sweep:isoflop`')
      .example(
        '$0 fit runs/wikitext2-gpt2 --n non-embedding --flops flops_kaplan',
        "Kaplan's conventions; writes runs/wikitext2-gpt2/fit.n-non-embedding.flops_kaplan.json (fit.json is left alone)",
      )
      .example('$0 fit --csv points.csv --n-col N --d-col D --loss-col loss', 'Approach 3 on published (N, D, L) points') as never,
  handler: (argv: ArgumentsCamelCase<Args>) => {
    checkInt(argv.bootstrap, '--bootstrap', 0);
    checkInt(argv['min-step'], '--min-step', 0);
    if (!Number.isFinite(argv.seed)) throw new UserError(`--seed: ${argv.seed} is not a number`);
    if (argv.csv !== undefined) {
      if (argv.sweep) throw new UserError('give either a sweep folder or --csv FILE, not both');
      fitCsv(argv);
      return;
    }
    if (!argv.sweep) throw new UserError('give a sweep folder (e.g. `chinchilla fit runs/<sweep>`) or --csv FILE');
    const budgets = argv.budgets?.map((b) => parseCount(b, '--budgets'));
    if (argv.window !== undefined && !(argv.window > 0)) throw new UserError(`--window: ${argv.window} must be a positive number (a half-width in ln N, e.g. 1.1)`);
    const runs = loadRuns(argv.sweep);
    const report = fitSweep(runs, {
      n: argv.n,
      flops: argv.flops,
      bootstrap: argv.bootstrap,
      seed: argv.seed,
      points: argv.points,
      minStep: argv['min-step'],
      grid: argv.grid,
      budgets,
      window: argv.window,
      sweepDir: argv.sweep,
      progress: !argv.json || process.stderr.isTTY,
    });
    const conventions = { n: argv.n, flops: argv.flops, points: argv.points, min_step: argv['min-step'] };
    const out = argv.out ?? join(argv.sweep, argv.replace ? 'fit.json' : fitFileName(conventions));
    writeFitJson(out, report);
    if (argv.json) {
      process.stdout.write(JSON.stringify({ ...report, schema_version: 2 }, null, 2) + '\n');
      return;
    }
    process.stdout.write(formatFitReport(report) + '\n\n');
    process.stdout.write(`wrote ${out} (${describeConventions(conventions)})\n`);
  },
};
export default command;
