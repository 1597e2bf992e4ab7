//! Rollups folded behind ingest, on SQLite.
//!
//! Upserting three wide rollup rows (a minute, an hour, a day, every metric in each) in every
//! transaction of the readings writer cost about a third of single-reading ingest (issue 18,
//! eleventh part). The writer now keeps the summaries of recent readings here, in memory, and
//! folds them into `rollups` about once a second ([`FOLD_EVERY`]), in the transaction of
//! whatever group comes next (or on its own when none does): a device's minute then costs one
//! upsert a second, not one a reading.
//!
//! - **Reads see both.** A read of the rollups takes [`Pending::view`], reads the table, and
//!   merges in the periods held here. The writer commits every transaction (and folds) under the
//!   same lock, and changes the periods before it lets go, so a read sees a commit's readings
//!   either nowhere or both in the table and here, never half. An acknowledged reading is in
//!   every read after its acknowledgement.
//! - **Nothing is lost in a crash.** The transaction that stores a deferred reading also
//!   widens its device's `rollups_pending_from..to` (event time); the fold clears it. A process
//!   that stops without folding leaves the range set, and the next start ([`recover`], from
//!   `Store::migrate`) recomputes every period it touches from the stored readings.
//! - **Only periods whose readings are all still stored wait here.** A reading is deferred only
//!   when its day began less than [`DEFER_WINDOW_MS`] ago, so retention (one day at the
//!   shortest) cannot have removed any reading of the periods a recovery recomputes. Older
//!   readings (a backfill, an import) are upserted in their own transaction, as before.
//!
//! PostgreSQL keeps upserting in each transaction: several nodes write there, and a read on
//! one node cannot see another node's memory.

use std::collections::BTreeMap;
use std::sync::{Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant};

use petty_core::readings::METRIC_COUNT;
use uuid::Uuid;

use crate::ingest::{MetricSummary, Period};
use crate::rollup_memo::RollupRow;

/// How long a reading's summary waits in memory at most (give or take the checkpointer's tick)
/// before the writer folds it into the table.
pub(crate) const FOLD_EVERY: Duration = Duration::from_secs(1);
/// Periods held past which the writer folds at its next transaction, whatever their age: about
/// 7 MiB.
const PERIODS_MAX: usize = 10_000;
/// About how many periods one transaction folds: a round of 1,000 devices' minutes, hours and
/// days takes about fifty transactions, each well under a millisecond longer, not one tens of
/// milliseconds longer (with 256, a WebSocket's delivery p99 at 1,000 readings/s tripled).
pub(crate) const FOLD_SLICE: usize = 64;
/// A reading waits here only if its day (UTC) began less than this long before its
/// transaction; see the module's notes.
pub(crate) const DEFER_WINDOW_MS: i64 = 23 * 3_600_000;

/// A period: device, resolution in seconds, start in epoch ms.
pub(crate) type PeriodKey = (Uuid, i64, i64);

/// The summaries not yet folded into the table, shared by the writer and the readers.
#[derive(Default)]
pub(crate) struct Pending {
    view: RwLock<()>,
    held: Mutex<Held>,
}

#[derive(Default)]
struct Held {
    periods: BTreeMap<PeriodKey, Period>,
    /// When the oldest held summary arrived.
    since: Option<Instant>,
    /// Folds put off (tests of recovery only).
    paused: bool,
    /// In a round of folds: the last device folded.
    cursor: Option<Uuid>,
}

/// What one fold writes (see [`Pending::slice`]).
pub(crate) struct Slice {
    pub(crate) periods: BTreeMap<PeriodKey, Period>,
    /// The devices folded, in order: their pending ranges are cleared.
    pub(crate) devices: Vec<Uuid>,
    /// Whether the round reached its last device.
    round_done: bool,
}

impl std::fmt::Debug for Pending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let held = self.held.lock().map(|h| h.periods.len()).unwrap_or_default();
        f.debug_struct("Pending").field("periods", &held).finish()
    }
}

