#!/usr/bin/env bash
# Runs a test binary as an ordinary unprivileged user (no capabilities), the way ocibuild's users
# run it. Used by ctest for tests declared UNPRIV. As root it creates the user `ocibuild-test`
# on first use; run by a non-root user it simply runs the binary.
#   scripts/as-user.sh BINARY [ARGS...]
set -euo pipefail
bin=$(readlink -f "$1"); shift
if [ "$(id -u)" != 0 ]; then exec "$bin" "$@"; fi
user=ocibuild-test
if ! id -u "$user" >/dev/null 2>&1; then
  useradd --create-home --shell /bin/sh "$user" 2>/dev/null || id -u "$user" >/dev/null
fi
home=$(getent passwd "$user" | cut -d: -f6)
# The test reads the source tree, the build tree and the conformance data: make the directories
# on the way there traversable (not readable) for others, as a CI checkout under /root is not.
for p in "$bin" ${OCIBUILD_SOURCE_DIR:-} ${OCIBUILD_BUILD_DIR:-} ${OCIBUILD_CONFORMANCE:-} \
         ${OCIBUILD_DEBIAN_BASE:-} ${OCIBUILD_BINARY:-}; do
  d=$(readlink -f "$p" 2>/dev/null || echo "$p")
  while [ "$d" != / ] && [ -n "$d" ]; do
    [ -d "$d" ] && chmod o+x "$d" 2>/dev/null || true
    d=$(dirname "$d")
  done
done
[ -n "${OCIBUILD_DEBIAN_BASE:-}" ] && [ -f "$OCIBUILD_DEBIAN_BASE" ] && chmod o+r "$OCIBUILD_DEBIAN_BASE"
tmp=$(mktemp -d /tmp/ocibuild-unpriv.XXXXXX)
chown "$user:" "$tmp"
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
set +e
runuser -u "$user" -- env HOME="$home" USER="$user" LOGNAME="$user" TMPDIR="$tmp" \
  XDG_CACHE_HOME="$tmp/cache" "$bin" "$@"
rc=$?
exit $rc
