#!/usr/bin/env bash
# actlab's offline GPU bundle: run it on a GPU node without internet, as one command.
#
#   bash DIR/run.sh LOGDIR [--quick]
#
# Unpacks Deno and the app (sources, the npm files they import, Tiny Shakespeare, Vulkan loader
# libraries, SwiftShader) into a fresh folder under /tmp, then, offline (deno --cached-only):
#   1. probes and prints the GPU adapters seen by ONNX Runtime and by Deno, the CUDA provider and
#      libraries, nvidia-smi, and which Vulkan driver the tests will use   -> LOGDIR/probe.txt
#   2. runs the GPU tests (tests/onnx/webgpu_test.ts, tests/onnx/cuda_test.ts) -> LOGDIR/tests.txt
#   3. runs bench/gpu.ts within the time left                              -> LOGDIR/bench.txt,
#                                                                              LOGDIR/bench.jsonl
# and writes LOGDIR/summary.txt; everything it prints is also in LOGDIR/run.log.
#
# --quick: one activation in the WebGPU tests and a 2-step `tiny` bench (the bundle's own test).
# Environment:
#   ACTLAB_RUN_CAP=480        seconds for the whole run (each step is stopped at its share)
#   ACTLAB_VULKAN=auto        auto | hardware | swiftshader: the WebGPU driver the tests use
#                             (auto: the hardware GPU, SwiftShader only when there is none)
#   ACTLAB_ORT_CUDA_DIR=DIR   a folder with ONNX Runtime 1.30's CUDA provider
#                             (libonnxruntime_providers_cuda.so, libonnxruntime_providers_shared.so)
#                             to test CUDA too; it is not in the bundle (hundreds of MB)
#   ACTLAB_KEEP=1             keep the unpacked folder
# Exit status: 0 when the tests pass and the bench finished; 1 otherwise; 2 when it cannot start.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if [ $# -lt 1 ]; then
  echo "usage: bash $0 LOGDIR [--quick]" >&2
  exit 2
fi
logdir=$1
quick=0
[ "${2:-}" = "--quick" ] && quick=1
cap=${ACTLAB_RUN_CAP:-480}
mkdir -p "$logdir" && logdir=$(cd "$logdir" && pwd) || exit 2
exec > >(tee -a "$logdir/run.log") 2>&1
start=$(date +%s)
elapsed() { echo $(($(date +%s) - start)); }
left() { echo $((cap - $(elapsed))); }
step() { echo "== $* ($(elapsed) s)"; }

work=$(mktemp -d /tmp/actlab-gpu.XXXXXX) || exit 2
cleanup() { [ "${ACTLAB_KEEP:-0}" = 1 ] || rm -rf "$work"; }
trap cleanup EXIT

# xz, else Python's lzma (a bare node has one of them far more often than zstd).
unxz_to() {
  if command -v xz >/dev/null 2>&1; then
    xz -dc "$1"
  elif command -v python3 >/dev/null 2>&1; then
    python3 -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), sys.stdout.buffer)' "$1"
  else
    echo "run.sh: needs xz or python3 to unpack" >&2
    return 2
  fi
}

step "unpacking into $work"
mkdir -p "$work/bin" "$work/lib" "$work/xdg" "$work/deno_dir" "$work/home"
chmod 700 "$work/xdg"
unxz_to "$here/deno.xz" >"$work/bin/deno" && chmod +x "$work/bin/deno" || exit 2
unxz_to "$here/app.tar.xz" | tar -x -C "$work" || exit 2
if command -v sha256sum >/dev/null 2>&1 && [ -f "$here/SHA256SUMS" ]; then
  (cd "$work" && sha256sum --quiet -c "$here/SHA256SUMS") || { echo "run.sh: checksum mismatch" >&2; exit 2; }
fi
app=$work/app

# Offline: Deno and the app never reach the network; caches live in the unpacked folder.
export PATH="$work/bin:$PATH" DENO_DIR="$work/deno_dir" DENO_NO_UPDATE_CHECK=1 NO_COLOR=1
export ACTLAB_DATA_DIR="$app/data" XDG_RUNTIME_DIR="$work/xdg"
export ACTLAB_SWIFTSHADER_ICD="${ACTLAB_SWIFTSHADER_ICD:-$app/vulkan/swiftshader/vk_swiftshader_icd.json}"
[ -w "${HOME:-/nonexistent}" ] || export HOME="$work/home"

