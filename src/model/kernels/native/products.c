/*
 * The wasm backend's products (wasm/products.c) as native code, for CPUs whose vectors are
 * wider than wasm's 128 bits: compiled once per variant (build.mjs), here with VW floats per
 * vector and the entry points named products_<VARIANT>_*.
 *   nn  C [M, N] = A·B (+ bias) for A [M, K], B [K, N]   (y = x·W + b, dx = dy·Wᵀ)
 *   tn  C [M, N] = Aᵀ·B for A [K, M], B [K, N]           (dW = xᵀ·dy)
 * Every C element sums its k in order, one rounded product and one rounded add at a time
 * (no fused multiply-adds: build.mjs passes -ffp-contract=off), as the wasm kernels and a
 * plain float32 loop do: the same bits whichever of them runs.
 */
#include <stddef.h>
#include <string.h>

#ifndef VW
#error "VW (floats per vector) must be defined"
#endif
#define CAT3(a, b, c) a##b##c
#define NAME3(a, b, c) CAT3(a, b, c)
#define FN(name) NAME3(products_, VARIANT, _##name)

typedef float f32;
/* a vector of VW floats; the _u form loads and stores at any alignment */
typedef f32 vf __attribute__((vector_size(VW * 4)));
typedef f32 vfu __attribute__((vector_size(VW * 4), aligned(4), may_alias));

#define MR 6       /* rows of C per register block */
#define NR (2 * VW) /* columns of C per register block: MR × 2 vectors of accumulators */
#define KC 256     /* rows of B per pass */
#define JC 256     /* columns of B per packed panel (a multiple of NR) */

static inline vf ld(const f32 *p) { return *(const vfu *)p; }
static inline void st(f32 *p, vf v) { *(vfu *)p = v; }

/*
 * C[mr, NR] (+)= Σ_{k<kc} A(r, k)·Bp[k, 0..NR), A(r, k) = a[r·ai + k·ak], Bp packed [kc][NR].
 * mr is a constant at each call site, so the accumulators stay in registers.
 */
static inline __attribute__((always_inline)) void block(const int mr, int kc, const f32 *a, int ai, int ak, const f32 *Bp, f32 *C, int ldc, int acc) {
  vf c0[MR], c1[MR];
  for (int r = 0; r < mr; r++) {
    if (acc) c0[r] = ld(C + r * ldc), c1[r] = ld(C + r * ldc + VW);
    else c0[r] = (vf){0}, c1[r] = (vf){0};
  }
  for (int k = 0; k < kc; k++) {
    const vf b0 = ld(Bp + k * NR), b1 = ld(Bp + k * NR + VW);
    for (int r = 0; r < mr; r++) {
      const f32 s = a[r * ai + k * ak];
      c0[r] = c0[r] + s * b0;
      c1[r] = c1[r] + s * b1;
    }
  }
  for (int r = 0; r < mr; r++) st(C + r * ldc, c0[r]), st(C + r * ldc + VW, c1[r]);
}

static void block_rows(int mr, int kc, const f32 *a, int ai, int ak, const f32 *Bp, f32 *C, int ldc, int acc) {
  switch (mr) {
    case 6: block(6, kc, a, ai, ak, Bp, C, ldc, acc); break;
    case 5: block(5, kc, a, ai, ak, Bp, C, ldc, acc); break;
    case 4: block(4, kc, a, ai, ak, Bp, C, ldc, acc); break;
    case 3: block(3, kc, a, ai, ak, Bp, C, ldc, acc); break;
    case 2: block(2, kc, a, ai, ak, Bp, C, ldc, acc); break;
    default: block(1, kc, a, ai, ak, Bp, C, ldc, acc); break;
  }
}

/* Floats of scratch `product` needs: one packed panel of B, one packed slice of Aᵀ, one edge tile. */
size_t FN(work_floats)(void) { return (size_t)KC * JC + (size_t)KC * MR + (size_t)MR * NR; }

