//! What the behaviour analysis found, and what owners said about it: episodes, episode
//! feedback, per-day summaries with the wellness score, anomalies, and the compatibility
//! profile's free-text feedback.

use petty_core::behaviour::{Behaviour, Episode};
use petty_core::ids::{DeviceId, HouseholdId, PetId, UserId};
use sha2::{Digest, Sha256};
use sqlx::FromRow;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::{BeginWrite, Result, Store, StoreError, from_ms, on_pool, to_ms};

/// An episode as stored, with the owner's latest word on it.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEpisode {
    pub id: Uuid,
    pub pet_id: PetId,
    pub device_id: DeviceId,
    pub episode: Episode,
    /// The newest feedback on this episode, if any.
    pub feedback: Option<FeedbackNote>,
}

/// What an owner said about an episode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedbackVerdict {
    Confirmed,
    Wrong,
    Relabelled,
}

impl FeedbackVerdict {
    pub fn as_str(self) -> &'static str {
        match self {
            FeedbackVerdict::Confirmed => "confirmed",
            FeedbackVerdict::Wrong => "wrong",
            FeedbackVerdict::Relabelled => "relabelled",
        }
    }

    fn parse(s: &str) -> Option<FeedbackVerdict> {
        [FeedbackVerdict::Confirmed, FeedbackVerdict::Wrong, FeedbackVerdict::Relabelled]
            .into_iter()
            .find(|v| v.as_str() == s)
    }
}

/// The owner's word on an episode, as shown beside it.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedbackNote {
    pub verdict: FeedbackVerdict,
    /// The label the owner gave (relabelled only).
    pub label: Option<Behaviour>,
    pub note: Option<String>,
    pub at: OffsetDateTime,
}

/// One piece of feedback with its own copy of what it judged.
#[derive(Debug, Clone, PartialEq)]
pub struct EpisodeFeedback {
    pub id: Uuid,
    pub pet_id: PetId,
    pub episode_id: Uuid,
    pub start_ms: i64,
    pub end_ms: i64,
    /// What Petty had said.
    pub said: Behaviour,
    pub verdict: FeedbackVerdict,
    pub label: Option<Behaviour>,
    pub note: Option<String>,
    /// The episode's mean feature values when it was judged.
    pub features: Option<Vec<f64>>,
    pub user_id: Option<UserId>,
    pub created_at: OffsetDateTime,
}

/// A new piece of feedback.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEpisodeFeedback {
    pub verdict: FeedbackVerdict,
    pub label: Option<Behaviour>,
    pub note: Option<String>,
    pub features: Option<Vec<f64>>,
    pub user_id: Option<UserId>,
}

/// A pet's local day: its summary (JSON written by the caller) and wellness score.
#[derive(Debug, Clone, PartialEq)]
pub struct PetDay {
    pub day: time::Date,
    pub summary: String,
    pub wellness: Option<i64>,
    pub updated_at: OffsetDateTime,
}

/// An anomaly as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredAnomaly {
    pub id: Uuid,
    pub pet_id: PetId,
    pub day: time::Date,
    pub kind: String,
    pub severity: String,
    pub at_ms: i64,
    pub explanation: String,
    pub value: f64,
    pub baseline: Option<f64>,
    pub created_at: OffsetDateTime,
}

/// A new anomaly (kind and severity as their snake_case names).
#[derive(Debug, Clone, PartialEq)]
pub struct NewAnomaly {
    pub kind: String,
    pub severity: String,
    pub at_ms: i64,
    pub explanation: String,
    pub value: f64,
    pub baseline: Option<f64>,
}

/// Free-text feedback from the compatibility route, already escaped and redacted.
#[derive(Debug, Clone, PartialEq)]
pub struct NewCompatFeedback {
    pub household_id: Option<HouseholdId>,
    pub event_id: String,
    pub user_feedback: String,
    pub ts: Option<String>,
    pub segment: Option<String>,
}

/// The episode's id: the same pet and start always give the same id, so a re-analysis keeps
/// the ids (and the feedback links) of episodes that did not move.
pub fn episode_id(pet_id: PetId, start_ms: i64) -> Uuid {
    let mut h = Sha256::new();
    h.update(b"petty-episode");
    h.update(pet_id.0.as_bytes());
    h.update(start_ms.to_be_bytes());
    let digest = h.finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_custom_bytes(bytes).into_uuid()
}

