import type { ArgumentsCamelCase, CommandModule } from 'yargs';
import { basename, resolve } from 'node:path';
import { initBackend, type BackendRequest } from '../../backend.ts';
import { loadModelConfig } from '../../model/config.ts';
import { runBench } from '../../train/bench.ts';
import { parseTrainConfig } from '../../train/config.ts';
import { UserError } from '../../util/errors.ts';
import { progressBar } from '../../util/progress.ts';
import { formatCount } from '../format.ts';
import { toDataOptions, type DataArgs } from '../options/data.ts';
import { backendOption, runDataOptions, runtimeOptions, trainOverrides, workersOption } from '../options/train.ts';

type Args = Record<string, unknown> & {
  model: string;
  steps: number;
  'warmup-steps': number;
  json: boolean;
  profile: boolean;
  backend: string;
  workers?: string;
};

const command: CommandModule<object, Args> = {
  command: 'bench',
  describe: 'time training steps (median after a warm-up) and print tokens/s, achieved GFLOP/s and memory',
  builder: (y) =>
    y
      .option('model', { type: 'string', demandOption: true, describe: 'model config JSON, e.g. configs/models/786k.json' })
      .options(runDataOptions)
      .options(backendOption)
      .options(workersOption)
      .option('batch', { type: 'number', default: 32, describe: 'sequences per optimizer step' })
      .option('micro-batch', { type: 'number', describe: 'sequences per forward/backward pass on each worker (default: the largest that fits the memory budget)' })
      .option('steps', { type: 'number', default: 10, describe: 'timed steps (the median is reported)' })
      .option('warmup-steps', { type: 'number', default: 2, describe: 'untimed steps first (kernel compilation, allocation)' })
      .option('profile', {
        type: 'boolean',
        default: false,
        describe: 'also print where a step’s time goes: data, forward, backward, communication, wait, optimizer (main thread and each worker)',
      })
      .option('json', { type: 'boolean', default: false, describe: 'print one JSON line and nothing else on stdout' })
      .example('$0 bench --model configs/models/786k.json --tokenizer byte --batch 32 --json', 'one JSON line: tokens/s, ms/step, GFLOP/s')
      .example('$0 bench --model configs/models/786k.json --tokenizer byte --profile', 'where the time goes, per thread')
      .example('$0 bench --model configs/models/786k.json --tokenizer byte --workers 1', 'one thread, for comparison') as never,
  handler: async (argv: ArgumentsCamelCase<Args>) => {
    if (!(argv.steps >= 1)) throw new UserError('--steps must be at least 1');
    const modelPath = resolve(argv.model);
    const model = loadModelConfig(modelPath);
    const train = parseTrainConfig(trainOverrides(argv), 'command-line flags');
    const { workers, memoryBudgetMb, gpuAdapter } = runtimeOptions(argv);
    const backend = await initBackend(argv.backend as BackendRequest, { quiet: argv.json, memoryBudgetMb, gpuAdapter });
    const bar = progressBar('bench', argv.steps + argv['warmup-steps'], { unit: ' steps', quiet: argv.json });
    const r = await runBench(
      {
        model,
        modelName: model.name ?? basename(modelPath, '.json'),
        train,
        data: { ...toDataOptions(argv as DataArgs), dataset: train.dataset, quiet: argv.json },
        steps: argv.steps,
        warmupSteps: argv['warmup-steps'],
        profile: argv.profile,
        workers,
        onProgress: (d) => bar.update(d),
      },
      backend,
    );
    bar.stop();
    if (argv.json) {
      process.stdout.write(JSON.stringify(r) + '\n');
      return;
    }
    console.log(
      [
        `model        ${r.model}: ${formatCount(r.params_total)} params (${formatCount(r.params_non_embedding)} non-embedding), vocab ${r.vocab} (${r.tokenizer})`,
        `backend      ${r.backend} on ${r.device}${r.threads ? `, ${r.threads} thread(s)` : ''}`,
        `batch        ${r.batch} × ${r.context} tokens over ${r.workers} worker${r.workers === 1 ? '' : 's'} (micro-batch ${r.micro_batch}); data: ${r.data}`,
        `step         ${r.ms_per_step} ms median (mean ${r.ms_per_step_mean}, min ${r.ms_per_step_min}) over ${r.steps} steps`,
        `throughput   ${r.tokens_per_s} tokens/s, ${r.gflops} GFLOP/s achieved (Chinchilla count)`,
        `peak RSS     ${r.peak_rss_mb} MB`,
      ].join('\n'),
    );
    if (r.profile) {
      const threads = [r.profile, ...(r.profile_workers ?? [])];
      const names = [...new Set(threads.flatMap((p) => Object.keys(p)))];
      console.log(`profile      ms per step (share of the step)${threads.length > 1 ? ', main thread then each worker thread' : ''}`);
      console.log('  ' + ''.padEnd(15) + threads.map((_, i) => (i === 0 ? 'main' : `worker ${i}`).padStart(17)).join(''));
      for (const k of names) {
        const cells = threads.map((p) => (p[k] ? `${p[k].ms_per_step.toFixed(1)} (${(p[k].share * 100).toFixed(0)}%)` : '-').padStart(17));
        console.log(`  ${k.padEnd(15)}${cells.join('')}`);
      }
    }
  },
};
export default command;
