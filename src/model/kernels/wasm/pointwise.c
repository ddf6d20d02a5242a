/*
 * LayerNorm and GELU, forward and backward, and the head's row softmax, one pass over the rows each (ops.ts built
 * them from 6–12 tfjs kernels apiece). Same equations as ops.ts's layerNorm and gelu:
 *
 *   layernorm  xhat = (x − mean)·rstd, rstd = 1/√(var + eps), y = xhat·g + b     x [N, d]
 *              dxhat = dy·g, dx = rstd·(dxhat − mean(dxhat) − xhat·mean(dxhat·xhat)),
 *              dg = Σ_rows dy·xhat, db = Σ_rows dy
 *   gelu       y = x·σ(2u), 2u = x·(C + C·0.044715·x²), C = 2√(2/π)   (GPT-2's tanh form)
 *              dx = dy·(σ + x·σ(1 − σ)·(C + 3C·0.044715·x²))
 *
 * Row-major float32; vectors along the row, the last d mod 4 columns one by one.
 */
#include "common.h"

/* Σ of a vector's four lanes, in a fixed order. */
static inline f32 hsum(v128_t v) {
  return (wasm_f32x4_extract_lane(v, 0) + wasm_f32x4_extract_lane(v, 1)) + (wasm_f32x4_extract_lane(v, 2) + wasm_f32x4_extract_lane(v, 3));
}

/* b may be 0 (no bias). Writes y, xhat [N, d] and rstd [N]. */
EXPORT(layernorm_forward)
void layernorm_forward(const f32 *x, const f32 *g, const f32 *b, f32 *y, f32 *xhat, f32 *rstd, int N, int d, f32 eps) {
  const int d4 = d & ~3;
  const f32 inv_d = 1.0f / (f32)d;
  for (int i = 0; i < N; i++) {
    const f32 *xr = x + i * d;
    f32 *yr = y + i * d, *hr = xhat + i * d;
    v128_t acc = wasm_f32x4_splat(0);
    for (int j = 0; j < d4; j += 4) acc = wasm_f32x4_add(acc, wasm_v128_load(xr + j));
    f32 s = hsum(acc);
    for (int j = d4; j < d; j++) s += xr[j];
    const f32 mean = s * inv_d;
    const v128_t vm = wasm_f32x4_splat(mean);
    acc = wasm_f32x4_splat(0);
    for (int j = 0; j < d4; j += 4) {
      const v128_t c = wasm_f32x4_sub(wasm_v128_load(xr + j), vm);
      acc = wasm_f32x4_add(acc, wasm_f32x4_mul(c, c));
    }
    f32 ss = hsum(acc);
    for (int j = d4; j < d; j++) ss += (xr[j] - mean) * (xr[j] - mean);
    const f32 r = 1.0f / __builtin_sqrtf(ss * inv_d + eps);
    rstd[i] = r;
    const v128_t vr = wasm_f32x4_splat(r);
    for (int j = 0; j < d4; j += 4) {
      const v128_t h = wasm_f32x4_mul(wasm_f32x4_sub(wasm_v128_load(xr + j), vm), vr);
      wasm_v128_store(hr + j, h);
      v128_t o = wasm_f32x4_mul(h, wasm_v128_load(g + j));
      if (b) o = wasm_f32x4_add(o, wasm_v128_load(b + j));
      wasm_v128_store(yr + j, o);
    }
    for (int j = d4; j < d; j++) {
      hr[j] = (xr[j] - mean) * r;
      yr[j] = b ? hr[j] * g[j] + b[j] : hr[j] * g[j];
    }
  }
}

