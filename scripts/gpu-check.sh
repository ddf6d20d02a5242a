#!/usr/bin/env bash
# The prepared GPU check for the webgpu backend (issue 17): on a Linux machine with an NVIDIA GPU,
# run `chinchilla doctor`, then `chinchilla bench --backend webgpu` on the blog's three models
# (vocab 50257 = GPT-2 tokenizer, context 256, batch 32) and print tokens/s, achieved GFLOP/s and
# the fraction of the GPU's fp32 peak. WebGPU has no tensor cores and no TF32: fp32 FMA peak is
# the honest ceiling.
#
# Needs: Node >= 20 and this repo's node_modules (npm ci) on the machine, the NVIDIA driver with
# its Vulkan ICD, and the Vulkan loader libvulkan.so.1. Run from the repo root:
#     scripts/gpu-check.sh                  # all three models, 10 timed steps each
#     STEPS=5 MODELS="blog-64" scripts/gpu-check.sh
#     GPU_FP32_TFLOPS=67 scripts/gpu-check.sh   # a GPU missing from the peak table below
#     DATA_DIR=.gpucheck/data SWEEP_CHECK=1 scripts/gpu-check.sh   # + 20 training steps and the quick sweep on the GPU
# Output: one line per model, plus out/gpu-check/*.json (the bench results) under $OUT if set.
#
# On this workplace's lent NVIDIA machines (the device tool; its KINDS.md): the image has the
# driver but not always the loaders. Prepare once, here, in the repo root (KINDS.md's recipe):
#   mkdir -p .gl /tmp/amd64/partial          # (.gl/ is in .gitignore)
#   o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
#   apt-get $o update; (cd .gl && apt-get $o download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2)
# then carry `.gl`; this script unpacks .gl/*.deb itself and points Vulkan/EGL at the driver's
# files under /usr/local/nvidia when the standard places have none. KINDS.md lists no Node there: build
# .gpucheck/bundle.tar.xz here with scripts/gpu-bundle.sh and carry `.gpucheck` too. The call:
#   run(carry=['.gl', '.gpucheck'], timeout_s=540, command='scripts/gpu-check.sh 2>&1 | tee $OUT/gpu-check.log')
set -euo pipefail
cd "$(dirname "$0")/.."

STEPS="${STEPS:-10}"
WARMUP="${WARMUP:-3}"
MODELS="${MODELS:-blog-64 blog-128 blog-256}"
ADAPTER="${GPU_ADAPTER:-nvidia}" # --gpu-adapter: part of the adapter's name; never fall back to llvmpipe

