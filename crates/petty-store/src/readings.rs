//! Readings: durable ingest with group commit, and reads by device and time.
//!
//! Ingest goes through one writer task per store. Callers hand it their readings and wait;
//! the writer takes everything that has queued up while it was busy and writes it in one
//! transaction ("group commit"), then answers each caller. A caller hears "accepted" only after
//! the commit that holds its readings, so nothing acknowledged is lost, and many concurrent
//! requests share one commit (one fsync on PostgreSQL, one WAL append on SQLite).
//!
//! A reading is keyed by (device, event time, sequence number); sending it again is a
//! duplicate, stored once. Event time and arrival time are both kept; late and out-of-order
//! readings are stored like any other, and "latest" means the newest event time.

use std::collections::BTreeMap;

use petty_core::ids::{DeviceId, HouseholdId};
use petty_core::readings::{Location, METRIC_COUNT, Metric, Reading, from_epoch_ms};
use sqlx::FromRow;
use time::OffsetDateTime;
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use crate::{Backend, Result, Store, StoreError, from_ms, on_pool, to_ms};

/// What happened to one reading of an ingest call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IngestOutcome {
    /// Newly stored.
    Accepted,
    /// Already stored (same device, event time and sequence number); not stored again.
    Duplicate,
}

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

/// At most this many readings go into one transaction.
const MAX_ROWS_PER_COMMIT: usize = 20_000;
/// Callers waiting for the writer; past this, `ingest` waits for room.
const QUEUE_DEPTH: usize = 1024;

struct Job {
    household_id: HouseholdId,
    device_id: DeviceId,
    received_at: OffsetDateTime,
    readings: Vec<Reading>,
    reply: oneshot::Sender<Result<Vec<IngestOutcome>, String>>,
}

enum Message {
    Ingest(Job),
    /// Answered once everything queued before it is committed.
    Flush(oneshot::Sender<()>),
}

/// The sending side of the writer task.
#[derive(Debug)]
pub(crate) struct IngestQueue {
    tx: mpsc::Sender<Message>,
}

/// What the writer task owns: only the pools (not the `Store`, whose queue it would keep open).
struct Writer {
    backend: Backend,
}

impl IngestQueue {
    /// Starts the writer task on the current tokio runtime.
    pub(crate) fn start(backend: Backend) -> Self {
        let (tx, rx) = mpsc::channel(QUEUE_DEPTH);
        tokio::spawn(Writer { backend }.run(rx));
        Self { tx }
    }
}

impl Writer {
    async fn run(self, mut rx: mpsc::Receiver<Message>) {
        while let Some(first) = rx.recv().await {
            let mut jobs = Vec::new();
            let mut flushes = Vec::new();
            let mut rows = 0;
            let mut next = Some(first);
            while let Some(message) = next.take() {
                match message {
                    Message::Ingest(job) => {
                        rows += job.readings.len();
                        jobs.push(job);
                    }
                    Message::Flush(done) => flushes.push(done),
                }
                if rows < MAX_ROWS_PER_COMMIT {
                    next = rx.try_recv().ok();
                }
            }
            if !jobs.is_empty() {
                match self.write(&jobs).await {
                    Ok(outcomes) => {
                        for (job, outcome) in jobs.into_iter().zip(outcomes) {
                            let _ = job.reply.send(Ok(outcome));
                        }
                    }
                    Err(e) => {
                        tracing::error!(error = %e, readings = rows, "ingest transaction failed; nothing of it was acknowledged");
                        let message = e.to_string();
                        for job in jobs {
                            let _ = job.reply.send(Err(message.clone()));
                        }
                    }
                }
            }
            for done in flushes {
                let _ = done.send(());
            }
        }
    }

