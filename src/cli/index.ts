import yargs from 'yargs';
import type { CommandModule } from 'yargs';
import { isUserError } from '../util/errors.ts';
import data from './commands/data.ts';
import train from './commands/train.ts';
import bench from './commands/bench.ts';
import sweep from './commands/sweep.ts';
import fit from './commands/fit.ts';
import plan from './commands/plan.ts';
import plot from './commands/plot.ts';
import doctor from './commands/doctor.ts';
import sample from './commands/sample.ts';
import compare from './commands/compare.ts';
import exportCmd from './commands/export.ts';
import serve from './commands/serve.ts';

const commands = [data, train, bench, sweep, fit, plan, plot, doctor, sample, compare, exportCmd, serve] as CommandModule[];

/** Run the `chinchilla` CLI. User errors print one clear message and exit non-zero. */
export async function main(argv: string[]): Promise<void> {
  let cli = yargs(argv)
    .scriptName('chinchilla')
    .usage('$0 <command> [options]\n\nTrain small GPT models with TensorFlow.js and fit scaling laws.')
    .demandCommand(1, 'Give a command; see --help.')
    .strict()
    .recommendCommands()
    .help()
    .alias('h', 'help')
    .version()
    .wrap(Math.min(110, process.stdout.columns || 100))
    .fail((msg, err) => {
      if (err) throw err;
      process.stderr.write(`error: ${msg}\nRun with --help for usage.\n`);
      process.exit(2);
    });
  for (const c of commands) cli = cli.command(c);
  try {
    await cli.parseAsync();
  } catch (e) {
    if (isUserError(e)) {
      process.stderr.write(`error: ${e.message}\n`);
      process.exit(e.exitCode);
    }
    throw e;
  }
}
