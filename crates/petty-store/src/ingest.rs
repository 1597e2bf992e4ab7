//! The readings writer: durable ingest with group commit.
//!
//! Callers hand their readings to one writer per store and wait. The writer takes everything
//! that queued up while it was busy and writes it in one transaction ("group commit"), then
//! answers each caller. A caller hears "accepted" only after the commit that holds its
//! readings, so nothing acknowledged is lost, and many concurrent requests share one commit.
//!
//! One transaction stores the new readings, merges their summaries into the rollups (one row
//! per device and period, every metric in it) and updates each device's row once.
//!
//! - **SQLite**: the writer is an OS thread with its own connection and cached prepared
//!   statements (no async hop per statement). It never checkpoints the WAL: a checkpointer
//!   thread does, so a checkpoint never sits in front of a commit and its callers. The
//!   summaries of today's readings wait in memory and are folded into the rollups about once a
//!   second, with a device's pending range kept in its row until then (`rollup_fold.rs`).
//! - **PostgreSQL**: a task that writes each transaction as three set-based statements
//!   (`UNNEST` arrays), so a commit of 10,000 readings is three round trips, not 10,000.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::sync::LazyLock;
use std::time::Duration;

use petty_core::ids::{DeviceId, HouseholdId};
use petty_core::readings::{METRIC_COUNT, Metric, Reading};
use sqlx::{AssertSqlSafe, PgPool};
use time::OffsetDateTime;
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use crate::rollup_fold::{self, Pending, PeriodKey};
use crate::{Result, StoreError, to_ms};

/// What happened to one reading of an ingest call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IngestOutcome {
    /// Newly stored.
    Accepted,
    /// Already stored (same device, event time and sequence number; or, for a reading without
    /// a sequence number, the same event time and the same content); not stored again.
    Duplicate,
}

/// The periods rollups summarise, in seconds: a minute, an hour, a day.
pub const ROLLUP_RESOLUTIONS: [i64; 3] = [60, 3_600, 86_400];

/// At most this many readings go into one transaction.
const MAX_ROWS_PER_COMMIT: usize = 20_000;
/// Callers waiting for the writer; past this, `ingest` waits for room.
const QUEUE_DEPTH: usize = 1024;
/// How often the checkpointer looks at the WAL.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(250);
/// How long the writer waits for more callers before a transaction when the previous one was
/// shared by several: a fraction of a commit's cost, and many more readings per commit.
const GROUP_LINGER: Duration = Duration::from_micros(200);
/// Transactions the PostgreSQL writer keeps going at once.
const PG_GROUPS_IN_FLIGHT: usize = 4;
/// WAL pages (4 KiB each: 64 MiB) past which the checkpointer starts the WAL over.
const WAL_RESTART_PAGES: i64 = 16_384;

pub(crate) struct Job {
    pub(crate) household_id: HouseholdId,
    pub(crate) device_id: DeviceId,
    pub(crate) received_at: OffsetDateTime,
    pub(crate) readings: Vec<Reading>,
    pub(crate) reply: oneshot::Sender<Result<Vec<IngestOutcome>, String>>,
}

/// Life events to keep in the writer's next transaction (SQLite): all of them or none (several
/// under a savepoint of their own), with the reports among them counted for training.
pub(crate) struct LifeJob {
    pub(crate) rows: Vec<crate::lifelog::LifeRow>,
    /// (person, reports among the rows) for training.
    pub(crate) reports: Vec<(Uuid, i64)>,
    pub(crate) retrain_after: i64,
    pub(crate) at: i64,
    pub(crate) reply: oneshot::Sender<Result<LifeOutcome, String>>,
}

/// What became of a [`LifeJob`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LifeOutcome {
    /// Kept; whether the reports made a person's training due.
    Kept { training_due: bool },
    /// A pet's event named a pet that is not its household's: nothing of the job was kept.
    NoSuchPet,
}

pub(crate) enum Message {
    Ingest(Job),
    Life(LifeJob),
    /// Answered once everything queued before it is committed and the writer has stopped and
    /// closed its connection.
    Close(oneshot::Sender<()>),
    /// SQLite: fold the summaries waiting in memory into the table (the checkpointer's tick,
    /// when no transaction came to do it).
    Fold,
    /// SQLite: recompute the periods a process that stopped without folding left pending
    /// (`rollup_fold::recover`); answered with the number of devices.
    Recover(oneshot::Sender<Result<u64, String>>),
}

/// The in-process turn of SQLite's writers (see [`IngestQueue::gate`]).
pub(crate) type WriteGate = std::sync::Arc<tokio::sync::Mutex<()>>;

/// The sending side of the writer.
#[derive(Debug)]
pub(crate) struct IngestQueue {
    pub(crate) tx: mpsc::Sender<Message>,
    /// SQLite: held by whoever writes to the file in this process (this writer for each
    /// transaction, the store's other writes through `on_pool!(write)`, a restart checkpoint).
    /// SQLite's own lock answers a second writer "busy", and its busy handler then sleeps
    /// 1, 2, 5, 10, … ms before it tries again, however soon the lock is free: under steady
    /// ingest the jobs' writes and the writer kept each other sleeping (reading → alarm p99 of
    /// hundreds of milliseconds at 5,000 readings/s). Waiting here, each is woken the moment
    /// the other is done, in turn. `None` on PostgreSQL, whose writers do not exclude each other.
    pub(crate) gate: Option<WriteGate>,
    /// The checkpointer thread (SQLite only) and the sender whose drop stops it.
    checkpointer: std::sync::Mutex<Option<(std::sync::mpsc::Sender<()>, std::thread::JoinHandle<()>)>>,
    /// SQLite: the rollup summaries not yet folded into the table (`rollup_fold.rs`).
    pub(crate) pending: Option<std::sync::Arc<Pending>>,
}

impl IngestQueue {
    /// Starts the writer thread and the checkpointer thread for the SQLite file at `path`.
    pub(crate) fn start_sqlite(path: &Path) -> Result<Self> {
        let gate = WriteGate::default();
        let pending = std::sync::Arc::new(Pending::default());
        let writer = SqliteWriter::open(path, gate.clone(), pending.clone())?;
        let (tx, rx) = mpsc::channel(QUEUE_DEPTH);
        std::thread::Builder::new()
            .name("petty-ingest".into())
            .spawn(move || writer.run(rx))
            .map_err(|e| StoreError::Unavailable(format!("cannot start the ingest writer: {e}")))?;
        let (stop, stopped) = std::sync::mpsc::channel();
        let path = path.to_path_buf();
        let checkpoint_gate = gate.clone();
        let fold = (pending.clone(), tx.downgrade());
        let handle = std::thread::Builder::new()
            .name("petty-checkpoint".into())
            .spawn(move || checkpointer(&path, &checkpoint_gate, &fold, stopped))
            .map_err(|e| StoreError::Unavailable(format!("cannot start the WAL checkpointer: {e}")))?;
        Ok(Self {
            tx,
            checkpointer: std::sync::Mutex::new(Some((stop, handle))),
            gate: Some(gate),
            pending: Some(pending),
        })
    }

    /// SQLite: recomputes the rollup periods that a process which stopped without folding left
    /// pending; the number of devices. Nothing to do on PostgreSQL.
    pub(crate) async fn recover_rollups(&self) -> Result<u64> {
        if self.pending.is_none() {
            return Ok(0);
        }
        let (reply, answer) = oneshot::channel();
        self.tx
            .send(Message::Recover(reply))
            .await
            .map_err(|_| StoreError::Unavailable("the ingest writer has stopped".into()))?;
        match answer.await {
            Ok(Ok(devices)) => Ok(devices),
            Ok(Err(message)) => Err(StoreError::Unavailable(message)),
            Err(_) => Err(StoreError::Unavailable("the ingest writer has stopped".into())),
        }
    }

