#!/usr/bin/env bash
# Issue 20: the apps our users build (bench/apps/: an Express API, a Next.js standalone app after
# Vercel's with-docker example, a Flask app installed with pip), each built and pushed to a local
# docker-registry by
#   ocibuild  as the unprivileged user ocibuild-test (no capabilities, RUN in the supervised sandbox)
#   docker    `docker build` with BuildKit (DOCKER_BUILDKIT=1) against dockerd (scripts/dockerd.sh), as root
#   buildah   `buildah bud --layers` as root, when installed
# in four modes, in this order, tools interleaved run by run (BENCH lines, one per run; bench/run
# takes medians):
#   app-<app>-ephemeral  a fresh CI runner: nothing local (ocibuild: an empty OCIBUILD_ROOT;
#                        docker: base and app images removed, `docker builder prune -af`;
#                        buildah: images removed), so the base is pulled too; then push
#   app-<app>-edit       one source file edited, rebuild with the cache; then push
#   app-<app>-nochange   the same build again; then push
#   app-<app>-warm       a warm pod: the base is present, `--no-cache`; then push
# (warm comes last: a rebuild after a --no-cache build measures something else, see
# bench/results/apps-breakdown.md)
# Every push goes to a fresh repository in ephemeral and warm mode (all the app's layers upload),
# to the same one in edit and nochange mode.
# The bases (Debian 12 + Debian's nodejs 18 / npm or python3 / pip, see bench/apps_base.sh) are
# pushed to the registry once per run, with a layer no earlier run had; npm and pip fetch from
# local servers (a mirror of the lockfiles' tarballs, wheels made from Debian's packages): the
# network is out of the measurement, and every tool gets the same bytes.
# Time: wall clock of the build command plus the push command (ocibuild pushes in the build);
# app-<app>-<mode>-pushed: until the image was pushed (ocibuild then still removes its work trees).
# Peak RSS column: the peak of the summed PSS of the tool's own processes, polled every 0.1 s:
# ocibuild (with its per-step sandbox processes); docker CLI + dockerd + containerd (the daemon's
# baseline included); buildah. RUN steps' own processes are not in it (the largest process of the
# command's tree, RUN steps included, is in the log's RSS line). Per-step times go to
# bench/results/apps-breakdown.md.
#   bench/apps.sh   (root; N=runs, default 3; BENCH_APPS="express-api flask-pip" limits the apps,
#                    BENCH_TOOLS="ocibuild docker" the tools, BENCH_MODES the modes, BENCH_SKIP
#                    single measurements: see below)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/.." && pwd)
build=$(cd "${OCIBUILD_BUILD_DIR:-$src/build}" && pwd)
bin=${OCIBUILD_BINARY:-$build/cli/ocibuild}
. "$here/lib.sh"
. "$here/apps_base.sh"
runs=${N:-3}
[ "$(id -u)" = 0 ] || { echo "apps.sh: needs root (peers run as root; ocibuild as ocibuild-test)" >&2; exit 77; }
[ -x "$bin" ] || { echo "apps.sh: $bin not built" >&2; exit 1; }
have docker-registry || { echo "apps.sh: docker-registry not installed: skipped" >&2; exit 77; }
apps=(${BENCH_APPS:-express-api nextjs-standalone flask-pip})
modes=(${BENCH_MODES:-ephemeral edit nochange warm})
helper=(python3 "$here/apps_helper.py")
log=${BENCH_LOG:-/dev/null}
user=ocibuild-test
id -u "$user" >/dev/null 2>&1 || useradd --create-home --shell /bin/sh "$user"
home=$(getent passwd "$user" | cut -d: -f6)

want() { [ -z "${BENCH_TOOLS:-}" ] || [[ " $BENCH_TOOLS " == *" $1 "* ]]; }
tools=(ocibuild)
docker_cli=$(command -v docker || true)
[ -x /usr/bin/docker ] && docker_cli=/usr/bin/docker
if ! want docker; then :; elif [ -n "$docker_cli" ] && dh=$("$src/scripts/dockerd.sh" start 2>/dev/null); then
  export DOCKER_HOST=$dh DOCKER_BUILDKIT=1
  tools+=(docker)
else
  echo "apps.sh: no docker daemon (scripts/dockerd.sh start failed): docker skipped" >&2
fi
if ! want buildah; then :; elif have buildah; then tools+=(buildah); else echo "apps.sh: buildah not installed: skipped" >&2; fi
want ocibuild || tools=("${tools[@]:1}")

