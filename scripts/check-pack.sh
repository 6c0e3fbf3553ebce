#!/usr/bin/env bash
# The user's path: `npm pack`, then install the tarball into an empty app, which builds the
# addon from source, and load it from ESM and CommonJS.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$root"
tarball=$(npm pack --silent --pack-destination "$work" | tail -n 1)
echo "packed $tarball ($(du -h "$work/$tarball" | cut -f1))"
if tar -tzf "$work/$tarball" | grep -E '^package/(build|test|node_modules)/'; then
  echo "the tarball must not contain build output, tests or node_modules" >&2
  exit 1
fi
mkdir "$work/app"
cd "$work/app"
npm init -y >/dev/null
npm install --no-audit --no-fund "$work/$tarball"
cat > check.mjs <<'JS'
import { denseAttention, Tensor, backendInfo } from 'sparse-attention';
const x = Tensor.from(new Float32Array(2 * 5 * 4).fill(1), [1, 2, 5, 4]);
const out = await denseAttention(x, x, x);
if ((await out.data())[0] !== 1) throw new Error('wrong result');
const { loadSafetensors } = await import('sparse-attention/models');
if (typeof loadSafetensors !== 'function') throw new Error('sparse-attention/models lacks loadSafetensors');
console.log('ESM ok', JSON.stringify(backendInfo()));
JS
cat > check.cjs <<'JS'
const { denseAttention, Tensor } = require('sparse-attention');
const x = Tensor.from(new Float32Array(2 * 5 * 4).fill(1), [1, 2, 5, 4]);
denseAttention(x, x, x).then(async (out) => {
  if ((await out.data())[0] !== 1) throw new Error('wrong result');
  if (typeof require('sparse-attention/models').loadSafetensors !== 'function') throw new Error('no models entry');
  console.log('CommonJS ok');
});
JS
node check.mjs
node check.cjs
