import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
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

/** What `trainTinyWith` returns for each environment: the CLI's output and the run's run.json. */
export interface TinyRun {
  stdout: string;
  info: { final_eval: { val_loss: number } };
}

/**
 * The same tiny byte-level run on wasm (one worker) once per environment in `envs`, each in its
 * own folder (the kernel switches compare their runs' losses). Fails the test if a run fails.
 */
export function trainTinyWith(
  shared: string,
  model: { context: number; d_model: number; n_layers: number; n_heads: number },
  o: { steps: number; batch: number },
  envs: Record<string, string>[],
): TinyRun[] {
  const dir = mkdtempSync(join(tmpdir(), 'chl-tiny-'));
  try {
    const modelFile = join(dir, 'm.json');
    writeFileSync(modelFile, JSON.stringify(model));
    return envs.map((env, k) => {
      const out = join(dir, `run${k}`);
      const args = ['train', '--model', modelFile, '--tokenizer', 'byte', '--dataset', 'wikitext-2-v1', '--backend', 'wasm', '--workers', '1'];
      const r = cli([...args, '--steps', String(o.steps), '--batch', String(o.batch), '--lr', '3e-3', '--eval-interval', String(o.steps), '--final-eval-windows', '64', '--out', out], { WIKITEXT2_DIR: shared, ...env });
      if (r.status !== 0) throw new Error(`train failed (${JSON.stringify(env)}): ${r.stderr}`);
      return { stdout: r.stdout + r.stderr, info: JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')) };
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
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
