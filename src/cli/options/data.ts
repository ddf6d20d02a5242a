/**
 * yargs option definitions for choosing the data (dataset, data dir, mirrors,
 * text treatment) and the tokenizer. Shared by `data`, `train`, `sweep`:
 *
 *   builder: (y) => y.options(dataOptions).options(tokenizerOption)
 *   handler: (argv) => { const o = toDataOptions(argv); const tok = await getTokenizer(argv.tokenizer, o); ... }
 *
 * (The tokenizer spec is validated by getTokenizer, which throws a UserError
 * naming --tokenizer; a yargs `coerce` would wrap it and print a stack trace.)
 */
import type { Options } from 'yargs';
import { DATASET_VARIANTS, type DataOptions, type DatasetVariant } from '../../data/types.ts';
import { TOKENIZER_HELP } from '../../data/tokenizers.ts';

export const dataOptions = {
  dataset: {
    type: 'string',
    choices: DATASET_VARIANTS as unknown as string[],
    default: 'wikitext-2-raw-v1',
    describe: 'WikiText-2 release: raw text, or the tokenized release (rare words -> <unk>)',
    group: 'Data:',
  },
  'data-dir': {
    type: 'string',
    describe:
      'Folder holding wiki.{train,valid,test}.{raw,tokens}[.gz] (or a parent with wikitext-2-raw-v1/, wikitext-2-raw/, ' +
      'wikitext-2-v1/, wikitext-2/ subfolders). Default: env WIKITEXT2_DIR, else the cache data/<dataset>/, else download',
    group: 'Data:',
  },
  mirror: {
    type: 'string',
    array: true,
    describe: 'Extra URL of the release zip (e.g. .../wikitext-2-raw-v1.zip), tried before the built-in mirrors; repeatable',
    group: 'Data:',
  },
  'strip-markers': {
    type: 'boolean',
    default: false,
    describe: "Join WikiText's ' @-@ ', ' @,@ ', ' @.@ ' markers back into '-', ',', '.' (default: keep the text as released)",
    group: 'Data:',
  },
  'drop-blank-lines': {
    type: 'boolean',
    default: false,
    describe: 'Remove whitespace-only lines (default: keep them as released)',
    group: 'Data:',
  },
  'join-lines': {
    type: 'boolean',
    default: false,
    describe: "Join the non-blank lines with single spaces, as the blog's train.py prepares the text (default: as released)",
    group: 'Data:',
  },
} as const satisfies Record<string, Options>;

export const tokenizerOption = {
  tokenizer: {
    type: 'string',
    default: 'gpt2',
    describe: `Tokenizer: ${TOKENIZER_HELP}`,
    group: 'Data:',
  },
} as const satisfies Record<string, Options>;

/** The parsed values of dataOptions, as yargs hands them to a handler. */
export interface DataArgs {
  dataset?: string;
  'data-dir'?: string;
  mirror?: (string | number)[];
  'strip-markers'?: boolean;
  'drop-blank-lines'?: boolean;
  'join-lines'?: boolean;
}

/** DataOptions for the loader from parsed CLI arguments. */
export function toDataOptions(argv: DataArgs, extra: { quiet?: boolean } = {}): DataOptions {
  return {
    dataset: (argv.dataset ?? 'wikitext-2-raw-v1') as DatasetVariant,
    dataDir: argv['data-dir'] || undefined,
    mirrors: (argv.mirror ?? []).map(String),
    stripMarkers: argv['strip-markers'] ?? false,
    dropBlankLines: argv['drop-blank-lines'] ?? false,
    joinLines: argv['join-lines'] ?? false,
    quiet: extra.quiet,
  };
}
