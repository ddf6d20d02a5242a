import * as tf from '@tensorflow/tfjs';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkpointPath, loadCheckpoint, previousCheckpointPath, saveCheckpoint } from '../src/train/checkpoint.ts';
import { readMetricsCsv } from '../src/train/metrics.ts';
import { UserError } from '../src/util/errors.ts';
import { decodeSafetensors, encodeSafetensors, tensorData } from '../src/util/safetensors.ts';
import { sharedDatasetsOrSkip } from './helpers/data.ts';
import { cli } from './helpers/train.ts';

const dir = mkdtempSync(join(tmpdir(), 'chl-ckpt-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A 400 KB checkpoint (100 000 float32 weights) whose every value is known: w[i] = i / 7 + step. */
async function save(run: string, step: number): Promise<void> {
  const w = tf.tensor2d(Float32Array.from({ length: 100_000 }, (_, i) => i / 7 + step), [1000, 100]);
  const m = tf.fill([3], step);
  await saveCheckpoint(run, { step, optimizerT: step, elapsedS: step / 2, seed: 42, tensors: [{ name: 'param/w', tensor: w }, { name: 'adam_m/w', tensor: m }], extra: { n: step } });
  tf.dispose([w, m]);
}

function loadError(run: string): UserError {
  try {
    loadCheckpoint(run);
  } catch (e) {
    expect(e).toBeInstanceOf(UserError);
    return e as UserError;
  }
  throw new Error('loadCheckpoint accepted a corrupt checkpoint');
}

describe('safetensors layout', () => {
  it('writes the byte layout the Python reader expects (u64 header length, JSON padded to 8, contiguous offsets)', () => {
    const buf = encodeSafetensors(
      [
        { name: 'a', dtype: 'F32', shape: [2, 2], data: Float32Array.from([1, 2, 3, 4]) },
        { name: 'b', dtype: 'I32', shape: [1], data: Int32Array.from([-7]) },
      ],
      { k: 'v' },
    );
    const n = Number(buf.readBigUInt64LE(0));
    expect(n % 8).toBe(0);
    const header = JSON.parse(buf.subarray(8, 8 + n).toString('utf8'));
    expect(header).toEqual({ __metadata__: { k: 'v' }, a: { dtype: 'F32', shape: [2, 2], data_offsets: [0, 16] }, b: { dtype: 'I32', shape: [1], data_offsets: [16, 20] } });
    expect(buf.length).toBe(8 + n + 20);
    expect(buf.readFloatLE(8 + n + 12)).toBe(4);
    expect(buf.readInt32LE(8 + n + 16)).toBe(-7);
    const d = decodeSafetensors(buf);
    expect(Array.from(tensorData(d, 'a'))).toEqual([1, 2, 3, 4]);
    expect(d.metadata).toEqual({ k: 'v' });
  });
});

describe('checked checkpoints', () => {
  it('round-trips weights, moments and state, with a sha256 of the whole file', async () => {
    const run = join(dir, 'ok');
    await save(run, 10);
    const ck = loadCheckpoint(run)!;
    expect(ck.header).toMatchObject({ step: 10, optimizer_t: 10, elapsed_s: 5, seed: 42, rng: { seed: 42 }, extra: { n: 10 }, schema_version: 2 });
    expect(ck.get('param/w')[700]).toBe(Math.fround(100 + 10));
    expect(Array.from(ck.get('adam_m/w'))).toEqual([10, 10, 10]);
    // the recorded digest is the sha256 of the file with its 64 hex digits zeroed (README: "Checkpoints")
    const buf = readFileSync(checkpointPath(run));
    const zeroed = Buffer.from(buf.toString('latin1').replace(ck.header.sha256, '0'.repeat(64)), 'latin1');
    expect(createHash('sha256').update(zeroed).digest('hex')).toBe(ck.header.sha256);
  });

  it('keeps the previous checkpoint until the new one is complete', async () => {
    const run = join(dir, 'two');
    await save(run, 10);
    expect(existsSync(previousCheckpointPath(run))).toBe(false);
    await save(run, 20);
    expect(loadCheckpoint(run)!.header.step).toBe(20);
    const prev = readFileSync(previousCheckpointPath(run));
    expect(decodeSafetensors(prev).metadata.step).toBe('10');
    await save(run, 30);
    expect(decodeSafetensors(readFileSync(previousCheckpointPath(run))).metadata.step).toBe('20');
  });

  const corruptions: [string, (b: Buffer) => Buffer][] = [
    ['4 KB overwritten in the middle', (b) => {
      const mid = b.length >> 1;
      b.set(Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 131 + 7) & 255)), mid);
      return b;
    }],
    ['64 KB of 0xFF', (b) => (b.fill(0xff, b.length >> 2, (b.length >> 2) + 65536), b)],
    ['truncation', (b) => b.subarray(0, b.length - 1000)],
    ['one flipped bit in the step number', (b) => {
      const i = b.indexOf('"step":"20"');
      b[i + 9] ^= 1; // "20" -> "30"
      return b;
    }],
  ];
  for (const [what, damage] of corruptions) {
    it(`refuses a checkpoint with ${what}, naming the file and the choices; the previous good one resumes`, async () => {
      const run = join(dir, what.replace(/\W+/g, '-'));
      await save(run, 10);
      await save(run, 20);
      const p = checkpointPath(run);
      writeFileSync(p, damage(readFileSync(p)));
      const e = loadError(run);
      expect(e.message).toMatch(/checkpoint .*checkpoints\/latest\.safetensors is corrupt or unreadable \(/);
      expect(e.message).toMatch(what === 'truncation' ? /truncated/ : /(does not match its sha256|not valid JSON|data_offsets|metadata)/);
      expect(e.message).toMatch(/it was not resumed/);
      expect(e.message).toMatch(/resume from the previous good checkpoint .*previous\.safetensors \(step 10\): mv .*latest\.safetensors .*latest\.safetensors\.corrupt && mv /);
      expect(e.message).toMatch(/restart the run from step 0: rm -r .*checkpoints and run the same command with --resume/);
      // the fallback the message offers works
      renameSync(p, p + '.corrupt');
      renameSync(previousCheckpointPath(run), p);
      const ck = loadCheckpoint(run)!;
      expect(ck.header.step).toBe(10);
      expect(ck.get('param/w')[7]).toBe(11);
    });
  }

  it('offers only a restart when there is no previous checkpoint', async () => {
    const run = join(dir, 'single');
    await save(run, 10);
    writeFileSync(checkpointPath(run), readFileSync(checkpointPath(run)).subarray(0, 100));
    const e = loadError(run);
    expect(e.message).not.toMatch(/previous good/);
    expect(e.message).toMatch(/restart the run from step 0/);
  });

  it('refuses a version-1 checkpoint (checkpoints/latest.ckpt) saying which version and what to do', () => {
    const run = join(dir, 'v1');
    mkdirSync(join(run, 'checkpoints'), { recursive: true });
    writeFileSync(join(run, 'checkpoints', 'latest.ckpt'), Buffer.alloc(64));
    expect(loadError(run).message).toMatch(/latest\.ckpt is in the version-1 format \(chinchilla-ckpt-v1.*no checksum\); this version reads only schema_version 2.*restart the run from step 0/);
  });

  it('refuses a checkpoint from a newer schema_version', async () => {
    const run = join(dir, 'v3');
    mkdirSync(join(run, 'checkpoints'), { recursive: true });
    writeFileSync(checkpointPath(run), encodeSafetensors([], { format: 'chinchilla-checkpoint', schema_version: '3' }));
    expect(loadError(run).message).toMatch(/it is schema_version 3; this chinchilla reads version 2/);
  });

  it('a run without checkpoints loads none', () => {
    expect(loadCheckpoint(join(dir, 'none'))).toBeNull();
  });
});

