import { mkdirSync, renameSync, writeFileSync, openSync, fsyncSync, closeSync, rmSync } from 'node:fs';
import { dirname, join, basename } from 'node:path';

/**
 * Write a file so that readers see either the old content or the whole new
 * content, never a half-written file: write a sibling temp file, fsync it,
 * then rename it over the target (rename is atomic on POSIX filesystems).
 */
export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${Date.now()}.tmp`);
  try {
    const fd = openSync(tmp, 'w');
    try {
      writeFileSync(fd, data);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    // a write through a file descriptor fails without a path (ENOSPC): name the file for the message
    const err = e as NodeJS.ErrnoException;
    if (err && typeof err === 'object' && err.code && !err.path) err.path = path;
    throw e;
  }
}

export function writeJsonAtomic(path: string, value: unknown): void {
  writeFileAtomic(path, JSON.stringify(value, null, 2) + '\n');
}
