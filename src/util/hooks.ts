/** Composing TrainHooks (done by the CLI layer and the sweep runner): each consumer (progress bars, TensorBoard, …) stays its own object. */
import type { TrainHooks } from '../train/trainer.ts';

/** One TrainHooks that calls every given hook in order; shouldStop is true when any says so; log goes to the first that has one. */
export function composeHooks(...all: (TrainHooks | undefined)[]): TrainHooks {
  const hs = all.filter((h): h is TrainHooks => h !== undefined);
  const logger = hs.find((h) => h.log);
  return {
    onStart: (s) => hs.forEach((h) => h.onStart?.(s)),
    onStep: (e) => hs.forEach((h) => h.onStep?.(e)),
    onEval: (row) => hs.forEach((h) => h.onEval?.(row)),
    shouldStop: () => hs.some((h) => h.shouldStop?.() ?? false),
    ...(logger ? { log: (m: string) => logger.log!(m) } : {}),
  };
}