impl Pending {
    /// Held by a read of the rollups for as long as it reads the table and the periods here.
    pub(crate) fn view(&self) -> RwLockReadGuard<'_, ()> {
        self.view.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Held by the writer around each commit and what it then does to the periods here.
    pub(crate) fn commit(&self) -> RwLockWriteGuard<'_, ()> {
        self.view.write().unwrap_or_else(|e| e.into_inner())
    }

    fn held(&self) -> std::sync::MutexGuard<'_, Held> {
        self.held.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds a committed transaction's deferred summaries.
    pub(crate) fn add(&self, deferred: BTreeMap<PeriodKey, Period>) {
        if deferred.is_empty() {
            return;
        }
        let mut held = self.held();
        held.since.get_or_insert_with(Instant::now);
        for (key, period) in deferred {
            match held.periods.entry(key) {
                std::collections::btree_map::Entry::Vacant(v) => {
                    v.insert(period);
                }
                std::collections::btree_map::Entry::Occupied(mut o) => o.get_mut().merge(&period),
            }
        }
    }

    /// Whether the writer should fold now: summaries have waited [`FOLD_EVERY`], or there are
    /// many.
    pub(crate) fn due(&self) -> bool {
        let held = self.held();
        !held.paused
            && !held.periods.is_empty()
            && (held.cursor.is_some()
                || held.periods.len() >= PERIODS_MAX
                || held.since.is_some_and(|since| since.elapsed() >= FOLD_EVERY))
    }

    /// What one transaction folds: the held periods of the next devices of the round (after
    /// the last one folded), whole devices up to about `most` periods, with this transaction's
    /// deferred periods of those devices merged in. A round of many devices is spread over
    /// several transactions, so that no commit waits for thousands of upserts.
    pub(crate) fn slice(&self, deferred: &BTreeMap<PeriodKey, Period>, most: usize) -> Slice {
        let held = self.held();
        let from = match held.cursor {
            Some(last) => std::ops::Bound::Excluded((last, i64::MAX, i64::MAX)),
            None => std::ops::Bound::Unbounded,
        };
        let mut slice = Slice { periods: BTreeMap::new(), devices: Vec::new(), round_done: true };
        for (key, period) in held.periods.range((from, std::ops::Bound::Unbounded)) {
            if slice.devices.last() != Some(&key.0) {
                if slice.periods.len() >= most {
                    slice.round_done = false;
                    break;
                }
                slice.devices.push(key.0);
            }
            slice.periods.insert(*key, period.clone());
        }
        for (key, period) in deferred {
            if slice.devices.binary_search(&key.0).is_ok() {
                slice.periods.entry(*key).and_modify(|p| p.merge(period)).or_insert_with(|| period.clone());
            }
        }
        slice
    }

    /// After the commit of a fold: forgets the folded devices' periods, adds the transaction's
    /// other deferred ones, and moves the round on (a finished round waits [`FOLD_EVERY`] for
    /// the next).
    pub(crate) fn folded(&self, slice: &Slice, deferred: BTreeMap<PeriodKey, Period>) {
        let mut held = self.held();
        held.periods.retain(|key, _| slice.devices.binary_search(&key.0).is_err());
        held.cursor = if slice.round_done { None } else { slice.devices.last().copied() };
        if slice.round_done {
            held.since = None;
        }
        drop(held);
        let rest: BTreeMap<PeriodKey, Period> =
            deferred.into_iter().filter(|(key, _)| slice.devices.binary_search(&key.0).is_err()).collect();
        self.add(rest);
        let mut held = self.held();
        if held.periods.is_empty() {
            held.since = None;
        } else if held.since.is_none() {
            held.since = Some(Instant::now());
        }
    }

    /// Whether no summary waits.
    pub(crate) fn is_empty(&self) -> bool {
        self.held().periods.is_empty()
    }

    /// Forgets every held period (recovery recomputed them from the readings).
    pub(crate) fn clear(&self) {
        let mut held = self.held();
        held.periods.clear();
        held.since = None;
        held.cursor = None;
    }

    /// Forgets a device's held periods (the device is gone).
    pub(crate) fn forget_device(&self, device: Uuid) {
        self.held().periods.retain(|key, _| key.0 != device);
    }

    /// Puts folds off (or allows them again): for tests of what a crash leaves.
    pub(crate) fn pause(&self, paused: bool) {
        self.held().paused = paused;
    }

    /// One metric's held summaries of a household's device at a resolution, for the periods
    /// starting in `[from, to)`, oldest first.
    pub(crate) fn rows(
        &self,
        household: Uuid,
        device: Uuid,
        resolution_secs: i64,
        metric: usize,
        from: i64,
        to: i64,
    ) -> Vec<RollupRow> {
        if from >= to || metric >= METRIC_COUNT {
            return Vec::new();
        }
        let held = self.held();
        held.periods
            .range((device, resolution_secs, from)..(device, resolution_secs, to))
            .filter(|(_, p)| p.household_id.0 == household && p.metrics[metric].n > 0)
            .map(|(key, p)| {
                let MetricSummary { n, sum, min, max } = p.metrics[metric];
                (key.2, n, sum, min, max)
            })
            .collect()
    }
}

/// `rows` (a read of the table, oldest first, at most `limit`) with `held` merged in, at most
/// `limit`, oldest first.
pub(crate) fn merge_rows(rows: Vec<RollupRow>, held: Vec<RollupRow>, limit: usize) -> Vec<RollupRow> {
    if held.is_empty() {
        return rows;
    }
    let mut by_start: BTreeMap<i64, RollupRow> = rows.into_iter().map(|r| (r.0, r)).collect();
    for (start, n, sum, min, max) in held {
        by_start
            .entry(start)
            .and_modify(|r| {
                r.1 += n;
                r.2 += sum;
                r.3 = bound(r.3, min, f64::min);
                r.4 = bound(r.4, max, f64::max);
            })
            .or_insert((start, n, sum, min, max));
    }
    by_start.into_values().take(limit).collect()
}

