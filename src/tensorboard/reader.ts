/** Reading scalars back from TensorBoard event files (tests, checks): the tfrecord package's reader + events.ts. */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { RecordReader } from 'tfrecord';
import { decodeScalars, FILE_VERSION, type ScalarEvent } from './events.ts';

/** Every scalar in every event file of `logdir` (not recursive), in file then record order. */
export async function readScalars(logdir: string): Promise<ScalarEvent[]> {
  const files = readdirSync(logdir).filter((f) => f.startsWith('events.out.tfevents.')).sort();
  const out: ScalarEvent[] = [];
  for (const f of files) {
    const reader = await RecordReader.create(join(logdir, f));
    try {
      let first = true;
      for (let rec = await reader.readRecord(); rec !== null; rec = await reader.readRecord()) {
        const d = decodeScalars(rec);
        if (first && d.fileVersion !== FILE_VERSION) throw new Error(`${f}: first record is not file_version ${FILE_VERSION}`);
        first = false;
        out.push(...d.scalars);
      }
    } finally {
      await reader.close();
    }
  }
  return out;
}

/** tag -> [step, value][] */
export function byTag(events: ScalarEvent[]): Map<string, [number, number][]> {
  const m = new Map<string, [number, number][]>();
  for (const e of events) {
    if (!m.has(e.tag)) m.set(e.tag, []);
    m.get(e.tag)!.push([e.step, e.value]);
  }
  return m;
}
