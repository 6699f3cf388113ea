#!/usr/bin/env bash
# The release artifact where users run it (issue 7). Driven by ctest as root on the host:
#   tests/release/release_container_test.sh   (env: OCIBUILD_SOURCE_DIR, OCIBUILD_BINARY,
#                                               OCIBUILD_BUILD_DIR, OCIBUILD_TEST_CACHE)
# Packs build/cli/ocibuild with scripts/release.sh, starts a docker-registry on the host's
# 127.0.0.1 and dockerd (scripts/dockerd.sh), then:
#  a. stock images with nothing added -- Debian minbase, busybox only (FROM scratch), musl only
#     ("alpine-like": no glibc anywhere): the unpacked artifact prints --version and builds a
#     RUN-less and a busybox RUN Dockerfile to OCI layouts, checked on the host with umoci;
#  b. the dev pod: Debian minbase, --user 1000 --cap-drop=ALL, default seccomp, overlay root,
#     where user namespaces and mounts are refused (so docker/buildkit could not build): builds a
#     Debian base, the apt-get/useradd/chown e2e Dockerfile, examples/hello and the ocibuild image
#     (packaging/Dockerfile), pushes them to the host registry; the host pulls and runs them, and
#     runs the ocibuild image to build and push once more;
#  c. the same pod under a seccomp profile that denies ptrace: RUN fails saying why and what
#     fixes it; a RUN-less Dockerfile still builds and pushes.
# Exits 77 (skipped) only when no Docker daemon can run here; missing inputs are failures.
set -euo pipefail
src=${OCIBUILD_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${OCIBUILD_BUILD_DIR:-$src/build}
bin=${OCIBUILD_BINARY:-$build/cli/ocibuild}
cache=${OCIBUILD_TEST_CACHE:-$build/cache}
base_tar=${OCIBUILD_DEBIAN_BASE:-$cache/debian-minbase.tar}
[ -f "$base_tar" ] || base_tar=$cache/debian-minbase.tar
t0=$(date +%s)

fail() { echo "FAIL: $*" >&2; exit 1; }
step() { echo "=== [+$(($(date +%s) - t0))s] $*"; }
expect_in() {  # expect_in NEEDLE FILE WHAT
  grep -qF -- "$1" "$2" || { echo "--- $2:" >&2; cat "$2" >&2; fail "$3: '$1' not found"; }
}

for tool in docker-registry skopeo umoci python3 tar busybox; do
  command -v "$tool" >/dev/null || fail "$tool not installed (scripts/install-deps.sh)"
done
[ -x "$bin" ] || fail "no ocibuild binary at $bin"
[ -f "$base_tar" ] || fail "no Debian minbase tarball at $base_tar (scripts/debian-base.sh)"
[ -s "$cache/apt-repo/Packages" ] || fail "no local apt repository in $cache/apt-repo (scripts/local-apt-repo.sh)"
[ -e /lib/ld-musl-x86_64.so.1 ] || fail "Debian's musl package is not installed (scripts/install-deps.sh)"

host=$("$src/scripts/dockerd.sh" start) || {
  echo "*** release_container_test: SKIPPED: no Docker daemon can run here; nothing was tested ***" >&2
  exit 77
}
export DOCKER_HOST=$host
docker=$(command -v docker); [ -x /usr/bin/docker ] && docker=/usr/bin/docker

work=$(mktemp -d /tmp/ocibuild-release-test.XXXXXX)
chmod 0755 "$work"
id=rt$$
reg_pid=
tls_pid=
cleanup() {
  set +e
  for c in $("$docker" ps -aq --filter "label=ocibuild-release-test=$id"); do "$docker" rm -f "$c" >/dev/null; done
  for i in $("$docker" images --format '{{.Repository}}:{{.Tag}}' | grep -E "(ocibuild-release-[a-z]+:$id|^127\.0\.0\.1:${port:-none}/)"); do
    "$docker" rmi -f "$i" >/dev/null
  done
  for p in $reg_pid $tls_pid; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
  rm -rf "$work"
}
trap cleanup EXIT

# --- The artifact ---------------------------------------------------------------------------
step "scripts/release.sh"
tarball=$(OCIBUILD_BINARY=$bin "$src/scripts/release.sh" "$work/release")
echo "artifact: $tarball ($(du -k "$tarball" | cut -f1) KiB)"

# --- The registry on the host ---------------------------------------------------------------
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
reg=127.0.0.1:$port
cat >"$work/registry.yml" <<YAML
version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $work/registry
http:
  addr: $reg
YAML
docker-registry serve "$work/registry.yml" >"$work/registry.log" 2>&1 &
reg_pid=$!
for _ in $(seq 1 100); do
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  sleep 0.1
done
(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || { cat "$work/registry.log" >&2; fail "docker-registry did not start"; }

# A second registry speaking TLS with a test CA: the musl image carries that CA where Alpine keeps
# its store (/etc/ssl/cert.pem), so a push there proves the bundled OpenSSL finds it.
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 \
  -addext subjectAltName=IP:127.0.0.1 -keyout "$work/tls.key" -out "$work/tls.crt" 2>/dev/null ||
  fail "openssl could not make the test certificate"
tport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
tlsreg=127.0.0.1:$tport
sed -e "s|$reg|$tlsreg|" -e "s|$work/registry|$work/registry-tls|" "$work/registry.yml" >"$work/registry-tls.yml"
printf '  tls:\n    certificate: %s\n    key: %s\n' "$work/tls.crt" "$work/tls.key" >>"$work/registry-tls.yml"
docker-registry serve "$work/registry-tls.yml" >"$work/registry-tls.log" 2>&1 &
tls_pid=$!
for _ in $(seq 1 100); do
  (exec 3<>"/dev/tcp/127.0.0.1/$tport") 2>/dev/null && break
  sleep 0.1
done
(exec 3<>"/dev/tcp/127.0.0.1/$tport") 2>/dev/null || { cat "$work/registry-tls.log" >&2; fail "TLS docker-registry did not start"; }

# --- Inputs every container gets in /opt/in (read-only for uid 1000) ------------------------
in=$work/in
mkdir -p "$in/ctx-norun" "$in/ctx-run" "$in/src/testdata/e2e" "$in/src/scripts" "$in/src/packaging" "$in/src/examples"
cp "$tarball" "$in/"
cp /bin/busybox "$in/ctx-norun/busybox"
cat >"$in/ctx-norun/Dockerfile" <<'DF'
FROM scratch
COPY busybox /bin/busybox
COPY <<EOT /msg
built without RUN
EOT
CMD ["/bin/busybox", "cat", "/msg"]
DF
cp /bin/busybox "$in/ctx-run/busybox"
# A base image on a public https registry: with no CA store this must fail before any network
# use, naming the fixes (the test has no Internet, so nothing else could be checked there).
printf 'FROM ghcr.io/ocibuild/no-such-image:1\n' >"$in/remote.Dockerfile"
cat >"$in/ctx-run/Dockerfile" <<'DF'
FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "sh", "-c", "/bin/busybox echo ran in the sandbox as $(/bin/busybox id -u) > /msg && /bin/busybox chown 1234:5678 /msg"]
CMD ["/bin/busybox", "cat", "/msg"]
DF
cp -r "$src/testdata/e2e/debian" "$src/testdata/e2e/debian-base" "$in/src/testdata/e2e/"
cp -r "$cache/apt-repo" "$in/src/testdata/e2e/debian/apt-repo"
cp "$base_tar" "$in/src/testdata/e2e/debian-base/debian-minbase.tar"
cp -r "$src/examples/hello" "$in/src/examples/"
cp /bin/busybox "$in/src/examples/hello/busybox"
cp "$src/scripts/build-image.sh" "$in/src/scripts/"
cp "$src/packaging/Dockerfile" "$in/src/packaging/"
chmod -R a+rX "$in"

# ctr NAME IMAGE SCRIPT [docker create options...]: runs SCRIPT (sh) as uid 1000 with no
# capabilities, host network, /opt/in copied in; output in $work/NAME.log, exit status returned.
ctr() {
  local name=$1 image=$2 script=$3; shift 3
  printf '%s\n' "$script" >"$work/$name.sh"
  local c
  c=$("$docker" create --label "ocibuild-release-test=$id" --user 1000:1000 --cap-drop=ALL \
    --network host -w /tmp -e HOME=/tmp -e TMPDIR=/tmp -e REG="$reg" -e TLSREG="$tlsreg" "$@" \
    "$image" /bin/sh /opt/in/run.sh)
  cp "$work/$name.sh" "$in/run.sh"
  "$docker" cp "$in" "$c:/opt/in" >/dev/null
  local rc=0
  "$docker" start -a "$c" >"$work/$name.log" 2>&1 || rc=$?
  echo "$c" >"$work/$name.cid"
  return $rc
}
show() { sed "s/^/  [$1] /" "$work/$1.log"; }

# --- Stock images ---------------------------------------------------------------------------
step "stock images: Debian minbase, busybox-only, musl-only"
"$docker" import "$base_tar" "ocibuild-release-debian:$id" >/dev/null
rootfs=$work/busybox-rootfs
mkdir -p "$rootfs/bin" "$rootfs/tmp" "$rootfs/opt"
cp /bin/busybox "$rootfs/bin/busybox"
for a in $(/bin/busybox --list); do [ -e "$rootfs/bin/$a" ] || ln -s busybox "$rootfs/bin/$a"; done
chmod 1777 "$rootfs/tmp"
tar -C "$rootfs" -c . | "$docker" import - "ocibuild-release-busybox:$id" >/dev/null
# Alpine's layout: musl's loader as /lib/ld-musl-x86_64.so.1 (also libc), busybox for the rest.
mkdir -p "$rootfs/lib" "$rootfs/etc"
cp -L /lib/ld-musl-x86_64.so.1 "$rootfs/lib/ld-musl-x86_64.so.1"
ln -s ld-musl-x86_64.so.1 "$rootfs/lib/libc.musl-x86_64.so.1"
printf 'ID=alpine-like\nNAME="musl + busybox, no glibc"\n' >"$rootfs/etc/os-release"
mkdir -p "$rootfs/etc/ssl"
cp "$work/tls.crt" "$rootfs/etc/ssl/cert.pem"
tar -C "$rootfs" -c . | "$docker" import - "ocibuild-release-musl:$id" >/dev/null

stock_script='set -eu
cd /tmp
if ls /lib/x86_64-linux-gnu/libc.so.6 /usr/lib/x86_64-linux-gnu/libc.so.6 /lib64/ld-linux-x86-64.so.2 >/dev/null 2>&1; then echo "libc: glibc"; else echo "libc: no glibc"; fi
if [ -e /lib/ld-musl-x86_64.so.1 ]; then /lib/ld-musl-x86_64.so.1 2>&1 | head -n2 || true; fi
tar -xzf /opt/in/ocibuild-linux-amd64.tar.gz
o=/tmp/ocibuild-linux-amd64/bin/ocibuild
mkdir -p /tmp/bin && ln -s $o /tmp/bin/ocibuild
PATH=/tmp/bin:$PATH ocibuild --version
export OCIBUILD_ROOT=/tmp/state
$o --progress=plain -t release/norun:1 --no-push -o type=oci,dest=/tmp/out-norun /opt/in/ctx-norun
$o --progress=plain -t release/run:1 --no-push -o type=oci,dest=/tmp/out-run /opt/in/ctx-run
if [ -s /etc/ssl/cert.pem ]; then
  $o --progress=plain -t $TLSREG/release/tls:1 /opt/in/ctx-norun && echo TLS-PUSH-OK
else
  if $o --progress=plain -f /opt/in/remote.Dockerfile /opt/in/ctx-norun; then echo REMOTE-UNEXPECTEDLY-OK; fi
fi
echo STOCK-OK'
for img in debian busybox musl; do
  ctr "stock-$img" "ocibuild-release-$img:$id" "$stock_script" || { show "stock-$img"; fail "stock $img image: the artifact did not build"; }
  log=$work/stock-$img.log
  expect_in "ocibuild 0.1" "$log" "stock $img: --version through a symlink on PATH"
  expect_in "STOCK-OK" "$log" "stock $img"
  c=$(cat "$work/stock-$img.cid")
  for kind in norun run; do
    "$docker" cp "$c:/tmp/out-$kind" "$work/$img-$kind" >/dev/null
    umoci unpack --image "$work/$img-$kind:1" "$work/$img-$kind-bundle" >/dev/null 2>&1 ||
      fail "stock $img: umoci cannot unpack the $kind layout"
    skopeo inspect "oci:$work/$img-$kind:1" >/dev/null || fail "stock $img: skopeo cannot read the $kind layout"
  done
  [ "$(cat "$work/$img-norun-bundle/rootfs/msg")" = "built without RUN" ] || fail "stock $img: RUN-less image content"
  [ "$(cat "$work/$img-run-bundle/rootfs/msg")" = "ran in the sandbox as 0" ] || fail "stock $img: RUN image content"
  [ "$(stat -c %u:%g "$work/$img-run-bundle/rootfs/msg")" = 1234:5678 ] || fail "stock $img: chown in RUN not kept"
done
for img in debian busybox; do
  if grep -q REMOTE-UNEXPECTEDLY-OK "$work/stock-$img.log"; then fail "stock $img: FROM ghcr.io worked with no CA store?"; fi
  expect_in "no CA certificates to verify TLS with" "$work/stock-$img.log" "stock $img: no CA store"
  expect_in "--registry-ca" "$work/stock-$img.log" "stock $img: the fix for no CA store"
  expect_in "SSL_CERT_FILE" "$work/stock-$img.log" "stock $img: the fix for no CA store"
done
grep -m1 "no CA certificates" "$work/stock-busybox.log" | cut -c1-200 | sed 's/^/  [stock-busybox] /'
expect_in "TLS-PUSH-OK" "$work/stock-musl.log" "musl image: push over TLS with the CA in /etc/ssl/cert.pem"
skopeo inspect --tls-verify=false "docker://$tlsreg/release/tls:1" >/dev/null ||
  fail "the TLS push from the musl image is not in the registry"
grep -q "libc: no glibc" "$work/stock-musl.log" || fail "the musl image has glibc: it proves nothing"
grep -q "libc: no glibc" "$work/stock-busybox.log" || fail "the busybox image has glibc: it proves nothing"
grep -qi "musl libc" "$work/stock-musl.log" || { show stock-musl; fail "the musl image's loader did not run"; }
echo "stock images: ok ($(grep -m1 'libc:' "$work/stock-debian.log"), busybox and musl: no glibc)"

# --- The dev pod ----------------------------------------------------------------------------
premise='
# The premise: no user namespaces, no mounts, no capabilities, root on overlayfs.
command -v unshare >/dev/null || echo "PREMISE-BROKEN: no unshare command"
if unshare -U true 2>/dev/null; then echo "PREMISE-BROKEN: unshare -U works"; else echo "premise: unshare -U refused"; fi
mkdir -p /tmp/mnt /tmp/u /tmp/w
if mount -t tmpfs none /tmp/mnt 2>/dev/null; then echo "PREMISE-BROKEN: mount works"; else echo "premise: mount refused"; fi
if mount -t overlay overlay -o lowerdir=/usr,upperdir=/tmp/u,workdir=/tmp/w /tmp/mnt 2>/dev/null; then echo "PREMISE-BROKEN: overlay mount works"; else echo "premise: overlay mount refused"; fi
echo "premise: CapEff=$(sed -n "s/^CapEff:[[:space:]]*//p" /proc/self/status)"
echo "premise: root fs=$(awk "\$5 == \"/\" { for (i = 7; i <= NF; i++) if (\$i == \"-\") { print \$(i+1); exit } }" /proc/self/mountinfo)"
echo "premise: uid=$(id -u)"
'
pod_script="set -eu
$premise
cd /tmp
tar -xzf /opt/in/ocibuild-linux-amd64.tar.gz
o=/tmp/ocibuild-linux-amd64/bin/ocibuild
export OCIBUILD_ROOT=/tmp/state
\$o --progress=plain -t \$REG/release/debian:12 /opt/in/src/testdata/e2e/debian-base
\$o --progress=plain --build-arg BASE=\$REG/release/debian:12 -t \$REG/release/app:1 /opt/in/src/testdata/e2e/debian
\$o --progress=plain -t \$REG/release/hello:1 /opt/in/src/examples/hello
bash /opt/in/src/scripts/build-image.sh /opt/in/ocibuild-linux-amd64.tar.gz \\
  --build-arg BASE=\$REG/release/debian:12 --build-arg CA_CERTIFICATES=base -t \$REG/release/ocibuild:1
