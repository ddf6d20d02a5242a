import * as tf from '@tensorflow/tfjs';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../util/atomic.ts';
import { UserError } from '../util/errors.ts';

/**
 * One checkpoint = one file, `checkpoints/latest.ckpt`, written atomically:
 *
 *   bytes 0..3   little-endian uint32: length H of the JSON header
 *   bytes 4..4+H UTF-8 JSON header (CheckpointHeader)
 *   then         the float32 data of every tensor, in header order
 *
 * It holds the weights, both Adam moments, the optimizer step count and the
 * training state (step, elapsed time, RNG scheme and seed): everything needed
 * to continue a run bit-for-bit on a deterministic backend.
 */
export interface CheckpointHeader {
  format: 'chinchilla-ckpt-v1';
  step: number;
  optimizer_t: number;
  elapsed_s: number;
  /** batches and dropout are drawn from Rng(hashSeed(seed, step, row)): the seed is the whole RNG state */
  rng: { seed: number; scheme: string };
  tensors: { name: string; shape: number[]; offset: number; length: number }[];
  extra?: Record<string, unknown>;
}

export interface CheckpointState {
  step: number;
  optimizerT: number;
  elapsedS: number;
  seed: number;
  /** named tensors to save (weights and moments) */
  tensors: { name: string; tensor: tf.Tensor }[];
  extra?: Record<string, unknown>;
}

export const CHECKPOINT_FILE = 'latest.ckpt';
export const RNG_SCHEME = 'mulberry32(hashSeed(seed, step, row)) per batch row; hashSeed(seed, step, micro, 7) for dropout';

export function checkpointPath(runDir: string): string {
  return join(runDir, 'checkpoints', CHECKPOINT_FILE);
}

export async function saveCheckpoint(runDir: string, s: CheckpointState): Promise<void> {
  const datas: Float32Array[] = [];
  const entries: CheckpointHeader['tensors'] = [];
  let offset = 0;
  for (const { name, tensor } of s.tensors) {
    const d = (await tensor.data()) as Float32Array;
    datas.push(d);
    entries.push({ name, shape: tensor.shape, offset, length: d.length });
    offset += d.length;
  }
  const header: CheckpointHeader = {
    format: 'chinchilla-ckpt-v1',
    step: s.step,
    optimizer_t: s.optimizerT,
    elapsed_s: s.elapsedS,
    rng: { seed: s.seed, scheme: RNG_SCHEME },
    tensors: entries,
    extra: s.extra,
  };
  const headerBytes = Buffer.from(JSON.stringify(header), 'utf8');
  const out = Buffer.alloc(4 + headerBytes.length + offset * 4);
  out.writeUInt32LE(headerBytes.length, 0);
  headerBytes.copy(out, 4);
  let pos = 4 + headerBytes.length;
  for (const d of datas) {
    Buffer.from(d.buffer, d.byteOffset, d.byteLength).copy(out, pos);
    pos += d.byteLength;
  }
  writeFileAtomic(checkpointPath(runDir), out);
}

export interface LoadedCheckpoint {
  header: CheckpointHeader;
  get(name: string): Float32Array;
}

export function loadCheckpoint(runDir: string): LoadedCheckpoint | null {
  const path = checkpointPath(runDir);
  if (!existsSync(path)) return null;
  const buf = readFileSync(path);
  const bad = (why: string) =>
    new UserError(`checkpoint ${path} is unreadable (${why}). Delete it to restart the run from step 0, or restore it from a backup.`);
  if (buf.length < 4) throw bad('truncated');
  const h = buf.readUInt32LE(0);
  if (4 + h > buf.length) throw bad('truncated header');
  let header: CheckpointHeader;
  try {
    header = JSON.parse(buf.subarray(4, 4 + h).toString('utf8')) as CheckpointHeader;
  } catch {
    throw bad('corrupt header');
  }
  if (header.format !== 'chinchilla-ckpt-v1') throw bad(`unknown format ${String(header.format)}`);
  const dataStart = 4 + h;
  const total = header.tensors.reduce((a, t) => a + t.length, 0);
  if (buf.length !== dataStart + total * 4) throw bad('size does not match its header');
  // copy into an aligned buffer
  const all = new Float32Array(total);
  new Uint8Array(all.buffer).set(buf.subarray(dataStart));
  const index = new Map(header.tensors.map((t) => [t.name, t]));
  return {
    header,
    get(name: string) {
      const t = index.get(name);
      if (!t) throw bad(`it has no tensor ${name}: was it written by a different model config?`);
      return all.subarray(t.offset, t.offset + t.length);
    },
  };
}

export function removeCheckpoints(runDir: string): void {
  rmSync(join(runDir, 'checkpoints'), { recursive: true, force: true });
}
