//! Care: a pet's health records, the household's reminders (with the reminder job's claims)
//! and its calendar feed; the time zones of households and people.

use petty_core::care::{Record, RecordContent, RecordKind, Vaccine};
use petty_core::ids::{HouseholdId, PetId, UserId};
use petty_core::paging::{Page, PageRequest};
use petty_core::pets::{format_date, parse_date};
use petty_core::recurrence::{LocalTime, Schedule, Zone};
use petty_core::reminders::{Method, Reminder, ReminderContent, Source, StatusFilter};
use sqlx::FromRow;
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use crate::{BeginWrite, Result, Store, StoreError, from_ms, from_ms_opt, on_pool, to_ms};

/// Narrows a pet's records.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct RecordFilter {
    pub kind: Option<RecordKind>,
    /// Any of these kinds as well (the Pet Management profile's `other` is several of Petty's).
    pub also_kinds: Vec<RecordKind>,
    /// Dated on or after this day.
    pub from: Option<Date>,
    /// Dated on or before this day.
    pub to: Option<Date>,
}

impl RecordFilter {
    /// The kinds asked for as `,vaccination,visit,` (matched with `LIKE` on both engines), or
    /// `None` for every kind.
    fn kinds_param(&self) -> Option<String> {
        let kinds = self.kinds();
        (!kinds.is_empty()).then(|| format!(",{},", kinds.join(",")))
    }

    /// Every kind asked for; empty for every kind.
    fn kinds(&self) -> Vec<&'static str> {
        self.kind.iter().chain(&self.also_kinds).map(|k| k.as_str()).collect()
    }
}

/// Totals over every record a filter matches (not only one page).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RecordSummary {
    pub total: u64,
    /// Records per kind, in kind order.
    pub by_kind: Vec<(RecordKind, u64)>,
    pub total_cost_cents: i64,
}

#[derive(FromRow)]
struct RecordRow {
    id: Uuid,
    household_id: Uuid,
    pet_id: Uuid,
    kind: String,
    title: String,
    description: Option<String>,
    date: String,
    vet: Option<String>,
    cost_cents: Option<i64>,
    vaccine: Option<String>,
    valid_until: Option<String>,
    dose: Option<String>,
    schedule: Option<String>,
    weight_kg: Option<f64>,
    created_by: Option<Uuid>,
    created_at: i64,
    updated_at: i64,
}

macro_rules! record_columns {
    () => {
        "id, household_id, pet_id, kind, title, description, date, vet, cost_cents, vaccine, valid_until, \
         dose, schedule, weight_kg, created_by, created_at, updated_at"
    };
}

/// The records a filter matches: `$1` household, `$2` pet, `$3` kinds (`,visit,dental,`), `$4`
/// from, `$5` to.
macro_rules! record_condition {
    () => {
        "household_id = $1 AND pet_id = $2 AND ($3 IS NULL OR $3 LIKE '%,' || kind || ',%') \
         AND ($4 IS NULL OR date >= $4) \
         AND ($5 IS NULL OR date <= $5)"
    };
}

impl RecordRow {
    /// A row in `record_columns!` order, read through rusqlite.
    fn from_sqlite(row: &rusqlite::Row<'_>) -> rusqlite::Result<RecordRow> {
        use crate::fastread::{uuid, uuid_opt};
        Ok(RecordRow {
            id: uuid(row, 0)?,
            household_id: uuid(row, 1)?,
            pet_id: uuid(row, 2)?,
            kind: row.get(3)?,
            title: row.get(4)?,
            description: row.get(5)?,
            date: row.get(6)?,
            vet: row.get(7)?,
            cost_cents: row.get(8)?,
            vaccine: row.get(9)?,
            valid_until: row.get(10)?,
            dose: row.get(11)?,
            schedule: row.get(12)?,
            weight_kg: row.get(13)?,
            created_by: uuid_opt(row, 14)?,
            created_at: row.get(15)?,
            updated_at: row.get(16)?,
        })
    }

    fn into_record(self) -> Result<Record> {
        let corrupt = |what: &str| StoreError::Corrupt(format!("health record {}: {what}", self.id));
        let date = |field: &str, raw: &str| parse_date(field, raw).map_err(|_| corrupt(field));
        Ok(Record {
            id: self.id,
            household_id: HouseholdId(self.household_id),
            pet_id: PetId(self.pet_id),
            content: RecordContent {
                kind: self.kind.parse().map_err(|_| corrupt("kind"))?,
                date: date("date", &self.date)?,
                valid_until: self.valid_until.as_deref().map(|d| date("valid_until", d)).transpose()?,
                vaccine: self
                    .vaccine
                    .as_deref()
                    .map(str::parse::<Vaccine>)
                    .transpose()
                    .map_err(|_| corrupt("vaccine"))?,
                title: self.title,
                description: self.description,
                vet: self.vet,
                cost_cents: self.cost_cents,
                dose: self.dose,
                schedule: self.schedule,
                weight_kg: self.weight_kg,
            },
            created_by: self.created_by.map(UserId),
            created_at: from_ms(self.created_at)?,
            updated_at: from_ms(self.updated_at)?,
        })
    }
}

/// Binds a record's content as the next eleven parameters, in `record_columns!` order from `kind`.
macro_rules! bind_content {
    ($query:expr, $c:expr) => {
        $query
            .bind($c.kind.as_str())
            .bind(&$c.title)
            .bind(&$c.description)
            .bind(format_date($c.date))
            .bind(&$c.vet)
            .bind($c.cost_cents)
            .bind($c.vaccine.map(|v| v.as_str()))
            .bind($c.valid_until.map(format_date))
            .bind(&$c.dose)
            .bind(&$c.schedule)
            .bind($c.weight_kg)
            .bind($c.series())
    };
}

