#!/usr/bin/env bash
# compute-sanitizer on every CUDA kernel, for a GPU machine. NOT YET RUN: it was written
# on a machine without a GPU; expect to fix small things on its first run.
#
# Runs bench/gpu/sanitize-workload.mjs (every kernel on small cases, the device-side failure
# paths, NaN inputs, an aborted request, 60 concurrent requests on the worker threads' streams,
# each compared with the CPU or with the same request run alone) under
#   memcheck  (--leak-check full: every device allocation freed once the pool is emptied),
#   racecheck (shared-memory hazards), synccheck (barrier misuse), initcheck (reads of
#   uninitialised device memory),
# then the same workload's --oom mode, with SPARSE_ATTENTION_CUDA_MEMORY_LIMIT=256m, under
# memcheck. Writes sanitize.log under $OUT (or gpu-out/) and exits non-zero on any finding.
#
# It needs the CUDA build of the addon in build/Release and the compiled TypeScript in dist/
# (copy both to the GPU machine, or bench/gpu's .gpu/ folder with node.xz, dist and
# sparse_attention.node), then, from the repository's root: bash bench/gpu/sanitize.sh
# About 2-4 minutes on an H100 (racecheck is the slow one); SANITIZE_TIMEOUT_S bounds each tool.
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-$PWD/gpu-out}
mkdir -p "$OUT"
exec > >(tee -a "$OUT/sanitize.log") 2>&1
limit=${SANITIZE_TIMEOUT_S:-150}

if ! command -v node >/dev/null; then
  mkdir -p /tmp/gpu-node/bin && xz -dc .gpu/node.xz >/tmp/gpu-node/bin/node && chmod +x /tmp/gpu-node/bin/node
  export PATH=/tmp/gpu-node/bin:$PATH
fi
[ -d dist ] || cp -r .gpu/dist dist
[ -f build/Release/sparse_attention.node ] || { mkdir -p build/Release && cp .gpu/sparse_attention.node build/Release/; }
echo "node $(node --version), commit $(git rev-parse --short HEAD 2>/dev/null || echo '?'), $(compute-sanitizer --version | tail -n 1)"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader

status=0
sanitize() {
  local tool=$1
  shift
  echo
  echo "== compute-sanitizer --tool $tool $*"
  timeout "$limit" compute-sanitizer --tool "$tool" --error-exitcode 3 --print-limit 20 "$@" || {
    echo "FINDING or FAILURE: $tool (exit $?)"
    status=1
  }
}
sanitize memcheck --leak-check full node --expose-gc bench/gpu/sanitize-workload.mjs
sanitize racecheck --racecheck-report all node --expose-gc bench/gpu/sanitize-workload.mjs
sanitize synccheck node --expose-gc bench/gpu/sanitize-workload.mjs
sanitize initcheck node --expose-gc bench/gpu/sanitize-workload.mjs
export SPARSE_ATTENTION_CUDA_MEMORY_LIMIT=256m
sanitize memcheck node --expose-gc bench/gpu/sanitize-workload.mjs --oom
unset SPARSE_ATTENTION_CUDA_MEMORY_LIMIT
echo
[ $status -eq 0 ] && echo "sanitize: clean" || echo "sanitize: findings above"
exit $status