# Inputs made once (not timed): the bases' rootfs tarballs, the npm mirror, the wheels.
node_tar=$(apps_base_rootfs node) && py_tar=$(apps_base_rootfs python) && apps_inputs ||
  { echo "apps.sh: preparing the inputs failed (see $log)" >&2; exit 1; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
work=$(mktemp -d /tmp/ocibuild-bench-apps.XXXXXX)
chmod 755 "$work"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  if [[ " ${tools[*]} " == *" docker "* ]]; then
    "$docker_cli" rmi -f $("$docker_cli" images -q --filter "reference=127.0.0.1:$regport/*/*" 2>/dev/null) >/dev/null 2>&1 || true
    "$docker_cli" builder prune -af >/dev/null 2>&1 || true
  fi
  if [[ " ${tools[*]} " == *" buildah "* ]]; then
    buildah rmi -f $(buildah images -q --filter "reference=127.0.0.1:$regport/*/*" 2>/dev/null) >/dev/null 2>&1 || true
    buildah rmi --prune >/dev/null 2>&1 || true
  fi
  if [ -n "${BENCH_KEEP:-}" ]; then echo "apps.sh: kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT

# The registry, the npm mirror and the package index.
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
docker-registry serve "$work/registry.yml" >>"$log" 2>&1 &
pids+=($!)
npmport=$(free_port)
python3 -m http.server --bind 127.0.0.1 --directory "$build/bench-apps/npm-mirror" "$npmport" >/dev/null 2>&1 &
pids+=($!)
pyport=$(free_port)
python3 -m http.server --bind 127.0.0.1 --directory "$build/bench-apps/wheels" "$pyport" >/dev/null 2>&1 &
pids+=($!)
for _ in $(seq 50); do
  curl -sf "http://$reg/v2/" >/dev/null && curl -sf "http://127.0.0.1:$pyport/simple/" >/dev/null && break
  sleep 0.2
done

# The bases, pushed by ocibuild (not timed). Each gets a layer no image on this machine has:
# dockerd (shared with the tests) would otherwise find layers of an earlier run and skip the pull.
push_base() {  # TAR REF ENV-LINES CMD
  local tar=$1 ref=$2 envs=$3 cmd=$4 ctx=$work/base-ctx
  rm -rf "$ctx"; mkdir -p "$ctx/id/etc"
  ln "$tar" "$ctx/rootfs.tar" 2>/dev/null || cp "$tar" "$ctx/rootfs.tar"
  echo "$work $ref $(date +%s.%N)" >"$ctx/id/etc/bench-id"
  printf 'FROM scratch\nADD rootfs.tar /\nCOPY id/ /\n%s\nCMD %s\n' "$envs" "$cmd" >"$ctx/Dockerfile"
  OCIBUILD_ROOT=$work/base-state "$bin" --progress=plain -t "$reg/$ref" "$ctx" >>"$log" 2>&1 ||
    { echo "apps.sh: pushing the base $ref failed (see $log)" >&2; exit 1; }
  rm -rf "$work/base-state" "$ctx"
}
push_base "$node_tar" bench/node:18 \
  "ENV NPM_CONFIG_REGISTRY=http://127.0.0.1:$npmport/ NPM_CONFIG_AUDIT=false NPM_CONFIG_FUND=false NPM_CONFIG_UPDATE_NOTIFIER=false" \
  '["node"]'
push_base "$py_tar" bench/python:3.11 \
  "ENV PIP_INDEX_URL=http://127.0.0.1:$pyport/simple/ PIP_TRUSTED_HOST=127.0.0.1 PIP_BREAK_SYSTEM_PACKAGES=1 PIP_DISABLE_PIP_VERSION_CHECK=1" \
  '["python3"]'
base_of() { case $1 in flask-pip) echo "$reg/bench/python:3.11" ;; *) echo "$reg/bench/node:18" ;; esac; }
edit_file() {  # the one file a developer edits between builds
  case $1 in
    express-api) echo src/todos.js ;;
    nextjs-standalone) echo app/posts.js ;;
    flask-pip) echo app/__init__.py ;;
  esac
}
edit_line() {
  case $1 in flask-pip) echo "# edit $2" ;; *) echo "// edit $2" ;; esac
}

# Each tool builds its own copy of the context (the same files): BuildKit and buildah must not see
# a file ocibuild's user could change, and the edit happens in all copies at once.
for app in "${apps[@]}"; do
  for t in "${tools[@]}"; do
    mkdir -p "$work/ctx/$t"
    cp -a "$here/apps/$app" "$work/ctx/$t/$app"
  done
done
chmod -R a+rX "$work/ctx"
for d in "$src" "$build" "$build/cli" "$(dirname "$bin")" "$here"; do chmod o+x "$d" 2>/dev/null || true; done
# runuser's PAM session gives ocibuild-test a soft RLIMIT_NOFILE of 1024. The Go peers raise their
# own soft limit to the hard one at start (Go's runtime does since 1.19); ocibuild does not, and its
# sandbox's supervisor then runs out of descriptors in the Next.js app's `npm ci` (the step gets
# EMFILE and hangs). Like a CI runner (GitHub's: 65536), ocibuild runs with soft = hard;
# BENCH_OCIBUILD_NOFILE=keep runs it with runuser's limits.
nofile='ulimit -Sn "$(ulimit -Hn)"; '
[ "${BENCH_OCIBUILD_NOFILE:-}" = keep ] && nofile=
state=$work/ocibuild-state
mkdir -p "$state" "$work/logs"; chown "$user:" "$state"
breakdown_dir=$work/logs

