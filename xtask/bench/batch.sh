#!/usr/bin/env bash
# Batch ingest into SQLite, 1,000 devices interleaved, with every index the read paths use:
# Petty's store (crates/petty-store/benches/batch_ingest.rs: Store::ingest, group commit,
# rollups, device rows) against the anchor's raw rusqlite insert of ~100-byte rows with a
# (device_id, ts) index and 1,000-row transactions (the "naive index" baseline of
# xtask/anchors/README.md), interleaved rounds, each pinned to core 0.
#
#   xtask/bench/batch.sh [ROUNDS] [READINGS]        # default 3 rounds of 2,000,000 readings
#
# Needs the anchor's sqlite_bench (xtask/anchors/src/bin/sqlite_bench.rs) built first:
#   CARGO_TARGET_DIR=$HOME/.cache/petty-anchors-target cargo build --release --locked --manifest-path xtask/anchors/Cargo.toml
# (ANCHOR=/path/to/sqlite_bench to use another build).
set -euo pipefail
ROUNDS=${1:-3}; N=${2:-2000000}
cd "$(dirname "$0")/../.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/petty-target}
bench=$(cargo bench -p petty-store --bench batch_ingest --no-run --message-format=json 2>/dev/null \
  | sed -n 's/.*"executable":"\([^"]*batch_ingest[^"]*\)".*/\1/p' | tail -n1)
[ -x "$bench" ] || { echo "could not build the batch_ingest bench" >&2; exit 1; }
ANCHOR=${ANCHOR:-$HOME/.cache/petty-anchors-target/release/sqlite_bench}
DB=$(mktemp -d /tmp/petty-batch.XXXXXX); trap 'rm -rf "$DB"' EXIT
printf '| round | Petty readings/s | Petty WAL at end (MiB) | anchor rows/s (naive index) | ratio |\n|---:|---:|---:|---:|---:|\n'
for r in $(seq 1 "$ROUNDS"); do
  p=$(taskset -c 0 "$bench" 1000 100 64 "$N" | tail -n1)
  p_rate=$(echo "$p" | sed -E 's/.*readings_per_s=([0-9]+).*/\1/'); p_wal=$(echo "$p" | sed -E 's/.*wal_mib=([0-9]+).*/\1/')
  a=$(DEVICES=1000 taskset -c 0 "$ANCHOR" "$DB/anchor.db" 1000000 1000 NORMAL WAL 1 65536 | tail -n1); rm -f "$DB"/anchor.db*
  a_rate=$(echo "$a" | sed -E 's/.*rows_per_s=([0-9]+).*/\1/')
  printf '| %s | %s | %s | %s | %.1f |\n' "$r" "$p_rate" "$p_wal" "$a_rate" "$(awk -v p="$p_rate" -v a="$a_rate" 'BEGIN {print p / a}')"
done
