import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../src/util/paths.ts';

export const CLI = join(PROJECT_ROOT, 'bin', 'chinchilla.js');

/** Run the CLI to completion. */
export function cli(args: string[], env: Record<string, string> = {}): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [CLI, ...args], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
    cwd: PROJECT_ROOT,
    maxBuffer: 64 * 1024 * 1024,
  });
}

function csvRows(path: string): number {
  if (!existsSync(path)) return 0;
  return readFileSync(path, 'utf8').trim().split('\n').length - 1;
}

/**
 * Start the CLI and SIGKILL it as soon as `csvPath` has at least `rows`
 * evaluation rows (the process gets no chance to clean up). Resolves when dead.
 */
export function runAndKill(args: string[], csvPath: string, rows: number, env: Record<string, string> = {}): Promise<{ killed: boolean; rowsAtKill: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, cwd: PROJECT_ROOT, stdio: 'ignore' });
    let killed = false;
    let rowsAtKill = 0;
    const timer = setInterval(() => {
      const n = csvRows(csvPath);
      if (n >= rows && !killed) {
        killed = true;
        rowsAtKill = n;
        child.kill('SIGKILL');
      }
    }, 5);
    child.on('error', reject);
    child.on('exit', () => {
      clearInterval(timer);
      resolve({ killed, rowsAtKill });
    });
  });
}

/** Start the CLI and send SIGINT (Ctrl-C) once `csvPath` has `rows` rows; resolves with the exit code. */
export function runAndInterrupt(args: string[], csvPath: string, rows: number): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: PROJECT_ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += d));
    let sent = false;
    const timer = setInterval(() => {
      if (!sent && csvRows(csvPath) >= rows) {
        sent = true;
        child.kill('SIGINT');
      }
    }, 5);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearInterval(timer);
      resolve({ code, stderr });
    });
  });
}