# One measurement: the build (with its push for ocibuild), then the push for the others; the
# output, timestamped, goes to logs/<app>-<mode>-<tool>.log.
measure() {  # APP MODE TOOL
  local app=$1 mode=$2 t=$3 ctx=$work/ctx/$3/$1 ref=$reg/$3/$1:$2
  [[ $mode == edit || $mode == nochange ]] && ref=$reg/$t/$app:incremental
  local l=$breakdown_dir/$app-$mode-$t.log nc=()
  [[ $mode == warm ]] && nc=(--no-cache)
  local args=(--build-arg "BASE=$(base_of "$app")" -t "$ref")
  local b p=() names
  case $t in
    ocibuild)
      b=(runuser -u "$user" -- bash -c "$nofile"'exec "$@"' bash
         env HOME="$home" OCIBUILD_ROOT="$state" "$bin" --progress=plain "${nc[@]}" "${args[@]}" "$ctx")
      names=ocibuild ;;
    docker)
      b=("$docker_cli" build --network host --progress=plain "${nc[@]}" "${args[@]}" "$ctx")
      p=("$docker_cli" push "$ref")
      names=docker,dockerd,containerd ;;
    buildah)
      b=(buildah bud --layers --network host --tls-verify=false "${nc[@]}" "${args[@]}" "$ctx")
      p=(buildah push --tls-verify=false "$ref")
      names=buildah ;;
  esac
  local bo po="0 0 0"
  bo=$("${helper[@]}" measure "$l" "$names" -- "${b[@]}") || { echo "apps.sh: $app $mode with $t: build failed (see $l)" >&2; return 1; }
  if ((${#p[@]})); then
    po=$("${helper[@]}" measure "$l.push" "$names" -- "${p[@]}") || { echo "apps.sh: $app $mode with $t: push failed" >&2; return 1; }
  fi
  local bw br bt pw pr pt
  read -r bw br bt <<<"$bo"
  read -r pw pr pt <<<"$po"
  local rss=$((br > pr ? br : pr))
  {
    echo "@@ PHASE phase:build $bw"
    ((${#p[@]})) && echo "@@ PHASE phase:push $pw"
    echo "@@ PHASE phase:total $(python3 -c "print(f'{$bw + $pw:.3f}')")"
    echo "@@ RSS tool=${rss}KiB largest-process=$((bt > pt ? bt : pt))KiB"
  } >>"$l"
  cat "$l.push" >>"$l.pushes" 2>/dev/null || true
  rm -f "$l.push"
  local total
  total=$(python3 -c "print(f'{$bw + $pw:.3f}')")
  echo "BENCH|app-$app-$mode|$t|$total|$rss"
  # When the image was in the registry: ocibuild prints `Build complete` after its push and then
  # removes its work trees before it exits; the others are done when their push is.
  local pushed=$total
  if [ "$t" = ocibuild ]; then
    pushed=$(awk '/^@@ CMD/ {t = ""} /^@@ +[0-9.]+ Build complete/ {t = $2} END {print t}' "$l")
  fi
  echo "BENCH|app-$app-$mode-pushed|$t|${pushed:-$total}|$rss"
}
# Setup before a measurement, not timed.
setup() {  # APP MODE TOOL
  local app=$1 mode=$2 t=$3
  case $mode in
    ephemeral)
      case $t in
        ocibuild) rm -rf "$state"; mkdir -p "$state"; chown "$user:" "$state" ;;
        docker) "$docker_cli" rmi -f $("$docker_cli" images -q --filter "reference=$reg/*/*") || true
                "$docker_cli" builder prune -af ;;
        # Not `buildah rm -a`: that would remove the build containers of anyone else's build.
        buildah) buildah rmi -f $(buildah images -q --filter "reference=$reg/*/*") || true
                 buildah rmi --prune || true ;;
      esac ;;
  esac
  case $mode in
    ephemeral|warm) rm -rf "$work/registry/docker/registry/v2/repositories/$t/$app" ;;
  esac
  sync
}
# BENCH_SKIP: glob patterns of APP/MODE/TOOL/RUN to leave out (a short run on a busy machine),
# e.g. "nextjs-standalone/warm/*/* nextjs-standalone/*/buildah/* nextjs-standalone/*/*/2".
skipped() {
  local pat
  for pat in ${BENCH_SKIP:-}; do [[ $1 == $pat ]] && return 0; done
  return 1
}
set -f  # the patterns stay patterns
for i in $(seq "$runs"); do
  for app in "${apps[@]}"; do
    for mode in "${modes[@]}"; do
      if [ "$mode" = edit ]; then
        for t in "${tools[@]}"; do edit_line "$app" "$i" >>"$work/ctx/$t/$app/$(edit_file "$app")"; done
      fi
      for t in "${tools[@]}"; do
        skipped "$app/$mode/$t/$i" && continue
        setup "$app" "$mode" "$t" >>"$log" 2>&1 || echo "apps.sh: setup of $app $mode for $t failed" >&2
        measure "$app" "$mode" "$t" || true
      done
    done
  done
done
set +f
"${helper[@]}" breakdown "$here/results/apps-breakdown.md" "$breakdown_dir"/*.log
mkdir -p "$here/results/raw"
tar -czf "$here/results/raw/apps-logs.tar.gz" -C "$work" logs 2>/dev/null || true
