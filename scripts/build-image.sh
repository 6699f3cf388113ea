#!/usr/bin/env bash
# Builds the ocibuild image (packaging/Dockerfile) with ocibuild itself, from the release artifact.
#   scripts/build-image.sh TARBALL [OCIBUILD-ARGS...]
# TARBALL is ocibuild-linux-amd64.tar.gz from scripts/release.sh; the ocibuild that builds is the
# one inside it (so the image is made by what it ships). OCIBUILD-ARGS go to that build, e.g.
#   scripts/build-image.sh build/release/ocibuild-linux-amd64.tar.gz -t ghcr.io/org/ocibuild:1.0
#   ... --build-arg BASE=registry.local/debian:12 --build-arg CA_CERTIFICATES=base -t REF
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/.." && pwd)
[ $# -ge 1 ] && [ -f "$1" ] || { echo "usage: $0 TARBALL [OCIBUILD-ARGS...]" >&2; exit 2; }
tarball=$1; shift
ctx=$(mktemp -d "${TMPDIR:-/tmp}/ocibuild-image.XXXXXX")
trap 'rm -rf "$ctx"' EXIT
cp "$src/packaging/Dockerfile" "$ctx/Dockerfile"
cp "$tarball" "$ctx/ocibuild-linux-amd64.tar.gz"
tar -xzf "$tarball" -C "$ctx" ocibuild-linux-amd64
# The unpacked copy is the builder; only the Dockerfile and the tarball are the build's context.
printf 'ocibuild-linux-amd64\n' >"$ctx/.dockerignore"
"$ctx/ocibuild-linux-amd64/bin/ocibuild" build --progress=plain "$@" "$ctx"
