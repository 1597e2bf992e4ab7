//! The life log as every edge shows it: an event, a prediction, an insight and a person's model
//! metrics, in the JSON the canonical API answers, live events carry and the AURORA profile
//! builds on.

use std::collections::BTreeMap;

use petty_core::lifelog::{EnergyPrediction, EnergyTerms, Explanation, MoodClass, MoodPrediction, MoodTerms, Subject};
use petty_store::{StoredInsight, StoredLifeEvent};
use serde::Serialize;
use serde_json::{Map, Value};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

/// A logged life event.
#[derive(Serialize, ToSchema, Debug, Clone)]
pub struct LifeEventOut {
    pub id: Uuid,
    /// `person` or `pet`.
    pub subject: &'static str,
    /// The person's, for a person's event.
    pub user_id: Option<Uuid>,
    /// The pet's, for a pet's event.
    pub pet_id: Option<Uuid>,
    pub event_type: String,
    pub title: String,
    #[serde(serialize_with = "crate::rfc3339::serialize")]
    pub event_time: OffsetDateTime,
    /// `event_time` + `duration_minutes`, else null.
    #[serde(with = "crate::rfc3339::option")]
    pub end_time: Option<OffsetDateTime>,
    pub event_category: Option<String>,
    pub description: Option<String>,
    #[schema(value_type = Object)]
    pub event_data: Value,
    #[schema(value_type = Object)]
    pub context: Value,
    pub duration_minutes: Option<u32>,
    pub tags: Vec<String>,
    pub source: String,
    /// How much the event weighs in the person's day (0–1).
    pub impact_score: f64,
    /// How it moves energy (−1–1).
    pub energy_impact: f64,
    /// How it moves mood (−1–1).
    pub mood_impact: f64,
    #[serde(serialize_with = "crate::rfc3339::serialize")]
    pub created_at: OffsetDateTime,
    /// Null until the event is changed.
    #[serde(with = "crate::rfc3339::option")]
    pub updated_at: Option<OffsetDateTime>,
}

fn json_object(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|_| Value::Object(Map::new()))
}

impl From<&StoredLifeEvent> for LifeEventOut {
    fn from(s: &StoredLifeEvent) -> Self {
        let e = &s.event;
        let c = &e.content;
        let impact = c.impact();
        let (user_id, pet_id) = match e.subject {
            Subject::Person(u) => (Some(u.0), None),
            Subject::Pet(p) => (None, Some(p.0)),
        };
        LifeEventOut {
            id: e.id.0,
            subject: e.subject.kind(),
            user_id,
            pet_id,
            event_type: c.event_type.as_str().to_owned(),
            title: c.title.clone(),
            event_time: c.event_time,
            end_time: c.end_time(),
            event_category: c.event_category.clone(),
            description: c.description.clone(),
            event_data: json_object(&s.event_data_json),
            context: json_object(&s.context_json),
            duration_minutes: c.duration_minutes,
            tags: c.tags.clone(),
            source: c.source.clone(),
            impact_score: impact.impact_score,
            energy_impact: impact.energy_impact,
            mood_impact: impact.mood_impact,
            created_at: e.created_at,
            updated_at: e.updated_at,
        }
    }
}

/// How much one factor moved a prediction.
#[derive(Serialize, ToSchema, Debug, Clone)]
pub struct ContributionOut {
    pub factor: &'static str,
    pub label: &'static str,
    pub value: Option<f64>,
    /// In the prediction's points.
    pub effect: f64,
}

/// Why a prediction is what it is: `start` plus every effect is the prediction.
#[derive(Serialize, ToSchema, Debug, Clone)]
pub struct ExplanationOut {
    pub start: f64,
    /// Largest effect first.
    pub contributions: Vec<ContributionOut>,
}

impl From<&Explanation> for ExplanationOut {
    fn from(e: &Explanation) -> Self {
        ExplanationOut {
            start: e.start,
            contributions: e
                .contributions
                .iter()
                .map(|c| ContributionOut { factor: c.factor, label: c.label, value: c.value, effect: c.effect })
                .collect(),
        }
    }
}

/// A predicted energy level.
#[derive(Serialize, ToSchema, Debug, Clone)]
pub struct EnergyOut {
    /// `energy`.
    pub kind: &'static str,
    pub user_id: Uuid,
    /// 0–10, 2 decimals.
    pub predicted_energy: f64,
    pub time_of_day: &'static str,
    /// How sure, 0–0.95: from how much data there is (the baseline), or 1 − the learned model's
    /// held-out error / 5.
    pub confidence: f64,
    pub factors: Vec<String>,
    pub recommendations: Vec<String>,
    pub explanation: ExplanationOut,
    /// `baseline-1` or the learned model's version (`user-YYYYMMDD-N`).
    pub model_version: String,
    /// The instant predicted for: only events before it were read.
    #[serde(serialize_with = "crate::rfc3339::serialize")]
    pub at: OffsetDateTime,
    #[serde(serialize_with = "crate::rfc3339::serialize")]
    pub generated_at: OffsetDateTime,
    /// The baseline's terms (none for a learned model's prediction), for the AURORA profile's
    /// `explanation`; not part of the canonical answer.
    #[serde(skip)]
    pub terms: Option<EnergyTerms>,
}