impl Store {
    /// Adds a record to a pet of this household (`NotFound` if the pet is not one).
    #[tracing::instrument(level = "debug", skip_all, fields(household_id = %household_id, pet_id = %pet_id))]
    pub async fn create_record(
        &self,
        household_id: HouseholdId,
        pet_id: PetId,
        content: &RecordContent,
        created_by: Option<UserId>,
        now: OffsetDateTime,
    ) -> Result<Record> {
        let id = Uuid::now_v7();
        let at = to_ms(now);
        let done = on_pool!(write, self, |pool| {
            // The pet must be this household's: the SELECT makes the insert a no-op otherwise.
            let query = sqlx::query(
                "INSERT INTO health_records (id, household_id, pet_id, kind, title, description, date, vet, cost_cents, \
                 vaccine, valid_until, dose, schedule, weight_kg, series, created_by, created_at, updated_at) \
                 SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $17 \
                 WHERE EXISTS (SELECT 1 FROM pets WHERE household_id = $2 AND id = $3)",
            )
            .bind(id)
            .bind(household_id.0)
            .bind(pet_id.0);
            bind_content!(query, content).bind(created_by.map(|u| u.0)).bind(at).execute(pool).await?.rows_affected()
        });
        if done != 1 {
            return Err(StoreError::NotFound);
        }
        Ok(Record {
            id,
            household_id,
            pet_id,
            content: content.clone(),
            created_by,
            created_at: from_ms(at)?,
            updated_at: from_ms(at)?,
        })
    }

    #[tracing::instrument(level = "debug", skip_all, fields(household_id = %household_id, record_id = %id))]
    pub async fn get_record(&self, household_id: HouseholdId, id: Uuid) -> Result<Record> {
        let row: RecordRow = on_pool!(read, self, |pool| {
            sqlx::query_as(concat!(
                "SELECT ",
                record_columns!(),
                " FROM health_records WHERE household_id = $1 AND id = $2"
            ))
            .bind(household_id.0)
            .bind(id)
            .fetch_one(pool)
            .await?
        });
        row.into_record()
    }

    /// One page of a pet's records, newest first (by date, then by when written).
    #[tracing::instrument(level = "debug", skip_all, fields(household_id = %household_id, pet_id = %pet_id))]
    pub async fn list_records(
        &self,
        household_id: HouseholdId,
        pet_id: PetId,
        filter: &RecordFilter,
        page: PageRequest,
    ) -> Result<Page<Record>> {
        let kind = filter.kinds_param();
        let from = filter.from.map(format_date);
        let to = filter.to.map(format_date);
        if let Some(fast) = &self.fast {
            // Only the conditions in use, so SQLite counts and pages on the index alone.
            let mut condition = String::from("household_id = ?1 AND pet_id = ?2");
            let household = household_id.0.as_bytes().to_vec();
            let pet = pet_id.0.as_bytes().to_vec();
            let mut params: Vec<&dyn rusqlite::ToSql> = vec![&household, &pet];
            let kinds = filter.kinds();
            if !kinds.is_empty() {
                let mut slots = Vec::with_capacity(kinds.len());
                for k in &kinds {
                    params.push(k);
                    slots.push(format!("?{}", params.len()));
                }
                condition.push_str(&format!(" AND kind IN ({})", slots.join(", ")));
            }
            let (from_text, to_text) = (from.as_deref(), to.as_deref());
            for (column, value) in [("date >=", &from_text), ("date <=", &to_text)] {
                if let Some(v) = value {
                    params.push(v);
                    condition.push_str(&format!(" AND {column} ?{}", params.len()));
                }
            }
            let count_sql = format!("SELECT COUNT(*) FROM health_records WHERE {condition}");
            let page_sql = format!(
                "SELECT {} FROM health_records WHERE {condition} ORDER BY date DESC, created_at DESC, id DESC LIMIT ?{} OFFSET ?{}",
                record_columns!(),
                params.len() + 1,
                params.len() + 2
            );
            let (limit, offset) = (page.limit(), page.offset());
            let (total, rows) = fast.with(|conn| {
                let total: i64 = conn.prepare_cached(&count_sql)?.query_row(params.as_slice(), |row| row.get(0))?;
                let mut paged = params.clone();
                paged.push(&limit);
                paged.push(&offset);
                let rows = conn
                    .prepare_cached(&page_sql)?
                    .query_map(paged.as_slice(), RecordRow::from_sqlite)?
                    .collect::<rusqlite::Result<Vec<_>>>()?;
                Ok((total, rows))
            })?;
            return Ok(Page {
                items: rows.into_iter().map(RecordRow::into_record).collect::<Result<_>>()?,
                total: total as u64,
                request: page,
            });
        }
        let (total, rows): (i64, Vec<RecordRow>) = on_pool!(read, self, |pool| {
            let total = sqlx::query_scalar(concat!("SELECT COUNT(*) FROM health_records WHERE ", record_condition!()))
                .bind(household_id.0)
                .bind(pet_id.0)
                .bind(kind.as_deref())
                .bind(from.as_deref())
                .bind(to.as_deref())
                .fetch_one(pool)
                .await?;
            let rows = sqlx::query_as(concat!(
                "SELECT ",
                record_columns!(),
                " FROM health_records WHERE ",
                record_condition!(),
                " ORDER BY date DESC, created_at DESC, id DESC LIMIT $6 OFFSET $7"
            ))
            .bind(household_id.0)
            .bind(pet_id.0)
            .bind(kind.as_deref())
            .bind(from.as_deref())
            .bind(to.as_deref())
            .bind(page.limit())
            .bind(page.offset())
            .fetch_all(pool)
            .await?;
            (total, rows)
        });
        Ok(Page {
            items: rows.into_iter().map(RecordRow::into_record).collect::<Result<_>>()?,
            total: total as u64,
            request: page,
        })
    }

