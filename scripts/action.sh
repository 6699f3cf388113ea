#!/usr/bin/env bash
# The GitHub Action's logic (action.yml runs this): finds or installs ocibuild, turns the
# action's inputs into flags, and runs the build. ocibuild itself writes the step outputs
# (digest, imageid, metadata) to $GITHUB_OUTPUT, the job summary, groups and annotations.
#
# Inputs arrive as INPUT_<NAME> variables (dashes as underscores, upper case), as
# docker/build-push-action names them:
#   context file tags labels build-args target push outputs cache-from cache-to secrets
#   secret-files secret-envs no-cache platforms load github-token version release-url ocibuild-args
#   add-hosts allow annotations attests build-contexts builder call cgroup-parent network
#   no-cache-filters provenance pull sbom shm-size ssh ulimit
# Lists are one item per line; tags and platforms may also be comma-separated. build-args,
# labels, secrets, outputs and cache specs are newline-only, since values may contain commas.
#
# Runs outside Actions too (a workflow's logic on a laptop): set the INPUT_* variables by hand.
set -euo pipefail

log() { printf 'ocibuild-action: %s\n' "$*" >&2; }
die() {
  printf '::error::%s\n' "$*"
  log "$*"
  exit 1
}

# Prints the items of a list input, one a line: trimmed, empty lines dropped, and split at commas
# too when $2 is "comma".
list() {
  local value=$1 mode=${2:-newline} line item
  while IFS= read -r line || [[ -n $line ]]; do
    if [[ $mode == comma ]]; then
      IFS=',' read -ra parts <<<"$line"
    else
      parts=("$line")
    fi
    for item in "${parts[@]}"; do
      item="${item#"${item%%[![:space:]]*}"}"
      item="${item%"${item##*[![:space:]]}"}"
      [[ -n $item ]] && printf '%s\n' "$item"
    done
  done <<<"$value"
}

truthy() {
  case "${1,,}" in
    true | yes | 1 | on) return 0 ;;
    *) return 1 ;;
  esac
}

action_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
tmp_root=${RUNNER_TEMP:-${TMPDIR:-/tmp}}

# --- Find or install ocibuild -------------------------------------------------------------------
# Order: $OCIBUILD_BINARY, `ocibuild` on PATH, the release tarball (input version / release-url),
# and, when that cannot be had and the action is a checkout of ocibuild's source, a build from it.
install_from_tarball() {
  local url=$1 dest=$tmp_root/ocibuild-install
  rm -rf "$dest" && mkdir -p "$dest"
  log "downloading $url"
  if ! curl -fsSL --retry 3 -o "$dest/ocibuild.tar.gz" "$url"; then
    rm -rf "$dest"
    return 1
  fi
  tar -xzf "$dest/ocibuild.tar.gz" -C "$dest" || return 1
  local bin
  bin=$(find "$dest" -path '*/bin/ocibuild' -type f | head -n1)
  [[ -n $bin && -x $bin ]] || return 1
  printf '%s\n' "$bin"
}

build_from_source() {
  local src=$action_dir build=$tmp_root/ocibuild-build
  [[ -f $src/CMakeLists.txt && -d $src/cli ]] || return 1
  log "building ocibuild from $src"
  if ! command -v cmake >/dev/null || ! command -v ninja >/dev/null; then
    if [[ $(id -u) == 0 ]]; then
      "$src/scripts/install-deps.sh" --build-only >&2
    elif command -v sudo >/dev/null; then
      sudo "$src/scripts/install-deps.sh" --build-only >&2
    else
      die "cmake and ninja are needed to build ocibuild from source (scripts/install-deps.sh --build-only as root)"
    fi
  fi
  cmake -S "$src" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DOCIBUILD_TESTS=OFF >&2
  ninja -C "$build" ocibuild >&2
  printf '%s\n' "$build/cli/ocibuild"
}

