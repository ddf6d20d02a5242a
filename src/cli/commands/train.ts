import type { ArgumentsCamelCase, CommandModule } from 'yargs';
import { basename, resolve } from 'node:path';
import { initBackend, type BackendRequest } from '../../backend.ts';
import { loadModelConfig } from '../../model/config.ts';
import { parseTrainConfig } from '../../train/config.ts';
import { trainRun } from '../../train/trainer.ts';
import { progressBar, type Progress } from '../../util/progress.ts';
import { toDataOptions, type DataArgs } from '../options/data.ts';
import { backendOption, runDataOptions, runtimeOptions, trainOptions, trainOverrides } from '../options/train.ts';
import { formatCount } from '../format.ts';
import { tensorboardHooks } from '../../tensorboard/hooks.ts';
import { scalarWriter, type ScalarWriter } from '../../tensorboard/writer.ts';
import { composeHooks } from '../../util/hooks.ts';
import { interruptible } from '../signals.ts';

type Args = Record<string, unknown> & { model: string; out?: string; resume: boolean; backend: string; tensorboard?: string };

const command: CommandModule<object, Args> = {
  command: 'train',
  describe: 'train one model on WikiText-2 and write metrics.csv, run.json and checkpoints/',
  builder: (y) =>
    y
      .option('model', {
        type: 'string',
        demandOption: true,
        describe: 'model config JSON, e.g. configs/models/786k.json',
      })
      .options(runDataOptions)
      .options(trainOptions)
      .options(backendOption)
      .option('out', { type: 'string', describe: 'output folder (default runs/train/<model>-<tokenizer>-s<seed>)' })
      .option('tensorboard', {
        type: 'string',
        describe: 'also write TensorBoard scalars (losses, lr, tokens/s, FLOPs) to DIR/<run>; view with tensorboard --logdir DIR',
      })
      .option('resume', {
        type: 'boolean',
        default: false,
        describe: 'continue the run in --out from its last checkpoint (a finished run is left as is)',
      })
      .example('$0 train --model configs/models/786k.json', 'the experiment’s smallest model, 500 steps, GPT-2 tokens')
      .example(
        '$0 train --model configs/models/tiny.json --tokenizer byte --dataset wikitext-2-v1 --steps 200',
        'a quick CPU run',
      ) as never,
  handler: async (argv: ArgumentsCamelCase<Args>) => {
    const modelPath = resolve(argv.model);
    const model = loadModelConfig(modelPath);
    const train = parseTrainConfig(trainOverrides(argv), 'command-line flags');
    const modelName = model.name ?? basename(modelPath, '.json');
    const tokName = train.tokenizer.replace(/[^A-Za-z0-9_.-]/g, '');
    const outDir = resolve(argv.out ?? `runs/train/${modelName}-${tokName}-s${train.seed}`);
    const runtime = runtimeOptions(argv);
    const backend = await initBackend(argv.backend as BackendRequest, { memoryBudgetMb: runtime.memoryBudgetMb, gpuAdapter: runtime.gpuAdapter });
    // Ctrl-C ends data preparation at once; from the first step it stops after a checkpoint
    const sig = interruptible('training');
    let bar: Progress | null = null;
    let lastStep = 0;
    const tb: ScalarWriter | null = argv.tensorboard ? scalarWriter(resolve(argv.tensorboard, basename(outDir)), backend.nativeModule) : null;
    try {
      const res = await trainRun(
        {
          name: modelName,
          model,
          modelSource: argv.model,
          train,
          data: toDataOptions(argv as DataArgs),
          outDir,
          resume: argv.resume,
          workers: runtime.workers,
        },
        backend,
        composeHooks({
          onStart: ({ info, startStep, microBatch }) => {
            sig.arm();
            lastStep = startStep;
            process.stderr.write(
              `${modelName}: ${formatCount(info.params_total)} params (${formatCount(info.params_non_embedding)} non-embedding), ` +
                `vocab ${info.model.vocab_size}, ${train.steps} steps × ${info.tokens_per_step} tokens, ` +
                `${info.train.workers} worker${info.train.workers === 1 ? '' : 's'}, micro-batch ${microBatch}, ${(train.steps * info.tokens_per_step * info.flops_per_token.flops_6nd).toExponential(2)} FLOPs (6ND)\n` +
                `writing ${outDir}\n`,
            );
            bar = progressBar(modelName, train.steps, { extra: 'loss {loss} val {val} lr {lr} {tps} tok/s' });
            bar.update(startStep, { loss: '-', val: '-', lr: '-', tps: '-' });
          },
          onStep: (e) => {
            lastStep = e.step;
            bar?.update(e.step, { loss: e.loss.toFixed(3), lr: e.lr.toExponential(1), tps: Math.round(e.tokensPerS) });
          },
          onEval: (row) => bar?.update(row.step, { val: row.val_loss.toFixed(3) }),
          shouldStop: sig.stop,
          log: (m) => process.stderr.write(`\n${m}\n`),
        }, tb ? tensorboardHooks(tb) : undefined),
      );
      (bar as Progress | null)?.stop();
      const last = res.rows[res.rows.length - 1];
      const fe = res.info.final_eval;
      process.stderr.write(
        `${modelName}: ${res.status}` +
          (res.status === 'interrupted'
            ? ` at step ${lastStep}` + (last ? ` (last evaluation at step ${last.step}, val loss ${last.val_loss.toFixed(4)})` : '')
            : last
              ? ` at step ${last.step}, val loss ${last.val_loss.toFixed(4)}`
              : '') +
          (fe ? ` ± ${fe.val_loss_se.toFixed(4)} (final evaluation: ${fe.windows} windows, ${fe.tokens} tokens)` : '') +
          `\n  ${outDir}/metrics.csv\n  ${outDir}/run.json\n`,
      );
      if (res.status === 'diverged' || res.status === 'failed') process.exitCode = 1;
      if (res.status === 'interrupted') process.exitCode = 130;
    } finally {
      (bar as Progress | null)?.stop();
      sig.dispose();
      if (tb) {
        await tb.close();
        process.stderr.write(`  TensorBoard: tensorboard --logdir ${resolve(argv.tensorboard!)}\n`);
      }
    }
  },
};
export default command;
