#!/usr/bin/env bash
# What ocibuild's RUN sandbox costs on the syscall-heavy, parallel steps of app builds, and how
# that cost scales with CPUs. In a Debian 12 rootfs with Debian's nodejs 18 + npm, gcc and make
# (bench/apps_base.sh, kind nodedev) holding bench/apps/nextjs-standalone at /app:
#   npm-ci      rm -rf node_modules ~/.npm && npm ci      (from a local mirror of the lockfile)
#   next-build  rm -rf .next && next build                (output: 'standalone')
#   make-j2     make -j2 of 300 small C files with gcc    (as bench/syscall.sh)
# each run
#   native    as root in a real chroot (own mount namespace, /proc and /dev mounted)
#   ocibuild  through the sandbox (build/bench/sandbox_run) as the unprivileged user ocibuild-test
# pinned with taskset to 1 CPU and to 2 CPUs (runs interleaved). BENCH lines
# sandbox-<workload>-<n>cpu|native|ocibuild. For each sandboxed run the log has the calls the
# sandbox handled (SANDBOX_RUN_STATS: seccomp notifications + ptrace stops) and the CPU time of
# the whole tree (GNU time); bench/results/sandbox-scaling.md gets the medians, the cost per
# handled call and a prediction for 4 and 16 CPUs (see the model there).
#   bench/sandbox-scaling.sh   (root; N=runs, default 3; BENCH_QUICK=1: 60 C files, no next-build)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/.." && pwd)
build=$(cd "${OCIBUILD_BUILD_DIR:-$src/build}" && pwd)
. "$here/lib.sh"
. "$here/apps_base.sh"
runs=${N:-3}
nfiles=300
workloads=(${BENCH_WORKLOADS:-npm-ci next-build make-j2})
[ -n "${BENCH_QUICK:-}" ] && { nfiles=60; workloads=(npm-ci make-j2); }
cpusets=(${BENCH_CPUSETS:-0 0,1})
log=${BENCH_LOG:-/dev/null}
[ "$(id -u)" = 0 ] || { echo "sandbox-scaling.sh: needs root (native chroot baseline)" >&2; exit 77; }
tool=$build/bench/sandbox_run
[ -x "$tool" ] || { echo "sandbox-scaling.sh: build the sandbox_run target first ($tool)" >&2; exit 1; }
user=ocibuild-test
id -u "$user" >/dev/null 2>&1 || useradd --create-home --shell /bin/sh "$user"
rootfs_tar=$(apps_base_rootfs nodedev) && apps_inputs ||
  { echo "sandbox-scaling.sh: preparing the rootfs failed (see $log)" >&2; exit 1; }