impl EnergyOut {
    pub fn new(user: Uuid, p: &EnergyPrediction, at: OffsetDateTime, generated_at: OffsetDateTime) -> Self {
        EnergyOut {
            kind: "energy",
            user_id: user,
            predicted_energy: p.energy,
            time_of_day: p.time_of_day.as_str(),
            confidence: p.confidence,
            factors: p.factors.clone(),
            recommendations: p.recommendations.clone(),
            explanation: ExplanationOut::from(&p.explanation),
            model_version: p.model_version.clone(),
            at,
            generated_at,
            terms: p.terms,
        }
    }
}

/// A predicted mood.
#[derive(Serialize, ToSchema, Debug, Clone)]
pub struct MoodOut {
    /// `mood`.
    pub kind: &'static str,
    pub user_id: Uuid,
    /// very_negative, negative, neutral, positive or very_positive.
    pub prediction_class: &'static str,
    /// 0–10, 2 decimals.
    pub predicted_mood_score: f64,
    /// negative, neutral or positive.
    pub sentiment: &'static str,
    /// The baseline: from how much data there is; a learned model: its top class probability.
    pub confidence: f64,
    /// Each class's probability, 3 decimals.
    pub class_probabilities: BTreeMap<&'static str, f64>,
    pub influencing_factors: Vec<String>,
    pub explanation: ExplanationOut,
    pub model_version: String,
    #[serde(serialize_with = "crate::rfc3339::serialize")]
    pub at: OffsetDateTime,
    #[serde(serialize_with = "crate::rfc3339::serialize")]
    pub generated_at: OffsetDateTime,
    /// The baseline's terms, as for [`EnergyOut::terms`].
    #[serde(skip)]
    pub terms: Option<MoodTerms>,
}

impl MoodOut {
    pub fn new(user: Uuid, p: &MoodPrediction, at: OffsetDateTime, generated_at: OffsetDateTime) -> Self {
        MoodOut {
            kind: "mood",
            user_id: user,
            prediction_class: p.class.as_str(),
            predicted_mood_score: p.score,
            sentiment: p.sentiment.as_str(),
            confidence: p.confidence,
            class_probabilities: MoodClass::ALL.iter().zip(p.probabilities).map(|(c, p)| (c.as_str(), p)).collect(),
            influencing_factors: p.factors.clone(),
            explanation: ExplanationOut::from(&p.explanation),
            model_version: p.model_version.clone(),
            at,
            generated_at,
            terms: p.terms,
        }
    }
}

/// Something Petty noticed in a person's life log, with the number it is based on.
#[derive(Serialize, ToSchema, Debug, Clone)]
pub struct InsightOut {
    pub id: Uuid,
    pub user_id: Uuid,
    /// activity_summary, sleep_short, sleep_good, sleep_long, sleep_irregular, activity_low,
    /// activity_good, emotions_negative, emotions_positive, mood_falling, mood_rising,
    /// balance_low, energy_falling or energy_rising; and llm_summary (category `summary`),
    /// written by a language model from the others, when the server has one configured.
    pub insight_type: String,
    pub category: String,
    pub title: String,
    /// One sentence with the measured number (llm_summary: two or three sentences).
    pub content: String,
    /// low, medium or high.
    pub priority: String,
    /// min(events the rule used / 10, 1) (llm_summary: the lowest of the insights it summarised).
    pub confidence: f64,
    pub is_read: bool,
    pub is_dismissed: bool,
    /// The numbers the sentence is made of (llm_summary: `model` and the `insight_types` it
    /// summarised).
    #[schema(value_type = Object)]
    pub metadata: Value,
    #[serde(serialize_with = "crate::rfc3339::serialize")]
    pub created_at: OffsetDateTime,
    /// When the rule last confirmed it (it is updated in place on the same UTC day).
    #[serde(with = "crate::rfc3339::option")]
    pub updated_at: Option<OffsetDateTime>,
}

impl From<&StoredInsight> for InsightOut {
    fn from(s: &StoredInsight) -> Self {
        InsightOut {
            id: s.id.0,
            user_id: s.user_id.0,
            insight_type: s.insight_type.clone(),
            category: s.category.clone(),
            title: s.title.clone(),
            content: s.content.clone(),
            priority: s.priority.clone(),
            confidence: s.confidence,
            is_read: s.is_read,
            is_dismissed: s.is_dismissed,
            metadata: json_object(&s.metadata_json),
            created_at: s.created_at,
            updated_at: s.updated_at,
        }
    }
}