/* db may be 0 (no bias). Writes dx [N, d], dg [d] and db [d]. */
EXPORT(layernorm_backward)
void layernorm_backward(const f32 *dy, const f32 *xhat, const f32 *rstd, const f32 *g, f32 *dx, f32 *dg, f32 *db, int N, int d) {
  const int d4 = d & ~3;
  const f32 inv_d = 1.0f / (f32)d;
  zero(dg, d);
  if (db) zero(db, d);
  for (int i = 0; i < N; i++) {
    const f32 *dyr = dy + i * d, *hr = xhat + i * d;
    f32 *dxr = dx + i * d;
    v128_t a1 = wasm_f32x4_splat(0), a2 = a1;
    for (int j = 0; j < d4; j += 4) {
      const v128_t dh = wasm_f32x4_mul(wasm_v128_load(dyr + j), wasm_v128_load(g + j));
      a1 = wasm_f32x4_add(a1, dh);
      a2 = wasm_f32x4_add(a2, wasm_f32x4_mul(dh, wasm_v128_load(hr + j)));
    }
    f32 s1 = hsum(a1), s2 = hsum(a2);
    for (int j = d4; j < d; j++) {
      const f32 dh = dyr[j] * g[j];
      s1 += dh;
      s2 += dh * hr[j];
    }
    const f32 m1 = s1 * inv_d, m2 = s2 * inv_d, r = rstd[i];
    const v128_t vm1 = wasm_f32x4_splat(m1), vm2 = wasm_f32x4_splat(m2), vr = wasm_f32x4_splat(r);
    for (int j = 0; j < d4; j += 4) {
      const v128_t dyv = wasm_v128_load(dyr + j), h = wasm_v128_load(hr + j);
      const v128_t dh = wasm_f32x4_mul(dyv, wasm_v128_load(g + j));
      wasm_v128_store(dxr + j, wasm_f32x4_mul(vr, wasm_f32x4_sub(wasm_f32x4_sub(dh, vm1), wasm_f32x4_mul(h, vm2))));
      wasm_v128_store(dg + j, wasm_f32x4_add(wasm_v128_load(dg + j), wasm_f32x4_mul(dyv, h)));
      if (db) wasm_v128_store(db + j, wasm_f32x4_add(wasm_v128_load(db + j), dyv));
    }
    for (int j = d4; j < d; j++) {
      const f32 dh = dyr[j] * g[j];
      dxr[j] = r * ((dh - m1) - hr[j] * m2);
      dg[j] += dyr[j] * hr[j];
      if (db) db[j] += dyr[j];
    }
  }
}

#define GELU_C 1.5957691216057308f /* 2·√(2/π) */
#define GELU_A 0.044715f

/* σ(z) = 1/(1 + e^−z), through e^−|z| <= 1 so that nothing overflows. */
static inline v128_t vsigmoid(v128_t z) {
  const v128_t e = vexp(wasm_f32x4_neg(wasm_f32x4_abs(z)));
  const v128_t one = wasm_f32x4_splat(1.0f), inv = wasm_f32x4_div(one, wasm_f32x4_add(one, e));
  return wasm_v128_bitselect(inv, wasm_f32x4_mul(e, inv), wasm_f32x4_ge(z, wasm_f32x4_splat(0)));
}

/* σ(2u) for 4 values of x. */
static inline v128_t gelu_sig(v128_t x) {
  const v128_t x2 = wasm_f32x4_mul(x, x);
  return vsigmoid(wasm_f32x4_mul(x, wasm_f32x4_add(wasm_f32x4_mul(x2, wasm_f32x4_splat(GELU_C * GELU_A)), wasm_f32x4_splat(GELU_C))));
}

/* One value through the vector path (the tail of n mod 4), so every element gets the same bits. */
static inline f32 lane0(v128_t v) { return wasm_f32x4_extract_lane(v, 0); }

EXPORT(gelu_forward)
void gelu_forward(const f32 *x, f32 *y, int n) {
  const int n4 = n & ~3;
  for (int i = 0; i < n4; i += 4) {
    const v128_t v = wasm_v128_load(x + i);
    wasm_v128_store(y + i, wasm_f32x4_mul(v, gelu_sig(v)));
  }
  for (int i = n4; i < n; i++) {
    const v128_t v = wasm_f32x4_splat(x[i]);
    y[i] = lane0(wasm_f32x4_mul(v, gelu_sig(v)));
  }
}

static inline v128_t gelu_grad(v128_t v, v128_t dyv) {
  const v128_t s = gelu_sig(v), x2 = wasm_f32x4_mul(v, v);
  const v128_t du = wasm_f32x4_add(wasm_f32x4_mul(x2, wasm_f32x4_splat(3 * GELU_C * GELU_A)), wasm_f32x4_splat(GELU_C));
  const v128_t ds = wasm_f32x4_mul(s, wasm_f32x4_sub(wasm_f32x4_splat(1.0f), s));
  return wasm_f32x4_mul(dyv, wasm_f32x4_add(s, wasm_f32x4_mul(wasm_f32x4_mul(v, ds), du)));
}

