//! What the life log learns and concludes: each person's newest energy and mood models (the
//! core's versioned text), the training job's per-person state (reports since the last
//! training, a retrain asked for, the last run and why no model came of it), and insights.

use petty_core::ids::{InsightId, UserId};
use petty_core::paging::{Page, PageRequest};
use sqlx::FromRow;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::{BeginWrite, Result, Store, StoreError, from_ms, from_ms_opt, on_pool, to_ms};

/// Which model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelKind {
    Energy,
    Mood,
}

impl ModelKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ModelKind::Energy => "energy",
            ModelKind::Mood => "mood",
        }
    }
}

/// A person's training state.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TrainingState {
    /// Energy or mood reports logged since the last training.
    pub new_reports: i64,
    /// A retrain asked for and not yet run.
    pub requested_at: Option<OffsetDateTime>,
    /// The last training run, whether or not a model came of it.
    pub trained_at: Option<OffsetDateTime>,
    /// Why the last run kept no energy model (not enough data, one class, ...), if it did not.
    pub energy_note: Option<String>,
    pub mood_note: Option<String>,
}

/// A person the training job claimed: who, and this run's number on its UTC day (from 1).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrainingClaim {
    pub user_id: UserId,
    pub run_on_day: i64,
}

/// An insight as kept.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredInsight {
    pub id: InsightId,
    pub user_id: UserId,
    pub insight_type: String,
    pub category: String,
    pub title: String,
    pub content: String,
    /// low, medium or high.
    pub priority: String,
    pub confidence: f64,
    /// A JSON object of the numbers the sentence is made of.
    pub metadata_json: String,
    pub is_read: bool,
    pub is_dismissed: bool,
    pub created_at: OffsetDateTime,
    pub updated_at: Option<OffsetDateTime>,
}

/// An insight to keep (or to update, when its rule already produced one that UTC day).
#[derive(Debug, Clone, PartialEq)]
pub struct NewInsight<'a> {
    pub insight_type: &'a str,
    pub category: &'a str,
    pub title: &'a str,
    pub content: &'a str,
    pub priority: &'a str,
    pub confidence: f64,
    pub metadata_json: &'a str,
}

/// Narrows a person's insights.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InsightFilter {
    pub unread_only: bool,
    pub insight_type: Option<String>,
    pub include_dismissed: bool,
}

#[derive(FromRow)]
struct InsightRow {
    id: Uuid,
    user_id: Uuid,
    insight_type: String,
    category: String,
    title: String,
    content: String,
    priority: String,
    confidence: f64,
    metadata: String,
    is_read: bool,
    is_dismissed: bool,
    created_at: i64,
    updated_at: Option<i64>,
}

impl InsightRow {
    fn into_stored(self) -> Result<StoredInsight> {
        Ok(StoredInsight {
            id: InsightId(self.id),
            user_id: UserId(self.user_id),
            insight_type: self.insight_type,
            category: self.category,
            title: self.title,
            content: self.content,
            priority: self.priority,
            confidence: self.confidence,
            metadata_json: self.metadata,
            is_read: self.is_read,
            is_dismissed: self.is_dismissed,
            created_at: from_ms(self.created_at)?,
            updated_at: from_ms_opt(self.updated_at)?,
        })
    }
}

macro_rules! insight_columns {
    () => {
        "id, user_id, insight_type, category, title, content, priority, confidence, metadata, is_read, \
         is_dismissed, created_at, updated_at"
    };
}

/// `$1` the person, `$2` unread only, `$3` a type, `$4` dismissed ones too.
macro_rules! insight_condition {
    () => {
        "user_id = $1 AND (NOT $2 OR NOT is_read) AND ($3 IS NULL OR insight_type = $3) AND ($4 OR NOT is_dismissed)"
    };
}

/// Adds `$2` reports to person `$1`'s count; at `$3` or more since the last training, a retrain
/// is asked for at `$4`. Answers the request's time (NULL: none asked for; `$4`: asked by this
/// write, an earlier time: asked before and not yet taken up).
pub(crate) const NOTE_REPORTS: &str = "INSERT INTO life_training (user_id, new_reports, requested_at) \
     VALUES ($1, $2, CASE WHEN $2 >= $3 THEN $4 ELSE NULL END) \
     ON CONFLICT (user_id) DO UPDATE SET new_reports = life_training.new_reports + excluded.new_reports, \
     requested_at = CASE WHEN life_training.requested_at IS NOT NULL THEN life_training.requested_at \
     WHEN life_training.new_reports + excluded.new_reports >= $3 THEN $4 ELSE NULL END \
     RETURNING requested_at";

/// The UTC day number of `at` (days since 1970-01-01).
pub fn utc_day(at: OffsetDateTime) -> i64 {
    at.unix_timestamp().div_euclid(86_400)
}