/*
 * C [M, N] = Σ_k A(i, k)·B[k, j], A(i, k) = A[i·ai + k·ak], B [K, N]: in passes of KC rows of B
 * and panels of JC columns, each panel copied into `work` as [JC/NR][kc][NR] (the last block
 * of columns padded with zeros) and, for Aᵀ, each MR-row slice as [kc][MR], so that the
 * register block reads both sequentially. A block that overhangs C's last column is
 * computed into an edge tile and its valid columns copied out.
 */
static void product(const f32 *A, int ai, int ak, const f32 *B, f32 *C, int M, int K, int N, f32 *work) {
  f32 *Bp = work, *Ap = work + (size_t)KC * JC, *E = Ap + (size_t)KC * MR;
  if (K == 0) memset(C, 0, (size_t)M * N * sizeof(f32));
  for (int k0 = 0; k0 < K; k0 += KC) {
    const int kc = K - k0 < KC ? K - k0 : KC, acc = k0 > 0; /* the first pass writes C, the others add to it */
    for (int jc = 0; jc < N; jc += JC) {
      const int jw = N - jc < JC ? N - jc : JC;
      for (int jb = 0; jb < jw; jb += NR) {
        const int w = jw - jb < NR ? jw - jb : NR;
        f32 *dst = Bp + (size_t)jb * kc;
        for (int k = 0; k < kc; k++) {
          const f32 *src = B + (size_t)(k0 + k) * N + jc + jb;
          if (w == NR) st(dst + k * NR, ld(src)), st(dst + k * NR + VW, ld(src + VW));
          else for (int j = 0; j < NR; j++) dst[k * NR + j] = j < w ? src[j] : 0.0f;
        }
      }
      for (int i0 = 0; i0 < M; i0 += MR) {
        const int mr = M - i0 < MR ? M - i0 : MR;
        const f32 *a = A + (size_t)i0 * ai + (size_t)k0 * ak;
        int sai = ai, sak = ak;
        if (ai == 1) { /* Aᵀ: its rows are columns of A, M apart */
          for (int k = 0; k < kc; k++)
            for (int r = 0; r < mr; r++) Ap[k * MR + r] = a[r + (size_t)k * ak];
          a = Ap, sai = 1, sak = MR;
        }
        for (int jb = 0; jb < jw; jb += NR) {
          const int w = jw - jb < NR ? jw - jb : NR;
          f32 *c = C + (size_t)i0 * N + jc + jb;
          if (w == NR) {
            block_rows(mr, kc, a, sai, sak, Bp + (size_t)jb * kc, c, N, acc);
          } else {
            for (int r = 0; r < mr; r++)
              for (int j = 0; j < NR; j++) E[r * NR + j] = acc && j < w ? c[(size_t)r * N + j] : 0.0f;
            block_rows(mr, kc, a, sai, sak, Bp + (size_t)jb * kc, E, NR, acc);
            for (int r = 0; r < mr; r++) memcpy(c + (size_t)r * N, E + r * NR, (size_t)w * sizeof(f32));
          }
        }
      }
    }
  }
}

/* C [M, N] = Aᵀ·B for A [K, M], B [K, N]. */
void FN(tn)(const f32 *A, const f32 *B, f32 *C, int K, int M, int N, f32 *work) { product(A, 1, M, B, C, M, K, N, work); }

/* C [M, N] = A·B (+ bias [N] on every row, when bias is not null) for A [M, K], B [K, N]. */
void FN(nn)(const f32 *A, const f32 *B, const f32 *bias, f32 *C, int M, int K, int N, f32 *work) {
  product(A, K, 1, B, C, M, K, N, work);
  if (!bias) return;
  for (int i = 0; i < M; i++) {
    f32 *c = C + (size_t)i * N;
    for (int j = 0; j < N; j++) c[j] = c[j] + bias[j];
  }
}
