/** Which WikiText-2 release: raw text (default) or the tokenized one with rare words replaced by `<unk>`. */
export type DatasetVariant = 'wikitext-2-raw-v1' | 'wikitext-2-v1';
export const DATASET_VARIANTS: readonly DatasetVariant[] = ['wikitext-2-raw-v1', 'wikitext-2-v1'];

export type Split = 'train' | 'validation' | 'test';
export const SPLITS: readonly Split[] = ['train', 'validation', 'test'];

export interface DataOptions {
  dataset: DatasetVariant; // CLI default 'wikitext-2-raw-v1'
  dataDir?: string; // --data-dir; else env WIKITEXT2_DIR; else cache dataRoot()/<variant>/; else download
  mirrors?: string[]; // extra archive URLs (--mirror), tried before the built-in list
  cacheRoot?: string; // default dataRoot() (= <repo>/data); tests point it at a temp dir
  stripMarkers?: boolean; // default false: keep ' @-@ ' etc. as released
  dropBlankLines?: boolean; // default false: keep blank lines as released
  joinLines?: boolean; // default false; true: the blog's text, non-blank lines joined by single spaces (text.ts)
  quiet?: boolean; // no progress output
  /** @internal Tests only: skip the built-in mirror list (try just `mirrors`). */
  builtinMirrors?: boolean;
  /** @internal Tests only: per-request idle timeout for downloads, in ms. */
  downloadTimeoutMs?: number;
}
