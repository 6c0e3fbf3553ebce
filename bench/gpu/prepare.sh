#!/usr/bin/env bash
# Prepares .gpu/, the one folder the GPU check needs besides the git checkout (it is ignored
# by git): run on the build machine, then copy the repository with .gpu/ to the GPU machine and
# run `bash bench/gpu/check.sh` there (bench/gpu/README.md).
#   .gpu/node.xz                     this machine's node binary (the GPU machine may have none)
#   .gpu/dist/                       the compiled TypeScript (dist/ is not tracked)
#   .gpu/sparse_attention.node       the addon built here for sm_90, and .gpu/addon.sha, the
#                                    hash of the sources it was built from
#   .gpu/node-include/, .gpu/node-addon-api/
#                                    the N-API headers, for check.sh to rebuild the addon there
#                                    when the sources changed since or the binary will not load
set -euo pipefail
cd "$(dirname "$0")/../.."

if ! git check-ignore -q .gpu/; then
  echo "/.gpu/" >>"$(git rev-parse --git-common-dir)/info/exclude"
  echo "prepare: added /.gpu/ to $(git rev-parse --git-common-dir)/info/exclude"
fi

echo "prepare: building the addon for sm_90 and the TypeScript"
SPARSE_ATTENTION_CUDA_ARCHS=90 npx cmake-js compile --log-level error
node scripts/build-ts.mjs
node -e "import('./dist/esm/index.js').then((m) => { if (!m.backendInfo().compiledWithCuda) process.exit(1); })" ||
  { echo "prepare: the addon was built without CUDA (is nvcc on PATH?)"; exit 1; }

mkdir -p .gpu
rm -rf .gpu/dist .gpu/node-include .gpu/node-addon-api
cp -r dist .gpu/dist
cp build/Release/sparse_attention.node .gpu/sparse_attention.node
bash bench/gpu/source-hash.sh >.gpu/addon.sha

node_bin=$(command -v node)
if [ ! -f .gpu/node.xz ] || [ "$(cat .gpu/node.version 2>/dev/null)" != "$(node --version)" ]; then
  echo "prepare: compressing $node_bin ($(node --version))"
  xz -T2 -6 -c "$node_bin" >.gpu/node.xz
  node --version >.gpu/node.version
fi

# N-API needs only these four headers of Node's include folder.
include_dir=$(node -p "require('path').join(process.execPath, '..', '..', 'include', 'node')")
[ -f "$include_dir/node_api.h" ] || include_dir=/usr/include/node
mkdir -p .gpu/node-include
for h in node_api.h node_api_types.h js_native_api.h js_native_api_types.h; do cp "$include_dir/$h" .gpu/node-include/; done
cp -r "$(node -p "require('node-addon-api').include_dir")" .gpu/node-addon-api

tracked=$(git ls-files -z | xargs -0 du -cb 2>/dev/null | tail -n 1 | cut -f1)
carried=$(du -sb .gpu | cut -f1)
echo "prepare: .gpu is $((carried >> 20)) MiB, the tracked tree $((tracked >> 20)) MiB: what is copied to the GPU machine"
