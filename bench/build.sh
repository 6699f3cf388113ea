#!/usr/bin/env bash
# Issue 6's realistic Debian build, the same Dockerfile built three ways in one run:
#   ocibuild  as the unprivileged user ocibuild-test (no capabilities, RUN in the supervised sandbox)
#   buildah   `buildah bud --layers` as root (--layers: a step cache, as the others have)
#   docker    `docker build` with BuildKit (DOCKER_BUILDKIT=1) against dockerd, as root
# The image: FROM a Debian 12 minbase pulled from a local docker-registry, apt-get install of
# gcc, make and libc6-dev from a local apt repository served over http on 127.0.0.1 (all three
# builders use the same URL, RUN steps on the host network), useradd, COPY of a small C project,
# `make -j2` in a RUN step, USER.
# Three measurements per tool, interleaved run by run (BENCH lines, one per run; bench/run takes
# the medians):
#   build-cold-push     no local cache at all (base pulled again) + push to the local registry
#                       (a fresh repository every run, so every new layer is uploaded)
#   rebuild-cached      the same build again, nothing changed, no push
#   rebuild-edit-push   one source file edited, rebuild (COPY and make rerun) + push
# Times are wall clock of the client command; for docker the work happens in dockerd, so its peak
# RSS column is the CLI's only. Peak RSS is the largest single process of the command's tree
# (GNU time), which includes the RUN steps' own processes for ocibuild and buildah.
#   bench/build.sh     (root; N=runs, default 3; BENCH_QUICK=1 installs fewer packages)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/.." && pwd)
build=$(cd "${OCIBUILD_BUILD_DIR:-$src/build}" && pwd)
bin=${OCIBUILD_BINARY:-$build/cli/ocibuild}
. "$here/lib.sh"
runs=${N:-3}
[ "$(id -u)" = 0 ] || { echo "build.sh: needs root (peers run as root; ocibuild as ocibuild-test)" >&2; exit 77; }
[ -x "$bin" ] || { echo "build.sh: $bin not built" >&2; exit 1; }
have docker-registry || { echo "build.sh: docker-registry not installed: skipped" >&2; exit 77; }
base=${OCIBUILD_DEBIAN_BASE:-$(OCIBUILD_BUILD_DIR=$build "$src/scripts/debian-base.sh")}
if [ -n "${BENCH_QUICK:-}" ]; then
  aptrepo=$(OCIBUILD_BUILD_DIR=$build OCIBUILD_DEBIAN_BASE=$base "$src/scripts/local-apt-repo.sh" "" base)
  pkgs="hello tree"; compile="true"
else
  aptrepo=$(OCIBUILD_BUILD_DIR=$build OCIBUILD_DEBIAN_BASE=$base "$src/scripts/local-apt-repo.sh" "" toolchain)
  pkgs="gcc make libc6-dev"; compile="make -C /src -j2"
fi
user=ocibuild-test
id -u "$user" >/dev/null 2>&1 || useradd --create-home --shell /bin/sh "$user"
home=$(getent passwd "$user" | cut -d: -f6)

# BENCH_TOOLS="ocibuild docker" limits the tools; BENCH_WRAP prefixes ocibuild's command (e.g.
# "perf record -g -o /tmp/perf-%n.data --"; %n becomes the measurement and run) for profiling.
want() { [ -z "${BENCH_TOOLS:-}" ] || [[ " $BENCH_TOOLS " == *" $1 "* ]]; }
tools=(ocibuild)
if ! want buildah; then :; elif have buildah; then tools+=(buildah); else echo "build.sh: buildah not installed: skipped" >&2; fi
docker_cli=$(command -v docker || true)
[ -x /usr/bin/docker ] && docker_cli=/usr/bin/docker
if ! want docker; then :; elif [ -n "$docker_cli" ] && dh=$("$src/scripts/dockerd.sh" start 2>/dev/null); then
  export DOCKER_HOST=$dh DOCKER_BUILDKIT=1
  tools+=(docker)
else
  echo "build.sh: no docker daemon (scripts/dockerd.sh start failed): docker skipped" >&2
fi

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
work=$(mktemp -d /tmp/ocibuild-bench-build.XXXXXX)
chmod 755 "$work"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  if [[ " ${tools[*]} " == *" docker "* ]]; then
    "$docker_cli" rmi -f $("$docker_cli" images -q --filter "reference=127.0.0.1:$regport/*" 2>/dev/null) >/dev/null 2>&1 || true
  fi
  if [[ " ${tools[*]} " == *" buildah "* ]]; then
    buildah rm -a >/dev/null 2>&1 || true
    buildah rmi -f $(buildah images -q --filter "reference=127.0.0.1:$regport/*" 2>/dev/null) >/dev/null 2>&1 || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

# The registry and the apt repository.
regport=$(free_port)
reg=127.0.0.1:$regport
cat >"$work/registry.yml" <<EOF
version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $work/registry
  delete:
    enabled: true
http:
  addr: $reg
  secret: ocibuild-bench
EOF
docker-registry serve "$work/registry.yml" >>"${BENCH_LOG:-/dev/null}" 2>&1 &
pids+=($!)
aptport=$(free_port)
python3 -m http.server --bind 127.0.0.1 --directory "$aptrepo" "$aptport" >/dev/null 2>&1 &
pids+=($!)
for _ in $(seq 50); do curl -sf "http://$reg/v2/" >/dev/null && curl -sf "http://127.0.0.1:$aptport/Packages" >/dev/null && break; sleep 0.2; done

