#!/usr/bin/env bash
# Care reads against the bare-axum anchor, in one run (the method of xtask/anchors/README.md):
# Petty and the anchor each on core 0 (one tokio worker), wrk on core 1, rounds interleaved.
#
#  - GET /api/v1/pets/{id}/records?page_size=50 on a pet with 1,000 records (SQLite), against the
#    anchor's GET /hello: read again and again, the page is served from the rendered-body memo
#    kept under the store's write generation; and with a different `from` on every request
#    (a day before all the records, so the same 50 rows), so the memo never hits and every
#    request reads the database and renders the page: the cost of the first read after a write;
#  - GET /api/v1/pets (a page of two pets, the uncached list of earlier benchmarks), for context;
#  - GET /api/v1/calendar/feed.ics for a household with 200 reminders (daily, weekly, monthly and
#    yearly, so the feed is expanded to its cap of 1,000 events): server CPU per request.
#
# CPU per request is the server's utime+stime (/proc/PID/stat) over the run ÷ requests. Every
# answer must be a 2xx (wrk's "Non-2xx" line is checked); rate limits are off.
#
#   xtask/bench/care.sh [ROUNDS] [SECONDS]      # default 3 rounds of 10 s
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
DIR=$(mktemp -d /tmp/petty-care-bench.XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$DIR"; }
trap cleanup EXIT
wait_port() { for _ in $(seq 1 400); do (exec 3<>/dev/tcp/127.0.0.1/$1) 2>/dev/null && return 0; sleep 0.05; done; return 1; }

P=18196; A=18197
PETTY_RATE_LIMIT__ENABLED=false TOKIO_WORKER_THREADS=1 RUST_LOG=warn \
  taskset -c 0 "$PETTY" serve --data-dir "$DIR/petty" --listen 127.0.0.1:$P >"$DIR/petty.log" 2>&1 &
PETTY_PID=$!; PIDS+=("$PETTY_PID")
taskset -c 0 "$ANCHOR" $A 1 "$DIR/anchor.db" >"$DIR/anchor.log" 2>&1 &
ANCHOR_PID=$!; PIDS+=("$ANCHOR_PID")
wait_port $P; wait_port $A

# An owner, two pets, 1,000 records on one of them, 200 reminders and a calendar feed.
python3 - "$P" > "$DIR/seed.env" <<'PY'
import http.client, json, sys
port = int(sys.argv[1])
c = http.client.HTTPConnection("127.0.0.1", port)
def call(method, path, body=None, token=None, ok=(200, 201, 202)):
    headers = {"content-type": "application/json"}
    if token: headers["authorization"] = "Bearer " + token
    c.request(method, path, json.dumps(body) if body is not None else None, headers)
    r = c.getresponse(); data = r.read()
    if r.status not in ok: raise SystemExit(f"{method} {path}: {r.status} {data[:200]!r}")
    return json.loads(data) if data else None
call("POST", "/api/v1/auth/register", {"email": "bench@example.org", "password": "correct horse battery staple", "display_name": "Bench"})
token = call("POST", "/api/v1/auth/login", {"email": "bench@example.org", "password": "correct horse battery staple"})["access_token"]
pet = call("POST", "/api/v1/pets", {"name": "Rex", "species": "dog", "date_of_birth": "2019-04-01"}, token)["id"]
call("POST", "/api/v1/pets", {"name": "Miso", "species": "cat"}, token)
kinds = ["visit", "medication", "vaccination", "test_result", "weight", "procedure", "allergy", "condition"]
for i in range(1000):
    kind = kinds[i % len(kinds)]
    day = f"{2016 + i // 120:04d}-{1 + (i // 10) % 12:02d}-{1 + i % 28:02d}"
    body = {"kind": kind, "title": f"{kind.replace('_', ' ').title()} {i}", "date": day, "vet": "Dr. Ng", "cost": 12.5 + i % 40,
            "description": "Routine; all well. Notes written by the vet about what was done and what to watch."}
    if kind == "weight": body.update(title=None, cost=None, weight_kg=20 + (i % 30) / 10)
    if kind == "vaccination": body["title"] = ["Rabies", "DHPP", "Lepto", "Bordetella"][i % 4] + f" dose {i}"
    call("POST", f"/api/v1/pets/{pet}/records", body, token)
repeats = ["daily", "weekly", "monthly", "yearly", None]
for i in range(200):
    call("POST", "/api/v1/reminders", {"title": f"Reminder {i}", "pet_id": pet, "at": f"2026-{1 + i % 12:02d}-{1 + i % 28:02d}T{8 + i % 10:02d}:00",
         "timezone": "Europe/Berlin", "repeat": repeats[i % 5], "methods": ["push"]}, token)
feed = call("POST", "/api/v1/calendar/feed", {}, token)["token"]
print(f"TOKEN={token}\nPET={pet}\nFEED={feed}")
PY
. "$DIR/seed.env"
RECORDS="http://127.0.0.1:$P/api/v1/pets/$PET/records?page_size=50"
PETS="http://127.0.0.1:$P/api/v1/pets"
FEEDURL="http://127.0.0.1:$P/api/v1/calendar/feed.ics?token=$FEED"
HELLO="http://127.0.0.1:$A/hello"
echo "records page: $(curl -sf -H "authorization: Bearer $TOKEN" "$RECORDS" | wc -c) bytes; feed: $(curl -sf "$FEEDURL" | grep -c BEGIN:VEVENT) events, $(curl -sf "$FEEDURL" | wc -c) bytes"

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
AUTH=(-H "authorization: Bearer $TOKEN")
# A new `from` (1970-01-01 onwards, before every record) on each request: never the same key.
cat >"$DIR/fresh.lua" <<'LUA'
local i = 0
request = function()
  i = i + 1
  return wrk.format(nil, wrk.path .. "&from=" .. os.date("!%Y-%m-%d", (i % 16000) * 86400))
end
LUA
taskset -c 1 wrk -t1 -c"$CONNS" -d2s "${AUTH[@]}" "$RECORDS" >/dev/null
taskset -c 1 wrk -t1 -c4 -d2s "$FEEDURL" >/dev/null
for r in $(seq 1 "$ROUNDS"); do
  echo "round $r"
  run "anchor GET /hello" "$ANCHOR_PID" "$HELLO" | tee -a "$DIR/results"
  run "petty records page of 50" "$PETTY_PID" "$RECORDS" "${AUTH[@]}" | tee -a "$DIR/results"
  run "petty records page, cold" "$PETTY_PID" "$RECORDS" "${AUTH[@]}" -s "$DIR/fresh.lua" | tee -a "$DIR/results"
  run "petty pets list" "$PETTY_PID" "$PETS" "${AUTH[@]}" | tee -a "$DIR/results"
  # The feed is heavy: four connections are enough to keep one core busy.
  CONNS=4 run "petty calendar feed" "$PETTY_PID" "$FEEDURL" | tee -a "$DIR/results"
done
python3 - "$DIR/results" "$ROUNDS" <<'PY'
import re, statistics, sys
rows = [re.match(r"(.+?)\s+(\d+) req/s\s+([\d.]+) µs", l) for l in open(sys.argv[1])]
by = {}
for m in rows:
    by.setdefault(m.group(1).strip(), []).append((float(m.group(2)), float(m.group(3))))
anchor = by["anchor GET /hello"]
for name in ["petty records page of 50", "petty records page, cold", "petty pets list"]:
    ratios = [p[0] / a[0] for p, a in zip(by[name], anchor)]
    cpu = [a[1] / p[1] for p, a in zip(by[name], anchor)]
    print(f"{name} req/s ÷ anchor /hello req/s: {', '.join(f'{r:.3f}' for r in ratios)} → median {statistics.median(ratios):.3f}")
    print(f"anchor CPU/req ÷ {name} CPU/req: {', '.join(f'{r:.3f}' for r in cpu)} → median {statistics.median(cpu):.3f}")
feed = [p[1] for p in by["petty calendar feed"]]
print(f"calendar feed (200 reminders, 1,000 events) server CPU per request: {', '.join(f'{c:.0f}' for c in feed)} µs → median {statistics.median(feed):.0f} µs")
PY
