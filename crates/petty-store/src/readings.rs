//! Readings: ingest (through the group-commit writer in `ingest.rs`) and reads by device and
//! time, with the per-period rollups.
//!
//! A reading is keyed by (device, event time, sequence number); sending it again is a
//! duplicate, stored once. Event time and arrival time are both kept; late and out-of-order
//! readings are stored like any other, and "latest" means the newest event time.

use std::collections::BTreeMap;

use petty_core::ids::{DeviceId, HouseholdId};
use petty_core::readings::{Location, METRIC_COUNT, Metric, Reading, from_epoch_ms};
use sqlx::FromRow;
use time::OffsetDateTime;
use tokio::sync::oneshot;
use uuid::Uuid;

use crate::ingest::{IngestOutcome, Job, Message, ROLLUP_RESOLUTIONS};
use crate::rollup_fold;
use crate::rollup_memo::{self, DeviceMark, RollupRow};
use crate::{Result, Store, StoreError, from_ms, on_pool, to_ms};

/// `SELECT` of one metric's summaries from the rollups, per metric in `Metric::ALL` order.
static ROLLUP_SELECT: std::sync::LazyLock<Vec<String>> = std::sync::LazyLock::new(|| {
    Metric::ALL
        .iter()
        .map(|m| {
            let m = m.name();
            format!(
                "SELECT bucket, {m}_n, {m}_sum, {m}_min, {m}_max FROM rollups WHERE device_id = $1 AND resolution = $2 \
                 AND household_id = $3 AND bucket >= $4 AND bucket < $5 AND {m}_n > 0 ORDER BY bucket LIMIT $6"
            )
        })
        .collect()
});

/// A stored reading with what the store adds to it.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredReading {
    pub device_id: DeviceId,
    pub reading: Reading,
    /// When Petty received it.
    pub received_at: OffsetDateTime,
}

/// Where a page of readings ended; the next page starts after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadingCursor {
    pub ts_ms: i64,
    pub seq: i64,
}

/// Which summaries to read: `metric` per `resolution_secs` (one of [`ROLLUP_RESOLUTIONS`]),
/// from the period that holds `from` to the last one starting before `to`, at most `limit`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RollupQuery {
    pub metric: Metric,
    pub resolution_secs: i64,
    pub from: OffsetDateTime,
    pub to: OffsetDateTime,
    pub limit: u32,
}

/// One period's summary of one metric.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rollup {
    /// The start of the period.
    pub bucket: OffsetDateTime,
    pub count: u64,
    pub min: f64,
    pub max: f64,
    pub avg: f64,
}

macro_rules! reading_columns {
    () => {
        "device_id, ts, seq, received_at, heart_rate, respiration_rate, activity_level, activity_counts, steps, \
         temperature_c, battery_pct, rssi, co_ppm, co_raw, humidity_pct, ambient_temp_c, lat, lon, accuracy_m, extra"
    };
}

/// Pages of readings up to this many are read through `fastread` on SQLite; longer ones (a
/// rule's window rebuilt, a preview) stay on the sqlx pool.
pub const FAST_PAGE_MAX: u32 = 1_000;

#[derive(FromRow)]
pub(crate) struct ReadingRow {
    device_id: Uuid,
    ts: i64,
    seq: i64,
    received_at: i64,
    heart_rate: Option<f64>,
    respiration_rate: Option<f64>,
    activity_level: Option<f64>,
    activity_counts: Option<f64>,
    steps: Option<f64>,
    temperature_c: Option<f64>,
    battery_pct: Option<f64>,
    rssi: Option<f64>,
    co_ppm: Option<f64>,
    co_raw: Option<f64>,
    humidity_pct: Option<f64>,
    ambient_temp_c: Option<f64>,
    lat: Option<f64>,
    lon: Option<f64>,
    accuracy_m: Option<f64>,
    extra: Option<String>,
}

impl ReadingRow {
    /// A row of `reading_columns!()` read through `fastread`.
    fn from_sqlite(row: &rusqlite::Row<'_>) -> rusqlite::Result<ReadingRow> {
        Ok(ReadingRow {
            device_id: crate::fastread::uuid(row, 0)?,
            ts: row.get(1)?,
            seq: row.get(2)?,
            received_at: row.get(3)?,
            heart_rate: row.get(4)?,
            respiration_rate: row.get(5)?,
            activity_level: row.get(6)?,
            activity_counts: row.get(7)?,
            steps: row.get(8)?,
            temperature_c: row.get(9)?,
            battery_pct: row.get(10)?,
            rssi: row.get(11)?,
            co_ppm: row.get(12)?,
            co_raw: row.get(13)?,
            humidity_pct: row.get(14)?,
            ambient_temp_c: row.get(15)?,
            lat: row.get(16)?,
            lon: row.get(17)?,
            accuracy_m: row.get(18)?,
            extra: row.get(19)?,
        })
    }

