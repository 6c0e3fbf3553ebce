#!/usr/bin/env bash
# npm run test:cpu-levels: the whole suite once per CPU kernel level this machine supports
# (SPARSE_ATTENTION_CPU forces each), so that every copy of the kernels passes every test.
# `npm test` covers the levels more cheaply: test/cpu-levels.test.ts compares a representative
# set of ops at each level against the default one. Extra arguments go to vitest.
set -euo pipefail
cd "$(dirname "$0")/.."
addon=$(node -e "
  const { resolve } = require('node:path');
  process.stdout.write(process.env.SPARSE_ATTENTION_ADDON ? resolve(process.env.SPARSE_ATTENTION_ADDON)
    : require('node-gyp-build').resolve('.'));")
levels=$(SPARSE_ATTENTION_CPU= node -e "process.stdout.write(require(process.argv[1]).backendInfo().cpuKernelLevels.supported.join(' '))" "$addon")
echo "CPU kernel levels supported here: $levels ($addon)"
for level in $levels; do
  echo "== SPARSE_ATTENTION_CPU=$level"
  SPARSE_ATTENTION_ADDON="$addon" SPARSE_ATTENTION_CPU="$level" npx vitest run "$@"
done
