/**
 * Ctrl-C and SIGTERM for long commands.
 *
 * While nothing worth saving is in progress (checking, downloading, encoding,
 * timing, fitting, plotting) no listener is installed: the signal's default
 * action ends the process at once, even inside a long synchronous computation
 * that would keep a JavaScript handler from running. Every file those phases
 * write is written atomically, so nothing is left half written.
 *
 * While training, a listener is armed: the first signal asks the trainer to
 * stop after the current step and a checkpoint; a second exits at once (the
 * last checkpoint is kept).
 */
export interface Interrupt {
  /** true once a stop was requested while armed */
  stop: () => boolean;
  /** start catching signals (entering the training phase) */
  arm: () => void;
  /** back to the default action (leaving the training phase) */
  disarm: () => void;
  dispose: () => void;
}

export function interruptible(what: string, o: { stream?: NodeJS.WritableStream } = {}): Interrupt {
  const out = o.stream ?? process.stderr;
  let requested = false;
  let armed = false;
  const handler = (sig: NodeJS.Signals) => {
    if (requested) {
      out.write(`\nSecond ${sig === 'SIGINT' ? 'Ctrl-C' : sig}: exiting now (the last checkpoint is kept).\n`);
      process.exit(130);
    }
    requested = true;
    out.write(
      `\n${sig === 'SIGINT' ? 'Ctrl-C' : sig}: stopping ${what} after writing a checkpoint ` +
        `(${sig === 'SIGINT' ? 'Ctrl-C' : 'send it'} again to quit at once)…\n`,
    );
  };
  const arm = () => {
    if (armed) return;
    armed = true;
    process.on('SIGINT', handler);
    process.on('SIGTERM', handler);
  };
  const disarm = () => {
    if (!armed) return;
    armed = false;
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
  };
  return { stop: () => requested, arm, disarm, dispose: disarm };
}