    fn into_stored(self) -> Result<StoredReading> {
        let corrupt = |what: &str| StoreError::Corrupt(format!("reading of {} at {}: {what}", self.device_id, self.ts));
        // In `Metric::ALL` order.
        let values: [Option<f64>; METRIC_COUNT] = [
            self.heart_rate,
            self.respiration_rate,
            self.activity_level,
            self.activity_counts,
            self.steps,
            self.temperature_c,
            self.battery_pct,
            self.rssi,
            self.co_ppm,
            self.co_raw,
            self.humidity_pct,
            self.ambient_temp_c,
        ];
        let extra: BTreeMap<String, f64> = match &self.extra {
            Some(text) => serde_json::from_str(text).map_err(|_| corrupt("extra"))?,
            None => BTreeMap::new(),
        };
        let location = match (self.lat, self.lon) {
            (Some(lat), Some(lon)) => Some(Location { lat, lon, accuracy_m: self.accuracy_m }),
            _ => None,
        };
        Ok(StoredReading {
            device_id: DeviceId(self.device_id),
            reading: Reading {
                ts: from_epoch_ms(self.ts).ok_or_else(|| corrupt("ts"))?,
                seq: (self.seq >= 0).then_some(self.seq),
                values,
                location,
                extra,
            },
            received_at: from_ms(self.received_at)?,
        })
    }
}

impl Store {
    /// Stores the device's readings and answers, reading by reading, once they are committed.
    /// The caller has checked that the device belongs to the household.
    pub async fn ingest(
        &self,
        household_id: HouseholdId,
        device_id: DeviceId,
        readings: Vec<Reading>,
        received_at: OffsetDateTime,
    ) -> Result<Vec<IngestOutcome>> {
        if readings.is_empty() {
            return Ok(Vec::new());
        }
        let (reply, answer) = oneshot::channel();
        let job = Job { household_id, device_id, received_at, readings, reply };
        self.ingest
            .tx
            .send(Message::Ingest(job))
            .await
            .map_err(|_| StoreError::Unavailable("the ingest writer has stopped".into()))?;
        match answer.await {
            Ok(Ok(outcomes)) => Ok(outcomes),
            Ok(Err(message)) => Err(StoreError::Unavailable(message)),
            Err(_) => Err(StoreError::Unavailable("the ingest writer has stopped".into())),
        }
    }

