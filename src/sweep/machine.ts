/**
 * "Is this the right machine?" When no GPU backend loaded and the plan runs
 * longer than an hour, say so before starting: which GPU backend was passed
 * over and why, the estimate, and the alternatives; on a terminal, ask.
 * Non-interactive runs (CI, Kubernetes, pipes) print the warning and go on.
 */
import { createInterface } from 'node:readline';
import { isGpuBackend, type BackendProfile } from '../backend.ts';
import { UserError } from '../util/errors.ts';
import { fmtDuration } from '../util/progress.ts';

export const LONG_PLAN_S = 3600;

/** The warning, or null when the machine is fine for this plan. */
export function wrongMachineWarning(backend: Pick<BackendProfile, 'name' | 'device' | 'attempts' | 'onGpu'>, estimateS: number, sweepFile: string): string | null {
  if (backend.onGpu || !(estimateS > LONG_PLAN_S)) return null;
  const passed = backend.attempts.filter((a) => !a.ok && isGpuBackend(a.backend));
  return (
    `\nThis sweep is estimated to take ${fmtDuration(estimateS)} on ${backend.name} (${backend.device}): no GPU backend loaded.\n` +
    (passed.length
      ? passed.map((a) => `  ${a.backend} was passed over: ${a.reason}${a.fix ? `\n    fix: ${a.fix}` : ''}`).join('\n') + '\n'
      : '') +
    `Alternatives:\n` +
    `  - npm run sweep:quick: the same experiment with small models, minutes on a CPU\n` +
    `  - a machine with an NVIDIA GPU: see "What the GPU backend needs" and "On a GPU box" in README.md (npx chinchilla doctor tells what is missing here)\n` +
    `  - --shard i/n to share ${sweepFile} between several machines\n`
  );
}

/**
 * Print the warning (if any) and, on a terminal without --yes, ask whether to start.
 * Returns false when the user declines.
 */
export async function confirmLongPlan(
  warning: string | null,
  o: { yes: boolean; interactive?: boolean; write?: (s: string) => void; ask?: (q: string) => Promise<string> },
): Promise<boolean> {
  if (!warning) return true;
  const write = o.write ?? ((s: string) => process.stderr.write(s));
  write(warning);
  const interactive = o.interactive ?? (Boolean(process.stdin.isTTY) && Boolean(process.stderr.isTTY));
  if (o.yes) return true;
  if (!interactive) {
    write('Not a terminal: starting anyway (pass --yes to silence this question on terminals).\n');
    return true;
  }
  const answer = await (o.ask ?? askLine)('Start it here anyway? [y/N] ');
  return /^\s*y(es)?\s*$/i.test(answer);
}

function askLine(q: string): Promise<string> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  return new Promise((resolve) => {
    rl.on('close', () => resolve(''));
    rl.question(q, (a) => {
      rl.close();
      resolve(a);
    });
  });
}

export const declined = () => new UserError('not started. Nothing was written.', 1);
