/**
 * When a run evaluates, and what step and token count each row is labelled with.
 *
 *   'completed' (default)  a row at step 0 (the initial weights), after every eval_interval
 *                          completed updates, and after the last; row step = updates done.
 *   'zero-based'           the loop of the blog's train.py: `for step in range(steps): update;
 *                          if step % eval_interval == 0: evaluate` — after the update of 0-based
 *                          step s for every s divisible by eval_interval, labelled s, with
 *                          tokens = s·batch·context (so its "step 0" row is after one update and
 *                          has 0 tokens and 0 FLOPs). No row for the initial weights, none at the end.
 */
export type EvalSteps = 'completed' | 'zero-based';

export interface EvalSchedule {
  /** evaluate the initial weights (row step 0) before training */
  initial: boolean;
  /** the label of the row due after `done` completed updates, or null when none is */
  labelAfter(done: number): number | null;
}

export function evalSchedule(o: { eval_steps: EvalSteps; eval_interval: number; steps: number }): EvalSchedule {
  if (o.eval_steps === 'zero-based') {
    return { initial: false, labelAfter: (done) => ((done - 1) % o.eval_interval === 0 ? done - 1 : null) };
  }
  return { initial: true, labelAfter: (done) => (done % o.eval_interval === 0 || done === o.steps ? done : null) };
}
