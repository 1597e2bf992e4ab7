//! The closed periods of a device's rollups, kept in memory on SQLite, so a chart of a year
//! reads its one open day from the database and not the 365 closed ones again.
//!
//! A period is closed once it ends at or before the start of the period that holds the device's
//! newest reading (`devices.latest_ts`): a reading that arrives later either is newer than that
//! reading, and so falls in the open period or after it, or is no newer, and then ingest notes it
//! as late in the same transaction (`devices.alarms_late_version`, the work version of the last
//! late reading, which only grows). So the closed periods read at one late version are the closed
//! periods for as long as the device's late version stays the same. The version is read before
//! the rows it vouches for, so a late reading committed between the two reads can only make the
//! memo look stale, never fresh.
//!
//! Retention and device deletion remove rollups without a reading; both forget the device here.
//! Only on SQLite, where this process is the only one that runs them; on PostgreSQL another
//! node's retention would go unseen, and a chart's rows come in one round trip there anyway.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use uuid::Uuid;

/// A rollup as read: bucket, count, sum, minimum, maximum.
pub(crate) type RollupRow = (i64, i64, f64, Option<f64>, Option<f64>);

/// Enough for the charts of a few dozen devices (a household's devices, each metric they chart,
/// at the resolutions its pages ask for); past it the memo starts over.
const ENTRIES_MAX: usize = 256;
/// The most closed periods one entry keeps: a chart draws at most a few hundred; longer reads
/// (the API's pages of up to 10,000, the life log's year of hours) are read afresh, so the
/// memo stays under about 14 MiB (256 entries of 1,000 periods of 56 bytes).
const PERIODS_MAX: usize = 1_000;

/// Which rollups: a device's (with its household), one metric's (by index), at one resolution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Key {
    pub(crate) device: Uuid,
    pub(crate) household: Uuid,
    pub(crate) metric: usize,
    pub(crate) resolution_secs: i64,
}

/// The closed periods `[from_ms, sealed_ms)` of one metric at one resolution, as read when the
/// device's late version was `late_version`.
#[derive(Debug)]
struct Closed {
    late_version: Option<i64>,
    from_ms: i64,
    sealed_ms: i64,
    rows: Vec<RollupRow>,
}

/// What the device row says about its rollups, read before any of them.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DeviceMark {
    pub(crate) latest_ts: Option<i64>,
    pub(crate) late_version: Option<i64>,
}

#[derive(Debug, Default)]
pub(crate) struct RollupMemo {
    entries: Mutex<HashMap<Key, Arc<Closed>>>,
}

/// Where a read may start from the memo: its rows for the closed part of the range, and where
/// the database read must take over.
pub(crate) struct Plan {
    pub(crate) kept: Vec<RollupRow>,
    /// The open part starts here (the first period not in `kept`).
    pub(crate) open_from: i64,
}

impl RollupMemo {
    /// The rows the memo holds for `[start, to)` (periods by their start), if they are current
    /// for `mark`; `limit` rows at most.
    pub(crate) fn plan(&self, key: Key, mark: DeviceMark, start: i64, to: i64, limit: usize) -> Plan {
        let entry = self.entries.lock().ok().and_then(|m| m.get(&key).cloned());
        match entry {
            Some(c) if c.late_version == mark.late_version && c.from_ms <= start => {
                let lo = c.rows.partition_point(|r| r.0 < start);
                let hi = c.rows.partition_point(|r| r.0 < to.min(c.sealed_ms));
                let kept: Vec<RollupRow> = c.rows[lo..hi.max(lo)].iter().take(limit).copied().collect();
                Plan { kept, open_from: c.sealed_ms.max(start) }
            }
            _ => Plan { kept: Vec::new(), open_from: start },
        }
    }

    /// Keeps the closed periods of `rows`: every period of `[start, to)` with data, as read
    /// after `mark` (`complete`: not cut short by a limit), from the memo and the database.
    pub(crate) fn keep(&self, key: Key, mark: DeviceMark, start: i64, to: i64, rows: &[RollupRow], complete: bool) {
        let Some(latest) = mark.latest_ts else { return };
        if rows.len() > PERIODS_MAX {
            return;
        }
        let period = key.resolution_secs * 1000;
        let sealed = (latest - latest.rem_euclid(period)).min(to);
        if !complete || sealed <= start {
            return;
        }
        let Ok(mut entries) = self.entries.lock() else { return };
        if let Some(c) = entries.get(&key)
            && c.late_version == mark.late_version
            && c.from_ms <= start
            && start <= c.sealed_ms
        {
            // `rows` runs on from inside the memo's range: the periods that have closed since
            // are added to it.
            if c.sealed_ms >= sealed {
                return;
            }
            let mut closed = c.rows.clone();
            closed.extend(rows.iter().filter(|r| r.0 >= c.sealed_ms && r.0 < sealed).copied());
            if closed.len() > PERIODS_MAX {
                entries.remove(&key);
                return;
            }
            let grown = Closed { late_version: mark.late_version, from_ms: c.from_ms, sealed_ms: sealed, rows: closed };
            entries.insert(key, Arc::new(grown));
            return;
        }
        if entries.len() >= ENTRIES_MAX {
            entries.clear();
        }
        let closed: Vec<RollupRow> = rows.iter().take_while(|r| r.0 < sealed).copied().collect();
        entries.insert(
            key,
            Arc::new(Closed { late_version: mark.late_version, from_ms: start, sealed_ms: sealed, rows: closed }),
        );
    }

    /// Forgets every device's periods (rollups were recomputed at start).
    pub(crate) fn forget_all(&self) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.clear();
        }
    }

    /// Forgets a device's periods (its rollups were removed without a reading).
    pub(crate) fn forget_device(&self, device: Uuid) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.retain(|k, _| k.device != device);
        }
    }
}
