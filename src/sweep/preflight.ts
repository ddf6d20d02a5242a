/**
 * The checks a sweep makes before it times or trains anything, cheapest first:
 * the output folder, then every dataset split and tokenizer (download or
 * cache, encode), then memory and disk space. Nothing is created under the
 * sweep folder here: a failure leaves runs/ exactly as it was.
 */
import { accessSync, constants, existsSync, statSync, statfsSync } from 'node:fs';
import { totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import type { BackendProfile } from '../backend.ts';
import type { DataOptions } from '../data/index.ts';
import { resolveModelConfig } from '../model/config.ts';
import { estimateStepBytes } from '../model/gpt.ts';
import { gptOptions } from '../train/memory.ts';
import { resolveWorkers, workerMicroBatch } from '../train/parallel/workers.ts';
import { readRunJson } from '../artifacts/runJson.ts';
import { prepareData } from '../train/setup.ts';
import { UserError } from '../util/errors.ts';
import type { PlannedRun } from './config.ts';

const GB = 2 ** 30;
const fmtGB = (b: number) => `${(b / GB).toFixed(b < 10 * GB ? 2 : 1)} GB`;

/** The nearest folder of `path` (itself or an ancestor) that exists. */
export function existingAncestor(path: string): string {
  let p = resolve(path);
  while (!existsSync(p)) {
    const up = dirname(p);
    if (up === p) break;
    p = up;
  }
  return p;
}

/** The sweep folder can be created (or is a folder) and written. */
export function checkOutputDir(sweepDir: string): void {
  const dir = resolve(sweepDir);
  if (existsSync(dir) && !statSync(dir).isDirectory()) {
    throw new UserError(`the sweep's output folder ${dir} is a file. Remove or rename it, or pass --out DIR.`);
  }
  const base = existingAncestor(dir);
  if (!statSync(base).isDirectory()) {
    throw new UserError(`cannot create ${dir}: ${base} is a file, not a folder. Remove or rename it, or pass --out DIR.`);
  }
  try {
    accessSync(base, constants.W_OK | constants.X_OK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UserError(
      code === 'EROFS'
        ? `cannot write the sweep's output folder ${dir}: ${base} is on a read-only file system. Pass --out DIR on a writable disk (in a container, mount a writable volume there).`
        : `cannot write the sweep's output folder ${dir}: ${base} is not writable for this user (${code}). Make it writable (chmod/chown) or pass --out DIR.`,
    );
  }
}

export interface PreparedSplits {
  tokenizer: string;
  dataset: string;
  vocab: number;
  trainTokens: number;
  validationTokens: number;
}

/**
 * Resolve every (tokenizer, dataset) pair of the runs: find or download each split, build the
 * tokenizer, encode (cached on disk, and in memory for the runs of this process).
 */
export async function prepareSweepData(runs: PlannedRun[], data: Omit<DataOptions, 'dataset'>): Promise<PreparedSplits[]> {
  const seen = new Map<string, PreparedSplits>();
  for (const r of runs) {
    const key = JSON.stringify([r.train.tokenizer, r.train.dataset]);
    if (seen.has(key)) continue;
    const d = await prepareData(r.train.tokenizer, { ...data, dataset: r.train.dataset });
    for (const [split, n] of [['train', d.train.length], ['validation', d.validation.length]] as const) {
      if (n === 0) throw new UserError(`the ${split} split of ${r.train.dataset} is empty once encoded with ${r.train.tokenizer}; check the data folder.`);
    }
    seen.set(key, {
      tokenizer: r.train.tokenizer,
      dataset: r.train.dataset,
      vocab: d.tokenizer.vocabSize,
      trainTokens: d.train.length,
      validationTokens: d.validation.length,
    });
  }
  return [...seen.values()];
}

type Profile = Pick<BackendProfile, 'defaultWorkers' | 'memoryBudgetBytes'> & Partial<Pick<BackendProfile, 'name' | 'syncReadback' | 'maxTensorBytes'>>;

/**
 * Bytes one run holds while training: per worker a model, its gradients and a forward+backward
 * (the micro-batch the trainer picks from the profile's memory budget); Adam moments once.
 */
export function runMemoryBytes(r: PlannedRun, profile: Profile, workers?: number | 'auto'): number {
  const cfg = resolveModelConfig(r.model, r.vocab);
  const w = resolveWorkers(workers, profile, r.train.batch, cfg);
  const micro = workerMicroBatch(cfg, r.train.micro_batch, r.train.batch, w, profile.memoryBudgetBytes);
  // estimateStepBytes counts the parameters once; add gradients per worker and m, v once
  return w * (estimateStepBytes(cfg, micro, gptOptions(profile)) + 4 * r.params_total) + 8 * r.params_total;
}

/**
 * Bytes a run leaves on disk: two checkpoints (latest and previous, kept until a newer one is
 * complete; 12 bytes a parameter each: float32 weights, Adam m and v), plus metrics and run.json.
 */
export function runDiskBytes(r: PlannedRun): number {
  return 2 * 12 * r.params_total + 64 * 1024;
}

/** Memory and disk space for the pending runs; throws a UserError naming the run, the need and the fix. */
export function checkResources(runs: PlannedRun[], sweepDir: string, backend: Profile, workers?: number | 'auto'): string[] {
  const notes: string[] = [];
  const pending = runs.filter((r) => readRunJson(join(sweepDir, r.name))?.status !== 'finished');
  const limit = Math.min(totalmem(), (process as { constrainedMemory?: () => number }).constrainedMemory?.() || Infinity);
  for (const r of pending) {
    const need = runMemoryBytes(r, backend, workers);
    if (need > limit) {
      throw new UserError(
        `run ${r.name} needs about ${fmtGB(need)} of memory and this machine has ${fmtGB(limit)}. ` +
          `Pass a smaller --micro-batch, fewer --workers, or leave the run out of the sweep file.`,
      );
    }
  }
  const needDisk = pending.reduce((a, r) => a + runDiskBytes(r), 0);
  const base = existingAncestor(sweepDir);
  try {
    const fs = statfsSync(base);
    const free = fs.bavail * fs.bsize;
    if (needDisk > free) {
      throw new UserError(
        `not enough disk space for the sweep in ${resolve(sweepDir)}: its checkpoints need about ${fmtGB(needDisk)} and ${base} has ${fmtGB(free)} free. ` +
          `Free some space or pass --out DIR on a larger disk.`,
      );
    }
    notes.push(`disk: about ${fmtGB(needDisk)} for checkpoints, ${fmtGB(free)} free`);
  } catch (e) {
    if (e instanceof UserError) throw e;
    notes.push(`disk: free space of ${base} unknown (${(e as Error).message.split('\n')[0]})`);
  }
  return notes;
}
