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
