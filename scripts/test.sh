#!/usr/bin/env bash
# The whole test suite, as CI runs it (.ci/run calls exactly this):
#   1. install what is missing (scripts/install-deps.sh)
#   2. build (build/) and a sanitizer build of the unit tests (build-asan/, ASan+UBSan)
#   3. prepare real test inputs: a Debian minbase rootfs (debootstrap, cached in build/cache)
#   4. fuzz the Dockerfile parser for a fixed budget (clang libFuzzer)
#   5. run every test: unit, integration (real registry, skopeo, umoci, dockerd), each UNPRIV test
#      again as an unprivileged user and each CONTAINER test inside
#      `docker run --user 1000 --cap-drop=ALL` (default seccomp, overlay root)
# Run as root on a fresh Debian 12 machine. Environment: OCIBUILD_FUZZ_SECONDS (default 60).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
jobs=$(nproc)

step() { printf '\n==== %s ====\n' "$*"; }

step "dependencies"
scripts/install-deps.sh

step "build (build/)"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
ninja -C build -j "$jobs"

step "sanitizer build of the unit tests (build-asan/)"
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=None -DCMAKE_CXX_FLAGS="-O1 -g1" \
  -DCMAKE_C_FLAGS="-O1 -g1" -DOCIBUILD_SANITIZE=ON >/dev/null
ninja -C build-asan -j "$jobs"

step "test inputs"
export OCIBUILD_DEBIAN_BASE
OCIBUILD_DEBIAN_BASE=$(scripts/debian-base.sh "$root/build/cache")
echo "Debian minbase: $OCIBUILD_DEBIAN_BASE"
for set in base toolchain node python golang; do
  echo "local apt repository ($set): $(scripts/local-apt-repo.sh "$root/build/cache" "$set")"
done
echo "arm64 busybox: $(scripts/arm64-busybox.sh "$root/build/cache")"
for prep in scripts/prepare-*.sh; do
  [ -x "$prep" ] || continue
  echo "running $prep"; "$prep" "$root/build/cache"
done

step "unit tests under ASan+UBSan"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --test-dir build-asan -L unit -LE 'unpriv|container' -j "$jobs" --output-on-failure \
  --no-tests=error

if [ -x scripts/fuzz-parser.sh ]; then
  step "fuzzing the Dockerfile parser (${OCIBUILD_FUZZ_SECONDS:-60}s)"
  scripts/fuzz-parser.sh "${OCIBUILD_FUZZ_SECONDS:-60}"
fi

step "all tests (root, unprivileged user, unprivileged container)"
ctest --test-dir build -j "$jobs" --output-on-failure --no-tests=error
