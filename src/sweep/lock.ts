import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, statSync, utimesSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';

/**
 * A lock file per run (`<run>/.lock`) so that two processes — two shards on
 * one machine, or on machines sharing a `runs/` volume — never train the same
 * run at once. Created with O_EXCL (atomic on local filesystems and NFSv3+).
 * The holder refreshes its mtime while it trains; a lock is stale when its
 * process is gone (same host) or it has not been refreshed for STALE_MS.
 */
export const STALE_MS = 15 * 60 * 1000;

export interface LockInfo {
  pid: number;
  host: string;
  since: string;
}

export interface RunLock {
  path: string;
  refresh(): void;
  release(): void;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function readLock(path: string): LockInfo | null {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as LockInfo;
  } catch {
    return null;
  }
}

/** Locks this process holds right now. */
const held = new Set<string>();

/** Why an existing lock may be taken over, or null if it is held. */
function staleReason(path: string): string | null {
  if (held.has(path)) return null;
  const info = readLock(path);
  let age = 0;
  try {
    age = Date.now() - statSync(path).mtimeMs;
  } catch {
    return 'vanished';
  }
  if (!info) return age > 5000 ? 'unreadable' : null;
  if (info.host === hostname() && !pidAlive(info.pid)) return `process ${info.pid} is gone`;
  // Our own host and pid, but not a lock we hold: left by an earlier instance of this
  // container (a restarted pod has the same hostname, and node is pid 1 in both).
  if (info.host === hostname() && info.pid === process.pid) return 'left by an earlier instance of this process';
  if (age > STALE_MS) return `not refreshed for ${Math.round(age / 60000)} min`;
  return null;
}

/** Try to take the lock of `runDir`; returns null (and who holds it) if another live process has it. */
export function tryLock(runDir: string): { lock: RunLock } | { heldBy: LockInfo | null } {
  const path = join(runDir, '.lock');
  mkdirSync(dirname(path), { recursive: true });
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, 'wx');
      const info: LockInfo = { pid: process.pid, host: hostname(), since: new Date().toISOString() };
      writeSync(fd, JSON.stringify(info));
      closeSync(fd);
      held.add(path);
      let released = false;
      return {
        lock: {
          path,
          refresh() {
            if (released) return;
            const now = new Date();
            try {
              utimesSync(path, now, now);
            } catch {
              /* lock removed under us: nothing to refresh */
            }
          },
          release() {
            if (released) return;
            released = true;
            held.delete(path);
            const cur = readLock(path);
            if (cur && cur.pid === info.pid && cur.host === info.host) rmSync(path, { force: true });
          },
        },
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      if (attempt === 0 && staleReason(path) !== null) {
        rmSync(path, { force: true });
        continue;
      }
      return { heldBy: existsSync(path) ? readLock(path) : null };
    }
  }
  return { heldBy: readLock(path) };
}