#[derive(FromRow)]
struct EpisodeRow {
    id: Uuid,
    pet_id: Uuid,
    device_id: Uuid,
    start_ts: i64,
    end_ts: i64,
    label: String,
    confidence: f64,
    features: String,
    model_version: String,
    f_verdict: Option<String>,
    f_label: Option<String>,
    f_note: Option<String>,
    f_at: Option<i64>,
}

impl EpisodeRow {
    fn into_stored(self) -> Result<StoredEpisode> {
        let corrupt = |what: &str| StoreError::Corrupt(format!("episode {}: {what}", self.id));
        let features: Vec<(String, f64)> = serde_json::from_str(&self.features).map_err(|_| corrupt("features"))?;
        let feedback = match (self.f_verdict, self.f_at) {
            (Some(v), Some(at)) => Some(FeedbackNote {
                verdict: FeedbackVerdict::parse(&v).ok_or_else(|| corrupt("verdict"))?,
                label: self
                    .f_label
                    .map(|l| l.parse::<Behaviour>().map_err(|_| corrupt("feedback label")))
                    .transpose()?,
                note: self.f_note,
                at: from_ms(at)?,
            }),
            _ => None,
        };
        Ok(StoredEpisode {
            id: self.id,
            pet_id: PetId(self.pet_id),
            device_id: DeviceId(self.device_id),
            episode: Episode {
                start_ms: self.start_ts,
                end_ms: self.end_ts,
                label: self.label.parse().map_err(|_| corrupt("label"))?,
                confidence: self.confidence,
                features,
                model_version: self.model_version,
            },
            feedback,
        })
    }
}

/// Episode columns with the newest feedback on each (`e` is episodes).
const EPISODE_SELECT: &str = "SELECT e.id, e.pet_id, e.device_id, e.start_ts, e.end_ts, e.label, e.confidence, \
     e.features, e.model_version, f.verdict AS f_verdict, f.label AS f_label, f.note AS f_note, f.created_at AS f_at \
     FROM episodes e LEFT JOIN episode_feedback f ON f.id = (SELECT g.id FROM episode_feedback g \
     WHERE g.episode_id = e.id AND g.household_id = e.household_id ORDER BY g.created_at DESC, g.id DESC LIMIT 1) ";

#[derive(FromRow)]
struct FeedbackRow {
    id: Uuid,
    pet_id: Uuid,
    episode_id: Uuid,
    start_ts: i64,
    end_ts: i64,
    said_label: String,
    verdict: String,
    label: Option<String>,
    note: Option<String>,
    features: Option<String>,
    user_id: Option<Uuid>,
    created_at: i64,
}

impl FeedbackRow {
    fn into_feedback(self) -> Result<EpisodeFeedback> {
        let corrupt = |what: &str| StoreError::Corrupt(format!("feedback {}: {what}", self.id));
        Ok(EpisodeFeedback {
            id: self.id,
            pet_id: PetId(self.pet_id),
            episode_id: self.episode_id,
            start_ms: self.start_ts,
            end_ms: self.end_ts,
            said: self.said_label.parse().map_err(|_| corrupt("said_label"))?,
            verdict: FeedbackVerdict::parse(&self.verdict).ok_or_else(|| corrupt("verdict"))?,
            label: self.label.map(|l| l.parse::<Behaviour>().map_err(|_| corrupt("label"))).transpose()?,
            note: self.note,
            features: self
                .features
                .map(|f| serde_json::from_str::<Vec<f64>>(&f).map_err(|_| corrupt("features")))
                .transpose()?,
            user_id: self.user_id.map(UserId),
            created_at: from_ms(self.created_at)?,
        })
    }
}

const FEEDBACK_COLUMNS: &str =
    "id, pet_id, episode_id, start_ts, end_ts, said_label, verdict, label, note, features, user_id, created_at";

#[derive(FromRow)]
struct AnomalyRow {
    id: Uuid,
    pet_id: Uuid,
    day: String,
    kind: String,
    severity: String,
    at: i64,
    explanation: String,
    value: f64,
    baseline: Option<f64>,
    created_at: i64,
}

impl AnomalyRow {
    fn into_anomaly(self) -> Result<StoredAnomaly> {
        Ok(StoredAnomaly {
            id: self.id,
            pet_id: PetId(self.pet_id),
            day: parse_day(&self.day)?,
            kind: self.kind,
            severity: self.severity,
            at_ms: self.at,
            explanation: self.explanation,
            value: self.value,
            baseline: self.baseline,
            created_at: from_ms(self.created_at)?,
        })
    }
}

