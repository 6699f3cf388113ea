#!/usr/bin/env bash
# The same RUN step — `apt-get update && apt-get install hello tree libcap2-bin sudo` from a local
# repository on 127.0.0.1 — in a Debian 12 minbase rootfs, three ways, in one run:
#   native   real root, chroot (the floor)
#   native-unsafe-io  the same with dpkg's fsyncs off (--force-unsafe-io): ocibuild answers fsync
#            without I/O, so this is the like-for-like baseline for the tracing overhead
#   proot    Debian's `proot -0` (ptrace, fake root, nothing recorded)
#   ocibuild ocibuild's supervised sandbox, as an unprivileged user
# Prints the median wall time of N runs of each and the ratios to native. BENCH_SANDBOX_WRAP
# prefixes the ocibuild run (e.g. "taskset -c 0").
#   bench/sandbox-apt.sh [BUILD_DIR]   (needs root; BUILD_DIR holds bench/sandbox_run)
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-${OCIBUILD_BUILD_DIR:-$src/build}}" && pwd)
runs=${N:-3}
[ "$(id -u)" = 0 ] || { echo "sandbox-apt.sh: needs root (native chroot baseline)" >&2; exit 77; }
tool=$build/bench/sandbox_run
[ -x "$tool" ] || { echo "sandbox-apt.sh: build the sandbox_run target first ($tool)" >&2; exit 1; }
base=${OCIBUILD_DEBIAN_BASE:-$(OCIBUILD_BUILD_DIR=$build "$src/scripts/debian-base.sh")}
repo=$(OCIBUILD_BUILD_DIR=$build OCIBUILD_DEBIAN_BASE=$base "$src/scripts/local-apt-repo.sh")
user=ocibuild-test
id -u "$user" >/dev/null 2>&1 || useradd --create-home --shell /bin/sh "$user"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
python3 -m http.server --bind 127.0.0.1 --directory "$repo" "$port" >/dev/null 2>&1 &
server=$!
work=$(mktemp -d /tmp/ocibuild-bench.XXXXXX)
chmod 755 "$work"
cleanup() { kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
for d in "$src" "$build" "$build/bench" "$(dirname "$base")"; do chmod o+x "$d" 2>/dev/null || true; done
chmod o+r "$base"
step="set -e
echo 'deb [trusted=yes] http://127.0.0.1:$port ./' > /etc/apt/sources.list
rm -f /etc/apt/sources.list.d/*
apt-get update -q >/dev/null
DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends hello tree libcap2-bin sudo >/dev/null
hello >/dev/null"
sleep 0.5
now() { date +%s.%N; }
declare -A times
for i in $(seq "$runs"); do
  d=$work/native-$i; mkdir "$d"; tar --numeric-owner --xattrs -xpf "$base" -C "$d"
  t0=$(now)
  unshare --mount --fork chroot "$d" /bin/bash -c "mount -t proc proc /proc; ( $step ); rc=\$?; umount /proc; exit \$rc"
  times[native]+="$(echo "$(now) - $t0" | bc) "
  rm -rf "$d"; mkdir "$d"; tar --numeric-owner --xattrs -xpf "$base" -C "$d"
  t0=$(now)
  unshare --mount --fork chroot "$d" /bin/bash -c "mount -t proc proc /proc; echo 'Dpkg::Options { \"--force-unsafe-io\"; };' > /etc/apt/apt.conf.d/99unsafe; ( $step ); rc=\$?; umount /proc; exit \$rc"
  times[native-unsafe-io]+="$(echo "$(now) - $t0" | bc) "

  d=$work/proot-$i; mkdir "$d"; tar --numeric-owner -xpf "$base" -C "$d"
  t0=$(now)
  proot -0 -r "$d" -b /proc -b /dev -b /sys -w / /bin/bash -c "$step"
  times[proot]+="$(echo "$(now) - $t0" | bc) "

  d=$work/ocib-$i; mkdir "$d"; chown "$user:" "$d"
  runuser -u "$user" -- "$tool" --extract "$base" "$d/root"
  t0=$(now)
  runuser -u "$user" -- ${BENCH_SANDBOX_WRAP:-} env SANDBOX_RUN_STATS=1 "$tool" "$d/root" -- /bin/bash -c "$step" 2>"$work/stats"
  times[ocibuild]+="$(echo "$(now) - $t0" | bc) "
  rm -rf "$work"/native-$i "$work"/proot-$i "$d"
done
median() { tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
nat=$(echo "${times[native]}" | median)
nio=$(echo "${times[native-unsafe-io]}" | median)
echo "apt-get update + install (hello tree libcap2-bin sudo), median of $runs runs:"
for k in native native-unsafe-io proot ocibuild; do
  m=$(echo "${times[$k]}" | median)
  printf '  %-17s %7.2f s  %5.2fx native  %5.2fx unsafe-io   (runs: %s)\n' "$k" "$m" \
    "$(echo "$m / $nat" | bc -l)" "$(echo "$m / $nio" | bc -l)" "${times[$k]}"
done
# For bench/run's table (peak memory is not measured here: 0).
for k in native native-unsafe-io proot ocibuild; do
  echo "BENCH|run-apt-get-install|$k|$(echo "${times[$k]}" | median)|0"
done
cat "$work/stats" | sed 's/^/  /'
