#!/usr/bin/env bash
# Single-reading HTTP ingest on one PostgreSQL: one Petty node, and two behind HAProxy (the
# README's "Running several nodes" recipe, deploy/haproxy/haproxy.cfg as written), against
# pgbench's one-row-per-transaction INSERTs into the same server (the baseline of
# `PHASE=postgres xtask/bench/ingest.sh`), interleaved rounds. Each round measures:
#   pgbench   8 clients, one-row INSERT transactions (device_id, ts)-indexed     (the baseline)
#   direct    wrk -> node 1
#   lb-1      wrk -> HAProxy -> node 1 (both server lines name node 1)
#   lb-2      wrk -> HAProxy -> node 1, node 2
# Readings go to DEVICES devices in turn (one device would make both nodes update the same
# device row). Rate limits are off; every node uses NATS on 127.0.0.1:4222 (as a cluster
# does: each reading is published). Nothing is pinned: the machine's cores are shared by the
# nodes, HAProxy, PostgreSQL and wrk, as they would be on one machine. Fails on any non-2xx.
#
#   xtask/bench/cluster.sh [ROUNDS] [SECONDS]       # default 3 rounds of 10 s
#
# Needs: wrk, haproxy, pgbench, psql (Debian), NATS on 127.0.0.1:4222, PostgreSQL on
# 127.0.0.1:5432 (user postgres; database petty_bench_cluster is recreated), and the release
# build (`cargo build --release -p petty`; PETTY=/path/to/petty to use another).
set -euo pipefail
ROUNDS=${1:-3}; SECS=${2:-10}; CONNS=${CONNS:-50}; DEVICES=${DEVICES:-100}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
PETTY=${PETTY:-${CARGO_TARGET_DIR:-$HOME/.cache/petty-target}/release/petty}
HAPROXY=${HAPROXY:-/usr/sbin/haproxy}
PG=postgres://postgres@127.0.0.1:5432
DIR=$(mktemp -d /tmp/petty-cluster-bench.XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; [ -n "${KEEP:-}" ] || rm -rf "$DIR"; }
trap cleanup EXIT
wait_port() { for _ in $(seq 1 200); do (exec 3<>/dev/tcp/127.0.0.1/$1) 2>/dev/null && return 0; sleep 0.05; done; echo "port $1 never opened" >&2; return 1; }

psql -qAt "$PG/postgres" -c 'DROP DATABASE IF EXISTS petty_bench_cluster WITH (FORCE)' -c 'CREATE DATABASE petty_bench_cluster' >/dev/null
node() { # node N PORT
  PETTY_RATE_LIMIT__ENABLED=false PETTY_HTTP__MAX_CONNECTIONS_PER_IP=0 PETTY_HTTP__TRUSTED_PROXIES=127.0.0.1 \
    PETTY_AUTH__JWT_SECRET=a-bench-secret-shared-by-the-nodes-0123456789abcdef RUST_LOG=warn \
    "$PETTY" serve --listen "127.0.0.1:$2" --database-url "$PG/petty_bench_cluster" --nats-url nats://127.0.0.1:4222 \
    >"$DIR/node$1.log" 2>&1 &
  PIDS+=($!)
}
node 1 18290; wait_port 18290
node 2 18291; wait_port 18291
balancer() { # balancer PORT STATS NODE1 NODE2
  PETTY_LB_BIND=127.0.0.1:$1 PETTY_LB_STATS=127.0.0.1:$2 PETTY_NODE_1=$3 PETTY_NODE_2=$4 \
    PETTY_LB_USER="$(id -un)" PETTY_LB_GROUP="$(id -gn)" \
    "$HAPROXY" -db -f "$ROOT/deploy/haproxy/haproxy.cfg" >"$DIR/haproxy-$1.log" 2>&1 &
  PIDS+=($!)
  wait_port "$1"
}
balancer 18292 18293 127.0.0.1:18290 127.0.0.1:18290
balancer 18294 18295 127.0.0.1:18290 127.0.0.1:18291
# Both nodes answer through the second balancer before anything is measured.
for _ in $(seq 1 100); do
  up=$(curl -sf "http://127.0.0.1:18295/;csv" | awk -F, '$1 == "petty_nodes" && $2 ~ /^node/ && $18 ~ /^UP/' | wc -l)
  [ "$up" = 2 ] && break; sleep 0.1
done
[ "$up" = 2 ] || { echo "HAProxy does not see both nodes up" >&2; exit 1; }

curl -sf -o /dev/null -H 'content-type: application/json' \
  -d '{"email":"bench@example.org","password":"correct horse battery staple","display_name":"Bench"}' \
  http://127.0.0.1:18290/api/v1/auth/register