/// How a person's learned energy model did on its held-out days.
#[derive(Serialize, ToSchema, Debug, Clone, Default)]
pub struct EnergyMetricsOut {
    /// The newest model's version, or `baseline-1` before any model was trained.
    pub model_version: String,
    /// Whether predictions use it: only a model that beat the baseline on the held-out days.
    pub in_use: bool,
    #[serde(with = "crate::rfc3339::option")]
    pub trained_at: Option<OffsetDateTime>,
    pub n_train: Option<usize>,
    pub n_test: Option<usize>,
    /// Mean absolute error on the held-out reports (energy points).
    pub mae: Option<f64>,
    pub r2: Option<f64>,
    /// The baseline's mean absolute error on the same reports.
    pub baseline_mae: Option<f64>,
    /// Why there is no model yet, when there is none (for example "not enough data: reports on
    /// 12 distinct days, 30 needed").
    pub status: Option<String>,
}

/// How a person's learned mood model did on its held-out days.
#[derive(Serialize, ToSchema, Debug, Clone, Default)]
pub struct MoodMetricsOut {
    pub model_version: String,
    pub in_use: bool,
    #[serde(with = "crate::rfc3339::option")]
    pub trained_at: Option<OffsetDateTime>,
    pub n_train: Option<usize>,
    pub n_test: Option<usize>,
    pub accuracy: Option<f64>,
    pub macro_f1: Option<f64>,
    pub baseline_accuracy: Option<f64>,
    pub status: Option<String>,
}

/// A person's learned models, and when they will next be trained.
#[derive(Serialize, ToSchema, Debug, Clone)]
pub struct ModelMetricsOut {
    pub energy: EnergyMetricsOut,
    pub mood: MoodMetricsOut,
    /// Energy or mood reports logged since the last training (50 make it due).
    pub new_reports: i64,
    /// A retrain asked for and not yet run.
    #[serde(with = "crate::rfc3339::option")]
    pub retrain_requested_at: Option<OffsetDateTime>,
}

/// Your sleep.
#[derive(Serialize, ToSchema, Debug, Clone)]
pub struct SleepCycleOut {
    pub avg_duration_hours: f64,
    pub std_duration_hours: f64,
    /// The circular mean of your local bedtimes (23:00 and 01:00 give 0.0), 0–24.
    pub avg_bedtime_hour: f64,
    /// 1 − min(std / mean, 1).
    pub regularity_score: f64,
    pub sample_size: usize,
    pub confidence: f64,
}

/// A weekday and how many workouts fell on it.
#[derive(Serialize, ToSchema, Debug, Clone)]
pub struct DayCountOut {
    pub day: String,
    pub count: usize,
}

/// Your workouts (exercise and activity events).
#[derive(Serialize, ToSchema, Debug, Clone)]
pub struct ActivityPatternOut {
    pub avg_activities_per_week: f64,
    /// Your three busiest weekdays.
    pub preferred_days: Vec<DayCountOut>,
    pub total_activities: usize,
    pub consistency: f64,
    pub confidence: f64,
}

/// The patterns in your life log.
#[derive(Serialize, ToSchema, Debug, Clone)]
pub struct PatternsOut {
    pub period_days: i64,
    pub events_analyzed: usize,
    /// Null with fewer than 3 sleep events with a duration.
    pub sleep_cycle: Option<SleepCycleOut>,
    /// Null with fewer than 3 workouts.
    pub activity: Option<ActivityPatternOut>,
}

impl PatternsOut {
    pub fn new(days: i64, p: &petty_core::lifelog::Patterns) -> PatternsOut {
        PatternsOut {
            period_days: days,
            events_analyzed: p.events_analyzed,
            sleep_cycle: p.sleep_cycle.as_ref().map(|c| SleepCycleOut {
                avg_duration_hours: c.avg_duration_hours,
                std_duration_hours: c.std_duration_hours,
                avg_bedtime_hour: c.avg_bedtime_hour,
                regularity_score: c.regularity_score,
                sample_size: c.sample_size,
                confidence: c.confidence,
            }),
            activity: p.activity.as_ref().map(|a| ActivityPatternOut {
                avg_activities_per_week: a.avg_activities_per_week,
                preferred_days: a
                    .preferred_days
                    .iter()
                    .map(|(d, n)| DayCountOut { day: d.to_string(), count: *n })
                    .collect(),
                total_activities: a.total_activities,
                consistency: a.consistency,
                confidence: a.confidence,
            }),
        }
    }
}
