#!/usr/bin/env bash
# Single-reading HTTP ingest on SQLite: Petty's POST /api/v1/ingest (device token, validation,
# group commit, 201 only after the commit) against the bare-axum anchor's POST /json (parse,
# answer 201, store nothing) and POST /ingest (its own SQLite group commit) and, unless
# NO_FASTAPI=1, the FastAPI peer's POST /json; interleaved rounds, servers on core 0, wrk on
# core 1 (the method of xtask/anchors/README.md).
#
#   xtask/bench/ingest.sh [ROUNDS] [SECONDS]            # throughput rounds (default 3 x 10 s)
#   PHASE=latency xtask/bench/ingest.sh                  # p99 at half of Petty's max, 30 s
#   PHASE=long xtask/bench/ingest.sh                     # 60 s at half max: any request over 100 ms?
#   RATE=N                                               # offer N req/s instead of half the max
#   DEVICES=N                                            # spread the readings over N collars (default 1)
#   PETTY_LOG=FILTER                                     # Petty's RUST_LOG (default warn); its log is left
#                                                        # in /tmp/petty-ingest-bench.log
#   PHASE=postgres xtask/bench/ingest.sh [ROUNDS] [SECONDS]
#       Petty on PostgreSQL against pgbench's one-row-per-transaction INSERTs with 8 clients into
#       a (device_id, ts)-indexed table in the same server and database (petty_bench), interleaved.
#       The server is a private cluster that this script makes with the machine's own PostgreSQL
#       (initdb's defaults: fsync and synchronous_commit on, 128 MB of shared buffers), with
#       pg_stat_statements preloaded: after the last round it prints PostgreSQL's own view of
#       Petty's last run (its statements by total time, its commits and rows). PG_URL=URL uses
#       that server instead (its petty_bench database is recreated; the view is printed only if
#       it has pg_stat_statements). PostgreSQL itself is not pinned.
#
# Needs: wrk (Debian), the release builds (`CARGO_TARGET_DIR=$HOME/.cache/petty-target cargo build
# --release -p petty`; the anchors in xtask/anchors, built into $HOME/.cache/petty-anchors-target as
# xtask/anchors/README.md says), and for FastAPI (xtask/anchors/py) the venv that `cargo xtask bench`
# makes in $HOME/.cache/petty-bench-venv. Runs from anywhere in a clone.
set -euo pipefail
ROUNDS=${1:-3}; SECS=${2:-10}; CONNS=${CONNS:-50}; PHASE=${PHASE:-throughput}
HERE=$(cd "$(dirname "$0")" && pwd)
PETTY=${PETTY:-$HOME/.cache/petty-target/release/petty}
ANCHOR=${ANCHOR:-$HOME/.cache/petty-anchors-target/release/server}
ANCHORS=$(cd "$HERE/../anchors" && pwd)
ANCHOR_LUA=$ANCHORS/wrk/post_one.lua
VENV=$HOME/.cache/petty-bench-venv
DIR=$(mktemp -d /tmp/petty-ingest-bench.XXXXXX)
PIDS=()
stop_pg() { :; }
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; stop_pg; cp "$DIR/petty.log" /tmp/petty-ingest-bench.log 2>/dev/null || true; rm -rf "$DIR"; }
trap cleanup EXIT

