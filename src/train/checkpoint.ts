import * as tf from '@tensorflow/tfjs';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, linkSync, openSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import {
  CHECKPOINT_SCHEMA_VERSION,
  LEGACY_V1_FILE,
  SHA256_PLACEHOLDER,
  checkpointMetadata,
  checkpointMetadataSchema,
  type CheckpointHeader,
} from '../artifacts/checkpoint.ts';
import { writeFileAtomic } from '../util/atomic.ts';
import { UserError } from '../util/errors.ts';
import { decodeSafetensors, encodeSafetensors, type DecodedSafetensors, type TensorEntry } from '../util/safetensors.ts';

export type { CheckpointHeader } from '../artifacts/checkpoint.ts';

/**
 * A checkpoint is one safetensors file that PyTorch's `safetensors` reads:
 *
 *   checkpoints/latest.safetensors     the newest complete checkpoint
 *   checkpoints/previous.safetensors   the one before it, kept until a newer one is complete
 *
 * Tensors (float32): `param/<name>` (the weights, nanoGPT names and [in, out]
 * Linear layout), `adam_m/<name>` and `adam_v/<name>` (Adam's moments). The
 * `__metadata__` map (schema in src/artifacts/checkpoint.ts) holds the optimizer
 * step, training step, elapsed time, seed, RNG scheme and the trainer's extra state:
 * everything needed to continue a run bit-for-bit on a deterministic backend —
 * and `sha256`, the hash of the whole file with those 64 hex digits set to '0'.
 * Loading verifies it, so a damaged checkpoint is refused, never resumed.
 *
 * Saving: the current latest is hard-linked to previous.safetensors (atomic
 * rename), then the new file is written to a temp file, fsynced and renamed over
 * latest.safetensors; at every moment latest is a complete checkpoint.
 */
export interface CheckpointState {
  step: number;
  optimizerT: number;
  elapsedS: number;
  seed: number;
  /** named tensors to save (weights and moments) */
  tensors: { name: string; tensor: tf.Tensor }[];
  extra?: Record<string, unknown>;
}

export const CHECKPOINT_FILE = 'latest.safetensors';
export const PREVIOUS_FILE = 'previous.safetensors';
export const RNG_SCHEME = 'mulberry32(hashSeed(seed, step, row)) per batch row; hashSeed(seed, step, micro, 7) for dropout';

/** The newest checkpoint of a run (whether or not it exists). */
export function checkpointPath(runDir: string): string {
  return join(runDir, 'checkpoints', CHECKPOINT_FILE);
}

export function previousCheckpointPath(runDir: string): string {
  return join(runDir, 'checkpoints', PREVIOUS_FILE);
}

/** sha256 of a checkpoint file with its recorded digest replaced by the placeholder; [digest, where it sits]. */
function digestOf(buf: Buffer, recorded: string): { hex: string; at: number } {
  const needle = Buffer.from(`"sha256":"${recorded}"`, 'utf8');
  const at = buf.indexOf(needle, 8);
  if (at < 0) return { hex: '', at };
  const at0 = at + needle.length - 1 - 64;
  const h = createHash('sha256');
  h.update(buf.subarray(0, at0));
  h.update(SHA256_PLACEHOLDER, 'latin1');
  h.update(buf.subarray(at0 + 64));
  return { hex: h.digest('hex'), at: at0 };
}

/** Encode a checkpoint (tensor data read back asynchronously) with its sha256 filled in. */
export async function encodeCheckpoint(s: CheckpointState): Promise<Buffer> {
  const entries: TensorEntry[] = [];
  for (const { name, tensor } of s.tensors) {
    if (tensor.dtype !== 'float32') throw new Error(`checkpoint tensor ${name} is ${tensor.dtype}; only float32 is saved`);
    entries.push({ name, dtype: 'F32', shape: tensor.shape, data: (await tensor.data()) as Float32Array });
  }
  const meta = checkpointMetadata({
    sha256: SHA256_PLACEHOLDER,
    step: s.step,
    optimizer_t: s.optimizerT,
    elapsed_s: s.elapsedS,
    seed: s.seed,
    rng_scheme: RNG_SCHEME,
    extra: s.extra,
  });
  const buf = encodeSafetensors(entries, meta);
  const { hex, at } = digestOf(buf, SHA256_PLACEHOLDER);
  buf.write(hex, at, 'latin1');
  return buf;
}

export async function saveCheckpoint(runDir: string, s: CheckpointState): Promise<void> {
  const buf = await encodeCheckpoint(s);
  const latest = checkpointPath(runDir);
  if (existsSync(latest)) {
    // keep the last complete checkpoint as previous.safetensors until the new one is in place
    const tmp = join(runDir, 'checkpoints', `.${PREVIOUS_FILE}.${process.pid}.tmp`);
    rmSync(tmp, { force: true });
    linkSync(latest, tmp);
    renameSync(tmp, previousCheckpointPath(runDir));
  }
  writeFileAtomic(latest, buf);
  syncDir(join(runDir, 'checkpoints'));
  rmSync(join(runDir, 'checkpoints', LEGACY_V1_FILE), { force: true });
}