    /// Commits what is queued, then stops the writer and the checkpointer and closes their
    /// connections, so that the store's last connection can fold the WAL into the file.
    /// Readings sent after this are refused.
    pub(crate) async fn close(&self) {
        let (done, wait) = oneshot::channel();
        if self.tx.send(Message::Close(done)).await.is_ok() {
            let _ = wait.await;
        }
        let checkpointer = self.checkpointer.lock().map(|mut c| c.take()).unwrap_or_default();
        if let Some((stop, handle)) = checkpointer {
            drop(stop);
            let _ = tokio::task::spawn_blocking(move || handle.join()).await;
        }
    }

    /// Starts the writer task for PostgreSQL on the current tokio runtime.
    pub(crate) fn start_postgres(pool: PgPool) -> Self {
        let (tx, rx) = mpsc::channel(QUEUE_DEPTH);
        tokio::spawn(PgWriter { pool }.run(rx));
        Self { tx, checkpointer: std::sync::Mutex::new(None), gate: None, pending: None }
    }
}

/// One group: the jobs to write in one transaction.
struct Group {
    jobs: Vec<Job>,
    life: Vec<LifeJob>,
    /// Set when the group ends with a `Close`: the writer stops after it.
    close: Option<oneshot::Sender<()>>,
    /// SQLite: the checkpointer asked for a fold.
    fold: bool,
    /// SQLite: asked to recover pending rollups (handled before the group's transaction).
    recover: Vec<oneshot::Sender<Result<u64, String>>>,
    rows: usize,
}

impl Group {
    /// `first` and whatever else is already waiting, up to the row limit.
    fn gather(first: Message, rx: &mut mpsc::Receiver<Message>) -> Self {
        let mut group =
            Group { jobs: Vec::new(), life: Vec::new(), close: None, fold: false, recover: Vec::new(), rows: 0 };
        let mut next = Some(first);
        while let Some(message) = next.take() {
            match message {
                Message::Ingest(job) => {
                    group.rows += job.readings.len();
                    group.jobs.push(job);
                }
                Message::Life(job) => {
                    group.rows += job.rows.len();
                    group.life.push(job);
                }
                Message::Close(done) => {
                    group.close = Some(done);
                    break;
                }
                Message::Fold => group.fold = true,
                Message::Recover(reply) => group.recover.push(reply),
            }
            if group.rows < MAX_ROWS_PER_COMMIT {
                next = rx.try_recv().ok();
            }
        }
        group
    }

    /// Answers every caller with the transaction's result; the `Close` request, if any, is
    /// handed back to be answered once the writer has stopped.
    fn answer(self, written: Result<(Vec<Vec<IngestOutcome>>, Vec<LifeOutcome>)>) -> Option<oneshot::Sender<()>> {
        match written {
            Ok((outcomes, life)) => {
                for (job, outcome) in self.jobs.into_iter().zip(outcomes) {
                    let _ = job.reply.send(Ok(outcome));
                }
                for (job, outcome) in self.life.into_iter().zip(life) {
                    let _ = job.reply.send(Ok(outcome));
                }
            }
            Err(e) => {
                tracing::error!(error = %e, rows = self.rows, "ingest transaction failed; nothing of it was acknowledged");
                let message = e.to_string();
                for job in self.jobs {
                    let _ = job.reply.send(Err(message.clone()));
                }
                for job in self.life {
                    let _ = job.reply.send(Err(message.clone()));
                }
            }
        }
        self.close
    }
}

/// A reading's key: device, event time (epoch ms), sequence number ([`NO_SEQ`] for none).
type Key = (Uuid, i64, i64);

/// The stored sequence number of a reading sent without one.
const NO_SEQ: i64 = -1;

fn key(job: &Job, reading: &Reading) -> Key {
    (job.device_id.0, reading.ts_ms(), reading.seq.unwrap_or(NO_SEQ))
}

/// Every reading of the group as (key, job, index in the job), in key order; equal keys keep
/// their arrival order, so the first one sent is the one stored.
fn sorted_keys(jobs: &[Job]) -> Vec<(Key, usize, usize)> {
    let mut order: Vec<(Key, usize, usize)> = Vec::with_capacity(jobs.iter().map(|j| j.readings.len()).sum());
    for (j, job) in jobs.iter().enumerate() {
        for (r, reading) in job.readings.iter().enumerate() {
            order.push((key(job, reading), j, r));
        }
    }
    order.sort_unstable();
    order
}

/// What one transaction tells a device row: when it last heard, the newest event time, and the
/// newest battery level with its event time.
struct Touch {
    household_id: HouseholdId,
    received_at: i64,
    /// The oldest accepted event time: where the jobs' new work begins.
    oldest: Option<i64>,
    newest: Option<i64>,
    battery: Option<(i64, f64)>,
    /// SQLite: the event times of the readings whose summaries wait in memory (oldest, newest).
    pending: Option<(i64, i64)>,
}

/// Everything a transaction writes besides the readings, computed from the accepted ones.
#[derive(Default)]
struct Derived {
    /// Per (device, resolution, bucket start in epoch ms): upserted in this transaction.
    rollups: BTreeMap<PeriodKey, Period>,
    /// SQLite: the summaries of recent readings, folded later (`rollup_fold.rs`).
    deferred: BTreeMap<PeriodKey, Period>,
    /// SQLite: the transaction's time (epoch ms), which tells which readings' summaries wait.
    now: Option<i64>,
    touched: BTreeMap<Uuid, Touch>,
}

/// One period's summary of every metric: count, sum, minimum, maximum.
#[derive(Clone)]
pub(crate) struct Period {
    pub(crate) household_id: HouseholdId,
    pub(crate) metrics: [MetricSummary; METRIC_COUNT],
}

impl Period {
    fn empty(household_id: HouseholdId) -> Self {
        Period { household_id, metrics: [MetricSummary::default(); METRIC_COUNT] }
    }

    fn add(&mut self, values: &[Option<f64>; METRIC_COUNT]) {
        for (summary, value) in self.metrics.iter_mut().zip(values) {
            let Some(value) = *value else { continue };
            summary.merge(&MetricSummary { n: 1, sum: value, min: Some(value), max: Some(value) });
        }
    }

    /// Adds another summary of the same period.
    pub(crate) fn merge(&mut self, other: &Period) {
        for (summary, more) in self.metrics.iter_mut().zip(&other.metrics) {
            summary.merge(more);
        }
    }
}

#[derive(Clone, Copy, Default)]
pub(crate) struct MetricSummary {
    pub(crate) n: i64,
    pub(crate) sum: f64,
    pub(crate) min: Option<f64>,
    pub(crate) max: Option<f64>,
}

impl MetricSummary {
    fn merge(&mut self, other: &MetricSummary) {
        if other.n == 0 {
            return;
        }
        self.n += other.n;
        self.sum += other.sum;
        self.min = rollup_fold::bound(self.min, other.min, f64::min);
        self.max = rollup_fold::bound(self.max, other.max, f64::max);
    }
}

impl Derived {
    /// Every device of the group is touched (arrival time), accepted readings or not.
    /// `defer_at`: on SQLite, the transaction's time (see [`rollup_fold::may_wait`]).
    fn new(jobs: &[Job], defer_at: Option<i64>) -> Self {
        let mut derived = Derived { now: defer_at, ..Derived::default() };
        for job in jobs {
            let received_at = to_ms(job.received_at);
            let touch = derived.touched.entry(job.device_id.0).or_insert(Touch {
                household_id: job.household_id,
                received_at,
                oldest: None,
                newest: None,
                battery: None,
                pending: None,
            });
            touch.received_at = touch.received_at.max(received_at);
        }
        derived
    }

