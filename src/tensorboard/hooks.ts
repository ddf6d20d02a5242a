/**
 * TrainHooks that write a run's scalars for TensorBoard (composed with the
 * CLI's own hooks; the trainer knows nothing of TensorBoard):
 *
 *   train/loss, train/lr, train/tokens_per_s   every optimizer step
 *   eval/<column>                              every metrics.csv row, one scalar per column
 *                                              (eval/val_loss, eval/train_loss, eval/flops_6nd, eval/tokens, …)
 */
import type { TrainHooks } from '../train/trainer.ts';
import type { ScalarWriter } from './writer.ts';

export function tensorboardHooks(w: ScalarWriter): TrainHooks {
  return {
    onStep: (e) => w.scalars(e.step, { 'train/loss': e.loss, 'train/lr': e.lr, 'train/tokens_per_s': e.tokensPerS }),
    onEval: (row) => {
      const values: Record<string, number> = {};
      for (const [k, v] of Object.entries(row)) if (k !== 'step') values[`eval/${k}`] = v as number;
      w.scalars(row.step, values);
    },
  };
}