session=$(curl -sf -H 'content-type: application/json' \
  -d '{"email":"bench@example.org","password":"correct horse battery staple"}' http://127.0.0.1:18290/api/v1/auth/login)
access=$(printf '%s' "$session" | sed -E 's/.*"access_token":"([^"]+)".*/\1/')
DKS=""
for i in $(seq 1 "$DEVICES"); do
  created=$(curl -sf -H 'content-type: application/json' -H "authorization: Bearer $access" \
    -d "{\"name\":\"Bench collar $i\",\"kind\":\"collar\",\"expected_interval_secs\":60}" http://127.0.0.1:18290/api/v1/devices)
  DKS="$DKS $(printf '%s' "$created" | sed -E 's/.*"token":"([^"]+)".*/\1/')"
done
export DKS
# One reading through each path first: anything but 201 stops here, saying what it was.
probe=$(( $(date +%s) * 1000 - 7200000 ))
for url in http://127.0.0.1:18290 http://127.0.0.1:18292 http://127.0.0.1:18294; do
  first=$(printf '%s' "$DKS" | awk '{print $1}'); probe=$(( probe + 1 ))
  answer=$(curl -s -w ' %{http_code}' -H 'content-type: application/json' -H "authorization: Bearer $first" \
    -d "{\"ts\":$probe,\"heart_rate\":92.5}" "$url/api/v1/ingest")
  [ "${answer##* }" = 201 ] || { echo "$url/api/v1/ingest answered $answer" >&2; exit 1; }
done

psql -qAt "$PG/petty_bench_cluster" -c "CREATE TABLE one_row (id bigserial PRIMARY KEY, device_id text NOT NULL, ts bigint NOT NULL,
  heart_rate float8, payload text NOT NULL); CREATE INDEX ON one_row (device_id, ts);" >/dev/null
cat > "$DIR/one.sql" <<'SQL'
\set d random(0, 999)
INSERT INTO one_row (device_id, ts, heart_rate, payload) VALUES ('device-' || :d, (extract(epoch from clock_timestamp()) * 1000)::bigint, 92.5, 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx');
SQL

# run URL K -> "req/s p99". Run K (a subshell: it cannot count for itself) sends event times
# of its own, from ten days back plus K times 20 million ms (a run sends well under 10 million
# readings), so no two runs send the same reading and all are in the past.
START=$(( $(date +%s) * 1000 - 10 * 86400000 ))
K=0
run() {
  export BASE=$(( START + $2 * 20000000 ))
  wrk -t1 -c"$CONNS" -d2s -s "$HERE/cluster_ingest.lua" "$1" >/dev/null
  export BASE=$(( BASE + 10000000 ))
  local out; out=$(wrk -t1 -c"$CONNS" -d"${SECS}s" --latency -s "$HERE/cluster_ingest.lua" "$1")
  local rps p99 bad
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  p99=$(echo "$out" | awk '$1 == "99%" {print $2}')
  bad=$(echo "$out" | awk '/Non-2xx/ {print $NF}'); bad=${bad:-0}
  local errors; errors=$(echo "$out" | awk '/Socket errors/ {print $0}')
  if [ "$bad" != 0 ] || [ -n "$errors" ]; then
    echo "$1: $bad non-2xx; $errors" >&2; echo "$out" >&2
    grep -hvE '" 20[01] |Proxy|Server' "$DIR"/haproxy-*.log | tail -n 5 >&2 || true
    grep -hiE 'warn|error' "$DIR"/node*.log | tail -n 5 >&2 || true
    exit 1
  fi
  echo "$rps $p99"
}

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); $("$PETTY" --version 2>/dev/null || echo petty); $("$HAPROXY" -v | head -n1 | cut -d' ' -f1-3); PostgreSQL $(psql -qAt "$PG/postgres" -c 'SHOW server_version')"
printf '| round | pgbench rows/s | 1 node direct req/s (p99) | 1 node via HAProxy | 2 nodes via HAProxy | 2 nodes ÷ 1 node (HAProxy) | 1 node via HAProxy ÷ pgbench | 2 nodes ÷ pgbench |\n'
printf '|---:|---:|---:|---:|---:|---:|---:|---:|\n'
for r in $(seq 1 "$ROUNDS"); do
  tps=$(pgbench -h 127.0.0.1 -U postgres -n -f "$DIR/one.sql" -c 8 -j 1 -T "$SECS" petty_bench_cluster 2>/dev/null | awk '/^tps/ {print $3}')
  K=$((K + 1)); read -r d_rps d_p99 < <(run http://127.0.0.1:18290/api/v1/ingest "$K")
  K=$((K + 1)); read -r one_rps one_p99 < <(run http://127.0.0.1:18292/api/v1/ingest "$K")
  K=$((K + 1)); read -r two_rps two_p99 < <(run http://127.0.0.1:18294/api/v1/ingest "$K")
  ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
  printf '| %s | %.0f | %s (%s) | %s (%s) | %s (%s) | %s | %s | %s |\n' "$r" "$tps" "$d_rps" "$d_p99" "$one_rps" "$one_p99" \
    "$two_rps" "$two_p99" "$(ratio "$two_rps" "$one_rps")" "$(ratio "$one_rps" "$tps")" "$(ratio "$two_rps" "$tps")"
done
stored=$(psql -qAt "$PG/petty_bench_cluster" -c 'SELECT count(*) FROM readings')
echo "readings stored: $stored (every acknowledged one is new: no run repeats another's)"
{ grep -ciE 'error|panic' "$DIR"/node*.log || true; } | sed 's/^/node log lines with error or panic (per node): /'
