#!/usr/bin/env bash
# npm run test:cuda-emu: every CUDA kernel and the whole CUDA path of every op, executed on the
# emulated CUDA device (cuda/emulator/) on a machine without a GPU.
#
# build-emu/ is the addon with cuda/*.cu compiled as C++ against the emulator, everything built
# with AddressSanitizer and UndefinedBehaviorSanitizer (an out-of-bounds access to global or
# shared memory in a kernel is a heap overflow naming the kernel). The test suite then runs
# against it with the device visible as `cuda`, every kernel launch run under two thread
# schedules whose results must be bit-identical (SPARSE_ATTENTION_EMU_SEED and
# SPARSE_ATTENTION_EMU_SEED2), then bench/gpu/parity.mjs on the device. Every launch is recorded:
# build-emu/kernel-coverage.txt lists each kernel with its launch count, and the run fails if a
# __global__ function of cuda/ was never launched.
#
# Extra arguments go to vitest (a test file, say); coverage is then reported but not enforced.
# Needs g++ with libasan/libubsan, the CUDA toolkit's headers, and Boost.Context (installed
# here from Debian's libboost-context-dev when missing and this runs as root).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
start=$(date +%s)

if [ ! -f /usr/include/boost/context/fiber.hpp ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "test:cuda-emu: installing libboost-context-dev (Boost.Context, the emulator's fibers)"
    apt-get install -y -qq libboost-context-dev >/dev/null 2>&1 ||
      { apt-get update -qq >/dev/null && apt-get install -y -qq libboost-context-dev >/dev/null; }
  else
    echo "test:cuda-emu: needs Boost.Context (Debian/Ubuntu: apt-get install libboost-context-dev)" >&2
    exit 1
  fi
fi

npx cmake-js compile -O build-emu -B RelWithDebInfo --CDSA_CUDA_EMULATION=ON --CDSA_SANITIZE=ON --log-level error
addon="$root/build-emu/RelWithDebInfo/sparse_attention.node"
built=$(date +%s)

node scripts/emulator-selftest.mjs "$root/build-emu/emulator_selftest"

logs="$root/build-emu/logs"
coverage="$root/build-emu/launches"
rm -rf "$logs" "$coverage" && mkdir -p "$logs" "$coverage"
export SPARSE_ATTENTION_ADDON="$addon" SPARSE_ATTENTION_SANITIZED=1 SPARSE_ATTENTION_EMULATED_CUDA=1
export SPARSE_ATTENTION_EMU_CHECK_SCHEDULES=1 SPARSE_ATTENTION_EMU_SEED="${SPARSE_ATTENTION_EMU_SEED:-1}"
export SPARSE_ATTENTION_EMU_SEED2="${SPARSE_ATTENTION_EMU_SEED2:-2}" SPARSE_ATTENTION_EMU_COVERAGE_DIR="$coverage"
export LD_PRELOAD="$(c++ -print-file-name=libasan.so)"
export ASAN_OPTIONS="detect_leaks=1:log_path=$logs/asan:abort_on_error=1:strict_string_checks=1:check_initialization_order=1"
export LSAN_OPTIONS="exitcode=0:suppressions=$root/scripts/lsan.supp"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$logs/ubsan"
export NODE_OPTIONS="--expose-gc"
status=0
set +e
npx vitest run "$@" 2>&1 | tee "$logs/vitest.out"
[ "${PIPESTATUS[0]}" = 0 ] || status=1
if grep -q "no CUDA device" "$logs/vitest.out"; then
  echo "test:cuda-emu: some tests were skipped for want of a CUDA device" >&2
  status=1
fi
if [ $# = 0 ]; then
  node bench/gpu/parity.mjs --device cuda --small --out "$root/build-emu/parity.json" 2>&1 | tee "$logs/parity.out"
  [ "${PIPESTATUS[0]}" = 0 ] || status=1
fi
set -e
unset LD_PRELOAD

node scripts/sanitizer-report.mjs "$logs" || status=1
node scripts/kernel-coverage.mjs "$coverage" "$root/build-emu/kernel-coverage.txt" $([ $# = 0 ] || echo --report-only) || status=1
end=$(date +%s)
echo "test:cuda-emu: build $((built - start)) s, tests and checks $((end - built)) s, exit status $status"
exit $status
