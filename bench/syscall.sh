#!/usr/bin/env bash
# Syscall-heavy RUN steps in a Debian 12 rootfs with gcc and make installed, three ways, runs
# interleaved (BENCH lines, one per run; bench/run takes the medians):
#   native    real root, chroot (the floor)
#   proot     Debian's `proot -0` (ptrace, fake root, records nothing)
#   ocibuild  ocibuild's RUN sandbox (bench/sandbox_run), as the unprivileged user ocibuild-test
# Workloads:
#   syscall-find-stat      find / -xdev | xargs stat   (every file of the rootfs: path syscalls)
#   syscall-make-c-files   make -j2 of 300 small C files with gcc (fork/exec/open-heavy)
#   bench/syscall.sh     (root; N=runs, default 3; BENCH_QUICK=1 compiles 60 files;
#                         WORKLOADS="find make" to choose; NO_PROOT=1 skips proot; BEFORE=another sandbox_run binary:
#                         measured too, as "ocibuild-before", alternated with the others)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/.." && pwd)
build=$(cd "${OCIBUILD_BUILD_DIR:-$src/build}" && pwd)
. "$here/lib.sh"
runs=${N:-3}
nfiles=300
[ -n "${BENCH_QUICK:-}" ] && nfiles=60
[ "$(id -u)" = 0 ] || { echo "syscall.sh: needs root (native chroot baseline)" >&2; exit 77; }
tool=$build/bench/sandbox_run
[ -x "$tool" ] || { echo "syscall.sh: build the sandbox_run target first ($tool)" >&2; exit 1; }
base=${OCIBUILD_DEBIAN_BASE:-$(OCIBUILD_BUILD_DIR=$build "$src/scripts/debian-base.sh")}
repo=$(OCIBUILD_BUILD_DIR=$build OCIBUILD_DEBIAN_BASE=$base "$src/scripts/local-apt-repo.sh" "" toolchain)
user=ocibuild-test
id -u "$user" >/dev/null 2>&1 || useradd --create-home --shell /bin/sh "$user"
have proot || echo "syscall.sh: proot not installed: skipped" >&2

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
python3 -m http.server --bind 127.0.0.1 --directory "$repo" "$port" >/dev/null 2>&1 &
server=$!
work=$(mktemp -d /tmp/ocibuild-bench-syscall.XXXXXX)
chmod 755 "$work"
cleanup() { kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
for d in "$src" "$build" "$build/bench"; do chmod o+x "$d" 2>/dev/null || true; done
sleep 0.5

# One rootfs with the toolchain, made natively (not timed), and a copy the unprivileged user owns.
nat=$work/native
mkdir "$nat"
tar --numeric-owner --xattrs -xpf "$base" -C "$nat"
unshare --mount --fork chroot "$nat" /bin/bash -c "set -e; mount -t proc proc /proc
  rm -f /etc/apt/sources.list.d/*; echo 'deb [trusted=yes] http://127.0.0.1:$port ./' >/etc/apt/sources.list
  apt-get update -q; DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends gcc make libc6-dev
  rm -rf /var/lib/apt/lists/*; umount /proc" >>"${BENCH_LOG:-/dev/null}" 2>&1
mkdir -p "$nat/src"
for i in $(seq 1 "$nfiles"); do
  printf '#include <stdio.h>\n#include <string.h>\nint f%d(const char *s) { return (int)strlen(s) * %d; }\n' "$i" "$i" >"$nat/src/f$i.c"
done
printf 'OBJS := $(patsubst %%.c,%%.o,$(wildcard *.c))\nall: $(OBJS)\n%%.o: %%.c\n\t$(CC) -O1 -c -o $@ $<\n' >"$nat/src/Makefile"
# sandbox_run keeps its metadata store beside the rootfs: both in a directory the user owns.
mkdir "$work/ocibuild"
own=$work/ocibuild/root
cp -a "$nat" "$own"
chown -R "$user:" "$work/ocibuild"

# Errors are not the point (proot lists a few names it then cannot stat): only the time is.
find_cmd="find / -xdev -print0 | xargs -0 stat >/dev/null 2>&1; true"
make_cmd="rm -f /src/*.o && make -s -C /src -j2"
for i in $(seq "$runs"); do
  for w in ${WORKLOADS:-find make}; do
    if [ $w = find ]; then name=syscall-find-stat; cmd=$find_cmd; else name=syscall-make-c-files; cmd=$make_cmd; fi
    bench_time "$name" native 1 chroot "$nat" /bin/sh -c "$cmd" || true
    have proot && [ -z "${NO_PROOT:-}" ] && { bench_time "$name" proot 1 proot -0 -r "$nat" -w / /bin/sh -c "$cmd" || true; }
    [ -n "${BEFORE:-}" ] && { bench_time "$name" ocibuild-before 1 runuser -u "$user" -- ${BENCH_SANDBOX_WRAP:-} "$BEFORE" "$own" -- /bin/sh -c "$cmd" || true; }
    bench_time "$name" ocibuild 1 runuser -u "$user" -- ${BENCH_SANDBOX_WRAP:-} "$tool" "$own" -- /bin/sh -c "$cmd" || true
  done
done