    fn accept(&mut self, job: &Job, reading: &Reading) {
        let ts = reading.ts_ms();
        if let Some(touch) = self.touched.get_mut(&job.device_id.0) {
            touch.newest = touch.newest.max(Some(ts));
            touch.oldest = Some(touch.oldest.map_or(ts, |o| o.min(ts)));
            if let Some(level) = reading.value(Metric::BatteryPct)
                && touch.battery.is_none_or(|(at, _)| ts > at)
            {
                touch.battery = Some((ts, level));
            }
        }
        if reading.values.iter().all(Option::is_none) {
            return;
        }
        let wait = self.now.is_some_and(|now| rollup_fold::may_wait(ts, now));
        if wait && let Some(touch) = self.touched.get_mut(&job.device_id.0) {
            touch.pending = Some(touch.pending.map_or((ts, ts), |(from, to)| (from.min(ts), to.max(ts))));
        }
        let periods = if wait { &mut self.deferred } else { &mut self.rollups };
        for resolution in ROLLUP_RESOLUTIONS {
            let bucket = rollup_fold::period_start(ts, resolution);
            periods
                .entry((job.device_id.0, resolution, bucket))
                .or_insert_with(|| Period::empty(job.household_id))
                .add(&reading.values);
        }
    }
}

/// The readings already stored at one device and event time, as the same-second rule compares
/// them: sequence number, every number the reading carries, and its extra numbers' JSON.
struct SameTime {
    seq: i64,
    numbers: Vec<Option<f64>>,
    extra: Option<String>,
}

/// The columns [`SameTime`] reads, in order.
static SAME_TIME_COLUMNS: LazyLock<String> = LazyLock::new(|| {
    let content: Vec<&str> = READING_COLUMNS.split(", ").skip(5).collect();
    format!("seq, {}", content.join(", "))
});

/// Every number of a reading in the column order of [`SAME_TIME_COLUMNS`] (without `extra`).
fn numbers(reading: &Reading) -> Vec<Option<f64>> {
    let location = reading.location;
    let mut out: Vec<Option<f64>> = reading.values.to_vec();
    out.extend([location.map(|l| l.lat), location.map(|l| l.lon), location.and_then(|l| l.accuracy_m)]);
    out
}

/// The same-second rule, for a reading without a sequence number whose (device, event time)
/// is taken: `None` when one stored there has the same content (a resend: a duplicate), else
/// the next free sequence number, under which it is stored as a reading of its own. Devices
/// whose clocks count whole seconds send several different readings a second.
fn next_free_seq(reading: &Reading, stored: &[SameTime]) -> Result<Option<i64>> {
    let (numbers, extra) = (numbers(reading), extra_json(reading)?);
    if stored.iter().any(|row| row.numbers == numbers && row.extra == extra) {
        return Ok(None);
    }
    Ok(Some(stored.iter().map(|row| row.seq + 1).max().unwrap_or(0).max(0)))
}

fn extra_json(reading: &Reading) -> Result<Option<String>> {
    if reading.extra.is_empty() {
        return Ok(None);
    }
    serde_json::to_string(&reading.extra).map(Some).map_err(|e| StoreError::Corrupt(format!("extra: {e}")))
}

/// The columns of a reading row, in the order both writers bind them.
const READING_COLUMNS: &str = "device_id, ts, seq, household_id, received_at, heart_rate, respiration_rate, \
     activity_level, activity_counts, steps, temperature_c, battery_pct, rssi, co_ppm, co_raw, humidity_pct, \
     ambient_temp_c, lat, lon, accuracy_m, extra";

/// `m_n, m_sum, m_min, m_max` for every metric, in `Metric::ALL` order.
fn rollup_metric_columns() -> Vec<String> {
    Metric::ALL
        .iter()
        .flat_map(|m| {
            let m = m.name();
            [format!("{m}_n"), format!("{m}_sum"), format!("{m}_min"), format!("{m}_max")]
        })
        .collect()
}

