#!/usr/bin/env bash
# Cost of one handled path syscall in the RUN sandbox: bench/sandbox_calls.c makes N calls of one
# kind (readlink, stat, statx, open+close) on an existing or a missing name at depth 1-6, natively
# (root, chroot) and in the sandbox (bench/sandbox_run as the unprivileged user), runs
# alternated. Per call: wall (the caller's clock) and CPU (user+sys of the whole process tree,
# the supervisor's threads included, less a run of 0 calls).
#   bench/sandbox-calls.sh   (root; N=calls per run, default 20000; RUNS, default 3;
#                             OPS="readlink stat statx open", DEPTHS="1 2 3 4 5 6";
#                             BEFORE=another sandbox_run binary: measured too, alternated;
#                             PROCS=2: that many processes call at once, wall = their mean)
# Prints one line per (op, depth, existing/missing): medians of RUNS, in ns per call.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/.." && pwd)
build=$(cd "${OCIBUILD_BUILD_DIR:-$src/build}" && pwd)
. "$here/lib.sh"
n=${N:-20000}
runs=${RUNS:-3}
ops=${OPS:-readlink stat statx open}
depths=${DEPTHS:-1 2 3 4 5 6}
[ "$(id -u)" = 0 ] || { echo "sandbox-calls.sh: needs root (native chroot baseline)" >&2; exit 77; }
tool=$build/bench/sandbox_run
[ -x "$tool" ] || { echo "sandbox-calls.sh: build the sandbox_run target first ($tool)" >&2; exit 1; }
user=ocibuild-test
id -u "$user" >/dev/null 2>&1 || useradd --create-home --shell /bin/sh "$user"
work=$(mktemp -d /tmp/ocibuild-bench-calls.XXXXXX)
chmod 755 "$work"
trap 'rm -rf "$work"' EXIT
for d in "$src" "$build" "$build/bench"; do chmod o+x "$d" 2>/dev/null || true; done

root=$work/own/root
mkdir -p "$root/bc"
cc -O2 -static -o "$root/calls" "$here/sandbox_calls.c"
touch "$root/bcf" && ln -s bcf "$root/bcl"
d=$root/bc
for i in 2 3 4 5 6; do
  touch "$d/f" && ln -s f "$d/l"
  mkdir "$d/d" && d=$d/d
done
chown -R "$user:" "$work/own"

# one CMD...: "<the program's line> user+sys_seconds" of one run.
one() {
  local tf out u s
  tf=$(mktemp)
  out=$(/usr/bin/time -f '%U %S' -o "$tf" "$@")
  read -r u s <"$tf"
  rm -f "$tf"
  echo "$out $(echo "$u + $s" | bc)"
}
# run TOOL OP DEPTH KIND: "wall_ns cpu_ns" per call (cpu less a run of 0 calls).
run() {
  local t=$1 w c c0; shift
  local cmd
  case $t in
    native) cmd=(chroot "$root" /calls) ;;
    sandbox) cmd=(runuser -u "$user" -- "$tool" "$root" -- /calls) ;;
    before) cmd=(runuser -u "$user" -- "$BEFORE" "$root" -- /calls) ;;
  esac
  read -r _ _ _ _ w _ c < <(one "${cmd[@]}" "$1" "$2" "$n" "$3" ${PROCS:+"$PROCS"})
  read -r _ _ _ _ _ _ c0 < <(one "${cmd[@]}" "$1" "$2" 0 "$3" ${PROCS:+"$PROCS"})
  echo "$w $(echo "($c - $c0) * 1000000000 / $n" | bc)"
}

tools="native sandbox"
[ -n "${BEFORE:-}" ] && tools="native before sandbox"
printf '%-9s %5s %-8s' op depth name
for t in $tools; do printf ' %12s %12s' "${t}_wall" "${t}_cpu"; done
echo
for op in $ops; do
  for kind in existing missing; do
    for depth in $depths; do
      declare -A walls=() cpus=()
      for ((r = 0; r < runs; r++)); do
        for t in $tools; do
          read -r w c < <(run "$t" "$op" "$depth" "$kind")
          walls[$t]+="$w "; cpus[$t]+="$c "
        done
      done
      printf '%-9s %5s %-8s' "$op" "$depth" "$kind"
      for t in $tools; do
        printf ' %12s %12s' "$(tr ' ' '\n' <<<"${walls[$t]}" | grep . | median)" \
          "$(tr ' ' '\n' <<<"${cpus[$t]}" | grep . | median)"
      done
      echo
    done
  done
done
echo "(ns per call; cpu = user+sys of the whole tree less a 0-call run; load: $(cut -d' ' -f1-3 /proc/loadavg))"