    /// Counts and costs over every record of a pet that the filter matches.
    pub async fn record_summary(
        &self,
        household_id: HouseholdId,
        pet_id: PetId,
        filter: &RecordFilter,
    ) -> Result<RecordSummary> {
        let kind = filter.kinds_param();
        let from = filter.from.map(format_date);
        let to = filter.to.map(format_date);
        let rows: Vec<(String, i64, Option<i64>)> = on_pool!(read, self, |pool| {
            sqlx::query_as(concat!(
                "SELECT kind, COUNT(*), CAST(SUM(cost_cents) AS BIGINT) FROM health_records WHERE ",
                record_condition!(),
                " GROUP BY kind"
            ))
            .bind(household_id.0)
            .bind(pet_id.0)
            .bind(kind.as_deref())
            .bind(from.as_deref())
            .bind(to.as_deref())
            .fetch_all(pool)
            .await?
        });
        let mut summary = RecordSummary::default();
        for (kind, count, cost) in rows {
            let kind: RecordKind = kind.parse().map_err(|_| StoreError::Corrupt(format!("record kind {kind}")))?;
            summary.total += count as u64;
            summary.total_cost_cents += cost.unwrap_or(0);
            summary.by_kind.push((kind, count as u64));
        }
        summary.by_kind.sort();
        Ok(summary)
    }

    /// Every record of one kind for the household's pets (`None`: every pet), oldest first.
    pub async fn records_of_kind(
        &self,
        household_id: HouseholdId,
        pet_id: Option<PetId>,
        kind: RecordKind,
    ) -> Result<Vec<Record>> {
        if let Some(fast) = &self.fast {
            let rows = fast.with(|conn| {
                let household = &household_id.0.as_bytes()[..];
                let kind = kind.as_str();
                let sql_all = concat!(
                    "SELECT ",
                    record_columns!(),
                    " FROM health_records WHERE household_id = ?1 AND kind = ?2 ORDER BY date, created_at, id"
                );
                let sql_pet = concat!(
                    "SELECT ",
                    record_columns!(),
                    " FROM health_records WHERE household_id = ?1 AND kind = ?2 AND pet_id = ?3 ORDER BY date, created_at, id"
                );
                match pet_id {
                    None => conn
                        .prepare_cached(sql_all)?
                        .query_map(rusqlite::params![household, kind], RecordRow::from_sqlite)?
                        .collect::<rusqlite::Result<Vec<_>>>(),
                    Some(pet) => conn
                        .prepare_cached(sql_pet)?
                        .query_map(rusqlite::params![household, kind, &pet.0.as_bytes()[..]], RecordRow::from_sqlite)?
                        .collect::<rusqlite::Result<Vec<_>>>(),
                }
            })?;
            return rows.into_iter().map(RecordRow::into_record).collect();
        }
        let rows: Vec<RecordRow> = on_pool!(read, self, |pool| {
            sqlx::query_as(concat!(
                "SELECT ",
                record_columns!(),
                " FROM health_records WHERE household_id = $1 AND ($2 IS NULL OR pet_id = $2) AND kind = $3 \
                 ORDER BY date, created_at, id"
            ))
            .bind(household_id.0)
            .bind(pet_id.map(|p| p.0))
            .bind(kind.as_str())
            .fetch_all(pool)
            .await?
        });
        rows.into_iter().map(RecordRow::into_record).collect()
    }

    /// Every record of the household (the data export), oldest first.
    pub async fn household_records(&self, household_id: HouseholdId) -> Result<Vec<Record>> {
        let rows: Vec<RecordRow> = on_pool!(read, self, |pool| {
            sqlx::query_as(concat!(
                "SELECT ",
                record_columns!(),
                " FROM health_records WHERE household_id = $1 ORDER BY pet_id, date, created_at, id"
            ))
            .bind(household_id.0)
            .fetch_all(pool)
            .await?
        });
        rows.into_iter().map(RecordRow::into_record).collect()
    }

    /// Replaces a record's content.
    #[tracing::instrument(level = "debug", skip_all, fields(household_id = %household_id, record_id = %id))]
    pub async fn update_record(
        &self,
        household_id: HouseholdId,
        id: Uuid,
        content: &RecordContent,
        now: OffsetDateTime,
    ) -> Result<Record> {
        let row: RecordRow = on_pool!(write, self, |pool| {
            let query = sqlx::query_as(concat!(
                "UPDATE health_records SET kind = $3, title = $4, description = $5, date = $6, vet = $7, \
                 cost_cents = $8, vaccine = $9, valid_until = $10, dose = $11, schedule = $12, weight_kg = $13, \
                 series = $14, updated_at = $15 WHERE household_id = $1 AND id = $2 RETURNING ",
                record_columns!()
            ))
            .bind(household_id.0)
            .bind(id);
            bind_content!(query, content).bind(to_ms(now)).fetch_one(pool).await?
        });
        row.into_record()
    }

    #[tracing::instrument(level = "debug", skip_all, fields(household_id = %household_id, record_id = %id))]
    pub async fn delete_record(&self, household_id: HouseholdId, id: Uuid) -> Result<()> {
        let done = on_pool!(write, self, |pool| {
            sqlx::query("DELETE FROM health_records WHERE household_id = $1 AND id = $2")
                .bind(household_id.0)
                .bind(id)
                .execute(pool)
                .await?
                .rows_affected()
        });
        if done == 1 { Ok(()) } else { Err(StoreError::NotFound) }
    }

    /// Records per household (for a plan's limits).
    pub async fn count_records(&self, household_id: HouseholdId) -> Result<u64> {
        let n: i64 = on_pool!(read, self, |pool| {
            sqlx::query_scalar("SELECT COUNT(*) FROM health_records WHERE household_id = $1")
                .bind(household_id.0)
                .fetch_one(pool)
                .await?
        });
        Ok(n as u64)
    }