/// The lower or higher (`pick`) of two bounds, either of which may be absent.
pub(crate) fn bound(a: Option<f64>, b: Option<f64>, pick: fn(f64, f64) -> f64) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(pick(a, b)),
        (a, b) => a.or(b),
    }
}

/// The start of the period of `resolution_secs` that holds `ts` (epoch ms).
pub(crate) fn period_start(ts: i64, resolution_secs: i64) -> i64 {
    ts - ts.rem_euclid(resolution_secs * 1000)
}

/// Whether a reading at `ts` may wait in memory, in a transaction at `now` (both epoch ms).
pub(crate) fn may_wait(ts: i64, now: i64) -> bool {
    period_start(ts, 86_400) > now - DEFER_WINDOW_MS
}

/// The periods a device's pending range `[from, to]` touches at a resolution: `[lo, hi)`.
pub(crate) fn periods_of(from: i64, to: i64, resolution_secs: i64) -> (i64, i64) {
    (period_start(from, resolution_secs), period_start(to, resolution_secs) + resolution_secs * 1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_read_merges_held_periods_into_the_tables_in_order_and_within_the_limit() {
        let table = vec![(0, 2, 10.0, Some(4.0), Some(6.0)), (120_000, 1, 7.0, Some(7.0), Some(7.0))];
        let held = vec![(0, 1, 9.0, Some(9.0), Some(9.0)), (60_000, 1, 1.0, Some(1.0), Some(1.0))];
        let merged = merge_rows(table.clone(), held.clone(), 10);
        assert_eq!(
            merged,
            vec![
                (0, 3, 19.0, Some(4.0), Some(9.0)),
                (60_000, 1, 1.0, Some(1.0), Some(1.0)),
                (120_000, 1, 7.0, Some(7.0), Some(7.0)),
            ]
        );
        assert_eq!(merge_rows(table, held, 2).len(), 2, "the limit holds after the merge");
    }

    #[test]
    fn only_readings_of_a_day_that_began_less_than_23_hours_ago_wait() {
        let day = 86_400_000;
        let now = 100 * day + 10 * 3_600_000; // 10:00 on day 100
        assert!(may_wait(now, now));
        assert!(may_wait(100 * day, now), "this morning");
        assert!(may_wait(101 * day + 5, now), "a clock ahead");
        assert!(!may_wait(100 * day - 1, now), "yesterday's last millisecond");
        let just_after_midnight = 100 * day + 1_000;
        assert!(may_wait(just_after_midnight, just_after_midnight));
        let late_evening = 100 * day + 23 * 3_600_000 + 1;
        assert!(!may_wait(late_evening, late_evening), "a day that began 23 hours ago is folded at once");
    }

    fn periods(devices: &[u128], each: i64) -> BTreeMap<PeriodKey, Period> {
        let mut out = BTreeMap::new();
        for &d in devices {
            for b in 0..each {
                let mut period =
                    Period { household_id: petty_core::ids::HouseholdId(Uuid::nil()), metrics: Default::default() };
                period.metrics[0] = MetricSummary { n: 1, sum: 1.0, min: Some(1.0), max: Some(1.0) };
                out.insert((Uuid::from_u128(d), 60, b * 60_000), period);
            }
        }
        out
    }

    #[test]
    fn a_round_of_folds_takes_whole_devices_a_slice_at_a_time_then_waits() {
        let pending = Pending::default();
        pending.add(periods(&[1, 2, 3], 3));
        assert!(!pending.due(), "nothing has waited a second yet");
        pending.held().since = Some(Instant::now() - FOLD_EVERY);
        assert!(pending.due());
        // The transaction's own readings: device 1's are folded with it, device 9's wait.
        let group = periods(&[1, 9], 1);
        let first = pending.slice(&group, 4);
        assert_eq!(first.devices, [Uuid::from_u128(1), Uuid::from_u128(2)], "whole devices, up to the slice");
        assert_eq!(first.periods.len(), 6);
        assert_eq!(first.periods[&(Uuid::from_u128(1), 60, 0)].metrics[0].n, 2, "device 1's own reading merged in");
        pending.folded(&first, group);
        assert!(pending.due(), "the round goes on at the next transaction");
        let second = pending.slice(&BTreeMap::new(), 4);
        assert_eq!(second.devices, [Uuid::from_u128(3), Uuid::from_u128(9)]);
        pending.folded(&second, BTreeMap::new());
        assert!(pending.is_empty());
        assert!(!pending.due(), "a finished round waits for the next second");
    }

    #[test]
    fn a_pending_range_covers_whole_periods() {
        assert_eq!(periods_of(61_000, 61_000, 60), (60_000, 120_000));
        assert_eq!(periods_of(59_999, 60_000, 60), (0, 120_000));
        assert_eq!(periods_of(-1, -1, 60), (-60_000, 0));
    }
}