    /// Writes every job in one transaction; the outcome of each reading, job by job.
    async fn write(&self, jobs: &[Job]) -> Result<Vec<Vec<IngestOutcome>>> {
        let upsert_rollup = match self.backend {
            Backend::Sqlite { .. } => UPSERT_ROLLUP_SQLITE,
            Backend::Postgres(_) => UPSERT_ROLLUP_POSTGRES,
        };
        on_pool!(write, self, |pool| {
            let mut tx = pool.begin().await?;
            let mut all = Vec::with_capacity(jobs.len());
            let mut rollups = Rollups::default();
            // One device-row update per device per transaction, however many callers it had.
            let mut touched: BTreeMap<Uuid, Touch> = BTreeMap::new();
            for job in jobs {
                let mut outcomes = Vec::with_capacity(job.readings.len());
                let mut newest: Option<i64> = None;
                let mut battery: Option<(i64, f64)> = None;
                for reading in &job.readings {
                    let extra = extra_json(reading)?;
                    let location = reading.location;
                    let mut query = sqlx::query(INSERT_READING)
                        .bind(job.device_id.0)
                        .bind(reading.ts_ms())
                        .bind(reading.seq.unwrap_or(-1))
                        .bind(job.household_id.0)
                        .bind(to_ms(job.received_at));
                    for metric in Metric::ALL {
                        query = query.bind(reading.value(metric));
                    }
                    let inserted = query
                        .bind(location.map(|l| l.lat))
                        .bind(location.map(|l| l.lon))
                        .bind(location.and_then(|l| l.accuracy_m))
                        .bind(extra)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                    if inserted == 1 {
                        outcomes.push(IngestOutcome::Accepted);
                        rollups.add(job, reading);
                        let ts = reading.ts_ms();
                        newest = newest.max(Some(ts));
                        if let Some(level) = reading.value(Metric::BatteryPct)
                            && battery.is_none_or(|(at, _)| ts > at)
                        {
                            battery = Some((ts, level));
                        }
                    } else {
                        outcomes.push(IngestOutcome::Duplicate);
                    }
                }
                let touch = touched.entry(job.device_id.0).or_insert(Touch {
                    household_id: job.household_id,
                    received_at: job.received_at,
                    newest: None,
                    battery: None,
                });
                touch.received_at = touch.received_at.max(job.received_at);
                touch.newest = touch.newest.max(newest);
                if battery.is_some_and(|(ts, _)| touch.battery.is_none_or(|(at, _)| ts > at)) {
                    touch.battery = battery;
                }
                all.push(outcomes);
            }
            for (device_id, touch) in &touched {
                // Arrival time always; the newest event time and the newest battery level only
                // when these readings are newer than what the device row already has.
                sqlx::query(
                    "UPDATE devices SET last_seen_at = $3, \
                     latest_ts = CASE WHEN latest_ts IS NULL OR latest_ts < $4 THEN $4 ELSE latest_ts END, \
                     battery_pct = CASE WHEN $5 IS NOT NULL AND (battery_ts IS NULL OR battery_ts <= $5) \
                         THEN $6 ELSE battery_pct END, \
                     battery_ts = CASE WHEN $5 IS NOT NULL AND (battery_ts IS NULL OR battery_ts <= $5) \
                         THEN $5 ELSE battery_ts END \
                     WHERE household_id = $1 AND id = $2",
                )
                .bind(touch.household_id.0)
                .bind(device_id)
                .bind(to_ms(touch.received_at))
                .bind(touch.newest)
                .bind(touch.battery.map(|(ts, _)| ts))
                .bind(touch.battery.map(|(_, level)| level))
                .execute(&mut *tx)
                .await?;
            }
            for ((device_id, resolution, metric, bucket), summary) in &rollups.0 {
                sqlx::query(upsert_rollup)
                    .bind(device_id)
                    .bind(resolution)
                    .bind(metric)
                    .bind(bucket)
                    .bind(summary.household_id.0)
                    .bind(summary.n)
                    .bind(summary.total)
                    .bind(summary.lo)
                    .bind(summary.hi)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            Ok(all)
        })
    }
}

const INSERT_READING: &str = "INSERT INTO readings (device_id, ts, seq, household_id, received_at, \
     heart_rate, respiration_rate, activity_level, activity_counts, steps, temperature_c, battery_pct, rssi, \
     co_ppm, co_raw, humidity_pct, ambient_temp_c, lat, lon, accuracy_m, extra) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21) \
     ON CONFLICT DO NOTHING";

/// The periods rollups summarise, in seconds: a minute, an hour, a day.
pub const ROLLUP_RESOLUTIONS: [i64; 3] = [60, 3_600, 86_400];

/// What one transaction tells a device row: when it last heard, the newest event time, and the
/// newest battery level with its event time.
struct Touch {
    household_id: HouseholdId,
    received_at: OffsetDateTime,
    newest: Option<i64>,
    battery: Option<(i64, f64)>,
}

/// Summaries of one transaction's accepted readings, merged into the table at the end of it.
#[derive(Default)]
struct Rollups(BTreeMap<(Uuid, i64, &'static str, i64), Summary>);

struct Summary {
    household_id: HouseholdId,
    n: i64,
    total: f64,
    lo: f64,
    hi: f64,
}

impl Rollups {
    fn add(&mut self, job: &Job, reading: &Reading) {
        let ts = reading.ts_ms();
        for metric in Metric::ALL {
            let Some(value) = reading.value(metric) else { continue };
            for resolution in ROLLUP_RESOLUTIONS {
                let bucket = ts - ts.rem_euclid(resolution * 1000);
                let summary = self.0.entry((job.device_id.0, resolution, metric.name(), bucket)).or_insert(Summary {
                    household_id: job.household_id,
                    n: 0,
                    total: 0.0,
                    lo: value,
                    hi: value,
                });
                summary.n += 1;
                summary.total += value;
                summary.lo = summary.lo.min(value);
                summary.hi = summary.hi.max(value);
            }
        }
    }
}

/// The two engines agree on upserts but not on the two-argument minimum and maximum.
const UPSERT_ROLLUP_SQLITE: &str = "INSERT INTO rollups (device_id, resolution, metric, bucket, household_id, n, total, lo, hi) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (device_id, resolution, metric, bucket) DO UPDATE SET \
     n = rollups.n + excluded.n, total = rollups.total + excluded.total, \
     lo = min(rollups.lo, excluded.lo), hi = max(rollups.hi, excluded.hi)";
const UPSERT_ROLLUP_POSTGRES: &str = "INSERT INTO rollups (device_id, resolution, metric, bucket, household_id, n, total, lo, hi) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (device_id, resolution, metric, bucket) DO UPDATE SET \
     n = rollups.n + excluded.n, total = rollups.total + excluded.total, \
     lo = LEAST(rollups.lo, excluded.lo), hi = GREATEST(rollups.hi, excluded.hi)";

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

fn extra_json(reading: &Reading) -> Result<Option<String>> {
    if reading.extra.is_empty() {
        return Ok(None);
    }
    serde_json::to_string(&reading.extra).map(Some).map_err(|e| StoreError::Corrupt(format!("extra: {e}")))
}

#[derive(FromRow)]
struct ReadingRow {
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

    /// Waits until every reading handed to [`Store::ingest`] before this call is committed.
    pub async fn flush_ingest(&self) {
        let (done, wait) = oneshot::channel();
        if self.ingest.tx.send(Message::Flush(done)).await.is_ok() {
            let _ = wait.await;
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
        let rows: Vec<(i64, i64, f64, f64, f64)> = on_pool!(read, self, |pool| {
            sqlx::query_as(
                "SELECT bucket, n, total, lo, hi FROM rollups WHERE device_id = $1 AND resolution = $2 AND metric = $3 \
                 AND household_id = $4 AND bucket >= $5 AND bucket < $6 ORDER BY bucket LIMIT $7",
            )
            .bind(device_id.0)
            .bind(resolution_secs)
            .bind(metric.name())
            .bind(household_id.0)
            .bind(to_ms(from) - to_ms(from).rem_euclid(resolution_secs * 1000))
            .bind(to_ms(to))
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await?
        });
        rows.into_iter()
            .map(|(bucket, n, total, lo, hi)| {
                Ok(Rollup { bucket: from_ms(bucket)?, count: n as u64, min: lo, max: hi, avg: total / n.max(1) as f64 })
            })
            .collect()
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
        let (after_ts, after_seq) = after.map_or((i64::MIN, i64::MIN), |c| (c.ts_ms, c.seq));
        let rows: Vec<ReadingRow> = on_pool!(read, self, |pool| {
            sqlx::query_as(concat!(
                "SELECT ",
                reading_columns!(),
                " FROM readings WHERE device_id = $1 AND household_id = $2 AND ts >= $3 AND ts < $4 \
                 AND (ts > $5 OR (ts = $5 AND seq > $6)) ORDER BY ts, seq LIMIT $7"
            ))
            .bind(device_id.0)
            .bind(household_id.0)
            .bind(to_ms(from))
            .bind(to_ms(to))
            .bind(after_ts)
            .bind(after_seq)
            .bind(i64::from(limit) + 1)
            .fetch_all(pool)
            .await?
        });
        let mut items = rows.into_iter().map(ReadingRow::into_stored).collect::<Result<Vec<_>>>()?;
        let next = if items.len() > limit as usize {
            items.truncate(limit as usize);
            items.last().map(|r| ReadingCursor { ts_ms: r.reading.ts_ms(), seq: r.reading.seq.unwrap_or(-1) })
        } else {
            None
        };
        Ok((items, next))
    }
}