    /// The household's time zone (`UTC` until someone sets one).
    pub async fn household_zone(&self, household_id: HouseholdId) -> Result<Zone> {
        let name: String = on_pool!(read, self, |pool| {
            sqlx::query_scalar("SELECT timezone FROM households WHERE id = $1")
                .bind(household_id.0)
                .fetch_one(pool)
                .await?
        });
        Ok(Zone::parse("timezone", &name).unwrap_or_else(|_| Zone::utc()))
    }

    pub async fn set_household_zone(&self, household_id: HouseholdId, zone: &Zone) -> Result<()> {
        on_pool!(write, self, |pool| {
            sqlx::query("UPDATE households SET timezone = $2 WHERE id = $1")
                .bind(household_id.0)
                .bind(zone.name())
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    /// A person's time zone (`UTC` until they set one).
    pub async fn user_zone(&self, user_id: UserId) -> Result<Zone> {
        let name: String = on_pool!(read, self, |pool| {
            sqlx::query_scalar("SELECT timezone FROM users WHERE id = $1").bind(user_id.0).fetch_one(pool).await?
        });
        Ok(Zone::parse("timezone", &name).unwrap_or_else(|_| Zone::utc()))
    }

    pub async fn set_user_zone(&self, user_id: UserId, zone: &Zone) -> Result<()> {
        on_pool!(write, self, |pool| {
            sqlx::query("UPDATE users SET timezone = $2 WHERE id = $1")
                .bind(user_id.0)
                .bind(zone.name())
                .execute(pool)
                .await?;
        });
        Ok(())
    }
}

/// A reminder to store: its content and where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct NewReminder {
    pub household_id: HouseholdId,
    pub content: ReminderContent,
    pub source: Source,
    pub series: Option<String>,
    pub external_uid: Option<String>,
    pub created_by: Option<UserId>,
}

/// Narrows the household's reminders.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReminderFilter {
    pub status: StatusFilter,
    pub pet_id: Option<PetId>,
    /// Due at or after.
    pub from: Option<OffsetDateTime>,
    /// Due before.
    pub to: Option<OffsetDateTime>,
}

#[derive(FromRow)]
struct ReminderRow {
    id: Uuid,
    household_id: Uuid,
    pet_id: Option<Uuid>,
    title: String,
    description: Option<String>,
    anchor_local: String,
    timezone: String,
    repeat: Option<String>,
    ends_at: Option<i64>,
    due_at: i64,
    methods: String,
    completed_at: Option<i64>,
    last_completed_at: Option<i64>,
    completed_count: i64,
    snoozed_until: Option<i64>,
    notified_upto: i64,
    source: String,
    series: Option<String>,
    external_uid: Option<String>,
    created_by: Option<Uuid>,
    created_at: i64,
    updated_at: i64,
}

macro_rules! reminder_columns {
    () => {
        "id, household_id, pet_id, title, description, anchor_local, timezone, repeat, ends_at, due_at, methods, \
         completed_at, last_completed_at, completed_count, snoozed_until, notified_upto, source, series, \
         external_uid, created_by, created_at, updated_at"
    };
}

/// `$1` household, `$2` pet, `$3` status, `$4` now, `$5` from, `$6` to.
macro_rules! reminder_condition {
    () => {
        "household_id = $1 AND ($2 IS NULL OR pet_id = $2) \
         AND ($3 = 'all' OR ($3 = 'pending' AND completed_at IS NULL) \
              OR ($3 = 'overdue' AND completed_at IS NULL AND due_at < $4) \
              OR ($3 = 'completed' AND completed_at IS NOT NULL)) \
         AND ($5 IS NULL OR due_at >= $5) AND ($6 IS NULL OR due_at < $6)"
    };
}

fn status_text(status: StatusFilter) -> &'static str {
    match status {
        StatusFilter::All => "all",
        StatusFilter::Pending => "pending",
        StatusFilter::Overdue => "overdue",
        StatusFilter::Completed => "completed",
    }
}

impl ReminderRow {
    /// A row in `reminder_columns!` order, read through rusqlite.
    fn from_sqlite(row: &rusqlite::Row<'_>) -> rusqlite::Result<ReminderRow> {
        use crate::fastread::{uuid, uuid_opt};
        Ok(ReminderRow {
            id: uuid(row, 0)?,
            household_id: uuid(row, 1)?,
            pet_id: uuid_opt(row, 2)?,
            title: row.get(3)?,
            description: row.get(4)?,
            anchor_local: row.get(5)?,
            timezone: row.get(6)?,
            repeat: row.get(7)?,
            ends_at: row.get(8)?,
            due_at: row.get(9)?,
            methods: row.get(10)?,
            completed_at: row.get(11)?,
            last_completed_at: row.get(12)?,
            completed_count: row.get(13)?,
            snoozed_until: row.get(14)?,
            notified_upto: row.get(15)?,
            source: row.get(16)?,
            series: row.get(17)?,
            external_uid: row.get(18)?,
            created_by: uuid_opt(row, 19)?,
            created_at: row.get(20)?,
            updated_at: row.get(21)?,
        })
    }

    fn into_reminder(self) -> Result<Reminder> {
        let corrupt = |what: &str| StoreError::Corrupt(format!("reminder {}: {what}", self.id));
        let schedule = Schedule {
            anchor: LocalTime::parse("anchor", &self.anchor_local).map_err(|_| corrupt("anchor_local"))?,
            zone: Zone::parse("timezone", &self.timezone).map_err(|_| corrupt("timezone"))?,
            repeat: self.repeat.as_deref().map(str::parse).transpose().map_err(|_| corrupt("repeat"))?,
            ends_at: from_ms_opt(self.ends_at)?,
        };
        Ok(Reminder {
            id: self.id,
            household_id: HouseholdId(self.household_id),
            content: ReminderContent {
                pet_id: self.pet_id.map(PetId),
                title: self.title,
                description: self.description,
                schedule,
                methods: Method::parse_list(&self.methods),
            },
            due_at: from_ms(self.due_at)?,
            completed_at: from_ms_opt(self.completed_at)?,
            last_completed_at: from_ms_opt(self.last_completed_at)?,
            completed_count: self.completed_count,
            snoozed_until: from_ms_opt(self.snoozed_until)?,
            notified_upto: from_ms(self.notified_upto)?,
            source: self.source.parse().map_err(|_| corrupt("source"))?,
            series: self.series,
            external_uid: self.external_uid,
            created_by: self.created_by.map(UserId),
            created_at: from_ms(self.created_at)?,
            updated_at: from_ms(self.updated_at)?,
        })
    }
}

