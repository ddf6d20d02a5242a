/**
 * What run.json records about a run: its description (built once at the start)
 * and where it ran (host, package versions, git commit).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import * as os from 'node:os';
import type { RunJson, RunJsonExtras } from '../artifacts/runJson.ts';
import type { BackendProfile } from '../backend.ts';
import type { DataOptions } from '../data/index.ts';
import type { Batch } from '../data/batches.ts';
import type { ResolvedModelConfig } from '../model/config.ts';
import { flopsPerToken } from '../model/flops.ts';
import { paramCounts } from '../model/params.ts';
import { PROJECT_ROOT } from '../util/paths.ts';
import { warmupSteps, type TrainConfig } from './config.ts';

const require = createRequire(import.meta.url);

function pkgVersion(name: string): string | null {
  try {
    return (require(`${name}/package.json`) as { version: string }).version;
  } catch {
    return null;
  }
}

/** Versions of the runtime and of the packages that affect numbers. */
export function packageVersions(): Record<string, string | null> {
  const own = JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string };
  return {
    'chinchilla-lab': own.version,
    node: process.versions.node,
    '@tensorflow/tfjs': pkgVersion('@tensorflow/tfjs'),
    '@tensorflow/tfjs-backend-wasm': pkgVersion('@tensorflow/tfjs-backend-wasm'),
    '@tensorflow/tfjs-node': pkgVersion('@tensorflow/tfjs-node'),
    '@tensorflow/tfjs-node-gpu': pkgVersion('@tensorflow/tfjs-node-gpu'),
    'js-tiktoken': pkgVersion('js-tiktoken'),
  };
}

/** The git commit of the project checkout ("+dirty" if it has local changes), or null outside git. */
export function gitCommit(): string | null {
  try {
    const head = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'ignore'] })
      .toString()
      .trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], {
      cwd: PROJECT_ROOT,
      stdio: ['ignore', 'pipe', 'ignore'],
    })
      .toString()
      .trim();
    return dirty ? `${head}+dirty` : head;
  } catch {
    return null;
  }
}

export function hostInfo(): { hostname: string; cpus: string; cores: number; memory_gb: number; platform: string } {
  const cpus = os.cpus();
  return {
    hostname: os.hostname(),
    cpus: cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
    memory_gb: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    platform: `${os.platform()} ${os.arch()}`,
  };
}

/** run.json of a run about to start (status 'running'); `previous` is the run.json of the run it resumes. */
export function describeRun(o: {
  name: string;
  cfg: ResolvedModelConfig;
  modelSource: string | null;
  train: TrainConfig;
  microBatch: number;
  workers: number;
  data: Omit<DataOptions, 'dataset'>;
  tokenizerId: string;
  evalSet: Batch;
  evalSeed: number;
  dataTokens: { train: number; validation: number };
  profile: BackendProfile;
  previous: RunJson | null;
  extras?: RunJsonExtras;
}): RunJson {
  const { cfg, train: t, profile } = o;
  const counts = paramCounts(cfg);
  return {
    schema_version: 1,
    name: o.name,
    status: 'running',
    params_total: counts.total,
    params_non_embedding: counts.non_embedding,
    params_embedding: counts.embedding,
    model: cfg,
    model_source: o.modelSource,
    train: { ...t, warmup_steps: warmupSteps(t), micro_batch_used: o.microBatch, workers: o.workers },
    flops_per_token: flopsPerToken(cfg),
    tokens_per_step: t.batch * cfg.context,
    dataset: t.dataset,
    text: { strip_markers: o.data.stripMarkers ?? false, drop_blank_lines: o.data.dropBlankLines ?? false, join_lines: o.data.joinLines ?? false },
    tokenizer: t.tokenizer,
    tokenizer_id: o.tokenizerId,
    seed: t.seed,
    eval: { windows: t.eval_windows, seed: o.evalSeed, rows: o.evalSet.rows, tokens: o.evalSet.rows * cfg.context },
    final_eval: null,
    data_tokens: o.dataTokens,
    backend: {
      name: profile.name,
      tf_backend: profile.tfBackend,
      device: profile.device,
      ...(profile.threads !== undefined ? { threads: profile.threads } : {}),
      passed_over: profile.attempts.filter((a) => !a.ok).map((a) => ({ backend: a.backend, reason: a.reason })),
    },
    host: hostInfo(),
    versions: packageVersions(),
    git_commit: gitCommit(),
    started_at: o.previous?.started_at ?? new Date().toISOString(),
    ended_at: null,
    resumed_at: o.previous?.resumed_at ?? [],
    ...o.extras,
  };
}
