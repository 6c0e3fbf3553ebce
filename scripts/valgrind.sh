#!/usr/bin/env bash
# A small run of every op (scripts/valgrind-smoke.mjs) under valgrind's memcheck, against a
# build of the addon without CUDA (build-valgrind/) running its AVX2 kernels (valgrind does not
# decode AVX-512: SPARSE_ATTENTION_CPU=avx2), with Node's JIT off (--jitless) so that memcheck sees no generated code.
#
# Reading the result: the run fails on any memcheck error (invalid read or write, use of
# uninitialised memory, bad free) and on any "definitely lost" block. The log keeps the
# details (build-valgrind/memcheck.log); blocks "still reachable" at exit are Node's and V8's
# and are not errors. Takes about half a minute here.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
SPARSE_ATTENTION_NO_CUDA=1 \
  npx cmake-js compile -O build-valgrind -B RelWithDebInfo --log-level error
node scripts/build-ts.mjs
log="$root/build-valgrind/memcheck.log"
status=0
SPARSE_ATTENTION_ADDON="$root/build-valgrind/RelWithDebInfo/sparse_attention.node" SPARSE_ATTENTION_CPU=avx2 \
  valgrind --tool=memcheck --leak-check=full --show-leak-kinds=definite --errors-for-leak-kinds=definite \
  --track-origins=yes --error-exitcode=99 --log-file="$log" \
  node --jitless scripts/valgrind-smoke.mjs || status=$?
grep -E "ERROR SUMMARY|definitely lost" "$log" | sed 's/^==[0-9]*== //'
if [ "$status" -ne 0 ]; then
  echo "valgrind: memcheck found errors (exit status $status); details in $log" >&2
  exit 1
fi
echo "valgrind: clean"