    /// Summaries of one metric per period, oldest first (see [`RollupQuery`]).
    #[tracing::instrument(level = "debug", skip_all, fields(household_id = %household_id, device_id = %device_id))]
    pub async fn rollups(
        &self,
        household_id: HouseholdId,
        device_id: DeviceId,
        query: &RollupQuery,
    ) -> Result<Vec<Rollup>> {
        let RollupQuery { metric, resolution_secs, from, to, limit } = *query;
        if !ROLLUP_RESOLUTIONS.contains(&resolution_secs) {
            return Ok(Vec::new());
        }
        let sql = ROLLUP_SELECT[metric.index()].as_str();
        let start = to_ms(from) - to_ms(from).rem_euclid(resolution_secs * 1000);
        let rows: Vec<RollupRow> = if let Some(fast) = &self.fast {
            // SQLite: typed rows read on this thread, not handed across sqlx's worker thread one
            // by one; the closed periods from memory when the device has had no late reading
            // since they were read (`rollup_memo.rs`), so a chart of a year reads its open day.
            let key = rollup_memo::Key {
                device: device_id.0,
                household: household_id.0,
                metric: metric.index(),
                resolution_secs,
            };
            let (end, limit) = (to_ms(to), limit as usize);
            // The summaries still in memory (`rollup_fold.rs`) are merged into the open part:
            // the closed part from the memo already has them, or a late reading since would
            // have made the memo stale. The view is held until both are read.
            let pending = self.ingest.pending.as_deref();
            let _view = pending.map(|p| p.view());
            let (mark, rows) = fast.with(|conn| {
                use rusqlite::OptionalExtension;
                let (device, household) = (&device_id.0.as_bytes()[..], &household_id.0.as_bytes()[..]);
                let mark = conn
                    .prepare_cached(
                        "SELECT latest_ts, alarms_late_version FROM devices WHERE id = ?1 AND household_id = ?2",
                    )?
                    .query_row(rusqlite::params![device, household], |r| {
                        Ok(DeviceMark { latest_ts: r.get(0)?, late_version: r.get(1)? })
                    })
                    .optional()?;
                let (mut rows, open_from) = match mark {
                    Some(mark) => {
                        let plan = self.rollup_memo.plan(key, mark, start, end, limit);
                        (plan.kept, plan.open_from)
                    }
                    None => (Vec::new(), start),
                };
                let left = limit.saturating_sub(rows.len());
                if left > 0 && open_from < end {
                    let mut statement = conn.prepare_cached(sql)?;
                    let open = statement.query_map(
                        rusqlite::params![device, resolution_secs, household, open_from, end, left as i64],
                        |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?)),
                    )?;
                    let open = open.collect::<rusqlite::Result<Vec<RollupRow>>>()?;
                    let held = pending
                        .map(|p| p.rows(household_id.0, device_id.0, resolution_secs, metric.index(), open_from, end));
                    rows.extend(rollup_fold::merge_rows(open, held.unwrap_or_default(), left));
                }
                Ok((mark, rows))
            })?;
            if let Some(mark) = mark {
                self.rollup_memo.keep(key, mark, start, end, &rows, rows.len() < limit);
            }
            rows
        } else {
            on_pool!(read, self, |pool| {
                sqlx::query_as(sqlx::AssertSqlSafe(sql))
                    .bind(device_id.0)
                    .bind(resolution_secs)
                    .bind(household_id.0)
                    .bind(start)
                    .bind(to_ms(to))
                    .bind(i64::from(limit))
                    .fetch_all(pool)
                    .await?
            })
        };
        rows.into_iter()
            .map(|(bucket, n, sum, min, max)| {
                let bound = |v: Option<f64>| {
                    v.ok_or_else(|| {
                        StoreError::Corrupt(format!("rollup of {device_id} at {bucket}: no bound for {n} values"))
                    })
                };
                Ok(Rollup {
                    bucket: from_ms(bucket)?,
                    count: n as u64,
                    min: bound(min)?,
                    max: bound(max)?,
                    avg: sum / n.max(1) as f64,
                })
            })
            .collect()
    }

    /// Puts off (or allows again) folding the rollup summaries that wait in memory on SQLite:
    /// for tests of what a process that stops without folding leaves behind.
    #[doc(hidden)]
    pub fn pause_rollup_folds(&self, paused: bool) {
        if let Some(pending) = &self.ingest.pending {
            pending.pause(paused);
        }
    }

    /// [`Store::rollups`], as the charts ask for them.
    pub async fn rollup_series(
        &self,
        household_id: HouseholdId,
        device_id: DeviceId,
        query: &RollupQuery,
    ) -> Result<Vec<Rollup>> {
        self.rollups(household_id, device_id, query).await
    }

    /// The reading with the newest event time.
    #[tracing::instrument(level = "debug", skip_all, fields(household_id = %household_id, device_id = %device_id))]
    pub async fn latest_reading(
        &self,
        household_id: HouseholdId,
        device_id: DeviceId,
    ) -> Result<Option<StoredReading>> {
        let row: Option<ReadingRow> = on_pool!(read, self, |pool| {
            sqlx::query_as(concat!(
                "SELECT ",
                reading_columns!(),
                " FROM readings WHERE device_id = $1 AND household_id = $2 ORDER BY ts DESC, seq DESC LIMIT 1"
            ))
            .bind(device_id.0)
            .bind(household_id.0)
            .fetch_optional(pool)
            .await?
        });
        row.map(ReadingRow::into_stored).transpose()
    }

    /// The newest `limit` readings with `from <= ts < to`, returned oldest first.
    #[tracing::instrument(level = "debug", skip_all, fields(household_id = %household_id, device_id = %device_id))]
    pub async fn newest_readings(
        &self,
        household_id: HouseholdId,
        device_id: DeviceId,
        from: OffsetDateTime,
        to: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<StoredReading>> {
        let rows: Vec<ReadingRow> = on_pool!(read, self, |pool| {
            sqlx::query_as(concat!(
                "SELECT ",
                reading_columns!(),
                " FROM readings WHERE device_id = $1 AND household_id = $2 AND ts >= $3 AND ts < $4 \
                 ORDER BY ts DESC, seq DESC LIMIT $5"
            ))
            .bind(device_id.0)
            .bind(household_id.0)
            .bind(to_ms(from))
            .bind(to_ms(to))
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await?
        });
        let mut items = rows.into_iter().map(ReadingRow::into_stored).collect::<Result<Vec<_>>>()?;
        items.reverse();
        Ok(items)
    }

    /// The readings received at or after `received_from` whose event time is at or after
    /// `ts_from`, in the order they were received (then by event time), at most `limit`. The
    /// event-time bound is what keeps this on the primary key: it must be given.
    #[tracing::instrument(level = "debug", skip_all, fields(household_id = %household_id, device_id = %device_id))]
    pub async fn readings_received_since(
        &self,
        household_id: HouseholdId,
        device_id: DeviceId,
        received_from: OffsetDateTime,
        ts_from: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<StoredReading>> {
        let rows: Vec<ReadingRow> = on_pool!(read, self, |pool| {
            sqlx::query_as(concat!(
                "SELECT ",
                reading_columns!(),
                " FROM readings WHERE device_id = $1 AND household_id = $2 AND ts >= $3 AND received_at >= $4 \
                 ORDER BY received_at, ts, seq LIMIT $5"
            ))
            .bind(device_id.0)
            .bind(household_id.0)
            .bind(to_ms(ts_from))
            .bind(to_ms(received_from))
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await?
        });
        rows.into_iter().map(ReadingRow::into_stored).collect()
    }

    /// Up to `limit` readings with `from <= ts < to`, oldest first, after `after`; and the
    /// cursor for the next page when there is one.
    #[tracing::instrument(level = "debug", skip_all, fields(household_id = %household_id, device_id = %device_id))]
    pub async fn readings(
        &self,
        household_id: HouseholdId,
        device_id: DeviceId,
        from: OffsetDateTime,
        to: OffsetDateTime,
        after: Option<ReadingCursor>,
        limit: u32,
    ) -> Result<(Vec<StoredReading>, Option<ReadingCursor>)> {
        let page = ReadingsPage::new(household_id, device_id, to_ms(from), to_ms(to), after, limit);
        let rows: Vec<ReadingRow> = match &self.fast {
            // A short page (the alarm job's new readings, an API page) is read on this thread.
            Some(fast) if limit <= FAST_PAGE_MAX => fast.with(|conn| page.read_sqlite(conn))?,
            _ => on_pool!(read, self, |pool| {
                sqlx::query_as(READINGS_PAGE)
                    .bind(device_id.0)
                    .bind(household_id.0)
                    .bind(page.from_ts)
                    .bind(page.to_ts)
                    .bind(page.after.0)
                    .bind(page.after.1)
                    .bind(page.take())
                    .fetch_all(pool)
                    .await?
            }),
        };
        page.finish(rows)
    }
}

/// A page of a device's readings, oldest first: `from_ts <= ts < to_ts`, after `after`.
const READINGS_PAGE: &str = concat!(
    "SELECT ",
    reading_columns!(),
    " FROM readings WHERE device_id = $1 AND household_id = $2 AND ts >= $3 AND ts < $4 \
     AND (ts, seq) > ($5, $6) ORDER BY ts, seq LIMIT $7"
);

/// [`READINGS_PAGE`] for many devices at once (PostgreSQL): up to `$8` rows for each of the
/// unnested bounds, numbered by `page`, in page and key order.
const READINGS_PAGES: &str = concat!(
    "SELECT r.* FROM UNNEST($1::int8[], $2::uuid[], $3::uuid[], $4::int8[], $5::int8[], $6::int8[], $7::int8[]) \
     AS p(page, device, household, from_ts, to_ts, after_ts, after_seq) \
     CROSS JOIN LATERAL (SELECT p.page, ",
    reading_columns!(),
    " FROM readings WHERE device_id = p.device AND household_id = p.household AND ts >= p.from_ts \
     AND ts < p.to_ts AND (ts, seq) > (p.after_ts, p.after_seq) ORDER BY ts, seq LIMIT $8) AS r \
     ORDER BY r.page, r.ts, r.seq"
);

/// One page of [`Store::readings`], as its statement binds it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ReadingsPage {
    household_id: HouseholdId,
    device_id: DeviceId,
    from_ts: i64,
    to_ts: i64,
    /// Where the page starts after: the cursor, or just before `from_ts`.
    after: (i64, i64),
    limit: u32,
}

