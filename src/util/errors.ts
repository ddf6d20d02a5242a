/**
 * An error caused by the user's input or environment (a bad flag, a missing
 * file, a corrupt download). The CLI prints its message without a stack trace
 * and exits non-zero. Messages should name the field or file and the fix.
 */
export class UserError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'UserError';
  }
}

export function isUserError(e: unknown): e is UserError {
  return e instanceof UserError;
}

/** What a failed file-system call was doing when it failed, and the fix, for the errno codes users hit. */
const SYSTEM_ERRORS: Record<string, (path: string) => string> = {
  ENOSPC: (p) => `the disk is full: could not write ${p}. Free some space on that disk (or pass --out DIR on another disk) and run the same command again; finished work and the last checkpoint are kept.`,
  EDQUOT: (p) => `the disk quota is exhausted: could not write ${p}. Free some space or ask for a larger quota, then run the same command again.`,
  EACCES: (p) => `permission denied: cannot access ${p}. Make the folder writable for this user (e.g. chmod u+w, or chown it), or choose another folder with --out.`,
  EPERM: (p) => `operation not permitted on ${p}. Make the folder writable for this user, or choose another folder with --out.`,
  EROFS: (p) => `${p} is on a read-only file system. Choose a writable folder with --out (in a container, mount a writable volume there).`,
  ENOTDIR: (p) => `a part of the path ${p} is a file, not a folder. Remove or rename that file, or choose another folder with --out.`,
  EISDIR: (p) => `${p} is a folder where a file was expected. Remove or rename it, or choose another path.`,
  EMFILE: (p) => `too many open files (while opening ${p}). Raise the limit (ulimit -n 4096) and run again.`,
  ENOENT: (p) => `${p} does not exist. Check the path.`,
};

/**
 * Turn a Node system error (ENOSPC, EACCES, EROFS, …) into a UserError whose
 * message names the file and the fix; anything else is returned unchanged.
 */
export function explainSystemError(e: unknown): unknown {
  if (!(e instanceof Error) || isUserError(e)) return e;
  const code = (e as NodeJS.ErrnoException).code;
  if (!code) return e;
  // tfjs and wasm wrap errors in plain Errors whose message starts with the code
  const known = SYSTEM_ERRORS[code] ?? SYSTEM_ERRORS[/^(E[A-Z]+)\b/.exec(e.message)?.[1] ?? ''];
  if (!known) return e;
  const path = (e as NodeJS.ErrnoException).path ?? /'([^']+)'/.exec(e.message)?.[1] ?? 'a file';
  const dest = (e as NodeJS.ErrnoException & { dest?: string }).dest;
  const err = new UserError(known(dest && code === 'ENOSPC' ? dest : path));
  err.cause = e;
  return err;
}
