#!/usr/bin/env bash
# The floor under the RUN sandbox's cost per handled call on this machine: bench/notify_floor.c
# times a stat answered through a seccomp user notification by a thread that does only what the
# supervisor's answer to a stat does (its syscalls, none of its bookkeeping), with the answering
# thread in the caller's process and in another one, and the parts of that round trip. The
# sandbox's own stat (bench/sandbox-calls.sh, depth 1) is measured in the same run, so the
# table says how far above the design's floor the sandbox is and what the floor is made of
# (the notification's round trip, switching address spaces, reading and writing the caller's
# memory), for one caller and for two calling at once. Run it on another machine to predict the
# sandbox's per-call cost there.
#   bench/notify-floor.sh   (root: the sandbox's comparison runs a chroot baseline; N=calls per
#                            run, default 20000; RUNS, default 3)
# Prints the per-mode medians (ns per call) on stderr and BENCH lines for 10,000 calls on stdout.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
n=${N:-20000}
[ "$n" -ge 20000 ] 2>/dev/null || n=20000  # bench/run's N is the run count: too few calls here
runs=${RUNS:-3}
[ "$(id -u)" = 0 ] || { echo "notify-floor.sh: needs root (runs the probe as ocibuild-test)" >&2; exit 77; }
user=ocibuild-test
id -u "$user" >/dev/null 2>&1 || useradd --create-home --shell /bin/sh "$user"
work=$(mktemp -d /tmp/ocibuild-bench-floor.XXXXXX)
chmod 755 "$work"
trap 'rm -rf "$work"' EXIT
cc -O2 -pthread -o "$work/notify_floor" "$here/notify_floor.c"

for ((r = 0; r < runs; r++)); do
  runuser -u "$user" -- "$work/notify_floor" "$n" | tail -n +2 >>"$work/runs"
done
# mode -> median of each column over the runs ("-" stays "-").
median_of() {  # MODE COLUMN
  awk -v m="$1" -v c="$2" '$1 == m && $c != "-" {print $c}' "$work/runs" | median
}
sandbox_stat() {  # PROCS: the sandbox's stat at depth 1, wall ns per call (mean of the procs)
  PROCS=$1 OPS=stat DEPTHS=1 N=$n RUNS=$runs bash "$here/sandbox-calls.sh" 2>/dev/null |
    awk '$1 == "stat" && $3 == "existing" {print $6}'
}
sandbox=$(sandbox_stat 1)
sandbox2=$(sandbox_stat 2)
{
  printf '%-13s %8s %8s   (ns per call, medians of %d runs of %d calls; load %s)\n' mode thread \
    process "$runs" "$n" "$(cut -d' ' -f1-3 /proc/loadavg)"
  for m in $(awk '{print $1}' "$work/runs" | awk '!seen[$0]++'); do
    printf '%-13s %8s %8s\n' "$m" "$(median_of "$m" 2)" "$(median_of "$m" 3)"
  done
  printf '%-13s %8s %8s   (bench/sandbox-calls.sh: stat, depth 1)\n' sandbox - "${sandbox:--}"
  printf '%-13s %8s %8s   (the same, two processes calling at once: PROCS=2)\n' sandbox-2 - \
    "${sandbox2:--}"
} >&2
per10k() {  # BENCHMARK NS_PER_CALL TOOL
  [ "$2" = - ] || [ -z "$2" ] && return 0
  printf 'BENCH|%s|%s|%.4f|0\n' "$1" "$3" "$(echo "$2 * 10000 / 1000000000" | bc -l)"
}
per10k stat-10k-calls "$sandbox" ocibuild
per10k stat-10k-calls "$(median_of answer 3)" floor-answer
per10k stat-10k-calls "$(median_of notify-sync 3)" floor-notify
per10k stat-10k-calls "$(median_of native 2)" native
# Two processes calling at once (each one's time per call, their mean).
per10k stat-10k-calls-2procs "$sandbox2" ocibuild
per10k stat-10k-calls-2procs "$(median_of answer-2 3)" floor-answer
per10k stat-10k-calls-2procs "$(median_of answer-2-nosync 3)" floor-answer-nosync
per10k stat-10k-calls-2procs "$(median_of answer-2-2recv 3)" floor-answer-2recv
