//! The jobs' progress and leases, kept in the database so that it survives restarts and is
//! shared by every node (migration 0010).
//!
//! **Per-device work.** The ingest transaction notes on each device row what it left for the
//! jobs (`alarms_from`, `analysis_from..analysis_to`, and `work_version + 1`). A job claims
//! devices with work by setting a lease (expiry and token) in one `UPDATE ... WHERE id IN
//! (SELECT ...)` that re-checks the lease, so two nodes never hold the same device. When it has
//! done the work it clears the note, but only if `work_version` is still what it claimed: work
//! that arrived meanwhile stays noted (from the older of the two times) for the next pass.
//! The alarms' work also notes the oldest reading that arrived older than the device's newest
//! (`alarms_late_from`, with the work version that noted the last one, `alarms_late_version`):
//! the alarm job resumes its kept runs (`alarm_runs`) unless such a reading is older than what
//! they have seen. A finish clears that note once its claim saw every late reading noted, even
//! when in-order readings arrived meanwhile (those stay noted in `alarms_from` alone).
//! Doing the same work twice is harmless by design (the jobs are idempotent); missing work is
//! what this prevents.
//!
//! **Named jobs.** A job that is not per device (retention, liveness, the silence sweep) takes a
//! row of `job_leases` for its run, and only when its period has passed since its last run on
//! any node.

use petty_core::ids::{DeviceId, HouseholdId};
use uuid::Uuid;

use crate::devices::DeviceRow;
use crate::readings::ReadingsPage;
use crate::{Backend, Device, ReadingCursor, Result, Store, StoreError, StoredReading, on_pool};

/// Which job's per-device work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkKind {
    /// Judging the alarm rules over new readings.
    Alarms,
    /// Behaviour analysis and geofences over new readings.
    Analysis,
}

impl WorkKind {
    fn prefix(self) -> &'static str {
        match self {
            WorkKind::Alarms => "alarms",
            WorkKind::Analysis => "analysis",
        }
    }

    /// The column that ends the span of new event times (`latest_ts` for the alarms: they
    /// judge up to the newest reading).
    fn to_column(self) -> &'static str {
        match self {
            WorkKind::Alarms => "latest_ts",
            WorkKind::Analysis => "analysis_to",
        }
    }

    /// The column of late readings' oldest time (`NULL` for the analysis).
    fn late_column(self) -> &'static str {
        match self {
            WorkKind::Alarms => "alarms_late_from",
            WorkKind::Analysis => "CAST(NULL AS BIGINT)",
        }
    }
}

/// A device's work, claimed by one job run until `finish_work` or the lease's end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkClaim {
    pub household_id: HouseholdId,
    pub device_id: DeviceId,
    /// The oldest event time (ms) of the readings not yet worked on.
    pub from_ms: i64,
    /// The newest event time (ms) to work up to.
    pub to_ms: i64,
    /// The oldest of those readings that arrived older than the device's newest reading (the
    /// alarms' work only; `None`: every reading came in order).
    pub late_from: Option<i64>,
    version: i64,
    token: i64,
}

/// A claimed device as `claim_work` returns it: household, device, the work's start and end,
/// the work version and the late readings' oldest time.
#[derive(sqlx::FromRow)]
struct ClaimRow(Uuid, Uuid, i64, Option<i64>, i64, Option<i64>);

fn token() -> i64 {
    let bytes = Uuid::new_v4().into_bytes();
    i64::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7]])
}

/// What the alarm job reads to judge a claimed device ([`Store::alarm_inputs`]).
#[derive(Debug)]
pub struct AlarmInput {
    /// The device, or `None` if it has been deleted since it was claimed.
    pub device: Option<Device>,
    /// The rule runs kept for it: their watermark and stored form.
    pub runs: Option<(i64, Vec<u8>)>,
    /// When the runs can be resumed: the first page of readings after their watermark through
    /// the claim's end, and the cursor of the next page if there is one.
    pub after_runs: Option<(Vec<StoredReading>, Option<ReadingCursor>)>,
}

