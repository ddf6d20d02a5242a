/*
 * GELU (GPT-2's tanh form) and the head's row softmax as native code, the same float32
 * operations in the same order as the wasm kernels (wasm/pointwise.c), so the same bits:
 *   y  = x·σ(2u), 2u = x·(C + C·0.044715·x²), C = 2√(2/π)
 *   dx = dy·(σ + x·σ(1 − σ)·(C + 3C·0.044715·x²))
 * σ through e^−|z| with wasm's polynomial; round-to-nearest-even by adding and subtracting
 * 1.5·2²³ (exact for the |n| <= 126 used here), as f32x4.nearest does. Compiled once per
 * variant like products.c.
 */
#include <stdint.h>

#ifndef VW
#error "VW (floats per vector) must be defined"
#endif
#define CAT3(a, b, c) a##b##c
#define NAME3(a, b, c) CAT3(a, b, c)
#define FN(name) NAME3(pointwise_, VARIANT, _##name)

typedef float f32;
typedef f32 vf __attribute__((vector_size(VW * 4)));
typedef int32_t vi __attribute__((vector_size(VW * 4)));
typedef f32 vfu __attribute__((vector_size(VW * 4), aligned(4), may_alias));

static inline vf ld(const f32 *p) { return *(const vfu *)p; }
static inline void st(f32 *p, vf v) { *(vfu *)p = v; }
static inline vf splat(f32 x) { return (vf){0} + x; }
/* mask ? a : b, mask lanes all ones or all zeros (wasm_v128_bitselect) */
static inline vf sel(vi mask, vf a, vf b) { return (vf)(((vi)a & mask) | ((vi)b & ~mask)); }

#define GELU_C 1.5957691216057308f /* 2·√(2/π) */
#define GELU_A 0.044715f

/* e^x for x <= 0, as wasm/common.h's vexp */
static inline vf vexp(vf x) {
  x = sel(x < splat(-87.0f), splat(-87.0f), x);
  const vf magic = splat(12582912.0f); /* 1.5·2²³ */
  const vf n = (x * splat(1.44269504089f) + magic) - magic;
  vf r = x - n * splat(0.693145751953125f);
  r = r - n * splat(1.428606765330187e-06f);
  vf p = splat(1.0f / 5040);
  p = p * r + splat(1.0f / 720);
  p = p * r + splat(1.0f / 120);
  p = p * r + splat(1.0f / 24);
  p = p * r + splat(1.0f / 6);
  p = p * r + splat(0.5f);
  p = p * r + splat(1.0f);
  p = p * r + splat(1.0f);
  const vi two_n = (__builtin_convertvector(n, vi) + 127) << 23;
  return p * (vf)two_n;
}

static inline vf vsigmoid(vf z) {
  const vf e = vexp(-(vf)((vi)z & 0x7fffffff));
  const vf one = splat(1.0f), inv = one / (one + e);
  return sel(z >= splat(0.0f), inv, e * inv);
}

static inline vf gelu_sig(vf x) {
  const vf x2 = x * x;
  return vsigmoid(x * (x2 * splat(GELU_C * GELU_A) + splat(GELU_C)));
}

static inline vf gelu_grad(vf v, vf dyv) {
  const vf s = gelu_sig(v), x2 = v * v;
  const vf du = x2 * splat(3 * GELU_C * GELU_A) + splat(GELU_C);
  const vf ds = s * (splat(1.0f) - s);
  return dyv * (s + (v * ds) * du);
}

void FN(gelu_forward)(const f32 *x, f32 *y, long n) {
  long i = 0;
  for (; i + VW <= n; i += VW) {
    const vf v = ld(x + i);
    st(y + i, v * gelu_sig(v));
  }
  for (; i < n; i++) {
    const vf v = splat(x[i]);
    y[i] = (v * gelu_sig(v))[0];
  }
}

void FN(gelu_backward)(const f32 *x, const f32 *dy, f32 *dx, long n) {
  long i = 0;
  for (; i + VW <= n; i += VW) st(dx + i, gelu_grad(ld(x + i), ld(dy + i)));
  for (; i < n; i++) dx[i] = gelu_grad(splat(x[i]), splat(dy[i]))[0];
}

/*
 * Row softmax of x [N, V], as wasm/pointwise.c's softmax_rows: the same max (exact in any
 * order), the same e^(x − max) per element, and the row sum in the wasm kernel's order: 16
 * partial sums over j ≡ l (mod 16), here 16/VW vectors of VW lanes, then the same fixed
 * reduction, then the last V mod 16 elements in order.
 */
static inline f32 fmax2(f32 a, f32 b) { return b > a ? b : a; }

static inline f32 reduce16(f32 *S) {
  for (int h = 8; h >= 1; h >>= 1)
    for (int l = 0; l < h; l++) S[l] = S[l] + S[l + h];
  return S[0];
}

#define NACC (16 / VW)

void FN(softmax_rows)(const f32 *x, f32 *y, long N, long V) {
  const long V16 = V & ~15L;
  for (long i = 0; i < N; i++) {
    const f32 *xr = x + i * V;
    f32 *yr = y + i * V;
    f32 m = -__builtin_inff();
    long j = 0;
    vf mv = splat(-__builtin_inff());
    for (; j + VW <= V; j += VW) mv = sel(ld(xr + j) > mv, ld(xr + j), mv);
    for (int l = 0; l < VW; l++) m = fmax2(m, mv[l]);
    for (; j < V; j++) m = fmax2(m, xr[j]);
    const vf vm = splat(m);
    vf acc[NACC];
    for (int k = 0; k < NACC; k++) acc[k] = (vf){0};
    for (j = 0; j < V16; j += 16)
      for (int k = 0; k < NACC; k++) {
        const vf e = vexp(ld(xr + j + k * VW) - vm);
        st(yr + j + k * VW, e);
        acc[k] = acc[k] + e;
      }
    f32 S[16];
    for (int k = 0; k < NACC; k++) st(S + k * VW, acc[k]);
    f32 s = reduce16(S);
    for (j = V16; j < V; j++) {
      yr[j] = vexp(splat(xr[j]) - vm)[0];
      s += yr[j];
    }
    const f32 inv = 1.0f / s;
    const vf vinv = splat(inv);
    for (j = 0; j + VW <= V; j += VW) st(yr + j, ld(yr + j) * vinv);
    for (; j < V; j++) yr[j] = yr[j] * inv;
  }
}
