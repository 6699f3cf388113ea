#!/usr/bin/env bash
# The quick start: installs what is missing, builds ocibuild, and builds the built-in example
# (examples/hello: FROM scratch + a static busybox, RUN steps, COPY heredocs, USER) into an
# OCI layout and a `docker load` archive. Needs no network beyond Debian's package mirror.
#   sudo scripts/quickstart.sh
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --build-only
command -v busybox >/dev/null || scripts/install-deps.sh  # busybox-static comes with the test set
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
ninja -C build ocibuild
example=examples/hello
out=build/example
mkdir -p "$out"
cp "$(command -v busybox)" "$example/busybox"
trap 'rm -f "$example/busybox"' EXIT
set -x
build/cli/ocibuild -t ocibuild-example/hello:latest \
  --output "type=oci,dest=$out/hello-oci" \
  --output "type=docker,dest=$out/hello-docker.tar" \
  --metadata-file "$out/metadata.json" \
  "$example"
set +x
echo
echo "The example image is in $out/hello-oci (OCI layout) and $out/hello-docker.tar."
echo "Run it:    docker load -i $out/hello-docker.tar && docker run --rm ocibuild-example/hello"
echo "Inspect:   skopeo inspect oci:$out/hello-oci:latest"
echo "Push it:   build/cli/ocibuild -t REGISTRY/REPO:TAG $example   (after copying a busybox there)"
