#!/usr/bin/env bash
# Layer engine: unpack of the Debian minbase layer vs `tar -xzf` of the same blob, and the
# snapshot diff of a 100,000-file tree after touching one file (bench/layer_bench.cc).
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=${OCIBUILD_BUILD_DIR:-$src/build}
ninja -C "$build" layer_bench >/dev/null
base=${OCIBUILD_DEBIAN_BASE:-$(OCIBUILD_BUILD_DIR=$build "$src/scripts/debian-base.sh")}
files=100000
[ -n "${BENCH_QUICK:-}" ] && files=20000
"$build/bench/layer_bench" --layer "$base" --runs "${N:-3}" --files "$files"