wait_port() { for _ in $(seq 1 200); do (exec 3<>/dev/tcp/127.0.0.1/$1) 2>/dev/null && return 0; sleep 0.05; done; echo "port $1 never opened" >&2; return 1; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
TICK=$(getconf CLK_TCK)

DB_ARGS=()
if [ "$PHASE" = postgres ]; then
  if [ -n "${PG_URL:-}" ]; then
    PG=${PG_URL%/}
  else
    # A private cluster, so that pg_stat_statements can be preloaded without touching the
    # machine's server. initdb refuses to run as root: the cluster then belongs to postgres.
    PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
    [ -x "$PGBIN/initdb" ] || { echo "PHASE=postgres needs PostgreSQL's server binaries (Debian: postgresql), or PG_URL" >&2; exit 1; }
    PGDIR=$(mktemp -d /tmp/petty-ingest-pg.XXXXXX)
    as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
    [ "$(id -u)" = 0 ] && chown postgres "$PGDIR"
    PGPORT=${PGPORT:-55432}
    as_pg "$PGBIN/initdb" -D "$PGDIR/data" -A trust -U postgres >/dev/null
    as_pg "$PGBIN/pg_ctl" -D "$PGDIR/data" -l "$PGDIR/server.log" -w -o "-p $PGPORT -k $PGDIR -c listen_addresses=127.0.0.1 \
      -c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track=top" start >/dev/null
    stop_pg() { as_pg "$PGBIN/pg_ctl" -D "$PGDIR/data" -m fast -w stop >/dev/null 2>&1 || true; rm -rf "$PGDIR"; }
    PG=postgres://postgres@127.0.0.1:$PGPORT
  fi
  psql -qAt "$PG/postgres" -c 'DROP DATABASE IF EXISTS petty_bench' -c 'CREATE DATABASE petty_bench' >/dev/null
  DB_ARGS=(--database-url "$PG/petty_bench")
fi
PETTY_RATE_LIMIT__ENABLED=false TOKIO_WORKER_THREADS=1 RUST_LOG=${PETTY_LOG:-warn} \
  taskset -c 0 "$PETTY" serve --data-dir "$DIR/petty" --listen 127.0.0.1:18190 "${DB_ARGS[@]}" >"$DIR/petty.log" 2>&1 &
PETTY_PID=$!; PIDS+=("$PETTY_PID")
taskset -c 0 "$ANCHOR" 18191 1 "$DIR/anchor.db" >/dev/null 2>&1 &
ANCHOR_PID=$!; PIDS+=("$ANCHOR_PID")
FASTAPI_PID=""
if [ "${NO_FASTAPI:-0}" != 1 ] && [ -x "$VENV/bin/uvicorn" ]; then
  (cd "$ANCHORS/py" && PYTHONDONTWRITEBYTECODE=1 exec taskset -c 0 "$VENV/bin/uvicorn" fastapi_app:app --host 127.0.0.1 --port 18192 --workers 1 --log-level warning >/dev/null 2>&1) &
  FASTAPI_PID=$!; PIDS+=("$FASTAPI_PID")
  wait_port 18192
fi
wait_port 18190; wait_port 18191

# Registration answers 202 and no tokens (a taken address answers the same): sign in next.
curl -sf -o /dev/null -H 'content-type: application/json' \
  -d '{"email":"bench@example.org","password":"correct horse battery staple","display_name":"Bench"}' \
  http://127.0.0.1:18190/api/v1/auth/register
session=$(curl -sf -H 'content-type: application/json' \
  -d '{"email":"bench@example.org","password":"correct horse battery staple"}' \
  http://127.0.0.1:18190/api/v1/auth/login)
access=$(printf '%s' "$session" | sed -E 's/.*"access_token":"([^"]+)".*/\1/')
# DEVICES collars (default 1); request n goes to collar n mod DEVICES, so with more than one
# each collar's readings are sent in their event-time order, as real collars send them.
DK=""
for d in $(seq 1 "${DEVICES:-1}"); do
  created=$(curl -sf -H 'content-type: application/json' -H "authorization: Bearer $access" \
    -d "{\"name\":\"Bench collar $d\",\"kind\":\"collar\",\"expected_interval_secs\":60}" http://127.0.0.1:18190/api/v1/devices)
  DK="$DK${DK:+,}$(printf '%s' "$created" | sed -E 's/.*"token":"([^"]+)".*/\1/')"
done
export DK
# Event times one millisecond apart, every wrk run in a range of its own, so every request of
# every run is a new reading: repeating one range would answer later runs with duplicates (200,
# nothing written), which cost less. The ranges run forward in event time and end before now,
# as a live collar's readings do (30 ms of event time per second of a run: room for 30,000
# req/s); runs of readings older than today (UTC) would have their rollups written at once, as
# a backfill's are, not folded behind ingest, so the script says when it had to go back that far.
RANGE_MS=$(( (SECS > 2 ? SECS : 2) * 30000 ))
RANGES=$(( ROUNDS * 8 + 4 ))
now_ms=$(( $(date +%s) * 1000 ))
first=$(( now_ms - RANGES * RANGE_MS - 60000 ))
if [ "$first" -lt $(( now_ms - now_ms % 86400000 )) ]; then
  echo "note: the first event times are from yesterday (UTC); their rollups are not folded behind ingest" >&2
fi
echo "$first" > "$DIR/next_base"
fresh_base() { local b; b=$(cat "$DIR/next_base"); echo $(( b + RANGE_MS )) > "$DIR/next_base"; export BASE=$b; }

# run NAME URL LUA [extra wrk args...] -> prints "req/s cpu_us_per_req p99 max non2xx"
run() {
  local name=$1 url=$2 lua=$3 pid=$4; shift 4
  fresh_base
  taskset -c 1 wrk -t1 -c"$CONNS" -d2s -s "$lua" "$url" >/dev/null
  fresh_base
  local c0; c0=$(cpu_ticks "$pid")
  local out; out=$(taskset -c 1 wrk -t1 -c"$CONNS" -d"${SECS}s" --latency -s "$lua" "$@" "$url")
  local c1; c1=$(cpu_ticks "$pid")
  echo "$out" > "$DIR/$name.last"
  local rps p99 max non2xx
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  p99=$(echo "$out" | awk '$1 == "99%" {print $2}')
  max=$(echo "$out" | awk '$1 == "Latency" {print $4}')
  non2xx=$(echo "$out" | awk '/Non-2xx/ {print $NF}'); non2xx=${non2xx:-0}
  # A figure made of error answers is false: the run fails at the end (below) if any came.
  [ "$non2xx" = 0 ] || echo "$name: $non2xx answers were not 2xx" >> "$DIR/failures"
  local total; total=$(echo "$out" | awk '/requests in/ {print $1}')
  local cpu_us; cpu_us=$(awk -v t="$TICK" -v a="$c0" -v b="$c1" -v n="$total" 'BEGIN {printf "%.1f", (b - a) / t * 1e6 / n}')
  echo "$rps $cpu_us $p99 $max $non2xx"
}

if [ "$PHASE" = postgres ]; then
  psql -qAt "$PG/petty_bench" -c "CREATE TABLE one_row (id bigserial PRIMARY KEY, device_id text NOT NULL, ts bigint NOT NULL,
    heart_rate float8, payload text NOT NULL); CREATE INDEX ON one_row (device_id, ts);" >/dev/null
  cat > "$DIR/one.sql" <<'SQL'
\set d random(0, 999)
INSERT INTO one_row (device_id, ts, heart_rate, payload) VALUES ('device-' || :d, (extract(epoch from clock_timestamp()) * 1000)::bigint, 92.5, 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx');
SQL
  printf '| round | pgbench one row per transaction, 8 clients, rows/s | Petty single-reading ingest req/s | Petty CPU µs/req | Petty p99 | Petty non-2xx | ratio |\n|---:|---:|---:|---:|---:|---:|---:|\n'
  STATS=$(psql -qAt "$PG/petty_bench" -c "SELECT count(*) FROM pg_available_extensions WHERE name = 'pg_stat_statements'" 2>/dev/null || echo 0)
  [ "$STATS" = 1 ] && ! psql -qAt "$PG/petty_bench" -c 'CREATE EXTENSION IF NOT EXISTS pg_stat_statements' -c 'SELECT 1 FROM pg_stat_statements LIMIT 1' >/dev/null 2>&1 && STATS=0
  # commits of petty_bench, readings stored
  counters() { psql -qAt "$PG/petty_bench" -F ' ' -c "SELECT xact_commit, (SELECT count(*) FROM readings) FROM pg_stat_database WHERE datname = 'petty_bench'"; }
  for r in $(seq 1 "$ROUNDS"); do
    tps=$(taskset -c 1 pgbench -n -f "$DIR/one.sql" -c 8 -j 1 -T "$SECS" "$PG/petty_bench" 2>/dev/null | awk '/^tps/ {print $3}')
    [ "$STATS" = 1 ] && psql -qAt "$PG/petty_bench" -c 'SELECT pg_stat_statements_reset()' >/dev/null
    read -r commits0 rows0 < <(counters)
    read -r p_rps p_cpu p_p99 _ p_bad < <(run petty http://127.0.0.1:18190/api/v1/ingest "$HERE/petty_ingest.lua" "$PETTY_PID")
    read -r commits1 rows1 < <(counters)
    printf '| %s | %.0f | %s | %s | %s | %s | %.1f |\n' "$r" "$tps" "$p_rps" "$p_cpu" "$p_p99" "$p_bad" "$(awk -v p="$p_rps" -v t="$tps" 'BEGIN {print p / t}')"
  done
  # The last round's Petty run (its warm-up included), as PostgreSQL saw it.
  echo
  echo "last Petty run: $((commits1 - commits0)) commits in petty_bench (the warm-up's included), $((rows1 - rows0)) readings stored"
  if [ "$STATS" = 1 ]; then
    echo
    echo '| statement (pg_stat_statements, the last Petty run) | calls | total ms | mean µs | rows |'
    echo '|---|---:|---:|---:|---:|'
    psql -qAt "$PG/petty_bench" -F '|' -c "SELECT regexp_replace(left(query, 90), '[|\n]+', ' ', 'g'), calls, round(total_exec_time), round(mean_exec_time * 1000), rows
      FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = 'petty_bench')
      ORDER BY total_exec_time DESC LIMIT ${PG_TOP:-12}" | sed 's/^/| /; s/$/ |/'
    psql -qAt "$PG/petty_bench" -c "SELECT 'all statements: ' || sum(calls) || ' calls, ' || round(sum(total_exec_time)) || ' ms of execution' FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = 'petty_bench')"
  else
    echo "(pg_stat_statements is not loaded in this server: no statement view)"
  fi
  echo
  echo '| table (pg_stat_user_tables, since the database was made) | rows updated | of them HOT | dead rows now | size |'
  echo '|---|---:|---:|---:|---:|'
  psql -qAt "$PG/petty_bench" -F '|' -c "SELECT relname, n_tup_upd, n_tup_hot_upd, n_dead_tup, pg_size_pretty(pg_total_relation_size(relid))
    FROM pg_stat_user_tables WHERE relname IN ('readings', 'rollups', 'devices', 'alarm_runs') ORDER BY relname" | sed 's/^/| /; s/$/ |/'
elif [ "$PHASE" = throughput ]; then
  printf '| round | anchor /json req/s | anchor /ingest req/s | FastAPI /json req/s | Petty ingest req/s | Petty CPU µs/req | anchor /json CPU µs/req | Petty p99 | Petty max | Petty non-2xx | Petty ÷ /json | Petty ÷ FastAPI |\n'
  printf '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n'
  for r in $(seq 1 "$ROUNDS"); do
    read -r a_rps a_cpu _ _ _ < <(run anchor-json http://127.0.0.1:18191/json "$ANCHOR_LUA" "$ANCHOR_PID")
    read -r g_rps _ _ _ _ < <(run anchor-ingest http://127.0.0.1:18191/ingest "$ANCHOR_LUA" "$ANCHOR_PID")
    f_rps="-"
    if [ -n "$FASTAPI_PID" ]; then read -r f_rps _ _ _ _ < <(run fastapi http://127.0.0.1:18192/json "$ANCHOR_LUA" "$FASTAPI_PID"); fi
    read -r p_rps p_cpu p_p99 p_max p_bad < <(run petty http://127.0.0.1:18190/api/v1/ingest "$HERE/petty_ingest.lua" "$PETTY_PID")
    ratio=$(awk -v p="$p_rps" -v a="$a_rps" 'BEGIN {printf "%.3f", p / a}')
    fratio=$( [ "$f_rps" = "-" ] && echo "-" || awk -v p="$p_rps" -v f="$f_rps" 'BEGIN {printf "%.1f", p / f}')
    printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$r" "$a_rps" "$g_rps" "$f_rps" "$p_rps" "$p_cpu" "$a_cpu" "$p_p99" "$p_max" "$p_bad" "$ratio" "$fratio"
  done
else
  # Petty's own maximum first, then a fixed rate at half of it: each of CONNS connections waits
  # CONNS/rate seconds between requests (wrk's delay()), so the offered load is the rate.
  read -r max_rps _ _ _ _ < <(run petty-max http://127.0.0.1:18190/api/v1/ingest "$HERE/petty_ingest.lua" "$PETTY_PID")
  rate=${RATE:-$(awk -v m="$max_rps" 'BEGIN {printf "%d", m / 2}')}
  [ "$PHASE" = long ] && SECS=60 || SECS=${SECS_LATENCY:-30}
  export DELAY_MS=$(awk -v c="$CONNS" -v r="$rate" 'BEGIN {printf "%.3f", c / r * 1000}')
  read -r rps cpu p99 max bad < <(run petty-rate http://127.0.0.1:18190/api/v1/ingest "$HERE/petty_ingest.lua" "$PETTY_PID")
  echo "petty max ${max_rps} req/s; offered ${rate} req/s for ${SECS} s: achieved ${rps} req/s, p99 ${p99}, max ${max}, non-2xx ${bad}, CPU ${cpu} µs/req"
  grep -A8 'Latency Distribution' "$DIR/petty-rate.last"
fi
{ grep -ciE 'error|panic' "$DIR/petty.log" || true; } | sed 's/^/petty log lines with error or panic: /'
if [ -s "$DIR/failures" ]; then cat "$DIR/failures" >&2; echo "FAILED: the figures above include answers that were not 2xx" >&2; exit 1; fi