const shared = sharedDatasetsOrSkip('checkpoint');
describe.skipIf(!shared)('train --resume with a corrupt checkpoint', () => {
  it('exits 1 with the message, leaves run.json not diverged, and resumes from the previous checkpoint bit-exactly after the mv', () => {
    const out = join(dir, 'cli');
    const args = ['train', '--model', 'configs/models/tiny.json', '--tokenizer', 'byte', '--dataset', 'wikitext-2-v1', '--data-dir', shared!,
      '--backend', 'cpu', '--batch', '4', '--eval-interval', '2', '--eval-windows', '4', '--final-eval-windows', '16', '--out', out];
    expect(cli([...args, '--steps', '6']).status).toBe(0);
    const a = readMetricsCsv(join(out, 'metrics.csv'));
    // damage the step-6 checkpoint and mark the run unfinished, as if it had stopped right after it
    const info = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8'));
    writeFileSync(join(out, 'run.json'), JSON.stringify({ ...info, status: 'interrupted' }));
    const p = checkpointPath(out);
    const buf = readFileSync(p);
    buf.fill(0xff, buf.length >> 1, (buf.length >> 1) + 65536);
    writeFileSync(p, buf);
    const status = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')).status;
    const r = cli([...args, '--steps', '6', '--resume']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/latest\.safetensors is corrupt or unreadable \(its content does not match its sha256 checksum\); it was not resumed/);
    expect(r.stderr).not.toMatch(/diverged/);
    expect(JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')).status).toBe(status);
    // take the offered fallback: the step-4 checkpoint; the resumed run ends with exactly the uninterrupted run's rows
    renameSync(p, p + '.corrupt');
    renameSync(previousCheckpointPath(out), p);
    const r2 = cli([...args, '--steps', '6', '--resume']);
    expect(r2.status, r2.stderr).toBe(0);
    expect(r2.stderr).toMatch(/resuming from step 4/);
    const b = readMetricsCsv(join(out, 'metrics.csv'));
    expect(b.map((x) => x.step)).toEqual([0, 2, 4, 6]);
    expect(a.map((x) => x.step)).toEqual([0, 2, 4, 6]);
    for (let i = 0; i < a.length; i++) {
      expect(b[i]!.val_loss).toBe(a[i]!.val_loss);
      if (i > 0) expect(b[i]!.train_loss).toBe(a[i]!.train_loss);
    }
  }, 300_000);
});