/// How an upsert merges a period's new summary into the stored one. `bound("min" | "max", a, b)`
/// writes the engine's two-argument minimum or maximum that keeps the other side when one is
/// NULL (a metric absent from one of the two summaries).
fn rollup_merge(bound: impl Fn(&str, &str, &str) -> String) -> String {
    Metric::ALL
        .iter()
        .map(|m| {
            let m = m.name();
            let (old_min, new_min) = (format!("rollups.{m}_min"), format!("excluded.{m}_min"));
            let (old_max, new_max) = (format!("rollups.{m}_max"), format!("excluded.{m}_max"));
            format!(
                "{m}_n = rollups.{m}_n + excluded.{m}_n, {m}_sum = rollups.{m}_sum + excluded.{m}_sum, \
                 {m}_min = {}, {m}_max = {}",
                bound("min", &old_min, &new_min),
                bound("max", &old_max, &new_max)
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The device row update: arrival time always; the newest event time and the newest battery
/// level only when these readings are newer than what the row already has; and, when readings
/// were accepted ($7 the oldest), the work they leave for the jobs (`work.rs`), in this same
/// transaction, so no committed reading goes unjudged or unanalysed whatever happens next.
/// A reading no newer than the row's newest (`latest_ts` before this update) is late:
/// `alarms_late_from` tells the alarm job that its kept runs may not have seen it, and
/// `alarms_late_version` (the new work version) lets a claim that saw it clear the note.
const TOUCH_SET: &str = "last_seen_at = $3, \
     latest_ts = CASE WHEN latest_ts IS NULL OR latest_ts < $4 THEN $4 ELSE latest_ts END, \
     battery_pct = CASE WHEN $5 IS NOT NULL AND (battery_ts IS NULL OR battery_ts <= $5) THEN $6 ELSE battery_pct END, \
     battery_ts = CASE WHEN $5 IS NOT NULL AND (battery_ts IS NULL OR battery_ts <= $5) THEN $5 ELSE battery_ts END, \
     work_version = CASE WHEN $7 IS NULL THEN work_version ELSE work_version + 1 END, \
     alarms_from = CASE WHEN $7 IS NOT NULL AND (alarms_from IS NULL OR alarms_from > $7) THEN $7 ELSE alarms_from END, \
     alarms_late_from = CASE WHEN $7 IS NOT NULL AND $7 <= latest_ts AND (alarms_late_from IS NULL OR alarms_late_from > $7) \
         THEN $7 ELSE alarms_late_from END, \
     alarms_late_version = CASE WHEN $7 IS NOT NULL AND $7 <= latest_ts THEN work_version + 1 ELSE alarms_late_version END, \
     analysis_from = CASE WHEN $7 IS NOT NULL AND (analysis_from IS NULL OR analysis_from > $7) THEN $7 ELSE analysis_from END, \
     analysis_to = CASE WHEN $4 IS NOT NULL AND (analysis_to IS NULL OR analysis_to < $4) THEN $4 ELSE analysis_to END";

// ---------------------------------------------------------------------------------------------
// SQLite

static SQLITE_INSERT_READING: LazyLock<String> = LazyLock::new(|| {
    let params = (1..=21).map(|i| format!("?{i}")).collect::<Vec<_>>().join(", ");
    format!("INSERT INTO readings ({READING_COLUMNS}) VALUES ({params}) ON CONFLICT DO NOTHING")
});

static SQLITE_UPSERT_ROLLUP: LazyLock<String> =
    LazyLock::new(|| sqlite_upsert_rollup(|params| format!("VALUES ({params})")));

/// The rollup upsert, its row given by `source(parameters)` (a `VALUES` or a `SELECT`).
fn sqlite_upsert_rollup(source: impl Fn(&str) -> String) -> String {
    let columns = rollup_metric_columns();
    let params = (1..=4 + columns.len()).map(|i| format!("?{i}")).collect::<Vec<_>>().join(", ");
    // SQLite's two-argument min() and max() are NULL when either side is; coalesce keeps the other.
    let merge = rollup_merge(|f, a, b| format!("coalesce({f}({a}, {b}), {a}, {b})"));
    format!(
        "INSERT INTO rollups (device_id, resolution, bucket, household_id, {}) {} \
         ON CONFLICT (device_id, resolution, bucket) DO UPDATE SET {merge}",
        columns.join(", "),
        source(&params)
    )
}

/// [`TOUCH_SET`], and the event-time range of the readings whose summaries wait in memory
/// (`?8..?9`, see `rollup_fold.rs`).
static SQLITE_TOUCH: LazyLock<String> = LazyLock::new(|| {
    format!(
        "UPDATE devices SET {}, \
         rollups_pending_from = CASE WHEN ?8 IS NOT NULL AND (rollups_pending_from IS NULL OR rollups_pending_from > ?8) \
             THEN ?8 ELSE rollups_pending_from END, \
         rollups_pending_to = CASE WHEN ?9 IS NOT NULL AND (rollups_pending_to IS NULL OR rollups_pending_to < ?9) \
             THEN ?9 ELSE rollups_pending_to END \
         WHERE household_id = ?1 AND id = ?2",
        TOUCH_SET.replace('$', "?")
    )
});

/// A fold's upsert: [`SQLITE_UPSERT_ROLLUP`] into a device that still exists (one deleted
/// since its readings arrived has had its rollups deleted with it).
static SQLITE_FOLD_ROLLUP: LazyLock<String> = LazyLock::new(|| {
    sqlite_upsert_rollup(|params| format!("SELECT {params} WHERE EXISTS (SELECT 1 FROM devices WHERE id = ?1)"))
});

const SQLITE_CLEAR_PENDING: &str =
    "UPDATE devices SET rollups_pending_from = NULL, rollups_pending_to = NULL WHERE id = ?1";

/// The periods of one device at one resolution starting in `[?3, ?4)`, from its stored
/// readings (`?1` the device, `?2` the resolution in seconds, `?5` its household).
static SQLITE_RECOMPUTE_ROLLUPS: LazyLock<String> = LazyLock::new(|| {
    let columns = rollup_metric_columns();
    let aggregates = Metric::ALL
        .iter()
        .map(|m| {
            let m = m.name();
            format!("count({m}), coalesce(sum({m}), 0), min({m}), max({m})")
        })
        .collect::<Vec<_>>()
        .join(", ");
    let any = Metric::ALL.iter().map(|m| format!("count({})", m.name())).collect::<Vec<_>>().join(" + ");
    format!(
        "INSERT INTO rollups (device_id, resolution, bucket, household_id, {}) \
         SELECT ?1, ?2, ts - (((ts % (?2 * 1000)) + ?2 * 1000) % (?2 * 1000)) AS period, ?5, {aggregates} \
         FROM readings WHERE device_id = ?1 AND ts >= ?3 AND ts < ?4 GROUP BY period HAVING {any} > 0",
        columns.join(", ")
    )
});

static SQLITE_SAME_TIME: LazyLock<String> =
    LazyLock::new(|| format!("SELECT {} FROM readings WHERE device_id = ?1 AND ts = ?2", *SAME_TIME_COLUMNS));

/// The readings stored at a key's device and event time.
fn sqlite_same_time(statement: &mut rusqlite::CachedStatement<'_>, key: Key) -> Result<Vec<SameTime>> {
    let width = METRIC_COUNT + 3;
    let rows = statement
        .query_map(rusqlite::params![&key.0.as_bytes()[..], key.1], |row| {
            let numbers = (0..width).map(|i| row.get::<_, Option<f64>>(1 + i)).collect::<rusqlite::Result<_>>()?;
            Ok(SameTime { seq: row.get(0)?, numbers, extra: row.get(1 + width)? })
        })
        .map_err(sqlite_error)?;
    rows.collect::<rusqlite::Result<Vec<_>>>().map_err(sqlite_error)
}

fn open_sqlite(path: &Path) -> rusqlite::Result<rusqlite::Connection> {
    let conn = rusqlite::Connection::open(path)?;
    conn.busy_timeout(Duration::from_secs(10))?;
    // The WAL is checkpointed by the checkpointer thread only; see `checkpointer`.
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA wal_autocheckpoint = 0; \
         PRAGMA temp_store = MEMORY; PRAGMA cache_size = -16384;",
    )?;
    Ok(conn)
}

struct SqliteWriter {
    conn: rusqlite::Connection,
    gate: WriteGate,
    pending: std::sync::Arc<Pending>,
}

impl SqliteWriter {
    fn open(path: &Path, gate: WriteGate, pending: std::sync::Arc<Pending>) -> Result<Self> {
        let conn = open_sqlite(path).map_err(sqlite_error)?;
        conn.set_prepared_statement_cache_capacity(24);
        Ok(Self { conn, gate, pending })
    }

    fn run(mut self, mut rx: mpsc::Receiver<Message>) {
        let mut last_group = 0;
        while let Some(first) = rx.blocking_recv() {
            // When the last transaction was shared, others are sending too: let their requests
            // arrive so that one commit serves them all (PostgreSQL's commit_delay, for the
            // same reason). A lone device is never held back.
            if last_group > 1 {
                std::thread::sleep(GROUP_LINGER);
            }
            let mut group = Group::gather(first, &mut rx);
            for reply in group.recover.drain(..) {
                let _ = reply.send(self.recover().map_err(|e| e.to_string()));
            }
            last_group = group.jobs.len() + group.life.len();
            // A fold rides on the group's transaction when one is due (everything, when the
            // writer is closing); with nothing else to write it is a transaction of its own.
            let fold = if group.close.is_some() {
                Some(usize::MAX)
            } else {
                (group.fold || self.pending.due()).then_some(rollup_fold::FOLD_SLICE)
            };
            let written = if last_group == 0 && fold.is_none() {
                Ok((Vec::new(), Vec::new()))
            } else {
                self.write(&group.jobs, &group.life, fold)
            };
            // The closing group's own summaries of devices that had none waiting are folded too.
            if group.close.is_some()
                && written.is_ok()
                && !self.pending.is_empty()
                && let Err(e) = self.write(&[], &[], fold)
            {
                tracing::warn!(error = %e, "could not fold the last rollups; the next start recomputes them");
            }
            let idle_fold = group.fold && last_group == 0;
            if let Some(close) = group.answer(written) {
                drop(self);
                let _ = close.send(());
                return;
            }
            // Asked by the checkpointer with nothing else to write: the rest of the round goes
            // slice after slice for as long as no caller is waiting, not one slice a tick.
            while idle_fold && rx.is_empty() && self.pending.due() {
                if let Err(e) = self.write(&[], &[], Some(rollup_fold::FOLD_SLICE)) {
                    tracing::warn!(error = %e, "could not fold rollups; trying again at the next transaction");
                    break;
                }
            }
        }
    }

    /// One transaction for the group. Its `BEGIN` and `COMMIT` are prepared once and kept, like
    /// every statement here: parsing them again for every group cost more than some inserts.
    ///
    /// The summaries of recent readings wait in memory (`rollup_fold.rs`); with `fold`, the
    /// waiting summaries of the next devices (about that many periods), the group's own for
    /// those devices included, go into the table in this transaction. The
    /// commit and what it does to the waiting summaries happen under `Pending::commit`, so a
    /// read of the rollups sees the group entirely or not at all.
    fn write(
        &mut self,
        jobs: &[Job],
        life: &[LifeJob],
        fold: Option<usize>,
    ) -> Result<(Vec<Vec<IngestOutcome>>, Vec<LifeOutcome>)> {
        let conn = &self.conn;
        let run = |sql: &str| conn.prepare_cached(sql).and_then(|mut s| s.raw_execute()).map_err(sqlite_error);
        let _gate = self.gate.blocking_lock();
        run("BEGIN IMMEDIATE")?;
        let now = to_ms(OffsetDateTime::now_utc());
        let written = write_group(conn, jobs, life, now).and_then(|(done, deferred)| {
            if let Some(most) = fold {
                let slice = self.pending.slice(&deferred, most);
                fold_periods(conn, &slice)?;
                let _view = self.pending.commit();
                run("COMMIT")?;
                self.pending.folded(&slice, deferred);
            } else {
                let _view = self.pending.commit();
                run("COMMIT")?;
                self.pending.add(deferred);
            }
            Ok(done)
        });
        if written.is_err() && !conn.is_autocommit() {
            // Nothing of the group is kept (and the connection is ready for the next one).
            let _ = run("ROLLBACK");
        }
        written
    }

    /// Recomputes, from the stored readings, every rollup period that devices' pending ranges
    /// touch (left by a process that stopped before it folded them), and clears the ranges;
    /// the number of devices. Whatever waits in this process's memory is covered by the ranges
    /// too, so it is dropped rather than folded a second time.
    fn recover(&mut self) -> Result<u64> {
        let conn = &self.conn;
        let run = |sql: &str| conn.prepare_cached(sql).and_then(|mut s| s.raw_execute()).map_err(sqlite_error);
        let _gate = self.gate.blocking_lock();
        run("BEGIN IMMEDIATE")?;
        let recovered = recompute_pending(conn).and_then(|devices| {
            let _view = self.pending.commit();
            run("COMMIT")?;
            self.pending.clear();
            Ok(devices)
        });
        if recovered.is_err() && !conn.is_autocommit() {
            let _ = run("ROLLBACK");
        }
        recovered
    }
}

/// Upserts a slice's periods into the table, each into a device that still exists, and clears
/// its devices' pending ranges.
fn fold_periods(tx: &rusqlite::Connection, slice: &rollup_fold::Slice) -> Result<()> {
    let mut upsert = tx.prepare_cached(&SQLITE_FOLD_ROLLUP).map_err(sqlite_error)?;
    for (key, period) in &slice.periods {
        bind_period(&mut upsert, key, period)?;
        upsert.raw_execute().map_err(sqlite_error)?;
    }
    let mut clear = tx.prepare_cached(SQLITE_CLEAR_PENDING).map_err(sqlite_error)?;
    for device in &slice.devices {
        clear.raw_bind_parameter(1, &device.as_bytes()[..]).map_err(sqlite_error)?;
        clear.raw_execute().map_err(sqlite_error)?;
    }
    Ok(())
}

fn bind_period(upsert: &mut rusqlite::CachedStatement<'_>, key: &PeriodKey, period: &Period) -> Result<()> {
    let (device_id, resolution, bucket) = key;
    upsert.raw_bind_parameter(1, &device_id.as_bytes()[..]).map_err(sqlite_error)?;
    upsert.raw_bind_parameter(2, resolution).map_err(sqlite_error)?;
    upsert.raw_bind_parameter(3, bucket).map_err(sqlite_error)?;
    upsert.raw_bind_parameter(4, &period.household_id.0.as_bytes()[..]).map_err(sqlite_error)?;
    for (i, summary) in period.metrics.iter().enumerate() {
        let at = 5 + 4 * i;
        upsert.raw_bind_parameter(at, summary.n).map_err(sqlite_error)?;
        upsert.raw_bind_parameter(at + 1, summary.sum).map_err(sqlite_error)?;
        upsert.raw_bind_parameter(at + 2, summary.min).map_err(sqlite_error)?;
        upsert.raw_bind_parameter(at + 3, summary.max).map_err(sqlite_error)?;
    }
    Ok(())
}

/// See [`SqliteWriter::recover`].
fn recompute_pending(tx: &rusqlite::Connection) -> Result<u64> {
    let pending: Vec<(Vec<u8>, Vec<u8>, i64, i64)> = {
        let mut select = tx
            .prepare_cached(
                "SELECT id, household_id, rollups_pending_from, coalesce(rollups_pending_to, rollups_pending_from)                  FROM devices WHERE rollups_pending_from IS NOT NULL",
            )
            .map_err(sqlite_error)?;
        let rows = select.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))).map_err(sqlite_error)?;
        rows.collect::<rusqlite::Result<_>>().map_err(sqlite_error)?
    };
    let mut delete = tx
        .prepare_cached("DELETE FROM rollups WHERE device_id = ?1 AND resolution = ?2 AND bucket >= ?3 AND bucket < ?4")
        .map_err(sqlite_error)?;
    let mut recompute = tx.prepare_cached(&SQLITE_RECOMPUTE_ROLLUPS).map_err(sqlite_error)?;
    for (device, household, from, to) in &pending {
        for resolution in ROLLUP_RESOLUTIONS {
            let (lo, hi) = rollup_fold::periods_of(*from, (*to).max(*from), resolution);
            delete.execute(rusqlite::params![device, resolution, lo, hi]).map_err(sqlite_error)?;
            recompute.execute(rusqlite::params![device, resolution, lo, hi, household]).map_err(sqlite_error)?;
        }
        tracing::info!(from, to, "rollups recomputed from the stored readings after an unclean stop");
    }
    tx.prepare_cached("UPDATE devices SET rollups_pending_from = NULL, rollups_pending_to = NULL WHERE rollups_pending_from IS NOT NULL")
        .and_then(|mut s| s.raw_execute())
        .map_err(sqlite_error)?;
    Ok(pending.len() as u64)
}

