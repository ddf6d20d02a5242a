/*
 * What the wasm kernels share: SIMD128 types and the 4×8 product kernel (no libc: the kernels run inside tfjs-backend-wasm's memory, see build.sh).
 */
#ifndef CHINCHILLA_COMMON_H
#define CHINCHILLA_COMMON_H
#include <wasm_simd128.h>

#define EXPORT(name) __attribute__((export_name(#name)))
#define MR 4
#define NR 8

typedef float f32;

static inline int up8(int x) { return (x + 7) & ~7; }
static inline int imin(int a, int b) { return a < b ? a : b; }

static inline void zero(f32 *x, int n) {
  for (int i = 0; i < n; i++) x[i] = 0.0f;
}

/*
 * C[MR, NR] (+)= Σ_k A(i, k)·B[k, 0..NR) for k in [k0, k1), where A(i, k) = A[i·ai + k·ak]
 * (ai = lda, ak = 1: A as stored; ai = 1, ak = lda: Aᵀ) and B rows are ldb apart;
 * `acc` adds to C instead of overwriting it.
 */
static inline void mk4x8(int k0, int k1, const f32 *A, int ai, int ak, const f32 *B, int ldb, f32 *C, int ldc, int acc) {
  v128_t c00 = wasm_f32x4_splat(0), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
  if (acc) {
    c00 = wasm_v128_load(C), c01 = wasm_v128_load(C + 4);
    c10 = wasm_v128_load(C + ldc), c11 = wasm_v128_load(C + ldc + 4);
    c20 = wasm_v128_load(C + 2 * ldc), c21 = wasm_v128_load(C + 2 * ldc + 4);
    c30 = wasm_v128_load(C + 3 * ldc), c31 = wasm_v128_load(C + 3 * ldc + 4);
  }
  for (int k = k0; k < k1; k++) {
    const f32 *b = B + k * ldb;
    const v128_t b0 = wasm_v128_load(b), b1 = wasm_v128_load(b + 4);
    const f32 *a = A + k * ak;
    v128_t a0 = wasm_f32x4_splat(a[0]);
    c00 = wasm_f32x4_add(c00, wasm_f32x4_mul(a0, b0));
    c01 = wasm_f32x4_add(c01, wasm_f32x4_mul(a0, b1));
    a0 = wasm_f32x4_splat(a[ai]);
    c10 = wasm_f32x4_add(c10, wasm_f32x4_mul(a0, b0));
    c11 = wasm_f32x4_add(c11, wasm_f32x4_mul(a0, b1));
    a0 = wasm_f32x4_splat(a[2 * ai]);
    c20 = wasm_f32x4_add(c20, wasm_f32x4_mul(a0, b0));
    c21 = wasm_f32x4_add(c21, wasm_f32x4_mul(a0, b1));
    a0 = wasm_f32x4_splat(a[3 * ai]);
    c30 = wasm_f32x4_add(c30, wasm_f32x4_mul(a0, b0));
    c31 = wasm_f32x4_add(c31, wasm_f32x4_mul(a0, b1));
  }
  wasm_v128_store(C, c00);
  wasm_v128_store(C + 4, c01);
  wasm_v128_store(C + ldc, c10);
  wasm_v128_store(C + ldc + 4, c11);
  wasm_v128_store(C + 2 * ldc, c20);
  wasm_v128_store(C + 2 * ldc + 4, c21);
  wasm_v128_store(C + 3 * ldc, c30);
  wasm_v128_store(C + 3 * ldc + 4, c31);
}

/*
 * e^x for x <= 0 (softmax, sigmoid), ~1 ulp: 2^n · poly(r), x = n·ln2 + r, |r| <= ln2/2.
 * n = round-to-even(x·log2 e) by adding and subtracting 1.5·2²³ (exact for |n| <= 126, the
 * same value as f32x4.nearest); the sum's low mantissa bits then hold n + 2²², so 2^n's bits
 * are that sum's bits shifted by 23 plus a constant (no float-to-int conversion).
 */
static inline v128_t vexp(v128_t x) {
  x = wasm_f32x4_pmax(x, wasm_f32x4_splat(-87.0f)); /* -87 < x ? x : -87: one maxps (f32x4.max orders NaN and ±0, several) */
  const v128_t magic = wasm_f32x4_splat(12582912.0f); /* 1.5·2²³, bits 0x4B400000 */
  const v128_t t = wasm_f32x4_add(wasm_f32x4_mul(x, wasm_f32x4_splat(1.44269504089f)), magic);
  const v128_t n = wasm_f32x4_sub(t, magic);
  v128_t r = wasm_f32x4_sub(x, wasm_f32x4_mul(n, wasm_f32x4_splat(0.693145751953125f)));
  r = wasm_f32x4_sub(r, wasm_f32x4_mul(n, wasm_f32x4_splat(1.428606765330187e-06f)));
  v128_t p = wasm_f32x4_splat(1.0f / 5040);
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(1.0f / 720));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(1.0f / 120));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(1.0f / 24));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(1.0f / 6));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(0.5f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(1.0f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(1.0f));
  /* (n + 127) << 23 = (bits(t) − 0x4B400000 + 127) << 23 = (bits(t) << 23) + ((127 − 0x4B400000) << 23), mod 2³² */
  const v128_t two_n = wasm_i32x4_add(wasm_i32x4_shl(t, 23), wasm_i32x4_splat((int)((127u - 0x4B400000u) << 23)));
  return wasm_f32x4_mul(p, two_n);
}

#endif
