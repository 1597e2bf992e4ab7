#!/usr/bin/env bash
# The life log's single-event POST against the bare-axum anchor, in one run (the method of
# xtask/anchors/README.md): Petty and the anchor each on core 0 (one tokio worker), wrk on core 1,
# rounds interleaved.
#
#  - POST /api/v1/life-events (one event a request, checked, kept durably in SQLite, published)
#    against the anchor's POST /json (parse, check, answer 201; nothing kept): issue 15's budget
#    is at least 0.40; the anchor's POST /ingest (one row group-committed into SQLite, nothing
#    checked) is measured beside them, for what a durable write costs at its barest;
#  - then GET /api/v1/predictions/energy and /mood for a second person with 5,000 events in the
#    30-day window (the issue's size; for context: the whole read, from the database to the
#    answer, not only the arithmetic that `cargo bench -p petty-sim --bench lifelog` times).
#
# CPU per request is the server's utime+stime (/proc/PID/stat) over the run ÷ requests. Every
# answer must be a 2xx (wrk's "Non-2xx" line is checked); rate limits are off.
#
#   xtask/bench/lifelog.sh [ROUNDS] [SECONDS]      # default 3 rounds of 10 s
#
# Needs wrk (Debian), python3, the release build (cargo build --release -p petty) and the anchors
# (CARGO_TARGET_DIR=$HOME/.cache/petty-anchors-target cargo build --release --locked
#  --manifest-path xtask/anchors/Cargo.toml).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=${1:-3}; SECS=${2:-10}; CONNS=${CONNS:-16}
PETTY=${PETTY:-${CARGO_TARGET_DIR:-$HOME/.cache/petty-target}/release/petty}
ANCHOR=${ANCHOR:-$HOME/.cache/petty-anchors-target/release/server}
[ -x "$PETTY" ] || { echo "no Petty binary at $PETTY (cargo build --release -p petty)" >&2; exit 1; }
[ -x "$ANCHOR" ] || { echo "no anchor at $ANCHOR (see xtask/anchors/README.md)" >&2; exit 1; }
command -v wrk >/dev/null || { echo "wrk is required (apt-get install wrk)" >&2; exit 1; }
DIR=$(mktemp -d /tmp/petty-lifelog-bench.XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$DIR"; }
trap cleanup EXIT
wait_port() { for _ in $(seq 1 400); do (exec 3<>/dev/tcp/127.0.0.1/$1) 2>/dev/null && return 0; sleep 0.05; done; return 1; }

P=18198; A=18199
PETTY_RATE_LIMIT__ENABLED=false TOKIO_WORKER_THREADS=1 RUST_LOG=warn \
  taskset -c 0 "$PETTY" serve --data-dir "$DIR/petty" --listen 127.0.0.1:$P >"$DIR/petty.log" 2>&1 &
PETTY_PID=$!; PIDS+=("$PETTY_PID")
taskset -c 0 "$ANCHOR" $A 1 "$DIR/anchor.db" >"$DIR/anchor.log" 2>&1 &
ANCHOR_PID=$!; PIDS+=("$ANCHOR_PID")
wait_port $P; wait_port $A

TOKEN=$(python3 - "$P" <<'PY'
import http.client, json, sys
c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]))
def call(path, body, token=None):
    headers = {"content-type": "application/json"}
    if token: headers["authorization"] = "Bearer " + token
    c.request("POST", path, json.dumps(body), headers)
    r = c.getresponse(); data = r.read()
    if r.status not in (200, 201, 202): raise SystemExit(f"POST {path}: {r.status} {data[:200]!r}")
    return json.loads(data) if data else None
