/**
 * WikiText-2 loader. A split's file is taken from the first source that is
 * configured, in this order:
 *
 *   1. `--data-dir DIR`            (DataOptions.dataDir)
 *   2. env `WIKITEXT2_DIR`
 *   3. the cache `<cacheRoot>/<variant>/` (cacheRoot defaults to dataRoot() = <repo>/data)
 *   4. the release archive, downloaded from --mirror URLs then the built-in
 *      mirrors (RELEASES[variant].mirrors), verified and extracted into the cache.
 *
 * DIR (1, 2) may be the folder holding the split files or a parent holding a
 * variant subfolder (`wikitext-2-raw-v1`/`wikitext-2-raw`, `wikitext-2-v1`/`wikitext-2`).
 * Files may be plain or gzipped (`wiki.train.raw` or `wiki.train.raw.gz`).
 * An explicit folder is used exclusively: a split missing there is an error
 * (it does not silently fall back to downloading).
 *
 * Every file read is checked against the release's published SHA-256 of the
 * uncompressed content; a mismatch is a UserError naming the file, both
 * hashes and the fix. Downloads go to a temp folder, are verified member by
 * member, and only then renamed into the cache, so the cache never holds a
 * partial or corrupt file.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join, resolve, basename } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { unzipSync } from 'fflate';
import { UserError } from '../util/errors.ts';
import { writeFileAtomic } from '../util/atomic.ts';
import { dataRoot } from '../util/paths.ts';
import { DownloadError, downloadToFile } from './download.ts';
import { sha256Hex } from './hash.ts';
import { RELEASES, variantFolderNames, type Release, type SplitFile } from './releases.ts';
import { treatText } from './text.ts';
import { DATASET_VARIANTS, SPLITS, type DataOptions, type DatasetVariant, type Split } from './types.ts';

export interface SplitText {
  /** The split's text (as released unless stripMarkers/dropBlankLines). */
  text: string;
  /** SHA-256 of the released file (uncompressed), as verified. */
  sha256: string;
  /** The file it was read from. */
  file: string;
}

/** Text of one split, verified against the release checksum. */
export async function loadSplitText(split: Split, o: DataOptions): Promise<SplitText> {
  const { bytes, sha256, file } = await loadSplitBytes(split, o);
  const text = new TextDecoder('utf-8').decode(bytes);
  return { text: treatText(text, o), sha256, file };
}

/** The released bytes of one split (uncompressed, verified), and where they came from. */
export async function loadSplitBytes(split: Split, o: DataOptions): Promise<{ bytes: Uint8Array; sha256: string; file: string }> {
  const release = releaseOf(o.dataset);
  const spec = release.files[split];

  const explicit = explicitDir(o);
  if (explicit) {
    const dir = variantDir(explicit.dir, explicit.how, release);
    const file = findSplitFile(dir, spec);
    if (!file) throw missingSplitError(split, release, dir, explicit.how, explicit.dir);
    return { ...readVerified(file, spec, `${explicit.how} folder`), file };
  }

  const cacheDir = join(o.cacheRoot ?? dataRoot(), release.variant);
  const cached = findSplitFile(cacheDir, spec);
  if (cached) {
    try {
      return { ...readVerified(cached, spec, 'cache'), file: cached };
    } catch (e) {
      if (!(e instanceof UserError)) throw e;
      // Our own cache copy is bad (edited, disk error): drop it and fetch again.
      if (!o.quiet) process.stderr.write(`warning: ${e.message.split('\n')[0]}\nRemoving ${cached} and downloading again.\n`);
      rmSync(cached, { force: true });
    }
  }
  await fetchRelease(release, split, cacheDir, o);
  const file = findSplitFile(cacheDir, spec);
  if (!file) throw new Error(`internal: ${spec.name} not in ${cacheDir} after download`);
  return { ...readVerified(file, spec, 'cache'), file };
}

export function releaseOf(variant: DatasetVariant): Release {
  const r = RELEASES[variant];
  if (!r) {
    throw new UserError(`Unknown dataset "${variant}" (--dataset): use one of ${DATASET_VARIANTS.join(', ')}.`);
  }
  return r;
}

function explicitDir(o: DataOptions): { dir: string; how: string } | undefined {
  if (o.dataDir) return { dir: resolve(o.dataDir), how: '--data-dir' };
  const env = process.env.WIKITEXT2_DIR;
  if (env) return { dir: resolve(env), how: 'WIKITEXT2_DIR' };
  return undefined;
}

