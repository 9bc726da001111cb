#!/usr/bin/env bash
# The local DynamoDB-compatible server (moto) on 127.0.0.1, in the project's .venv.
#   scripts/local-dynamodb.sh venv          install it (once; pinned in tools/requirements.txt)
#   scripts/local-dynamodb.sh start [PORT]  start it unless it already answers; print its URL
#   scripts/local-dynamodb.sh stop          stop the one `start` started
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=.venv
STATE=.local
PORT=${2:-${LOCAL_DYNAMODB_PORT:-8765}}
URL="http://127.0.0.1:$PORT"

venv() {
  scripts/venv.sh tools/requirements.txt
}

answers() {
  # moto answers its own API; any other server on the port is not ours to use.
  curl -fsS -o /dev/null --max-time 1 "$URL/moto-api/" 2>/dev/null
}

start() {
  venv
  mkdir -p "$STATE"
  if ! answers; then
    # One request at a time: see scripts/moto_server_serial.py.
    nohup "$VENV/bin/python" scripts/moto_server_serial.py -H 127.0.0.1 -p "$PORT" >"$STATE/moto.log" 2>&1 &
    echo $! >"$STATE/moto.pid"
    for _ in $(seq 1 100); do
      answers && break
      sleep 0.1
    done
    answers || { echo "local DynamoDB did not start; see $STATE/moto.log" >&2; exit 1; }
  fi
  echo "$URL"
}

stop() {
  if [ -f "$STATE/moto.pid" ]; then
    kill "$(cat "$STATE/moto.pid")" 2>/dev/null || true
    rm -f "$STATE/moto.pid"
  fi
}

case "${1:-}" in
  venv) venv ;;
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 venv|start [PORT]|stop" >&2; exit 2 ;;
esac
