/**
 * When a run evaluates on its small `eval_windows` set, and what step and token
 * count each row is labelled with. Besides these rows, every run ends with the
 * final evaluation (trainer.ts: `final_eval_windows`, by default the whole
 * validation split) after the last update, labelled step = steps.
 *
 *   'completed' (default)  a row at step 0 (the initial weights) and after every eval_interval
 *                          completed updates before the last; row step = updates done. (The
 *                          last step's row is the final evaluation's.)
 *   'zero-based'           the loop of the blog's train.py: `for step in range(steps): update;
 *                          if step % eval_interval == 0: evaluate` — after the update of 0-based
 *                          step s for every s divisible by eval_interval, labelled s, with
 *                          tokens = s·batch·context (so its "step 0" row is after one update and
 *                          has 0 tokens and 0 FLOPs). No row for the initial weights; the final
 *                          evaluation's row (step = steps) follows the schedule's last one.
 */
export type EvalSteps = 'completed' | 'zero-based';

export interface EvalSchedule {
  /** evaluate the initial weights (row step 0) before training */
  initial: boolean;
  /** the label of the schedule's row due after `done` completed updates, or null when none is */
  labelAfter(done: number): number | null;
}

export function evalSchedule(o: { eval_steps: EvalSteps; eval_interval: number; steps: number }): EvalSchedule {
  if (o.eval_steps === 'zero-based') {
    return { initial: false, labelAfter: (done) => ((done - 1) % o.eval_interval === 0 ? done - 1 : null) };
  }
  return { initial: true, labelAfter: (done) => (done % o.eval_interval === 0 && done !== o.steps ? done : null) };
}
