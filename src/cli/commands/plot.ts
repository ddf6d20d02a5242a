import { relative } from 'node:path';
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import type { FlopsColumn, ParamCount } from '../../fit/types.ts';
import { IMAGE_FORMATS, plotSweep, type ImageFormat } from '../../plot/index.ts';
import { UserError } from '../../util/errors.ts';

interface Args {
  sweep: string;
  n?: ParamCount;
  flops?: FlopsColumn;
  format: string;
  scale: number;
  refit: boolean;
  quiet: boolean;
}

/** "svg,png" -> ['svg', 'png']; anything else is a UserError naming --format. */
export function parseFormats(s: string): ImageFormat[] {
  const list = s.split(',').map((x) => x.trim().toLowerCase()).filter(Boolean);
  const bad = list.filter((x) => !(IMAGE_FORMATS as readonly string[]).includes(x));
  if (list.length === 0 || bad.length > 0) {
    throw new UserError(`--format: ${bad.length ? `"${bad.join(', ')}" is not an image format` : 'empty'}; give a comma-separated list of ${IMAGE_FORMATS.join(', ')} (e.g. --format svg,png)`);
  }
  return [...new Set(list)] as ImageFormat[];
}

const command: CommandModule<object, Args> = {
  command: 'plot <sweep>',
  describe: 'draw the scaling-law graphs of a sweep and write report.md + a self-contained report.html',
  builder: (y: Argv) =>
    y
      .positional('sweep', { type: 'string', demandOption: true, describe: 'sweep folder (runs/<sweep>) holding <run>/metrics.csv + run.json' })
      .option('n', {
        choices: ['total', 'non-embedding'] as const,
        describe: 'parameter count N for the fit and labels (default: the one in fit.json, else total)',
      })
      .option('flops', {
        choices: ['flops_6nd', 'flops_kaplan', 'flops_chinchilla'] as const,
        describe: 'metrics.csv column used as compute C (default: the one in fit.json, else flops_6nd)',
      })
      .option('format', { type: 'string', default: 'svg,png', describe: 'image files to write under plots/: svg, png or both (comma-separated)' })
      .option('scale', { type: 'number', default: 2, describe: 'PNG pixels per graph unit (2: a 720×450 graph becomes 1440×900 pixels)' })
      .option('refit', { type: 'boolean', default: false, describe: 'fit again and rewrite fit.json even when it is up to date' })
      .option('quiet', { type: 'boolean', default: false, describe: 'print nothing but errors' })
      .example('$0 plot runs/quick', 'fit if needed, then write runs/quick/plots/*.svg|png, report.md and report.html')
      .example('$0 plot runs/quick --n non-embedding --format png', 'Kaplan-style parameter count, PNG only') as unknown as Argv<Args>,
  handler: async (argv: ArgumentsCamelCase<Args>) => {
    const formats = parseFormats(argv.format);
    if (!Number.isFinite(argv.scale) || argv.scale <= 0 || argv.scale > 8) {
      throw new UserError(`--scale: ${argv.scale} is out of range; give a number in (0, 8], e.g. --scale 2`);
    }
    const say = (m: string) => process.stderr.write(m + '\n');
    const res = await plotSweep(argv.sweep, {
      n: argv.n,
      flops: argv.flops,
      formats,
      scale: argv.scale,
      refit: argv.refit,
      log: argv.quiet ? undefined : say,
    });
    if (argv.quiet) return;
    const rel = (p: string) => relative(process.cwd(), p) || '.';
    const drawn = res.graphs.filter((g) => !g.skipped);
    process.stdout.write(`${drawn.length} of ${res.graphs.length} graphs in ${rel(res.sweepDir)}/plots\n`);
    for (const g of res.graphs.filter((x) => x.skipped)) process.stdout.write(`  not drawn: ${g.id}: ${g.skipped}\n`);
    process.stdout.write(`report: ${rel(res.reportMd)}, ${rel(res.reportHtml)}\n`);
  },
};
export default command;
