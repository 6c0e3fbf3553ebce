#!/usr/bin/env bash
# npm run test:asan: the test suite against the CPU kernels and the N-API glue built with
# AddressSanitizer and UndefinedBehaviorSanitizer (build-asan/, CPU only, -O1-ish debug info).
#
# Node itself is not instrumented: the ASan runtime is preloaded (LD_PRELOAD) so that it
# intercepts every allocation, the tests load the sanitized addon through SPARSE_ATTENTION_ADDON,
# and SPARSE_ATTENTION_SANITIZED=1 makes vitest run them in worker threads of its own process
# (so that LeakSanitizer checks it at exit; see vitest.config.ts) and the timing tests use
# smaller work. Reports go to log files; scripts/sanitizer-report.mjs then fails the run on any
# ASan or UBSan error, and on any leak whose allocation stack passes through this package (V8
# and Node keep some memory until exit by design; those leaks are counted and ignored).
#
# Extra arguments go to vitest (e.g. a test file). Needs g++ with libasan and libubsan.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
start=$(date +%s)

SPARSE_ATTENTION_NO_CUDA=1 npx cmake-js compile -O build-asan -B RelWithDebInfo --CDSA_SANITIZE=ON --log-level error
addon="$root/build-asan/RelWithDebInfo/sparse_attention.node"
built=$(date +%s)

logs="$root/build-asan/logs"
rm -rf "$logs" && mkdir -p "$logs"
set +e
SPARSE_ATTENTION_ADDON="$addon" SPARSE_ATTENTION_SANITIZED=1 \
  LD_PRELOAD="$(c++ -print-file-name=libasan.so)" \
  ASAN_OPTIONS="detect_leaks=1:log_path=$logs/asan:abort_on_error=1:strict_string_checks=1:check_initialization_order=1" \
  LSAN_OPTIONS="exitcode=0:suppressions=$root/scripts/lsan.supp" \
  UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$logs/ubsan" \
  NODE_OPTIONS="--expose-gc" \
  npx vitest run "$@" 2>&1 | tee "$logs/vitest.out"
status=${PIPESTATUS[0]}
set -e

node scripts/sanitizer-report.mjs "$logs" || status=1
end=$(date +%s)
echo "test:asan: build $((built - start)) s, tests and report $((end - built)) s, exit status $status"
exit $status
