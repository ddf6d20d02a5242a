/**
 * Learning rate at `step` (0-based, the step about to be taken): linear warm-up
 * from lr/warmup to lr over `warmup` steps, then cosine decay to
 * minFrac·lr at `horizon` steps (nanoGPT's get_lr); or, with schedule 'constant',
 * lr after the warm-up (the blog's recipe: no warm-up, constant 3e-4).
 */
export function learningRate(
  step: number,
  o: { lr: number; warmup: number; horizon: number; minFrac: number; schedule?: 'cosine' | 'constant' },
): number {
  const { lr, warmup, horizon, minFrac } = o;
  const minLr = lr * minFrac;
  if (step < warmup) return (lr * (step + 1)) / warmup;
  if (o.schedule === 'constant') return lr;
  if (step >= horizon) return minLr;
  const progress = (step - warmup) / Math.max(1, horizon - warmup); // 0 → 1
  const coeff = 0.5 * (1 + Math.cos(Math.PI * progress)); // 1 → 0
  return minLr + coeff * (lr - minLr);
}
