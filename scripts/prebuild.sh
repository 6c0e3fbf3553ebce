#!/usr/bin/env bash
# npm run prebuild: the prebuilt binary the package ships,
#   prebuilds/linux-x64/sparse_attention.napi.glibc.node
# (node-gyp-build's layout: N-API, so one file for every Node >= 20; glibc, so musl systems
# build from source). It holds the CPU kernels for every x86-64 level (chosen at load), the
# CUDA kernels for sm_80, 86, 89 and 90 plus PTX (SPARSE_ATTENTION_CUDA_ARCHS overrides), the
# CUDA runtime, libstdc++ and libgcc linked in: it needs the NVIDIA driver for the GPU and
# nothing else but glibc.
#
# It is compiled in a Debian 11 root (scripts/make-sysroot.sh, made on first use) with that
# release's GCC 10 and CMake, so that it needs no newer glibc than Debian 11's (2.31); the CUDA
# toolkit of this machine is mounted into it ($CUDA_HOME, default /usr/local/cuda).
# The build runs in a private mount namespace (unshare): needs root. Build tree: build-prebuild/.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
start=$(date +%s)
sysroot=${SPARSE_ATTENTION_SYSROOT:-$HOME/.cache/sparse-attention/sysroot-bullseye}
bash scripts/make-sysroot.sh "$sysroot"

cuda=$(readlink -f "${CUDA_HOME:-${CUDA_PATH:-/usr/local/cuda}}")
if [ ! -x "$cuda/bin/nvcc" ]; then
  echo "prebuild: no CUDA toolkit at $cuda (set CUDA_HOME): the prebuilt binary must carry the CUDA kernels" >&2
  exit 1
fi
if [ ! -d node_modules/node-api-headers/include ] || [ ! -d node_modules/node-addon-api ]; then
  echo "prebuild: run npm install first (node-api-headers and node-addon-api are needed)" >&2
  exit 1
fi
node scripts/build-ts.mjs
archs=${SPARSE_ATTENTION_CUDA_ARCHS:-}
build=build-prebuild
mkdir -p "$build"

# Inside the root: this checkout at /src, the toolkit at its own path, GCC 10 as the host
# compiler of nvcc too.
mkdir -p "$sysroot/src" "$sysroot$cuda"
unshare --mount --propagation private -- bash -euo pipefail -c '
  sysroot=$1 root=$2 cuda=$3 build=$4 archs=$5
  mount --bind "$root" "$sysroot/src"
  mount --bind "$cuda" "$sysroot$cuda"
  mount -t proc proc "$sysroot/proc"
  mount --bind /dev "$sysroot/dev"
  chroot "$sysroot" /usr/bin/env -i PATH="$cuda/bin:/usr/bin:/bin" HOME=/root \
    SPARSE_ATTENTION_CUDA_ARCHS="$archs" bash -euo pipefail -c "
      cd /src
      cmake -S . -B $build -G \"Unix Makefiles\" --no-warn-unused-cli -DCMAKE_BUILD_TYPE=Release \
        -DCMAKE_LIBRARY_OUTPUT_DIRECTORY=/src/$build/Release -DCMAKE_JS_INC=/src/node_modules/node-api-headers/include \
        -DCMAKE_CXX_FLAGS=-DBUILDING_NODE_EXTENSION -DCMAKE_CUDA_COMPILER=$cuda/bin/nvcc -DSA_STATIC_RUNTIME=ON -DSA_TESTING_ADDON=OFF >/dev/null
      make -C $build -j\$(nproc) --no-print-directory 2>&1 |
        { grep -v \"^\\[\\|^make\\|Scanning\\|Consolidate\\|Built target\\|Registers are spilled\" || true; }
    "
' unshare-prebuild "$sysroot" "$root" "$cuda" "$build" "$archs"

addon="$build/Release/sparse_attention.node"
node scripts/check-cpu-isolation.mjs "$addon" "$build/sparse_attention.map"
out=prebuilds/linux-x64/sparse_attention.napi.glibc.node
mkdir -p "$(dirname "$out")"
rm -f prebuilds/linux-x64/*.node
strip --strip-unneeded -o "$out" "$addon"

# What it needs from the system: no C++ runtime or CUDA library, and glibc up to some version.
needed=$(objdump -p "$out" | awk '/NEEDED/ { print $2 }' | tr '\n' ' ')
glibc=$(objdump -T "$out" | grep -o 'GLIBC_[0-9.]*' | sort -t. -k1,1 -k2,2n -k3,3n -u | tail -n 1)
if echo "$needed" | grep -Eq 'libstdc\+\+|libgcc_s|libcudart'; then
  echo "prebuild: $out links a shared C++ or CUDA runtime: $needed" >&2
  exit 1
fi
node -e "
  const b = require('./$out'), info = b.backendInfo();
  if (!info.compiledWithCuda) { console.error('prebuild: the binary has no CUDA kernels'); process.exit(1); }
  console.log('prebuild: loads here: CUDA ' + info.cudaRuntimeVersion + ', CPU kernels ' + info.cpuKernelLevels.compiled.join('/') + ' (' + info.cpuKernels + ' here)');
"
# And on the older system: this machine's node in the Debian 11 root, the binary loaded and
# one op run there (skipped when this node itself needs a newer glibc).
node_bin=$(readlink -f "$(command -v node)")
touch "$sysroot/usr/local/bin/node"
unshare --mount --propagation private -- bash -euo pipefail -c '
  sysroot=$1 root=$2 node_bin=$3 out=$4
  mount --bind "$root" "$sysroot/src"
  mount --bind "$node_bin" "$sysroot/usr/local/bin/node"
  mount -t proc proc "$sysroot/proc"
  if ! chroot "$sysroot" /usr/local/bin/node --version >/dev/null 2>&1; then
    echo "prebuild: (this node does not run on Debian 11: the binary was not tried there)"
    exit 0
  fi
  chroot "$sysroot" /usr/bin/env -i PATH=/usr/local/bin:/usr/bin:/bin SPARSE_ATTENTION_ADDON="/src/$out" \
    node --input-type=module -e "
      const { Tensor, denseAttention, backendInfo } = await import(\"/src/dist/esm/index.js\");
      const x = Tensor.from(new Float32Array(40).fill(1), [1, 2, 5, 4]);
      if ((await (await denseAttention(x, x, x)).data())[0] !== 1) throw new Error(\"wrong result\");
      console.log(\"prebuild: loads and runs in the Debian 11 root (\" + backendInfo().cpuKernels + \")\");"
' unshare-check "$sysroot" "$root" "$node_bin" "$out"
echo "prebuild: $out ($(du -h "$out" | cut -f1)); needs $needed; highest glibc symbol version $glibc; $(($(date +%s) - start)) s"
