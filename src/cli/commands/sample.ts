import type { ArgumentsCamelCase, CommandModule } from 'yargs';
import { initBackend, type BackendRequest } from '../../backend.ts';
import { generate, loadRunModel } from '../../sample/sample.ts';
import { UserError } from '../../util/errors.ts';
import { progressBar } from '../../util/progress.ts';
import { toDataOptions, type DataArgs } from '../options/data.ts';
import { backendOption } from '../options/train.ts';

type Args = DataArgs & {
  run: string;
  prompt: string;
  tokens: number;
  temperature: number;
  'top-k': number;
  seed: number;
  backend: string;
};

const command: CommandModule<object, Args> = {
  command: 'sample <run>',
  describe: "generate text from a run's latest checkpoint (like nanoGPT's sample.py)",
  builder: (y) =>
    y
      .positional('run', { type: 'string', demandOption: true, describe: 'a run folder (with run.json and checkpoints/), e.g. runs/quick/s' })
      .option('prompt', { type: 'string', default: '\n', describe: 'text to continue (default: a newline)' })
      .option('tokens', { type: 'number', default: 200, describe: 'number of tokens to generate' })
      .option('temperature', { type: 'number', default: 0.8, describe: 'softmax temperature (> 0); lower is more conservative' })
      .option('top-k', { type: 'number', default: 200, describe: 'sample among the k most likely tokens only; 0 = all' })
      .option('seed', { type: 'number', default: 1337, describe: 'seed of the draws' })
      .option('data-dir', { type: 'string', describe: 'where the WikiText-2 files are (needed only for a bpe:N tokenizer that is not cached)' })
      .options(backendOption)
      .example('$0 sample runs/quick/s --prompt "The history of" --tokens 100', 'continue a prompt with the quick sweep’s model s') as never,
  handler: async (argv: ArgumentsCamelCase<Args>) => {
    if (!(argv.temperature > 0)) throw new UserError(`--temperature must be > 0 (got ${argv.temperature})`);
    if (!(Number.isInteger(argv.tokens) && argv.tokens >= 1)) throw new UserError(`--tokens must be a positive whole number (got ${argv.tokens})`);
    if (!(Number.isInteger(argv['top-k']) && argv['top-k'] >= 0)) throw new UserError(`--top-k must be a whole number >= 0 (got ${argv['top-k']})`);
    const profile = await initBackend(argv.backend as BackendRequest, { quiet: true });
    const { dataset: _d, ...data } = toDataOptions(argv, { quiet: true });
    const run = await loadRunModel(argv.run, data, profile);
    try {
      const promptIds = run.tokenizer.encode(argv.prompt);
      if (promptIds.length === 0) throw new UserError('--prompt encodes to no tokens: give some text (the default is a newline)');
      const bar = progressBar(`sample ${run.name}@${run.step}`, argv.tokens, { unit: ' tokens' });
      const out = await generate(run.model, promptIds, { tokens: argv.tokens, temperature: argv.temperature, topK: argv['top-k'], seed: argv.seed }, (n) =>
        bar.update(n),
      );
      bar.stop();
      process.stdout.write(run.tokenizer.decode([...promptIds, ...out]) + '\n');
    } finally {
      run.model.dispose();
    }
  },
};
export default command;
