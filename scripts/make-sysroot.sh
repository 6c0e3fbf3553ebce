#!/usr/bin/env bash
# A Debian 11 (bullseye) root with its own toolchain, in which `npm run prebuild` compiles the
# prebuilt binary: what is built there needs at most the glibc of Debian 11 (2.31), and its
# static libstdc++ (GCC 10's) was itself built against that glibc. Debian 11 is the oldest
# release the Debian mirror configured for apt still serves; Debian 10 (glibc 2.28) has moved to
# Debian's archive, which this setup does not reach.
#
# Usage: scripts/make-sysroot.sh [DIR]   (default: $SPARSE_ATTENTION_SYSROOT or
# ~/.cache/sparse-attention/sysroot-bullseye). Needs root and debootstrap (apt-get install
# debootstrap); about 400 MB and a few minutes. Does nothing when DIR is already complete.
set -euo pipefail
dir=${1:-${SPARSE_ATTENTION_SYSROOT:-$HOME/.cache/sparse-attention/sysroot-bullseye}}
suite=bullseye
packages=g++,make,cmake

if [ -f "$dir/.complete" ]; then
  echo "sysroot: $dir (ready)"
  exit 0
fi
if ! command -v debootstrap >/dev/null; then
  echo "sysroot: debootstrap is needed (apt-get install debootstrap)" >&2
  exit 1
fi
# The mirror apt is set up with, so that this reaches what the machine's apt reaches.
mirror=$(sed -n 's/^URIs: *\([^ ]*\).*/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | grep -v security | head -n 1 || true)
if [ -z "$mirror" ]; then
  mirror=$(sed -n 's/^deb \(\[[^]]*\] \)\{0,1\}\([^ ]*\) .*/\2/p' /etc/apt/sources.list 2>/dev/null | grep -v security | head -n 1 || true)
fi
rm -rf "$dir"
mkdir -p "$dir"
start=$(date +%s)
debootstrap --variant=minbase --include="$packages" "$suite" "$dir" ${mirror:+"$mirror"} >"$dir.log" 2>&1 || {
  tail -n 20 "$dir.log" >&2
  echo "sysroot: debootstrap of $suite failed (log: $dir.log)" >&2
  exit 1
}
rm -rf "$dir/var/cache/apt/archives/"*.deb
touch "$dir/.complete"
echo "sysroot: $suite in $dir ($(du -sh "$dir" | cut -f1), $(($(date +%s) - start)) s)"
