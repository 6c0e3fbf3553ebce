#!/usr/bin/env bash
# The device check, in one run on a GPU machine (bench/gpu/README.md says how to run it):
#   1. node from .gpu/ if the machine has none; nvidia-smi
#   2. the addon: the one prepared in .gpu/ if it matches the sources and loads, else built here
#   3. bench/gpu/inspect.sh 90 (registers, spills, SASS), in the background
#   4. parity on 'cuda': fixtures, random cases, float16/bfloat16 (parity.mjs)
#   5. compute-sanitizer memcheck and racecheck on a small workload (sanitize.mjs)
#   6. benchmarks against PyTorch on the same GPU (ours_gpu.mjs, torch_gpu.py, report.mjs)
# Everything lands in the folder OUT names (at most 8 files): check.log, inspect.txt, parity.json, ours.jsonl,
# torch.jsonl, bench.json, bench.md. Exits non-zero when a correctness step fails; the
# benchmarks never fail the check.
#   bash bench/gpu/check.sh [--quick] [--dry-run]
# --quick: the issue's target cases only. --dry-run: the same steps on the CPU, without a GPU
# (no nvidia-smi, no sanitizer, tiny cases, PYTHON for a python with torch): a check of the
# script itself. CHECK_BUDGET_S (default 420) bounds the whole run; the benchmarks get what is
# left of it.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
ROOT=$PWD
OUT=${OUT:-/tmp/gpu-check-out}
mkdir -p "$OUT"
exec > >(tee -a "$OUT/check.log") 2>&1
BUDGET=${CHECK_BUDGET_S:-420}
QUICK="" DRY=""
for arg in "$@"; do
  case $arg in
    --quick) QUICK="--quick" ;;
    --dry-run) DRY="--tiny" ;;
  esac
done
DEVICE=cuda
[ -n "$DRY" ] && DEVICE=cpu
PYTHON=${PYTHON:-python3}
T0=$(date +%s)
elapsed() { echo $(($(date +%s) - T0)); }
step() { echo; echo "== [$(elapsed)s] $*"; }
status=0
fail() { echo "CHECK FAILED: $*"; status=1; }

step "node and GPU"
if ! command -v node >/dev/null; then
  mkdir -p /tmp/gpu-node/bin
  xz -dc .gpu/node.xz >/tmp/gpu-node/bin/node && chmod +x /tmp/gpu-node/bin/node
  export PATH=/tmp/gpu-node/bin:$PATH
fi
echo "node $(node --version), commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
if [ -z "$DRY" ]; then
  nvidia-smi
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.max.sm,power.limit --format=csv
fi

step "addon"
[ -d dist ] || cp -r .gpu/dist dist
loads() {
  [ -n "$DRY" ] && return 0
  node -e "import('./dist/esm/index.js').then((m) => process.exit(m.backendInfo().devices.length ? 0 : 3))"
}
if [ -z "$DRY" ] && [ "$(cat .gpu/addon.sha 2>/dev/null)" = "$(bash bench/gpu/source-hash.sh)" ]; then
  mkdir -p build/Release && cp .gpu/sparse_attention.node build/Release/
  loads && echo "using the addon prepared in .gpu/ (same sources)" || rm -f build/Release/sparse_attention.node
fi
if ! loads 2>/dev/null; then
  echo "building the addon here for sm_90"
  mkdir -p node_modules && rm -rf node_modules/node-addon-api && cp -r .gpu/node-addon-api node_modules/node-addon-api
  SPARSE_ATTENTION_CUDA_ARCHS=90 cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_JS_INC="$ROOT/.gpu/node-include" -DCMAKE_LIBRARY_OUTPUT_DIRECTORY="$ROOT/build/Release" >/dev/null &&
    cmake --build build -j 16 >"$OUT/build.txt" 2>&1 || { tail -n 40 "$OUT/build.txt"; fail "addon build"; }
  rm -f "$OUT/build.txt"
  loads || { fail "the addon does not load or sees no GPU"; exit 1; }
fi
node -e "import('./dist/esm/index.js').then((m) => console.log(JSON.stringify(m.backendInfo())))"

step "inspect (background)"
bash bench/gpu/inspect.sh 90 >"$OUT/inspect.txt" 2>&1 &
INSPECT_PID=$!

step "parity on $DEVICE"
timeout 150 node bench/gpu/parity.mjs --device "$DEVICE" --out "$OUT/parity.json" | grep -v '^ok ' || fail "parity"

step "compute-sanitizer"
sanitizer=$(command -v compute-sanitizer || echo /usr/local/cuda/bin/compute-sanitizer)
[ -n "$DRY" ] && sanitizer=""
for tool in memcheck racecheck; do
  timeout 120 ${sanitizer:+"$sanitizer" --tool "$tool" --error-exitcode 3 --print-limit 20} \
    node bench/gpu/sanitize.mjs --device "$DEVICE" || fail "compute-sanitizer $tool"
done

step "benchmarks"
node bench/gpu/cases.mjs $QUICK $DRY >/tmp/gpu-cases.json
left=$((BUDGET - $(elapsed) - 30))
[ $left -lt 60 ] && left=60
SPARSE_ATTENTION_DEVICE_TIMING=1 node bench/gpu/ours_gpu.mjs --device "$DEVICE" --cases /tmp/gpu-cases.json \
  --out "$OUT/ours.jsonl" --budget-s $((left * 3 / 10))
left=$((BUDGET - $(elapsed) - 25))
[ $left -lt 60 ] && left=60
PYTHONUNBUFFERED=1 "$PYTHON" bench/gpu/torch_gpu.py --device "$DEVICE" --cases /tmp/gpu-cases.json \
  --out "$OUT/torch.jsonl" --budget-s $left

step "inspect"
wait $INSPECT_PID || fail "inspect (spills, local memory or missing HMMA)"
tail -n 1 "$OUT/inspect.txt"

step "report"
if [ -z "$DRY" ]; then
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader >/tmp/gpu-name.txt
else
  echo "cpu (dry run), none, none" >/tmp/gpu-name.txt
fi
node -e "const [name, driver, memory] = require('fs').readFileSync('/tmp/gpu-name.txt', 'utf8').trim().split(', ');
  require('fs').writeFileSync('/tmp/gpu-meta.json', JSON.stringify({ gpu: name, driver, memory,
  commit: require('child_process').execSync('git rev-parse HEAD 2>/dev/null || echo unknown').toString().trim(),
  date: new Date().toISOString() }))"
node bench/gpu/report.mjs --cases /tmp/gpu-cases.json --ours "$OUT/ours.jsonl" --torch "$OUT/torch.jsonl" \
  --meta /tmp/gpu-meta.json --json "$OUT/bench.json" --md "$OUT/bench.md"
node -e "const p = require('$OUT/parity.json'); const f = p.results.filter((r) => !r.pass);
  console.log('parity: ' + (p.results.length - f.length) + ' passed, ' + f.length + ' failed');" 2>/dev/null
echo "== [$(elapsed)s] done, status $status"
exit $status
