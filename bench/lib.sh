# Shared helpers for bench/*.sh. Source it; do not run it.
#
# A benchmark measures one workload with ocibuild and with each peer tool that is installed, in
# the same run, and reports each measurement as one line on stdout:
#   BENCH|<benchmark>|<tool>|<median seconds>|<peak RSS in KiB>
# bench/run collects these lines into bench/results/latest.md and a chart.

# bench_time NAME TOOL RUNS CMD...: runs CMD RUNS times, reports the median wall time and the
# largest peak RSS. The command's output goes to $BENCH_LOG (default /dev/null).
bench_time() {
  local name=$1 tool=$2 runs=$3; shift 3
  bench_time_with_setup "$name" "$tool" "$runs" ":" "$@"
}

# bench_time_with_setup NAME TOOL RUNS SETUP CMD...: like bench_time for commands that need a fresh setup before each run:
# BENCH_SETUP (a shell snippet) is evaluated before every timed run.
bench_time_with_setup() {
  local name=$1 tool=$2 runs=$3 setup=$4; shift 4
  local times=() peak=0 i t rss
  for ((i = 0; i < runs; i++)); do
    eval "$setup" >>"${BENCH_LOG:-/dev/null}" 2>&1 || { echo "bench: setup of $name/$tool failed" >&2; return 1; }
    local tf; tf=$(mktemp)
    if ! /usr/bin/time -f '%e %M' -o "$tf" "$@" >>"${BENCH_LOG:-/dev/null}" 2>&1; then
      echo "bench: $name/$tool failed: $*" >&2; rm -f "$tf"; return 1
    fi
    read -r t rss <"$tf"; rm -f "$tf"
    times+=("$t"); ((rss > peak)) && peak=$rss
  done
  local med
  med=$(printf '%s\n' "${times[@]}" | median)
  echo "BENCH|$name|$tool|$med|$peak"
}

# median: the median of the numbers on stdin, one per line ("-" when there are none).
median() {
  sort -g | awk '{a[NR]=$1} END {if (NR == 0) print "-"; else print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'
}

have() { command -v "$1" >/dev/null 2>&1; }
