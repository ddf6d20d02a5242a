import type { ArgumentsCamelCase, CommandModule } from 'yargs';
import { initBackend, type BackendRequest } from '../../backend.ts';
import { loadSweep, parseShard } from '../../sweep/config.ts';
import { runSweep, sweepDirFor } from '../../sweep/runner.ts';
import type { TrainConfig } from '../../train/config.ts';
import { toDataOptions, type DataArgs } from '../options/data.ts';
import { backendOption, runDataOptions, runtimeOptions, trainOptions, trainOverrides } from '../options/train.ts';
import { stopOnSigint } from './train.ts';

type Args = Record<string, unknown> & {
  file: string;
  out?: string;
  shard?: string;
  estimate: boolean;
  'estimate-steps': number;
  fit: boolean;
  backend: string;
  'dry-run': boolean;
};

const command: CommandModule<object, Args> = {
  command: 'sweep <file>',
  describe: 'train every run of a sweep file (resumable, shardable), then fit the scaling laws and plot',
  builder: (y) =>
    y
      .positional('file', { type: 'string', demandOption: true, describe: 'sweep config JSON, e.g. configs/sweep.json' })
      .options(runDataOptions)
      .options(trainOptions)
      .options(backendOption)
      .option('out', { type: 'string', describe: 'the sweep’s output folder (default runs/<sweep name>)' })
      .option('shard', {
        type: 'string',
        describe: 'i/n: run only every n-th run starting at i (0-based), to share a sweep between n processes or machines',
      })
      .option('estimate', { type: 'boolean', default: true, describe: 'time a few steps per model to estimate wall time (--no-estimate skips)' })
      .option('estimate-steps', { type: 'number', default: 2, describe: 'timed steps per model shape for the estimate' })
      .option('fit', { type: 'boolean', default: true, describe: 'fit and plot when all runs are finished (--no-fit skips)' })
      .option('dry-run', { type: 'boolean', default: false, describe: 'print the plan and exit without training' })
      .example('$0 sweep configs/sweep.json', 'the experiment: 3 models × 500 steps on WikiText-2 raw, GPT-2 tokens')
      .example('$0 sweep configs/sweep-quick.json --steps 40', 'a shorter quick sweep')
      .example('$0 sweep configs/sweep.json --shard 1/3', 'the second of three machines sharing one runs/ folder') as never,
  handler: async (argv: ArgumentsCamelCase<Args>) => {
    const overrides = trainOverrides(argv) as Partial<TrainConfig>;
    const plan = loadSweep(argv.file, overrides);
    const shard = argv.shard !== undefined ? parseShard(argv.shard) : undefined;
    const sweepDir = sweepDirFor(plan, argv.out);
    const runtime = runtimeOptions(argv);
    const backend = await initBackend(argv.backend as BackendRequest, { memoryBudgetMb: runtime.memoryBudgetMb });
    const sig = stopOnSigint('the sweep');
    try {
      const res = await runSweep(
        {
          plan,
          sweepDir,
          data: toDataOptions(argv as DataArgs),
          shard,
          estimateSteps: argv.estimate ? argv['estimate-steps'] : 0,
          fit: argv.fit,
          shouldStop: sig.stop,
          dryRun: argv['dry-run'],
          workers: runtime.workers,
        },
        backend,
      );
      if (argv['dry-run']) return;
      if (res.stopped) process.exitCode = 130;
      else if (res.runs.some((r) => r.status === 'diverged' || r.status === 'failed')) process.exitCode = 1;
    } finally {
      sig.dispose();
    }
  },
};
export default command;
