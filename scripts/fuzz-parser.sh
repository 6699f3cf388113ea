#!/usr/bin/env bash
# Fuzzes the Dockerfile front end (parse, type, plan) with libFuzzer for a fixed budget.
#   scripts/fuzz-parser.sh [SECONDS]      (default 60)
# Builds dockerfile-parser/fuzz_parser with clang, ASan+UBSan, in build-fuzz/. The seed corpus
# is assembled at run time from the BuildKit conformance Dockerfiles (../shared/conformance,
# never copied into the repo) and testdata/fuzz-regressions/. A crash, hang or leak exits
# non-zero and its input is copied into testdata/fuzz-regressions/, which
# dockerfile-parser/fuzz_regression_test.cc replays from then on.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
secs=${1:-60}
build=${OCIBUILD_FUZZ_BUILD_DIR:-$src/build-fuzz}
conformance=${OCIBUILD_CONFORMANCE:-$src/../shared/conformance}

CC=clang CXX=clang++ cmake -S "$src" -B "$build" -G Ninja \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DOCIBUILD_FUZZ=ON -DOCIBUILD_SANITIZE=ON \
  -DCMAKE_CXX_FLAGS=-fsanitize=fuzzer-no-link >/dev/null
ninja -C "$build" -j2 fuzz_parser

corpus=$build/corpus
artifacts=$build/artifacts
rm -rf "$artifacts"
mkdir -p "$corpus" "$artifacts"
if [ -d "$conformance/buildkit" ]; then
  for f in "$conformance"/buildkit/testfiles*/*/Dockerfile; do
    cp "$f" "$corpus/seed-$(basename "$(dirname "$f")")"
  done
fi
for f in "$src"/testdata/fuzz-regressions/*; do
  [ "$(basename "$f")" = README.md ] || cp "$f" "$corpus/regression-$(basename "$f")"
done

status=0
"$build/dockerfile-parser/fuzz_parser" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
  -max_len=65536 -print_final_stats=1 -artifact_prefix="$artifacts/" "$corpus" || status=$?

found=0
for f in "$artifacts"/*; do
  [ -e "$f" ] || continue
  name=$(basename "$f")
  cp "$f" "$src/testdata/fuzz-regressions/$name"
  echo "fuzz-parser: saved $name to testdata/fuzz-regressions/ (add it to git)" >&2
  found=1
done
if [ "$status" -ne 0 ] || [ "$found" -ne 0 ]; then
  echo "fuzz-parser: FAILED (libFuzzer exit status $status)" >&2
  exit 1
fi
echo "fuzz-parser: no crashes in ${secs}s" >&2
