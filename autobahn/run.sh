#!/usr/bin/env bash
# Runs the official Autobahn testsuite (Docker image crossbario/autobahn-testsuite) against our library:
#   server: wstest -m fuzzingclient  -> our echo server   (autobahn/echo-server.ts, port 9001)
#   client: wstest -m fuzzingserver  <- our client driver (autobahn/client.ts)
# Usage: autobahn/run.sh [server|client|both]   Reports: autobahn/reports/official/{servers,clients}/
# Without Docker it says so and exits 2; the in-repo catalogue (npm run conformance) needs no Docker.
set -euo pipefail
cd "$(dirname "$0")/.."

MODE="${1:-both}"
IMAGE="crossbario/autobahn-testsuite"
PORT=9001
OUT="$PWD/autobahn/reports/official"

if ! command -v docker >/dev/null 2>&1; then
  echo "run.sh: Docker is not installed here, so the official $IMAGE image cannot run." >&2
  echo "run.sh: use the in-repo catalogue instead: npm run conformance (or npm run conformance:full)." >&2
  exit 2
fi
if ! docker info >/dev/null 2>&1; then
  echo "run.sh: the docker command exists but no Docker daemon answers, so $IMAGE cannot run." >&2
  echo "run.sh: use the in-repo catalogue instead: npm run conformance (or npm run conformance:full)." >&2
  exit 2
fi

mkdir -p "$OUT"
CONFIG="$(mktemp -d)"
cp autobahn/fuzzingclient.json autobahn/fuzzingserver.json "$CONFIG/"
# On Linux the container shares the host network, so the testee stays on 127.0.0.1 (nothing listens beyond
# loopback). Docker Desktop reaches the host's loopback through host.docker.internal instead.
if [ "$(uname -s)" = "Linux" ]; then
  NET=(--network host)
  sed -i "s#host.docker.internal#127.0.0.1#" "$CONFIG/fuzzingclient.json"
else
  NET=(-p "$PORT:$PORT")
fi

PIDS=()
CONTAINER=""
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  if [ -n "$CONTAINER" ]; then docker rm -f "$CONTAINER" >/dev/null 2>&1 || true; fi
  rm -rf "$CONFIG"
}
trap cleanup EXIT

wait_for_port() {
  for _ in $(seq 1 60); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then return 0; fi
    sleep 0.5
  done
  echo "run.sh: nothing listens on 127.0.0.1:$PORT after 30 s" >&2
  return 1
}

run_server_mode() {
  echo "== official fuzzingclient against our echo server"
  PORT=$PORT HOST=127.0.0.1 npx tsx autobahn/echo-server.ts &
  PIDS+=("$!")
  wait_for_port
  docker run --rm "${NET[@]}" -v "$CONFIG:/config" -v "$OUT:/reports" "$IMAGE" \
    wstest -m fuzzingclient -s /config/fuzzingclient.json
  kill "${PIDS[-1]}" 2>/dev/null || true
  echo "reports: $OUT/servers/index.html"
}

run_client_mode() {
  echo "== official fuzzingserver with our client driver"
  CONTAINER="ws6455-autobahn-$$"
  docker run -d --name "$CONTAINER" "${NET[@]}" -v "$CONFIG:/config" -v "$OUT:/reports" "$IMAGE" \
    wstest -m fuzzingserver -s /config/fuzzingserver.json >/dev/null
  wait_for_port
  AUTOBAHN_URL="ws://127.0.0.1:$PORT" npx tsx autobahn/client.ts
  docker rm -f "$CONTAINER" >/dev/null
  CONTAINER=""
  echo "reports: $OUT/clients/index.html"
}

case "$MODE" in
  server) run_server_mode ;;
  client) run_client_mode ;;
  both) run_server_mode; run_client_mode ;;
  *) echo "usage: autobahn/run.sh [server|client|both]" >&2; exit 64 ;;
esac
