#!/usr/bin/env bash
# Charts through the rollups: GET /api/v1/devices/{id}/chart.svg for an hour (minute buckets)
# against a whole year (day buckets) of an air monitor with a reading every 10 minutes for a
# year (52,560 readings, imported with `petty import`), and /healthz as the baseline, in one
# run; server on core 0, wrk on core 1 (the method of xtask/anchors/README.md).
#
#   xtask/bench/chart.sh [ROUNDS] [SECONDS]     # default 3 rounds of 10 s, interleaved
#
# Needs: wrk (Debian) and the release build (cargo build --release -p petty).
set -euo pipefail
ROUNDS=${1:-3}; SECS=${2:-10}; CONNS=${CONNS:-16}
PETTY=${PETTY:-$HOME/.cache/petty-target/release/petty}
DIR=$(mktemp -d /tmp/petty-chart-bench.XXXXXX)
PID=""
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$DIR"; }
trap cleanup EXIT
wait_port() { for _ in $(seq 1 200); do (exec 3<>/dev/tcp/127.0.0.1/$1) 2>/dev/null && return 0; sleep 0.05; done; return 1; }

PETTY_RATE_LIMIT__ENABLED=false TOKIO_WORKER_THREADS=1 RUST_LOG=warn \
  taskset -c 0 "$PETTY" serve --data-dir "$DIR/petty" --listen 127.0.0.1:18195 >"$DIR/petty.log" 2>&1 &
PID=$!
wait_port 18195
# Registration answers 202 and no tokens (a taken address answers the same): sign in next.
curl -sf -o /dev/null -H 'content-type: application/json' \
  -d '{"email":"bench@example.org","password":"correct horse battery staple","display_name":"Bench"}' \
  http://127.0.0.1:18195/api/v1/auth/register
session=$(curl -sf -H 'content-type: application/json' \
  -d '{"email":"bench@example.org","password":"correct horse battery staple"}' \
  http://127.0.0.1:18195/api/v1/auth/login)
access=$(printf '%s' "$session" | sed -E 's/.*"access_token":"([^"]+)".*/\1/')
household=$(printf '%s' "$session" | sed -E 's/.*"household_id":"([^"]+)".*/\1/')
created=$(curl -sf -H 'content-type: application/json' -H "authorization: Bearer $access" \
  -d '{"name":"Car","kind":"air_monitor","expected_interval_secs":600}' http://127.0.0.1:18195/api/v1/devices)
device=$(printf '%s' "$created" | sed -E 's/.*"device":\{"id":"([^"]+)".*/\1/')

now_ms=$(( $(date +%s) * 1000 ))
start=$(( now_ms - 365 * 86400000 ))
python3 - "$start" "$now_ms" > "$DIR/year.jsonl" <<'PY'
import math, sys
start, end = int(sys.argv[1]), int(sys.argv[2])
t = start
while t < end:
    day = (t // 86400000) % 365
    co = 1.0 + 30.0 * max(0.0, math.sin(t / 3.1e6)) ** 8 + (day % 7)
    print('{"ts": %d, "co_ppm": %.2f, "ambient_temp_c": %.1f, "humidity_pct": %.1f}'
          % (t, co, 18 + 6 * math.sin(t / 1.37e7), 45 + 10 * math.sin(t / 2.2e7)))
    t += 600000
PY
echo "importing $(wc -l < "$DIR/year.jsonl") readings"
"$PETTY" import --data-dir "$DIR/petty" --device "$device" --household "$household" "$DIR/year.jsonl" >/dev/null

iso() { date -u -d "@$(( $1 / 1000 ))" +%Y-%m-%dT%H:%M:%SZ; }
HOUR="http://127.0.0.1:18195/api/v1/devices/$device/chart.svg?metric=co_ppm&from=$(iso $(( now_ms - 3600000 )))&to=$(iso "$now_ms")"
YEAR="http://127.0.0.1:18195/api/v1/devices/$device/chart.svg?metric=co_ppm&from=$(iso "$start")&to=$(iso "$now_ms")"
curl -sf -H "authorization: Bearer $access" "$YEAR" > "$DIR/year.svg"
curl -sf -H "authorization: Bearer $access" "$HOUR" > "$DIR/hour.svg"
echo "year chart: $(wc -c < "$DIR/year.svg") bytes, $(grep -o 'buckets' "$DIR/year.svg" | head -1 >/dev/null; sed -E 's/.*<desc[^>]*>([^<]*)<.*/\1/' "$DIR/year.svg")"
echo "hour chart: $(wc -c < "$DIR/hour.svg") bytes, $(sed -E 's/.*<desc[^>]*>([^<]*)<.*/\1/' "$DIR/hour.svg")"

run() {
  local line
  line=$(taskset -c 1 wrk -t1 -c"$CONNS" -d"${SECS}s" --latency -H "authorization: Bearer $access" "$1" \
    | awk '/Requests\/sec/ {rps=$2} $1 == "50%" {p50=$2} $1 == "99%" {p99=$2} /Non-2xx/ {bad=$NF} END {printf "%s req/s, p50 %s, p99 %s, non-2xx %s\n", rps, p50, p99, bad+0}')
  echo "$line"
  # A figure made of error answers is false: the run fails at the end if any came.
  case "$line" in *"non-2xx 0") ;; *) echo "$1: $line" >> "$DIR/failures" ;; esac
}
taskset -c 1 wrk -t1 -c"$CONNS" -d2s -H "authorization: Bearer $access" "$YEAR" >/dev/null
for r in $(seq 1 "$ROUNDS"); do
  echo "round $r"
  echo "  /healthz: $(run http://127.0.0.1:18195/healthz)"
  echo "  hour:     $(run "$HOUR")"
  echo "  year:     $(run "$YEAR")"
done
if [ -s "$DIR/failures" ]; then cat "$DIR/failures" >&2; echo "FAILED: answers that were not 2xx" >&2; exit 1; fi