echo '--- doctor'
\$o doctor \$REG/release/app:1 || echo \"doctor exit status \$?\"
echo '--- end doctor'
echo POD-OK"
step "dev pod (--user 1000 --cap-drop=ALL, default seccomp): Debian base, apt-get/useradd/chown, hello, the ocibuild image"
ctr pod "ocibuild-release-debian:$id" "$pod_script" || { show pod; fail "dev pod: a build failed"; }
log=$work/pod.log
show pod | grep -E '^\s*\[pod\] (premise|Setting up hello|#[0-9]+ \[.*\] (RUN|FROM))' | head -40 || true
if grep -q PREMISE-BROKEN "$log"; then show pod; fail "dev pod: the container is not the restricted environment"; fi
expect_in "premise: CapEff=0000000000000000" "$log" "dev pod: capabilities"
expect_in "premise: root fs=overlay" "$log" "dev pod: overlay root"
expect_in "premise: uid=1000" "$log" "dev pod: uid"
expect_in "Setting up hello" "$log" "dev pod: apt-get install in RUN"
expect_in "POD-OK" "$log" "dev pod"
# ocibuild doctor, as the pod sees itself.
sed -n '/^--- doctor$/,/^--- end doctor$/p' "$log" >"$work/pod-doctor.txt"
sed 's/^/  [pod doctor] /' "$work/pod-doctor.txt"
if grep -q "doctor exit status" "$work/pod-doctor.txt"; then fail "doctor reports a failure in the dev pod"; fi
expect_in "ok   ptrace: allowed" "$work/pod-doctor.txt" "doctor in the dev pod: ptrace"
expect_in "ok   user namespaces: refused" "$work/pod-doctor.txt" "doctor in the dev pod: user namespaces"
expect_in "the root filesystem is overlay" "$work/pod-doctor.txt" "doctor in the dev pod: overlay root"
expect_in "ok   push $reg/release/app" "$work/pod-doctor.txt" "doctor in the dev pod: push access"
expect_in "RUN steps: supervised sandbox (fake root, no privileges)" "$work/pod-doctor.txt" "doctor in the dev pod: isolation"

