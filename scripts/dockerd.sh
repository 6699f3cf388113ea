#!/usr/bin/env bash
# Starts (or reuses) a Docker daemon for the tests and prints the DOCKER_HOST value to use.
#   scripts/dockerd.sh start   print DOCKER_HOST, starting dockerd if needed
#   scripts/dockerd.sh stop    stop the daemon this script started
# Exits 77 when no daemon can run here (not root and none running, no dockerd, start failed),
# so callers can skip with a clear message. The daemon gets its own socket and data root, no
# bridge and no iptables rules: test containers use --network host to reach 127.0.0.1.
set -uo pipefail
run=/run/ocibuild-test
sock=$run/docker.sock
host=unix://$sock
data=/var/lib/ocibuild-test-docker
docker_cli=$(command -v docker || true)
[ -x /usr/bin/docker ] && docker_cli=/usr/bin/docker

alive() { [ -S "$sock" ] && DOCKER_HOST=$host timeout 10 "$docker_cli" version >/dev/null 2>&1; }

case "${1:-start}" in
start)
  [ -n "$docker_cli" ] || { echo "dockerd.sh: no docker client installed" >&2; exit 77; }
  if alive; then echo "$host"; exit 0; fi
  [ "$(id -u)" = 0 ] || { echo "dockerd.sh: no test dockerd running and not root" >&2; exit 77; }
  command -v dockerd >/dev/null || { echo "dockerd.sh: dockerd not installed" >&2; exit 77; }
  mkdir -p "$run" "$data"
  exec 9>"$run/start.lock"
  flock 9
  if alive; then echo "$host"; exit 0; fi
  rm -f "$sock"
  setsid dockerd --host "$host" --data-root "$data" --exec-root "$run/exec" \
    --pidfile "$run/dockerd.pid" --bridge=none --iptables=false --ip-masq=false \
    >"$run/dockerd.log" 2>&1 < /dev/null &
  for _ in $(seq 1 60); do
    if alive; then echo "$host"; exit 0; fi
    sleep 0.5
  done
  echo "dockerd.sh: dockerd did not start; last lines of $run/dockerd.log:" >&2
  tail -n 15 "$run/dockerd.log" >&2
  exit 77
  ;;
stop)
  if [ -f "$run/dockerd.pid" ]; then
    kill "$(cat "$run/dockerd.pid")" 2>/dev/null || true
    for _ in $(seq 1 40); do alive || break; sleep 0.25; done
  fi
  ;;
*) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
