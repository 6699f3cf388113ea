#!/usr/bin/env bash
# Installs what ocibuild needs to build and test on Debian 12, from Debian's packages only.
# Idempotent: does nothing when everything is present. Needs root (or sudo) to install.
#   scripts/install-deps.sh [--build-only]
set -euo pipefail
build=(
  build-essential cmake ninja-build pkg-config git ca-certificates
  libarchive-dev libssl-dev nlohmann-json3-dev libzstd-dev zstd zlib1g-dev libisal-dev
  libgtest-dev libgmock-dev libcurl4-openssl-dev libseccomp-dev
)
test=(
  clang libclang-rt-14-dev                       # libFuzzer + sanitizers
  docker.io                                      # dockerd: docker run of built images, container tests
  docker-registry skopeo umoci                   # real registry and validators
  busybox-static debootstrap dpkg-dev            # base images, local apt repository
  musl                                           # a glibc-free "alpine-like" image for the release test
  python3 python3-jsonschema apache2-utils openssl   # schema validation, htpasswd, test TLS
  proot buildah hyperfine gnuplot-nox            # peers and charts for bench
  iproute2 procps psmisc file
  tmux                                           # a real terminal for the --progress=tty tests
  openssh-client                                 # ssh-agent for RUN --mount=type=ssh
  qemu-user-static                               # foreign-architecture RUN steps, arm64 images under docker
)
pkgs=("${build[@]}")
[ "${1:-}" = --build-only ] || pkgs+=("${test[@]}")
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#pkgs[@]} packages present"
  exit 0
fi
echo "install-deps: installing ${missing[*]}"
sudo=""
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps: need root to install: ${missing[*]}" >&2; exit 1; }
  sudo=sudo
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done"
