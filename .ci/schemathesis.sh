#!/usr/bin/env bash
# Schemathesis against a live `petty serve`: the OpenAPI document at /api/v1/openapi.json must be
# true. Every answer must be one the document names for that operation, with the content type,
# body schema and headers it names; no request may get a 5xx; data the document rules out must be
# refused with a 4xx. Fails on any failure.
#
#   bash .ci/schemathesis.sh                       # what CI runs (about 1.5 minutes once petty is built)
#   ST_MAX_EXAMPLES=200 bash .ci/schemathesis.sh   # longer
#   ST_SEED=1234 bash .ci/schemathesis.sh          # replay a run
#   ST_REPORT_DIR=st-report bash .ci/schemathesis.sh   # also write a JUnit report there
#   ST_SERVER_LOG=/tmp/st-server.log ST_SERVER_LOG_LEVEL='info,petty_http::observability=debug' \
#     bash .ci/schemathesis.sh                     # keep the server's log, every answer in it
#
# The server runs on SQLite in a temporary folder, on a free port, with rate limits off. It signs
# up an account and signs in with it (whether or not registration answers tokens itself),
# falling back on the demo household if that sign-in is refused; it adds a pet and a device, and
# sends the device a reading, so the routes that name them have something to find.
# Settings are in .ci/schemathesis.toml.
set -euo pipefail
cd "$(dirname "$0")/.."

# The version this was written against; 3.x reads other options.
SCHEMATHESIS_VERSION="4.32.5"
MAX_EXAMPLES="${ST_MAX_EXAMPLES:-100}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/petty-target}"
export SQLX_OFFLINE=true

step() { printf '\n==> %s\n' "$*"; }
die() { printf '\nFATAL: %s\n' "$*" >&2; exit 1; }

step "Schemathesis ${SCHEMATHESIS_VERSION}"
if ! schemathesis --version 2>/dev/null | grep -qF "$SCHEMATHESIS_VERSION"; then
  echo "installing schemathesis==${SCHEMATHESIS_VERSION} from PyPI"
  python3 -m pip install --quiet --disable-pip-version-check "schemathesis==${SCHEMATHESIS_VERSION}"
  hash -r
fi
schemathesis --version

step "build petty"
cargo build --locked --quiet -p petty --bin petty
petty="$CARGO_TARGET_DIR/debug/petty"

work="$(mktemp -d)"
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  if [ -n "${ST_SERVER_LOG:-}" ] && [ -f "$work/server.log" ]; then cp "$work/server.log" "$ST_SERVER_LOG"; fi
  rm -rf "$work"
}
trap cleanup EXIT

port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
base="http://127.0.0.1:${port}"

step "petty serve on ${base} (SQLite in ${work}, rate limits off)"
PETTY_RATE_LIMIT__ENABLED=false \
PETTY_AUTH__ACCESS_TOKEN_TTL_SECS=7200 \
PETTY_LOG__LEVEL="${ST_SERVER_LOG_LEVEL:-warn}" \
PETTY_DEMO__LIVE_DEVICES=false \
  "$petty" serve --demo --data-dir "$work/data" --listen "127.0.0.1:${port}" >"$work/server.log" 2>&1 &
server_pid=$!
# The demo household replays a fortnight of readings before the server listens.
for _ in $(seq 1 1500); do
  curl -fsS "$base/readyz" >/dev/null 2>&1 && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.log"; die "petty serve exited"; }
  sleep 0.2
done
curl -fsS "$base/readyz" >/dev/null || { cat "$work/server.log"; die "petty serve did not become ready"; }

json() { curl -sS -H 'content-type: application/json' "$@"; }
field() { python3 -c 'import json, sys; print(json.load(sys.stdin).get(sys.argv[1]) or "")' "$1"; }

step "an account and a bearer token"
email="schemathesis-$$@example.org"
password="Quartz-Lantern-$$-9183"
json "$base/api/v1/auth/register" \
  -d "{\"email\":\"$email\",\"password\":\"$password\",\"display_name\":\"Schemathesis\"}" >"$work/register.json"
# Sign in separately: registration may answer tokens or not.
token="$(json "$base/api/v1/auth/login" -d "{\"email\":\"$email\",\"password\":\"$password\"}" | field access_token)"
if [ -z "$token" ]; then
  echo "signing in as the new account was refused (verification needed?): using the demo household"
  token="$(json "$base/api/v1/auth/login" -d '{"email":"demo@petty.local","password":"petty-demo-password"}' \
    | field access_token)"
fi
[ -n "$token" ] || { cat "$work/register.json"; die "no access token"; }
auth=(-H "authorization: Bearer $token")

step "a pet, a device and a reading for the routes that name them"
pet_id="$(json "${auth[@]}" "$base/api/v1/pets" -d '{"name":"Schema","species":"dog"}' | field id)"
device="$(json "${auth[@]}" "$base/api/v1/devices" \
  -d "{\"name\":\"Schema collar\",\"kind\":\"collar\",\"pet_id\":\"$pet_id\"}")"
device_id="$(printf '%s' "$device" | python3 -c 'import json, sys; print(json.load(sys.stdin)["device"]["id"])')"
device_token="$(printf '%s' "$device" | field token)"
now_ms="$(python3 -c 'import time; print(int(time.time() * 1000))')"
curl -fsS -o /dev/null -H "authorization: Bearer $device_token" -H 'content-type: application/json' \
  "$base/api/v1/ingest" -d "{\"ts\":$now_ms,\"heart_rate\":92,\"battery_pct\":80}"
echo "pet ${pet_id}, device ${device_id}"

step "schemathesis run (${MAX_EXAMPLES} examples an operation)"
started=$SECONDS
extra=()
if [ -n "${ST_SEED:-}" ]; then extra+=(--seed "$ST_SEED"); fi
if [ -n "${ST_REPORT_DIR:-}" ]; then extra+=(--report junit --report-dir "$ST_REPORT_DIR"); fi
set +e
schemathesis --config-file .ci/schemathesis.toml run "$base/api/v1/openapi.json" \
  -H "Authorization: Bearer $token" --max-examples "$MAX_EXAMPLES" "${extra[@]}"
status=$?
set -e
echo "schemathesis took $((SECONDS - started)) s"
if [ "$status" -ne 0 ]; then
  echo "--- the server's log (warnings and errors) ---"
  tail -n 200 "$work/server.log"
  die "schemathesis found failures (exit ${status})"
fi
# A 500 is logged as an error even when its answer looked documented.
if grep -q ' ERROR ' "$work/server.log"; then
  grep ' ERROR ' "$work/server.log" | head -n 40
  die "the server logged errors while schemathesis ran"
fi
echo "schemathesis: no failures"
