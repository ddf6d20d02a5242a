/*
 * Node-API binding of the native kernels (products.c, pointwise.c): they run on the
 * tfjs-backend-wasm heap, handed over as its ArrayBuffer with byte offsets, exactly where the
 * wasm kernels would run (wasmProducts.ts and wasmPointwise.ts pick one or the other; both
 * give the same bits).
 *   nn(heap, a, b, bias, c, M, K, N)   bias = 0: none
 *   tn(heap, a, b, c, K, M, N)
 *   geluForward(heap, x, y, n)
 *   geluBackward(heap, x, dy, dx, n)
 *   softmaxRows(heap, x, y, N, V)
 *   variant()                           the vector variant this CPU runs: "avx512", "avx2" or "generic"
 * Each call checks that every operand lies inside the heap. Scratch is one buffer per thread
 * (each worker thread runs its own products).
 */
#include <node_api.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef float f32;
typedef void (*nn_fn)(const f32 *, const f32 *, const f32 *, f32 *, int, int, int, f32 *);
typedef void (*tn_fn)(const f32 *, const f32 *, f32 *, int, int, int, f32 *);
typedef size_t (*work_fn)(void);
typedef void (*gelu_f_fn)(const f32 *, f32 *, long);
typedef void (*gelu_b_fn)(const f32 *, const f32 *, f32 *, long);
typedef void (*softmax_fn)(const f32 *, f32 *, long, long);

#define DECLARE(v)                                                                    \
  void products_##v##_nn(const f32 *, const f32 *, const f32 *, f32 *, int, int, int, f32 *); \
  void products_##v##_tn(const f32 *, const f32 *, f32 *, int, int, int, f32 *);      \
  size_t products_##v##_work_floats(void);                                              \
  void pointwise_##v##_gelu_forward(const f32 *, f32 *, long);                         \
  void pointwise_##v##_gelu_backward(const f32 *, const f32 *, f32 *, long);           \
  void pointwise_##v##_softmax_rows(const f32 *, f32 *, long, long);
DECLARE(generic)
#ifdef HAVE_AVX2
DECLARE(avx2)
#endif
#ifdef HAVE_AVX512
DECLARE(avx512)
#endif

static struct { const char *name; nn_fn nn; tn_fn tn; work_fn work; gelu_f_fn gelu_f; gelu_b_fn gelu_b; softmax_fn softmax; } impl;

#define USE(v) \
  impl.name = #v, impl.nn = products_##v##_nn, impl.tn = products_##v##_tn, impl.work = products_##v##_work_floats, \
  impl.gelu_f = pointwise_##v##_gelu_forward, impl.gelu_b = pointwise_##v##_gelu_backward,                        \
  impl.softmax = pointwise_##v##_softmax_rows

/* The widest variant this CPU runs, unless CHINCHILLA_NATIVE_VARIANT names a narrower one. */
static void choose(void) {
  const char *want = getenv("CHINCHILLA_NATIVE_VARIANT");
  USE(generic);
  if (want && !strcmp(want, "generic")) return;
#ifdef HAVE_AVX512
  if ((!want || !strcmp(want, "avx512")) && __builtin_cpu_supports("avx512f")) {
    USE(avx512);
    return;
  }
#endif
#ifdef HAVE_AVX2
  if (__builtin_cpu_supports("avx2")) USE(avx2);
#endif
}

static pthread_once_t chosen = PTHREAD_ONCE_INIT;
static _Thread_local f32 *scratch;

/* at a worker thread's (or the main thread's) teardown */
static void free_scratch(void *unused) {
  (void)unused;
  free(scratch);
  scratch = NULL;
}

static f32 *work(void) {
  if (!scratch) scratch = aligned_alloc(64, (impl.work() * sizeof(f32) + 63) & ~(size_t)63);
  return scratch;
}

/* One call's arguments: the heap (base and size) and v[1..n) as non-negative integers. */
struct call {
  uint8_t *h;
  size_t bytes;
  int64_t v[8];
};

/* Reads argv[0] as the heap and argv[1..n) as non-negative int32s into c; throws (returns 0) on a bad argument. */
static int args(napi_env env, napi_callback_info info, size_t n, struct call *c) {
  napi_value argv[8];
  size_t argc = 8;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != n) {
    napi_throw_error(env, NULL, "chinchilla native kernels: wrong number of arguments");
    return 0;
  }
  void *data;
  bool ab = false;
  napi_is_arraybuffer(env, argv[0], &ab);
  if (!ab || napi_get_arraybuffer_info(env, argv[0], &data, &c->bytes) != napi_ok) {
    napi_throw_type_error(env, NULL, "chinchilla native kernels: the first argument must be the wasm heap's ArrayBuffer");
    return 0;
  }
  c->h = data;
  for (size_t i = 1; i < n; i++) {
    int32_t x;
    if (napi_get_value_int32(env, argv[i], &x) != napi_ok || x < 0) {
      napi_throw_type_error(env, NULL, "chinchilla native kernels: offsets and sizes must be non-negative integers");
      return 0;
    }
    c->v[i] = x;
  }
  return 1;
}

