#!/usr/bin/env bash
# Runs a test binary inside the environment ocibuild is for: `docker run --user 1000
# --cap-drop=ALL` with Docker's default seccomp profile and the container's root on overlayfs,
# in a stock Debian minbase image with no packages added. --network host lets the test reach
# servers it starts on 127.0.0.1. Used by ctest for tests declared CONTAINER.
#   scripts/in-container.sh BINARY [ARGS...]
# Exits 77 (ctest: skipped) with a loud message where no Docker daemon can run.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/.." && pwd)
bin=$(readlink -f "$1"); shift
host=$("$here/dockerd.sh" start) || {
  echo "*** in-container: SKIPPED: no Docker daemon can run here; the container test did not run ***" >&2
  exit 77
}
export DOCKER_HOST=$host
docker=$(command -v docker); [ -x /usr/bin/docker ] && docker=/usr/bin/docker
base_tar=${OCIBUILD_DEBIAN_BASE:-}
[ -n "$base_tar" ] && [ -f "$base_tar" ] || base_tar=$("$here/debian-base.sh")
base_image=ocibuild-testbase:$(stat -c %Y-%s "$base_tar")
if ! "$docker" image inspect "$base_image" >/dev/null 2>&1; then
  (
    exec 9>/run/ocibuild-test/testbase.lock
    flock 9
    if ! "$docker" image inspect "$base_image" >/dev/null 2>&1; then
      "$docker" import "$base_tar" "$base_image.tmp" >/dev/null
      c=$("$docker" create "$base_image.tmp" /bin/true)
      "$docker" cp /bin/busybox "$c:/usr/local/bin/busybox"
      "$docker" commit "$c" "$base_image" >/dev/null
      "$docker" rm -f "$c" >/dev/null
      "$docker" rmi "$base_image.tmp" >/dev/null || true
    fi
  )
fi

# Stage /opt/t: the test binary, ocibuild, the shared libraries they need that the base image
# lacks, the source tree's testdata and scripts, the conformance data and the Debian base tar.
stage=$(mktemp -d /tmp/ocibuild-ctr.XXXXXX)
name=ocibuild-test-$$-$RANDOM
cleanup() { "$docker" rm -f "$name" >/dev/null 2>&1 || true; rm -rf "$stage"; }
trap cleanup EXIT
t=$stage/opt/t
mkdir -p "$t/bin" "$t/lib" "$t/src" "$t/build" "$t/cache"
chmod 1777 "$t/build"
cp "$bin" "$t/bin/"
progs=("$bin")
if [ -n "${OCIBUILD_BINARY:-}" ] && [ -x "$OCIBUILD_BINARY" ]; then
  cp "$OCIBUILD_BINARY" "$t/bin/ocibuild"; progs+=("$OCIBUILD_BINARY")
fi
base_libs=$(tar -tf "$base_tar" | sed -n 's|.*/\([^/]*\.so[.0-9]*\)$|\1|p' | sort -u)
for p in "${progs[@]}"; do
  { ldd "$p" 2>/dev/null || true; } | awk '/=>/ {print $3}' | while read -r lib; do
    [ -f "$lib" ] || continue
    grep -qxF "$(basename "$lib")" <<<"$base_libs" || cp -L "$lib" "$t/lib/"
  done
done
cp -a "$src/testdata" "$src/scripts" "$t/src/"
[ -d "$src/examples" ] && cp -a "$src/examples" "$t/src/"
conf=${OCIBUILD_CONFORMANCE:-$src/../shared/conformance}
[ -d "$conf" ] && cp -a "$conf" "$t/conformance"
cp "$base_tar" "$t/cache/debian-minbase.tar"
chmod -R a+rX "$t"
# The prepared test inputs (local apt repositories, ...) are read-only and large: mount them.
cache_mount=()
host_cache=${OCIBUILD_TEST_CACHE:-${OCIBUILD_BUILD_DIR:+$OCIBUILD_BUILD_DIR/cache}}
if [ -n "$host_cache" ] && [ -d "$host_cache" ]; then
  cache_mount=(-v "$(readlink -f "$host_cache"):/opt/t/hostcache:ro" -e OCIBUILD_TEST_CACHE=/opt/t/hostcache)
fi

"$docker" create --name "$name" --user 1000:1000 --cap-drop=ALL --network host \
  --workdir /tmp -e HOME=/tmp -e TMPDIR=/tmp -e LD_LIBRARY_PATH=/opt/t/lib \
  -e OCIBUILD_IN_CONTAINER=1 \
  -e OCIBUILD_SOURCE_DIR=/opt/t/src -e OCIBUILD_TESTDATA=/opt/t/src/testdata \
  -e OCIBUILD_CONFORMANCE=/opt/t/conformance -e OCIBUILD_BUILD_DIR=/opt/t/build \
  -e OCIBUILD_BINARY=/opt/t/bin/ocibuild -e OCIBUILD_DEBIAN_BASE=/opt/t/cache/debian-minbase.tar \
  "${cache_mount[@]}" \
  -e GTEST_COLOR=no \
  "$base_image" "/opt/t/bin/$(basename "$bin")" "$@" >/dev/null
"$docker" cp "$stage/opt" "$name:/"
set +e
"$docker" start -a "$name"
rc=$?
exit $rc
