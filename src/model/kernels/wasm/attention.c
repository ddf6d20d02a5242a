/*
 * Causal self-attention, forward and backward, for the wasm backend: one call per
 * layer instead of ~20 tfjs kernels per sequence and head, and the masked half of
 * every [T, T] product skipped. Same equations as ops.ts's causalSelfAttention
 * (without attention dropout), per sequence b and head h:
 *
 *   forward   S = q·kᵀ/√hd,  P = softmax(S) over keys j <= i,  y = P·v
 *   backward  dv = Pᵀ·dy,  dP = dy·vᵀ,  dS = P ⊙ (dP − rowsum(dP ⊙ P)),
 *             dq = dS·k/√hd,  dk = dSᵀ·q/√hd
 *
 * Built with clang's wasm32 target and SIMD128 (see build.sh); it imports the
 * memory of tfjs-backend-wasm's module, so it reads and writes tensors where
 * they lie. It has no data segment and no libc: every buffer, its stack
 * included, is allocated by the caller from that module's heap.
 *
 * Layouts (row-major float32):
 *   qkv  [B·T, 3d]  q of head h in columns h·hd.., k in d + h·hd.., v in 2d + h·hd..
 *   y    [B·T, d]   head h in columns h·hd..
 *   p    [B·H, T, T] the probabilities (zero above the diagonal), saved for the backward
 *   work scratch of attn_work_floats(T, hd) floats
 * Inside, every operand is copied into a block padded with zeros to Tp = T rounded up
 * to 8 rows/columns and hdp = hd rounded up to 8, so the 4×8 product kernel needs no tails.
 */
#include "common.h"

/* Which part of a [Tp, Tp] product the causal mask leaves. */
enum { FULL = 0, LOWER = 1, UPPER = 2 };

/*
 * C[M, N] = A·B (ta = 0) or Aᵀ·B (ta = 1), M and N multiples of MR and NR, A's rows
 * (of op(A)) lda apart. `cols`: for LOWER, row block i0 only needs columns < i0 + MR
 * (the causal product S = q·kᵀ); `ks`: LOWER = row block i0 only needs k < i0 + MR
 * (P·v, dS·k: P and dS vanish above the diagonal), UPPER = only k >= i0 (Pᵀ·dy, dSᵀ·q).
 */
static void gemm(int M, int N, int K, const f32 *A, int lda, int ta, const f32 *B, int ldb, f32 *C, int ldc, int cols, int ks) {
  const int ai = ta ? 1 : lda, ak = ta ? lda : 1;
  for (int i0 = 0; i0 < M; i0 += MR) {
    const int n1 = cols == LOWER ? imin(N, up8(i0 + MR)) : N;
    const int k0 = ks == UPPER ? i0 : 0;
    const int k1 = ks == LOWER ? imin(K, i0 + MR) : K;
    for (int j0 = 0; j0 < n1; j0 += NR) mk4x8(k0, k1, A + i0 * ai, ai, ak, B + j0, ldb, C + i0 * ldc + j0, ldc, 0);
  }
}

/* Row i of S (length Tp, valid j <= i) -> probabilities, zero for j > i. */
static void softmax_row(f32 *s, int i, int Tp) {
  f32 m = s[0];
  for (int j = 1; j <= i; j++) m = s[j] > m ? s[j] : m;
  const int n4 = (i + 4) & ~3; /* the vectors holding j = 0..i */
  const v128_t vm = wasm_f32x4_splat(m);
  for (int j = 0; j < n4; j += 4) wasm_v128_store(s + j, vexp(wasm_f32x4_sub(wasm_v128_load(s + j), vm)));
  for (int j = i + 1; j < Tp; j++) s[j] = 0.0f;
  f32 sum = 0.0f;
  for (int j = 0; j <= i; j++) sum += s[j];
  const v128_t inv = wasm_f32x4_splat(1.0f / sum);
  for (int j = 0; j < n4; j += 4) wasm_v128_store(s + j, wasm_f32x4_mul(wasm_v128_load(s + j), inv));
}

/* Head block [T, hd] at column c0 of x (rows ldx apart) times `scale` -> dst [Tp, hdp], zero-padded. */
static void load_block(const f32 *x, int ldx, int c0, int T, int hd, f32 scale, f32 *dst, int Tp, int hdp) {
  zero(dst, Tp * hdp);
  for (int i = 0; i < T; i++)
    for (int c = 0; c < hd; c++) dst[i * hdp + c] = x[i * ldx + c0 + c] * scale;
}

/* The transposed block: dst [hdp, Tp], dst[c][i] = x[i][c0 + c]. */
static void load_block_t(const f32 *x, int ldx, int c0, int T, int hd, f32 *dst, int Tp, int hdp) {
  zero(dst, Tp * hdp);
  for (int i = 0; i < T; i++)
    for (int c = 0; c < hd; c++) dst[c * Tp + i] = x[i * ldx + c0 + c];
}

/* dst [T, hd] at column c0 of x (rows ldx apart) = src [Tp, hdp] times `scale`. */
static void store_block(const f32 *src, int Tp, int hdp, f32 scale, f32 *x, int ldx, int c0, int T, int hd) {
  (void)Tp;
  for (int i = 0; i < T; i++)
    for (int c = 0; c < hd; c++) x[i * ldx + c0 + c] = src[i * hdp + c] * scale;
}