impl Store {
    /// Stores a new reminder, due at its first occurrence. A reminder for a pet needs the pet
    /// to be this household's (`NotFound` otherwise).
    #[tracing::instrument(level = "debug", skip_all, fields(household_id = %new.household_id))]
    pub async fn create_reminder(&self, new: &NewReminder, now: OffsetDateTime) -> Result<Reminder> {
        let c = &new.content;
        let due = c.schedule.first().ok_or(StoreError::NotFound)?;
        // To the millisecond, as stored.
        let at = from_ms(to_ms(now))?;
        let reminder = Reminder {
            id: Uuid::now_v7(),
            household_id: new.household_id,
            content: c.clone(),
            due_at: due,
            completed_at: None,
            last_completed_at: None,
            completed_count: 0,
            snoozed_until: None,
            // An occurrence already past when the reminder is written is not told of.
            notified_upto: if due < now { due } else { due - time::Duration::milliseconds(1) },
            source: new.source,
            series: new.series.clone(),
            external_uid: new.external_uid.clone(),
            created_by: new.created_by,
            created_at: at,
            updated_at: at,
        };
        let next_notify = reminder.next_notify_at().map(to_ms);
        let done = on_pool!(write, self, |pool| {
            sqlx::query(
                "INSERT INTO reminders (id, household_id, pet_id, title, description, anchor_local, timezone, repeat, \
                 ends_at, due_at, methods, completed_count, notified_upto, next_notify_at, source, series, external_uid, \
                 created_by, created_at, updated_at) \
                 SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 0, $12, $13, $14, $15, $16, $17, $18, $18 \
                 WHERE $3 IS NULL OR EXISTS (SELECT 1 FROM pets WHERE household_id = $2 AND id = $3)",
            )
            .bind(reminder.id)
            .bind(new.household_id.0)
            .bind(c.pet_id.map(|p| p.0))
            .bind(&c.title)
            .bind(&c.description)
            .bind(c.schedule.anchor.to_string())
            .bind(c.schedule.zone.name())
            .bind(c.schedule.repeat.map(|r| r.as_str()))
            .bind(c.schedule.ends_at.map(to_ms))
            .bind(to_ms(reminder.due_at))
            .bind(Method::join(&c.methods))
            .bind(to_ms(reminder.notified_upto))
            .bind(next_notify)
            .bind(new.source.as_str())
            .bind(&new.series)
            .bind(&new.external_uid)
            .bind(new.created_by.map(|u| u.0))
            .bind(to_ms(now))
            .execute(pool)
            .await?
            .rows_affected()
        });
        if done != 1 {
            return Err(StoreError::NotFound);
        }
        Ok(reminder)
    }

    #[tracing::instrument(level = "debug", skip_all, fields(household_id = %household_id, reminder_id = %id))]
    pub async fn get_reminder(&self, household_id: HouseholdId, id: Uuid) -> Result<Reminder> {
        let row: ReminderRow = on_pool!(read, self, |pool| {
            sqlx::query_as(concat!(
                "SELECT ",
                reminder_columns!(),
                " FROM reminders WHERE household_id = $1 AND id = $2"
            ))
            .bind(household_id.0)
            .bind(id)
            .fetch_one(pool)
            .await?
        });
        row.into_reminder()
    }

    /// A vaccine series' reminder for a pet, if it has one.
    pub async fn series_reminder(
        &self,
        household_id: HouseholdId,
        pet_id: PetId,
        series: &str,
    ) -> Result<Option<Reminder>> {
        let row: Option<ReminderRow> = on_pool!(read, self, |pool| {
            sqlx::query_as(concat!(
                "SELECT ",
                reminder_columns!(),
                " FROM reminders WHERE household_id = $1 AND pet_id = $2 AND series = $3"
            ))
            .bind(household_id.0)
            .bind(pet_id.0)
            .bind(series)
            .fetch_optional(pool)
            .await?
        });
        row.map(ReminderRow::into_reminder).transpose()
    }

    /// The reminder a calendar file's event became, by its UID.
    pub async fn reminder_by_uid(&self, household_id: HouseholdId, uid: &str) -> Result<Option<Reminder>> {
        let row: Option<ReminderRow> = on_pool!(read, self, |pool| {
            sqlx::query_as(concat!(
                "SELECT ",
                reminder_columns!(),
                " FROM reminders WHERE household_id = $1 AND external_uid = $2"
            ))
            .bind(household_id.0)
            .bind(uid)
            .fetch_optional(pool)
            .await?
        });
        row.map(ReminderRow::into_reminder).transpose()
    }

