//! The life log: a person's events (theirs, whichever household they act in) and a pet's (its
//! household's). `event_data`, `context` and `tags` are kept as the JSON text that came, so an
//! answer echoes them exactly; the core reads `event_data`'s top-level values, rebuilt from that
//! text by [`event_data_of`].

use petty_core::ids::{HouseholdId, LifeEventId, PetId, UserId};
use petty_core::lifelog::{DataValue, EventContent, EventData, EventType, LifeEvent, Subject};
use petty_core::paging::{Page, PageRequest};
use sqlx::FromRow;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::{BeginWrite, Result, Store, StoreError, from_ms, from_ms_opt, on_pool, to_ms};

/// An event as kept: the checked content, and the JSON the client sent for `event_data` and
/// `context`.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredLifeEvent {
    pub event: LifeEvent,
    /// The pet's household, for a pet's event.
    pub household_id: Option<HouseholdId>,
    pub event_data_json: String,
    pub context_json: String,
    pub created_by: Option<UserId>,
}

/// An event to keep.
#[derive(Debug, Clone)]
pub struct NewLifeEvent {
    pub subject: Subject,
    /// The household a pet's event belongs to (ignored for a person's).
    pub household_id: HouseholdId,
    pub content: EventContent,
    pub event_data_json: String,
    pub context_json: String,
    pub created_by: Option<UserId>,
}

/// Narrows a subject's events.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LifeEventFilter {
    pub event_type: Option<String>,
    /// At or after (milliseconds).
    pub start: Option<OffsetDateTime>,
    /// At or before.
    pub end: Option<OffsetDateTime>,
}

/// `event_data`'s top-level values, from the JSON text kept (anything else reads as empty).
pub fn event_data_of(json: &str) -> EventData {
    let mut data = EventData::new();
    if let Ok(serde_json::Value::Object(map)) = serde_json::from_str::<serde_json::Value>(json) {
        for (key, value) in map {
            let value = match value {
                serde_json::Value::Number(n) => n.as_f64().map_or(DataValue::Nested, DataValue::Number),
                serde_json::Value::String(s) => DataValue::Text(s),
                serde_json::Value::Bool(b) => DataValue::Bool(b),
                serde_json::Value::Null => DataValue::Null,
                _ => DataValue::Nested,
            };
            data.insert(key, value);
        }
    }
    data
}

#[derive(FromRow)]
struct LifeEventRow {
    id: Uuid,
    user_id: Option<Uuid>,
    household_id: Option<Uuid>,
    pet_id: Option<Uuid>,
    event_type: String,
    title: String,
    event_time: i64,
    event_category: Option<String>,
    description: Option<String>,
    event_data: String,
    context: String,
    duration_minutes: Option<i64>,
    tags: String,
    source: String,
    created_by: Option<Uuid>,
    created_at: i64,
    updated_at: Option<i64>,
}

macro_rules! life_event_columns {
    () => {
        "id, user_id, household_id, pet_id, event_type, title, event_time, event_category, description, \
         event_data, context, duration_minutes, tags, source, created_by, created_at, updated_at"
    };
}

impl LifeEventRow {
    /// A row of `life_event_columns!()` as rusqlite reads it.
    fn from_sqlite(row: &rusqlite::Row<'_>) -> rusqlite::Result<LifeEventRow> {
        use crate::fastread::{uuid, uuid_opt};
        Ok(LifeEventRow {
            id: uuid(row, 0)?,
            user_id: uuid_opt(row, 1)?,
            household_id: uuid_opt(row, 2)?,
            pet_id: uuid_opt(row, 3)?,
            event_type: row.get(4)?,
            title: row.get(5)?,
            event_time: row.get(6)?,
            event_category: row.get(7)?,
            description: row.get(8)?,
            event_data: row.get(9)?,
            context: row.get(10)?,
            duration_minutes: row.get(11)?,
            tags: row.get(12)?,
            source: row.get(13)?,
            created_by: uuid_opt(row, 14)?,
            created_at: row.get(15)?,
            updated_at: row.get(16)?,
        })
    }

