#!/usr/bin/env bash
# npm run test:pack: the user's path. `npm pack` with the prebuilt binary (npm run prebuild
# makes it when prebuilds/ has none), then:
#  1. install the tarball into an empty app with a PATH that has node and npm but no cmake,
#     c++, g++, gcc or nvcc: it must use the prebuilt binary, in seconds, and load from ESM and
#     CommonJS with the CUDA kernels compiled in; SPARSE_ATTENTION_BUILD_FROM_SOURCE=1 must
#     force the source build (which fails there, for want of a compiler);
#  2. install a copy of the tarball whose prebuilt binary cannot load (it asks for a newer glibc) into another
#     empty app: the install must say why and build from source (CPU part only, to keep it
#     short), and that build must load.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$root"
prebuilt=prebuilds/linux-x64/sparse_attention.napi.glibc.node
if [ ! -f "$prebuilt" ]; then
  echo "test:pack: no $prebuilt yet: npm run prebuild"
  npm run prebuild --silent
fi
node scripts/build-ts.mjs
tarball=$(npm pack --silent --pack-destination "$work" | tail -n 1)
echo "packed $tarball: $(du -h "$work/$tarball" | cut -f1) ($(stat -c %s "$work/$tarball") bytes; the binary $(du -h "$prebuilt" | cut -f1))"
listing=$(tar -tzf "$work/$tarball")
if echo "$listing" | grep -E '^package/(build|test|node_modules|build-[^/]*)/'; then
  echo "the tarball must not contain build output, tests or node_modules" >&2
  exit 1
fi
echo "$listing" | grep -qx "package/$prebuilt" || { echo "the tarball lacks $prebuilt" >&2; exit 1; }

# The checks each install runs: ESM and CommonJS, what backendInfo says, the first op's result.
write_checks() {
  cat > "$1/check.mjs" <<'JS'
import { denseAttention, Tensor, backendInfo } from 'sparse-attention';
const x = Tensor.from(new Float32Array(2 * 5 * 4).fill(1), [1, 2, 5, 4]);
const out = await denseAttention(x, x, x);
if ((await out.data())[0] !== 1) throw new Error('wrong result');
const { loadSafetensors } = await import('sparse-attention/models');
if (typeof loadSafetensors !== 'function') throw new Error('sparse-attention/models lacks loadSafetensors');
const info = backendInfo();
if (process.env.EXPECT_CUDA && String(info.compiledWithCuda) !== process.env.EXPECT_CUDA)
  throw new Error(`compiledWithCuda is ${info.compiledWithCuda}`);
if (!['avx512', 'avx2', 'baseline', 'neon'].includes(info.cpuKernels)) throw new Error(`cpuKernels ${info.cpuKernels}`);
console.log('ESM ok', JSON.stringify(info));
JS
  cat > "$1/check.cjs" <<'JS'
const { denseAttention, Tensor, backendInfo } = require('sparse-attention');
const x = Tensor.from(new Float32Array(2 * 5 * 4).fill(1), [1, 2, 5, 4]);
denseAttention(x, x, x).then(async (out) => {
  if ((await out.data())[0] !== 1) throw new Error('wrong result');
  if (typeof require('sparse-attention/models').loadSafetensors !== 'function') throw new Error('no models entry');
  console.log('CommonJS ok', backendInfo().cpuKernels);
});
JS
}

# 1. No toolchain on PATH: node, npm and a shell only.
bin="$work/bin"
mkdir -p "$bin"
for tool in node npm npx sh bash env; do ln -s "$(command -v "$tool")" "$bin/$tool"; done
for tool in cmake c++ g++ gcc cc make nvcc; do
  if PATH="$bin" command -v "$tool" >/dev/null; then echo "$tool is on the restricted PATH" >&2; exit 1; fi
done
app="$work/app"
mkdir "$app"
cd "$app"
npm init -y >/dev/null
begin=$(date +%s.%N)
PATH="$bin" npm install --no-audit --no-fund --foreground-scripts "$work/$tarball" 2>&1 | grep -v '^npm warn install-scripts'
seconds=$(echo "$(date +%s.%N) - $begin" | bc)
printf 'installed without a toolchain in %.1f s\n' "$seconds"
if [ -e node_modules/sparse-attention/build ]; then echo "the install built from source" >&2; exit 1; fi
write_checks "$app"
PATH="$bin" EXPECT_CUDA=true node check.mjs
PATH="$bin" node check.cjs
set +e
forced=$(PATH="$bin" SPARSE_ATTENTION_BUILD_FROM_SOURCE=1 node node_modules/sparse-attention/scripts/install.mjs 2>&1)
status=$?
set -e
echo "$forced" | head -n 1
if [ "$status" -eq 0 ] || ! echo "$forced" | grep -q 'building from source (SPARSE_ATTENTION_BUILD_FROM_SOURCE=1)'; then
  echo "SPARSE_ATTENTION_BUILD_FROM_SOURCE=1 did not force the source build" >&2
  exit 1
fi
echo "SPARSE_ATTENTION_BUILD_FROM_SOURCE=1 forces the source build (which fails here: no cmake on PATH)"

# 2. A prebuilt binary that cannot load: the same tarball with a binary that asks for a glibc
#    no system has (its GLIBC_2.x version references renamed GLIBC_9.99), as an older system
#    would see it.
mkdir "$work/broken"
tar -xzf "$work/$tarball" -C "$work/broken"
cat > "$work/newer-glibc.cjs" <<'JS'
// Renames the newest GLIBC_2.x version the binary references (a string in .dynstr) to a
// version of the same length that no glibc defines: the loader then refuses the binary
// exactly as an older glibc refuses one that needs newer symbols.
const fs = require('node:fs');
const file = process.argv[2], text = fs.readFileSync(file).toString('latin1');
const versions = [...text.matchAll(/GLIBC_2\.(\d+)\0/g)].sort((a, b) => Number(b[1]) - Number(a[1]));
if (!versions.length) throw new Error(`no GLIBC version reference in ${file}`);
const from = versions[0][0], to = `GLIBC_9.${'9'.repeat(from.length - 'GLIBC_9.'.length - 1)}\0`;
fs.writeFileSync(file, Buffer.from(text.replaceAll(from, to), 'latin1'));
JS
node "$work/newer-glibc.cjs" "$work/broken/package/$prebuilt"
tar -czf "$work/broken.tgz" -C "$work/broken" package
app2="$work/app2"
mkdir "$app2"
cd "$app2"
npm init -y >/dev/null
begin=$(date +%s.%N)
SPARSE_ATTENTION_NO_CUDA=1 npm install --no-audit --no-fund --foreground-scripts "$work/broken.tgz" 2>&1 |
  grep -v '^npm warn install-scripts' | tee "$work/install2.log"
seconds=$(echo "$(date +%s.%N) - $begin" | bc)
grep -q '^sparse-attention: building from source (.*)' "$work/install2.log" || {
  echo "the fallback did not say why it builds from source" >&2
  exit 1
}
[ -f node_modules/sparse-attention/build/Release/sparse_attention.node ] || { echo "no source build" >&2; exit 1; }
printf 'fell back to the source build in %.0f s\n' "$seconds"
write_checks "$app2"
EXPECT_CUDA=false node check.mjs
node check.cjs