/** Make the renames durable (best effort: not every filesystem lets a directory be fsynced). */
function syncDir(dir: string): void {
  try {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    /* ignore */
  }
}

export interface LoadedCheckpoint {
  header: CheckpointHeader;
  get(name: string): Float32Array;
}

type Verified = { ok: true; checkpoint: LoadedCheckpoint } | { ok: false; why: string };

/** Read and verify one checkpoint file: layout, schema, version and sha256. */
export function verifyCheckpointFile(path: string): Verified {
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch (e) {
    return { ok: false, why: `cannot read it: ${(e as Error).message}` };
  }
  let d: DecodedSafetensors;
  try {
    d = decodeSafetensors(buf);
  } catch (e) {
    return { ok: false, why: (e as Error).message };
  }
  const version = d.metadata.schema_version;
  if (version !== undefined && version !== String(CHECKPOINT_SCHEMA_VERSION)) {
    return { ok: false, why: `it is schema_version ${version}; this chinchilla reads version ${CHECKPOINT_SCHEMA_VERSION}` };
  }
  const parsed = checkpointMetadataSchema.safeParse(d.metadata);
  if (!parsed.success) {
    return { ok: false, why: `its metadata is not a chinchilla checkpoint's (${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')})` };
  }
  const m = parsed.data;
  const { hex } = digestOf(buf, m.sha256);
  if (hex !== m.sha256) return { ok: false, why: 'its content does not match its sha256 checksum' };

  const tensors: CheckpointHeader['tensors'] = [];
  for (const [name, t] of d.tensors) {
    if (t.dtype !== 'F32') return { ok: false, why: `tensor ${name} is ${t.dtype}, not F32` };
    tensors.push({ name, shape: t.shape, offset: t.begin / 4, length: (t.end - t.begin) / 4 });
  }
  const all = new Float32Array((buf.length - d.dataStart) / 4);
  new Uint8Array(all.buffer).set(buf.subarray(d.dataStart));
  const index = new Map(tensors.map((t) => [t.name, t]));
  const header: CheckpointHeader = {
    format: m.format,
    schema_version: CHECKPOINT_SCHEMA_VERSION,
    step: m.step,
    optimizer_t: m.optimizer_t,
    elapsed_s: m.elapsed_s,
    seed: m.seed,
    rng: { seed: m.seed, scheme: m.rng_scheme },
    tensors,
    extra: m.extra,
    sha256: m.sha256,
  };
  return {
    ok: true,
    checkpoint: {
      header,
      get(name: string) {
        const t = index.get(name);
        if (!t) throw new UserError(`checkpoint ${path} has no tensor ${name}: was it written by a different model config?`);
        return all.subarray(t.offset, t.offset + t.length);
      },
    },
  };
}

/**
 * The run's newest checkpoint, verified; null when the run has none. A
 * checkpoint that fails verification is refused with a UserError naming the file
 * and the choices (the previous good checkpoint, or a restart) — never resumed.
 */
export function loadCheckpoint(runDir: string): LoadedCheckpoint | null {
  const latest = checkpointPath(runDir);
  const previous = previousCheckpointPath(runDir);
  const legacy = join(runDir, 'checkpoints', LEGACY_V1_FILE);
  const show = (p: string) => relative(process.cwd(), p) || p;
  const restart = `restart the run from step 0: rm -r ${show(join(runDir, 'checkpoints'))} and run the same command with --resume (metrics.csv is cut back to step 0)`;
  if (!existsSync(latest)) {
    if (existsSync(legacy)) {
      throw new UserError(
        `checkpoint ${show(legacy)} is in the version-1 format (chinchilla-ckpt-v1, written by an older chinchilla and carrying no checksum); ` +
          `this version reads only schema_version ${CHECKPOINT_SCHEMA_VERSION} (checkpoints/${CHECKPOINT_FILE}). Either ${restart}, ` +
          `or finish the run with the chinchilla version that wrote it.`,
      );
    }
    if (existsSync(previous)) {
      throw new UserError(
        `${show(latest)} is missing but ${show(previous)} is there (was latest deleted by hand?). To resume from the previous checkpoint: ` +
          `mv ${show(previous)} ${show(latest)} and run again with --resume; or ${restart}.`,
      );
    }
    return null;
  }
  const v = verifyCheckpointFile(latest);
  if (v.ok) return v.checkpoint;
  const choices = [`  - ${restart}`];
  if (existsSync(previous)) {
    const p = verifyCheckpointFile(previous);
    if (p.ok) {
      choices.unshift(
        `  - resume from the previous good checkpoint ${show(previous)} (step ${p.checkpoint.header.step}): ` +
          `mv ${show(latest)} ${show(latest)}.corrupt && mv ${show(previous)} ${show(latest)}, then run again with --resume`,
      );
    } else {
      choices.push(`  (the previous checkpoint ${show(previous)} is unusable too: ${p.why})`);
    }
  }
  throw new UserError(`checkpoint ${show(latest)} is corrupt or unreadable (${v.why}); it was not resumed. Choices:\n${choices.join('\n')}`);
}

export function removeCheckpoints(runDir: string): void {
  rmSync(join(runDir, 'checkpoints'), { recursive: true, force: true });
}