step "host: docker pull + run what the pod pushed"
for i in app:1 hello:1 ocibuild:1; do "$docker" pull -q "$reg/release/$i" >/dev/null || fail "docker pull $reg/release/$i"; done
out=$("$docker" run --rm --network none "$reg/release/app:1")
[ "$out" = "$(printf 'Hello, world!\nuser=app home=/home/app\n/srv/app/data\n`-- state.txt')" ] || fail "app image output: $out"
owners=$("$docker" run --rm --network none --entrypoint stat "$reg/release/app:1" -c '%U:%G %a %n' \
  /srv/app/app.sh /srv/app/data/state.txt /home/app /usr/bin/hello /etc/shadow)
[ "$owners" = "$(printf 'app:app 750 /srv/app/app.sh\napp:app 644 /srv/app/data/state.txt\napp:app 755 /home/app\nroot:root 755 /usr/bin/hello\nroot:shadow 640 /etc/shadow')" ] ||
  fail "app image owners/modes: $owners"
out=$("$docker" run --rm --network none "$reg/release/hello:1")
[ "$out" = "$(printf 'hello from ocibuild\nrunning as app in /app')" ] || fail "hello image output: $out"
out=$("$docker" run --rm --network none "$reg/release/ocibuild:1" --version)
[[ "$out" == "ocibuild 0."* ]] || fail "ocibuild image --version: $out"
user=$("$docker" image inspect -f '{{.Config.User}} {{json .Config.Entrypoint}} {{range .Config.Env}}{{.}} {{end}}' "$reg/release/ocibuild:1")
[[ "$user" == "1000:1000 "* && "$user" == *"OCIBUILD_ROOT=/home/ocibuild/.cache/ocibuild"* && "$user" == *"HOME=/home/ocibuild"* ]] ||
  fail "ocibuild image config: $user"