# The context: a Dockerfile and a small C project.
ctx=$work/ctx
mkdir -p "$ctx/src"
cat >"$ctx/Dockerfile" <<'EOF'
ARG BASE
FROM ${BASE}
ARG APT
ARG PKGS
RUN rm -f /etc/apt/sources.list.d/* \
 && echo "deb [trusted=yes] $APT ./" > /etc/apt/sources.list \
 && apt-get update -q \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $PKGS \
 && rm -rf /var/lib/apt/lists/*
RUN useradd -m -u 1001 -s /bin/bash app
COPY src/ /src/
ARG COMPILE
RUN $COMPILE && chown -R app:app /src
USER app
WORKDIR /src
CMD ["/src/app"]
EOF
for i in $(seq 0 39); do
  printf 'int f%d(int x) { int s = 0; for (int i = 0; i < x; ++i) s += i * %d; return s; }\n' "$i" "$i" >"$ctx/src/f$i.c"
done
{ echo '#include <stdio.h>'; for i in $(seq 0 39); do echo "int f$i(int);"; done
  echo 'int main(void) { int s = 0;'; for i in $(seq 0 39); do echo "s += f$i(10);"; done
  echo 'printf("%d\n", s); return 0; }'; } >"$ctx/src/main.c"
printf 'OBJS := $(patsubst %%.c,%%.o,$(wildcard *.c))\napp: $(OBJS)\n\t$(CC) -o $@ $^\n%%.o: %%.c\n\t$(CC) -O2 -c -o $@ $<\n' >"$ctx/src/Makefile"
chmod -R a+rX "$ctx"

# The base image, pushed once by ocibuild (not timed).
mkdir "$work/base-ctx"
cp "$src/testdata/e2e/debian-base/Dockerfile" "$work/base-ctx/"
# A base layer no other image on this machine has: dockerd (shared with the tests) would
# otherwise find the minbase layer already unpacked and skip pulling it in "cold" builds.
cp "$base" "$work/base-ctx/debian-minbase.tar"
mkdir -p "$work/id/etc"; echo "$work $(date +%s.%N)" >"$work/id/etc/bench-id"
tar --numeric-owner --owner=0 --group=0 -C "$work/id" -rf "$work/base-ctx/debian-minbase.tar" ./etc/bench-id
OCIBUILD_ROOT=$work/base-state "$bin" --progress=plain -t "$reg/bench/debian:12" "$work/base-ctx" >>"${BENCH_LOG:-/dev/null}" 2>&1 ||
  { echo "build.sh: pushing the base image failed (see ${BENCH_LOG:-the log})" >&2; exit 1; }
rm -rf "$work/base-state" "$work/base-ctx"

for d in "$src" "$build" "$build/cli" "$(dirname "$bin")"; do chmod o+x "$d" 2>/dev/null || true; done
args=(--build-arg "BASE=$reg/bench/debian:12" --build-arg "APT=http://127.0.0.1:$aptport"
      --build-arg "PKGS=$pkgs" --build-arg "COMPILE=$compile")
state=$work/ocibuild-state
mkdir -p "$state"; chown "$user:" "$state"
ocib=(runuser -u "$user" -- env HOME="$home" OCIBUILD_ROOT="$state" "$bin" --progress=plain "${args[@]}")
bah=(buildah bud --layers --network host --tls-verify=false "${args[@]}")
dkr=("$docker_cli" build --network host --progress=plain "${args[@]}")
# A fresh repository each time: the registry has none of the image's own layers.
fresh_repo() { rm -rf "$work/registry/docker/registry/v2/repositories/$1"; }

cold_setup() {
  case $1 in
    ocibuild) rm -rf "$state"; mkdir -p "$state"; chown "$user:" "$state" ;;
    buildah) buildah rm -a; buildah rmi -af ;;
    docker) "$docker_cli" rmi -f "$reg/docker/app:1" "$reg/bench/debian:12" || true
            "$docker_cli" builder prune -af ;;
  esac
  fresh_repo "$1"
}
BENCH_WRAP=${BENCH_WRAP:-}
build_cmd() {  # TOOL PUSH(0|1) TAG
  local t=$1 push=$2 tag=$3 ref=$reg/$1/app:1
  case $t in
    ocibuild) echo "${BENCH_WRAP//%n/$tag} ${ocib[*]@Q}"; if ((push)); then echo " -t $ref $ctx"; else echo " $ctx"; fi ;;
    buildah) echo "${bah[*]@Q} -t $ref $ctx"; ((push)) && echo " && buildah push --tls-verify=false $ref" ;;
    docker) echo "${dkr[*]@Q} -t $ref $ctx"; ((push)) && echo " && ${docker_cli@Q} push $ref" ;;
  esac
}
run() {  # NAME TOOL SETUP PUSH
  bench_time_with_setup "$1" "$2" 1 "$3" bash -c "$(build_cmd "$2" "$4" "$1-$i" | tr -d '\n')" ||
    echo "build.sh: $1 with $2 failed" >&2
}
for i in $(seq "$runs"); do
  for t in "${tools[@]}"; do run build-cold-push "$t" "cold_setup $t" 1; done
done
for i in $(seq "$runs"); do
  for t in "${tools[@]}"; do run rebuild-cached "$t" ":" 0; done
done
for i in $(seq "$runs"); do
  echo "int edited_$i;" >>"$ctx/src/f7.c"
  for t in "${tools[@]}"; do run rebuild-edit-push "$t" ":" 1; done
done
