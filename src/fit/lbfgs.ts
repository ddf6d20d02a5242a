/**
 * Limited-memory BFGS (Nocedal & Wright, "Numerical Optimization", 2nd ed.,
 * Alg. 7.4 two-loop recursion + Alg. 7.5) with a line search that satisfies
 * the strong Wolfe conditions (Alg. 3.5 "lineSearch" + Alg. 3.6 "zoom", cubic
 * interpolation as in §3.5).
 *
 * The objective computes f(x) and writes ∇f(x) into `g` in one call, so that
 * shared work (exp/log of the same terms) is done once.
 */

/** f(x); writes the gradient ∇f(x) into g (same length as x). */
export type Objective = (x: Float64Array, g: Float64Array) => number;

export interface LbfgsOptions {
  /** history pairs kept (m); default 10 */
  memory?: number;
  /** stop when max|∇f| ≤ gtol; default 1e-9 */
  gtol?: number;
  /** stop when |f_k − f_{k+1}| ≤ ftol · max(|f_k|, |f_{k+1}|, 1); default 1e-15 (scipy's factr·eps style); 0 turns it off */
  ftol?: number;
  /** iteration cap; default 1000 */
  maxIter?: number;
  /** sufficient-decrease constant c1 and curvature constant c2 of the Wolfe conditions (0 < c1 < c2 < 1) */
  c1?: number;
  c2?: number;
}

export interface LbfgsResult {
  x: Float64Array;
  f: number;
  g: Float64Array;
  iterations: number;
  /** objective evaluations (each gives f and ∇f) */
  evaluations: number;
  converged: boolean;
  reason: 'gtol' | 'ftol' | 'maxIter' | 'lineSearch' | 'nonFinite';
}

export interface LineSearchResult {
  /** accepted step length; 0 if the search failed */
  step: number;
  f: number;
  /** ∇f at x + step·d (written into the caller's buffer) */
  ok: boolean;
  evaluations: number;
}

const dot = (a: Float64Array, b: Float64Array): number => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
};
const maxAbs = (a: Float64Array): number => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!));
  return m;
};

/**
 * Minimiser of the cubic that interpolates φ(a), φ'(a), φ(b), φ'(b)
 * (N&W eq. 3.59), or NaN when it does not exist.
 */
function cubicMin(a: number, fa: number, da: number, b: number, fb: number, db: number): number {
  const d1 = da + db - (3 * (fa - fb)) / (a - b);
  const disc = d1 * d1 - da * db;
  if (!(disc >= 0)) return NaN;
  const d2 = Math.sign(b - a) * Math.sqrt(disc);
  return b - (b - a) * ((db + d2 - d1) / (db - da + 2 * d2));
}

/**
 * Find a step t along the descent direction d from x with
 *   φ(t) ≤ φ(0) + c1·t·φ'(0)        (sufficient decrease)
 *   |φ'(t)| ≤ c2·|φ'(0)|            (strong curvature)
 * where φ(t) = f(x + t·d). On success, xNew and gNew hold x + t·d and its gradient.
 */
export function strongWolfeLineSearch(
  fg: Objective,
  x: Float64Array,
  f0: number,
  g0: Float64Array,
  d: Float64Array,
  xNew: Float64Array,
  gNew: Float64Array,
  o: { c1?: number; c2?: number; step0?: number; maxStep?: number; maxEvals?: number } = {},
): LineSearchResult {
  const c1 = o.c1 ?? 1e-4;
  const c2 = o.c2 ?? 0.9;
  const maxStep = o.maxStep ?? 1e10;
  const maxEvals = o.maxEvals ?? 50;
  const dphi0 = dot(g0, d);
  let evaluations = 0;

  // φ(t) and φ'(t); leaves x + t·d in xNew and its gradient in gNew.
  const phi = (t: number): { f: number; df: number } => {
    for (let i = 0; i < x.length; i++) xNew[i] = x[i]! + t * d[i]!;
    const f = fg(xNew, gNew);
    evaluations++;
    return { f, df: dot(gNew, d) };
  };
  const fail = (): LineSearchResult => ({ step: 0, f: f0, ok: false, evaluations });
  if (!(dphi0 < 0)) return fail();

  // Alg. 3.6: the interval (lo, hi) contains steps satisfying the strong Wolfe conditions;
  // lo is the best step so far that satisfies sufficient decrease.
  const zoom = (lo: number, flo: number, dlo: number, hi: number, fhi: number, dhi: number): LineSearchResult => {
    while (evaluations < maxEvals) {
      let t = cubicMin(lo, flo, dlo, hi, fhi, dhi);
      const left = Math.min(lo, hi);
      const width = Math.abs(hi - lo);
      // Safeguard: keep the trial point away from the ends, else bisect.
      if (!Number.isFinite(t) || t < left + 0.1 * width || t > left + 0.9 * width) t = 0.5 * (lo + hi);
      if (width <= 1e-16 * Math.max(1, Math.abs(lo))) break;
      const p = phi(t);
      if (!Number.isFinite(p.f) || p.f > f0 + c1 * t * dphi0 || p.f >= flo) {
        hi = t;
        fhi = p.f;
        dhi = p.df;
      } else {
        if (Math.abs(p.df) <= -c2 * dphi0) return { step: t, f: p.f, ok: true, evaluations };
        if (p.df * (hi - lo) >= 0) {
          hi = lo;
          fhi = flo;
          dhi = dlo;
        }
        lo = t;
        flo = p.f;
        dlo = p.df;
      }
    }
    // Out of evaluations: accept lo if it at least decreases f (it satisfies sufficient decrease).
    if (lo > 0) {
      const p = phi(lo);
      return { step: lo, f: p.f, ok: p.f < f0, evaluations };
    }
    return fail();
  };

  // Alg. 3.5: expand the step until the interval brackets an acceptable point.
  let tPrev = 0;
  let fPrev = f0;
  let dPrev = dphi0;
  let t = Math.min(o.step0 ?? 1, maxStep);
  for (let i = 0; evaluations < maxEvals; i++) {
    const p = phi(t);
    if (!Number.isFinite(p.f)) {
      // Overshot into a region where f is not defined: treat as too long a step.
      return zoom(tPrev, fPrev, dPrev, t, Infinity, NaN);
    }
    if (p.f > f0 + c1 * t * dphi0 || (i > 0 && p.f >= fPrev)) return zoom(tPrev, fPrev, dPrev, t, p.f, p.df);
    if (Math.abs(p.df) <= -c2 * dphi0) return { step: t, f: p.f, ok: true, evaluations };
    if (p.df >= 0) return zoom(t, p.f, p.df, tPrev, fPrev, dPrev);
    if (t >= maxStep) return { step: t, f: p.f, ok: true, evaluations };
    tPrev = t;
    fPrev = p.f;
    dPrev = p.df;
    t = Math.min(2 * t, maxStep);
  }
  return fail();
}

