#!/usr/bin/env bash
# The catalog's natural-language query against the bare-axum anchor, in one run (the method of
# xtask/anchors/README.md): Petty and the anchor each on core 0 (one tokio worker), wrk on core 1,
# rounds interleaved.
#
#  - POST /api/v1/catalog/query over a catalog of 10,000 listings, no LLM (the parser, then the
#    search, then the first `limit` listings as JSON), the sentences rotating through twelve of
#    the contract's kinds (species, breeds, prices, ages, negations, sorting, limits), against the
#    anchor's GET /hello: issue 16's budget is at least 0.25;
#  - GET /api/v1/catalog?species=dog&max_price=500&sort=price_asc (the same search by filters),
#    for context.
#
# CPU per request is the server's utime+stime (/proc/PID/stat) over the run ÷ requests. Every
# answer must be a 2xx (wrk's "Non-2xx" line is checked); rate limits are off.
#
#   xtask/bench/catalog.sh [ROUNDS] [SECONDS]      # default 3 rounds of 10 s
#   PERF_OUT=/tmp/petty.perf xtask/bench/catalog.sh  # also profile Petty during one more 8 s
#                                                    # query run (perf record, DWARF call graphs)
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
DIR=$(mktemp -d /tmp/petty-catalog-bench.XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$DIR"; }
trap cleanup EXIT
wait_port() { for _ in $(seq 1 400); do (exec 3<>/dev/tcp/127.0.0.1/$1) 2>/dev/null && return 0; sleep 0.05; done; return 1; }

P=18298; A=18299
PETTY_RATE_LIMIT__ENABLED=false TOKIO_WORKER_THREADS=1 RUST_LOG=warn \
  taskset -c 0 "$PETTY" serve --data-dir "$DIR/petty" --listen 127.0.0.1:$P >"$DIR/petty.log" 2>&1 &
PETTY_PID=$!; PIDS+=("$PETTY_PID")
taskset -c 0 "$ANCHOR" $A 1 "$DIR/anchor.db" >"$DIR/anchor.log" 2>&1 &
ANCHOR_PID=$!; PIDS+=("$ANCHOR_PID")
wait_port $P; wait_port $A

# A household listing 10,000 pets drawn from the vocabulary (the same kinds as the parser bench).
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
token = call("/api/v1/auth/login", {"email": "bench@example.org", "password": "correct horse battery staple"})["access_token"]
kinds = [("dog", ["Golden Retriever", "Labrador mix", "German Shepherd", "Bulldog", "Beagle", "Poodle", "Husky", "Corgi"]),
         ("cat", ["Siamese", "Persian", "Domestic Shorthair", "Maine Coon", "Ragdoll", "Bengal"]),
         ("bird", ["Canary", "Budgie", "Cockatiel"]), ("fish", ["Goldfish", "Betta", "Clownfish"]),
         ("rabbit", ["Holland Lop", "Lionhead"]), ("hamster", ["Syrian Hamster", "Dwarf Hamster"])]
colours = ["black", "white", "brown", "golden", "cream", "black and tan", "gray", "orange", "brindle", "black and white"]
names = ["Max", "Bella", "Luna", "Charlie", "Daisy", "Rocky", "Milo", "Coco", "Nala", "Oscar", "Ruby", "Teddy"]
x = 0x9E3779B97F4A7C15
def draw():
    global x
    x ^= (x << 13) & 0xFFFFFFFFFFFFFFFF; x ^= x >> 7; x ^= (x << 17) & 0xFFFFFFFFFFFFFFFF
    return x
for i in range(10000):
    species, breeds = kinds[draw() % len(kinds)]
    body = {"name": f"{names[draw() % len(names)]} {i}", "species": species, "breed": breeds[draw() % len(breeds)],
            "age_months": draw() % 180, "price": draw() % 2000, "color": colours[draw() % len(colours)],
            "sex": "male" if draw() % 2 == 0 else "female"}
    call("/api/v1/catalog", body, token)
print(token)
PY
)
cat >"$DIR/query.lua" <<LUA
local queries = {
  "golden retrievers under \$500", "cheapest cat", "dogs under 2 years old", "expensive dogs",
  "list 3 cheapest pets", "cats that are not black", "pets between 1 and 3 years old",
  "a couple of female beagles", "siamese or persian cats over five hundred dollars",
  "young labs, not brown", "the oldest rabbit", "hamsters sorted by price"
}
local bodies = {}
for i, q in ipairs(queries) do bodies[i] = '{"query":"' .. q .. '"}' end
local n = 0
request = function()
  n = n % #bodies + 1
  return wrk.format("POST", nil, {["content-type"] = "application/json", ["authorization"] = "Bearer $TOKEN"}, bodies[n])
end
LUA
QUERY="http://127.0.0.1:$P/api/v1/catalog/query"
LIST="http://127.0.0.1:$P/api/v1/catalog?species=dog&max_price=500&sort=price_asc"
HELLO="http://127.0.0.1:$A/hello"
TOTAL=$(curl -sf -H "authorization: Bearer $TOKEN" "http://127.0.0.1:$P/api/v1/catalog?page_size=1&status=any" | python3 -c 'import json,sys; print(json.load(sys.stdin)["total"])')
echo "listings: $TOTAL"

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
taskset -c 1 wrk -t1 -c"$CONNS" -d2s "$HELLO" >/dev/null
taskset -c 1 wrk -t1 -c"$CONNS" -d2s -s "$DIR/query.lua" "$QUERY" >/dev/null
for r in $(seq 1 "$ROUNDS"); do
  echo "round $r"
  run "anchor GET /hello" "$ANCHOR_PID" "$HELLO" | tee -a "$DIR/results"
  run "petty POST catalog/query" "$PETTY_PID" "$QUERY" -s "$DIR/query.lua" | tee -a "$DIR/results"
done
if [ -n "${PERF_OUT:-}" ]; then
  perf record -F 2000 -g --call-graph dwarf,16384 -p "$PETTY_PID" -o "$PERF_OUT" -- sleep 8 >/dev/null 2>&1 &
  PERF=$!
  taskset -c 1 wrk -t1 -c"$CONNS" -d8s -s "$DIR/query.lua" "$QUERY" >/dev/null
  wait "$PERF"
  echo "profile written: perf report -i $PERF_OUT --children --stdio -g none"
fi
run "petty GET catalog filters" "$PETTY_PID" "$LIST" -H "authorization: Bearer $TOKEN" | tee -a "$DIR/results"
python3 - "$DIR/results" <<'PY'
import re, statistics, sys
rows = [re.match(r"(.+?)\s+(\d+) req/s\s+([\d.]+) µs", l) for l in open(sys.argv[1])]
by = {}
for m in rows:
    by.setdefault(m.group(1).strip(), []).append((float(m.group(2)), float(m.group(3))))
anchor = by["anchor GET /hello"]
petty = by["petty POST catalog/query"]
ratios = [p[0] / a[0] for p, a in zip(petty, anchor)]
print(f"POST catalog/query req/s ÷ anchor GET /hello req/s: {', '.join(f'{r:.3f}' for r in ratios)} → median {statistics.median(ratios):.3f}")
print(f"CPU per request: Petty {statistics.median(p[1] for p in petty):.1f} µs, anchor {statistics.median(a[1] for a in anchor):.1f} µs")
PY
