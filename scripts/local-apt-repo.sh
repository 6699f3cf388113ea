#!/usr/bin/env bash
# Prints the path of a flat local apt repository (.debs + Packages) for the sandbox's apt tests,
# creating it on first use with `apt-get download` from the host's Debian mirror: a few small
# packages plus whatever of their dependencies the Debian minbase lacks. Unprivileged test runs
# reuse it and skip loudly when it is absent. SET picks the package set:
#   base       hello tree libcap2-bin sudo (small; the sandbox's apt tests)  -> CACHE/apt-repo
#   toolchain  gcc make libc6-dev python3 python3-pip (compile and app builds) -> CACHE/apt-repo-toolchain
#   node       nodejs npm                                                     -> CACHE/apt-repo-node
#   python     python3 python3-pip python3-flask gunicorn ca-certificates     -> CACHE/apt-repo-python
#   golang     golang-go ca-certificates                                      -> CACHE/apt-repo-golang
# A copy of the base set goes to testdata/sandbox/apt-repo (ignored by git) so that container
# test runs, which receive testdata/, find it too; the larger sets stay in the cache.
#   scripts/local-apt-repo.sh [CACHE_DIR] [SET]  (default: $OCIBUILD_BUILD_DIR/cache or ./build/cache; base)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache=${1:-${OCIBUILD_BUILD_DIR:-$here/../build}/cache}
set_name=${2:-base}
case $set_name in
  base) out=$cache/apt-repo; pkgs="hello tree libcap2-bin sudo" ;;
  toolchain) out=$cache/apt-repo-toolchain; pkgs="gcc make libc6-dev python3 python3-pip" ;;
  node) out=$cache/apt-repo-node; pkgs="nodejs npm" ;;
  python) out=$cache/apt-repo-python; pkgs="python3 python3-pip python3-flask gunicorn ca-certificates" ;;
  golang) out=$cache/apt-repo-golang; pkgs="golang-go ca-certificates" ;;
  *) echo "local-apt-repo.sh: unknown package set '$set_name' (base, toolchain, node, python, golang)" >&2; exit 2 ;;
esac
mirror_to_testdata() {
  [ "$set_name" = base ] || return 0
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
work=$(mktemp -d "$out.XXXXXX")
trap 'rm -rf "$work"' EXIT
tar -xOf "$base" ./var/lib/dpkg/status | awk '/^Package:/{print $2}' | sort -u >"$work/installed"
apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks \
  --no-replaces --no-enhances $pkgs | grep -E '^[a-z0-9]' | sort -u >"$work/wanted"
comm -23 "$work/wanted" "$work/installed" >"$work/missing"
mkdir "$work/repo"
# Pin each package to the newest version a configured mirror has: a locally installed version
# from elsewhere (a vendor repository, say) is the candidate but cannot be downloaded.
apt-cache madison $(cat "$work/missing") |
  awk -F' *[|] *' '{ sub(/^ */, "", $1) } !seen[$1]++ { print $1 "=" $2 }' >"$work/pinned"
(cd "$work/repo" && apt-get download $(cat "$work/pinned") >/dev/null 2>"$work/download.log") || {
  echo "local-apt-repo.sh: apt-get download failed:" >&2; cat "$work/download.log" >&2; exit 1; }
(cd "$work/repo" && dpkg-scanpackages --multiversion . /dev/null >Packages 2>/dev/null)
echo "$pkgs" >"$work/repo/.pkgs"
chmod -R a+rX "$work/repo"
rm -rf "$out"
mv "$work/repo" "$out"
mirror_to_testdata
echo "$out"
