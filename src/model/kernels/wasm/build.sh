#!/usr/bin/env bash
# Rebuilds kernels.wasm (committed) from attention.c, products.c, pointwise.c and adamw.c: clang's wasm32 target with
# SIMD128 and bulk memory, no libc, importing tfjs-backend-wasm's memory (wasmKernels.ts
# instantiates it on that memory). The committed file was built with Debian 12's clang 14
# (apt-get install clang lld); test/wasm-kernels.test.ts rebuilds it with that clang and checks
# that the bytes match.
#   src/model/kernels/wasm/build.sh [out.wasm]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="${1:-$here/kernels.wasm}"
clang --target=wasm32 -O3 -msimd128 -mbulk-memory -nostdlib -Wall -Wextra -Werror \
  -Wl,--no-entry -Wl,--import-memory -Wl,--strip-all -o "$out" "$here/attention.c" "$here/products.c" "$here/pointwise.c" "$here/adamw.c"