# 1. Loader libraries (KINDS.md): unpack carried .debs, then check libvulkan.so.1.
if compgen -G ".gl/*.deb" >/dev/null; then
  for f in .gl/*.deb; do dpkg -x "$f" /; done
  ldconfig
fi
if ! ldconfig -p | grep -q 'libvulkan\.so\.1'; then
  echo "gpu-check: libvulkan.so.1 (the Vulkan loader) is missing: install libvulkan1, or carry .gl/ (see the top of this script)." >&2
fi
icd_found=0
for d in /usr/share/vulkan/icd.d /etc/vulkan/icd.d; do compgen -G "$d/nvidia*.json" >/dev/null && icd_found=1; done
if [ "$icd_found" = 0 ] && [ -f /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json ]; then
  export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
  export __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
fi
if [ "$icd_found" = 0 ] && [ -z "${VK_DRIVER_FILES:-}" ]; then
  echo "gpu-check: no NVIDIA Vulkan ICD (nvidia_icd.json) found; in Docker set NVIDIA_DRIVER_CAPABILITIES=compute,utility,graphics." >&2
fi

# Node and the CLI: this checkout's (npm ci), or the carried bundle from scripts/gpu-bundle.sh.
NODE=node
CLI=(bin/chinchilla.js)
if ! command -v node >/dev/null || [ ! -d node_modules/webgpu ]; then
  [ -f .gpucheck/bundle.tar.xz ] || { echo "gpu-check: no node (>= 20) with this repo's node_modules here, and no .gpucheck/bundle.tar.xz (make it with scripts/gpu-bundle.sh and carry .gpucheck)" >&2; exit 1; }
  mkdir -p /tmp/gpucheck && xz -dc .gpucheck/bundle.tar.xz | tar -C /tmp/gpucheck -xf -
  NODE=/tmp/gpucheck/node
  CLI=(/tmp/gpucheck/chinchilla.mjs)
fi
chinchilla() { "$NODE" "${CLI[@]}" "$@"; }

GPU_NAME="$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1 || true)"
echo "== nvidia-smi: ${GPU_NAME:-no GPU listed}"

# 2. doctor (the WebGPU adapters section says which adapter auto and --gpu-adapter would use)
chinchilla doctor || true

# 3. fp32 peak (TFLOP/s, boost clock, dense FMA) of common NVIDIA GPUs, from NVIDIA's datasheets.
peak_tflops() {
  case "$1" in
    *H200*|*H100*SXM*|*"H100 80GB HBM3"*) echo 67 ;;
    *H100*PCIe*|*"H100 PCIe"*) echo 51 ;;
    *H100*NVL*) echo 60 ;;
    *GH200*) echo 67 ;;
    *A100*) echo 19.5 ;;
    *L40S*) echo 91.6 ;;
    *L40*) echo 90.5 ;;
    *L4*) echo 30.3 ;;
    *A10G*) echo 31.2 ;;
    *A10*) echo 31.2 ;;
    *T4*) echo 8.1 ;;
    *V100*) echo 15.7 ;;
    *"RTX 4090"*) echo 82.6 ;;
    *"RTX 3090"*) echo 35.6 ;;
    *) echo "" ;;
  esac
}
PEAK="${GPU_FP32_TFLOPS:-$(peak_tflops "$GPU_NAME")}"

# 4. The blog's models (shapes here, so this script does not depend on config files that may move).
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
echo '{ "name": "blog-64",  "context": 256, "d_model": 64,  "n_layers": 4, "n_heads": 4 }' >"$tmp/blog-64.json"
echo '{ "name": "blog-128", "context": 256, "d_model": 128, "n_layers": 4, "n_heads": 4 }' >"$tmp/blog-128.json"
echo '{ "name": "blog-256", "context": 256, "d_model": 256, "n_layers": 6, "n_heads": 8 }' >"$tmp/blog-256.json"
results="${OUT:-$tmp}"
mkdir -p "$results"

printf '\n%-9s %12s %12s %10s %9s  %s\n' model params tokens/s GFLOP/s "% peak" device
for m in $MODELS; do
  json="$results/gpu-check-$m.json"
  if ! chinchilla bench --backend webgpu --gpu-adapter "$ADAPTER" --model "$tmp/$m.json" --tokenizer gpt2 \
    --batch 32 --steps "$STEPS" --warmup-steps "$WARMUP" --json >"$json" 2>"$tmp/gpu-check-$m.err"; then
    echo "$m: bench failed:"; grep -v '^Warning: ' "$tmp/gpu-check-$m.err" | tail -5
    continue
  fi
  PEAK="$PEAK" "$NODE" -e '
    const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    const peak = Number(process.env.PEAK);
    const frac = peak > 0 ? ((100 * r.gflops) / (peak * 1000)).toFixed(2) + "%" : "n/a";
    console.log(`${r.model.padEnd(9)} ${String(r.params_total).padStart(12)} ${String(r.tokens_per_s).padStart(12)} ${String(r.gflops).padStart(10)} ${frac.padStart(9)}  ${r.device} (micro-batch ${r.micro_batch}, ${r.ms_per_step} ms/step)`);
  ' "$json"
done
[ -n "$PEAK" ] && echo "fp32 peak used: $PEAK TFLOP/s ($GPU_NAME)" || echo "fp32 peak unknown for '$GPU_NAME': set GPU_FP32_TFLOPS"

# 5. Optional: the same 20 training steps on the GPU as on the CPU (DATA_DIR = a folder holding
#    wikitext-2/wiki.*.tokens[.gz], e.g. a copy of ../shared/datasets carried in .gpucheck/data).
#    Same seed, one worker, so the batches are the same; compare metrics.csv with a CPU run of
#    the printed command with --backend wasm: the losses should agree to float32 rounding.
if [ -n "${DATA_DIR:-}" ]; then
  train=(train --model "$tmp/blog-64.json" --tokenizer gpt2 --dataset wikitext-2-v1 --data-dir "$DATA_DIR"
    --workers 1 --steps 20 --batch 8 --lr 1e-3 --eval-interval 10 --eval-windows 16 --final-eval-windows 64)
  echo; echo "== chinchilla ${train[*]} --backend webgpu"
  if chinchilla "${train[@]}" --backend webgpu --gpu-adapter "$ADAPTER" --out "$tmp/gpu-train" >"$results/gpu-train.log" 2>&1; then
    cp "$tmp/gpu-train/metrics.csv" "$results/gpu-train-metrics.csv"
    cut -d, -f1,6,7,11 "$tmp/gpu-train/metrics.csv"
  else
    echo "training on the GPU failed:"; grep -v '^Warning: ' "$results/gpu-train.log" | tail -8
  fi
fi

# 6. Optional (SWEEP_CHECK=1, with DATA_DIR): the quick sweep end to end on the GPU (sweep, final
#    evaluations, fit, plots, report), its wall time and the report's summary table.
#    SWEEP_ARGS adds options (e.g. --dry-run to check the plan only).
if [ "${SWEEP_CHECK:-0}" = 1 ] && [ -n "${DATA_DIR:-}" ]; then
  echo; echo "== chinchilla sweep configs/sweep-quick.json --dataset wikitext-2-v1 --backend webgpu ${SWEEP_ARGS:-}"
  start=$(date +%s)
  # shellcheck disable=SC2086
  if WIKITEXT2_DIR="$DATA_DIR" chinchilla sweep configs/sweep-quick.json --dataset wikitext-2-v1 --backend webgpu \
    --gpu-adapter "$ADAPTER" --yes --out "$tmp/quick" ${SWEEP_ARGS:-} >"$results/gpu-sweep.log" 2>&1; then
    echo "sweep finished in $(( $(date +%s) - start )) s"
    grep -E '^(wall time|estimated wall)' "$results/gpu-sweep.log" || true
    if [ -f "$tmp/quick/report.md" ]; then
      cp "$tmp/quick/report.md" "$results/gpu-sweep-report.md"
      sed -n '/^| method/,/^Agreement/p' "$tmp/quick/report.md"
    fi
  else
    echo "the sweep failed:"; grep -v '^Warning: ' "$results/gpu-sweep.log" | tail -8
  fi
fi