/// What a group's transaction answers: each job's outcomes, each life job's.
type Written = (Vec<Vec<IngestOutcome>>, Vec<LifeOutcome>);

/// Everything of a group, inside its transaction at `now` (epoch ms); also the summaries of its
/// recent readings, which wait in memory (`rollup_fold.rs`) unless the caller folds them now.
fn write_group(
    tx: &rusqlite::Connection,
    jobs: &[Job],
    life: &[LifeJob],
    now: i64,
) -> Result<(Written, BTreeMap<PeriodKey, Period>)> {
    let mut outcomes: Vec<Vec<IngestOutcome>> =
        jobs.iter().map(|job| vec![IngestOutcome::Duplicate; job.readings.len()]).collect();
    // Rows go in in key order: neighbours in the index are written together.
    let order = sorted_keys(jobs);
    let mut derived = Derived::new(jobs, Some(now));
    {
        let mut insert = tx.prepare_cached(&SQLITE_INSERT_READING).map_err(sqlite_error)?;
        let mut same_time = tx.prepare_cached(&SQLITE_SAME_TIME).map_err(sqlite_error)?;
        let mut previous: Option<Key> = None;
        for (key, j, r) in order {
            // The same key twice in one group: the first one is stored, the rest are
            // duplicates (readings without a sequence number are compared below).
            if previous == Some(key) && key.2 != NO_SEQ {
                continue;
            }
            previous = Some(key);
            let (job, reading) = (&jobs[j], &jobs[j].readings[r]);
            bind_reading(&mut insert, job, reading)?;
            let mut stored = insert.raw_execute().map_err(sqlite_error)? == 1;
            if !stored && key.2 == NO_SEQ {
                let rows = sqlite_same_time(&mut same_time, key)?;
                if let Some(seq) = next_free_seq(reading, &rows)? {
                    bind_reading(&mut insert, job, reading)?;
                    insert.raw_bind_parameter(3, seq).map_err(sqlite_error)?;
                    stored = insert.raw_execute().map_err(sqlite_error)? == 1;
                }
            }
            if stored {
                outcomes[j][r] = IngestOutcome::Accepted;
                derived.accept(job, reading);
            }
        }
        if !derived.rollups.is_empty() {
            let mut upsert = tx.prepare_cached(&SQLITE_UPSERT_ROLLUP).map_err(sqlite_error)?;
            for (key, period) in &derived.rollups {
                bind_period(&mut upsert, key, period)?;
                upsert.raw_execute().map_err(sqlite_error)?;
            }
        }
        let mut touch = tx.prepare_cached(&SQLITE_TOUCH).map_err(sqlite_error)?;
        for (device_id, t) in &derived.touched {
            touch.raw_bind_parameter(1, &t.household_id.0.as_bytes()[..]).map_err(sqlite_error)?;
            touch.raw_bind_parameter(2, &device_id.as_bytes()[..]).map_err(sqlite_error)?;
            touch.raw_bind_parameter(3, t.received_at).map_err(sqlite_error)?;
            touch.raw_bind_parameter(4, t.newest).map_err(sqlite_error)?;
            touch.raw_bind_parameter(5, t.battery.map(|(ts, _)| ts)).map_err(sqlite_error)?;
            touch.raw_bind_parameter(6, t.battery.map(|(_, level)| level)).map_err(sqlite_error)?;
            touch.raw_bind_parameter(7, t.oldest).map_err(sqlite_error)?;
            touch.raw_bind_parameter(8, t.pending.map(|(from, _)| from)).map_err(sqlite_error)?;
            touch.raw_bind_parameter(9, t.pending.map(|(_, to)| to)).map_err(sqlite_error)?;
            touch.raw_execute().map_err(sqlite_error)?;
        }
    }
    let mut life_outcomes = Vec::with_capacity(life.len());
    for job in life {
        life_outcomes.push(write_life(tx, job)?);
    }
    note_life_reports(tx, life, &mut life_outcomes)?;
    Ok(((outcomes, life_outcomes), derived.deferred))
}