# The image as the README's pod runs it: its default user, no capabilities, default seccomp,
# no privilege escalation, read-only root with the state dir on an emptyDir-like tmpfs.
"$docker" run --rm --label "ocibuild-release-test=$id" --cap-drop=ALL --network host \
  --security-opt no-new-privileges --read-only \
  --tmpfs /home/ocibuild/.cache:rw,exec,uid=1000,gid=1000,size=256m --tmpfs /tmp:rw,exec,size=64m \
  -v "$in/ctx-run:/ctx:ro" "$reg/release/ocibuild:1" --progress=plain -t "$reg/release/from-image:1" /ctx \
  >"$work/from-image.log" 2>&1 || { show from-image; fail "the ocibuild image could not build"; }
"$docker" pull -q "$reg/release/from-image:1" >/dev/null
out=$("$docker" run --rm --network none "$reg/release/from-image:1")
[ "$out" = "ran in the sandbox as 0" ] || fail "image built by the ocibuild image: $out"
echo "dev pod: ok"

# --- The pod without ptrace -----------------------------------------------------------------
# A runtime profile that lacks ptrace (as containerd's did before 1.6 and custom profiles still
# may): everything allowed except ptrace, process_vm_* and the namespace/mount calls.
cat >"$work/no-ptrace.json" <<'JSON'
{
  "defaultAction": "SCMP_ACT_ALLOW",
  "syscalls": [
    { "names": ["ptrace", "process_vm_readv", "process_vm_writev", "unshare", "setns", "mount"],
      "action": "SCMP_ACT_ERRNO", "errnoRet": 1 }
  ]
}
JSON
noptrace_script="set -u
$premise
cd /tmp
tar -xzf /opt/in/ocibuild-linux-amd64.tar.gz
o=/tmp/ocibuild-linux-amd64/bin/ocibuild
export OCIBUILD_ROOT=/tmp/state
if \$o --progress=plain -t \$REG/release/run-noptrace:1 /opt/in/ctx-run; then echo RUN-UNEXPECTEDLY-OK; else echo \"run build failed: \$?\"; fi
\$o --progress=plain -t \$REG/release/norun-noptrace:1 /opt/in/ctx-norun && echo NOPTRACE-OK
echo '--- doctor'
\$o doctor || echo \"doctor exit status \$?\"
echo '--- end doctor'"
step "pod with ptrace denied by seccomp"
ctr noptrace "ocibuild-release-debian:$id" "$noptrace_script" --security-opt "seccomp=$work/no-ptrace.json" ||
  { show noptrace; fail "pod without ptrace: the script failed"; }
