/**
 * Small seeded pseudo-random generators. Everything random in the project
 * (batch windows, eval windows, init, dropout seeds) comes from here so that a
 * run is reproducible from its seed.
 */

/** 32-bit mix of several integers into one seed (splitmix-style). */
export function hashSeed(...parts: number[]): number {
  let h = 0x9e3779b9;
  for (const p of parts) {
    let x = (Math.floor(p) ^ h) >>> 0;
    x = Math.imul(x ^ (x >>> 16), 0x85ebca6b) >>> 0;
    x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35) >>> 0;
    x = (x ^ (x >>> 16)) >>> 0;
    h = (Math.imul(h, 31) + x) >>> 0;
    // also fold in the high bits of large integers (e.g. step counts > 2^32)
    const hi = Math.floor(p / 4294967296);
    if (hi !== 0) h = (h ^ Math.imul(hi, 0x27d4eb2d)) >>> 0;
  }
  return h >>> 0;
}

/** Mulberry32: fast, 32-bit state, good enough for sampling windows. */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  /** Uniform float in [0, 1). */
  next(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  /** Standard normal (Box–Muller). */
  normal(): number {
    let u = 0;
    while (u === 0) u = this.next();
    const v = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }
  get state(): number {
    return this.s;
  }
  set state(s: number) {
    this.s = s >>> 0;
  }
}
