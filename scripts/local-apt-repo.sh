#!/usr/bin/env bash
# Prints the path of a flat local apt repository (.debs + Packages) for the sandbox's apt tests,
# creating it on first use with `apt-get download` from the host's Debian mirror: a few small
# packages plus whatever of their dependencies the Debian minbase lacks. Unprivileged test runs
# reuse it and skip loudly when it is absent. A copy goes to testdata/sandbox/apt-repo (ignored by
# git) so that container test runs, which receive testdata/, find it too.
#   scripts/local-apt-repo.sh [CACHE_DIR]   (default: $OCIBUILD_BUILD_DIR/cache or ./build/cache)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache=${1:-${OCIBUILD_BUILD_DIR:-$here/../build}/cache}
out=$cache/apt-repo
pkgs="hello tree libcap2-bin sudo"
mirror_to_testdata() {
  local td=$here/../testdata/sandbox/apt-repo
  if [ ! -s "$td/Packages" ] || [ "$(cat "$td/.pkgs" 2>/dev/null)" != "$pkgs" ]; then
    rm -rf "$td.tmp" && mkdir -p "$(dirname "$td")" && cp -a "$out" "$td.tmp" && rm -rf "$td" &&
      mv "$td.tmp" "$td" || true
  fi
}
if [ -s "$out/Packages" ] && [ "$(cat "$out/.pkgs" 2>/dev/null)" = "$pkgs" ]; then
  mirror_to_testdata; echo "$out"; exit 0
fi
base=${OCIBUILD_DEBIAN_BASE:-}
[ -n "$base" ] && [ -f "$base" ] || base=$("$here/debian-base.sh" "$cache")
mkdir -p "$cache"
work=$(mktemp -d "$cache/apt-repo.XXXXXX")
trap 'rm -rf "$work"' EXIT
tar -xOf "$base" ./var/lib/dpkg/status | awk '/^Package:/{print $2}' | sort -u >"$work/installed"
apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks \
  --no-replaces --no-enhances $pkgs | grep -E '^[a-z0-9]' | sort -u >"$work/wanted"
comm -23 "$work/wanted" "$work/installed" >"$work/missing"
mkdir "$work/repo"
(cd "$work/repo" && apt-get download $(cat "$work/missing") >/dev/null 2>"$work/download.log") || {
  echo "local-apt-repo.sh: apt-get download failed:" >&2; cat "$work/download.log" >&2; exit 1; }
(cd "$work/repo" && dpkg-scanpackages --multiversion . /dev/null >Packages 2>/dev/null)
echo "$pkgs" >"$work/repo/.pkgs"
chmod -R a+rX "$work/repo"
rm -rf "$out"
mv "$work/repo" "$out"
mirror_to_testdata
echo "$out"
