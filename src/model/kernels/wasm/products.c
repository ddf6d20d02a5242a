/*
 * The products of the model's linear layers and output head, and the weight gradients
 * without transposing anything:
 *   matmul_nn  C [M, N] = A·B (+ bias) for A [M, K], B [K, N]   (y = x·W + b, dx = dy·Wᵀ)
 *   matmul_tn  C [M, N] = Aᵀ·B for A [K, M], B [K, N]           (dW = xᵀ·dy, K = B·T rows)
 *   col_sum    out [n] = Σ_rows x for x [N, n]                    (db = Σ_rows dy)
 * On tfjs-backend-wasm, XNNPACK repacks the right operand on every call (every weight
 * changes every step), and xᵀ·dy took a tiled transpose first; these run from the
 * operands as they lie (one core, scripts/kernel-bench.ts). Row-major float32, dense.
 * XNNPACK's wasm product sums k in order without fused multiply-adds, as these do:
 * on the shapes measured the results were the same bits.
 */
#include "common.h"

/* Rows of B per pass and columns per panel: the packed [KC, JC] panel of B (256 KB) stays in L2. */
#ifndef KC
#define KC 256
#endif
#ifndef JC
#define JC 256
#endif
/* Fewer rows than this: B is not copied (each panel would serve too few row blocks to pay for it). */
#define PACK_MIN_ROWS 32

/* Floats of `work` the products need. */
EXPORT(matmul_work_floats)
int matmul_work_floats(void) { return KC * JC + KC * MR; }

/* C[4, 4] (+)= Σ_k A(i, k)·B[k, 0..4) for k in [k0, k1), A(i, k) = A[i·ai + k·ak]: the 4 columns left of an N tail. */
static inline void mk4x4(int k0, int k1, const f32 *A, int ai, int ak, const f32 *B, int ldb, f32 *C, int ldc, int acc) {
  v128_t c0 = wasm_f32x4_splat(0), c1 = c0, c2 = c0, c3 = c0;
  if (acc) c0 = wasm_v128_load(C), c1 = wasm_v128_load(C + ldc), c2 = wasm_v128_load(C + 2 * ldc), c3 = wasm_v128_load(C + 3 * ldc);
  for (int k = k0; k < k1; k++) {
    const v128_t b = wasm_v128_load(B + k * ldb);
    const f32 *a = A + k * ak;
    c0 = wasm_f32x4_add(c0, wasm_f32x4_mul(wasm_f32x4_splat(a[0]), b));
    c1 = wasm_f32x4_add(c1, wasm_f32x4_mul(wasm_f32x4_splat(a[ai]), b));
    c2 = wasm_f32x4_add(c2, wasm_f32x4_mul(wasm_f32x4_splat(a[2 * ai]), b));
    c3 = wasm_f32x4_add(c3, wasm_f32x4_mul(wasm_f32x4_splat(a[3 * ai]), b));
  }
  wasm_v128_store(C, c0);
  wasm_v128_store(C + ldc, c1);
  wasm_v128_store(C + 2 * ldc, c2);
  wasm_v128_store(C + 3 * ldc, c3);
}

/*
 * C [M, N] = Σ_k A(i, k)·B[k, j] over k < K, A(i, k) = A[i·ai + k·ak], B [K, N]: in passes
 * of KC rows of B and panels of JC columns. Each panel is first copied into `work` as
 * [JC/8][KC][8] (and each 4-row slice of Aᵀ as [KC][4]), so the 4×8 kernel reads both
 * sequentially: with rows 4 KB apart (N or M = 1024) the strided reads all fell into the
 * same cache sets and the product ran at half speed (below PACK_MIN_ROWS rows the
 * copies would not pay: the plain strided reads). Then 4×4 blocks, the last columns and rows. Every C element sums its k in order, one product at a time (no fused
 * multiply-add): the same bits as a plain loop, whatever the blocking.
 */