# Vulkan: the loader (libvulkan1) and libglvnd's dispatcher (which NVIDIA's Vulkan driver needs)
# from the bundle, only where the system has none; NVIDIA's driver manifest where GPU containers
# mount it (/usr/local/nvidia), added to the loader's search path.
have_lib() {
  { ldconfig -p 2>/dev/null || /sbin/ldconfig -p 2>/dev/null; } | grep -q "[[:space:]]$1 " && return 0
  for d in /usr/lib/x86_64-linux-gnu /lib/x86_64-linux-gnu /usr/lib64 /usr/lib; do
    [ -e "$d/$1" ] && return 0
  done
  return 1
}
carried=""
for lib in libvulkan.so.1 libGLdispatch.so.0; do
  if ! have_lib "$lib" && [ -f "$app/vulkan/lib/$lib" ]; then
    cp "$app/vulkan/lib/$lib" "$work/lib/" && carried="$carried $lib"
  fi
done
export LD_LIBRARY_PATH="$work/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
[ -d /usr/local/nvidia/lib64 ] && export LD_LIBRARY_PATH="$LD_LIBRARY_PATH:/usr/local/nvidia/lib64"
if [ -d /usr/local/nvidia/share/vulkan/icd.d ]; then
  export XDG_DATA_DIRS="${XDG_DATA_DIRS:-/usr/local/share:/usr/share}:/usr/local/nvidia/share"
fi
echo "Vulkan libraries taken from the bundle:${carried:- none (the system has them)}"

# ONNX Runtime's CUDA provider, when one is supplied beside the bundle.
if [ -n "${ACTLAB_ORT_CUDA_DIR:-}" ]; then
  ortbin=$(echo "$app"/node_modules/.deno/onnxruntime-node@*/node_modules/onnxruntime-node/bin/napi-v6/linux/x64)
  for f in "$ACTLAB_ORT_CUDA_DIR"/libonnxruntime_providers_*.so; do
    [ -f "$f" ] && ln -sf "$f" "$ortbin/" && echo "CUDA provider: linked $f"
  done
fi

cd "$app" || exit 2
deno --version | head -n 1

step "probe"
timeout 120 deno run --cached-only -A tools/gpu_probe.ts 2>"$logdir/probe.stderr.txt" | tee "$logdir/probe.txt"
probe_status=${PIPESTATUS[0]}
rm -f "$logdir/probe.stderr.txt"

step "GPU tests"
tests_cap=$(($(left) * 55 / 100))
[ "$tests_cap" -lt 60 ] && tests_cap=60
test_env=()
[ "$quick" = 1 ] && test_env=(ACTLAB_WEBGPU_ACTIVATIONS=gelu)
env "${test_env[@]}" timeout -k 10 "$tests_cap" deno test --cached-only --no-check -A \
  tests/onnx/webgpu_test.ts tests/onnx/cuda_test.ts >"$logdir/tests.txt" 2>&1
tests_status=$?
[ "$tests_status" = 124 ] && echo "GPU tests stopped at their time cap ($tests_cap s)" >>"$logdir/tests.txt"
grep -E "^(ok|FAILED) \||WebGPU adapter:| \.\.\. (FAILED|ignored)" "$logdir/tests.txt" | head -n 20

step "bench/gpu.ts"
budget=$(($(left) - 15))
[ "$budget" -lt 30 ] && budget=30
if [ "$quick" = 1 ]; then
  bench_args=(--presets tiny --cpu-presets tiny --steps 2 --warmup 1 --engines ort-webgpu,ort-cuda,ort-cpu)
else
  bench_args=()
fi
rm -f "$logdir/bench.jsonl"
timeout -k 10 $((budget + 20)) deno run --cached-only -A bench/gpu.ts "${bench_args[@]}" \
  --budget "$budget" --timeout $((budget < 240 ? budget : 240)) --jsonl "$logdir/bench.jsonl" \
  2>&1 | tee "$logdir/bench.txt"
bench_status=${PIPESTATUS[0]}

step "summary"
{
  echo "actlab GPU bundle run, $(date -u +%Y-%m-%dT%H:%M:%SZ), $(elapsed) s of $cap"
  grep -E "^(Deno |ONNX Runtime WebGPU|Deno WebGPU|ONNX Runtime CUDA|CUDA libraries|nvidia-smi|GPU tests and|  there|WARNING)" "$logdir/probe.txt"
  echo "probe exit $probe_status"
  grep -E "WebGPU adapter:" "$logdir/tests.txt" | head -n 1
  grep -E "^(ok|FAILED) \|" "$logdir/tests.txt" | tail -n 1
  echo "tests exit $tests_status"
  grep -vE "^\s" "$logdir/bench.txt" | grep -E "ms/step|skipped|done in" || true
  echo "bench exit $bench_status"
} | tee "$logdir/summary.txt"

[ "$tests_status" = 0 ] && [ "$bench_status" = 0 ] && [ "$probe_status" = 0 ] && exit 0
exit 1
