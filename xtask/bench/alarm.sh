#!/usr/bin/env bash
# Reading → alarm on household:{id}:alarms (issue 5), with petty-load's alarm-latency scenario
# against a fresh `petty serve` (embedded SQLite), server on core 0, petty-load on core 1.
#
#   xtask/bench/alarm.sh PORT DELAY [petty-load alarm-latency flags...]
#
# DELAY is notify.alarm_delay_ms for the server, or `default`. KEEP_RUNS=false runs the alarm job
# the way it worked before issue 18 (every pass reads each rule's window again), the baseline
# for the kept runs. PETTY=path and LOAD=path run other builds (a before and an after, in turn).
# PG=URL runs Petty on PostgreSQL instead: URL names a server (postgres://USER@HOST:PORT), whose
# database petty_alarm_bench is made afresh for the run.
# Needs the release builds:
# cargo build --release -p petty && cargo build --release -p xtask --bin petty-load
set -u
port=$1; delay=$2; shift 2; [ "$delay" = default ] && delay=""
target=${CARGO_TARGET_DIR:-$HOME/.cache/petty-target}
PETTY=${PETTY:-$target/release/petty}; LOAD=${LOAD:-$target/release/petty-load}
d=$(mktemp -d /tmp/petty-alarm.XXXXXX)
db=()
if [ -n "${PG:-}" ]; then
  psql -qAt "${PG%/}/postgres" -c 'DROP DATABASE IF EXISTS petty_alarm_bench' -c 'CREATE DATABASE petty_alarm_bench' >/dev/null 2>&1 \
    || { echo "cannot make database petty_alarm_bench on $PG" >&2; exit 1; }
  db=(--database-url "${PG%/}/petty_alarm_bench")
fi
env ${delay:+PETTY_NOTIFY__ALARM_DELAY_MS=$delay} PETTY_NOTIFY__ALARM_KEEP_RUNS=${KEEP_RUNS:-true} \
  PETTY_RATE_LIMIT__ENABLED=false \
  PETTY_AUTH__ACCESS_TOKEN_TTL_SECS=86400 TOKIO_WORKER_THREADS=1 \
  taskset -c 0 "$PETTY" serve --data-dir "$d/data" --listen "127.0.0.1:$port" "${db[@]}" > "$d/petty.log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do curl -sf "127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
curl -sf "127.0.0.1:$port/healthz" >/dev/null || { echo "Petty did not start:"; cat "$d/petty.log"; kill $pid; exit 1; }
timeout 300 taskset -c 1 "$LOAD" --addr "127.0.0.1:$port" alarm-latency "$@"
status=$?
kill $pid; wait $pid 2>/dev/null
echo "petty warnings/errors: $(grep -cE ' (WARN|ERROR) ' "$d/petty.log")"; grep -E ' (WARN|ERROR) ' "$d/petty.log" | head -5
rm -rf "$d"
exit $status
