/*
 * One AdamW update of one parameter tensor (train/adamw.ts), in the same float32
 * operations, in the same order, as the tfjs ops there, so that it gives the same bits:
 *   m' = m·β1 + g·(1 − β1)
 *   v' = v·β2 + g²·(1 − β2)
 *   p' = p·decay − ((m'/bc1) / (√(v'/bc2) + ε))·lr        decay = 1 − lr·wd, or 1
 * The scalars come from the caller already rounded to float32, as tfjs's scalar tensors are.
 */
#include "common.h"

EXPORT(adamw_update)
void adamw_update(const f32 *p, const f32 *g, const f32 *m, const f32 *v, f32 *p_out, f32 *m_out, f32 *v_out, int n, f32 beta1,
                  f32 one_minus_beta1, f32 beta2, f32 one_minus_beta2, f32 bc1, f32 bc2, f32 eps, f32 lr, f32 decay) {
  const int n4 = n & ~3;
  const v128_t b1 = wasm_f32x4_splat(beta1), c1 = wasm_f32x4_splat(one_minus_beta1), b2 = wasm_f32x4_splat(beta2),
               c2 = wasm_f32x4_splat(one_minus_beta2), vbc1 = wasm_f32x4_splat(bc1), vbc2 = wasm_f32x4_splat(bc2),
               veps = wasm_f32x4_splat(eps), vlr = wasm_f32x4_splat(lr), vdecay = wasm_f32x4_splat(decay);
  for (int i = 0; i < n4; i += 4) {
    const v128_t gi = wasm_v128_load(g + i);
    const v128_t mi = wasm_f32x4_add(wasm_f32x4_mul(wasm_v128_load(m + i), b1), wasm_f32x4_mul(gi, c1));
    const v128_t vi = wasm_f32x4_add(wasm_f32x4_mul(wasm_v128_load(v + i), b2), wasm_f32x4_mul(wasm_f32x4_mul(gi, gi), c2));
    const v128_t up = wasm_f32x4_div(wasm_f32x4_div(mi, vbc1), wasm_f32x4_add(wasm_f32x4_sqrt(wasm_f32x4_div(vi, vbc2)), veps));
    wasm_v128_store(m_out + i, mi);
    wasm_v128_store(v_out + i, vi);
    wasm_v128_store(p_out + i, wasm_f32x4_sub(wasm_f32x4_mul(wasm_v128_load(p + i), vdecay), wasm_f32x4_mul(up, vlr)));
  }
  for (int i = n4; i < n; i++) {
    const f32 mi = m[i] * beta1 + g[i] * one_minus_beta1;
    const f32 vi = v[i] * beta2 + (g[i] * g[i]) * one_minus_beta2;
    const f32 up = (mi / bc1) / (__builtin_sqrtf(vi / bc2) + eps);
    m_out[i] = mi;
    v_out[i] = vi;
    p_out[i] = p[i] * decay - up * lr;
  }
}
