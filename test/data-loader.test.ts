import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { loadSplitText, RELEASES, countLines, treatText, type DatasetVariant, type Split } from '../src/data/index.ts';
import { UserError } from '../src/util/errors.ts';
import { sharedDatasetsOrSkip, userError } from './helpers/data.ts';

const shared = sharedDatasetsOrSkip('data-loader');
const tmpRoot = mkdtempSync(join(tmpdir(), 'chinchilla-loader-'));
afterAll(() => rmSync(tmpRoot, { recursive: true, force: true }));


describe.skipIf(!shared)('WikiText-2 loader on the shared copies', () => {
  const dir = shared!;
  const available: [DatasetVariant, Split, string][] = [
    ['wikitext-2-v1', 'train', ' = Valkyria Chronicles III = '],
    ['wikitext-2-v1', 'validation', ' = Homarus gammarus = '],
    ['wikitext-2-v1', 'test', ' = Robert <unk> = '], // rare word replaced in the tokenized release
    ['wikitext-2-raw-v1', 'validation', ' = Homarus gammarus = '],
    ['wikitext-2-raw-v1', 'test', ' = Robert Boulter = '],
  ];

  it.each(available)('%s %s: verified sha256, released line count and first heading', async (dataset, split, heading) => {
    const spec = RELEASES[dataset].files[split];
    const r = await loadSplitText(split, { dataset, dataDir: dir, quiet: true });
    expect(r.sha256).toBe(spec.sha256);
    expect(r.file.endsWith(`${spec.name}.gz`)).toBe(true);
    expect(countLines(r.text)).toBe(spec.lines);
    expect(Buffer.byteLength(r.text)).toBe(spec.bytes);
    // As released: the file starts with a blank line (a single space), then the first heading.
    expect(r.text.split('\n').slice(0, 2)).toEqual([' ', heading]);
  });

  it('takes the variant folder itself, its parent, or WIKITEXT2_DIR', async () => {
    const direct = await loadSplitText('test', { dataset: 'wikitext-2-v1', dataDir: join(dir, 'wikitext-2'), quiet: true });
    expect(direct.sha256).toBe(RELEASES['wikitext-2-v1'].files.test.sha256);
    vi.stubEnv('WIKITEXT2_DIR', dir);
    try {
      const viaEnv = await loadSplitText('test', { dataset: 'wikitext-2-raw-v1', quiet: true });
      expect(viaEnv.file).toBe(join(dir, 'wikitext-2-raw', 'wiki.test.raw.gz'));
    } finally {
      vi.unstubAllEnvs();
    }
  });

  it('reads plain (not gzipped) files too', async () => {
    const plain = join(tmpRoot, 'plain');
    mkdirSync(plain);
    writeFileSync(join(plain, 'wiki.valid.raw'), gunzipSync(readFileSync(join(dir, 'wikitext-2-raw', 'wiki.valid.raw.gz'))));
    const r = await loadSplitText('validation', { dataset: 'wikitext-2-raw-v1', dataDir: plain, quiet: true });
    expect(r.file).toBe(join(plain, 'wiki.valid.raw'));
    expect(r.sha256).toBe(RELEASES['wikitext-2-raw-v1'].files.validation.sha256);
  });

  it('a missing split (raw train here) is a clear error naming the file and how to get it', async () => {
    const e = await userError(loadSplitText('train', { dataset: 'wikitext-2-raw-v1', dataDir: dir, quiet: true }));
    expect(e.message).toContain(join(dir, 'wikitext-2-raw', 'wiki.train.raw'));
    expect(e.message).toContain('6707892fa3788b5ab9ed78ab5ff37d9fe825f6011a2ad4fcd6a6d467f0e7da57');
    expect(e.message).toContain('wikitext-2-raw-v1.zip');
    expect(e.message).toContain('--dataset wikitext-2-v1');
  });

  it('a file that is not the release is rejected with both hashes and the fix', async () => {
    const bad = join(tmpRoot, 'bad');
    mkdirSync(bad);
    const good = gunzipSync(readFileSync(join(dir, 'wikitext-2', 'wiki.valid.tokens.gz')));
    const edited = Buffer.concat([good.subarray(0, 1000), good.subarray(1001)]); // one byte lost
    writeFileSync(join(bad, 'wiki.valid.tokens'), edited);
    const e = await userError(loadSplitText('validation', { dataset: 'wikitext-2-v1', dataDir: bad, quiet: true }));
    expect(e.message).toContain(join(bad, 'wiki.valid.tokens'));
    expect(e.message).toContain(`expected sha256 ${RELEASES['wikitext-2-v1'].files.validation.sha256}`);
    expect(e.message).toContain(`actual   sha256 ${createHashHex(edited)}`);
    expect(e.message).toMatch(/Replace it/);
  });

  it('a folder with only the other release suggests --dataset', async () => {
    const e = await userError(loadSplitText('test', { dataset: 'wikitext-2-raw-v1', dataDir: join(dir, 'wikitext-2'), quiet: true }));
    expect(e.message).toContain('holds no wikitext-2-raw-v1 files');
    expect(e.message).toContain('--dataset wikitext-2-v1');
    const e2 = await userError(loadSplitText('test', { dataset: 'wikitext-2-v1', dataDir: join(tmpRoot, 'nope'), quiet: true }));
    expect(e2.message).toContain('is not a folder');
  });

  it('a corrupt file in the cache is removed, not used', async () => {
    const cacheRoot = join(tmpRoot, 'cache');
    mkdirSync(join(cacheRoot, 'wikitext-2-v1'), { recursive: true });
    const f = join(cacheRoot, 'wikitext-2-v1', 'wiki.valid.tokens');
    writeFileSync(f, 'not wikitext\n');
    vi.stubEnv('WIKITEXT2_DIR', '');
    try {
      // No mirror to re-download from: the error says so, and the bad file is gone.
      const e = await userError(loadSplitText('validation', { dataset: 'wikitext-2-v1', cacheRoot, builtinMirrors: false, quiet: true }));
      expect(e.message).toContain('Could not download');
      expect(existsSync(f)).toBe(false);
      expect(readdirSync(cacheRoot).filter((n) => n.startsWith('.download'))).toEqual([]);
    } finally {
      vi.unstubAllEnvs();
    }
  });

  describe('text treatment', () => {
    it('keeps the text as released by default; --strip-markers joins exactly the 2,518 markers of raw valid', async () => {
      const o = { dataset: 'wikitext-2-raw-v1' as const, dataDir: dir, quiet: true };
      const released = gunzipSync(readFileSync(join(dir, 'wikitext-2-raw', 'wiki.valid.raw.gz'))).toString('utf8');
      const asIs = await loadSplitText('validation', o);
      expect(asIs.text).toBe(released);
      const stripped = await loadSplitText('validation', { ...o, stripMarkers: true });
      // 391 ' @,@ ' + 1,864 ' @-@ ' + 263 ' @.@ ' (grep -o count); each 5 chars -> 1.
      expect(released.length - stripped.text.length).toBe(4 * 2518);
      expect(stripped.text).not.toMatch(/ @[-,.]@ /);
      expect(released).toContain('7 Mid @-@ Town Historic District');
      expect(stripped.text).toContain('7 Mid-Town Historic District');
      expect(stripped.sha256).toBe(asIs.sha256); // the checksum is of the released file
      expect(countLines(stripped.text)).toBe(3760);
    });

    it('--drop-blank-lines keeps the 2,461 non-blank lines of valid, unchanged', async () => {
      const o = { dataset: 'wikitext-2-v1' as const, dataDir: dir, quiet: true };
      const all = (await loadSplitText('validation', o)).text;
      const dropped = (await loadSplitText('validation', { ...o, dropBlankLines: true })).text;
      expect(countLines(dropped)).toBe(2461);
      expect(dropped.split('\n').slice(0, -1).every((l) => l.trim() !== '')).toBe(true);
      expect(dropped).toBe(all.split('\n').filter((l) => l.trim() !== '').join('\n') + '\n');
    });
  });
});

describe('treatText on hand-made strings', () => {
  it('maps the three markers and nothing else', () => {
    const s = ' \n the state @-@ of @-@ the @-@ art , 1 @,@ 000 and 3 @.@ 5 @ x \n';
    expect(treatText(s, {})).toBe(s);
    expect(treatText(s, { stripMarkers: true })).toBe(' \n the state-of-the-art , 1,000 and 3.5 @ x \n');
    expect(treatText(s, { dropBlankLines: true })).toBe(' the state @-@ of @-@ the @-@ art , 1 @,@ 000 and 3 @.@ 5 @ x \n');
    expect(treatText(' \n \n', { dropBlankLines: true })).toBe('');
  });
});

function createHashHex(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}
