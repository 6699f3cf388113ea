#!/usr/bin/env bash
# A large build context (node_modules-like: 20,000 small files in 400 directories plus three
# 30 MB files, ~250 MB), `COPY . /app` onto a scratch base, rebuilt with the cache:
#   context-nochange   nothing changed since the last build
#   context-edit       one file rewritten (the COPY runs again)
# ocibuild runs as the unprivileged user ocibuild-test with no output (the result stays in its
# cache); docker is `docker build -q` with BuildKit against dockerd (scripts/dockerd.sh), as
# root, whose local source re-sends only changed files. Both tools build once before measuring.
#   bench/context.sh   (root; N=runs, default 3; BENCH_TOOLS limits the tools)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/.." && pwd)
build=$(cd "${OCIBUILD_BUILD_DIR:-$src/build}" && pwd)
bin=${OCIBUILD_BINARY:-$build/cli/ocibuild}
. "$here/lib.sh"
runs=${N:-3}
[ "$(id -u)" = 0 ] || { echo "context.sh: needs root (ocibuild runs as ocibuild-test)" >&2; exit 77; }
[ -x "$bin" ] || { echo "context.sh: $bin not built" >&2; exit 1; }
user=ocibuild-test
id -u "$user" >/dev/null 2>&1 || useradd --create-home --shell /bin/sh "$user"
want() { [ -z "${BENCH_TOOLS:-}" ] || [[ " $BENCH_TOOLS " == *" $1 "* ]]; }
tools=(ocibuild)
docker_cli=$(command -v docker || true)
[ -x /usr/bin/docker ] && docker_cli=/usr/bin/docker
if want docker && [ -n "$docker_cli" ] && dh=$("$src/scripts/dockerd.sh" start 2>/dev/null); then
  export DOCKER_HOST=$dh DOCKER_BUILDKIT=1
  tools+=(docker)
elif want docker; then
  echo "context.sh: no docker daemon: docker skipped" >&2
fi

work=$(mktemp -d /tmp/ocibuild-bench-context.XXXXXX)
chmod 755 "$work"
trap 'rm -rf "$work"' EXIT
python3 - "$work/ctx" <<'PY'
import os, random, sys
random.seed(1)
root = sys.argv[1]
for i in range(20000):
    d = os.path.join(root, f"node_modules/pkg{i // 50}/lib")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, f"f{i}.js"), "wb") as f:
        f.write(os.urandom(200) + b"x" * random.randint(500, 12000))
os.makedirs(os.path.join(root, "node_modules/bin"), exist_ok=True)
for i in range(3):
    with open(os.path.join(root, f"node_modules/bin/native{i}.node"), "wb") as f:
        f.write(os.urandom(30 * 1024 * 1024))
with open(os.path.join(root, "Dockerfile"), "w") as f:
    f.write("FROM scratch\nCOPY . /app\n")
PY
# One copy per tool: one tool's edit must not be a change for the other. The file times are
# older than ocibuild's racy window (2 s) by the time anything reads them.
for t in "${tools[@]}"; do cp -a "$work/ctx" "$work/ctx-$t"; done
rm -rf "$work/ctx"
sleep 3
chown -R "$user" "$work"
state=$work/state
oci=(runuser -u "$user" -- env OCIBUILD_ROOT="$state" "$bin" --progress=quiet "$work/ctx-ocibuild")
dock=("$docker_cli" build -q -t ocibuild-bench-context "$work/ctx-docker")
edit_of() { echo "echo \"// edit \$RANDOM\" >>'$work/ctx-$1/node_modules/pkg7/lib/f350.js'"; }
for t in "${tools[@]}"; do
  case $t in ocibuild) "${oci[@]}" >/dev/null ;; docker) "${dock[@]}" >/dev/null ;; esac
done
for ((r = 0; r < runs; r++)); do
  for t in "${tools[@]}"; do
    if [ "$t" = docker ]; then cmd=("${dock[@]}"); else cmd=("${oci[@]}"); fi
    bench_time context-nochange "$t" 1 "${cmd[@]}"
    bench_time_with_setup context-edit "$t" 1 "$(edit_of "$t")" "${cmd[@]}"
  done
done
[[ " ${tools[*]} " == *" docker "* ]] && "$docker_cli" rmi -f ocibuild-bench-context >/dev/null 2>&1 || true
