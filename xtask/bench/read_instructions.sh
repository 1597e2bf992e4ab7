#!/usr/bin/env bash
# Instructions per read, counted by valgrind's callgrind: repeatable whatever else the machine
# is doing, so the read path can be measured on a busy machine and compared commit against
# commit. Petty (release build, one tokio worker, rate limits off) serves
# `GET /api/v1/pets/{id}` with a bearer token and `GET /healthz`; the bare-axum anchor
# (xtask/anchors, the throughput benchmark's yardstick) serves `GET /hello`. Each route is asked
# N times on one kept-alive connection after a warm-up of 200, with the counters zeroed just
# before those N requests and dumped just after; the count is divided by N. Every answer must
# be a 200.
#
#   xtask/bench/read_instructions.sh [PETTY_BINARY] [N] [ANCHOR_BINARY]
#
# Defaults: $CARGO_TARGET_DIR (or ~/.cache/petty-target)/release/petty, 2000, and
# ~/.cache/petty-anchors-target/release/server (skipped if absent). Prints instructions a
# request for each route and Petty's ratios to the anchor (anchor ÷ Petty, as the throughput
# benchmark's req/s ratios are); the callgrind files (for callgrind_annotate) stay in
# ~/.cache/petty-bench/callgrind/.
set -euo pipefail
shopt -s inherit_errexit
cd "$(dirname "$0")/../.."
bin="${1:-${CARGO_TARGET_DIR:-$HOME/.cache/petty-target}/release/petty}"
n="${2:-2000}"
anchor="${3:-$HOME/.cache/petty-anchors-target/release/server}"
command -v valgrind >/dev/null || { echo "valgrind is required (apt-get install valgrind)" >&2; exit 1; }
[ -x "$bin" ] || { echo "no Petty binary at $bin (cargo build --release -p petty)" >&2; exit 1; }
out="$HOME/.cache/petty-bench/callgrind"
mkdir -p "$out"
work="$(mktemp -d)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

wait_up() {
  local url="$1" log="$2"
  for _ in $(seq 1 600); do curl -fs "$url" >/dev/null 2>&1 && return 0; sleep 0.2; done
  cat "$log" >&2
  return 1
}

# One curl, one connection, `count` requests; every answer must be 200.
ask() {
  local url="$1" count="$2" header="$3" cfg="$work/curl.cfg"
  : >"$cfg"
  if [ -n "$header" ]; then printf 'header = "%s"\n' "$header" >>"$cfg"; fi
  for _ in $(seq 1 "$count"); do printf 'url = "%s"\noutput = /dev/null\n' "$url" >>"$cfg"; done
  local codes
  codes="$(curl -s -K "$cfg" -w '%{http_code}\n' | sort | uniq -c)"
  [ "$(echo "$codes" | awk '{print $2}')" = "200" ] || { echo "non-200 answers from $url: $codes" >&2; exit 1; }
}

# Prints the instructions a request of `url` costs the process `pid`.
measure() {
  local pid="$1" label="$2" url="$3" header="$4"
  ask "$url" 200 "$header"
  callgrind_control -z "$pid" >/dev/null
  ask "$url" "$n" "$header"
  callgrind_control -d "$label" "$pid" >/dev/null
  local file=""
  for _ in $(seq 1 50); do
    file="$(ls -t "$out"/*."$pid".* 2>/dev/null | head -n1)"
    [ -n "$file" ] && grep -q '^summary:' "$file" && break
    sleep 0.2
  done
  echo $(( $(grep -m1 '^summary:' "$file" | awk '{print $2}') / n ))
}

report() { printf '%-34s %8d instructions a request\n' "$1" "$2"; }

# Petty.
port="$(free_port)"
base="http://127.0.0.1:$port"
env -i PATH="$PATH" HOME="$HOME" TOKIO_WORKER_THREADS=1 PETTY_RATE_LIMIT__ENABLED=false \
  PETTY_AUTH__ACCESS_TOKEN_TTL_SECS=86400 PETTY_LOG__LEVEL=warn \
  valgrind --tool=callgrind --callgrind-out-file="$out/petty.%p" \
  "$bin" serve --listen "127.0.0.1:$port" --data-dir "$work/data" >"$work/petty.log" 2>&1 &
petty=$!
pids+=("$petty")
wait_up "$base/healthz" "$work/petty.log"
email="bench-$RANDOM@example.org"
password="a long bench password of words"
curl -fs -H 'content-type: application/json' \
  -d "{\"email\":\"$email\",\"password\":\"$password\",\"display_name\":\"Bench\"}" "$base/api/v1/auth/register" >/dev/null
token="$(curl -fs -H 'content-type: application/json' -d "{\"email\":\"$email\",\"password\":\"$password\"}" \
  "$base/api/v1/auth/login" | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')"
pet="$(curl -fs -H 'content-type: application/json' -H "authorization: Bearer $token" \
  -d '{"name":"Bench","species":"dog"}' "$base/api/v1/pets" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')"
pet_read="$(measure "$petty" pets "$base/api/v1/pets/$pet" "authorization: Bearer $token")"
health="$(measure "$petty" healthz "$base/healthz" "")"
report "petty GET /api/v1/pets/{id} (JWT)" "$pet_read"
report "petty GET /healthz" "$health"

# The anchor.
if [ -x "$anchor" ]; then
  port="$(free_port)"
  valgrind --tool=callgrind --callgrind-out-file="$out/anchor.%p" "$anchor" "$port" 1 "$work/anchor.db" \
    >"$work/anchor.log" 2>&1 &
  a=$!
  pids+=("$a")
  wait_up "http://127.0.0.1:$port/hello" "$work/anchor.log"
  hello="$(measure "$a" hello "http://127.0.0.1:$port/hello" "")"
  report "anchor GET /hello" "$hello"
  python3 -c "import sys; h,p,z=map(int,sys.argv[1:]); print(f'ratio anchor/petty: pets {h/p:.3f}, healthz {h/z:.3f}')" \
    "$hello" "$pet_read" "$health"
else
  echo "no anchor at $anchor (CARGO_TARGET_DIR=\$HOME/.cache/petty-anchors-target cargo build --release --locked --manifest-path xtask/anchors/Cargo.toml); ratios skipped"
fi