    fn into_stored(self) -> Result<StoredLifeEvent> {
        let corrupt = |what: &str| StoreError::Corrupt(format!("life event {}: {what}", self.id));
        let subject = match (self.user_id, self.pet_id) {
            (Some(user), None) => Subject::Person(UserId(user)),
            (None, Some(pet)) => Subject::Pet(PetId(pet)),
            _ => return Err(corrupt("subject")),
        };
        let tags: Vec<String> = serde_json::from_str(&self.tags).map_err(|_| corrupt("tags"))?;
        let content = EventContent {
            event_type: EventType::parse("event_type", &self.event_type).map_err(|_| corrupt("event_type"))?,
            title: self.title,
            event_time: from_ms(self.event_time)?,
            event_category: self.event_category,
            description: self.description,
            event_data: event_data_of(&self.event_data),
            duration_minutes: self
                .duration_minutes
                .map(|m| u32::try_from(m).map_err(|_| corrupt("duration")))
                .transpose()?,
            tags,
            source: self.source,
        };
        Ok(StoredLifeEvent {
            event: LifeEvent {
                id: LifeEventId(self.id),
                subject,
                content,
                created_at: from_ms(self.created_at)?,
                updated_at: from_ms_opt(self.updated_at)?,
            },
            household_id: self.household_id.map(HouseholdId),
            event_data_json: self.event_data,
            context_json: self.context,
            created_by: self.created_by.map(UserId),
        })
    }
}

/// Whose events a statement is about, as the indexes see them: a person's by `user_id`, a pet's
/// by household and pet (each has a partial index), never one condition for both (an `OR`
/// of the two would read the whole table).
#[derive(Clone, Copy)]
enum Keys {
    Person(Uuid),
    Pet { household: Uuid, pet: Uuid },
}

impl Keys {
    fn of(subject: Subject, household_id: HouseholdId) -> Keys {
        match subject {
            Subject::Person(user) => Keys::Person(user.0),
            Subject::Pet(pet) => Keys::Pet { household: household_id.0, pet: pet.0 },
        }
    }

    /// The subject's condition (`$1`, or `$1` and `$2`) and the number of the next parameter.
    fn condition(self) -> (&'static str, usize) {
        match self {
            Keys::Person(_) => ("user_id = $1", 2),
            Keys::Pet { .. } => ("household_id = $1 AND pet_id = $2", 3),
        }
    }

    /// `SELECT <columns> FROM life_events WHERE <subject> AND <rest>`, where `rest` numbers its
    /// parameters from `{n}` (replaced by the next number), `{n+1}` and so on up to `{n+5}`.
    fn sql(self, head: &str, rest: &str) -> String {
        let (condition, next) = self.condition();
        let mut rest = rest.to_owned();
        for k in (0..6).rev() {
            let from = if k == 0 { "{n}".to_owned() } else { format!("{{n+{k}}}") };
            rest = rest.replace(&from, &format!("${}", next + k));
        }
        format!("{head} FROM life_events WHERE {condition}{rest}")
    }
}

/// Binds a statement's subject parameters (`$1`, or `$1` and `$2`).
macro_rules! bind_keys {
    ($query:expr, $keys:expr) => {
        match $keys {
            Keys::Person(user) => $query.bind(user),
            Keys::Pet { household, pet } => $query.bind(household).bind(pet),
        }
    };
}

/// The filters of a list: a type, from, to (`{n}` .. `{n+2}`).
const FILTERS: &str = " AND ({n} IS NULL OR event_type = {n}) AND ({n+1} IS NULL OR event_time >= {n+1}) AND ({n+2} IS NULL OR event_time <= {n+2})";

/// Inserts one event (`$1`–`$19`: the columns in order, the last `created_at`); a pet's only
/// when the pet is its household's (`$4` the pet, `$3` the household), else no row.
pub(crate) const INSERT_LIFE_EVENT: &str = "INSERT INTO life_events (id, user_id, household_id, pet_id, event_type, \
     title, event_time, event_category, description, event_data, context, duration_minutes, tags, source, \
     impact_score, energy_impact, mood_impact, created_by, created_at) \
     SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19 \
     WHERE $4 IS NULL OR EXISTS (SELECT 1 FROM pets WHERE id = $4 AND household_id = $3)";

