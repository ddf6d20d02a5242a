import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { formatPlan } from '../../fit/format.ts';
import { DEFAULT_LAW, loadLaw } from '../../fit/laws.ts';
import { parseCount, planBudget } from '../../fit/plan.ts';

interface Args {
  flops: string;
  law: string;
  'inference-tokens'?: string;
  json: boolean;
}

const command: CommandModule<object, Args> = {
  command: 'plan <flops>',
  describe: 'compute-optimal model size and tokens for a FLOPs budget (Chinchilla), with Kaplan and inference-aware comparisons',
  builder: (y: Argv) =>
    y
      .positional('flops', { type: 'string', demandOption: true, describe: 'training compute budget in FLOPs (C = 6ND), e.g. 5.76e23' })
      .option('law', {
        type: 'string',
        default: DEFAULT_LAW,
        describe:
          'scaling law: epoch2024 (default: Besiroglu et al. 2024 refit of Hoffmann et al.\'s data; the published Approach-3 ' +
          'parameters do not fit that data and imply ≈70 tokens/parameter, against the ≈20 of Approaches 1–2 and of Chinchilla itself), ' +
          'hoffmann2022-tex (Approach 3, unrounded values of the paper source: Figure 4\'s 40B at 5.76e23), ' +
          'hoffmann2022 (the same, rounded as printed), kaplan2020 (Kaplan et al.), or a path to a fit.json (uses its Approach 3)',
      })
      .option('inference-tokens', {
        type: 'string',
        describe: 'expected tokens served over the model’s life; adds the model minimising training + inference FLOPs (6ND + 2NT)',
      })
      .option('json', { type: 'boolean', default: false, describe: 'print the plan as JSON on stdout and nothing else' })
      .example('$0 plan 1e23', 'under the default law (epoch2024): ≈29B parameters on ≈570B tokens')
      .example('$0 plan 5.76e23 --law hoffmann2022-tex', "Gopher's budget under Hoffmann et al.'s unrounded Approach 3 (≈40B)")
      .example('$0 plan 1e21 --law epoch2024 --inference-tokens 2e12', 'a model that will serve 2T tokens')
      .example('$0 plan 1e12 --law runs/isoflop/fit.json', 'using your own sweep’s fit') as never,
  handler: (argv: ArgumentsCamelCase<Args>) => {
    const C = parseCount(argv.flops, 'FLOPs');
    const T = argv['inference-tokens'] !== undefined ? parseCount(argv['inference-tokens'], '--inference-tokens', { allowZero: true }) : undefined;
    const plan = planBudget(loadLaw(argv.law), C, { inferenceTokens: T });
    if (argv.json) {
      process.stdout.write(JSON.stringify(plan, null, 2) + '\n');
      return;
    }
    process.stdout.write(formatPlan(plan) + '\n');
  },
};
export default command;
