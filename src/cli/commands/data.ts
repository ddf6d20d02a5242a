/**
 * `chinchilla data`: fetch/verify WikiText-2, tokenize every split (cached), and
 * report per split: lines, characters, tokens, distinct tokens, sha256, encode time.
 */
import type { Argv, CommandModule } from 'yargs';
import { isUserError } from '../../util/errors.ts';
import { loadEncoded } from '../../data/encoded.ts';
import { countChars, countLines } from '../../data/text.ts';
import { getTokenizer } from '../../data/tokenizers.ts';
import type { Tokenizer } from '../../data/tokenizer.ts';
import { SPLITS, type DataOptions, type Split } from '../../data/types.ts';
import { dataOptions, tokenizerOption, toDataOptions, type DataArgs } from '../options/data.ts';
import { formatTable } from '../../util/table.ts';

export interface SplitStats {
  lines: number;
  /** Unicode characters (code points). */
  chars: number;
  /** UTF-8 bytes. */
  bytes: number;
  tokens: number;
  distinct_tokens: number;
  sha256: string;
  /** Seconds spent encoding now; 0 when the encoded split came from the cache. */
  encode_s: number;
  cached: boolean;
  file: string;
}
export type SplitReport = SplitStats | { missing: true; reason: string };

export interface DataReport {
  dataset: string;
  tokenizer: { name: string; id: string; vocab_size: number };
  text: { strip_markers: boolean; drop_blank_lines: boolean; join_lines: boolean };
  train: SplitReport;
  validation: SplitReport;
  test: SplitReport;
}

/** Load, encode and measure every split; a split that cannot be loaded is reported as missing. */
export async function dataReport(o: DataOptions, tok: Tokenizer): Promise<DataReport> {
  const out: Partial<Record<Split, SplitReport>> = {};
  for (const split of SPLITS) {
    try {
      const enc = await loadEncoded(split, tok, o);
      const distinct = new Set<number>();
      for (let i = 0; i < enc.tokens.length; i++) distinct.add(enc.tokens[i]);
      out[split] = {
        lines: countLines(enc.text),
        chars: countChars(enc.text),
        bytes: Buffer.byteLength(enc.text, 'utf8'),
        tokens: enc.tokens.length,
        distinct_tokens: distinct.size,
        sha256: enc.sha256,
        encode_s: Number(enc.encodeSeconds.toFixed(3)),
        cached: enc.cached,
        file: enc.file,
      };
    } catch (e) {
      if (!isUserError(e)) throw e;
      out[split] = { missing: true, reason: e.message };
    }
  }
  return {
    dataset: o.dataset,
    tokenizer: { name: tok.name, id: tok.id, vocab_size: tok.vocabSize },
    text: { strip_markers: !!o.stripMarkers, drop_blank_lines: !!o.dropBlankLines, join_lines: !!o.joinLines },
    train: out.train!,
    validation: out.validation!,
    test: out.test!,
  };
}

const int = (n: number) => n.toLocaleString('en-US');

export function formatReport(r: DataReport): string {
  const head = ['split', 'lines', 'characters', 'tokens', 'distinct', 'chars/token', 'encode'];
  const rows: string[][] = [];
  const notes: string[] = [];
  for (const split of SPLITS) {
    const s = r[split];
    if ('missing' in s) {
      rows.push([split, 'missing', '', '', '', '', '']);
      notes.push(`${split}: ${s.reason}`);
      continue;
    }
    rows.push([
      split,
      int(s.lines),
      int(s.chars),
      int(s.tokens),
      int(s.distinct_tokens),
      (s.chars / Math.max(1, s.tokens)).toFixed(2),
      s.cached ? 'cached' : `${s.encode_s.toFixed(2)} s`,
    ]);
  }
  const treat = [r.text.strip_markers && 'markers stripped', r.text.drop_blank_lines && 'blank lines dropped'].filter(Boolean);
  const out = [
    `WikiText-2 ${r.dataset}, tokenizer ${r.tokenizer.name} (vocab ${int(r.tokenizer.vocab_size)})` +
      (treat.length ? `, ${treat.join(', ')}` : ', text as released'),
    '',
    formatTable(head, rows),
    '',
    'sha256 of the released files (verified):',
  ];
  for (const split of SPLITS) {
    const s = r[split];
    if (!('missing' in s)) out.push(`  ${split.padEnd(10)} ${s.sha256}`);
  }
  if (notes.length) out.push('', ...notes);
  return out.join('\n') + '\n';
}

type Args = DataArgs & { tokenizer: string; json: boolean };

const command: CommandModule<object, Args> = {
  command: 'data',
  describe: 'Fetch and verify WikiText-2, tokenize it (cached), and print per-split statistics',
  builder: (y: Argv) =>
    y
      .options(dataOptions)
      .options(tokenizerOption)
      .option('json', { type: 'boolean', default: false, describe: 'Print one JSON object (keys train, validation, test) instead of a table' })
      .example('$0 data', 'raw WikiText-2 with the GPT-2 tokenizer')
      .example('$0 data --tokenizer bpe:8192 --json', 'BPE with 8192 tokens trained on train; JSON')
      .example('$0 data --data-dir ~/wikitext', 'read local copies instead of downloading') as unknown as Argv<Args>,
  handler: async (argv) => {
    const o = toDataOptions(argv);
    const tok = await getTokenizer(argv.tokenizer, o);
    const report = await dataReport(o, tok);
    process.stdout.write(argv.json ? JSON.stringify(report, null, 2) + '\n' : formatReport(report));
    // Nothing could be read at all: say so through the exit status too.
    if (SPLITS.every((s) => 'missing' in report[s])) process.exitCode = 1;
  },
};
export default command;