/// One [`LifeJob`]: every row, or (a pet not of its household) none. A job of several rows
/// runs under a savepoint of its own, so that a refused row takes its neighbours back with it; a
/// single row needs none (a refused insert writes nothing). Its reports are counted after.
fn write_life(tx: &rusqlite::Connection, job: &LifeJob) -> Result<LifeOutcome> {
    let run = |sql: &str| tx.prepare_cached(sql).and_then(|mut s| s.raw_execute()).map_err(sqlite_error);
    let several = job.rows.len() > 1;
    if several {
        run("SAVEPOINT life_job")?;
    }
    let inserted = insert_life_rows(tx, job);
    if several {
        if !matches!(inserted, Ok(true)) {
            run("ROLLBACK TO life_job")?;
        }
        run("RELEASE life_job")?;
    }
    Ok(if inserted? { LifeOutcome::Kept { training_due: false } } else { LifeOutcome::NoSuchPet })
}

/// Counts the reports of the group's kept jobs for training, once per person (a flood of
/// check-ins from one person is one counter update a commit, not one per request). Only the
/// write that asks for a retrain wakes the job; a standing request is in its next pass.
fn note_life_reports(tx: &rusqlite::Connection, life: &[LifeJob], outcomes: &mut [LifeOutcome]) -> Result<()> {
    // person → (reports, the latest job time, the jobs that carried them)
    let mut people: std::collections::BTreeMap<Uuid, (i64, i64, i64, Vec<usize>)> = Default::default();
    for (i, job) in life.iter().enumerate() {
        if !matches!(outcomes[i], LifeOutcome::Kept { .. }) {
            continue;
        }
        for (user, n) in &job.reports {
            let entry = people.entry(*user).or_insert((0, job.at, job.retrain_after, Vec::new()));
            entry.0 += n;
            entry.1 = entry.1.max(job.at);
            entry.3.push(i);
        }
    }
    if people.is_empty() {
        return Ok(());
    }
    let mut note = tx.prepare_cached(crate::life_models::NOTE_REPORTS).map_err(sqlite_error)?;
    for (user, (n, at, retrain_after, carried)) in people {
        let asked: Option<i64> = note
            .query_row(rusqlite::params![&user.as_bytes()[..], n, retrain_after, at], |row| row.get(0))
            .map_err(sqlite_error)?;
        if asked == Some(at) {
            for i in carried {
                outcomes[i] = LifeOutcome::Kept { training_due: true };
            }
        }
    }
    Ok(())
}

/// Inserts a job's rows; answers false as soon as one is refused (its pet is not the household's).
fn insert_life_rows(tx: &rusqlite::Connection, job: &LifeJob) -> Result<bool> {
    let go = |e| sqlite_error(e);
    let mut insert = tx.prepare_cached(crate::lifelog::INSERT_LIFE_EVENT).map_err(go)?;
    let bytes = |u: &Option<Uuid>| u.map(|u| u.as_bytes().to_vec());
    for row in &job.rows {
        insert.raw_bind_parameter(1, &row.id.as_bytes()[..]).map_err(go)?;
        insert.raw_bind_parameter(2, bytes(&row.user)).map_err(go)?;
        insert.raw_bind_parameter(3, bytes(&row.household)).map_err(go)?;
        insert.raw_bind_parameter(4, bytes(&row.pet)).map_err(go)?;
        insert.raw_bind_parameter(5, &row.event_type).map_err(go)?;
        insert.raw_bind_parameter(6, &row.title).map_err(go)?;
        insert.raw_bind_parameter(7, row.event_time).map_err(go)?;
        insert.raw_bind_parameter(8, &row.event_category).map_err(go)?;
        insert.raw_bind_parameter(9, &row.description).map_err(go)?;
        insert.raw_bind_parameter(10, &row.event_data).map_err(go)?;
        insert.raw_bind_parameter(11, &row.context).map_err(go)?;
        insert.raw_bind_parameter(12, row.duration_minutes).map_err(go)?;
        insert.raw_bind_parameter(13, &row.tags).map_err(go)?;
        insert.raw_bind_parameter(14, &row.source).map_err(go)?;
        insert.raw_bind_parameter(15, row.impact_score).map_err(go)?;
        insert.raw_bind_parameter(16, row.energy_impact).map_err(go)?;
        insert.raw_bind_parameter(17, row.mood_impact).map_err(go)?;
        insert.raw_bind_parameter(18, bytes(&row.created_by)).map_err(go)?;
        insert.raw_bind_parameter(19, job.at).map_err(go)?;
        if insert.raw_execute().map_err(go)? != 1 {
            return Ok(false);
        }
    }
    Ok(true)
}

fn bind_reading(statement: &mut rusqlite::CachedStatement<'_>, job: &Job, reading: &Reading) -> Result<()> {
    let s = statement;
    let location = reading.location;
    let go = |e| sqlite_error(e);
    s.raw_bind_parameter(1, &job.device_id.0.as_bytes()[..]).map_err(go)?;
    s.raw_bind_parameter(2, reading.ts_ms()).map_err(go)?;
    s.raw_bind_parameter(3, reading.seq.unwrap_or(-1)).map_err(go)?;
    s.raw_bind_parameter(4, &job.household_id.0.as_bytes()[..]).map_err(go)?;
    s.raw_bind_parameter(5, to_ms(job.received_at)).map_err(go)?;
    for (i, value) in reading.values.iter().enumerate() {
        s.raw_bind_parameter(6 + i, value).map_err(go)?;
    }
    s.raw_bind_parameter(18, location.map(|l| l.lat)).map_err(go)?;
    s.raw_bind_parameter(19, location.map(|l| l.lon)).map_err(go)?;
    s.raw_bind_parameter(20, location.and_then(|l| l.accuracy_m)).map_err(go)?;
    s.raw_bind_parameter(21, extra_json(reading)?).map_err(go)?;
    Ok(())
}

fn sqlite_error(e: rusqlite::Error) -> StoreError {
    StoreError::Unavailable(format!("SQLite: {e}"))
}