/// An event's column values, ready to bind on either engine or in the SQLite writer.
pub(crate) struct LifeRow {
    pub(crate) id: Uuid,
    pub(crate) user: Option<Uuid>,
    pub(crate) household: Option<Uuid>,
    pub(crate) pet: Option<Uuid>,
    pub(crate) event_type: String,
    pub(crate) title: String,
    pub(crate) event_time: i64,
    pub(crate) event_category: Option<String>,
    pub(crate) description: Option<String>,
    pub(crate) event_data: String,
    pub(crate) context: String,
    pub(crate) duration_minutes: Option<i64>,
    pub(crate) tags: String,
    pub(crate) source: String,
    pub(crate) impact_score: f64,
    pub(crate) energy_impact: f64,
    pub(crate) mood_impact: f64,
    pub(crate) created_by: Option<Uuid>,
}

impl LifeRow {
    fn of(new: &NewLifeEvent) -> Result<LifeRow> {
        let (user, household, pet) = match new.subject {
            Subject::Person(user) => (Some(user.0), None, None),
            Subject::Pet(pet) => (None, Some(new.household_id.0), Some(pet.0)),
        };
        let c = &new.content;
        let impact = c.impact();
        Ok(LifeRow {
            id: LifeEventId::new().0,
            user,
            household,
            pet,
            event_type: c.event_type.as_str().to_owned(),
            title: c.title.clone(),
            event_time: to_ms(c.event_time),
            event_category: c.event_category.clone(),
            description: c.description.clone(),
            event_data: new.event_data_json.clone(),
            context: new.context_json.clone(),
            duration_minutes: c.duration_minutes.map(i64::from),
            tags: serde_json::to_string(&c.tags).map_err(|e| StoreError::Corrupt(e.to_string()))?,
            source: c.source.clone(),
            impact_score: impact.impact_score,
            energy_impact: impact.energy_impact,
            mood_impact: impact.mood_impact,
            created_by: new.created_by.map(|u| u.0),
        })
    }
}

/// Events kept, and whether the energy and mood reports among them made a person's training due.
#[derive(Debug, Clone, PartialEq)]
pub struct AddedLifeEvents {
    pub events: Vec<StoredLifeEvent>,
    pub training_due: bool,
}

impl Store {
    /// Keeps `events`, all or none, in their order. `NotFound` if a pet's event names a pet that
    /// is not its household's. In the same transaction, a person's energy and mood reports are
    /// counted for training: `retrain_after` reports since the last training make it due.
    pub async fn add_life_events(
        &self,
        events: &[NewLifeEvent],
        now: OffsetDateTime,
        retrain_after: i64,
    ) -> Result<AddedLifeEvents> {
        let at = to_ms(now);
        let mut reports: std::collections::BTreeMap<Uuid, i64> = std::collections::BTreeMap::new();
        for new in events {
            if let Subject::Person(user) = new.subject
                && new.content.is_report()
            {
                *reports.entry(user.0).or_insert(0) += 1;
            }
        }
        let rows: Vec<LifeRow> = events.iter().map(LifeRow::of).collect::<Result<_>>()?;
        let kept = |rows: &[LifeRow]| -> Result<Vec<StoredLifeEvent>> {
            rows.iter()
                .zip(events)
                .map(|(row, new)| {
                    Ok(StoredLifeEvent {
                        event: LifeEvent {
                            id: LifeEventId(row.id),
                            subject: new.subject,
                            content: new.content.clone(),
                            created_at: from_ms(at)?,
                            updated_at: None,
                        },
                        household_id: row.household.map(HouseholdId),
                        event_data_json: new.event_data_json.clone(),
                        context_json: new.context_json.clone(),
                        created_by: new.created_by,
                    })
                })
                .collect()
        };
        let reports: Vec<(Uuid, i64)> = reports.into_iter().collect();
        if matches!(self.backend, crate::Backend::Sqlite { .. }) {
            // SQLite: through the group-commit writer, so that concurrent requests share a
            // commit, as readings do.
            let stored = kept(&rows)?;
            let (reply, answer) = tokio::sync::oneshot::channel();
            let job = crate::ingest::LifeJob { rows, reports, retrain_after, at, reply };
            self.ingest
                .tx
                .send(crate::ingest::Message::Life(job))
                .await
                .map_err(|_| StoreError::Unavailable("the writer has stopped".into()))?;
            let outcome = match answer.await {
                Ok(Ok(outcome)) => outcome,
                Ok(Err(message)) => return Err(StoreError::Unavailable(message)),
                Err(_) => return Err(StoreError::Unavailable("the writer has stopped".into())),
            };
            drop(crate::WriteMark(&self.writes));
            return match outcome {
                crate::ingest::LifeOutcome::Kept { training_due } => {
                    Ok(AddedLifeEvents { events: stored, training_due })
                }
                crate::ingest::LifeOutcome::NoSuchPet => Err(StoreError::NotFound),
            };
        }
        let mut training_due = false;
        on_pool!(write, self, |pool| {
            let mut tx = pool.begin_write().await?;
            for row in &rows {
                let done = sqlx::query(INSERT_LIFE_EVENT)
                    .bind(row.id)
                    .bind(row.user)
                    .bind(row.household)
                    .bind(row.pet)
                    .bind(&row.event_type)
                    .bind(&row.title)
                    .bind(row.event_time)
                    .bind(&row.event_category)
                    .bind(&row.description)
                    .bind(&row.event_data)
                    .bind(&row.context)
                    .bind(row.duration_minutes)
                    .bind(&row.tags)
                    .bind(&row.source)
                    .bind(row.impact_score)
                    .bind(row.energy_impact)
                    .bind(row.mood_impact)
                    .bind(row.created_by)
                    .bind(at)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                if done != 1 {
                    return Err(StoreError::NotFound);
                }
            }
            for (user, n) in &reports {
                let asked: Option<i64> = sqlx::query_scalar(crate::life_models::NOTE_REPORTS)
                    .bind(*user)
                    .bind(*n)
                    .bind(retrain_after)
                    .bind(at)
                    .fetch_one(&mut *tx)
                    .await?;
                training_due |= asked == Some(at);
            }
            tx.commit().await?;
        });
        Ok(AddedLifeEvents { events: kept(&rows)?, training_due })
    }