function hasAnySplit(dir: string, release: Release): boolean {
  return SPLITS.some((s) => findSplitFile(dir, release.files[s]) !== undefined);
}

/** The folder holding the variant's files: DIR itself or one of its variant subfolders. */
function variantDir(dir: string, how: string, release: Release): string {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new UserError(
      `${how} ${dir} is not a folder. Point ${how} at the folder holding ${filePattern(release)} ` +
        `(or its parent), or leave it unset to download WikiText-2 into the cache.`,
    );
  }
  const candidates = [dir, ...variantFolderNames(release.variant).map((n) => join(dir, n))];
  const found = candidates.find((c) => existsSync(c) && hasAnySplit(c, release));
  if (found) return found;
  const other = DATASET_VARIANTS.filter((v) => v !== release.variant).find((v) =>
    [dir, ...variantFolderNames(v).map((n) => join(dir, n))].some((c) => existsSync(c) && hasAnySplit(c, RELEASES[v])),
  );
  throw new UserError(
    `${how} ${dir} holds no ${release.variant} files: expected ${filePattern(release)} in it or in a subfolder ` +
      `${variantFolderNames(release.variant).join('/ or ')}/.` +
      (other ? ` It does hold the ${other} release: pass --dataset ${other} to use that.` : '') +
      ` Or leave ${how} unset to download the release into the cache.`,
  );
}

function filePattern(release: Release): string {
  const ext = release.files.train.name.split('.').pop();
  return `wiki.{train,valid,test}.${ext}[.gz]`;
}

/** `name` or `name.gz` inside dir, whichever exists (plain first). */
export function findSplitFile(dir: string, spec: SplitFile): string | undefined {
  for (const f of [join(dir, spec.name), join(dir, `${spec.name}.gz`)]) {
    if (existsSync(f)) return f;
  }
  return undefined;
}

/** Read (gunzip if .gz) and check the released sha256. */
function readVerified(file: string, spec: SplitFile, where: string): { bytes: Uint8Array; sha256: string } {
  let bytes: Uint8Array = readFileSync(file);
  if (file.endsWith('.gz')) {
    try {
      bytes = gunzipSync(bytes);
    } catch (e) {
      throw new UserError(
        `${file} is not a valid gzip file (${(e as Error).message}). ` +
          `Replace it with ${spec.name} (plain or gzipped) from the release, sha256 ${spec.sha256}.`,
      );
    }
  }
  const sha256 = sha256Hex(bytes);
  if (sha256 !== spec.sha256) {
    throw new UserError(
      `Checksum mismatch for ${file} (${where}):\n` +
        `  expected sha256 ${spec.sha256} (${spec.name}, ${spec.bytes} bytes as released)\n` +
        `  actual   sha256 ${sha256} (${bytes.length} bytes${file.endsWith('.gz') ? ' after gunzip' : ''})\n` +
        `The file is not the released ${spec.name} (truncated, edited, or another version). ` +
        `Replace it with the file from the release archive, or delete it and run again without ` +
        `--data-dir/WIKITEXT2_DIR to download a verified copy into the cache.`,
    );
  }
  return { bytes, sha256 };
}

function missingSplitError(split: Split, release: Release, dir: string, how: string, root: string): UserError {
  const spec = release.files[split];
  const alt = DATASET_VARIANTS.find((v) => v !== release.variant)!;
  const altDir = [root, ...variantFolderNames(alt).map((n) => join(root, n))].find(
    (c) => existsSync(c) && findSplitFile(c, RELEASES[alt].files[split]) !== undefined,
  );
  const unset = how === '--data-dir' ? 'drop --data-dir' : 'unset WIKITEXT2_DIR';
  return new UserError(
    `WikiText-2 ${split} split not found: neither ${join(dir, spec.name)} nor ${spec.name}.gz exists ` +
      `(folder from ${how}).\n` +
      `To get it: take ${spec.member} (${spec.bytes} bytes, sha256 ${spec.sha256}) from ` +
      `${release.archive.name} (e.g. ${release.mirrors[0]}) and put it in ${dir}; ` +
      `or ${unset} so the release is downloaded into the cache` +
      (altDir ? `; or use --dataset ${alt}, whose ${split} split is in ${altDir}.` : '.'),
  );
}

/**
 * Download the release archive (mirrors in order), verify every member it
 * holds against the published sha256, and move the verified files into the
 * cache. The archive must contain `needed`. Throws a UserError listing every
 * URL tried and why it failed.
 */
