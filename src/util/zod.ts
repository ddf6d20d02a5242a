import { z } from 'zod';
import { UserError } from './errors.ts';

/**
 * Turn a zod validation error into one readable UserError that names each bad
 * field (as a dotted path) and what was expected, e.g.
 *   configs/sweep.json: invalid config
 *     - runs.2.lr: Too small: expected number to be >0
 */
export function zodUserError(err: z.ZodError, where: string, hint?: string): UserError {
  const lines = err.issues.map((i) => {
    const path = i.path.length ? i.path.map(String).join('.') : '(top level)';
    return `  - ${path}: ${i.message}`;
  });
  return new UserError(`${where}: invalid config\n${lines.join('\n')}${hint ? `\n${hint}` : ''}`);
}

/** Parse with a schema, throwing a UserError that names the fields on failure. */
export function parseOrThrow<T extends z.ZodType>(schema: T, raw: unknown, where: string, hint?: string): z.infer<T> {
  const r = schema.safeParse(raw);
  if (!r.success) throw zodUserError(r.error, where, hint);
  return r.data;
}
