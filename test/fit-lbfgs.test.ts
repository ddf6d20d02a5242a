import { describe, expect, it } from 'vitest';
import { lbfgs, strongWolfeLineSearch, type Objective } from '../src/fit/lbfgs.ts';
import { fitLine, fitParabola, fitPowerLaw, quantile } from '../src/fit/regression.ts';

/** Rosenbrock in n dimensions: Σ 100(x_{i+1} − x_i²)² + (1 − x_i)²; minimum 0 at (1, …, 1). */
const rosenbrock: Objective = (x, g) => {
  let f = 0;
  g.fill(0);
  for (let i = 0; i < x.length - 1; i++) {
    const a = x[i + 1]! - x[i]! * x[i]!;
    const b = 1 - x[i]!;
    f += 100 * a * a + b * b;
    g[i]! += -400 * a * x[i]! - 2 * b;
    g[i + 1]! += 200 * a;
  }
  return f;
};

describe('L-BFGS', () => {
  it('finds the minimum of the 2-D Rosenbrock function from the classic start (−1.2, 1)', () => {
    const r = lbfgs(rosenbrock, [-1.2, 1], { gtol: 1e-10 });
    expect(r.converged).toBe(true);
    expect(r.x[0]).toBeCloseTo(1, 7);
    expect(r.x[1]).toBeCloseTo(1, 7);
    expect(r.f).toBeLessThan(1e-14);
    // L-BFGS needs a few dozen iterations here (steepest descent needs thousands).
    expect(r.iterations).toBeLessThan(100);
  });

  it('finds the minimum of the 10-D Rosenbrock function', () => {
    const x0 = Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? -1.2 : 1));
    const r = lbfgs(rosenbrock, x0, { gtol: 1e-9, maxIter: 2000 });
    expect(r.converged).toBe(true);
    for (const v of r.x) expect(v).toBeCloseTo(1, 6);
  });

  it('solves a quadratic ½xᵀQx − bᵀx: the minimiser is Q⁻¹b', () => {
    // Q = tridiag(−1, 4, −1) (SPD), b chosen so that x* = (1, −2, 3, −4, 5): b = Q x*.
    const n = 5;
    const xs = [1, -2, 3, -4, 5];
    const Qx = (x: ArrayLike<number>, i: number) => 4 * x[i]! - (i > 0 ? x[i - 1]! : 0) - (i < n - 1 ? x[i + 1]! : 0);
    const b = xs.map((_, i) => Qx(xs, i));
    const quad: Objective = (x, g) => {
      let f = 0;
      for (let i = 0; i < n; i++) {
        const qi = Qx(x, i);
        f += 0.5 * x[i]! * qi - b[i]! * x[i]!;
        g[i] = qi - b[i]!;
      }
      return f;
    };
    // ftol 0: stop on the gradient only (f alone pins x down to ~√ε). With Q's smallest
    // eigenvalue ≈ 2.27, |∇f| ≤ 1e-9 puts x within ~5e-10 of x*.
    const r = lbfgs(quad, new Array(n).fill(0), { gtol: 1e-9, ftol: 0 });
    expect(r.reason).toBe('gtol');
    r.x.forEach((v, i) => expect(Math.abs(v - xs[i]!)).toBeLessThan(1e-8));
    // f(x*) = −½ bᵀx*
    expect(r.f).toBeCloseTo(-0.5 * b.reduce((s, bi, i) => s + bi * xs[i]!, 0), 10);
  });

  it('line search returns a step satisfying the strong Wolfe conditions', () => {
    const c1 = 1e-4;
    const c2 = 0.9;
    const x = Float64Array.from([-1.2, 1]);
    const g0 = new Float64Array(2);
    const f0 = rosenbrock(x, g0);
    const d = Float64Array.from(g0, (v) => -v); // steepest descent: a poor scale, so the search must work
    const xNew = new Float64Array(2);
    const gNew = new Float64Array(2);
    const ls = strongWolfeLineSearch(rosenbrock, x, f0, g0, d, xNew, gNew, { c1, c2 });
    expect(ls.ok).toBe(true);
    const dphi0 = g0[0]! * d[0]! + g0[1]! * d[1]!;
    const dphi = gNew[0]! * d[0]! + gNew[1]! * d[1]!;
    expect(ls.f).toBeLessThanOrEqual(f0 + c1 * ls.step * dphi0); // sufficient decrease
    expect(Math.abs(dphi)).toBeLessThanOrEqual(c2 * Math.abs(dphi0)); // strong curvature
    expect(xNew[0]).toBeCloseTo(x[0]! + ls.step * d[0]!, 12);
  });

  it('line search on a 1-D quadratic with exact curvature condition c2 → 0 lands on the minimiser', () => {
    // φ(t) = (t − 3)²  along d = 1 from x = 0: exact line minimum at t = 3.
    const f: Objective = (x, g) => {
      g[0] = 2 * (x[0]! - 3);
      return (x[0]! - 3) ** 2;
    };
    const x = Float64Array.from([0]);
    const g0 = Float64Array.from([-6]);
    const ls = strongWolfeLineSearch(f, x, 9, g0, Float64Array.from([1]), new Float64Array(1), new Float64Array(1), { c2: 1e-6 });
    expect(ls.ok).toBe(true);
    expect(ls.step).toBeCloseTo(3, 5);
  });
});

