# The base images of bench/apps.sh and bench/sandbox-scaling.sh. Source it; do not run it.
# Needs $src, $build and root.
#
# apps_base_rootfs KIND: prints the path of a rootfs tarball made once (cached in
# $build/bench-apps/, not timed) from the Debian 12 minbase and Debian's own packages, installed
# natively in a chroot from the local apt repositories of scripts/local-apt-repo.sh:
#   node     nodejs (18.19) + npm + ca-certificates, user node (1000:1000) as in the node images
#   python   python3 (3.11) + python3-pip + ca-certificates
#   nodedev  node + gcc, make, libc6-dev (bench/sandbox-scaling.sh: npm, next build and make)
# Both trust the CAs of /usr/local/share/ca-certificates (this machine's TLS goes through an
# intercepting proxy), so the apps also build against the real registries.
apps_base_rootfs() {
  local kind=$1 cache=$build/bench-apps
  local out=$cache/base-$kind.tar
  if [ -s "$out" ]; then echo "$out"; return; fi
  mkdir -p "$cache"
  local minbase=${OCIBUILD_DEBIAN_BASE:-$(OCIBUILD_BUILD_DIR=$build "$src/scripts/debian-base.sh")}
  local sets pkgs user=
  local mkuser="groupadd --gid 1000 node && useradd --uid 1000 --gid node --shell /bin/bash --create-home node"
  case $kind in
    node) sets="node"; pkgs="nodejs npm ca-certificates"; user=$mkuser ;;
    python) sets="toolchain"; pkgs="python3 python3-pip ca-certificates" ;;
    nodedev) sets="node toolchain"; pkgs="nodejs npm ca-certificates gcc make libc6-dev"; user=$mkuser ;;
    *) echo "apps_base_rootfs: unknown kind $kind" >&2; return 1 ;;
  esac
  local set repo port servers=() sources=
  for set in $sets; do
    repo=$(OCIBUILD_BUILD_DIR=$build OCIBUILD_DEBIAN_BASE=$minbase "$src/scripts/local-apt-repo.sh" "" "$set") || return 1
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    python3 -m http.server --bind 127.0.0.1 --directory "$repo" "$port" >/dev/null 2>&1 &
    servers+=($!)
    sources+="deb [trusted=yes] http://127.0.0.1:$port ./
"
    for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/Packages" >/dev/null && break; sleep 0.2; done
  done
  local r
  r=$(mktemp -d "$cache/rootfs-$kind.XXXXXX")
  tar --numeric-owner --xattrs -xpf "$minbase" -C "$r"
  mkdir -p "$r/usr/local/share/ca-certificates"
  cp /usr/local/share/ca-certificates/*.crt "$r/usr/local/share/ca-certificates/" 2>/dev/null || true
  local rc=0
  unshare --mount --fork chroot "$r" /bin/bash -c "set -e; mount -t proc proc /proc
    rm -f /etc/apt/sources.list.d/*; printf '%s' '$sources' >/etc/apt/sources.list
    apt-get update -q; DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $pkgs
    update-ca-certificates
    ${user:-true}
    : >/etc/apt/sources.list; apt-get clean; rm -rf /var/lib/apt/lists/*; umount /proc" \
    >>"${BENCH_LOG:-/dev/null}" 2>&1 || rc=$?
  for port in "${servers[@]}"; do kill "$port" 2>/dev/null; wait "$port" 2>/dev/null || true; done
  if [ "$rc" = 0 ]; then
    tar --numeric-owner --xattrs -cf "$out.tmp" -C "$r" . && mv "$out.tmp" "$out" || rc=1
  fi
  rm -rf "$r"
  [ "$rc" = 0 ] || { echo "apps_base_rootfs: making the $kind base failed (see ${BENCH_LOG:-the log})" >&2; return 1; }
  echo "$out"
}

# apps_inputs: the npm tarballs the apps' lockfiles name and the wheels of the pip app, fetched
# once into $build/bench-apps (npm registry through the proxy; wheels made from Debian's
# python3-* packages: PyPI is not reachable from here). Prints nothing.
apps_inputs() {
  local cache=$build/bench-apps
  python3 "$src/bench/apps_helper.py" npm-mirror "$cache/npm-mirror" "$src"/bench/apps/*/package-lock.json || return 1
  if [ ! -s "$cache/wheels/simple/index.html" ]; then
    rm -rf "$cache/debs" "$cache/wheels"; mkdir -p "$cache/debs"
    (cd "$cache/debs" && apt-get download python3-flask python3-werkzeug python3-jinja2 python3-markupsafe \
      python3-itsdangerous python3-click python3-gunicorn) >>"${BENCH_LOG:-/dev/null}" 2>&1 || return 1
    python3 "$src/bench/apps_helper.py" wheels "$cache/wheels" "$cache"/debs/*.deb || return 1
  fi
  chmod -R a+rX "$cache/npm-mirror" "$cache/wheels"
}
