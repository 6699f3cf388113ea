#!/usr/bin/env bash
# Prints the path of an arm64 busybox (Debian's busybox-static for arm64), fetching it on first
# use with apt-get from the host's Debian mirror into a private package list: the machine's
# dpkg architectures and apt state are not touched. Unprivileged test runs reuse the cached
# copy (scripts/test.sh prepares it).
#   scripts/arm64-busybox.sh [CACHE_DIR]   (default: $OCIBUILD_BUILD_DIR/cache or ./build/cache)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache=${1:-${OCIBUILD_BUILD_DIR:-$here/../build}/cache}
out=$cache/arm64-busybox
if [ -x "$out/busybox" ]; then echo "$out/busybox"; exit 0; fi
command -v apt-get >/dev/null || { echo "arm64-busybox.sh: no apt-get here" >&2; exit 77; }
mkdir -p "$cache"
work=$(mktemp -d "$out.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/lists/partial" "$work/cache/archives/partial" "$work/dl"
opts=(-o "Dir::State::Lists=$work/lists" -o "Dir::Cache=$work/cache" -o APT::Architecture=arm64
  -o APT::Architectures::=arm64 -o Dir::State::status=/dev/null -o Debug::NoLocking=1
  -o APT::Sandbox::User=root)
apt-get "${opts[@]}" update >"$work/update.log" 2>&1 || {
  echo "arm64-busybox.sh: apt-get update (arm64 lists) failed:" >&2; tail -5 "$work/update.log" >&2; exit 1; }
(cd "$work/dl" && apt-get "${opts[@]}" download busybox-static:arm64 >"$work/download.log" 2>&1) || {
  echo "arm64-busybox.sh: apt-get download failed:" >&2; tail -5 "$work/download.log" >&2; exit 1; }
dpkg-deb -x "$work"/dl/busybox-static_*_arm64.deb "$work/root"
mkdir -p "$work/out"
cp "$work/root/bin/busybox" "$work/out/busybox"
chmod -R a+rX "$work/out"
rm -rf "$out"
mv "$work/out" "$out"
echo "$out/busybox"