impl ReadingsPage {
    pub(crate) fn new(
        household_id: HouseholdId,
        device_id: DeviceId,
        from_ts: i64,
        to_ts: i64,
        after: Option<ReadingCursor>,
        limit: u32,
    ) -> ReadingsPage {
        // The page starts after the cursor, and never before `from`: the row value is the
        // tighter of the two, so whichever lower bound the planner searches the key from is
        // as tight as the page. (SQLite's fast-read connections plan without looking at the
        // values; with the cursor as `ts > $5 OR (ts = $5 AND seq > $6)` and no cursor given,
        // they searched from the device's first reading: a pass of the alarm job cost more
        // the longer the device had been sending.)
        let after = after.map_or((i64::MIN, i64::MIN), |c| (c.ts_ms, c.seq)).max((from_ts.saturating_sub(1), i64::MAX));
        ReadingsPage { household_id, device_id, from_ts, to_ts, after, limit }
    }

    /// One row more than the page, to tell whether another follows.
    fn take(&self) -> i64 {
        i64::from(self.limit) + 1
    }

    /// The page's rows, read on an SQLite connection of the caller's.
    pub(crate) fn read_sqlite(&self, conn: &rusqlite::Connection) -> rusqlite::Result<Vec<ReadingRow>> {
        let (device, household) = (&self.device_id.0.as_bytes()[..], &self.household_id.0.as_bytes()[..]);
        let params =
            rusqlite::params![device, household, self.from_ts, self.to_ts, self.after.0, self.after.1, self.take()];
        conn.prepare_cached(READINGS_PAGE)?.query_map(params, ReadingRow::from_sqlite)?.collect()
    }