/// The kept rule runs of a device, read on an SQLite connection of the caller's.
fn alarm_runs_sqlite(conn: &rusqlite::Connection, device_id: DeviceId) -> rusqlite::Result<Option<(i64, Vec<u8>)>> {
    use rusqlite::OptionalExtension;
    conn.prepare_cached(ALARM_RUNS)?
        .query_row([&device_id.0.as_bytes()[..]], |row| Ok((row.get(0)?, row.get(1)?)))
        .optional()
}

const ALARM_RUNS: &str = "SELECT watermark_ms, runs FROM alarm_runs WHERE device_id = $1";

/// The span of readings after kept runs' watermark through the claim's end (the end exclusive,
/// in ms), when the runs can be resumed over them: no reading older than what they have seen
/// has arrived since (`WorkClaim::late_from`).
fn span_after(claim: &WorkClaim, watermark: Option<i64>) -> Option<(i64, i64)> {
    let watermark = watermark?;
    let from = watermark.checked_add(1)?;
    (claim.late_from.is_none_or(|late| late > watermark) && from <= claim.to_ms)
        .then(|| (from, claim.to_ms.saturating_add(1)))
}

/// [`Store::alarm_inputs`] on PostgreSQL: three statements for the whole batch (the device
/// rows, the kept runs, the pages of new readings), not three a device. They are not one
/// snapshot, as the reads they replace were not: a judgement reads what was committed when it
/// looked, and what arrives later stays noted for the next pass.
async fn alarm_inputs_pg(pool: &sqlx::PgPool, claims: &[WorkClaim], page: u32) -> Result<Vec<AlarmInput>> {
    use std::collections::HashMap;
    let ids: Vec<Uuid> = claims.iter().map(|claim| claim.device_id.0).collect();
    let mut devices: HashMap<(HouseholdId, DeviceId), DeviceRow> =
        DeviceRow::many_pg(pool, &ids).await?.into_iter().map(|row| (row.owner(), row)).collect();
    let found: Vec<Option<DeviceRow>> =
        claims.iter().map(|claim| devices.remove(&(claim.household_id, claim.device_id))).collect();
    let mine: Vec<Uuid> = claims.iter().zip(&found).filter(|(_, d)| d.is_some()).map(|(c, _)| c.device_id.0).collect();
    let mut runs: HashMap<Uuid, (i64, Vec<u8>)> = sqlx::query_as::<_, (Uuid, i64, Vec<u8>)>(ALARM_RUNS_BY_ID)
        .bind(&mine)
        .fetch_all(pool)
        .await?
        .into_iter()
        .map(|(device, watermark, stored)| (device, (watermark, stored)))
        .collect();
    let mut inputs = Vec::with_capacity(claims.len());
    let mut pages = Vec::new();
    for (claim, device) in claims.iter().zip(found) {
        let Some(device) = device else {
            inputs.push((AlarmInput { device: None, runs: None, after_runs: None }, None));
            continue;
        };
        let runs = runs.remove(&claim.device_id.0);
        let span = span_after(claim, runs.as_ref().map(|(watermark, _)| *watermark));
        let slot = span.map(|(from, to)| {
            pages.push(ReadingsPage::new(claim.household_id, claim.device_id, from, to, None, page));
            pages.len() - 1
        });
        inputs.push((AlarmInput { device: Some(device.into_device()?), runs, after_runs: None }, slot));
    }
    let mut rows = ReadingsPage::read_many_pg(pool, &pages).await?;
    inputs
        .into_iter()
        .map(|(mut input, slot)| {
            if let Some(i) = slot {
                input.after_runs = Some(pages[i].finish(std::mem::take(&mut rows[i]))?);
            }
            Ok(input)
        })
        .collect()
}

