#!/usr/bin/env bash
# Registry client: push and pull of a 1 GB image (5 layers; REGISTRY_BENCH_MB to change) to a local docker-registry,
# ocibuild's client against skopeo copy in the same run (registry_bench prints the BENCH lines).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=${OCIBUILD_BUILD_DIR:-$here/../build}/tests/registry/registry_bench
if [ ! -x "$bin" ]; then
  echo "bench: $bin not built (ninja registry_bench)" >&2
  exit 1
fi
"$bin" "${REGISTRY_BENCH_MB:-1000}" 5 "${N:-3}"