    /// Many devices' pages, read in one statement on PostgreSQL: the rows of each page, in the
    /// order of `pages`. Every page is read to the longest page's length (a `LIMIT` cannot
    /// vary by row); [`ReadingsPage::finish`] cuts each to its own.
    pub(crate) async fn read_many_pg(pool: &sqlx::PgPool, pages: &[ReadingsPage]) -> Result<Vec<Vec<ReadingRow>>> {
        let mut out: Vec<Vec<ReadingRow>> = pages.iter().map(|_| Vec::new()).collect();
        let Some(take) = pages.iter().map(ReadingsPage::take).max() else { return Ok(out) };
        let column = |f: fn(&ReadingsPage) -> i64| pages.iter().map(f).collect::<Vec<i64>>();
        let rows: Vec<sqlx::postgres::PgRow> = sqlx::query(READINGS_PAGES)
            .bind((0..pages.len() as i64).collect::<Vec<i64>>())
            .bind(pages.iter().map(|p| p.device_id.0).collect::<Vec<Uuid>>())
            .bind(pages.iter().map(|p| p.household_id.0).collect::<Vec<Uuid>>())
            .bind(column(|p| p.from_ts))
            .bind(column(|p| p.to_ts))
            .bind(column(|p| p.after.0))
            .bind(column(|p| p.after.1))
            .bind(take)
            .fetch_all(pool)
            .await?;
        for row in rows {
            use sqlx::Row;
            let page: i64 = row.try_get("page")?;
            let slot = usize::try_from(page).ok().and_then(|i| out.get_mut(i));
            let Some(slot) = slot else {
                return Err(StoreError::Corrupt(format!("a page number {page} out of range")));
            };
            slot.push(ReadingRow::from_row(&row)?);
        }
        Ok(out)
    }

    /// The readings of the page's rows, and the cursor for the next page when there is one.
    pub(crate) fn finish(&self, rows: Vec<ReadingRow>) -> Result<(Vec<StoredReading>, Option<ReadingCursor>)> {
        let mut items = rows.into_iter().map(ReadingRow::into_stored).collect::<Result<Vec<_>>>()?;
        let next = if items.len() > self.limit as usize {
            items.truncate(self.limit as usize);
            items.last().map(|r| ReadingCursor { ts_ms: r.reading.ts_ms(), seq: r.reading.seq.unwrap_or(-1) })
        } else {
            None
        };
        Ok((items, next))
    }
}
