/**
 * TensorBoard event files: the wire format checked against hand-built bytes and
 * an independent CRC32C, and a real training run's scalars read back and
 * compared with its metrics.csv.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readMetrics } from '../src/fit/load.ts';
import { encodeFileVersion, FILE_VERSION } from '../src/tensorboard/events.ts';
import { byTag, readScalars } from '../src/tensorboard/reader.ts';
import { TfRecordScalarWriter } from '../src/tensorboard/writer.ts';
import { sharedDatasets } from './helpers/data.ts';
import { cli } from './helpers/train.ts';

const tmp = mkdtempSync(join(tmpdir(), 'chinchilla-tb-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), bit by bit: independent of the writer's package. */
function crc32c(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}
/** TFRecord's mask: rotate right by 15 and add 0xa282ead8. */
const masked = (crc: number) => ((((crc >>> 15) | (crc << 17)) >>> 0) + 0xa282ead8) >>> 0;

describe('event file format', () => {
  it('CRC-32C of "123456789" is the standard check value', () => {
    expect(crc32c(new TextEncoder().encode('123456789'))).toBe(0xe3069283);
  });

  it('file_version event is wall_time (field 1, double) then file_version (field 3, string)', () => {
    const bytes = encodeFileVersion(1.5);
    const wall = Buffer.alloc(8);
    wall.writeDoubleLE(1.5);
    expect([...bytes]).toEqual([0x09, ...wall, 0x1a, FILE_VERSION.length, ...Buffer.from(FILE_VERSION)]);
  });

  it('frames every record as length, masked CRC of length, data, masked CRC of data', async () => {
    const dir = join(tmp, 'frames');
    const w = new TfRecordScalarWriter(dir);
    w.scalars(3, { 'a/b': 0.25, skipped: NaN });
    w.scalars(4, { 'a/b': 0.5 });
    await w.close();
    const files = readdirSync(dir);
    expect(files).toHaveLength(1);
    expect(files[0]).toMatch(/^events\.out\.tfevents\.\d+\./);
    const buf = readFileSync(join(dir, files[0]!));
    let off = 0;
    let records = 0;
    while (off < buf.length) {
      const len = Number(buf.readBigUInt64LE(off));
      expect(buf.readUInt32LE(off + 8)).toBe(masked(crc32c(buf.subarray(off, off + 8))));
      const data = buf.subarray(off + 12, off + 12 + len);
      expect(buf.readUInt32LE(off + 12 + len)).toBe(masked(crc32c(data)));
      off += 12 + len + 4;
      records++;
    }
    expect(off).toBe(buf.length);
    expect(records).toBe(3); // file_version + two scalar events
    const ev = await readScalars(dir);
    expect(ev.map((e) => [e.tag, e.step, e.value])).toEqual([
      ['a/b', 3, 0.25],
      ['a/b', 4, 0.5],
    ]);
  });
});

const shared = sharedDatasets();
describe.skipIf(!shared)('train --tensorboard', () => {
  it('writes the metrics.csv values as eval/<column> scalars and one train/loss per step', async () => {
    const out = join(tmp, 'run');
    const tb = join(tmp, 'tb');
    const r = cli(
      ['train', '--model', 'configs/models/tiny.json', '--tokenizer', 'byte', '--dataset', 'wikitext-2-v1', '--steps', '12',
        '--eval-interval', '4', '--eval-windows', '4', '--out', out, '--tensorboard', tb],
      { WIKITEXT2_DIR: shared! },
    );
    expect(r.status, r.stderr).toBe(0);
    const rows = readMetrics(join(out, 'metrics.csv'));
    expect(rows.map((x) => x.step)).toEqual([0, 4, 8, 12]);
    const tags = byTag(await readScalars(join(tb, 'run')));
    // float32 in the event file, 10 significant digits in the CSV
    const same = (a: number, b: number) => Math.abs(a - b) <= 1.2e-7 * Math.abs(b) + 1e-30;
    for (const col of ['val_loss', 'train_loss', 'flops_6nd', 'flops_kaplan', 'flops_chinchilla', 'tokens', 'lr', 'tokens_per_s'] as const) {
      const want = rows.filter((x) => Number.isFinite(x[col])).map((x) => [x.step, x[col]] as const);
      const got = tags.get(`eval/${col}`)!;
      expect(got.map(([s]) => s), col).toEqual(want.map(([s]) => s));
      got.forEach(([, v], i) => expect(same(v, want[i]![1]), `${col} at step ${want[i]![0]}: ${v} vs ${want[i]![1]}`).toBe(true));
    }
    expect(tags.get('train/loss')!.map(([s]) => s)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    expect(tags.get('train/lr')!.every(([, v]) => v > 0)).toBe(true);
    expect(tags.get('train/tokens_per_s')!.every(([, v]) => v > 0)).toBe(true);
  });
});