    /// One page of the household's reminders, by due time.
    pub async fn list_reminders(
        &self,
        household_id: HouseholdId,
        filter: &ReminderFilter,
        now: OffsetDateTime,
        page: PageRequest,
    ) -> Result<Page<Reminder>> {
        let status = status_text(filter.status);
        let (total, rows): (i64, Vec<ReminderRow>) = on_pool!(read, self, |pool| {
            let total = sqlx::query_scalar(concat!("SELECT COUNT(*) FROM reminders WHERE ", reminder_condition!()))
                .bind(household_id.0)
                .bind(filter.pet_id.map(|p| p.0))
                .bind(status)
                .bind(to_ms(now))
                .bind(filter.from.map(to_ms))
                .bind(filter.to.map(to_ms))
                .fetch_one(pool)
                .await?;
            let rows = sqlx::query_as(concat!(
                "SELECT ",
                reminder_columns!(),
                " FROM reminders WHERE ",
                reminder_condition!(),
                " ORDER BY due_at, id LIMIT $7 OFFSET $8"
            ))
            .bind(household_id.0)
            .bind(filter.pet_id.map(|p| p.0))
            .bind(status)
            .bind(to_ms(now))
            .bind(filter.from.map(to_ms))
            .bind(filter.to.map(to_ms))
            .bind(page.limit())
            .bind(page.offset())
            .fetch_all(pool)
            .await?;
            (total, rows)
        });
        Ok(Page {
            items: rows.into_iter().map(ReminderRow::into_reminder).collect::<Result<_>>()?,
            total: total as u64,
            request: page,
        })
    }

    /// Every reminder of the household not completed (the calendar feed, the export).
    pub async fn pending_reminders(&self, household_id: HouseholdId) -> Result<Vec<Reminder>> {
        if let Some(fast) = &self.fast {
            let rows = fast.with(|conn| {
                conn.prepare_cached(concat!(
                    "SELECT ",
                    reminder_columns!(),
                    " FROM reminders WHERE household_id = ?1 AND completed_at IS NULL ORDER BY due_at, id"
                ))?
                .query_map([&household_id.0.as_bytes()[..]], ReminderRow::from_sqlite)?
                .collect::<rusqlite::Result<Vec<_>>>()
            })?;
            return rows.into_iter().map(ReminderRow::into_reminder).collect();
        }
        let rows: Vec<ReminderRow> = on_pool!(read, self, |pool| {
            sqlx::query_as(concat!(
                "SELECT ",
                reminder_columns!(),
                " FROM reminders WHERE household_id = $1 AND completed_at IS NULL ORDER BY due_at, id"
            ))
            .bind(household_id.0)
            .fetch_all(pool)
            .await?
        });
        rows.into_iter().map(ReminderRow::into_reminder).collect()
    }

    /// Writes back everything about a reminder that can change (content, timing, progress).
    #[tracing::instrument(level = "debug", skip_all, fields(household_id = %r.household_id, reminder_id = %r.id))]
    pub async fn save_reminder(&self, r: &Reminder, now: OffsetDateTime) -> Result<Reminder> {
        let c = &r.content;
        let row: ReminderRow = on_pool!(write, self, |pool| {
            sqlx::query_as(concat!(
                "UPDATE reminders SET pet_id = $3, title = $4, description = $5, anchor_local = $6, timezone = $7, \
                 repeat = $8, ends_at = $9, due_at = $10, methods = $11, completed_at = $12, last_completed_at = $13, \
                 completed_count = $14, snoozed_until = $15, notified_upto = $16, next_notify_at = $17, \
                 updated_at = $18 \
                 WHERE household_id = $1 AND id = $2 \
                 AND ($3 IS NULL OR EXISTS (SELECT 1 FROM pets WHERE household_id = $1 AND id = $3)) RETURNING ",
                reminder_columns!()
            ))
            .bind(r.household_id.0)
            .bind(r.id)
            .bind(c.pet_id.map(|p| p.0))
            .bind(&c.title)
            .bind(&c.description)
            .bind(c.schedule.anchor.to_string())
            .bind(c.schedule.zone.name())
            .bind(c.schedule.repeat.map(|r| r.as_str()))
            .bind(c.schedule.ends_at.map(to_ms))
            .bind(to_ms(r.due_at))
            .bind(Method::join(&c.methods))
            .bind(r.completed_at.map(to_ms))
            .bind(r.last_completed_at.map(to_ms))
            .bind(r.completed_count)
            .bind(r.snoozed_until.map(to_ms))
            .bind(to_ms(r.notified_upto))
            .bind(r.next_notify_at().map(to_ms))
            .bind(to_ms(now))
            .fetch_one(pool)
            .await?
        });
        row.into_reminder()
    }

    #[tracing::instrument(level = "debug", skip_all, fields(household_id = %household_id, reminder_id = %id))]
    pub async fn delete_reminder(&self, household_id: HouseholdId, id: Uuid) -> Result<()> {
        let done = on_pool!(write, self, |pool| {
            sqlx::query("DELETE FROM reminders WHERE household_id = $1 AND id = $2")
                .bind(household_id.0)
                .bind(id)
                .execute(pool)
                .await?
                .rows_affected()
        });
        if done == 1 { Ok(()) } else { Err(StoreError::NotFound) }
    }

    /// Claims up to `limit` reminders whose time to notify has come, leased until
    /// `lease_until`, so that on N nodes each is handled once.
    pub async fn claim_due_reminders(&self, now: i64, lease_until: i64, limit: i64) -> Result<Vec<Reminder>> {
        let rows: Vec<ReminderRow> = on_pool!(write, self, |pool| {
            sqlx::query_as(concat!(
                "UPDATE reminders SET lease_until = $2 WHERE id IN (SELECT id FROM reminders \
                 WHERE next_notify_at <= $1 AND (lease_until IS NULL OR lease_until <= $1) \
                 ORDER BY next_notify_at LIMIT $3) AND (lease_until IS NULL OR lease_until <= $1) RETURNING ",
                reminder_columns!()
            ))
            .bind(now)
            .bind(lease_until)
            .bind(limit)
            .fetch_all(pool)
            .await?
        });
        rows.into_iter().map(ReminderRow::into_reminder).collect()
    }