call("/api/v1/auth/register", {"email": "bench@example.org", "password": "correct horse battery staple", "display_name": "Bench"})
print(call("/api/v1/auth/login", {"email": "bench@example.org", "password": "correct horse battery staple"})["access_token"])
PY
)
# An hour ago, so every event is inside the prediction window and none is in the future.
WHEN=$(date -u -d '1 hour ago' +%Y-%m-%dT%H:%M:%SZ)
cat >"$DIR/event.lua" <<LUA
wrk.method = "POST"
wrk.headers["content-type"] = "application/json"
wrk.headers["authorization"] = "Bearer $TOKEN"
wrk.body = '{"event_type":"mood","title":"Check-in","event_time":"$WHEN","event_data":{"mood_score":6,"energy_level":7,"stress_level":3},"tags":["bench"]}'
LUA
ANCHOR_LUA=xtask/anchors/wrk/post_one.lua
EVENTS="http://127.0.0.1:$P/api/v1/life-events"
JSON="http://127.0.0.1:$A/json"
# The anchor's own durable write: one row a request, group-committed into SQLite, no checks.
INGEST="http://127.0.0.1:$A/ingest"
curl -sf -o /dev/null -H 'content-type: application/json' -H "authorization: Bearer $TOKEN" \
  -d "{\"event_type\":\"sleep\",\"title\":\"Night\",\"event_time\":\"$WHEN\",\"duration_minutes\":420}" "$EVENTS"

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
TICK=$(getconf CLK_TCK)
# run LABEL PID URL [wrk args]: prints "req/s  CPU µs/req" and fails on any non-2xx answer.
run() {
  local label=$1 pid=$2 url=$3; shift 3
  local before after out
  before=$(cpu_ticks "$pid")
  out=$(taskset -c 1 wrk -t1 -c"$CONNS" -d"${SECS}s" "$@" "$url")
  after=$(cpu_ticks "$pid")
  if grep -q "Non-2xx" <<<"$out"; then echo "$label: non-2xx answers:" >&2; echo "$out" >&2; exit 1; fi
  local rps reqs
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  reqs=$(awk '/requests in/ {print $1}' <<<"$out")
  awk -v l="$label" -v r="$rps" -v t=$((after - before)) -v n="$reqs" -v hz="$TICK" \
    'BEGIN { printf "%-28s %10.0f req/s %9.1f µs CPU/req\n", l, r, t / hz * 1e6 / n }'
}
taskset -c 1 wrk -t1 -c"$CONNS" -d2s -s "$ANCHOR_LUA" "$JSON" >/dev/null
taskset -c 1 wrk -t1 -c"$CONNS" -d2s -s "$DIR/event.lua" "$EVENTS" >/dev/null
for r in $(seq 1 "$ROUNDS"); do
  echo "round $r"
  run "anchor POST /json" "$ANCHOR_PID" "$JSON" -s "$ANCHOR_LUA" | tee -a "$DIR/results"
  run "anchor POST /ingest" "$ANCHOR_PID" "$INGEST" -s "$ANCHOR_LUA" | tee -a "$DIR/results"
  run "petty POST life-events" "$PETTY_PID" "$EVENTS" -s "$DIR/event.lua" | tee -a "$DIR/results"
done
KEPT=$(curl -sf -H "authorization: Bearer $TOKEN" "$EVENTS?page_size=1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["total"])')
echo "events kept: $KEPT"
# A second person with 5,000 events spread over the last 30 days (sleep, work, workouts, moods).
READER=$(python3 - "$P" <<'PY'
import http.client, json, sys, datetime
c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]))
def call(path, body, token=None):
    headers = {"content-type": "application/json"}
    if token: headers["authorization"] = "Bearer " + token
    c.request("POST", path, json.dumps(body), headers)
    r = c.getresponse(); data = r.read()
    if r.status not in (200, 201, 202): raise SystemExit(f"POST {path}: {r.status} {data[:200]!r}")
    return json.loads(data) if data else None
call("/api/v1/auth/register", {"email": "reader@example.org", "password": "correct horse battery staple", "display_name": "Reader"})
token = call("/api/v1/auth/login", {"email": "reader@example.org", "password": "correct horse battery staple"})["access_token"]
now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
kinds = [("sleep", 420, {}), ("work", 480, {}), ("exercise", 40, {}), ("social", 90, {}), ("meal", None, {}),
         ("mood", None, {"mood_score": 6, "energy_level": 7, "stress_level": 4}), ("emotion", None, {"type": "happy"})]
events = []
for i in range(5000):
    kind, minutes, data = kinds[i % len(kinds)]
    at = now - datetime.timedelta(seconds=30 * 86400 - 3600) + datetime.timedelta(seconds=i * (30 * 86400 - 7200) // 5000)
    e = {"event_type": kind, "title": kind.title(), "event_time": at.isoformat().replace("+00:00", "Z"), "event_data": data}
    if minutes: e["duration_minutes"] = minutes
    events.append(e)
for i in range(0, 5000, 100):
    call("/api/v1/life-events/batch", {"events": events[i:i + 100]}, token)
print(token)
PY
)
AUTH=(-H "authorization: Bearer $READER")
CONNS=4 run "petty GET energy" "$PETTY_PID" "http://127.0.0.1:$P/api/v1/predictions/energy" "${AUTH[@]}" | tee -a "$DIR/results"
CONNS=4 run "petty GET mood" "$PETTY_PID" "http://127.0.0.1:$P/api/v1/predictions/mood" "${AUTH[@]}" | tee -a "$DIR/results"
python3 - "$DIR/results" <<'PY'
import re, statistics, sys
rows = [re.match(r"(.+?)\s+(\d+) req/s\s+([\d.]+) µs", l) for l in open(sys.argv[1])]
by = {}
for m in rows:
    by.setdefault(m.group(1).strip(), []).append((float(m.group(2)), float(m.group(3))))
anchor = by["anchor POST /json"]
petty = by["petty POST life-events"]
ratios = [p[0] / a[0] for p, a in zip(petty, anchor)]
print(f"POST life-events req/s ÷ anchor POST /json req/s: {', '.join(f'{r:.3f}' for r in ratios)} → median {statistics.median(ratios):.3f}")
print(f"CPU per request: Petty {statistics.median(p[1] for p in petty):.1f} µs, anchor {statistics.median(a[1] for a in anchor):.1f} µs")
durable = by["anchor POST /ingest"]
bare = [d[0] / a[0] for d, a in zip(durable, anchor)]
print(f"for context, the anchor's own durable insert ÷ its POST /json: {', '.join(f'{r:.3f}' for r in bare)} → median {statistics.median(bare):.3f}")
PY