impl Store {
    /// Keeps a person's newest model of `kind` (replacing the one before).
    pub async fn save_life_model(
        &self,
        user: UserId,
        kind: ModelKind,
        version: &str,
        trained_at: OffsetDateTime,
        model: &[u8],
    ) -> Result<()> {
        on_pool!(write, self, |pool| {
            sqlx::query(
                "INSERT INTO life_models (user_id, kind, version, trained_at, model) VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (user_id, kind) DO UPDATE SET version = excluded.version, \
                 trained_at = excluded.trained_at, model = excluded.model",
            )
            .bind(user.0)
            .bind(kind.as_str())
            .bind(version)
            .bind(to_ms(trained_at))
            .bind(model)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// A person's newest model of `kind`: its version, and its text unless that version is
    /// `known` (a caller that holds it parsed need not read it again).
    pub async fn life_model(
        &self,
        user: UserId,
        kind: ModelKind,
        known: Option<&str>,
    ) -> Result<Option<(String, Option<Vec<u8>>)>> {
        Ok(on_pool!(read, self, |pool| {
            sqlx::query_as(
                "SELECT version, CASE WHEN version = $3 THEN NULL ELSE model END FROM life_models \
                 WHERE user_id = $1 AND kind = $2",
            )
            .bind(user.0)
            .bind(kind.as_str())
            .bind(known)
            .fetch_optional(pool)
            .await?
        }))
    }

    /// Notes `reports` new energy or mood reports of a person; once `due_after` have gathered
    /// since the last training, a retrain is asked for. Answers whether this call asked for it
    /// (a request already standing is not asked for again: the job takes it up on its next pass).
    /// (Events added through [`Store::add_life_events`] are noted in the same transaction.)
    pub async fn note_life_reports(
        &self,
        user: UserId,
        reports: i64,
        due_after: i64,
        now: OffsetDateTime,
    ) -> Result<bool> {
        let asked: Option<i64> = on_pool!(write, self, |pool| {
            sqlx::query_scalar(NOTE_REPORTS)
                .bind(user.0)
                .bind(reports)
                .bind(due_after)
                .bind(to_ms(now))
                .fetch_one(pool)
                .await?
        });
        Ok(asked == Some(to_ms(now)))
    }

    /// Asks for a person's models to be trained at the job's next pass.
    pub async fn request_life_training(&self, user: UserId, now: OffsetDateTime) -> Result<()> {
        on_pool!(write, self, |pool| {
            sqlx::query(
                "INSERT INTO life_training (user_id, requested_at) VALUES ($1, $2) \
                 ON CONFLICT (user_id) DO UPDATE SET requested_at = COALESCE(life_training.requested_at, $2)",
            )
            .bind(user.0)
            .bind(to_ms(now))
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// Claims up to `limit` people whose training is due at `now`: a retrain asked for (once
    /// their last run is before `not_since`, so a flood of reports or requests trains a person
    /// at most once in that time), or new reports since a last run before `daily_cutoff` (the
    /// last daily training time). Their counts are reset and the run noted, so each is trained
    /// once.
    pub async fn claim_life_training(
        &self,
        now: OffsetDateTime,
        daily_cutoff: OffsetDateTime,
        not_since: OffsetDateTime,
        limit: i64,
    ) -> Result<Vec<TrainingClaim>> {
        let (now_ms, cutoff, day, gap) = (to_ms(now), to_ms(daily_cutoff), utc_day(now), to_ms(not_since));
        let rows: Vec<(Uuid, i64)> = on_pool!(write, self, |pool| {
            let mut tx = pool.begin_write().await?;
            let due: Vec<(Uuid,)> = sqlx::query_as(
                "SELECT user_id FROM life_training WHERE \
                 (requested_at IS NOT NULL AND (trained_at IS NULL OR trained_at < $3)) \
                 OR (new_reports > 0 AND (trained_at IS NULL OR trained_at < $1)) ORDER BY user_id LIMIT $2",
            )
            .bind(cutoff)
            .bind(limit)
            .bind(gap)
            .fetch_all(&mut *tx)
            .await?;
            let mut claimed = Vec::with_capacity(due.len());
            for (user,) in due {
                // The condition again: on PostgreSQL another node may have claimed the row
                // between the SELECT and here.
                let run: Option<i64> = sqlx::query_scalar(
                    "UPDATE life_training SET requested_at = NULL, new_reports = 0, trained_at = $2, \
                     runs_on_day = CASE WHEN run_day = $3 THEN runs_on_day + 1 ELSE 1 END, run_day = $3 \
                     WHERE user_id = $1 AND ((requested_at IS NOT NULL AND (trained_at IS NULL OR trained_at < $5)) \
                     OR (new_reports > 0 AND (trained_at IS NULL OR trained_at < $4))) RETURNING runs_on_day",
                )
                .bind(user)
                .bind(now_ms)
                .bind(day)
                .bind(cutoff)
                .bind(gap)
                .fetch_optional(&mut *tx)
                .await?;
                if let Some(run) = run {
                    claimed.push((user, run));
                }
            }
            tx.commit().await?;
            claimed
        });
        Ok(rows.into_iter().map(|(u, run)| TrainingClaim { user_id: UserId(u), run_on_day: run }).collect())
    }

    /// Notes why the run kept no model of a kind (`None`: it kept one).
    pub async fn note_life_training(
        &self,
        user: UserId,
        energy_note: Option<&str>,
        mood_note: Option<&str>,
    ) -> Result<()> {
        on_pool!(write, self, |pool| {
            sqlx::query("UPDATE life_training SET energy_note = $2, mood_note = $3 WHERE user_id = $1")
                .bind(user.0)
                .bind(energy_note)
                .bind(mood_note)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    /// A person's training state (the default before they logged any report).
    pub async fn life_training_state(&self, user: UserId) -> Result<TrainingState> {
        type Row = (i64, Option<i64>, Option<i64>, Option<String>, Option<String>);
        let row: Option<Row> = on_pool!(read, self, |pool| {
            sqlx::query_as(
                "SELECT new_reports, requested_at, trained_at, energy_note, mood_note FROM life_training \
                 WHERE user_id = $1",
            )
            .bind(user.0)
            .fetch_optional(pool)
            .await?
        });
        let Some((new_reports, requested_at, trained_at, energy_note, mood_note)) = row else {
            return Ok(TrainingState::default());
        };
        Ok(TrainingState {
            new_reports,
            requested_at: from_ms_opt(requested_at)?,
            trained_at: from_ms_opt(trained_at)?,
            energy_note,
            mood_note,
        })
    }

    /// Keeps an insight, or updates the one its rule produced for the person on the same UTC
    /// day (same id; read and dismissed kept).
    pub async fn upsert_life_insight(
        &self,
        user: UserId,
        insight: &NewInsight<'_>,
        now: OffsetDateTime,
    ) -> Result<StoredInsight> {
        let row: InsightRow = on_pool!(write, self, |pool| {
            sqlx::query_as(concat!(
                "INSERT INTO life_insights (id, user_id, insight_type, category, title, content, priority, \
                 confidence, metadata, day, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
                 ON CONFLICT (user_id, insight_type, day) DO UPDATE SET category = excluded.category, \
                 title = excluded.title, content = excluded.content, priority = excluded.priority, \
                 confidence = excluded.confidence, metadata = excluded.metadata, updated_at = excluded.created_at \
                 RETURNING ",
                insight_columns!()
            ))
            .bind(InsightId::new().0)
            .bind(user.0)
            .bind(insight.insight_type)
            .bind(insight.category)
            .bind(insight.title)
            .bind(insight.content)
            .bind(insight.priority)
            .bind(insight.confidence)
            .bind(insight.metadata_json)
            .bind(utc_day(now))
            .bind(to_ms(now))
            .fetch_one(pool)
            .await?
        });
        row.into_stored()
    }

    /// A person's insights, newest first.
    pub async fn list_life_insights(
        &self,
        user: UserId,
        filter: &InsightFilter,
        page: PageRequest,
    ) -> Result<Page<StoredInsight>> {
        let (total, rows): (i64, Vec<InsightRow>) = on_pool!(read, self, |pool| {
            let total = sqlx::query_scalar(concat!("SELECT COUNT(*) FROM life_insights WHERE ", insight_condition!()))
                .bind(user.0)
                .bind(filter.unread_only)
                .bind(filter.insight_type.as_deref())
                .bind(filter.include_dismissed)
                .fetch_one(pool)
                .await?;
            let rows = sqlx::query_as(concat!(
                "SELECT ",
                insight_columns!(),
                " FROM life_insights WHERE ",
                insight_condition!(),
                " ORDER BY COALESCE(updated_at, created_at) DESC, created_at DESC, id DESC LIMIT $5 OFFSET $6"
            ))
            .bind(user.0)
            .bind(filter.unread_only)
            .bind(filter.insight_type.as_deref())
            .bind(filter.include_dismissed)
            .bind(page.limit())
            .bind(page.offset())
            .fetch_all(pool)
            .await?;
            (total, rows)
        });
        Ok(Page {
            items: rows.into_iter().map(InsightRow::into_stored).collect::<Result<_>>()?,
            total: total as u64,
            request: page,
        })
    }

    /// One of a person's insights.
    pub async fn get_life_insight(&self, user: UserId, id: InsightId) -> Result<StoredInsight> {
        let row: InsightRow = on_pool!(read, self, |pool| {
            sqlx::query_as(concat!("SELECT ", insight_columns!(), " FROM life_insights WHERE id = $1 AND user_id = $2"))
                .bind(id.0)
                .bind(user.0)
                .fetch_one(pool)
                .await?
        });
        row.into_stored()
    }

    /// Marks one of a person's insights read, or dismissed.
    pub async fn mark_life_insight(
        &self,
        user: UserId,
        id: InsightId,
        read: bool,
        dismissed: bool,
    ) -> Result<StoredInsight> {
        let row: Option<InsightRow> = on_pool!(write, self, |pool| {
            sqlx::query_as(concat!(
                "UPDATE life_insights SET is_read = is_read OR $3, is_dismissed = is_dismissed OR $4 \
                 WHERE id = $1 AND user_id = $2 RETURNING ",
                insight_columns!()
            ))
            .bind(id.0)
            .bind(user.0)
            .bind(read)
            .bind(dismissed)
            .fetch_optional(pool)
            .await?
        });
        row.ok_or(StoreError::NotFound)?.into_stored()
    }
}
