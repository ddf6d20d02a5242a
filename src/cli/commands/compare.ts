import { join, resolve } from 'node:path';
import type { ArgumentsCamelCase, CommandModule } from 'yargs';
import { loadRuns } from '../../fit/load.ts';
import { compareRecipes, comparisonMarkdown } from '../../report/compare.ts';
import { writeFileAtomic } from '../../util/atomic.ts';
import { UserError } from '../../util/errors.ts';

type Args = { dir: string; a: string; b: string };

const command: CommandModule<object, Args> = {
  command: 'compare <dir>',
  describe: 'final validation loss of two recipes per model size (runs named <a>-<size> and <b>-<size>), e.g. runs/blog-vs-modern',
  builder: (y) =>
    y
      .positional('dir', { type: 'string', demandOption: true, describe: 'the sweep folder' })
      .option('a', { type: 'string', default: 'blog', describe: 'run-name prefix of the first recipe' })
      .option('b', { type: 'string', default: 'modern', describe: 'run-name prefix of the second recipe' })
      .example('$0 compare runs/blog-vs-modern', 'after npm run sweep:blog-vs-modern') as never,
  handler: (argv: ArgumentsCamelCase<Args>) => {
    const dir = resolve(argv.dir);
    const rows = compareRecipes(loadRuns(dir), argv.a, argv.b);
    if (rows.length === 0)
      throw new UserError(`${dir} has no pair of runs named ${argv.a}-<size> and ${argv.b}-<size>: run configs/sweep-blog-vs-modern.json, or pass --a/--b`);
    const md = comparisonMarkdown(rows, argv.a, argv.b);
    writeFileAtomic(join(dir, 'comparison.md'), `# ${argv.a} vs ${argv.b}: final validation loss\n\n${md}`);
    process.stdout.write(md + `\nwritten to ${join(dir, 'comparison.md')}\n`);
  },
};
export default command;
