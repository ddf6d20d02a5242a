/**
 * Schema of a training checkpoint's header: the `__metadata__` string map of the
 * checkpoint's safetensors file (safetensors allows only strings there, so
 * numbers are written as decimal strings and `extra` as JSON). Written by
 * src/train/checkpoint.ts, read by it and by `chinchilla export`.
 *
 * Versions:
 *   1  `checkpoints/latest.ckpt`, format "chinchilla-ckpt-v1": a 4-byte header length,
 *      a JSON header and float32 data; no checksum. Refused (see LEGACY_V1_FILE).
 *   2  `checkpoints/latest.safetensors` (+ `previous.safetensors`): safetensors with
 *      this metadata, tensors `param/<name>`, `adam_m/<name>`, `adam_v/<name>`
 *      (float32), and a sha256 of the whole file.
 */
import { z } from 'zod';

export const CHECKPOINT_SCHEMA_VERSION = 2;
export const CHECKPOINT_FORMAT = 'chinchilla-checkpoint';
/** The version-1 file name, recognised only to refuse it with a clear message. */
export const LEGACY_V1_FILE = 'latest.ckpt';
/** Placeholder the sha256 is computed over (see checkpoint.ts). */
export const SHA256_PLACEHOLDER = '0'.repeat(64);

const num = (what: string) =>
  z.string().refine((s) => s.trim() !== '' && Number.isFinite(Number(s)), `${what} must be a number`).transform(Number);
const int = (what: string) => num(what).refine((n) => Number.isInteger(n) && n >= 0, `${what} must be a whole number >= 0`);

export const checkpointMetadataSchema = z.object({
  format: z.literal(CHECKPOINT_FORMAT),
  schema_version: z.string(),
  /** hex sha256 of the whole file with these 64 digits replaced by zeros */
  sha256: z.string().regex(/^[0-9a-f]{64}$/, 'sha256 must be 64 hex digits'),
  step: int('step'),
  optimizer_t: int('optimizer_t'),
  elapsed_s: num('elapsed_s'),
  seed: int('seed'),
  rng_scheme: z.string(),
  /** JSON object of trainer state (e.g. the running interval accumulators) */
  extra: z
    .string()
    .optional()
    .transform((s, ctx) => {
      if (s === undefined) return undefined;
      try {
        return JSON.parse(s) as Record<string, unknown>;
      } catch {
        ctx.addIssue({ code: 'custom', message: 'extra is not JSON' });
        return z.NEVER;
      }
    }),
});

export type CheckpointMetadata = z.output<typeof checkpointMetadataSchema>;

/** What a loaded checkpoint reports (the shape src/train/checkpoint.ts has always returned, plus the version). */
export interface CheckpointHeader {
  format: typeof CHECKPOINT_FORMAT;
  schema_version: number;
  step: number;
  optimizer_t: number;
  elapsed_s: number;
  seed: number;
  /** batches and dropout are drawn from Rng(hashSeed(seed, step, row)): the seed is the whole RNG state */
  rng: { seed: number; scheme: string };
  /** offset and length in float32 elements from the start of the data section */
  tensors: { name: string; shape: number[]; offset: number; length: number }[];
  extra?: Record<string, unknown>;
  sha256: string;
}

/** The metadata map written into the file (all values strings, sha256 first so it is easy to find). */
export function checkpointMetadata(h: Omit<CheckpointHeader, 'tensors' | 'format' | 'schema_version' | 'rng'> & { rng_scheme: string }): Record<string, string> {
  const m: Record<string, string> = {
    sha256: h.sha256,
    format: CHECKPOINT_FORMAT,
    schema_version: String(CHECKPOINT_SCHEMA_VERSION),
    step: String(h.step),
    optimizer_t: String(h.optimizer_t),
    elapsed_s: String(h.elapsed_s),
    seed: String(h.seed),
    rng_scheme: h.rng_scheme,
  };
  if (h.extra !== undefined) m.extra = JSON.stringify(h.extra);
  return m;
}
