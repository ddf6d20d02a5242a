/**
 * Scalar event files for TensorBoard: `<logdir>/events.out.tfevents.<secs>.<host>`,
 * the name TensorBoard globs for. Two implementations of one ScalarWriter:
 *
 *   - when the tensorflow (tfjs-node) backend is loaded, its own summary writer
 *     (tf.node.summaryFileWriter, libtensorflow's C++ writer);
 *   - otherwise the `tfrecord` package's RecordWriter (length + masked CRC32C
 *     framing) around Event protos encoded by events.ts.
 *
 * Writes are queued (RecordWriter is not re-entrant) and each record is written
 * to the file as it comes, so a running TensorBoard sees new points while the
 * run trains. close() waits for the queue.
 */
import { mkdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { RecordWriter } from 'tfrecord';
import { encodeFileVersion, encodeScalars } from './events.ts';

export interface ScalarWriter {
  readonly logdir: string;
  /** queue the scalars of one step (values that are not finite are left out) */
  scalars(step: number, values: Record<string, number>): void;
  close(): Promise<void>;
}

export function eventFileName(now = Date.now()): string {
  return `events.out.tfevents.${Math.floor(now / 1000)}.${hostname()}.${process.pid}`;
}

const finite = (values: Record<string, number>) => Object.entries(values).filter(([, v]) => Number.isFinite(v));

/** Event file written through the tfrecord package (any backend). */
export class TfRecordScalarWriter implements ScalarWriter {
  private queue: Promise<unknown>;
  private writer: Promise<RecordWriter>;
  private error: Error | null = null;
  readonly path: string;

  constructor(readonly logdir: string) {
    mkdirSync(logdir, { recursive: true });
    this.path = join(logdir, eventFileName());
    this.writer = RecordWriter.create(this.path);
    this.queue = this.writer.then((w) => w.writeRecord(Buffer.from(encodeFileVersion(Date.now() / 1000))));
    this.queue.catch((e: Error) => (this.error = e));
  }

  scalars(step: number, values: Record<string, number>): void {
    const list = finite(values).map(([tag, value]) => ({ tag, value }));
    if (list.length === 0 || this.error) return;
    const record = Buffer.from(encodeScalars(Date.now() / 1000, step, list));
    this.queue = this.queue.then(async () => (await this.writer).writeRecord(record));
    this.queue.catch((e: Error) => (this.error = e));
  }

  async close(): Promise<void> {
    await this.queue.catch(() => {});
    await (await this.writer).close();
    if (this.error) throw new Error(`TensorBoard event file ${this.path}: ${this.error.message}`);
  }
}

interface TfNodeSummaryWriter {
  scalar(name: string, value: number, step: number): void;
  flush(): void;
}

/** libtensorflow's summary writer, through tfjs-node (only where that backend is loaded). */
export class TfNodeScalarWriter implements ScalarWriter {
  constructor(
    readonly logdir: string,
    private readonly w: TfNodeSummaryWriter,
  ) {}

  scalars(step: number, values: Record<string, number>): void {
    for (const [tag, v] of finite(values)) this.w.scalar(tag, v, step);
    this.w.flush();
  }

  async close(): Promise<void> {
    this.w.flush();
  }
}

/**
 * A writer for `logdir`: tfjs-node's when the run's backend is a libtensorflow
 * package (the profile's `nativeModule`, e.g. '@tensorflow/tfjs-node-gpu'),
 * else the tfrecord-based one.
 */
export function scalarWriter(logdir: string, nativeModule?: string): ScalarWriter {
  if (nativeModule) {
    try {
      const require = createRequire(import.meta.url);
      const mod = require(nativeModule) as {
        node: { summaryFileWriter(dir: string): TfNodeSummaryWriter };
      };
      mkdirSync(logdir, { recursive: true });
      return new TfNodeScalarWriter(logdir, mod.node.summaryFileWriter(logdir));
    } catch {
      // fall through to the portable writer
    }
  }
  return new TfRecordScalarWriter(logdir);
}
