#!/usr/bin/env bash
# Packs what scripts/gpu-check.sh needs on a machine that has an NVIDIA GPU but neither Node nor
# this repo's node_modules (this workplace's lent GPU machines: a Python/CUDA image, no network),
# into one file small enough to carry: .gpucheck/bundle.tar.xz (32 MB as built here) holding
#   node              this machine's Node binary (linux-x64)
#   chinchilla.mjs    the CLI bundled by esbuild (tfjs, yargs, zod, tokenizers … inside)
#   node_modules/     only what cannot be bundled: webgpu (dawn.node for linux-x64), @resvg and
#                     fast-crc32c (loads its implementation by a dynamic require)
# (no wasm backend inside: doctor shows it failing there, which does not matter for the GPU check)
# gpu-check.sh unpacks it to /tmp when node or node_modules are missing. Build it here, from the
# repo root, after `npm ci`:   scripts/gpu-bundle.sh
# (.gitignore keeps .gpucheck/ and .gl/ out of git; the device tool carries ignored paths by name)
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(uname -m)" = x86_64 ] || { echo "gpu-bundle: build it on x86-64 (the GPU machine's processor)" >&2; exit 1; }
[ -f node_modules/webgpu/dist/linux-x64/dawn.node ] || { echo "gpu-bundle: node_modules/webgpu missing: run 'npm ci'" >&2; exit 1; }

stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
cat >"$stage/entry.mjs" <<EOF
import { main } from '$PWD/src/cli/index.ts';
await main(process.argv.slice(2));
EOF
npx esbuild "$stage/entry.mjs" --bundle --platform=node --format=esm --target=node20 --log-level=warning \
  --outfile="$stage/out/chinchilla.mjs" \
  --external:webgpu --external:@resvg/resvg-js --external:fast-crc32c --external:@tensorflow/tfjs-node --external:@tensorflow/tfjs-node-gpu \
  --banner:js="import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);"
mkdir -p "$stage/out/node_modules/webgpu/dist" "$stage/out/node_modules/@resvg"
cp node_modules/webgpu/index.js node_modules/webgpu/package.json "$stage/out/node_modules/webgpu/"
cp -r node_modules/webgpu/dist/linux-x64 "$stage/out/node_modules/webgpu/dist/"
cp -r node_modules/@resvg/resvg-js node_modules/@resvg/resvg-js-linux-x64-gnu "$stage/out/node_modules/@resvg/"
# fast-crc32c (tfrecord's CRC, for --tensorboard) picks its implementation by require() of relative paths
cp -r node_modules/fast-crc32c "$stage/out/node_modules/"
# the wasm backend's own kernels, found next to the bundle (src/model/kernels/wasmKernels.ts)
mkdir -p "$stage/out/wasm" && cp src/model/kernels/wasm/kernels.wasm "$stage/out/wasm/"
cp "$(command -v node)" "$stage/out/node"
mkdir -p .gpucheck
tar -C "$stage/out" -cf - . | xz -6 -T0 >.gpucheck/bundle.tar.xz
ls -la .gpucheck/bundle.tar.xz
