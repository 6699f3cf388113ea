#!/usr/bin/env bash
# Dockerfile front end: median parse(+plan) time of a generated 10,000-line Dockerfile, measured
# inside the process (bench_parse prints the BENCH line itself; no peer tool parses standalone).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=${OCIBUILD_BUILD_DIR:-$here/../build}/bench/bench_parse
if [ ! -x "$bin" ]; then
  echo "bench: $bin not built (ninja bench_parse)" >&2
  exit 1
fi
"$bin" 10000 21
