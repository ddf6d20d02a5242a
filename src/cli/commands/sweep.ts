import type { ArgumentsCamelCase, CommandModule } from 'yargs';
import { mkdirSync } from 'node:fs';
import { initBackend, type BackendRequest } from '../../backend.ts';
import { loadSweep, parseShard } from '../../sweep/config.ts';
import { runSweep, sweepDirFor } from '../../sweep/runner.ts';
import type { TrainConfig } from '../../train/config.ts';
import { toDataOptions, type DataArgs } from '../options/data.ts';
import { backendOption, runDataOptions, runtimeOptions, trainOptions, trainOverrides } from '../options/train.ts';
import { stopOnSigint } from './train.ts';
import { join, resolve } from 'node:path';
import { announce, startServer, type DashboardServer } from '../../serve/index.ts';
import { tensorboardHooks } from '../../tensorboard/hooks.ts';
import { scalarWriter, type ScalarWriter } from '../../tensorboard/writer.ts';
import { serveHostOption } from './serve.ts';

type Args = Record<string, unknown> & {
  file: string;
  out?: string;
  shard?: string;
  estimate: boolean;
  'estimate-steps': number;
  fit: boolean;
  backend: string;
  'dry-run': boolean;
  tensorboard?: string;
  serve: boolean;
  port: number;
  host: string;
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
      .option('tensorboard', {
        type: 'string',
        describe: 'also write TensorBoard scalars (losses, lr, tokens/s, FLOPs) of every run to DIR/<sweep>/<run>',
      })
      .option('serve', { type: 'boolean', default: false, describe: 'start the live dashboard (chinchilla serve) on the sweep folder beside the sweep' })
      .option('port', { type: 'number', default: 6006, describe: 'dashboard port with --serve' })
      .option('host', { ...serveHostOption, describe: 'dashboard address with --serve; ' + serveHostOption.describe })
      .example('$0 sweep configs/sweep.json', 'the experiment: 3 models × 500 steps on WikiText-2 raw, GPT-2 tokens')
      .example('$0 sweep configs/sweep-quick.json --steps 40', 'a shorter quick sweep')
      .example('$0 sweep configs/sweep.json --shard 1/3', 'the second of three machines sharing one runs/ folder') as never,
  handler: async (argv: ArgumentsCamelCase<Args>) => {
    const overrides = trainOverrides(argv) as Partial<TrainConfig>;
    const plan = loadSweep(argv.file, overrides);
    const shard = argv.shard !== undefined ? parseShard(argv.shard) : undefined;
    const sweepDir = sweepDirFor(plan, argv.out);
    const runtime = runtimeOptions(argv);
    const backend = await initBackend(argv.backend as BackendRequest, { memoryBudgetMb: runtime.memoryBudgetMb, gpuAdapter: runtime.gpuAdapter });
    let dashboard: DashboardServer | null = null;
    if (argv.serve && !argv['dry-run']) {
      mkdirSync(sweepDir, { recursive: true });
      dashboard = await startServer({ dir: sweepDir, port: argv.port, host: argv.host });
      process.stderr.write(announce(dashboard.url, argv.host, sweepDir));
    }
    const writers: ScalarWriter[] = [];
    const runHooks = argv.tensorboard
      ? (run: { name: string }) => {
          const w = scalarWriter(join(resolve(argv.tensorboard!), plan.name, run.name), backend.nativeModule);
          writers.push(w);
          return tensorboardHooks(w);
        }
      : undefined;
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
          runHooks,
        },
        backend,
      );
      if (argv['dry-run']) return;
      if (res.stopped) process.exitCode = 130;
      else if (res.runs.some((r) => r.status === 'diverged' || r.status === 'failed')) process.exitCode = 1;
    } catch (e) {
      await dashboard?.close(); // an open server would keep the failed process alive
      throw e;
    } finally {
      sig.dispose();
      await Promise.all(writers.map((w) => w.close()));
      if (writers.length) process.stderr.write(`TensorBoard: tensorboard --logdir ${resolve(argv.tensorboard!)}\n`);
    }
    if (dashboard && process.exitCode !== 130) {
      process.stderr.write(`sweep done; the dashboard stays at ${dashboard.url} until Ctrl-C\n`);
      await new Promise<void>((done) => {
        const stop = () => void dashboard!.close().then(done);
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
    } else await dashboard?.close();
  },
};
export default command;