/// Copies committed pages from the WAL back into the database file, on its own thread and
/// connection, so that no commit waits for it. A passive checkpoint never blocks the writer;
/// once everything is copied the next commit starts the WAL over from its beginning, and
/// `journal_size_limit` trims the file.
///
/// Under a steady stream of commits the writer may never find everything copied, and the WAL
/// would grow without end. Past [`WAL_RESTART_PAGES`] the checkpointer therefore asks for a
/// restart: it takes its turn at the writers' gate, copies what is left (little, after the
/// passive pass), waits for the readers still on the old WAL and starts the WAL over. Writers
/// wait for that moment only, so the checkpointer retries every 100 µs
/// ([`checkpoint_retry`]) rather than with SQLite's own busy waits (1, 2, 5, 10, … ms), which
/// with reads always in flight held ingest back for hundreds of milliseconds.
/// Stops when its store's queue is dropped.
///
/// Each tick it also asks the writer to fold the rollup summaries waiting in memory once they
/// are due and no transaction has come to fold them (`rollup_fold.rs`).
fn checkpointer(
    path: &Path,
    gate: &tokio::sync::Mutex<()>,
    fold: &(std::sync::Arc<Pending>, mpsc::WeakSender<Message>),
    stop: std::sync::mpsc::Receiver<()>,
) {
    let conn = match open_sqlite(path)
        .and_then(|c| c.pragma_update(None, "journal_size_limit", 64 * 1024 * 1024).map(|_| c))
        .and_then(|c| c.busy_handler(Some(checkpoint_retry)).map(|_| c))
    {
        Ok(conn) => conn,
        Err(e) => {
            tracing::error!(error = %e, "the WAL checkpointer cannot open the database; the WAL will grow until restart");
            return;
        }
    };
    let checkpoint = |mode: &str| {
        conn.query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |row| {
            Ok((row.get::<_, i64>(0)?, row.get::<_, i64>(1)?, row.get::<_, i64>(2)?))
        })
    };
    while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) = stop.recv_timeout(CHECKPOINT_EVERY) {
        if fold.0.due()
            && let Some(writer) = fold.1.upgrade()
        {
            // A full queue means transactions are coming, and they fold.
            let _ = writer.try_send(Message::Fold);
        }
        match checkpoint("PASSIVE") {
            Ok((_, log, _)) if log >= WAL_RESTART_PAGES => {
                let started = std::time::Instant::now();
                let restarted = {
                    // A restart holds writers back: it waits its turn at the gate like one.
                    let _gate = gate.blocking_lock();
                    checkpoint("RESTART")
                };
                let micros = started.elapsed().as_micros();
                match restarted {
                    Ok((busy, log, copied)) => {
                        tracing::debug!(busy, wal_pages = log, copied, micros, "WAL restart checkpoint")
                    }
                    Err(e) => tracing::warn!(error = %e, "WAL restart checkpoint failed; trying again shortly"),
                }
            }
            Ok((_, log, copied)) => tracing::trace!(wal_pages = log, copied, "checkpoint"),
            Err(e) => tracing::warn!(error = %e, "WAL checkpoint failed; trying again shortly"),
        }
    }
}

/// The checkpointer's busy handler: SQLite calls it with the number of earlier calls for the
/// same wait; it sleeps 100 µs and asks for another try, for at most 10 s in all (as long as
/// the other connections' busy timeout).
fn checkpoint_retry(calls: i32) -> bool {
    if calls >= 100_000 {
        return false;
    }
    std::thread::sleep(Duration::from_micros(100));
    true
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL

static PG_INSERT_READINGS: LazyLock<String> = LazyLock::new(|| {
    let types = ["uuid", "int8", "int8", "uuid", "int8"]
        .into_iter()
        .chain(std::iter::repeat_n("float8", METRIC_COUNT + 3))
        .chain(["text"])
        .enumerate()
        .map(|(i, t)| format!("${}::{t}[]", i + 1))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "INSERT INTO readings ({READING_COLUMNS}) SELECT * FROM UNNEST({types}) \
         ON CONFLICT DO NOTHING RETURNING device_id, ts, seq"
    )
});

static PG_UPSERT_ROLLUPS: LazyLock<String> = LazyLock::new(|| {
    let columns = rollup_metric_columns();
    let types = ["uuid", "int8", "int8", "uuid"]
        .into_iter()
        .chain(Metric::ALL.iter().flat_map(|_| ["int8", "float8", "float8", "float8"]))
        .enumerate()
        .map(|(i, t)| format!("${}::{t}[]", i + 1))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "INSERT INTO rollups (device_id, resolution, bucket, household_id, {}) SELECT * FROM UNNEST({types}) \
         ON CONFLICT (device_id, resolution, bucket) DO UPDATE SET {}",
        columns.join(", "),
        rollup_merge(|f, a, b| format!("{}({a}, {b})", if f == "min" { "LEAST" } else { "GREATEST" }))
    )
});

/// [`TOUCH_SET`] for many devices at once, from the unnested rows `t`. The rows are locked in
/// id order first (`locked`, joined through a one-row count that cannot be produced before it
/// has locked them all): an `UPDATE ... FROM` takes its locks in whatever order its plan visits
/// the rows, so two transactions touching the same devices (two nodes' groups, or a group and a
/// job's finish, which lock the same way: `Store::lock_in_id_order`) could each wait for the other.
const PG_TOUCH: &str = "WITH locked AS (SELECT id FROM devices WHERE id = ANY($2::uuid[]) ORDER BY id FOR NO KEY UPDATE) \
     UPDATE devices d SET last_seen_at = t.received_at, \
     latest_ts = CASE WHEN d.latest_ts IS NULL OR d.latest_ts < t.newest THEN t.newest ELSE d.latest_ts END, \
     battery_pct = CASE WHEN t.battery_ts IS NOT NULL AND (d.battery_ts IS NULL OR d.battery_ts <= t.battery_ts) \
         THEN t.battery_pct ELSE d.battery_pct END, \
     battery_ts = CASE WHEN t.battery_ts IS NOT NULL AND (d.battery_ts IS NULL OR d.battery_ts <= t.battery_ts) \
         THEN t.battery_ts ELSE d.battery_ts END, \
     work_version = CASE WHEN t.oldest IS NULL THEN d.work_version ELSE d.work_version + 1 END, \
     alarms_from = CASE WHEN t.oldest IS NOT NULL AND (d.alarms_from IS NULL OR d.alarms_from > t.oldest) \
         THEN t.oldest ELSE d.alarms_from END, \
     alarms_late_from = CASE WHEN t.oldest IS NOT NULL AND t.oldest <= d.latest_ts \
         AND (d.alarms_late_from IS NULL OR d.alarms_late_from > t.oldest) THEN t.oldest ELSE d.alarms_late_from END, \
     alarms_late_version = CASE WHEN t.oldest IS NOT NULL AND t.oldest <= d.latest_ts \
         THEN d.work_version + 1 ELSE d.alarms_late_version END, \
     analysis_from = CASE WHEN t.oldest IS NOT NULL AND (d.analysis_from IS NULL OR d.analysis_from > t.oldest) \
         THEN t.oldest ELSE d.analysis_from END, \
     analysis_to = CASE WHEN t.newest IS NOT NULL AND (d.analysis_to IS NULL OR d.analysis_to < t.newest) \
         THEN t.newest ELSE d.analysis_to END \
     FROM UNNEST($1::uuid[], $2::uuid[], $3::int8[], $4::int8[], $5::int8[], $6::float8[], $7::int8[]) \
     AS t(household_id, id, received_at, newest, battery_ts, battery_pct, oldest), \
     (SELECT count(*) FROM locked) AS in_order \
     WHERE d.household_id = t.household_id AND d.id = t.id";

/// The same-second rule on PostgreSQL (the rare path, one reading at a time): stores a
/// reading without a sequence number under the next free one unless its content is already
/// there. Answers whether it was stored.
async fn pg_store_same_time(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    key: Key,
    job: &Job,
    reading: &Reading,
) -> Result<bool> {
    let sql = format!("SELECT {} FROM readings WHERE device_id = $1 AND ts = $2", *SAME_TIME_COLUMNS);
    let rows: Vec<sqlx::postgres::PgRow> =
        sqlx::query(AssertSqlSafe(sql)).bind(key.0).bind(key.1).fetch_all(&mut **tx).await?;
    let width = METRIC_COUNT + 3;
    let mut stored = Vec::with_capacity(rows.len());
    for row in rows {
        use sqlx::Row;
        let numbers = (0..width).map(|i| row.try_get::<Option<f64>, _>(1 + i)).collect::<Result<_, _>>()?;
        stored.push(SameTime { seq: row.try_get(0)?, numbers, extra: row.try_get(1 + width)? });
    }
    let Some(seq) = next_free_seq(reading, &stored)? else { return Ok(false) };
    let params = (1..=21).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ");
    let sql = format!("INSERT INTO readings ({READING_COLUMNS}) VALUES ({params}) ON CONFLICT DO NOTHING");
    let mut insert = sqlx::query(AssertSqlSafe(sql))
        .bind(key.0)
        .bind(key.1)
        .bind(seq)
        .bind(job.household_id.0)
        .bind(to_ms(job.received_at));
    for value in numbers(reading) {
        insert = insert.bind(value);
    }
    let done = insert.bind(extra_json(reading)?).execute(&mut **tx).await?;
    Ok(done.rows_affected() == 1)
}