/** Minimise fg from x0 with L-BFGS. */
export function lbfgs(fg: Objective, x0: ArrayLike<number>, o: LbfgsOptions = {}): LbfgsResult {
  const n = x0.length;
  const m = o.memory ?? 10;
  const gtol = o.gtol ?? 1e-9;
  const ftol = o.ftol ?? 1e-15;
  const maxIter = o.maxIter ?? 1000;

  let x = Float64Array.from(x0);
  let g = new Float64Array(n);
  let f = fg(x, g);
  let evaluations = 1;
  let xNew = new Float64Array(n);
  let gNew = new Float64Array(n);
  const d = new Float64Array(n);
  // History: s_k = x_{k+1} − x_k, y_k = ∇f_{k+1} − ∇f_k, ρ_k = 1/(y_k·s_k); a ring buffer of m pairs.
  const S: Float64Array[] = [];
  const Y: Float64Array[] = [];
  const rho: number[] = [];
  const alphaBuf = new Float64Array(m);

  const done = (iterations: number, reason: LbfgsResult['reason']): LbfgsResult => ({
    x,
    f,
    g,
    iterations,
    evaluations,
    converged: reason === 'gtol' || reason === 'ftol',
    reason,
  });
  if (!Number.isFinite(f)) return done(0, 'nonFinite');

  for (let k = 0; k < maxIter; k++) {
    if (maxAbs(g) <= gtol) return done(k, 'gtol');

    // Two-loop recursion: d = −H_k ∇f_k with H_k^0 = γ_k I, γ_k = s·y / y·y of the newest pair.
    for (let i = 0; i < n; i++) d[i] = -g[i]!;
    for (let j = S.length - 1; j >= 0; j--) {
      const a = rho[j]! * dot(S[j]!, d);
      alphaBuf[j] = a;
      const y = Y[j]!;
      for (let i = 0; i < n; i++) d[i] = d[i]! - a * y[i]!;
    }
    if (S.length > 0) {
      const last = S.length - 1;
      const gamma = dot(S[last]!, Y[last]!) / dot(Y[last]!, Y[last]!);
      for (let i = 0; i < n; i++) d[i] = d[i]! * gamma;
    }
    for (let j = 0; j < S.length; j++) {
      const b = rho[j]! * dot(Y[j]!, d);
      const s = S[j]!;
      const c = alphaBuf[j]! - b;
      for (let i = 0; i < n; i++) d[i] = d[i]! + c * s[i]!;
    }
    // Not a descent direction (round-off): restart from steepest descent.
    if (!(dot(d, g) < 0)) {
      S.length = Y.length = rho.length = 0;
      for (let i = 0; i < n; i++) d[i] = -g[i]!;
    }

    // First step (no curvature information yet): a step of length ~1 in x.
    const step0 = S.length === 0 ? Math.min(1, 1 / Math.max(maxAbs(g), 1e-300)) : 1;
    const ls = strongWolfeLineSearch(fg, x, f, g, d, xNew, gNew, { c1: o.c1, c2: o.c2, step0 });
    evaluations += ls.evaluations;
    if (!ls.ok) {
      // A failed search with history may just mean a stale Hessian model: retry once along −∇f.
      if (S.length > 0) {
        S.length = Y.length = rho.length = 0;
        continue;
      }
      return done(k, 'lineSearch');
    }

    const s = new Float64Array(n);
    const y = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      s[i] = xNew[i]! - x[i]!;
      y[i] = gNew[i]! - g[i]!;
    }
    const sy = dot(s, y);
    const fOld = f;
    [x, xNew] = [xNew, x];
    [g, gNew] = [gNew, g];
    f = ls.f;
    // Keep the pair only with positive curvature (the Wolfe conditions ensure it up to round-off).
    if (sy > 1e-12 * dot(y, y)) {
      if (S.length === m) {
        S.shift();
        Y.shift();
        rho.shift();
      }
      S.push(s);
      Y.push(y);
      rho.push(1 / sy);
    }
    if (ftol > 0 && Math.abs(fOld - f) <= ftol * Math.max(Math.abs(fOld), Math.abs(f), 1)) return done(k + 1, 'ftol');
  }
  return done(maxIter, maxAbs(g) <= gtol ? 'gtol' : 'maxIter');
}