describe('regression helpers', () => {
  it('fitLine recovers an exact line; r² = 1', () => {
    const x = [1, 2, 3, 4, 5];
    const f = fitLine(
      x,
      x.map((v) => 3 - 0.5 * v),
    )!;
    expect(f.slope).toBeCloseTo(-0.5, 12);
    expect(f.intercept).toBeCloseTo(3, 12);
    expect(f.r2).toBeCloseTo(1, 12);
    expect(fitLine([2, 2], [1, 3])).toBeNull(); // no spread in x
  });

  it('fitLine r² by hand: y = (1, 3, 2) on x = (1, 2, 3) → slope 0.5, r² = 0.25', () => {
    // mean y 2, SS_tot = 2; fitted 1.5, 2, 2.5 → SS_res = 0.25 + 1 + 0.25 = 1.5; r² = 1 − 1.5/2
    const f = fitLine([1, 2, 3], [1, 3, 2])!;
    expect(f.slope).toBeCloseTo(0.5, 12);
    expect(f.r2).toBeCloseTo(0.25, 12);
  });

  it('fitPowerLaw recovers y = 2·x^0.7', () => {
    const x = [1e3, 1e4, 1e5, 1e6];
    const f = fitPowerLaw(
      x,
      x.map((v) => 2 * v ** 0.7),
    )!;
    expect(f.exponent).toBeCloseTo(0.7, 10);
    expect(f.coefficient).toBeCloseTo(2, 8);
  });

  it('fitParabola recovers an exact parabola far from the origin (x ≈ ln N ≈ 17)', () => {
    const x = [15, 16, 17, 18, 19, 20];
    const [p0, p1, p2] = fitParabola(
      x,
      x.map((v) => 3 + 0.02 * (v - 17.5) ** 2),
    )!;
    // 3 + 0.02(x − 17.5)² = (3 + 0.02·306.25) − 0.7x + 0.02x²
    expect(p2).toBeCloseTo(0.02, 10);
    expect(p1).toBeCloseTo(-0.7, 9);
    expect(p0).toBeCloseTo(3 + 0.02 * 306.25, 8);
    expect(-p1 / (2 * p2)).toBeCloseTo(17.5, 9);
    expect(fitParabola([1, 1, 2], [1, 2, 3])).toBeNull(); // 2 distinct x
  });

  it('quantile interpolates between order statistics', () => {
    expect(quantile([4, 1, 3, 2, 5], 0.5)).toBe(3);
    expect(quantile([1, 2, 3, 4, 5], 0.05)).toBeCloseTo(1.2, 12);
    expect(quantile([1, 2, 3, 4, 5], 0.95)).toBeCloseTo(4.8, 12);
  });
});