#[derive(Clone)]
struct PgWriter {
    pool: PgPool,
}

impl PgWriter {
    /// Up to [`PG_GROUPS_IN_FLIGHT`] transactions at once: a commit waits for a round trip and
    /// an fsync, and the next group is written meanwhile. Two groups may hold the same device;
    /// PostgreSQL orders them (the second waits on the first's rows, and a key both insert is
    /// the second's duplicate). Rollup rows are written and device rows locked in key order, so
    /// groups (of this node or another) cannot deadlock. A close waits for every transaction before it.
    async fn run(self, mut rx: mpsc::Receiver<Message>) {
        let mut in_flight = tokio::task::JoinSet::new();
        while let Some(first) = rx.recv().await {
            while in_flight.len() >= PG_GROUPS_IN_FLIGHT {
                let _ = in_flight.join_next().await;
            }
            let mut group = Group::gather(first, &mut rx);
            let close = group.close.take();
            // Rollups are upserted in each transaction on PostgreSQL: nothing waits to recover.
            for reply in group.recover.drain(..) {
                let _ = reply.send(Ok(0));
            }
            // Life events are written through the pool on PostgreSQL, never sent here.
            for job in group.life.drain(..) {
                let _ = job.reply.send(Err("life events are not written by the PostgreSQL ingest writer".to_owned()));
            }
            if !group.jobs.is_empty() {
                let writer = self.clone();
                in_flight.spawn(async move {
                    let written = writer.write(&group.jobs).await.map(|outcomes| (outcomes, Vec::new()));
                    group.answer(written);
                });
            }
            if let Some(close) = close {
                while in_flight.join_next().await.is_some() {}
                let _ = close.send(());
                return;
            }
        }
        while in_flight.join_next().await.is_some() {}
    }

    async fn write(&self, jobs: &[Job]) -> Result<Vec<Vec<IngestOutcome>>> {
        let mut outcomes: Vec<Vec<IngestOutcome>> =
            jobs.iter().map(|job| vec![IngestOutcome::Duplicate; job.readings.len()]).collect();
        // Column arrays for UNNEST, in key order (so that concurrent transactions take row
        // locks in the same order); a key seen earlier in the group is left out (a duplicate).
        let mut order = sorted_keys(jobs);
        // Readings without a sequence number whose key is taken, in the group or in the table,
        // go through the same-second rule after the set-based insert.
        let mut taken: Vec<(Key, usize, usize)> = Vec::new();
        order.dedup_by(|later, earlier| {
            let same = later.0 == earlier.0;
            if same && later.0.2 == NO_SEQ {
                taken.push(*later);
            }
            same
        });
        let rows = order.len();
        let mut sent: Vec<(usize, usize)> = Vec::with_capacity(rows);
        let mut device_ids = Vec::with_capacity(rows);
        let mut ts = Vec::with_capacity(rows);
        let mut seqs = Vec::with_capacity(rows);
        let mut household_ids = Vec::with_capacity(rows);
        let mut received = Vec::with_capacity(rows);
        let mut values: Vec<Vec<Option<f64>>> = (0..METRIC_COUNT + 3).map(|_| Vec::with_capacity(rows)).collect();
        let mut extras: Vec<Option<String>> = Vec::with_capacity(rows);
        for (k, j, r) in order {
            let (job, reading) = (&jobs[j], &jobs[j].readings[r]);
            sent.push((j, r));
            device_ids.push(k.0);
            ts.push(k.1);
            seqs.push(k.2);
            household_ids.push(job.household_id.0);
            received.push(to_ms(job.received_at));
            for (column, value) in values.iter_mut().zip(reading.values) {
                column.push(value);
            }
            let location = reading.location;
            values[METRIC_COUNT].push(location.map(|l| l.lat));
            values[METRIC_COUNT + 1].push(location.map(|l| l.lon));
            values[METRIC_COUNT + 2].push(location.and_then(|l| l.accuracy_m));
            extras.push(extra_json(reading)?);
        }
        let mut tx = self.pool.begin().await?;
        let mut insert = sqlx::query_as::<_, (Uuid, i64, i64)>(AssertSqlSafe(PG_INSERT_READINGS.as_str()))
            .bind(device_ids)
            .bind(ts)
            .bind(seqs)
            .bind(household_ids)
            .bind(received);
        for column in values {
            insert = insert.bind(column);
        }
        let inserted: HashSet<Key> = insert.bind(extras).fetch_all(&mut *tx).await?.into_iter().collect();
        let mut derived = Derived::new(jobs, None);
        for (j, r) in sent {
            let (job, reading) = (&jobs[j], &jobs[j].readings[r]);
            let key = key(job, reading);
            if inserted.contains(&key) {
                outcomes[j][r] = IngestOutcome::Accepted;
                derived.accept(job, reading);
            } else if key.2 == NO_SEQ {
                taken.push((key, j, r));
            }
        }
        taken.sort_unstable();
        for (key, j, r) in taken {
            let (job, reading) = (&jobs[j], &jobs[j].readings[r]);
            if pg_store_same_time(&mut tx, key, job, reading).await? {
                outcomes[j][r] = IngestOutcome::Accepted;
                derived.accept(job, reading);
            }
        }
        if !derived.rollups.is_empty() {
            let rows = derived.rollups.len();
            let (mut device_ids, mut resolutions, mut buckets, mut household_ids) = (
                Vec::with_capacity(rows),
                Vec::with_capacity(rows),
                Vec::with_capacity(rows),
                Vec::with_capacity(rows),
            );
            let mut counts: Vec<Vec<i64>> = (0..METRIC_COUNT).map(|_| Vec::with_capacity(rows)).collect();
            let mut sums: Vec<Vec<f64>> = (0..METRIC_COUNT).map(|_| Vec::with_capacity(rows)).collect();
            let mut mins: Vec<Vec<Option<f64>>> = (0..METRIC_COUNT).map(|_| Vec::with_capacity(rows)).collect();
            let mut maxes: Vec<Vec<Option<f64>>> = (0..METRIC_COUNT).map(|_| Vec::with_capacity(rows)).collect();
            for ((device_id, resolution, bucket), period) in &derived.rollups {
                device_ids.push(*device_id);
                resolutions.push(*resolution);
                buckets.push(*bucket);
                household_ids.push(period.household_id.0);
                for (i, summary) in period.metrics.iter().enumerate() {
                    counts[i].push(summary.n);
                    sums[i].push(summary.sum);
                    mins[i].push(summary.min);
                    maxes[i].push(summary.max);
                }
            }
            let mut upsert = sqlx::query(AssertSqlSafe(PG_UPSERT_ROLLUPS.as_str()))
                .bind(device_ids)
                .bind(resolutions)
                .bind(buckets)
                .bind(household_ids);
            for (((n, sum), min), max) in counts.into_iter().zip(sums).zip(mins).zip(maxes) {
                upsert = upsert.bind(n).bind(sum).bind(min).bind(max);
            }
            upsert.execute(&mut *tx).await?;
        }
        let touched = &derived.touched;
        sqlx::query(PG_TOUCH)
            .bind(touched.values().map(|t| t.household_id.0).collect::<Vec<_>>())
            .bind(touched.keys().copied().collect::<Vec<_>>())
            .bind(touched.values().map(|t| t.received_at).collect::<Vec<_>>())
            .bind(touched.values().map(|t| t.newest).collect::<Vec<_>>())
            .bind(touched.values().map(|t| t.battery.map(|(ts, _)| ts)).collect::<Vec<_>>())
            .bind(touched.values().map(|t| t.battery.map(|(_, level)| level)).collect::<Vec<_>>())
            .bind(touched.values().map(|t| t.oldest).collect::<Vec<_>>())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(outcomes)
    }
}
