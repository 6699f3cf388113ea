#!/usr/bin/env bash
# Makes the release artifact ocibuild-linux-amd64.tar.gz: one directory that runs unchanged on any
# x86-64 Linux (Debian, Ubuntu, Alpine/musl, busybox-only images) with nothing installed.
#   scripts/release.sh [OUT_DIR]          (default OUT_DIR: build/release)
# Builds a Release tree in build/release-tree unless OCIBUILD_BINARY names an ocibuild binary to
# package. Prints the tarball's path. Needs the build's libraries installed (Debian 12).
#
# Layout (docs/release.md says why): bin/ocibuild is a POSIX-sh launcher that runs the bundled
# glibc loader on libexec/ocibuild with --library-path lib --inhibit-cache, so nothing from the
# host's /lib or ld.so.cache is used and nothing is put in the environment the build inherits.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/.." && pwd)
out=$(mkdir -p "${1:-$src/build/release}" && cd "${1:-$src/build/release}" && pwd)
name=ocibuild-linux-amd64

[ "$(uname -m)" = x86_64 ] || { echo "release.sh: only x86-64 is supported" >&2; exit 1; }

bin=${OCIBUILD_BINARY:-}
if [ -z "$bin" ]; then
  tree=$src/build/release-tree
  launcher=()
  command -v ccache >/dev/null &&
    launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
  cmake -S "$src" -B "$tree" -G Ninja -DCMAKE_BUILD_TYPE=Release -DOCIBUILD_TESTS=OFF \
    "${launcher[@]}" >&2
  ninja -C "$tree" ocibuild >&2
  bin=$tree/cli/ocibuild
fi
[ -x "$bin" ] || { echo "release.sh: no ocibuild binary at $bin" >&2; exit 1; }

stage=$(mktemp -d "${TMPDIR:-/tmp}/ocibuild-release.XXXXXX")
trap 'rm -rf "$stage"' EXIT
root=$stage/$name
mkdir -p "$root/bin" "$root/libexec" "$root/lib" "$root/share/licenses"

# The program, stripped: debug info is most of its size.
objcopy --strip-unneeded "$bin" "$root/libexec/ocibuild"

# Every shared library ldd resolves, under its soname, plus the loader itself. ldd runs the
# system loader in trace mode, which is what will resolve them at run time, so the list is
# exactly the closure (transitive dependencies included).
loader=
while read -r soname arrow path _; do
  case "$soname" in
    linux-vdso.so.*) continue ;;
    /*ld-linux-x86-64.so.2) loader=$soname; continue ;;
  esac
  [ "$arrow" = "=>" ] && [ -f "$path" ] || { echo "release.sh: unresolved: $soname $arrow $path" >&2; exit 1; }
  cp -L "$path" "$root/lib/$soname"
  echo "$path" >>"$stage/paths"
done < <(ldd "$bin")
[ -n "$loader" ] || { echo "release.sh: $bin is not dynamically linked against glibc?" >&2; exit 1; }
cp -L "$loader" "$root/lib/ld-linux-x86-64.so.2"
echo "$loader" >>"$stage/paths"
chmod 0644 "$root"/lib/*
chmod 0755 "$root/lib/ld-linux-x86-64.so.2"

# The bundled libraries' licences (LGPL glibc among them), from the packages that ship them.
# dpkg knows a file under the name its package ships (usrmerge: /lib or /usr/lib).
if command -v dpkg >/dev/null; then
  while read -r path; do
    real=$(readlink -f "$path")
    pkg=
    for cand in "$path" "$real" "/usr$real" "${real#/usr}"; do
      pkg=$(dpkg -S "$cand" 2>/dev/null | head -n1 | cut -d: -f1) && [ -n "$pkg" ] && break
    done
    if [ -n "$pkg" ] && [ -f "/usr/share/doc/$pkg/copyright" ]; then
      cp "/usr/share/doc/$pkg/copyright" "$root/share/licenses/$pkg.copyright"
    else
      echo "release.sh: warning: no licence found for $path" >&2
    fi
  done <"$stage/paths"
fi

cat >"$root/bin/ocibuild" <<'LAUNCHER'
#!/bin/sh
# ocibuild launcher (release artifact): runs ../libexec/ocibuild with the glibc loader and the
# libraries bundled in ../lib, so it needs nothing from the host but /bin/sh and a Linux kernel.
# Symlinks to this file are followed to find the bundle.
p=$0
case $p in */*) ;; *) p=$(command -v -- "$p") ;; esac
while [ -L "$p" ]; do
  l=$(readlink "$p")
  case $l in /*) p=$l ;; *) p=${p%/*}/$l ;; esac
done
d=${p%/*}/..
exec "$d/lib/ld-linux-x86-64.so.2" --inhibit-cache --library-path "$d/lib" \
  --argv0 ocibuild "$d/libexec/ocibuild" "$@"
LAUNCHER
chmod 0755 "$root/bin/ocibuild" "$root/libexec/ocibuild"

version=$(env -i "$root/bin/ocibuild" --version)
cat >"$root/README" <<README
$version for x86-64 Linux, self-contained: the program and every library it needs, glibc's
dynamic loader included. Runs on glibc and musl (Alpine) systems and busybox-only images; needs
/bin/sh. Put bin/ on PATH or symlink bin/ocibuild into it; keep the directory together.
Documentation: docs/release.md in the source repository. Licences of the bundled libraries:
share/licenses/.
README

# Deterministic archive: sorted names, fixed owner and mtime.
mtime=$(git -C "$src" log -1 --format=%ct 2>/dev/null || echo 0)
tar -C "$stage" --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$mtime" \
  -cf - "$name" | gzip -n -9 >"$out/$name.tar.gz.tmp"
mv "$out/$name.tar.gz.tmp" "$out/$name.tar.gz"
echo "release.sh: $version, $(du -k "$out/$name.tar.gz" | cut -f1) KiB" >&2
echo "$out/$name.tar.gz"
