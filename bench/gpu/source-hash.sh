#!/usr/bin/env bash
# The hash of everything the native addon is built from, so that check.sh can tell whether the
# addon prepared in .gpu/ matches the sources it runs with.
set -euo pipefail
cd "$(dirname "$0")/../.."
find CMakeLists.txt cmake cuda native -type f | LC_ALL=C sort | xargs sha256sum | sha256sum | cut -d' ' -f1
