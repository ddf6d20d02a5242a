/**
 * The two WikiText-2 releases (Merity et al. 2016, "Pointer Sentinel Mixture
 * Models", arXiv:1609.07843; CC BY-SA 3.0): where to download them and the
 * published SHA-256 of every split file, so that whatever we read is
 * byte-for-byte the release.
 */
import type { DatasetVariant, Split } from './types.ts';

export interface SplitFile {
  /** File name inside the release folder, e.g. `wiki.train.raw`. */
  name: string;
  /** Path of the member inside the release zip, e.g. `wikitext-2-raw/wiki.train.raw`. */
  member: string;
  /** SHA-256 of the uncompressed file as released. */
  sha256: string;
  /** Size in bytes and line count as released (for messages and progress). */
  bytes: number;
  lines: number;
}

export interface Release {
  variant: DatasetVariant;
  /** Folder name inside the zip (`wikitext-2-raw`, `wikitext-2`); also accepted under --data-dir. */
  folder: string;
  archive: { name: string; bytes?: number; sha256?: string };
  /** Public mirrors of the archive, tried in order after any --mirror URLs. */
  mirrors: string[];
  files: Record<Split, SplitFile>;
}

/**
 * Public copies of the release archives. The original Salesforce/MetaMind S3
 * bucket (used by torchtext and by the Hugging Face `wikitext` loading script)
 * now answers 403 for many clients; the author's own mirror
 * wikitext.smerity.com serves the same archives (used by the PyTorch examples
 * and later `datasets` versions). Both are tried, smerity first.
 */
function mirrorsFor(archive: string): string[] {
  return [
    `https://wikitext.smerity.com/${archive}`,
    `https://s3.amazonaws.com/research.metamind.io/wikitext/${archive}`,
  ];
}

export const RELEASES: Record<DatasetVariant, Release> = {
  'wikitext-2-raw-v1': {
    variant: 'wikitext-2-raw-v1',
    folder: 'wikitext-2-raw',
    archive: {
      name: 'wikitext-2-raw-v1.zip',
      bytes: 4_721_645,
      sha256: 'ef7edb566e3e2b2d31b29c1fdb0c89a4cc683597484c3dc2517919c615435a11',
    },
    mirrors: mirrorsFor('wikitext-2-raw-v1.zip'),
    files: {
      train: {
        name: 'wiki.train.raw',
        member: 'wikitext-2-raw/wiki.train.raw',
        sha256: '6707892fa3788b5ab9ed78ab5ff37d9fe825f6011a2ad4fcd6a6d467f0e7da57',
        bytes: 10_940_747,
        lines: 36_718,
      },
      validation: {
        name: 'wiki.valid.raw',
        member: 'wikitext-2-raw/wiki.valid.raw',
        sha256: '4cd0f6876d07a413aa911261ff6d363c72d757d47f0fdd6015702014c89cb9c7',
        bytes: 1_146_846,
        lines: 3_760,
      },
      test: {
        name: 'wiki.test.raw',
        member: 'wikitext-2-raw/wiki.test.raw',
        sha256: '173c87a53759e0201f33e0ccf978e510c2042d7f2cb78229d9a50d79b9e7dd08',
        bytes: 1_290_590,
        lines: 4_358,
      },
    },
  },
  'wikitext-2-v1': {
    variant: 'wikitext-2-v1',
    folder: 'wikitext-2',
    // No published checksum for this archive; its three members are verified instead.
    archive: { name: 'wikitext-2-v1.zip' },
    mirrors: mirrorsFor('wikitext-2-v1.zip'),
    files: {
      train: {
        name: 'wiki.train.tokens',
        member: 'wikitext-2/wiki.train.tokens',
        sha256: '9e9fa1ad55b1c2c95b08e37dd8e653f638fac2c6de904b79e813611eefbc985f',
        bytes: 10_797_148,
        lines: 36_718,
      },
      validation: {
        name: 'wiki.valid.tokens',
        member: 'wikitext-2/wiki.valid.tokens',
        sha256: 'f0737ed31fc1329026e95cb8b98e19c2a182c39c240ab909dc31abf2f8af58e8',
        bytes: 1_121_681,
        lines: 3_760,
      },
      test: {
        name: 'wiki.test.tokens',
        member: 'wikitext-2/wiki.test.tokens',
        sha256: 'd790b833ef8cf03a90db7bf1271b7520b83c45ce07ba3c1a9699df81e239eca0',
        bytes: 1_256_449,
        lines: 4_358,
      },
    },
  },
};

/** Folder names accepted for a variant below a --data-dir / WIKITEXT2_DIR parent. */
export function variantFolderNames(variant: DatasetVariant): string[] {
  return [variant, RELEASES[variant].folder];
}