static inline void product(const f32 *A, int ai, int ak, const f32 *B, f32 *C, int M, int K, int N, f32 *work) {
  const int M4 = M & ~(MR - 1), N8 = N & ~(NR - 1), N4 = N & ~3;
  f32 *Bp = work, *Ap = work + KC * JC;
  /* Aᵀ's 4-row slices are strided by M: copied when enough columns reuse them (A's own rows are contiguous) */
  const int pack_a = ai == 1 && N8 >= 64;
  if (K == 0) zero(C, M * N);
  for (int k0 = 0; k0 < K; k0 += KC) {
    const int k1 = imin(K, k0 + KC), kc = k1 - k0, acc = k0 > 0; /* the first pass writes C, the others add to it */
    if (M4 < PACK_MIN_ROWS) {
      for (int i0 = 0; i0 < M4; i0 += MR)
        for (int j0 = 0; j0 < N8; j0 += NR) mk4x8(k0, k1, A + i0 * ai, ai, ak, B + j0, N, C + i0 * N + j0, N, acc);
    }
    for (int jc = 0; M4 >= PACK_MIN_ROWS && jc < N8; jc += JC) {
      const int jw = imin(N8 - jc, JC);
      for (int jb = 0; jb < jw; jb += NR)
        for (int k = 0; k < kc; k++) {
          const f32 *b = B + (k0 + k) * N + jc + jb;
          wasm_v128_store(Bp + jb * kc + k * NR, wasm_v128_load(b));
          wasm_v128_store(Bp + jb * kc + k * NR + 4, wasm_v128_load(b + 4));
        }
      for (int i0 = 0; i0 < M4; i0 += MR) {
        const f32 *a = A + i0 * ai + k0 * ak;
        int sai = ai, sak = ak;
        if (pack_a) {
          for (int k = 0; k < kc; k++)
            for (int r = 0; r < MR; r++) Ap[k * MR + r] = a[r * ai + k * ak];
          a = Ap, sai = 1, sak = MR;
        }
        for (int jb = 0; jb < jw; jb += NR) mk4x8(0, kc, a, sai, sak, Bp + jb * kc, NR, C + i0 * N + jc + jb, N, acc);
      }
    }
    if (N4 > N8)
      for (int i0 = 0; i0 < M4; i0 += MR) mk4x4(k0, k1, A + i0 * ai, ai, ak, B + N8, N, C + i0 * N + N8, N, acc);
    /* the columns right of the last 4-block (vectors along i), then the rows below the last 4-block (along j) */
    for (int j = N4; j < N; j++)
      for (int i0 = 0; i0 < M4; i0 += 4) {
        v128_t c = acc ? wasm_f32x4_make(C[i0 * N + j], C[(i0 + 1) * N + j], C[(i0 + 2) * N + j], C[(i0 + 3) * N + j]) : wasm_f32x4_splat(0);
        for (int k = k0; k < k1; k++) {
          const f32 *a = A + i0 * ai + k * ak;
          const v128_t av = ai == 1 ? wasm_v128_load(a) : wasm_f32x4_make(a[0], a[ai], a[2 * ai], a[3 * ai]);
          c = wasm_f32x4_add(c, wasm_f32x4_mul(av, wasm_f32x4_splat(B[k * N + j])));
        }
        C[i0 * N + j] = wasm_f32x4_extract_lane(c, 0);
        C[(i0 + 1) * N + j] = wasm_f32x4_extract_lane(c, 1);
        C[(i0 + 2) * N + j] = wasm_f32x4_extract_lane(c, 2);
        C[(i0 + 3) * N + j] = wasm_f32x4_extract_lane(c, 3);
      }
    for (int i = M4; i < M; i++) {
      for (int j0 = 0; j0 < N4; j0 += 4) {
        v128_t c = acc ? wasm_v128_load(C + i * N + j0) : wasm_f32x4_splat(0);
        for (int k = k0; k < k1; k++) c = wasm_f32x4_add(c, wasm_f32x4_mul(wasm_f32x4_splat(A[i * ai + k * ak]), wasm_v128_load(B + k * N + j0)));
        wasm_v128_store(C + i * N + j0, c);
      }
      for (int j = N4; j < N; j++) {
        f32 s = acc ? C[i * N + j] : 0.0f;
        for (int k = k0; k < k1; k++) s += A[i * ai + k * ak] * B[k * N + j];
        C[i * N + j] = s;
      }
    }
  }
}

/* C [M, N] = Aᵀ·B for A [K, M], B [K, N]. */
EXPORT(matmul_tn)
void matmul_tn(const f32 *A, const f32 *B, f32 *C, int K, int M, int N, f32 *work) { product(A, 1, M, B, C, M, K, N, work); }

/* C [M, N] = A·B (+ bias [N] on every row, when bias is not null) for A [M, K], B [K, N]. */
EXPORT(matmul_nn)
void matmul_nn(const f32 *A, const f32 *B, const f32 *bias, f32 *C, int M, int K, int N, f32 *work) {
  product(A, K, 1, B, C, M, K, N, work);
  if (!bias) return;
  const int N4 = N & ~3;
  for (int i = 0; i < M; i++) {
    f32 *c = C + i * N;
    for (int j = 0; j < N4; j += 4) wasm_v128_store(c + j, wasm_f32x4_add(wasm_v128_load(c + j), wasm_v128_load(bias + j)));
    for (int j = N4; j < N; j++) c[j] += bias[j];
  }
}

EXPORT(col_sum)
void col_sum(const f32 *x, f32 *out, int N, int n) {
  const int n4 = n & ~3;
  zero(out, n);
  for (int i = 0; i < N; i++) { /* row by row: each column still sums its rows in order */
    const f32 *r = x + i * n;
    for (int j = 0; j < n4; j += 4) wasm_v128_store(out + j, wasm_f32x4_add(wasm_v128_load(out + j), wasm_v128_load(r + j)));
    for (int j = n4; j < n; j++) out[j] += r[j];
  }
}
