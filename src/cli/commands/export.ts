import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { exportHf } from '../../export/hf.ts';

interface Args {
  run: string;
  out: string;
  format: 'hf';
  force: boolean;
}

const command: CommandModule<object, Args> = {
  command: 'export <run> <out>',
  describe: "write a run's latest checkpoint as a Hugging Face GPT-2 folder (GPT2LMHeadModel; lm-evaluation-harness can score it)",
  builder: (y: Argv) =>
    y
      .positional('run', { type: 'string', demandOption: true, describe: 'the run folder (holds run.json and checkpoints/)' })
      .positional('out', { type: 'string', demandOption: true, describe: 'folder to write config.json, model.safetensors and the tokenizer files to' })
      .option('format', { choices: ['hf'] as const, default: 'hf' as const, describe: 'hf: Hugging Face transformers GPT-2' })
      .option('force', { type: 'boolean', default: false, describe: 'write into a folder that is not empty' })
      .example('$0 export runs/wikitext2-gpt2/4m --format hf exports/4m', '') as unknown as Argv<Args>,
  handler: (argv: ArgumentsCamelCase<Args>) => {
    const r = exportHf(argv.run, argv.out, { force: argv.force });
    process.stderr.write(`exported ${argv.run} (checkpoint at step ${r.step}) to ${argv.out}: ${r.files.join(', ')}\n`);
    if (!r.tokenizerFiles) {
      process.stderr.write(
        `note: the run used the "${r.tokenizer}" tokenizer, which has no Hugging Face GPT-2 tokenizer files; ` +
          `only the gpt2 tokenizer's vocab.json/merges.txt are written, so pair the model with your own tokenizer.\n`,
      );
    }
  },
};

export default command;