/// The kept runs of many devices (PostgreSQL), with their device ids.
const ALARM_RUNS_BY_ID: &str = "SELECT device_id, watermark_ms, runs FROM alarm_runs WHERE device_id = ANY($1)";

/// An alarm claim done, with the device's rule runs to keep (their watermark and stored form),
/// or `None` to forget them.
pub type AlarmWorkDone<'a> = (&'a WorkClaim, Option<(i64, &'a [u8])>);

impl Store {
    /// Claims up to `limit` devices with work of this kind whose lease is free at `now_ms`,
    /// oldest work first, for `lease_ms`.
    #[tracing::instrument(level = "debug", skip_all, fields(kind = kind.prefix()))]
    pub async fn claim_work(&self, kind: WorkKind, now_ms: i64, lease_ms: i64, limit: u32) -> Result<Vec<WorkClaim>> {
        let p = kind.prefix();
        let (to, late) = (kind.to_column(), kind.late_column());
        let free = format!("{p}_from IS NOT NULL AND ({p}_lease_until IS NULL OR {p}_lease_until < $1)");
        // On PostgreSQL a claim passes over devices whose rows another transaction holds (an
        // ingest group writing their work notes): it never waits, so it can never be half of a
        // deadlock, and those devices are claimed in a later pass. (SQLite has one writer.)
        let skip_locked = if self.backend_name() == "postgres" { " FOR NO KEY UPDATE SKIP LOCKED" } else { "" };
        let sql = format!(
            "UPDATE devices SET {p}_lease_until = $2, {p}_lease_token = $3 \
             WHERE id IN (SELECT id FROM devices WHERE {free} ORDER BY {p}_from LIMIT $4{skip_locked}) AND {free} \
             RETURNING household_id, id, {p}_from, {to}, work_version, {late}"
        );
        let token = token();
        let rows: Vec<ClaimRow> = on_pool!(write, self, |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(now_ms)
                .bind(now_ms.saturating_add(lease_ms))
                .bind(token)
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await?
        });
        Ok(rows
            .into_iter()
            .map(|ClaimRow(household_id, device_id, from_ms, to_ms, version, late_from)| WorkClaim {
                household_id: HouseholdId(household_id),
                device_id: DeviceId(device_id),
                from_ms,
                to_ms: to_ms.unwrap_or(from_ms).max(from_ms),
                late_from,
                version,
                token,
            })
            .collect())
    }

    /// Marks claims' work done and frees their leases, in one statement whatever their number.
    /// Work that arrived after a claim stays noted; a claim whose lease was lost (and taken by
    /// another run) changes nothing.
    #[tracing::instrument(level = "debug", skip_all, fields(kind = kind.prefix(), claims = claims.len()))]
    pub async fn finish_work(&self, kind: WorkKind, claims: &[WorkClaim]) -> Result<()> {
        if claims.is_empty() {
            return Ok(());
        }
        let sql = self.finish_sql(kind, claims.len());
        on_pool!(write, self, |pool| {
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for claim in claims {
                query = query.bind(claim.device_id.0).bind(claim.version).bind(claim.token);
            }
            query.execute(pool).await?;
        });
        Ok(())
    }

    /// The statement that finishes `n` claims of this kind, bound as (device, version, token)
    /// for each: it clears the work noted up to each claim's version, and the late readings'
    /// note once the claim saw the last of them.
    fn finish_sql(&self, kind: WorkKind, n: usize) -> String {
        let p = kind.prefix();
        let unless_newer = |column: &str| {
            format!("{column} = CASE WHEN devices.work_version = done.version THEN NULL ELSE devices.{column} END")
        };
        let clear = match kind {
            WorkKind::Alarms => format!(
                "{}, alarms_late_from = CASE WHEN devices.work_version = done.version \
                 OR devices.alarms_late_version <= done.version THEN NULL ELSE devices.alarms_late_from END",
                unless_newer("alarms_from")
            ),
            WorkKind::Analysis => format!("{}, {}", unless_newer("analysis_from"), unless_newer("analysis_to")),
        };
        let (locked, in_order) = self.lock_in_id_order("done");
        format!(
            "WITH done (id, version, token) AS (VALUES {}){locked} \
             UPDATE devices SET {p}_lease_until = NULL, {p}_lease_token = NULL, {clear} \
             FROM done{in_order} WHERE devices.id = done.id AND devices.{p}_lease_token = done.token",
            self.value_rows(n, &["::uuid", "::bigint", "::bigint"])
        )
    }

    /// On PostgreSQL, the parts of an `UPDATE devices ... FROM source` that lock the source's
    /// devices in id order before any is updated: a further `WITH` query, and a one-row join
    /// that cannot yield its row until that query has locked them all. An update takes its row
    /// locks in whatever order its plan visits the rows, and ingest's group commit locks in id
    /// order; a finish that locked two devices the other way round waited for a group that
    /// waited for it (`deadlock detected` under load from 100 collars). SQLite locks the whole
    /// database, so there it is nothing.
    pub(crate) fn lock_in_id_order(&self, source: &str) -> (String, &'static str) {
        if self.backend_name() != "postgres" {
            return (String::new(), "");
        }
        (
            format!(
                ", locked AS (SELECT id FROM devices WHERE id IN (SELECT id FROM {source}) ORDER BY id FOR NO KEY UPDATE)"
            ),
            ", (SELECT count(*) FROM locked) AS in_order",
        )
    }

    /// `n` rows of numbered parameters for a `VALUES` list, `types.len()` to a row; on
    /// PostgreSQL each parameter carries its row's cast (a `VALUES` list has no column types).
    fn value_rows(&self, n: usize, types: &[&str]) -> String {
        let postgres = self.backend_name() == "postgres";
        let per = types.len();
        (0..n)
            .map(|i| {
                let params: Vec<String> = types
                    .iter()
                    .enumerate()
                    .map(|(j, ty)| format!("${}{}", i * per + j + 1, if postgres { *ty } else { "" }))
                    .collect();
                format!("({})", params.join(", "))
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The alarm job's rule runs kept for a device (`petty_core::alarm::DeviceRuns`, stored
    /// form), with the newest reading's event time they have seen.
    pub async fn alarm_runs(&self, device_id: DeviceId) -> Result<Option<(i64, Vec<u8>)>> {
        if let Some(fast) = &self.fast {
            return fast.with(|conn| alarm_runs_sqlite(conn, device_id));
        }
        Ok(on_pool!(read, self, |pool| { sqlx::query_as(ALARM_RUNS).bind(device_id.0).fetch_optional(pool).await? }))
    }

    /// What the alarm job reads to judge each claimed device, in the claims' order: the device
    /// (`None` if it is gone), its kept rule runs, and, when no reading older than what those
    /// runs have seen has arrived since (`WorkClaim::late_from`), the first `page` readings
    /// after their watermark through the claim's end.
    ///
    /// On SQLite the whole batch is read in one read transaction on this thread. Each read
    /// transaction takes the WAL index's locks, and one that starts after the writer has
    /// committed (under ingest, nearly every one) starts with an empty page cache; three or
    /// four of them a device were most of a judgement's cost (`BENCHMARKS.md`, issue 18). On
    /// PostgreSQL it is three statements for the whole batch (`alarm_inputs_pg`).
    pub async fn alarm_inputs(&self, claims: &[WorkClaim], page: u32) -> Result<Vec<AlarmInput>> {
        let fast = match (&self.backend, &self.fast) {
            (Backend::Postgres(pool), _) => return alarm_inputs_pg(pool, claims, page).await,
            (Backend::Sqlite { .. }, Some(fast)) => fast,
            // Every SQLite store opens its fast-read connections (`Store::open_sqlite`).
            (Backend::Sqlite { .. }, None) => {
                return Err(StoreError::Unavailable("the SQLite store has no fast-read connections".to_owned()));
            }
        };
        let rows = fast.with(|conn| {
            let read = conn.unchecked_transaction()?;
            let mut out = Vec::with_capacity(claims.len());
            for claim in claims {
                use rusqlite::OptionalExtension;
                let Some(device) = DeviceRow::one_sqlite(&read, claim.household_id, claim.device_id).optional()? else {
                    out.push(None);
                    continue;
                };
                let runs = alarm_runs_sqlite(&read, claim.device_id)?;
                let readings = match span_after(claim, runs.as_ref().map(|(watermark, _)| *watermark)) {
                    Some((from, to)) => {
                        let p = ReadingsPage::new(claim.household_id, claim.device_id, from, to, None, page);
                        Some((p, p.read_sqlite(&read)?))
                    }
                    None => None,
                };
                out.push(Some((device, runs, readings)));
            }
            read.finish()?;
            Ok(out)
        })?;
        rows.into_iter()
            .map(|row| {
                let Some((device, runs, readings)) = row else {
                    return Ok(AlarmInput { device: None, runs: None, after_runs: None });
                };
                let after_runs = readings.map(|(p, rows)| p.finish(rows)).transpose()?;
                Ok(AlarmInput { device: Some(device.into_device()?), runs, after_runs })
            })
            .collect()
    }

    /// Finishes alarm claims (as [`Store::finish_work`]) and keeps each device's rule runs
    /// with them (`None` forgets them; runs from an older watermark never replace newer ones,
    /// so a pass that outlived its lease writes nothing over the pass that took over), in two statements
    /// whatever the number of devices: the alarm job's pass writes once a batch, not twice a
    /// device. The runs are written first: a crash between the two leaves the claim noted, and
    /// its next pass (older readings than the runs have seen) rebuilds them.
    pub async fn finish_alarm_work(&self, done: &[AlarmWorkDone<'_>]) -> Result<()> {
        if done.is_empty() {
            return Ok(());
        }
        let kept: Vec<(DeviceId, i64, &[u8])> =
            done.iter().filter_map(|(c, runs)| runs.map(|(w, r)| (c.device_id, w, r))).collect();
        let forgotten: Vec<DeviceId> =
            done.iter().filter(|(_, runs)| runs.is_none()).map(|(c, _)| c.device_id).collect();
        let upsert = format!(
            "INSERT INTO alarm_runs (device_id, watermark_ms, runs) VALUES {} \
             ON CONFLICT (device_id) DO UPDATE SET watermark_ms = excluded.watermark_ms, runs = excluded.runs \
             WHERE alarm_runs.watermark_ms <= excluded.watermark_ms",
            self.value_rows(kept.len(), &["", "", ""])
        );
        let forget = format!(
            "DELETE FROM alarm_runs WHERE device_id IN ({})",
            (1..=forgotten.len()).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
        );
        let finish = self.finish_sql(WorkKind::Alarms, done.len());
        on_pool!(write, self, |pool| {
            if !kept.is_empty() {
                let mut query = sqlx::query(sqlx::AssertSqlSafe(upsert));
                for (device, watermark, runs) in &kept {
                    query = query.bind(device.0).bind(*watermark).bind(*runs);
                }
                query.execute(pool).await?;
            }
            if !forgotten.is_empty() {
                let mut query = sqlx::query(sqlx::AssertSqlSafe(forget));
                for device in &forgotten {
                    query = query.bind(device.0);
                }
                query.execute(pool).await?;
            }
            let mut query = sqlx::query(sqlx::AssertSqlSafe(finish));
            for (claim, _) in done {
                query = query.bind(claim.device_id.0).bind(claim.version).bind(claim.token);
            }
            query.execute(pool).await?;
        });
        Ok(())
    }

    /// Gives claims back without doing them (the run failed, or the pass has had its share):
    /// the work stays noted and the next pass may take it at once.
    pub async fn release_work(&self, kind: WorkKind, claims: &[WorkClaim]) -> Result<()> {
        if claims.is_empty() {
            return Ok(());
        }
        let p = kind.prefix();
        let (locked, in_order) = self.lock_in_id_order("given");
        let sql = format!(
            "WITH given (id, token) AS (VALUES {}){locked} \
             UPDATE devices SET {p}_lease_until = NULL, {p}_lease_token = NULL \
             FROM given{in_order} WHERE devices.id = given.id AND devices.{p}_lease_token = given.token",
            self.value_rows(claims.len(), &["::uuid", "::bigint"])
        );
        on_pool!(write, self, |pool| {
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for claim in claims {
                query = query.bind(claim.device_id.0).bind(claim.token);
            }
            query.execute(pool).await?;
        });
        Ok(())
    }

    /// Notes analysis work for a device's readings from `from_ms` to `to_ms` (an owner's
    /// feedback changed how the pet's days are labelled).
    pub async fn note_analysis(
        &self,
        household_id: HouseholdId,
        device_id: DeviceId,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<()> {
        on_pool!(write, self, |pool| {
            sqlx::query(
                "UPDATE devices SET work_version = work_version + 1, \
                 analysis_from = CASE WHEN analysis_from IS NULL OR analysis_from > $3 THEN $3 ELSE analysis_from END, \
                 analysis_to = CASE WHEN analysis_to IS NULL OR analysis_to < $4 THEN $4 ELSE analysis_to END \
                 WHERE household_id = $1 AND id = $2",
            )
            .bind(household_id.0)
            .bind(device_id.0)
            .bind(from_ms)
            .bind(to_ms)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// How many devices have work of this kind waiting (claimed or not).
    pub async fn pending_work(&self, kind: WorkKind) -> Result<i64> {
        let sql = format!("SELECT COUNT(*) FROM devices WHERE {}_from IS NOT NULL", kind.prefix());
        let (n,): (i64,) =
            on_pool!(read, self, |pool| { sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_one(pool).await? });
        Ok(n)
    }

    /// Takes the named job's lease for `lease_ms` when no other holder has it and the job last
    /// ran at least `every_ms` ago (on any node). Answers whether this holder may run it now.
    #[tracing::instrument(level = "debug", skip_all, fields(job))]
    pub async fn claim_job(&self, job: &str, holder: &str, now_ms: i64, lease_ms: i64, every_ms: i64) -> Result<bool> {
        let until = now_ms.saturating_add(lease_ms);
        let due = now_ms.saturating_sub(every_ms);
        let claimed: Option<(String,)> = on_pool!(write, self, |pool| {
            sqlx::query_as(
                "INSERT INTO job_leases (job, holder, lease_until, last_run) VALUES ($1, $2, $3, NULL) \
                 ON CONFLICT (job) DO UPDATE SET holder = excluded.holder, lease_until = excluded.lease_until \
                 WHERE job_leases.lease_until < $4 AND (job_leases.last_run IS NULL OR job_leases.last_run <= $5) \
                 RETURNING job",
            )
            .bind(job)
            .bind(holder)
            .bind(until)
            .bind(now_ms)
            .bind(due)
            .fetch_optional(pool)
            .await?
        });
        Ok(claimed.is_some())
    }

    /// Notes that the named job ran at `now_ms` and frees its lease.
    pub async fn finish_job(&self, job: &str, holder: &str, now_ms: i64) -> Result<()> {
        on_pool!(write, self, |pool| {
            sqlx::query("UPDATE job_leases SET lease_until = 0, last_run = $3 WHERE job = $1 AND holder = $2")
                .bind(job)
                .bind(holder)
                .bind(now_ms)
                .execute(pool)
                .await?;
        });
        Ok(())
    }
}
