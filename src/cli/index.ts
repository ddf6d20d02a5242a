import yargs from 'yargs';
import type { CommandModule } from 'yargs';
import { explainSystemError, isUserError } from '../util/errors.ts';
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
  // yargs reads "-1e20" as the short flags -1 -e -2 -0 ("Not enough non-option arguments"); no count,
  // budget or rate of this CLI may be negative, so say that instead
  const negative = argv.find((a) => /^-(\d+(\.\d*)?|\.\d+)[eE][+-]?\d+$/.test(a));
  if (negative !== undefined) {
    process.stderr.write(`error: ${negative} is negative; FLOPs, token counts and other amounts must be positive (e.g. ${negative.slice(1)}).\n`);
    process.exit(2);
  }
  let cli = yargs(argv)
    .scriptName('chinchilla')
    .usage('$0 <command> [options]\n\nTrain small GPT models with TensorFlow.js and fit scaling laws.')
    .demandCommand(1, 'Give a command; see --help.')
    .strict()
    .recommendCommands()
    .help()
    .alias('h', 'help')
    .version()
    .option('debug', { type: 'boolean', default: false, global: true, describe: 'print stack traces of errors' })
    .wrap(Math.min(110, process.stdout.columns || 100))
    .fail((msg, err) => {
      if (err) throw err;
      process.stderr.write(`error: ${msg}\nRun with --help for usage.\n`);
      process.exit(2);
    });
  for (const c of commands) cli = cli.command(c);
  const debug = argv.includes('--debug');
  try {
    await cli.parseAsync();
  } catch (e) {
    reportError(e, debug);
  }
}

/**
 * Print an error as a sentence and exit non-zero. User errors and system errors
 * (disk full, permission denied, read-only folder) name the file and the fix;
 * anything else is a bug: one line and a request to rerun with --debug. With
 * --debug, the stack trace too. Exits here, so no later handler (the wasm
 * module installs one that rethrows) prints a raw trace.
 */
export function reportError(e: unknown, debug: boolean): never {
  const err = explainSystemError(e);
  if (isUserError(err)) {
    process.stderr.write(`error: ${err.message}\n`);
    if (debug && err.cause instanceof Error) process.stderr.write(`${err.cause.stack}\n`);
    process.exit(err.exitCode);
  }
  const msg = err instanceof Error ? err.message : String(err);
  process.stderr.write(`error: ${msg.split('\n')[0]}\n`);
  if (debug) process.stderr.write(`${err instanceof Error ? err.stack : ''}\n`);
  else process.stderr.write('This looks like a bug: run the same command with --debug for the stack trace and report it.\n');
  process.exit(1);
}
