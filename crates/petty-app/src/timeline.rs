//! A timeline entry (a behaviour episode, an anomaly, a geofence crossing, a life event such as
//! a meal or a walk, a care record) as the API lists it and live events carry it.

use petty_core::behaviour::Behaviour;
use petty_store::{GeofenceEvent, StoredAnomaly, StoredEpisode};
use serde::Serialize;
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

/// The owner's word on an episode.
#[derive(Serialize, ToSchema, Clone)]
pub struct FeedbackOut {
    /// confirmed, wrong or relabelled.
    pub verdict: &'static str,
    /// The label the owner gave, when relabelled.
    pub label: Option<&'static str>,
    pub note: Option<String>,
    #[serde(serialize_with = "crate::rfc3339::serialize")]
    pub at: OffsetDateTime,
}

/// One entry of a pet's timeline.
#[derive(Serialize, ToSchema, Clone)]
pub struct TimelineItem {
    /// episode, anomaly, geofence, life_event or care.
    pub kind: &'static str,
    pub id: Uuid,
    #[serde(serialize_with = "crate::rfc3339::serialize")]
    pub at: OffsetDateTime,
    /// When the episode ended (episodes only).
    #[serde(with = "crate::rfc3339::option")]
    pub end: Option<OffsetDateTime>,
    /// The behaviour (episodes), the anomaly's kind, exited / entered (geofence), the event's
    /// type (life events: meal, walk, medication, grooming, ...) or the record's kind (care).
    pub label: String,
    /// Episodes: the measured probability that the label is right, 0–1 (how often the model's
    /// label was right at this vote share on dogs it never saw), not the raw vote share.
    pub confidence: Option<f64>,
    /// The anomaly's severity: info, warning, minor, major or critical.
    pub severity: Option<String>,
    /// The anomaly or crossing in plain words; a life event's or care record's title.
    pub explanation: Option<String>,
    /// The features that decided the episode, most important first.
    #[schema(value_type = Vec<(String, f64)>)]
    pub features: Vec<(String, f64)>,
    pub model_version: Option<String>,
    pub feedback: Option<FeedbackOut>,
}

/// An event time in ms as a time (the epoch when out of range).
pub fn time_of(ms: i64) -> OffsetDateTime {
    petty_store::from_ms(ms).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

impl TimelineItem {
    pub fn from_episode(e: &StoredEpisode) -> TimelineItem {
        TimelineItem {
            kind: "episode",
            id: e.id,
            at: time_of(e.episode.start_ms),
            end: Some(time_of(e.episode.end_ms)),
            label: e.episode.label.as_str().to_owned(),
            confidence: Some((e.episode.confidence * 1000.0).round() / 1000.0),
            severity: None,
            explanation: None,
            features: e.episode.features.clone(),
            model_version: Some(e.episode.model_version.clone()),
            feedback: e.feedback.as_ref().map(|f| FeedbackOut {
                verdict: f.verdict.as_str(),
                label: f.label.map(Behaviour::as_str),
                note: f.note.clone(),
                at: f.at,
            }),
        }
    }

    pub fn from_geofence_event(e: &GeofenceEvent) -> TimelineItem {
        TimelineItem {
            kind: "geofence",
            id: e.id,
            at: time_of(e.at_ms),
            end: None,
            label: e.kind.clone(),
            confidence: None,
            severity: Some(if e.kind == "exited" { "major" } else { "info" }.to_owned()),
            explanation: Some(e.explanation.clone()),
            features: Vec::new(),
            model_version: None,
            feedback: None,
        }
    }

    pub fn from_anomaly(a: &StoredAnomaly) -> TimelineItem {
        TimelineItem {
            kind: "anomaly",
            id: a.id,
            at: time_of(a.at_ms),
            end: None,
            label: a.kind.clone(),
            confidence: None,
            severity: Some(a.severity.clone()),
            explanation: Some(a.explanation.clone()),
            features: vec![("value".to_owned(), a.value)]
                .into_iter()
                .chain(a.baseline.map(|b| ("baseline".to_owned(), b)))
                .collect(),
            model_version: None,
            feedback: None,
        }
    }

    pub fn from_life_event(e: &petty_core::lifelog::LifeEvent) -> TimelineItem {
        TimelineItem {
            kind: "life_event",
            id: e.id.0,
            at: e.content.event_time,
            end: e.content.end_time(),
            label: e.content.event_type.as_str().to_owned(),
            confidence: None,
            severity: None,
            explanation: Some(e.content.title.clone()),
            features: Vec::new(),
            model_version: None,
            feedback: None,
        }
    }

    /// A care record, at the start of its day (UTC).
    pub fn from_record(r: &petty_core::care::Record) -> TimelineItem {
        TimelineItem {
            kind: "care",
            id: r.id,
            at: r.content.date.midnight().assume_utc(),
            end: None,
            label: r.content.kind.as_str().to_owned(),
            confidence: None,
            severity: None,
            explanation: Some(r.content.title.clone()),
            features: Vec::new(),
            model_version: None,
            feedback: None,
        }
    }
}