log=$work/noptrace.log
if grep -q "RUN-UNEXPECTEDLY-OK" "$log"; then show noptrace; fail "RUN succeeded although ptrace is denied"; fi
expect_in "run build failed" "$log" "no-ptrace pod"
expect_in "ptrace is blocked" "$log" "no-ptrace pod: the reason"
expect_in "RuntimeDefault" "$log" "no-ptrace pod: the fix"
expect_in "Dockerfiles without RUN build here" "$log" "no-ptrace pod: what still works"
expect_in "NOPTRACE-OK" "$log" "no-ptrace pod: RUN-less build and push"
sed -n '/^--- doctor$/,/^--- end doctor$/p' "$log" >"$work/noptrace-doctor.txt"
sed 's/^/  [no-ptrace doctor] /' "$work/noptrace-doctor.txt"
expect_in "doctor exit status" "$work/noptrace-doctor.txt" "doctor in the no-ptrace pod: a failing exit status"
expect_in "FAIL ptrace: refused" "$work/noptrace-doctor.txt" "doctor in the no-ptrace pod: ptrace"
expect_in "RuntimeDefault" "$work/noptrace-doctor.txt" "doctor in the no-ptrace pod: the fix"
expect_in "ok   user namespaces: refused" "$work/noptrace-doctor.txt" "doctor in the no-ptrace pod: user namespaces"
expect_in "RUN steps: cannot run here" "$work/noptrace-doctor.txt" "doctor in the no-ptrace pod: isolation"
expect_in "Dockerfiles without RUN still build" "$work/noptrace-doctor.txt" "doctor in the no-ptrace pod: what still works"
grep -E "ptrace is blocked" "$log" | sed 's/^/  [noptrace] /' | head -n2
"$docker" pull -q "$reg/release/norun-noptrace:1" >/dev/null
out=$("$docker" run --rm --network none "$reg/release/norun-noptrace:1")
[ "$out" = "built without RUN" ] || fail "RUN-less image from the no-ptrace pod: $out"
echo "pod without ptrace: ok"

step "all passed"
