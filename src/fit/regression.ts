/**
 * Least-squares fits used by the scaling-law approaches: straight lines (power
 * laws in log-log space) and parabolas (IsoFLOP profiles).
 */

export interface LineFit {
  slope: number;
  intercept: number;
  /** coefficient of determination of the fit, in the space it was fitted in */
  r2: number;
  points: number;
}

/** Ordinary least squares y = intercept + slope·x. Needs ≥ 2 distinct x. */
export function fitLine(x: ArrayLike<number>, y: ArrayLike<number>): LineFit | null {
  const n = x.length;
  if (n < 2 || y.length !== n) return null;
  let mx = 0;
  let my = 0;
  for (let i = 0; i < n; i++) {
    mx += x[i]!;
    my += y[i]!;
  }
  mx /= n;
  my /= n;
  let sxx = 0;
  let sxy = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = x[i]! - mx;
    const dy = y[i]! - my;
    sxx += dx * dx;
    sxy += dx * dy;
    syy += dy * dy;
  }
  if (!(sxx > 1e-300)) return null;
  const slope = sxy / sxx;
  const intercept = my - slope * mx;
  // r² = 1 − SS_res/SS_tot; SS_res = syy − slope·sxy for OLS. A constant y is fitted exactly.
  const r2 = syy > 0 ? 1 - Math.max(0, syy - slope * sxy) / syy : 1;
  return { slope, intercept, r2, points: n };
}

/**
 * Power law y = k·x^p fitted as a line in (ln x, ln y). Points with x ≤ 0 or
 * y ≤ 0 must be filtered out by the caller.
 */
export function fitPowerLaw(x: ArrayLike<number>, y: ArrayLike<number>): { exponent: number; coefficient: number; r2: number; points: number } | null {
  const lx = Array.from(x, Math.log);
  const ly = Array.from(y, Math.log);
  const f = fitLine(lx, ly);
  if (!f) return null;
  return { exponent: f.slope, coefficient: Math.exp(f.intercept), r2: f.r2, points: f.points };
}

/** Solve the 3×3 system M·v = r by Gaussian elimination with partial pivoting; null if singular. */
function solve3(M: number[][], r: number[]): [number, number, number] | null {
  const A = M.map((row, i) => [...row, r[i]!]);
  for (let c = 0; c < 3; c++) {
    let p = c;
    for (let i = c + 1; i < 3; i++) if (Math.abs(A[i]![c]!) > Math.abs(A[p]![c]!)) p = i;
    if (Math.abs(A[p]![c]!) < 1e-300) return null;
    [A[c], A[p]] = [A[p]!, A[c]!];
    for (let i = c + 1; i < 3; i++) {
      const f = A[i]![c]! / A[c]![c]!;
      for (let j = c; j < 4; j++) A[i]![j]! -= f * A[c]![j]!;
    }
  }
  const v = [0, 0, 0];
  for (let i = 2; i >= 0; i--) {
    let s = A[i]![3]!;
    for (let j = i + 1; j < 3; j++) s -= A[i]![j]! * v[j]!;
    v[i] = s / A[i]![i]!;
  }
  return v.every(Number.isFinite) ? (v as [number, number, number]) : null;
}

/**
 * Least-squares parabola y = p0 + p1·x + p2·x². Fitted in the centred
 * variable u = x − mean(x) for conditioning, then expanded back to x.
 * Needs ≥ 3 distinct x.
 */
export function fitParabola(x: ArrayLike<number>, y: ArrayLike<number>): [number, number, number] | null {
  const n = x.length;
  if (n < 3 || new Set(Array.from(x)).size < 3) return null;
  let m = 0;
  for (let i = 0; i < n; i++) m += x[i]!;
  m /= n;
  // Normal equations in u: Σ u^(j+k) c_k = Σ u^j y.
  const s = [0, 0, 0, 0, 0];
  const t = [0, 0, 0];
  for (let i = 0; i < n; i++) {
    const u = x[i]! - m;
    let p = 1;
    for (let k = 0; k < 5; k++) {
      s[k]! += p;
      if (k < 3) t[k]! += p * y[i]!;
      p *= u;
    }
  }
  const c = solve3(
    [
      [s[0]!, s[1]!, s[2]!],
      [s[1]!, s[2]!, s[3]!],
      [s[2]!, s[3]!, s[4]!],
    ],
    t,
  );
  if (!c) return null;
  const [c0, c1, c2] = c;
  // c0 + c1(x − m) + c2(x − m)² = (c0 − c1 m + c2 m²) + (c1 − 2 c2 m) x + c2 x²
  return [c0 - c1 * m + c2 * m * m, c1 - 2 * c2 * m, c2];
}

/** q-quantile (0 ≤ q ≤ 1) of a sample, linear interpolation between order statistics. */
export function quantile(values: number[], q: number): number {
  const v = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const pos = q * (v.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return v[lo]! + (v[hi]! - v[lo]!) * (pos - lo);
}