find_ocibuild() {
  if [[ -n ${OCIBUILD_BINARY:-} ]]; then
    printf '%s\n' "$OCIBUILD_BINARY"
    return
  fi
  if [[ ${INPUT_VERSION:-} != source ]] && command -v ocibuild >/dev/null; then
    command -v ocibuild
    return
  fi
  local version=${INPUT_VERSION:-latest} url=${INPUT_RELEASE_URL:-}
  if [[ $version != source ]]; then
    if [[ -z $url ]]; then
      local repo=${ACTION_REPOSITORY:-${GITHUB_ACTION_REPOSITORY:-}}
      local server=${GITHUB_SERVER_URL:-https://github.com}
      if [[ -n $repo ]]; then
        if [[ $version == latest ]]; then
          url=$server/$repo/releases/latest/download/ocibuild-linux-amd64.tar.gz
        else
          url=$server/$repo/releases/download/$version/ocibuild-linux-amd64.tar.gz
        fi
      fi
    fi
    if [[ -n $url ]]; then
      local bin
      if bin=$(install_from_tarball "$url"); then
        printf '%s\n' "$bin"
        return
      fi
      log "could not install the release from $url"
    fi
  fi
  build_from_source || die "no ocibuild: none on PATH, no release tarball, and $action_dir is not a source checkout"
}

ocibuild=$(find_ocibuild)
[[ -x $ocibuild ]] || die "$ocibuild is not an executable file"
log "using $ocibuild ($("$ocibuild" --version 2>/dev/null | head -n1))"

# --- Inputs -> flags ----------------------------------------------------------------------------
args=(build)
[[ -n ${INPUT_FILE:-} ]] && args+=(--file "$INPUT_FILE")
while IFS= read -r t; do args+=(--tag "$t"); done < <(list "${INPUT_TAGS:-}" comma)
while IFS= read -r l; do args+=(--label "$l"); done < <(list "${INPUT_LABELS:-}")
while IFS= read -r a; do args+=(--build-arg "$a"); done < <(list "${INPUT_BUILD_ARGS:-}")
[[ -n ${INPUT_TARGET:-} ]] && args+=(--target "$INPUT_TARGET")
while IFS= read -r o; do args+=(--output "$o"); done < <(list "${INPUT_OUTPUTS:-}")
while IFS= read -r c; do args+=(--cache-from "$c"); done < <(list "${INPUT_CACHE_FROM:-}")
while IFS= read -r c; do args+=(--cache-to "$c"); done < <(list "${INPUT_CACHE_TO:-}")
truthy "${INPUT_NO_CACHE:-false}" && args+=(--no-cache)

platforms=()
while IFS= read -r p; do platforms+=("$p"); done < <(list "${INPUT_PLATFORMS:-}" comma)
if ((${#platforms[@]} > 0)); then
  args+=(--platform "$(IFS=,; printf '%s' "${platforms[*]}")")
fi

while IFS= read -r h; do args+=(--add-host "$h"); done < <(list "${INPUT_ADD_HOSTS:-}" comma)
while IFS= read -r a; do args+=(--annotation "$a"); done < <(list "${INPUT_ANNOTATIONS:-}")
while IFS= read -r c; do args+=(--build-context "$c"); done < <(list "${INPUT_BUILD_CONTEXTS:-}")
while IFS= read -r f; do args+=(--no-cache-filter "$f"); done < <(list "${INPUT_NO_CACHE_FILTERS:-}" comma)
while IFS= read -r s; do args+=(--ssh "$s"); done < <(list "${INPUT_SSH:-}" comma)
[[ -n ${INPUT_NETWORK:-} ]] && args+=(--network "$INPUT_NETWORK")
[[ -n ${INPUT_CALL:-} ]] && args+=(--call "$INPUT_CALL")
truthy "${INPUT_PULL:-false}" && args+=(--pull)
while IFS= read -r a; do
  case $a in
    network.host) ;;  # RUN --network=host needs no entitlement here
    *) printf '::warning::allow: %s is not supported by ocibuild; ignored\n' "$a" ;;
  esac
done < <(list "${INPUT_ALLOW:-}" comma)
[[ -n ${INPUT_BUILDER:-} ]] && log "builder: ${INPUT_BUILDER} ignored (ocibuild needs no buildx builder)"
for unsupported in CGROUP_PARENT SHM_SIZE ULIMIT; do
  v=INPUT_$unsupported
  if [[ -n ${!v:-} ]]; then
    name=${unsupported,,}
    printf '::warning::%s: not supported by ocibuild; ignored\n' "${name//_/-}"
  fi
done

# Attestations, decided as build-push-action decides them: the provenance and sbom inputs win
# over attests entries of their type; without either, provenance is on (mode=max for a public
# repository, mode=min for a private one) unless BUILDX_NO_DEFAULT_ATTESTATIONS is set or the
# image goes to Docker (load, or a type=docker output).
attest_value() {  # $1 type, $2 input value
  case "${2,,}" in
    true | 1) printf -- '--%s=true\n' "$1" ;;
    false | 0) printf -- '--%s=false\n' "$1" ;;
    *) printf -- '--attest=type=%s,%s\n' "$1" "$2" ;;
  esac
}
has_type() { [[ ,$2, == *,type=$1,* ]]; }
provenance_set=false
sbom_set=false
if [[ -n ${INPUT_PROVENANCE:-} ]]; then
  args+=("$(attest_value provenance "$INPUT_PROVENANCE")")
  provenance_set=true