const ANOMALY_COLUMNS: &str = "id, pet_id, day, kind, severity, at, explanation, value, baseline, created_at";

fn day_text(day: time::Date) -> String {
    petty_core::pets::format_date(day)
}

fn parse_day(text: &str) -> Result<time::Date> {
    petty_core::pets::parse_date("day", text).map_err(|_| StoreError::Corrupt(format!("day {text}")))
}

fn features_json(features: &[(String, f64)]) -> Result<String> {
    serde_json::to_string(features).map_err(|e| StoreError::Corrupt(format!("features: {e}")))
}

impl Store {
    /// Replaces the pet's episodes that start in `[from_ms, to_ms)` with `episodes` (which
    /// should start in that span), in one transaction. Feedback is kept: it is its own row.
    #[tracing::instrument(level = "debug", skip_all, fields(household_id = %household_id, pet_id = %pet_id))]
    pub async fn replace_episodes(
        &self,
        household_id: HouseholdId,
        pet_id: PetId,
        device_id: DeviceId,
        from_ms: i64,
        to_ms: i64,
        episodes: &[Episode],
    ) -> Result<()> {
        let mut rows = Vec::with_capacity(episodes.len());
        for e in episodes {
            rows.push((episode_id(pet_id, e.start_ms), features_json(&e.features)?));
        }
        on_pool!(write, self, |pool| {
            let mut tx = pool.begin_write().await?;
            sqlx::query(
                "DELETE FROM episodes WHERE household_id = $1 AND pet_id = $2 AND start_ts >= $3 AND start_ts < $4",
            )
            .bind(household_id.0)
            .bind(pet_id.0)
            .bind(from_ms)
            .bind(to_ms)
            .execute(&mut *tx)
            .await?;
            for (e, (id, features)) in episodes.iter().zip(&rows) {
                sqlx::query(
                    "INSERT INTO episodes (id, household_id, pet_id, device_id, start_ts, end_ts, label, confidence, \
                     features, model_version) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
                     ON CONFLICT (id) DO UPDATE SET end_ts = excluded.end_ts, label = excluded.label, \
                     confidence = excluded.confidence, features = excluded.features, \
                     model_version = excluded.model_version, device_id = excluded.device_id",
                )
                .bind(id)
                .bind(household_id.0)
                .bind(pet_id.0)
                .bind(device_id.0)
                .bind(e.start_ms)
                .bind(e.end_ms)
                .bind(e.label.as_str())
                .bind(e.confidence)
                .bind(features)
                .bind(&e.model_version)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// The pet's episodes that end after `from_ms` and start before `to_ms`, oldest first.
    #[tracing::instrument(level = "debug", skip_all, fields(household_id = %household_id, pet_id = %pet_id))]
    pub async fn episodes(
        &self,
        household_id: HouseholdId,
        pet_id: PetId,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<StoredEpisode>> {
        let sql = format!(
            "{EPISODE_SELECT} WHERE e.household_id = $1 AND e.pet_id = $2 AND e.end_ts > $3 AND e.start_ts < $4 \
             ORDER BY e.start_ts"
        );
        let rows: Vec<EpisodeRow> = on_pool!(read, self, |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(household_id.0)
                .bind(pet_id.0)
                .bind(from_ms)
                .bind(to_ms)
                .fetch_all(pool)
                .await?
        });
        rows.into_iter().map(EpisodeRow::into_stored).collect()
    }

    /// One episode of the pet.
    pub async fn episode(&self, household_id: HouseholdId, pet_id: PetId, id: Uuid) -> Result<StoredEpisode> {
        let sql = format!("{EPISODE_SELECT} WHERE e.household_id = $1 AND e.pet_id = $2 AND e.id = $3");
        let row: EpisodeRow = on_pool!(read, self, |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(household_id.0)
                .bind(pet_id.0)
                .bind(id)
                .fetch_one(pool)
                .await?
        });
        row.into_stored()
    }

    /// Records feedback on a stored episode, with a copy of what it judged.
    #[tracing::instrument(level = "debug", skip_all, fields(household_id = %household_id, pet_id = %episode.pet_id))]
    pub async fn add_episode_feedback(
        &self,
        household_id: HouseholdId,
        episode: &StoredEpisode,
        new: &NewEpisodeFeedback,
        now: OffsetDateTime,
    ) -> Result<EpisodeFeedback> {
        let features = new
            .features
            .as_ref()
            .map(|f| serde_json::to_string(f).map_err(|e| StoreError::Corrupt(format!("features: {e}"))))
            .transpose()?;
        let sql = format!(
            "INSERT INTO episode_feedback (id, household_id, pet_id, episode_id, start_ts, end_ts, said_label, \
             verdict, label, note, features, user_id, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING {FEEDBACK_COLUMNS}"
        );
        let row: FeedbackRow = on_pool!(write, self, |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(Uuid::now_v7())
                .bind(household_id.0)
                .bind(episode.pet_id.0)
                .bind(episode.id)
                .bind(episode.episode.start_ms)
                .bind(episode.episode.end_ms)
                .bind(episode.episode.label.as_str())
                .bind(new.verdict.as_str())
                .bind(new.label.map(Behaviour::as_str))
                .bind(&new.note)
                .bind(features)
                .bind(new.user_id.map(|u| u.0))
                .bind(to_ms(now))
                .fetch_one(pool)
                .await?
        });
        row.into_feedback()
    }

    /// Every piece of feedback on the pet's episodes, oldest first (at most `limit`, newest kept).
    pub async fn episode_feedback(
        &self,
        household_id: HouseholdId,
        pet_id: PetId,
        limit: u32,
    ) -> Result<Vec<EpisodeFeedback>> {
        let sql = format!(
            "SELECT {FEEDBACK_COLUMNS} FROM episode_feedback WHERE household_id = $1 AND pet_id = $2 \
             ORDER BY created_at DESC, id DESC LIMIT $3"
        );
        let rows: Vec<FeedbackRow> = on_pool!(read, self, |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(household_id.0)
                .bind(pet_id.0)
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await?
        });
        let mut out = rows.into_iter().map(FeedbackRow::into_feedback).collect::<Result<Vec<_>>>()?;
        out.reverse();
        Ok(out)
    }

    /// Writes (or rewrites) the pet's summary of a local day.
    pub async fn put_pet_day(
        &self,
        household_id: HouseholdId,
        pet_id: PetId,
        day: time::Date,
        summary: &str,
        wellness: Option<i64>,
        now: OffsetDateTime,
    ) -> Result<()> {
        on_pool!(write, self, |pool| {
            sqlx::query(
                "INSERT INTO pet_days (household_id, pet_id, day, summary, wellness, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (pet_id, day) DO UPDATE SET \
                 summary = excluded.summary, wellness = excluded.wellness, updated_at = excluded.updated_at",
            )
            .bind(household_id.0)
            .bind(pet_id.0)
            .bind(day_text(day))
            .bind(summary)
            .bind(wellness)
            .bind(to_ms(now))
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// The pet's day summaries with `from <= day <= to`, oldest first.
    pub async fn pet_days(
        &self,
        household_id: HouseholdId,
        pet_id: PetId,
        from: time::Date,
        to: time::Date,
    ) -> Result<Vec<PetDay>> {
        let rows: Vec<(String, String, Option<i64>, i64)> = on_pool!(read, self, |pool| {
            sqlx::query_as(
                "SELECT day, summary, wellness, updated_at FROM pet_days \
                 WHERE household_id = $1 AND pet_id = $2 AND day >= $3 AND day <= $4 ORDER BY day",
            )
            .bind(household_id.0)
            .bind(pet_id.0)
            .bind(day_text(from))
            .bind(day_text(to))
            .fetch_all(pool)
            .await?
        });
        rows.into_iter()
            .map(|(day, summary, wellness, updated_at)| {
                Ok(PetDay { day: parse_day(&day)?, summary, wellness, updated_at: from_ms(updated_at)? })
            })
            .collect()
    }

    /// Records an anomaly unless the pet already has one of that kind that day (then the
    /// stored one is brought up to date). Answers the row and whether it is new.
    pub async fn record_anomaly(
        &self,
        household_id: HouseholdId,
        pet_id: PetId,
        day: time::Date,
        new: &NewAnomaly,
        now: OffsetDateTime,
    ) -> Result<(StoredAnomaly, bool)> {
        // The row's id tells a fresh insert from an update: a conflict keeps the old id.
        let id = Uuid::now_v7();
        let sql = format!(
            "INSERT INTO anomalies (id, household_id, pet_id, day, kind, severity, at, explanation, value, baseline, \
             created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
             ON CONFLICT (pet_id, day, kind) DO UPDATE SET severity = excluded.severity, \
             explanation = excluded.explanation, value = excluded.value, baseline = excluded.baseline \
             RETURNING {ANOMALY_COLUMNS}"
        );
        let row: AnomalyRow = on_pool!(write, self, |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(id)
                .bind(household_id.0)
                .bind(pet_id.0)
                .bind(day_text(day))
                .bind(&new.kind)
                .bind(&new.severity)
                .bind(new.at_ms)
                .bind(&new.explanation)
                .bind(new.value)
                .bind(new.baseline)
                .bind(to_ms(now))
                .fetch_one(pool)
                .await?
        });
        let fresh = row.id == id;
        Ok((row.into_anomaly()?, fresh))
    }

    /// The pet's anomalies with `from_ms <= at < to_ms`, oldest first.
    pub async fn anomalies(
        &self,
        household_id: HouseholdId,
        pet_id: PetId,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<StoredAnomaly>> {
        let sql = format!(
            "SELECT {ANOMALY_COLUMNS} FROM anomalies WHERE household_id = $1 AND pet_id = $2 AND at >= $3 AND at < $4 \
             ORDER BY at, id"
        );
        let rows: Vec<AnomalyRow> = on_pool!(read, self, |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(household_id.0)
                .bind(pet_id.0)
                .bind(from_ms)
                .bind(to_ms)
                .fetch_all(pool)
                .await?
        });
        rows.into_iter().map(AnomalyRow::into_anomaly).collect()
    }

    /// Stores feedback from the compatibility route; answers its id.
    pub async fn add_compat_feedback(&self, new: &NewCompatFeedback, now: OffsetDateTime) -> Result<Uuid> {
        let id = Uuid::now_v7();
        on_pool!(write, self, |pool| {
            sqlx::query(
                "INSERT INTO compat_feedback (id, household_id, event_id, user_feedback, ts, segment, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(id)
            .bind(new.household_id.map(|h| h.0))
            .bind(&new.event_id)
            .bind(&new.user_feedback)
            .bind(&new.ts)
            .bind(&new.segment)
            .bind(to_ms(now))
            .execute(pool)
            .await?;
        });
        Ok(id)
    }

    /// The compatibility feedback stored for an event id, oldest first (user_feedback, segment).
    pub async fn compat_feedback(&self, event_id: &str) -> Result<Vec<(String, Option<String>)>> {
        let rows: Vec<(String, Option<String>)> = on_pool!(read, self, |pool| {
            sqlx::query_as(
                "SELECT user_feedback, segment FROM compat_feedback WHERE event_id = $1 ORDER BY created_at, id",
            )
            .bind(event_id)
            .fetch_all(pool)
            .await?
        });
        Ok(rows)
    }

    /// Stores a trained model; with `activate`, it becomes the one the analysis uses (on every
    /// node, from its next start).
    pub async fn save_behaviour_model(
        &self,
        version: &str,
        model: &str,
        trained_on: &str,
        activate: bool,
        now: OffsetDateTime,
    ) -> Result<()> {
        on_pool!(write, self, |pool| {
            let mut tx = pool.begin_write().await?;
            if activate {
                sqlx::query("UPDATE behaviour_models SET active = FALSE WHERE active").execute(&mut *tx).await?;
            }
            sqlx::query(
                "INSERT INTO behaviour_models (version, model, trained_on, created_at, active) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (version) DO UPDATE SET active = excluded.active",
            )
            .bind(version)
            .bind(model)
            .bind(trained_on)
            .bind(to_ms(now))
            .bind(activate)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// The active trained model's version and text, if one was stored.
    pub async fn active_behaviour_model(&self) -> Result<Option<(String, String)>> {
        let row: Option<(String, String)> = on_pool!(read, self, |pool| {
            sqlx::query_as("SELECT version, model FROM behaviour_models WHERE active").fetch_optional(pool).await?
        });
        Ok(row)
    }

    /// Owners' judgements with their episodes' features, from every household, newest first:
    /// the labelled examples `petty train --with-feedback` learns from. Only the operator's
    /// command line calls this; no request path reaches it.
    pub async fn feedback_for_training(&self, limit: u32) -> Result<Vec<EpisodeFeedback>> {
        let sql = format!(
            "SELECT {FEEDBACK_COLUMNS} FROM episode_feedback WHERE features IS NOT NULL \
             ORDER BY created_at DESC, id DESC LIMIT $1"
        );
        let rows: Vec<FeedbackRow> = on_pool!(read, self, |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(i64::from(limit)).fetch_all(pool).await?
        });
        rows.into_iter().map(FeedbackRow::into_feedback).collect()
    }
}