    /// Records what the reminder job did with a claimed reminder and lets it go: only its
    /// notification progress changes, so an edit made meanwhile is kept.
    pub async fn release_reminder(&self, r: &Reminder) -> Result<()> {
        on_pool!(write, self, |pool| {
            sqlx::query(
                "UPDATE reminders SET notified_upto = CASE WHEN notified_upto > $3 THEN notified_upto ELSE $3 END, \
                 snoozed_until = CASE WHEN snoozed_until IS NOT NULL AND snoozed_until <= $3 THEN NULL \
                 ELSE snoozed_until END, lease_until = NULL WHERE household_id = $1 AND id = $2",
            )
            .bind(r.household_id.0)
            .bind(r.id)
            .bind(to_ms(r.notified_upto))
            .execute(pool)
            .await?;
        });
        // The next time to look follows from the row as it is now.
        let fresh = self.get_reminder(r.household_id, r.id).await?;
        on_pool!(write, self, |pool| {
            sqlx::query("UPDATE reminders SET next_notify_at = $3 WHERE household_id = $1 AND id = $2")
                .bind(r.household_id.0)
                .bind(r.id)
                .bind(fresh.next_notify_at().map(to_ms))
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    /// Makes `token_hash` the household's calendar feed token, replacing any other.
    pub async fn set_calendar_feed(
        &self,
        household_id: HouseholdId,
        token_hash: &[u8],
        created_by: Option<UserId>,
        now: OffsetDateTime,
    ) -> Result<()> {
        on_pool!(write, self, |pool| {
            sqlx::query(
                "INSERT INTO calendar_feeds (household_id, token_hash, created_by, created_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (household_id) DO UPDATE SET token_hash = $2, created_by = $3, created_at = $4",
            )
            .bind(household_id.0)
            .bind(token_hash)
            .bind(created_by.map(|u| u.0))
            .bind(to_ms(now))
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// Ends the household's calendar feed.
    pub async fn revoke_calendar_feed(&self, household_id: HouseholdId) -> Result<bool> {
        let done = on_pool!(write, self, |pool| {
            sqlx::query("DELETE FROM calendar_feeds WHERE household_id = $1")
                .bind(household_id.0)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(done > 0)
    }

    /// The household a feed token opens, if it is current.
    pub async fn calendar_feed_household(&self, token_hash: &[u8]) -> Result<Option<(HouseholdId, String)>> {
        let row: Option<(Uuid, String)> = on_pool!(read, self, |pool| {
            sqlx::query_as(
                "SELECT f.household_id, h.name FROM calendar_feeds f JOIN households h ON h.id = f.household_id \
                 WHERE f.token_hash = $1",
            )
            .bind(token_hash)
            .fetch_optional(pool)
            .await?
        });
        Ok(row.map(|(id, name)| (HouseholdId(id), name)))
    }

    /// Whether the household has a calendar feed, and since when.
    pub async fn calendar_feed_since(&self, household_id: HouseholdId) -> Result<Option<OffsetDateTime>> {
        let at: Option<i64> = on_pool!(read, self, |pool| {
            sqlx::query_scalar("SELECT created_at FROM calendar_feeds WHERE household_id = $1")
                .bind(household_id.0)
                .fetch_optional(pool)
                .await?
        });
        from_ms_opt(at)
    }
}

/// What an owner publishes about a pet behind a link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShareKind {
    /// The vaccination passport.
    Passport,
    /// The lost-pet page.
    Lost,
}

impl ShareKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ShareKind::Passport => "passport",
            ShareKind::Lost => "lost",
        }
    }
}

/// A published link about a pet.
#[derive(Debug, Clone, PartialEq)]
pub struct PetShare {
    pub id: Uuid,
    pub household_id: HouseholdId,
    pub pet_id: PetId,
    pub kind: ShareKind,
    pub show_location: bool,
    pub message: Option<String>,
    pub created_at: OffsetDateTime,
}

#[derive(FromRow)]
struct ShareRow {
    id: Uuid,
    household_id: Uuid,
    pet_id: Uuid,
    kind: String,
    show_location: bool,
    message: Option<String>,
    created_at: i64,
}

impl ShareRow {
    fn into_share(self) -> Result<PetShare> {
        Ok(PetShare {
            id: self.id,
            household_id: HouseholdId(self.household_id),
            pet_id: PetId(self.pet_id),
            kind: match self.kind.as_str() {
                "passport" => ShareKind::Passport,
                "lost" => ShareKind::Lost,
                other => return Err(StoreError::Corrupt(format!("share {}: kind {other}", self.id))),
            },
            show_location: self.show_location,
            message: self.message,
            created_at: from_ms(self.created_at)?,
        })
    }
}

impl Store {
    /// Publishes (or re-publishes, with a new link) a pet's passport or lost-pet page.
    #[allow(clippy::too_many_arguments)]
    pub async fn put_share(
        &self,
        household_id: HouseholdId,
        pet_id: PetId,
        kind: ShareKind,
        token_hash: &[u8],
        show_location: bool,
        message: Option<&str>,
        created_by: Option<UserId>,
        now: OffsetDateTime,
    ) -> Result<PetShare> {
        let id = Uuid::now_v7();
        let done = on_pool!(write, self, |pool| {
            sqlx::query(
                "INSERT INTO pet_shares (id, household_id, pet_id, kind, token_hash, show_location, message, created_by, created_at) \
                 SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9 WHERE EXISTS (SELECT 1 FROM pets WHERE household_id = $2 AND id = $3) \
                 ON CONFLICT (pet_id, kind) DO UPDATE SET id = $1, token_hash = $5, show_location = $6, message = $7, \
                 created_by = $8, created_at = $9",
            )
            .bind(id)
            .bind(household_id.0)
            .bind(pet_id.0)
            .bind(kind.as_str())
            .bind(token_hash)
            .bind(show_location)
            .bind(message)
            .bind(created_by.map(|u| u.0))
            .bind(to_ms(now))
            .execute(pool)
            .await?
            .rows_affected()
        });
        if done != 1 {
            return Err(StoreError::NotFound);
        }
        Ok(PetShare {
            id,
            household_id,
            pet_id,
            kind,
            show_location,
            message: message.map(str::to_owned),
            created_at: from_ms(to_ms(now))?,
        })
    }

    /// The pet's share of this kind, if it is published.
    pub async fn share_of(
        &self,
        household_id: HouseholdId,
        pet_id: PetId,
        kind: ShareKind,
    ) -> Result<Option<PetShare>> {
        let row: Option<ShareRow> = on_pool!(read, self, |pool| {
            sqlx::query_as(
                "SELECT id, household_id, pet_id, kind, show_location, message, created_at FROM pet_shares \
                 WHERE household_id = $1 AND pet_id = $2 AND kind = $3",
            )
            .bind(household_id.0)
            .bind(pet_id.0)
            .bind(kind.as_str())
            .fetch_optional(pool)
            .await?
        });
        row.map(ShareRow::into_share).transpose()
    }

    /// The share a link's token opens, if it is current and of this kind.
    pub async fn share_by_token(&self, token_hash: &[u8], kind: ShareKind) -> Result<Option<PetShare>> {
        let row: Option<ShareRow> = on_pool!(read, self, |pool| {
            sqlx::query_as(
                "SELECT id, household_id, pet_id, kind, show_location, message, created_at FROM pet_shares \
                 WHERE token_hash = $1 AND kind = $2",
            )
            .bind(token_hash)
            .bind(kind.as_str())
            .fetch_optional(pool)
            .await?
        });
        row.map(ShareRow::into_share).transpose()
    }

    /// Ends a pet's share of this kind; `false` when there was none.
    pub async fn end_share(&self, household_id: HouseholdId, pet_id: PetId, kind: ShareKind) -> Result<bool> {
        let done = on_pool!(write, self, |pool| {
            sqlx::query("DELETE FROM pet_shares WHERE household_id = $1 AND pet_id = $2 AND kind = $3")
                .bind(household_id.0)
                .bind(pet_id.0)
                .bind(kind.as_str())
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(done > 0)
    }

    /// Notes a finder's report on a lost-pet page if the page has had fewer than `max` since
    /// `since`; answers whether it was noted.
    pub async fn note_found_report(
        &self,
        share_id: Uuid,
        since: OffsetDateTime,
        max: i64,
        now: OffsetDateTime,
    ) -> Result<bool> {
        let done = on_pool!(write, self, |pool| {
            sqlx::query(
                "INSERT INTO found_reports (id, share_id, created_at) SELECT $1, $2, $3 \
                 WHERE (SELECT COUNT(*) FROM found_reports WHERE share_id = $2 AND created_at >= $4) < $5",
            )
            .bind(Uuid::now_v7())
            .bind(share_id)
            .bind(to_ms(now))
            .bind(to_ms(since))
            .bind(max)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(done == 1)
    }
}

impl Store {
    /// The pets the household shares with this member (a vet), oldest share first.
    pub async fn vet_shared_pets(&self, household_id: HouseholdId, user_id: UserId) -> Result<Vec<PetId>> {
        let ids: Vec<Uuid> = on_pool!(read, self, |pool| {
            sqlx::query_scalar(
                "SELECT pet_id FROM vet_shares WHERE household_id = $1 AND user_id = $2 ORDER BY created_at, pet_id",
            )
            .bind(household_id.0)
            .bind(user_id.0)
            .fetch_all(pool)
            .await?
        });
        Ok(ids.into_iter().map(PetId).collect())
    }

    /// Whether the household shares this pet with this member (a vet). Read on every request, so
    /// that taking a pet back takes effect at once.
    pub async fn is_shared_with_vet(&self, household_id: HouseholdId, user_id: UserId, pet_id: PetId) -> Result<bool> {
        let found: i64 = on_pool!(read, self, |pool| {
            sqlx::query_scalar(
                "SELECT COUNT(*) FROM vet_shares WHERE household_id = $1 AND user_id = $2 AND pet_id = $3",
            )
            .bind(household_id.0)
            .bind(user_id.0)
            .bind(pet_id.0)
            .fetch_one(pool)
            .await?
        });
        Ok(found > 0)
    }

    /// Replaces the pets shared with a member by `pets`. `NotFound` if they are not a member;
    /// `Conflict("pet")` if a pet is not the household's (nothing is changed then).
    pub async fn set_vet_shared_pets(
        &self,
        household_id: HouseholdId,
        user_id: UserId,
        pets: &[PetId],
        now: OffsetDateTime,
    ) -> Result<()> {
        on_pool!(write, self, |pool| {
            let mut tx = pool.begin_write().await?;
            let member: i64 =
                sqlx::query_scalar("SELECT COUNT(*) FROM memberships WHERE household_id = $1 AND user_id = $2")
                    .bind(household_id.0)
                    .bind(user_id.0)
                    .fetch_one(&mut *tx)
                    .await?;
            if member == 0 {
                return Err(StoreError::NotFound);
            }
            sqlx::query("DELETE FROM vet_shares WHERE household_id = $1 AND user_id = $2")
                .bind(household_id.0)
                .bind(user_id.0)
                .execute(&mut *tx)
                .await?;
            for (i, pet) in pets.iter().enumerate() {
                if pets[..i].contains(pet) {
                    continue;
                }
                let done = sqlx::query(
                    "INSERT INTO vet_shares (household_id, user_id, pet_id, created_at) \
                     SELECT $1, $2, id, $4 FROM pets WHERE id = $3 AND household_id = $1 \
                     ON CONFLICT DO NOTHING",
                )
                .bind(household_id.0)
                .bind(user_id.0)
                .bind(pet.0)
                .bind(to_ms(now))
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if done == 0 {
                    return Err(StoreError::Conflict("pet"));
                }
            }
            tx.commit().await?;
        });
        Ok(())
    }
}
