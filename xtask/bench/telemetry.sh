#!/usr/bin/env bash
# Issue 3's telemetry budgets, measured with petty-load (xtask/src/bin/petty-load.rs) the way
# xtask/anchors/README.md says: servers pinned to core 0, load generators to core 1, a fresh
# data dir under /tmp per phase, anchors measured in the same run. Every process this script
# starts is stopped at the end (trap), also on error or Ctrl-C.
#
#   xtask/bench/telemetry.sh [PHASE...]        PHASE: ws idle mqtt soak (default: all four)
#
#   ws    the bare-axum broadcast anchor (ws_load: 1,000 subscribers, 4 KiB buffers, the two
#         1,000-subscriber rows of xtask/anchors/scripts/ws_probe.sh) and Petty's reading →
#         WebSocket latency (WS_DEVICES devices and as many subscribers, WS_RATE readings/s for
#         WS_DURATION s), interleaved for WS_ROUNDS rounds
#   idle  IDLE_SOCKETS idle authenticated, subscribed WebSockets on Petty: KiB per connection
#         (and the anchor's ws_load with the same count, 4 KiB buffers, for reference)
#   mqtt  Mosquitto's own QoS 0/1 relay (xtask/anchors/scripts/mosquitto_probe.sh's commands,
#         private broker), the same relay with petty-load's publisher, and Petty's MQTT ingest at
#         QoS 0 (MQTT_ROUNDS rounds) and QoS 1 (once per broker in-flight setting in
#         MQTT_QOS1_INFLIGHT)
#   soak  SOAK_RATE readings/s over SOAK_DEVICES devices for SOAK_DURATION s with one subscriber
#         per device topic; errors, latency, requests over 100 ms, RSS growth
#
# Sizes (environment, defaults = the budgets' sizes):
#   WS_DEVICES=1000 WS_RATE=1000 WS_DURATION=30 WS_CONNECTIONS=100 WS_ROUNDS=3 ANCHOR_MSGS=200
#   IDLE_SOCKETS=10000 IDLE_DEVICES=100 IDLE_HOLD=35 IDLE_ANCHOR=1
#   MQTT_MESSAGES=200000 MQTT_QOS1_MESSAGES=20000 MQTT_DEVICES=100 MQTT_ROUNDS=3
#   MQTT_QOS1_INFLIGHT="default 1"   (broker max_inflight_messages for Petty's QoS 1 runs)
#   SOAK_RATE=2315 SOAK_DEVICES=100 SOAK_DURATION=90 SOAK_CONNECTIONS=100
#   SOAK_WARMUP=30   (memory growth is measured from this many seconds into the soak: the budget
#                     is < 10% over the 60 s after a 30 s warm-up; SOAK_DURATION=630 for the
#                     10-minute run)
#   SOAK_SETTLE=12   (seconds at least between setup and the start; Petty's first retention pass
#                     runs 30 s after its start, so 12 puts it inside the soak, 40 before it)
#   SKIP_BUILD=1 to use the binaries as built; PETTY=/path/to/petty to measure another binary;
#   OUT=DIR for logs (default under ~/.cache).
#
# Petty runs as the release build with TOKIO_WORKER_THREADS=1 under `taskset -c 0` (its writer,
# checkpoint and sqlx threads share that core), PETTY_RATE_LIMIT__ENABLED=false,
# PETTY_HTTP__MAX_CONNECTIONS_PER_IP=0 and
# PETTY_AUTH__ACCESS_TOKEN_TTL_SECS=86400; the Mosquitto it reads from runs on core 0 too
# (BROKER_CPU=1 moves it to the load generator's core).
# Needs: mosquitto + mosquitto-clients, bc, curl, python3 (to find free ports). Builds Petty, petty-load
# and the anchors (xtask/anchors, into $HOME/.cache/petty-anchors-target) itself; runs from anywhere in a clone.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/petty-target}
ANCHOR_TARGET=$HOME/.cache/petty-anchors-target
PETTY=${PETTY:-$CARGO_TARGET_DIR/release/petty}
LOAD=${LOAD:-$CARGO_TARGET_DIR/release/petty-load}
ANCHOR_SERVER=$ANCHOR_TARGET/release/server
WS_LOAD=$ANCHOR_TARGET/release/ws_load
SERVER_CPU=${SERVER_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
# The core of the broker Petty reads from (the relay probes' broker is always on SERVER_CPU).
BROKER_CPU=${BROKER_CPU:-$SERVER_CPU}

WS_DEVICES=${WS_DEVICES:-1000}; WS_RATE=${WS_RATE:-1000}; WS_DURATION=${WS_DURATION:-30}
WS_CONNECTIONS=${WS_CONNECTIONS:-100}; WS_ROUNDS=${WS_ROUNDS:-3}; ANCHOR_MSGS=${ANCHOR_MSGS:-200}
IDLE_SOCKETS=${IDLE_SOCKETS:-10000}; IDLE_DEVICES=${IDLE_DEVICES:-100}; IDLE_HOLD=${IDLE_HOLD:-35}
IDLE_ANCHOR=${IDLE_ANCHOR:-1}
MQTT_MESSAGES=${MQTT_MESSAGES:-200000}; MQTT_QOS1_MESSAGES=${MQTT_QOS1_MESSAGES:-20000}
MQTT_DEVICES=${MQTT_DEVICES:-100}; MQTT_ROUNDS=${MQTT_ROUNDS:-3}
MQTT_QOS1_INFLIGHT=${MQTT_QOS1_INFLIGHT:-default 1}
SOAK_RATE=${SOAK_RATE:-2315}; SOAK_DEVICES=${SOAK_DEVICES:-100}; SOAK_DURATION=${SOAK_DURATION:-90}
SOAK_CONNECTIONS=${SOAK_CONNECTIONS:-100}; SOAK_SETTLE=${SOAK_SETTLE:-12}; SOAK_WARMUP=${SOAK_WARMUP:-30}

PHASES=("$@")
[ ${#PHASES[@]} -eq 0 ] && PHASES=(ws idle mqtt soak)
for p in "${PHASES[@]}"; do
  case $p in ws|idle|mqtt|soak) ;; *) echo "unknown phase $p (ws idle mqtt soak)" >&2; exit 2 ;; esac
done

OUT=${OUT:-$HOME/.cache/petty-bench/telemetry/$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$OUT"
SUMMARY=$OUT/summary.txt
: > "$SUMMARY"
TMP=$(mktemp -d /tmp/petty-telemetry.XXXXXX)

# 10,000 sockets need 10,000 descriptors in Petty and as many in petty-load (children inherit).
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say() { printf '%s\n' "$*" | tee -a "$SUMMARY"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 1 400); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.05; done; echo "port $1 never opened" >&2; return 1; }
# stop PID: SIGTERM, wait, and forget it (so that the trap never signals a reused pid).
stop() {
  kill "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
  local keep=() p
  for p in "${PIDS[@]}"; do [ "$p" != "$1" ] && keep+=("$p"); done
  PIDS=("${keep[@]}")
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.3f", a / b; else print "nan" }'; }
median() { sort -g | awk '{v[NR]=$1} END {if (NR==0) print "nan"; else if (NR%2) print v[(NR+1)/2]; else print (v[NR/2]+v[NR/2+1])/2}'; }
field() { tr ' ' '\n' | sed -n "s/^$1=//p" | head -n1; }   # field KEY < "RESULT k=v ..."
load() { taskset -c "$LOAD_CPU" "$LOAD" "$@"; }

# start_petty NAME [petty serve args...]: fresh data dir; sets PETTY_PID and PETTY_PORT.
start_petty() {
  local name=$1; shift
  PETTY_PORT=$(free_port)
  mkdir -p "$TMP/$name"
  # Every load generator here is one address (127.0.0.1) with more sockets than the default cap
  # of 128 per address (the soak's 200, the idle phase's 10,000): the cap is lifted, as the rate
  # limits are.
  PETTY_RATE_LIMIT__ENABLED=false PETTY_HTTP__MAX_CONNECTIONS_PER_IP=0 PETTY_AUTH__ACCESS_TOKEN_TTL_SECS=86400 \
    TOKIO_WORKER_THREADS=1 taskset -c "$SERVER_CPU" "$PETTY" serve --data-dir "$TMP/$name/data" --listen "127.0.0.1:$PETTY_PORT" "$@" \
    >"$OUT/$name.petty.log" 2>&1 &
  PETTY_PID=$!
  PIDS+=("$PETTY_PID")
  for _ in $(seq 1 400); do curl -sf "http://127.0.0.1:$PETTY_PORT/healthz" >/dev/null && break; sleep 0.05; done
  curl -sf "http://127.0.0.1:$PETTY_PORT/healthz" >/dev/null || { echo "Petty did not start; see $OUT/$name.petty.log" >&2; exit 1; }
  sleep 0.5
}

# petty_log_check NAME: warnings and errors in Petty's log.
petty_log_check() {
  local n
  n=$(grep -cE ' (WARN|ERROR) ' "$OUT/$1.petty.log" || true)
  [ "$n" -gt 0 ] && say "  Petty logged $n WARN/ERROR lines ($OUT/$1.petty.log), first: $(grep -m1 -E ' (WARN|ERROR) ' "$OUT/$1.petty.log" | cut -c1-240)"
  return 0
}

# start_broker NAME [extra config line] [core]: private Mosquitto (mosquitto_probe.sh's config),
# on SERVER_CPU unless told; sets BROKER_PID and BROKER_PORT.
start_broker() {
  BROKER_PORT=$(free_port)
  printf 'listener %s 127.0.0.1\nallow_anonymous true\npersistence false\nmax_queued_messages 1000000\n' "$BROKER_PORT" >"$TMP/$1.mosquitto.conf"
  [ -n "${2:-}" ] && printf '%s\n' "$2" >>"$TMP/$1.mosquitto.conf"
  taskset -c "${3:-$SERVER_CPU}" mosquitto -c "$TMP/$1.mosquitto.conf" >"$OUT/$1.mosquitto.log" 2>&1 &
  BROKER_PID=$!
  PIDS+=("$BROKER_PID")
  wait_port "$BROKER_PORT"
}

build() {
  [ -n "${SKIP_BUILD:-}" ] && return 0
  (cd "$ROOT" && cargo build --release -p petty && cargo build --release -p xtask --bin petty-load)
  # The anchors (xtask/anchors) are their own cargo project with their own Cargo.lock, built into
  # their own target folder.
  CARGO_TARGET_DIR=$ANCHOR_TARGET cargo build --release --locked --bins --manifest-path "$ROOT/xtask/anchors/Cargo.toml"
}

machine() {
  say "# telemetry run $(date -u +%Y-%m-%dT%H:%M:%SZ); logs in $OUT"
  say "# $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), kernel $(uname -r); Petty git $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null) ($(git -C "$ROOT" status --short 2>/dev/null | wc -l) files changed in the tree); load average $(cut -d' ' -f1-3 /proc/loadavg)"
  say "# servers on core $SERVER_CPU, load generators on core $LOAD_CPU, Petty's broker on core $BROKER_CPU; open-file limit $(ulimit -n); Petty binary $PETTY ($(stat -c %y "$PETTY" | cut -d. -f1))"
}

# anchor_ws CONNS MSGS INTERVAL_MS: one ws_load run on a fresh anchor server (4 KiB buffers);
# ws_load's two lines go to $TMP/anchor.out.
anchor_ws() {
  local port spid
  port=$(free_port)
  WS_BUF_KIB=4 taskset -c "$SERVER_CPU" "$ANCHOR_SERVER" "$port" 1 "$TMP/anchor-ws.db" >/dev/null 2>&1 &
  spid=$!
  PIDS+=("$spid")
  wait_port "$port"
  sleep 0.5
  timeout 180 taskset -c "$LOAD_CPU" "$WS_LOAD" "$port" "$spid" "$1" "$2" "$3" >"$TMP/anchor.out" 2>&1 ||
    echo "ws_load failed ($?)" >>"$TMP/anchor.out"
  stop "$spid"
  rm -f "$TMP"/anchor-ws.db*
}

phase_ws() {
  say ""
  say "## ws: reading → WebSocket latency (budget: p99 ≤ 25 ms at 1,000 readings/s with 1,000 subscribers, and ≤ 1.5× the broadcast anchor's p99)"
  local r out p iv who
  for r in $(seq 1 "$WS_ROUNDS"); do
    for who in anchor petty; do
      # Alternate which goes first.
      if [ $((r % 2)) -eq 0 ]; then who=$([ "$who" = anchor ] && echo petty || echo anchor); fi
      if [ "$who" = anchor ]; then
        for iv in 50 10; do
          anchor_ws 1000 "$ANCHOR_MSGS" "$iv"
          out=$(cat "$TMP/anchor.out")
          printf '%s\n' "$out" >>"$OUT/ws-anchor.txt"
          p=$(printf '%s\n' "$out" | sed -n 's/.*per_delivery_ms p50=[^ ]* p99=\([^ ]*\).*/\1/p')
          printf '%s\n' "$p" >>"$TMP/anchor$iv.p99"
          say "round $r anchor ws_load 1000 subscribers, $ANCHOR_MSGS msgs every $iv ms, WS_BUF_KIB=4: $(printf '%s\n' "$out" | tr '\n' ' ')"
        done
      else
        start_petty "ws-$r"
        load --addr "127.0.0.1:$PETTY_PORT" ws-latency --devices "$WS_DEVICES" --rate "$WS_RATE" \
          --duration "$WS_DURATION" --connections "$WS_CONNECTIONS" --pid "$PETTY_PID" 2>&1 | tee "$OUT/ws-petty-$r.txt" ||
          say "  petty-load failed (exit $?); see the output above"
        stop "$PETTY_PID"
        out=$(grep '^RESULT' "$OUT/ws-petty-$r.txt" || true)
        printf '%s\n' "$out" | field delivery_p99_ms >>"$TMP/petty.p99"
        say "round $r petty: sent $(field sent <<<"$out") acked $(field acked <<<"$out") errors $(field errors <<<"$out") late $(field late <<<"$out"); ingest p50/p99/max $(field ingest_p50_ms <<<"$out")/$(field ingest_p99_ms <<<"$out")/$(field ingest_max_ms <<<"$out") ms; delivered $(field delivered <<<"$out")/$(field expected <<<"$out") missing $(field missing <<<"$out") dropped-notices $(field dropped_notices <<<"$out"); delivery p50/p90/p99/max $(field delivery_p50_ms <<<"$out")/$(field delivery_p90_ms <<<"$out")/$(field delivery_p99_ms <<<"$out")/$(field delivery_max_ms <<<"$out") ms; server CPU $(field server_cpu_pct <<<"$out")%"
        petty_log_check "ws-$r"
      fi
    done
  done
  local pm a50m a10m
  pm=$(median <"$TMP/petty.p99"); a50m=$(median <"$TMP/anchor50.p99"); a10m=$(median <"$TMP/anchor10.p99")
  say "ws summary (medians over $WS_ROUNDS rounds): Petty delivery p99 $pm ms; anchor per-delivery p99 $a50m ms (50 ms interval, 20K deliveries/s), $a10m ms (10 ms interval); Petty ÷ anchor: $(ratio "$pm" "$a50m") and $(ratio "$pm" "$a10m") (budget ≤ 1.5)"
}

phase_idle() {
  say ""
  say "## idle: $IDLE_SOCKETS idle authenticated WebSockets (budget: ≤ 10 KiB each)"
  start_petty idle
  load --addr "127.0.0.1:$PETTY_PORT" idle-ws --sockets "$IDLE_SOCKETS" --devices "$IDLE_DEVICES" \
    --hold "$IDLE_HOLD" --pid "$PETTY_PID" 2>&1 | tee "$OUT/idle-petty.txt" ||
    say "  petty-load failed (exit $?); see the output above"
  stop "$PETTY_PID"
  local out
  out=$(grep '^RESULT' "$OUT/idle-petty.txt" || true)
  say "petty: $(field sockets <<<"$out") sockets in $(field connect_secs <<<"$out") s; VmRSS $(field rss_before_kib <<<"$out") → $(field rss_after_kib <<<"$out") KiB = $(field kib_per_conn <<<"$out") KiB/conn (gauge $(field gauge <<<"$out")); closed by server $(field closed <<<"$out")"
  [ "$IDLE_HOLD" != 0 ] && say "  after holding ${IDLE_HOLD} s more (past the 30 s heartbeat): $(field rss_held_kib <<<"$out") KiB = $(field kib_per_conn_held <<<"$out") KiB/conn (gauge $(field gauge_held <<<"$out"))"
  petty_log_check idle
  if [ "$IDLE_ANCHOR" = 1 ]; then
    anchor_ws "$IDLE_SOCKETS" 20 200
    out=$(cat "$TMP/anchor.out")
    printf '%s\n' "$out" >"$OUT/idle-anchor.txt"
    say "anchor ws_load $IDLE_SOCKETS subscribers, WS_BUF_KIB=4 (reference): $(printf '%s\n' "$out" | head -n1)"
  fi
}

# relay_probe QOS N: mosquitto_probe.sh's measurement (mosquitto_sub + mosquitto_pub -l on
# core 1, broker on core 0, its config and message), one QoS; sets RELAY_RATE (msg/s).
relay_probe() {
  local qos=$1 n=$2 msg subw t0 t1 ok=1
  start_broker "probe-q$qos"
  msg='{"device_id":"collar-000000042","ts":1731234567890,"metric":"heart_rate","value":92.5,"unit":"bpm"}'
  taskset -c "$LOAD_CPU" timeout 60 mosquitto_sub -h 127.0.0.1 -p "$BROKER_PORT" -t 'tele/#' -q "$qos" -C "$n" >/dev/null &
  subw=$!
  PIDS+=("$subw")
  sleep 0.3
  t0=$(date +%s.%N)
  # (yes ends by SIGPIPE, so the pipeline's status says nothing; the subscriber's does.)
  yes "$msg" | head -n "$n" | taskset -c "$LOAD_CPU" timeout 60 mosquitto_pub -h 127.0.0.1 -p "$BROKER_PORT" -t tele/collar-42 -q "$qos" -l || true
  wait "$subw" || ok=0
  t1=$(date +%s.%N)
  stop "$subw"
  stop "$BROKER_PID"
  if [ "$ok" = 1 ]; then RELAY_RATE=$(echo "$n / ($t1 - $t0)" | bc); else RELAY_RATE=nan; fi
}

phase_mqtt() {
  say ""
  say "## mqtt: MQTT ingest (budget: Petty's QoS 0 ingest ≥ 50% of Mosquitto's own QoS 0 relay rate, same run)"
  local r rate out
  for r in $(seq 1 "$MQTT_ROUNDS"); do
    relay_probe 0 "$MQTT_MESSAGES"
    rate=$RELAY_RATE
    echo "$rate" >>"$TMP/relay0"
    say "round $r mosquitto_probe relay QoS 0: $MQTT_MESSAGES msgs, $rate msg/s"
    start_broker "relay-q0-$r"
    load mqtt --mqtt "mqtt://127.0.0.1:$BROKER_PORT" --relay-only --qos 0 --messages "$MQTT_MESSAGES" \
      --devices "$MQTT_DEVICES" 2>&1 | tee "$OUT/mqtt-relay-q0-$r.txt" ||
      say "  petty-load failed (exit $?); see the output above"
    stop "$BROKER_PID"
    out=$(grep '^RESULT' "$OUT/mqtt-relay-q0-$r.txt" || true)
    field relay_rate <<<"$out" >>"$TMP/relayload0"
    say "round $r relay with petty-load's publisher + subscriber, QoS 0: $(field received <<<"$out")/$MQTT_MESSAGES in $(field secs <<<"$out") s = $(field relay_rate <<<"$out") msg/s (publisher $(field publish_rate <<<"$out") msg/s)"
    start_broker "petty-q0-$r" "" "$BROKER_CPU"
    start_petty "mqtt-q0-$r" --mqtt-url "mqtt://127.0.0.1:$BROKER_PORT"
    load --addr "127.0.0.1:$PETTY_PORT" mqtt --mqtt "mqtt://127.0.0.1:$BROKER_PORT" --qos 0 \
      --messages "$MQTT_MESSAGES" --devices "$MQTT_DEVICES" --pid "$PETTY_PID" 2>&1 | tee "$OUT/mqtt-petty-q0-$r.txt" ||
      say "  petty-load failed (exit $?); see the output above"
    stop "$PETTY_PID"; stop "$BROKER_PID"
    out=$(grep '^RESULT' "$OUT/mqtt-petty-q0-$r.txt" || true)
    field stored_rate <<<"$out" >>"$TMP/petty0"
    say "round $r petty QoS 0: complete=$(field complete <<<"$out"), stored $(field stored <<<"$out")/$MQTT_MESSAGES in $(field stored_secs <<<"$out") s = $(field stored_rate <<<"$out") readings/s (rollups count $(field rollup_count <<<"$out") incl. $(field probes <<<"$out") probe); rejected $(field rejected <<<"$out") failed $(field failed <<<"$out"); $(field cpu_us_per_reading <<<"$out") µs CPU/reading"
    petty_log_check "mqtt-q0-$r"
  done
  relay_probe 1 "$MQTT_QOS1_MESSAGES"
  rate=$RELAY_RATE
  say "mosquitto_probe relay QoS 1: $MQTT_QOS1_MESSAGES msgs, $rate msg/s"
  start_broker relay-q1
  load mqtt --mqtt "mqtt://127.0.0.1:$BROKER_PORT" --relay-only --qos 1 --messages "$MQTT_QOS1_MESSAGES" \
    --devices "$MQTT_DEVICES" 2>&1 | tee "$OUT/mqtt-relay-q1.txt" ||
    say "  petty-load failed (exit $?); see the output above"
  stop "$BROKER_PID"
  out=$(grep '^RESULT' "$OUT/mqtt-relay-q1.txt" || true)
  say "relay with petty-load's publisher + subscriber, QoS 1: $(field received <<<"$out")/$MQTT_QOS1_MESSAGES = $(field relay_rate <<<"$out") msg/s"
  local inflight extra
  for inflight in $MQTT_QOS1_INFLIGHT; do
    extra=""
    [ "$inflight" != default ] && extra="max_inflight_messages $inflight"
    start_broker "petty-q1-$inflight" "$extra" "$BROKER_CPU"
    start_petty "mqtt-q1-$inflight" --mqtt-url "mqtt://127.0.0.1:$BROKER_PORT"
    load --addr "127.0.0.1:$PETTY_PORT" mqtt --mqtt "mqtt://127.0.0.1:$BROKER_PORT" --qos 1 --stall 5 \
      --messages "$MQTT_QOS1_MESSAGES" --devices "$MQTT_DEVICES" --pid "$PETTY_PID" 2>&1 | tee "$OUT/mqtt-petty-q1-$inflight.txt" ||
      say "  petty-load failed (exit $?); see the output above"
    local unread
    unread=$(ss -tnp 2>/dev/null | awk -v pid="pid=$PETTY_PID," -v port=":$BROKER_PORT" '$0 ~ pid && $5 ~ port {print $2}' | head -n1)
    stop "$PETTY_PID"; stop "$BROKER_PID"
    out=$(grep '^RESULT' "$OUT/mqtt-petty-q1-$inflight.txt" || true)
    say "petty QoS 1 (broker max_inflight_messages $inflight): complete=$(field complete <<<"$out"), stored (counter) $(field stored <<<"$out")/$MQTT_QOS1_MESSAGES by $(field stored_secs <<<"$out") s = $(field stored_rate <<<"$out") readings/s; rollups count $(field rollup_count <<<"$out"); Petty's MQTT socket had ${unread:-?} bytes unread at the end"
    petty_log_check "mqtt-q1-$inflight"
  done
  local rm rl pm
  rm=$(median <"$TMP/relay0"); rl=$(median <"$TMP/relayload0"); pm=$(median <"$TMP/petty0")
  say "mqtt summary (medians over $MQTT_ROUNDS rounds): Mosquitto QoS 0 relay $rm msg/s (mosquitto_probe), $rl msg/s (petty-load's clients); Petty QoS 0 ingest $pm readings/s; Petty ÷ relay: $(ratio "$pm" "$rm") (probe), $(ratio "$pm" "$rl") (petty-load) (budget ≥ 0.5)"
}

phase_soak() {
  say ""
  say "## soak: $SOAK_RATE readings/s for $SOAK_DURATION s over $SOAK_DEVICES devices, one subscriber per device topic, starting ≥ $SOAK_SETTLE s after Petty's setup (budget: zero errors, p99 ≤ 10 ms, memory growth < 10% from $SOAK_WARMUP s in)"
  start_petty soak
  load --addr "127.0.0.1:$PETTY_PORT" soak --devices "$SOAK_DEVICES" --rate "$SOAK_RATE" --duration "$SOAK_DURATION" \
    --connections "$SOAK_CONNECTIONS" --settle "$SOAK_SETTLE" --rss-warmup "$SOAK_WARMUP" --pid "$PETTY_PID" 2>&1 | tee "$OUT/soak-petty.txt" ||
    say "  petty-load failed (exit $?); see the output above"
  stop "$PETTY_PID"
  local out
  out=$(grep '^RESULT' "$OUT/soak-petty.txt" || true)
  say "petty: sent $(field sent <<<"$out") acked $(field acked <<<"$out") errors $(field errors <<<"$out") ($(field statuses <<<"$out")); late $(field late <<<"$out"); ingest p50/p99/max $(field ingest_p50_ms <<<"$out")/$(field ingest_p99_ms <<<"$out")/$(field ingest_max_ms <<<"$out") ms; over 100 ms $(field over_100ms <<<"$out"); delivery p99 $(field delivery_p99_ms <<<"$out") ms, missing $(field missing <<<"$out"), dropped-notices $(field dropped_notices <<<"$out"); VmRSS $(field rss_first_kib <<<"$out") → $(field rss_last_kib <<<"$out") KiB ($(field rss_growth_pct <<<"$out")%); server CPU $(field server_cpu_pct <<<"$out")%"
  say "  (the devices are collars worn by no pet: the alarm job judges every reading, and the analysis job has no pet-day to analyse)"
  petty_log_check soak
}

build
machine
for p in "${PHASES[@]}"; do "phase_$p"; done
echo
echo "==== summary ($SUMMARY)"
cat "$SUMMARY"
