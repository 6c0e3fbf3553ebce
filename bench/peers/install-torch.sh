#!/usr/bin/env bash
# Installs the PyTorch CPU peer's dependencies: Debian's python3-torch (for Debian's own
# /usr/bin/python3, not a pyenv/venv python earlier on PATH) and libopenblas0-pthread.
# Without OpenBLAS, Debian's torch falls back to the reference BLAS and its matmuls are
# an order of magnitude slower, which would make the peer meaningless as a comparison.
#
# Never fails the caller: if the packages cannot be installed (not root, no apt, no network)
# it prints one line and exits 0, and the benchmark runs without the torch peer.
set -u

PY=/usr/bin/python3

have_torch() {
  [ -x "$PY" ] && "$PY" -c 'import torch' >/dev/null 2>&1
}

have_openblas() {
  dpkg-query -W -f='${Status}' libopenblas0-pthread 2>/dev/null | grep -q 'install ok installed'
}

if have_torch && have_openblas; then
  echo "torch peer: python3-torch and libopenblas0-pthread already installed"
  exit 0
fi

if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "torch peer: skipped (needs root and apt-get to install python3-torch libopenblas0-pthread)"
  exit 0
fi

export DEBIAN_FRONTEND=noninteractive
if ! apt-get update -qq >/dev/null 2>&1; then
  echo "torch peer: skipped (apt-get update failed; no network?)"
  exit 0
fi
if ! apt-get install -y -qq --no-install-recommends python3-torch libopenblas0-pthread >/dev/null 2>&1; then
  echo "torch peer: skipped (apt-get install python3-torch libopenblas0-pthread failed)"
  exit 0
fi

if have_torch; then
  echo "torch peer: installed python3-torch $("$PY" -c 'import torch; print(torch.__version__)') with OpenBLAS"
else
  echo "torch peer: skipped (python3-torch installed but 'import torch' fails in $PY)"
fi
exit 0
