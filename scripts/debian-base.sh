#!/usr/bin/env bash
# Prints the path of a cached Debian 12 minbase rootfs tarball (numeric owners kept), creating it
# with debootstrap on first use. Tests use it as a real Debian base image.
#   scripts/debian-base.sh [CACHE_DIR]   (default: $OCIBUILD_BUILD_DIR/cache or ./build/cache)
set -euo pipefail
cache=${1:-${OCIBUILD_BUILD_DIR:-$(cd "$(dirname "$0")/.." && pwd)/build}/cache}
out=$cache/debian-minbase.tar
if [ -s "$out" ]; then echo "$out"; exit 0; fi
[ "$(id -u)" = 0 ] || { echo "debian-base.sh: creating the base needs root (debootstrap); run it once as root" >&2; exit 77; }
mkdir -p "$cache"
exec 9>"$cache/.debian-minbase.lock"
flock 9
if [ -s "$out" ]; then echo "$out"; exit 0; fi
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
work=$(mktemp -d "$cache/debootstrap.XXXXXX")
trap 'rm -rf "$work"' EXIT
debootstrap --variant=minbase bookworm "$work/root" "$mirror" >"$cache/debootstrap.log" 2>&1 || {
  echo "debian-base.sh: debootstrap failed; see $cache/debootstrap.log" >&2; tail -20 "$cache/debootstrap.log" >&2; exit 1; }
rm -rf "$work/root/var/cache/apt/archives/"*.deb "$work/root/var/lib/apt/lists/"*_Packages
tar --numeric-owner --xattrs --xattrs-include='*' -C "$work/root" -cf "$out.tmp" .
mv "$out.tmp" "$out"
echo "$out"