EXPORT(gelu_backward)
void gelu_backward(const f32 *x, const f32 *dy, f32 *dx, int n) {
  const int n4 = n & ~3;
  for (int i = 0; i < n4; i += 4) wasm_v128_store(dx + i, gelu_grad(wasm_v128_load(x + i), wasm_v128_load(dy + i)));
  for (int i = n4; i < n; i++) dx[i] = lane0(gelu_grad(wasm_f32x4_splat(x[i]), wasm_f32x4_splat(dy[i])));
}

/*
 * softmax  y = e^(x − max) / Σ e^(x − max) over each row of x [N, V] (the output head's P).
 * The row sum has a fixed order that any vector width can follow (native/pointwise.c does,
 * for the same bits): 16 partial sums S_l = Σ e_j over j ≡ l (mod 16), j < V − V mod 16, each
 * in increasing j; then (S_l + S_{l+8}), (· + ·_{l+4}), (· + ·_{l+2}), (· + ·_{l+1}) down to one
 * number; then the last V mod 16 elements in order. 16 chains: the adds keep up with e^x.
 */
static inline f32 fmax2(f32 a, f32 b) { return b > a ? b : a; }

/* The fixed reduction of the 16 partial sums (S[l] for l < 16; S is overwritten). */
static inline f32 reduce16(f32 *S) {
  for (int h = 8; h >= 1; h >>= 1)
    for (int l = 0; l < h; l++) S[l] = S[l] + S[l + h];
  return S[0];
}

EXPORT(softmax_rows)
void softmax_rows(const f32 *x, f32 *y, int N, int V) {
  const int V4 = V & ~3, V16 = V & ~15;
  for (int i = 0; i < N; i++) {
    const f32 *xr = x + (long)i * V;
    f32 *yr = y + (long)i * V;
    v128_t m4 = wasm_f32x4_splat(-__builtin_inff());
    for (int j = 0; j < V4; j += 4) m4 = wasm_f32x4_pmax(m4, wasm_v128_load(xr + j)); /* m4 < x ? x : m4 */
    const f32 m01 = fmax2(wasm_f32x4_extract_lane(m4, 0), wasm_f32x4_extract_lane(m4, 1));
    f32 m = fmax2(m01, fmax2(wasm_f32x4_extract_lane(m4, 2), wasm_f32x4_extract_lane(m4, 3)));
    for (int j = V4; j < V; j++) m = fmax2(m, xr[j]);
    const v128_t vm = wasm_f32x4_splat(m);
    v128_t a0 = wasm_f32x4_splat(0), a1 = a0, a2 = a0, a3 = a0; /* S_0..3, S_4..7, S_8..11, S_12..15 */
    for (int j = 0; j < V16; j += 16) {
      const v128_t e0 = vexp(wasm_f32x4_sub(wasm_v128_load(xr + j), vm)), e1 = vexp(wasm_f32x4_sub(wasm_v128_load(xr + j + 4), vm));
      const v128_t e2 = vexp(wasm_f32x4_sub(wasm_v128_load(xr + j + 8), vm)), e3 = vexp(wasm_f32x4_sub(wasm_v128_load(xr + j + 12), vm));
      wasm_v128_store(yr + j, e0), wasm_v128_store(yr + j + 4, e1), wasm_v128_store(yr + j + 8, e2), wasm_v128_store(yr + j + 12, e3);
      a0 = wasm_f32x4_add(a0, e0), a1 = wasm_f32x4_add(a1, e1), a2 = wasm_f32x4_add(a2, e2), a3 = wasm_f32x4_add(a3, e3);
    }
    f32 S[16];
    wasm_v128_store(S, a0), wasm_v128_store(S + 4, a1), wasm_v128_store(S + 8, a2), wasm_v128_store(S + 12, a3);
    f32 s = reduce16(S);
    for (int j = V16; j < V; j++) {
      yr[j] = lane0(vexp(wasm_f32x4_sub(wasm_f32x4_splat(xr[j]), vm)));
      s += yr[j];
    }
    const f32 inv = 1.0f / s;
    const v128_t vinv = wasm_f32x4_splat(inv);
    for (int j = 0; j < V4; j += 4) wasm_v128_store(yr + j, wasm_f32x4_mul(wasm_v128_load(yr + j), vinv));
    for (int j = V4; j < V; j++) yr[j] = yr[j] * inv;
  }
}
