#!/usr/bin/env bash
# Instructions per read, counted by valgrind's callgrind: repeatable whatever else the machine
# is doing, so a change to the read path can be measured on a busy machine and compared commit
# against commit. Petty (release build) serves `GET /api/v1/pets/{id}` with a bearer token and
# `GET /healthz`; each is asked N times on one kept-alive connection after a warm-up, with
# the counters zeroed just before those N requests, and the count is divided by N.
#
#   xtask/bench/read_instructions.sh [PETTY_BINARY] [N]
#
# Prints instructions per request for each route and leaves the callgrind files (for
# callgrind_annotate) in $HOME/.cache/petty-bench/callgrind/.
set -euo pipefail
cd "$(dirname "$0")/../.."
bin="${1:-${CARGO_TARGET_DIR:-$HOME/.cache/petty-target}/release/petty}"
n="${2:-2000}"
command -v valgrind >/dev/null || { echo "valgrind is required (apt-get install valgrind)" >&2; exit 1; }
[ -x "$bin" ] || { echo "no Petty binary at $bin (cargo build --release -p petty)" >&2; exit 1; }
out="$HOME/.cache/petty-bench/callgrind"
mkdir -p "$out"
work="$(mktemp -d)"
port=$((20000 + RANDOM % 20000))
base="http://127.0.0.1:$port"
cleanup() { [ -n "${pid:-}" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

env -i PATH="$PATH" HOME="$HOME" TOKIO_WORKER_THREADS=1 PETTY_RATE_LIMIT__ENABLED=false \
  PETTY_AUTH__ACCESS_TOKEN_TTL_SECS=86400 PETTY_LOG__LEVEL=warn \
  valgrind --tool=callgrind --callgrind-out-file="$out/petty.%p" \
  "$bin" serve --listen "127.0.0.1:$port" --data-dir "$work/data" >"$work/log" 2>&1 &
pid=$!
for _ in $(seq 1 600); do curl -fs "$base/healthz" >/dev/null 2>&1 && break; sleep 0.2; done
curl -fs "$base/healthz" >/dev/null || { cat "$work/log" >&2; exit 1; }

email="bench-$RANDOM@example.org"
password="a long bench password of words"
curl -fs -H 'content-type: application/json' \
  -d "{\"email\":\"$email\",\"password\":\"$password\",\"display_name\":\"Bench\"}" "$base/api/v1/auth/register" >/dev/null
token="$(curl -fs -H 'content-type: application/json' -d "{\"email\":\"$email\",\"password\":\"$password\"}" \
  "$base/api/v1/auth/login" | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')"
pet="$(curl -fs -H 'content-type: application/json' -H "authorization: Bearer $token" \
  -d '{"name":"Bench","species":"dog"}' "$base/api/v1/pets" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')"

# One curl, one connection, N requests; every answer must be 200.
ask() {
  local path="$1" count="$2" header="$3" cfg="$work/curl.cfg"
  : >"$cfg"
  [ -n "$header" ] && printf 'header = "%s"\n' "$header" >>"$cfg"
  for _ in $(seq 1 "$count"); do printf 'url = "%s%s"\noutput = /dev/null\n' "$base" "$path" >>"$cfg"; done
  local codes
  codes="$(curl -s -K "$cfg" -w '%{http_code}\n' | sort | uniq -c)"
  [ "$(echo "$codes" | awk '{print $2}')" = "200" ] || { echo "non-200 answers on $path: $codes" >&2; exit 1; }
}

measure() {
  local label="$1" path="$2" header="$3"
  ask "$path" 200 "$header"                     # warm-up: caches, allocator, connection paths
  callgrind_control -z "$pid" >/dev/null
  ask "$path" "$n" "$header"
  callgrind_control -d "$label" "$pid" >/dev/null
  sleep 1
  local file
  file="$(ls -t "$out"/petty."$pid".* | head -n1)"
  local total
  total="$(grep -m1 '^summary:' "$file" | awk '{print $2}')"
  printf '%-28s %10d instructions a request (%d requests, %s)\n' "$label" $((total / n)) "$n" "$file"
}

measure "GET /api/v1/pets/{id}" "/api/v1/pets/$pet" "authorization: Bearer $token"
measure "GET /healthz" "/healthz" ""