/* Floats of scratch one call needs. */
EXPORT(attn_work_floats)
int attn_work_floats(int T, int hd) {
  const int Tp = up8(T), hdp = up8(hd);
  return 4 * Tp * Tp + 5 * Tp * hdp;
}

EXPORT(attn_forward)
void attn_forward(const f32 *qkv, f32 *y, f32 *p, f32 *work, int B, int T, int H, int hd) {
  const int d = H * hd, Tp = up8(T), hdp = up8(hd);
  const f32 scale = 1.0f / __builtin_sqrtf((f32)hd);
  f32 *S = work, *q = S + Tp * Tp, *kT = q + Tp * hdp, *v = kT + Tp * hdp, *o = v + Tp * hdp;
  for (int b = 0; b < B; b++) {
    const f32 *x = qkv + b * T * 3 * d;
    for (int h = 0; h < H; h++) {
      load_block(x, 3 * d, h * hd, T, hd, scale, q, Tp, hdp);
      load_block_t(x, 3 * d, d + h * hd, T, hd, kT, Tp, hdp);
      load_block(x, 3 * d, 2 * d + h * hd, T, hd, 1.0f, v, Tp, hdp);
      gemm(Tp, Tp, hdp, q, hdp, 0, kT, Tp, S, Tp, LOWER, FULL); /* S = q·kᵀ, j < i0 + MR */
      for (int i = 0; i < T; i++) softmax_row(S + i * Tp, i, Tp);
      zero(S + T * Tp, (Tp - T) * Tp);
      gemm(Tp, hdp, Tp, S, Tp, 0, v, hdp, o, hdp, FULL, LOWER); /* y = P·v */
      store_block(o, Tp, hdp, 1.0f, y + b * T * d, d, h * hd, T, hd);
      f32 *pb = p + (b * H + h) * T * T;
      for (int i = 0; i < T; i++)
        for (int j = 0; j < T; j++) pb[i * T + j] = S[i * Tp + j];
    }
  }
}

EXPORT(attn_backward)
void attn_backward(const f32 *qkv, const f32 *p, const f32 *dy, f32 *dqkv, f32 *work, int B, int T, int H, int hd) {
  const int d = H * hd, Tp = up8(T), hdp = up8(hd);
  const f32 scale = 1.0f / __builtin_sqrtf((f32)hd);
  f32 *P = work, *dS = P + Tp * Tp;
  f32 *q = dS + Tp * Tp, *k = q + Tp * hdp, *vT = k + Tp * hdp, *g = vT + Tp * hdp, *o = g + Tp * hdp;
  for (int b = 0; b < B; b++) {
    const f32 *x = qkv + b * T * 3 * d;
    f32 *dx = dqkv + b * T * 3 * d;
    for (int h = 0; h < H; h++) {
      const f32 *pb = p + (b * H + h) * T * T;
      zero(P, Tp * Tp);
      for (int i = 0; i < T; i++)
        for (int j = 0; j <= i; j++) P[i * Tp + j] = pb[i * T + j];
      load_block(x, 3 * d, h * hd, T, hd, scale, q, Tp, hdp);
      load_block(x, 3 * d, d + h * hd, T, hd, 1.0f, k, Tp, hdp);
      load_block_t(x, 3 * d, 2 * d + h * hd, T, hd, vT, Tp, hdp);
      load_block(dy + b * T * d, d, h * hd, T, hd, 1.0f, g, Tp, hdp);
      gemm(Tp, hdp, Tp, P, Tp, 1, g, hdp, o, hdp, FULL, UPPER); /* dv = Pᵀ·dy */
      store_block(o, Tp, hdp, 1.0f, dx, 3 * d, 2 * d + h * hd, T, hd);
      gemm(Tp, Tp, hdp, g, hdp, 0, vT, Tp, dS, Tp, LOWER, FULL); /* dP = dy·vᵀ, j < i0 + MR */
      for (int i = 0; i < T; i++) { /* dS = P ⊙ (dP − Σ_j dP ⊙ P), zero above the diagonal */
        f32 *ds = dS + i * Tp;
        const f32 *pr = P + i * Tp;
        f32 r = 0.0f;
        for (int j = 0; j <= i; j++) r += ds[j] * pr[j];
        for (int j = 0; j <= i; j++) ds[j] = pr[j] * (ds[j] - r);
        for (int j = i + 1; j < Tp; j++) ds[j] = 0.0f;
      }
      zero(dS + T * Tp, (Tp - T) * Tp);
      gemm(Tp, hdp, Tp, dS, Tp, 0, k, hdp, o, hdp, FULL, LOWER); /* dq = dS·k/√hd */
      store_block(o, Tp, hdp, scale, dx, 3 * d, h * hd, T, hd);
      gemm(Tp, hdp, Tp, dS, Tp, 1, q, hdp, o, hdp, FULL, UPPER); /* dk = dSᵀ·(q/√hd) */
      store_block(o, Tp, hdp, 1.0f, dx, 3 * d, d + h * hd, T, hd);
    }
  }
}
