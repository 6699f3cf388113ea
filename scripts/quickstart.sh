#!/usr/bin/env bash
# The quick start: installs what is missing, builds ocibuild, and runs the main job on the
# built-in example (examples/hello), which needs no network.
#   sudo scripts/quickstart.sh
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --build-only
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DOCIBUILD_TESTS=OFF >/dev/null
ninja -C build ocibuild
example=examples/hello
cp "$(command -v busybox || echo /bin/busybox)" "$example/busybox" 2>/dev/null || {
  echo "quickstart: needs a static busybox (apt-get install busybox-static)" >&2; exit 1; }
trap 'rm -f "$example/busybox"' EXIT
echo "+ build/cli/ocibuild --print-plan -f $example/Dockerfile $example"
build/cli/ocibuild --print-plan -f "$example/Dockerfile" "$example"