    /// One event of this subject (a person's own, or a pet of this household).
    pub async fn get_life_event(
        &self,
        subject: Subject,
        household_id: HouseholdId,
        id: LifeEventId,
    ) -> Result<StoredLifeEvent> {
        let keys = Keys::of(subject, household_id);
        let sql = keys.sql(concat!("SELECT ", life_event_columns!()), " AND id = {n}");
        let row: LifeEventRow = on_pool!(read, self, |pool| {
            bind_keys!(sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())), keys).bind(id.0).fetch_one(pool).await?
        });
        row.into_stored()
    }

    /// A subject's events, newest `event_time` first, then the most recently created.
    pub async fn list_life_events(
        &self,
        subject: Subject,
        household_id: HouseholdId,
        filter: &LifeEventFilter,
        page: PageRequest,
    ) -> Result<Page<StoredLifeEvent>> {
        let keys = Keys::of(subject, household_id);
        let (start, end) = (filter.start.map(to_ms), filter.end.map(to_ms));
        let count = keys.sql("SELECT COUNT(*)", FILTERS);
        let page_sql = keys.sql(
            concat!("SELECT ", life_event_columns!()),
            &format!("{FILTERS} ORDER BY event_time DESC, created_at DESC, id DESC LIMIT {{n+3}} OFFSET {{n+4}}"),
        );
        let (total, rows): (i64, Vec<LifeEventRow>) = on_pool!(read, self, |pool| {
            let total = bind_keys!(sqlx::query_scalar(sqlx::AssertSqlSafe(count.as_str())), keys)
                .bind(filter.event_type.as_deref())
                .bind(start)
                .bind(end)
                .fetch_one(pool)
                .await?;
            let rows = bind_keys!(sqlx::query_as(sqlx::AssertSqlSafe(page_sql.as_str())), keys)
                .bind(filter.event_type.as_deref())
                .bind(start)
                .bind(end)
                .bind(page.limit())
                .bind(page.offset())
                .fetch_all(pool)
                .await?;
            (total, rows)
        });
        Ok(Page {
            items: rows.into_iter().map(LifeEventRow::into_stored).collect::<Result<_>>()?,
            total: total as u64,
            request: page,
        })
    }

    /// A subject's events with `event_time` in `[start, end]`, oldest first: what predictions,
    /// stats and insights read.
    pub async fn life_events_between(
        &self,
        subject: Subject,
        household_id: HouseholdId,
        start: OffsetDateTime,
        end: OffsetDateTime,
    ) -> Result<Vec<LifeEvent>> {
        let keys = Keys::of(subject, household_id);
        let (start, end) = (to_ms(start), to_ms(end));
        if let Some(fast) = &self.fast {
            // Thousands of rows: read on a blocking thread with rusqlite, one hand-off in all
            // instead of one per row through sqlx's connection thread.
            let fast = fast.clone();
            let sql = keys
                .sql(
                    concat!("SELECT ", life_event_columns!()),
                    " AND event_time >= {n} AND event_time <= {n+1} ORDER BY event_time, created_at, id",
                )
                .replace('$', "?");
            let rows = tokio::task::spawn_blocking(move || {
                fast.with(|conn| {
                    let mut statement = conn.prepare_cached(&sql)?;
                    match keys {
                        Keys::Person(user) => statement
                            .query_map(rusqlite::params![&user.as_bytes()[..], start, end], LifeEventRow::from_sqlite)?
                            .collect::<rusqlite::Result<Vec<_>>>(),
                        Keys::Pet { household, pet } => statement
                            .query_map(
                                rusqlite::params![&household.as_bytes()[..], &pet.as_bytes()[..], start, end],
                                LifeEventRow::from_sqlite,
                            )?
                            .collect::<rusqlite::Result<Vec<_>>>(),
                    }
                })
            })
            .await
            .map_err(|e| StoreError::Unavailable(format!("reading life events stopped: {e}")))??;
            return rows.into_iter().map(|r| r.into_stored().map(|s| s.event)).collect();
        }
        let sql = keys.sql(
            concat!("SELECT ", life_event_columns!()),
            " AND event_time >= {n} AND event_time <= {n+1} ORDER BY event_time, created_at, id",
        );
        let rows: Vec<LifeEventRow> = on_pool!(read, self, |pool| {
            bind_keys!(sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())), keys)
                .bind(start)
                .bind(end)
                .fetch_all(pool)
                .await?
        });
        rows.into_iter().map(|r| r.into_stored().map(|s| s.event)).collect()
    }

    /// Replaces an event's content (and its JSON), stamping `updated_at`.
    pub async fn update_life_event(
        &self,
        stored: &StoredLifeEvent,
        content: &EventContent,
        event_data_json: &str,
        context_json: &str,
        now: OffsetDateTime,
    ) -> Result<StoredLifeEvent> {
        let impact = content.impact();
        let tags = serde_json::to_string(&content.tags).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let done = on_pool!(write, self, |pool| {
            sqlx::query(
                "UPDATE life_events SET event_type = $2, title = $3, event_time = $4, event_category = $5, \
                 description = $6, event_data = $7, context = $8, duration_minutes = $9, tags = $10, source = $11, \
                 impact_score = $12, energy_impact = $13, mood_impact = $14, updated_at = $15 WHERE id = $1",
            )
            .bind(stored.event.id.0)
            .bind(content.event_type.as_str())
            .bind(&content.title)
            .bind(to_ms(content.event_time))
            .bind(&content.event_category)
            .bind(&content.description)
            .bind(event_data_json)
            .bind(context_json)
            .bind(content.duration_minutes.map(i64::from))
            .bind(&tags)
            .bind(&content.source)
            .bind(impact.impact_score)
            .bind(impact.energy_impact)
            .bind(impact.mood_impact)
            .bind(to_ms(now))
            .execute(pool)
            .await?
            .rows_affected()
        });
        if done != 1 {
            return Err(StoreError::NotFound);
        }
        let mut updated = stored.clone();
        updated.event.content = content.clone();
        updated.event.updated_at = Some(from_ms(to_ms(now))?);
        updated.event_data_json = event_data_json.to_owned();
        updated.context_json = context_json.to_owned();
        Ok(updated)
    }

    /// Removes one event of this subject.
    pub async fn delete_life_event(&self, subject: Subject, household_id: HouseholdId, id: LifeEventId) -> Result<()> {
        let keys = Keys::of(subject, household_id);
        let sql = keys.sql("DELETE", " AND id = {n}");
        let done = on_pool!(write, self, |pool| {
            bind_keys!(sqlx::query(sqlx::AssertSqlSafe(sql.as_str())), keys)
                .bind(id.0)
                .execute(pool)
                .await?
                .rows_affected()
        });
        if done == 1 { Ok(()) } else { Err(StoreError::NotFound) }
    }
}