work=$(mktemp -d /tmp/ocibuild-bench-scaling.XXXXXX)
chmod 755 "$work"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
python3 -m http.server --bind 127.0.0.1 --directory "$build/bench-apps/npm-mirror" "$port" >/dev/null 2>&1 &
server=$!
cleanup() {
  kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true
  if [ -n "${BENCH_KEEP:-}" ]; then echo "sandbox-scaling.sh: kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
for d in "$src" "$build" "$build/bench"; do chmod o+x "$d" 2>/dev/null || true; done

nat=$work/native
mkdir "$nat"
tar --numeric-owner --xattrs -xpf "$rootfs_tar" -C "$nat"
cp -a "$here/apps/nextjs-standalone" "$nat/app"
mkdir -p "$nat/src"
for i in $(seq 1 "$nfiles"); do
  printf '#include <stdio.h>\n#include <string.h>\nint f%d(const char *s) { return (int)strlen(s) * %d; }\n' "$i" "$i" >"$nat/src/f$i.c"
done
printf 'OBJS := $(patsubst %%.c,%%.o,$(wildcard *.c))\nall: $(OBJS)\n%%.o: %%.c\n\t$(CC) -O1 -c -o $@ $<\n' >"$nat/src/Makefile"
mkdir "$work/ocibuild"
own=$work/ocibuild/root
cp -a "$nat" "$own"
chown -R "$user:" "$work/ocibuild"

# The soft RLIMIT_NOFILE as a CI runner has it (runuser's is 1024, too few for the supervisor in
# npm ci; see bench/apps.sh).
nofile='ulimit -Sn "$(ulimit -Hn)"; '
[ "${BENCH_OCIBUILD_NOFILE:-}" = keep ] && nofile=
envs=(PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C
      NPM_CONFIG_REGISTRY=http://127.0.0.1:$port/ NPM_CONFIG_AUDIT=false NPM_CONFIG_FUND=false
      NPM_CONFIG_UPDATE_NOTIFIER=false NEXT_TELEMETRY_DISABLED=1)
sandbox_envs=()
for e in "${envs[@]}"; do sandbox_envs+=(--env "$e"); done
cmd_of() {
  case $1 in
    npm-ci) echo "cd /app && rm -rf node_modules /root/.npm && npm ci" ;;
    next-build) echo "cd /app && rm -rf .next && npm run build" ;;
    make-j2) echo "rm -f /src/*.o && make -s -C /src -j2" ;;
  esac
}
# One run: wall, user+sys CPU of the tree (GNU time), and for the sandbox the calls it handled.
run_one() {  # WORKLOAD CPUSET native|ocibuild
  local w=$1 cpus=$2 how=$3 c n tf
  c=$(cmd_of "$w")
  n=$(( $(tr -cd , <<<"$cpus" | wc -c) + 1 ))
  tf=$(mktemp)
  local rc=0
  if [ "$how" = native ]; then
    /usr/bin/time -f '%e %U %S %M' -o "$tf" taskset -c "$cpus" unshare --mount --fork /bin/sh -c \
      'mount --rbind /dev "$1/dev" && mount -t proc proc "$1/proc" && shift && exec chroot "$@"' sh "$nat" "$nat" \
      /usr/bin/env -i "${envs[@]}" /bin/sh -c "$c" >>"$work/out.log" 2>&1 || rc=$?
  else
    /usr/bin/time -f '%e %U %S %M' -o "$tf" taskset -c "$cpus" runuser -u "$user" -- bash -c "$nofile"'exec "$@"' bash env SANDBOX_RUN_STATS=1 \
      "$tool" "${sandbox_envs[@]}" "$own" -- /bin/sh -c "$c" >>"$work/out.log" 2>"$work/err.log" || rc=$?
    cat "$work/err.log" >>"$work/out.log"
  fi
  local e u s m calls=0
  read -r e u s m <"$tf"; rm -f "$tf"
  if [ "$rc" != 0 ]; then echo "sandbox-scaling.sh: $w $how on cpus $cpus failed ($rc); see $log" >&2; tail -20 "$work/out.log" >>"$log"; return 1; fi
  [ "$how" = ocibuild ] && calls=$(sed -n 's/^sandbox_run: \([0-9]*\) traced syscalls$/\1/p' "$work/err.log" | tail -1)
  echo "BENCH|sandbox-$w-${n}cpu|$how|$e|$m"
  echo "SCALE|$w|$n|$how|$e|$u|$s|${calls:-0}" >>"$work/scale.txt"
}
# Native first so that node_modules exists for next-build in both trees.
for i in $(seq "$runs"); do
  for w in "${workloads[@]}"; do
    for cpus in "${cpusets[@]}"; do
      # BENCH_SKIP_1CPU="next-build": not at 1 CPU (the longest workload, on a short run).
      [ "$cpus" = 0 ] && [[ " ${BENCH_SKIP_1CPU:-} " == *" $w "* ]] && continue
      run_one "$w" "$cpus" native || true
      run_one "$w" "$cpus" ocibuild || true
    done
  done
done
# One more sandboxed run of each workload with --verbose: which syscalls the supervisor handles.
for w in "${workloads[@]}"; do
  runuser -u "$user" -- bash -c "$nofile"'exec "$@"' bash "$tool" --verbose "${sandbox_envs[@]}" "$own" -- /bin/sh -c "$(cmd_of "$w")" \
    >/dev/null 2>"$work/verbose-$w.log" || true
  grep -h '^ocibuild sandbox: ' "$work/verbose-$w.log" | tail -1 | sed "s/^/HIST|$w|/" >>"$work/scale.txt"
done
cat "$work/out.log" >>"$log"
python3 "$here/sandbox_scaling_report.py" "$work/scale.txt" "$here/results/sandbox-scaling.md"