/* Whether `floats` float32s from byte `off` lie inside the heap, 4-byte aligned. */
static int inside(const struct call *c, int64_t off, int64_t floats) { return off % 4 == 0 && off + floats * 4 <= (int64_t)c->bytes; }

/* The float32 array at byte `off` of the call's heap. */
#define AT(c, off) ((f32 *)((c).h + (off)))

static napi_value outside(napi_env env) {
  napi_throw_range_error(env, NULL, "chinchilla native kernels: an operand lies outside the wasm heap");
  return NULL;
}

static napi_value nn(napi_env env, napi_callback_info info) {
  struct call c;
  if (!args(env, info, 8, &c)) return NULL;
  const int64_t a = c.v[1], b = c.v[2], bias = c.v[3], out = c.v[4], M = c.v[5], K = c.v[6], N = c.v[7];
  if (!inside(&c, a, M * K) || !inside(&c, b, K * N) || (bias && !inside(&c, bias, N)) || !inside(&c, out, M * N)) return outside(env);
  f32 *w = work();
  if (!w) return napi_throw_error(env, NULL, "chinchilla native kernels: out of memory for scratch"), NULL;
  impl.nn(AT(c, a), AT(c, b), bias ? AT(c, bias) : NULL, AT(c, out), (int)M, (int)K, (int)N, w);
  return NULL;
}

static napi_value tn(napi_env env, napi_callback_info info) {
  struct call c;
  if (!args(env, info, 7, &c)) return NULL;
  const int64_t a = c.v[1], b = c.v[2], out = c.v[3], K = c.v[4], M = c.v[5], N = c.v[6];
  if (!inside(&c, a, K * M) || !inside(&c, b, K * N) || !inside(&c, out, M * N)) return outside(env);
  f32 *w = work();
  if (!w) return napi_throw_error(env, NULL, "chinchilla native kernels: out of memory for scratch"), NULL;
  impl.tn(AT(c, a), AT(c, b), AT(c, out), (int)K, (int)M, (int)N, w);
  return NULL;
}

static napi_value gelu_forward(napi_env env, napi_callback_info info) {
  struct call c;
  if (!args(env, info, 4, &c)) return NULL;
  const int64_t x = c.v[1], y = c.v[2], n = c.v[3];
  if (!inside(&c, x, n) || !inside(&c, y, n)) return outside(env);
  impl.gelu_f(AT(c, x), AT(c, y), (long)n);
  return NULL;
}

static napi_value gelu_backward(napi_env env, napi_callback_info info) {
  struct call c;
  if (!args(env, info, 5, &c)) return NULL;
  const int64_t x = c.v[1], dy = c.v[2], dx = c.v[3], n = c.v[4];
  if (!inside(&c, x, n) || !inside(&c, dy, n) || !inside(&c, dx, n)) return outside(env);
  impl.gelu_b(AT(c, x), AT(c, dy), AT(c, dx), (long)n);
  return NULL;
}

static napi_value softmax_rows(napi_env env, napi_callback_info info) {
  struct call c;
  if (!args(env, info, 5, &c)) return NULL;
  const int64_t x = c.v[1], y = c.v[2], N = c.v[3], V = c.v[4];
  if (!inside(&c, x, N * V) || !inside(&c, y, N * V)) return outside(env);
  impl.softmax(AT(c, x), AT(c, y), (long)N, (long)V);
  return NULL;
}

static napi_value variant(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value s;
  napi_create_string_utf8(env, impl.name, NAPI_AUTO_LENGTH, &s);
  return s;
}

NAPI_MODULE_INIT() {
  pthread_once(&chosen, choose);
  napi_add_env_cleanup_hook(env, free_scratch, NULL);
  const napi_property_descriptor props[] = {
    {"nn", NULL, nn, NULL, NULL, NULL, napi_enumerable, NULL},
    {"tn", NULL, tn, NULL, NULL, NULL, napi_enumerable, NULL},
    {"geluForward", NULL, gelu_forward, NULL, NULL, NULL, napi_enumerable, NULL},
    {"geluBackward", NULL, gelu_backward, NULL, NULL, NULL, napi_enumerable, NULL},
    {"softmaxRows", NULL, softmax_rows, NULL, NULL, NULL, napi_enumerable, NULL},
    {"variant", NULL, variant, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}