fi
if [[ -n ${INPUT_SBOM:-} ]]; then
  args+=("$(attest_value sbom "$INPUT_SBOM")")
  sbom_set=true
fi
attest_provenance=false
while IFS= read -r a; do
  if has_type provenance "$a"; then
    attest_provenance=true
    $provenance_set || args+=(--attest "$a")
  elif has_type sbom "$a"; then
    $sbom_set || args+=(--attest "$a")
  else
    args+=(--attest "$a")
  fi
done < <(list "${INPUT_ATTESTS:-}")
docker_exporter=false
truthy "${INPUT_LOAD:-false}" && docker_exporter=true
while IFS= read -r o; do
  [[ ,$o, == *,type=docker,* || $o == type=docker ]] && docker_exporter=true
done < <(list "${INPUT_OUTPUTS:-}")
if ! $provenance_set && ! $attest_provenance && ! truthy "${BUILDX_NO_DEFAULT_ATTESTATIONS:-false}" &&
  ! $docker_exporter; then
  private=false
  if [[ -n ${GITHUB_EVENT_PATH:-} && -r $GITHUB_EVENT_PATH ]] &&
    grep -Eq '"private"[[:space:]]*:[[:space:]]*true' "$GITHUB_EVENT_PATH"; then
    private=true
  fi
  if $private; then
    args+=(--attest "type=provenance,mode=min,inline-only=true")
  else
    args+=(--attest "type=provenance,mode=max")
  fi
fi

# build-push-action pushes only when asked; ocibuild's own default is to push tagged images.
if truthy "${INPUT_PUSH:-false}"; then
  args+=(--push)
elif [[ -n ${INPUT_TAGS:-} ]]; then
  args+=(--no-push)
fi

# secrets: "id=value" lines. The values travel in the environment, never in argv or on disk;
# ocibuild masks them (::add-mask::) before printing anything.
n=0
while IFS= read -r s; do
  [[ $s == *=* ]] || die "secrets: '${s%%=*}' is not id=value"
  id=${s%%=*}
  printf '::add-mask::%s\n' "${s#*=}"
  export "OCIBUILD_ACTION_SECRET_$n=${s#*=}"
  args+=(--secret "id=$id,env=OCIBUILD_ACTION_SECRET_$n")
  n=$((n + 1))
done < <(list "${INPUT_SECRETS:-}")
while IFS= read -r s; do
  [[ $s == *=* ]] || die "secret-files: '$s' is not id=path"
  args+=(--secret "id=${s%%=*},src=${s#*=}")
done < <(list "${INPUT_SECRET_FILES:-}")
while IFS= read -r s; do
  [[ $s == *=* ]] || die "secret-envs: '$s' is not id=VARIABLE"
  args+=(--secret "id=${s%%=*},env=${s#*=}")
done < <(list "${INPUT_SECRET_ENVS:-}")

# Extra flags, shell-split (no secrets here: they would show in the log).
if [[ -n ${INPUT_OCIBUILD_ARGS:-} ]]; then
  read -ra extra <<<"$INPUT_OCIBUILD_ARGS"
  args+=("${extra[@]}")
fi

args+=("${INPUT_CONTEXT:-.}")

# GHCR with no login step: ocibuild reads GITHUB_TOKEN (and GITHUB_ACTOR) for ghcr.io.
if [[ -z ${GITHUB_TOKEN:-} && -n ${INPUT_GITHUB_TOKEN:-} ]]; then
  export GITHUB_TOKEN=$INPUT_GITHUB_TOKEN
fi

# Work and cache on the runner's scratch disk unless the workflow chose a place.
if [[ -z ${OCIBUILD_ROOT:-} && -n ${RUNNER_TEMP:-} ]]; then
  export OCIBUILD_ROOT=$RUNNER_TEMP/ocibuild
fi

# load: as build-push-action's, into the job's Docker daemon when there is one (ocibuild needs
# none: the image goes through a `docker load` archive).
load_tar=
if truthy "${INPUT_LOAD:-false}"; then
  load_tar=$tmp_root/ocibuild-load-$$.tar
  args=("${args[@]:0:${#args[@]}-1}" --output "type=docker,dest=$load_tar" "${args[-1]}")
fi

log "ocibuild ${args[*]}"
if [[ -z $load_tar ]]; then
  exec "$ocibuild" "${args[@]}"
fi
"$ocibuild" "${args[@]}"
if command -v docker >/dev/null; then
  docker load -i "$load_tar"
else
  printf '::warning::load: no docker command in this job; the image is in %s\n' "$load_tar"
  exit 0
fi
rm -f "$load_tar"