async function fetchRelease(release: Release, needed: Split, cacheDir: string, o: DataOptions): Promise<void> {
  const urls = [...(o.mirrors ?? []), ...(o.builtinMirrors === false ? [] : release.mirrors)];
  // Within one process, do not retry mirrors that already failed (e.g. offline:
  // `chinchilla data` asks for three splits of the same archive).
  const memoKey = `${cacheDir}\n${urls.join('\n')}`;
  const failed = failedFetches.get(memoKey);
  if (failed) throw failed;
  try {
    await fetchReleaseFrom(urls, release, needed, cacheDir, o);
  } catch (e) {
    if (e instanceof UserError) failedFetches.set(memoKey, e);
    throw e;
  }
}
const failedFetches = new Map<string, UserError>();

async function fetchReleaseFrom(urls: string[], release: Release, needed: Split, cacheDir: string, o: DataOptions): Promise<void> {
  const failures: string[] = [];
  const cacheRoot = resolve(cacheDir, '..');
  for (const url of urls) {
    let tmp: string | undefined;
    try {
      new URL(url); // reject garbage early with a clear reason
      mkdirSync(cacheRoot, { recursive: true });
      tmp = mkdtempSync(join(cacheRoot, `.download-${release.variant}-`));
      const archivePath = join(tmp, release.archive.name);
      if (!o.quiet) process.stderr.write(`Downloading ${release.archive.name} from ${url}\n`);
      const got = await downloadToFile(url, archivePath, {
        label: release.archive.name,
        expectedBytes: release.archive.bytes,
        idleTimeoutMs: o.downloadTimeoutMs,
        quiet: o.quiet,
      });
      const members = extractVerified(readFileSync(archivePath), release, got.sha256);
      if (!members.has(needed)) {
        throw new DownloadError(url, `the archive has no ${release.files[needed].member}`);
      }
      for (const [split, bytes] of members) writeFileAtomic(join(cacheDir, release.files[split].name), bytes);
      if (!o.quiet) {
        process.stderr.write(`Verified and cached ${[...members.keys()].map((s) => release.files[s].name).join(', ')} in ${cacheDir}\n`);
      }
      return;
    } catch (e) {
      let reason: string;
      if (e instanceof DownloadError) reason = e.reason;
      else if (e instanceof TypeError && /Invalid URL/i.test(e.message)) reason = 'not a valid URL';
      else throw e;
      failures.push(`${url}: ${reason}`);
      if (!o.quiet) process.stderr.write(`  failed: ${reason}\n`);
    } finally {
      if (tmp) rmSync(tmp, { recursive: true, force: true });
    }
  }
  const spec = release.files[needed];
  throw new UserError(
    `Could not download WikiText-2 (${release.variant}) to get ${spec.name}. Tried:\n` +
      (urls.length ? failures.map((f) => `  - ${f}`).join('\n') : '  (no mirrors)') +
      `\nWays out: get ${release.archive.name} on a machine with internet access, unzip it, and point ` +
      `--data-dir DIR (or env WIKITEXT2_DIR=DIR) at the folder holding ${filePattern(release)}; ` +
      `or pass --mirror URL naming another copy of ${release.archive.name}.`,
  );
}

/**
 * Unzip the members of `release` found in `zip` (matched by file name, so a
 * re-packed archive with another top folder works) and check each one's
 * sha256. Any member that fails, or an unreadable zip, rejects the archive.
 */
export function extractVerified(zip: Uint8Array, release: Release, archiveSha256: string): Map<Split, Uint8Array> {
  const byName = new Map(SPLITS.map((s) => [release.files[s].name, s] as const));
  let files: Record<string, Uint8Array>;
  try {
    files = unzipSync(zip, { filter: (f) => byName.has(basename(f.name)) });
  } catch (e) {
    throw new DownloadError(release.archive.name, `not a valid zip archive (${(e as Error).message})`);
  }
  const out = new Map<Split, Uint8Array>();
  const knownArchive = release.archive.sha256;
  for (const [path, bytes] of Object.entries(files)) {
    const split = byName.get(basename(path))!;
    const spec = release.files[split];
    const sha = sha256Hex(bytes);
    if (sha !== spec.sha256) {
      throw new DownloadError(
        release.archive.name,
        `member ${path} fails verification: expected sha256 ${spec.sha256}, got ${sha} (${bytes.length} bytes)` +
          (knownArchive && archiveSha256 !== knownArchive
            ? `; archive sha256 ${archiveSha256} differs from the release's ${knownArchive}`
            : ''),
      );
    }
    out.set(split, bytes);
  }
  return out;
}
