//! `/api/v1/life-events`: a person's own life log (their events, batches, stats) and
//! `/api/v1/predictions/*` made from it; `/api/v1/pets/{id}/life-events`: a pet's meals, walks,
//! medication given and grooming. The use cases are `petty_app::lifelog`.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use petty_app::lifelog::{self as uses, EventInput, LifeError};
use petty_core::ids::{LifeEventId, PetId};
use petty_core::lifelog::{EnergyPrediction, Explanation, MoodClass, MoodPrediction, RawLifeEvent, Subject, TimeOfDay};
use petty_core::paging::PageRequest;
use petty_store::{LifeEventFilter, StoredLifeEvent};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::api::Paged;
use crate::auth::CurrentActor;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::state::AppState;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_events, create_event))
        .routes(routes!(create_batch))
        .routes(routes!(event_stats))
        .routes(routes!(get_event, update_event, delete_event))
        .routes(routes!(list_pet_events, create_pet_event))
        .routes(routes!(delete_pet_event))
        .routes(routes!(predict_energy))
        .routes(routes!(predict_mood))
}

impl From<LifeError> for ApiError {
    fn from(e: LifeError) -> Self {
        match e {
            LifeError::Invalid(invalid) => invalid.into(),
            LifeError::NotFound(what) => ApiError::not_found(what),
            LifeError::Forbidden(why) => ApiError::forbidden(why),
            LifeError::Store(e) => e.into(),
        }
    }
}

/// A life event to log.
#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct LifeEventIn {
    /// sleep, exercise, activity, work, social, emotion, mood, health, meal, walk, rest, stress,
    /// travel, learning, entertainment, medication, grooming, or any word of `[a-z][a-z0-9_]`
    /// (at most 50). A pet's: meal, walk, medication or grooming.
    pub event_type: Option<String>,
    /// 1–200 characters.
    pub title: Option<String>,
    /// ISO 8601 (no offset means UTC), from 2000-01-01 to 24 hours from now.
    pub event_time: Option<String>,
    /// At most 50 characters.
    pub event_category: Option<String>,
    /// At most 5,000 characters.
    pub description: Option<String>,
    /// Anything (at most 16 KiB serialised), kept and echoed as sent. Read by Petty:
    /// `energy_level` and `mood_score` (0–10), `mood`, `stress_level`, `type` (an emotion),
    /// `duration_hours` or `duration_minutes`, `focus_level`, `quality`.
    #[schema(value_type = Object)]
    pub event_data: Option<Map<String, Value>>,
    /// Anything (at most 4 KiB serialised), kept and echoed as sent.
    #[schema(value_type = Object)]
    pub context: Option<Map<String, Value>>,
    /// 0–10,080.
    pub duration_minutes: Option<i64>,
    /// At most 20 tags of 1–50 characters.
    pub tags: Option<Vec<String>>,
    /// `[a-z_]`, 1–30 characters (default `manual`).
    pub source: Option<String>,
}

/// The JSON text of an object (`{}` when absent).
fn object(map: Option<&Map<String, Value>>) -> String {
    map.and_then(|m| serde_json::to_string(m).ok()).unwrap_or_else(|| "{}".to_owned())
}

impl LifeEventIn {
    fn input(&self) -> EventInput {
        let raw = RawLifeEvent {
            event_type: self.event_type.clone(),
            title: self.title.clone(),
            event_time: self.event_time.clone(),
            event_category: self.event_category.clone(),
            description: self.description.clone(),
            duration_minutes: self.duration_minutes,
            tags: self.tags.clone().unwrap_or_default(),
            source: self.source.clone(),
            ..RawLifeEvent::default()
        };
        EventInput::new(raw, object(self.event_data.as_ref()), object(self.context.as_ref()))
    }

    /// Writes the fields this patch names over `input` (each replaced whole).
    fn apply(&self, input: &mut EventInput) {
        let raw = &mut input.raw;
        if let Some(v) = &self.event_type {
            raw.event_type = Some(v.clone());
        }
        if let Some(v) = &self.title {
            raw.title = Some(v.clone());
        }
        if let Some(v) = &self.event_time {
            raw.event_time = Some(v.clone());
        }
        if self.event_category.is_some() {
            raw.event_category = self.event_category.clone();
        }
        if self.description.is_some() {
            raw.description = self.description.clone();
        }
        if self.duration_minutes.is_some() {
            raw.duration_minutes = self.duration_minutes;
        }
        if let Some(tags) = &self.tags {
            raw.tags = tags.clone();
        }
        if self.source.is_some() {
            raw.source = self.source.clone();
        }
        let data = self.event_data.as_ref().map_or_else(|| input.event_data_json.clone(), |d| object(Some(d)));
        let context = self.context.as_ref().map_or_else(|| input.context_json.clone(), |c| object(Some(c)));
        *input = EventInput::new(input.raw.clone(), data, context);
    }
}

/// A logged life event.
#[derive(Serialize, ToSchema)]
pub(crate) struct LifeEventOut {
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
            event_data: serde_json::from_str(&s.event_data_json).unwrap_or_else(|_| Value::Object(Map::new())),
            context: serde_json::from_str(&s.context_json).unwrap_or_else(|_| Value::Object(Map::new())),
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

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ListEventsQuery {
    /// 1-based page number (default 1).
    pub page: Option<u32>,
    /// Items per page (default 50).
    pub page_size: Option<u32>,
    /// Only events of this type.
    pub event_type: Option<String>,
    /// Only events at or after this instant (RFC 3339).
    #[serde(default, with = "crate::rfc3339::option")]
    #[param(value_type = Option<String>)]
    pub start_time: Option<OffsetDateTime>,
    /// Only events at or before this instant (RFC 3339).
    #[serde(default, with = "crate::rfc3339::option")]
    #[param(value_type = Option<String>)]
    pub end_time: Option<OffsetDateTime>,
    /// Only the last this many days (1–3650).
    pub days: Option<i64>,
}

impl ListEventsQuery {
    fn filter(&self) -> Result<LifeEventFilter, ApiError> {
        let mut start = self.start_time;
        if let Some(days) = self.days {
            if !(1..=3650).contains(&days) {
                return Err(petty_core::Invalid::one("days", "out_of_range", "days must be between 1 and 3650").into());
            }
            let since = OffsetDateTime::now_utc() - time::Duration::days(days);
            start = Some(start.map_or(since, |s| s.max(since)));
        }
        let event_type = self.event_type.as_deref().map(str::trim).filter(|t| !t.is_empty()).map(str::to_lowercase);
        Ok(LifeEventFilter { event_type, start, end: self.end_time })
    }
}

async fn list(
    state: &AppState,
    actor: &petty_core::accounts::Actor,
    subject: Subject,
    query: &ListEventsQuery,
) -> Result<Json<Paged<LifeEventOut>>, ApiError> {
    let page = PageRequest::parse(query.page, query.page_size)?;
    let events = uses::list_events(&state.app, actor, subject, &query.filter()?, page).await?;
    Ok(Json(Paged::from_page(events, |e| LifeEventOut::from(&e))))
}

fn created(events: &[StoredLifeEvent]) -> impl IntoResponse + use<> {
    let location = events.first().map(|e| format!("/api/v1/life-events/{}", e.event.id)).unwrap_or_default();
    let out: Vec<LifeEventOut> = events.iter().map(LifeEventOut::from).collect();
    (StatusCode::CREATED, [(header::LOCATION, location)], Json(out))
}

/// Your life events, newest first.
#[utoipa::path(get, path = "/api/v1/life-events", tag = "life log", params(ListEventsQuery),
    responses((status = 200, body = Paged<LifeEventOut>)),
    security(("bearer" = [])))]
async fn list_events(
    State(state): State<AppState>,
    actor: CurrentActor,
    ApiQuery(query): ApiQuery<ListEventsQuery>,
) -> Result<Json<Paged<LifeEventOut>>, ApiError> {
    let actor = actor.0;
    let subject = uses::subject_for(&state.app, &actor, None, false).await?;
    list(&state, &actor, subject, &query).await
}

/// Log one of your life events.
#[utoipa::path(post, path = "/api/v1/life-events", tag = "life log", request_body = LifeEventIn,
    responses((status = 201, body = LifeEventOut), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn create_event(
    State(state): State<AppState>,
    actor: CurrentActor,
    ApiJson(body): ApiJson<LifeEventIn>,
) -> Result<impl IntoResponse, ApiError> {
    let actor = actor.0;
    let subject = uses::subject_for(&state.app, &actor, None, true).await?;
    let kept = uses::log_events(&state.app, &actor, subject, vec![body.input()], false).await?;
    let Some(event) = kept.first() else { return Err(ApiError::internal("no event was kept")) };
    let location = format!("/api/v1/life-events/{}", event.event.id);
    Ok((StatusCode::CREATED, [(header::LOCATION, location)], Json(LifeEventOut::from(event))))
}

/// Several life events.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct BatchIn {
    /// 1–100 events, kept all or none.
    pub events: Vec<LifeEventIn>,
}

/// Log 1–100 of your life events at once: all of them, or none (each problem names
/// `events.{i}.{field}`).
#[utoipa::path(post, path = "/api/v1/life-events/batch", tag = "life log", request_body = BatchIn,
    responses((status = 201, body = Vec<LifeEventOut>), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn create_batch(
    State(state): State<AppState>,
    actor: CurrentActor,
    ApiJson(body): ApiJson<BatchIn>,
) -> Result<impl IntoResponse, ApiError> {
    let actor = actor.0;
    let subject = uses::subject_for(&state.app, &actor, None, true).await?;
    let inputs = body.events.iter().map(LifeEventIn::input).collect();
    let kept = uses::log_events(&state.app, &actor, subject, inputs, true).await?;
    Ok(created(&kept))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct StatsQuery {
    /// The last this many days (1–3650, default 30).
    pub days: Option<i64>,
}

/// Totals over a period.
#[derive(Serialize, ToSchema)]
pub(crate) struct StatsOut {
    pub total_events: usize,
    /// Events per type.
    pub event_types: std::collections::BTreeMap<String, usize>,
    /// The mean impact score, 3 decimals.
    pub avg_impact: f64,
    pub total_energy_change: f64,
    pub total_mood_change: f64,
    #[serde(serialize_with = "crate::rfc3339::serialize")]
    pub period_start: OffsetDateTime,
    #[serde(serialize_with = "crate::rfc3339::serialize")]
    pub period_end: OffsetDateTime,
}

/// Your life log's totals over the last `days` days.
#[utoipa::path(get, path = "/api/v1/life-events/stats", tag = "life log", params(StatsQuery),
    responses((status = 200, body = StatsOut)),
    security(("bearer" = [])))]
async fn event_stats(
    State(state): State<AppState>,
    actor: CurrentActor,
    ApiQuery(query): ApiQuery<StatsQuery>,
) -> Result<Json<StatsOut>, ApiError> {
    let actor = actor.0;
    let days = query.days.unwrap_or(30);
    if !(1..=3650).contains(&days) {
        return Err(petty_core::Invalid::one("days", "out_of_range", "days must be between 1 and 3650").into());
    }
    let subject = uses::subject_for(&state.app, &actor, None, false).await?;
    let s = uses::stats(&state.app, &actor, subject, days).await?;
    Ok(Json(StatsOut {
        total_events: s.total_events,
        event_types: s.event_types,
        avg_impact: s.avg_impact,
        total_energy_change: s.total_energy_change,
        total_mood_change: s.total_mood_change,
        period_start: s.period_start,
        period_end: s.period_end,
    }))
}

/// One of your life events.
#[utoipa::path(get, path = "/api/v1/life-events/{id}", tag = "life log",
    params(("id" = Uuid, Path, description = "The event's id")),
    responses((status = 200, body = LifeEventOut)),
    security(("bearer" = [])))]
async fn get_event(
    State(state): State<AppState>,
    actor: CurrentActor,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<LifeEventOut>, ApiError> {
    let actor = actor.0;
    let subject = uses::subject_for(&state.app, &actor, None, false).await?;
    let event = uses::get_event(&state.app, &actor, subject, LifeEventId(id)).await?;
    Ok(Json(LifeEventOut::from(&event)))
}

/// Change some of an event's fields (each one named is replaced whole); the derived scores
/// follow.
#[utoipa::path(patch, path = "/api/v1/life-events/{id}", tag = "life log", request_body = LifeEventIn,
    params(("id" = Uuid, Path, description = "The event's id")),
    responses((status = 200, body = LifeEventOut), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn update_event(
    State(state): State<AppState>,
    actor: CurrentActor,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<LifeEventIn>,
) -> Result<Json<LifeEventOut>, ApiError> {
    let actor = actor.0;
    let subject = uses::subject_for(&state.app, &actor, None, true).await?;
    let event = uses::update_event(&state.app, &actor, subject, LifeEventId(id), |input| body.apply(input)).await?;
    Ok(Json(LifeEventOut::from(&event)))
}

/// Remove one of your life events.
#[utoipa::path(delete, path = "/api/v1/life-events/{id}", tag = "life log",
    params(("id" = Uuid, Path, description = "The event's id")),
    responses((status = 204)),
    security(("bearer" = [])))]
async fn delete_event(
    State(state): State<AppState>,
    actor: CurrentActor,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<StatusCode, ApiError> {
    let actor = actor.0;
    let subject = uses::subject_for(&state.app, &actor, None, true).await?;
    uses::delete_event(&state.app, &actor, subject, LifeEventId(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A pet's life events (meals, walks, medication given, grooming), newest first.
#[utoipa::path(get, path = "/api/v1/pets/{id}/life-events", tag = "life log",
    params(("id" = Uuid, Path, description = "The pet's id"), ListEventsQuery),
    responses((status = 200, body = Paged<LifeEventOut>)),
    security(("bearer" = [])))]
async fn list_pet_events(
    State(state): State<AppState>,
    actor: CurrentActor,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(query): ApiQuery<ListEventsQuery>,
) -> Result<Json<Paged<LifeEventOut>>, ApiError> {
    let actor = actor.0;
    let subject = uses::subject_for(&state.app, &actor, Some(PetId(id)), false).await?;
    list(&state, &actor, subject, &query).await
}

/// Log a pet's meal, walk, medication given or grooming.
#[utoipa::path(post, path = "/api/v1/pets/{id}/life-events", tag = "life log", request_body = LifeEventIn,
    params(("id" = Uuid, Path, description = "The pet's id")),
    responses((status = 201, body = LifeEventOut), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn create_pet_event(
    State(state): State<AppState>,
    actor: CurrentActor,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<LifeEventIn>,
) -> Result<impl IntoResponse, ApiError> {
    let actor = actor.0;
    let subject = uses::subject_for(&state.app, &actor, Some(PetId(id)), true).await?;
    let kept = uses::log_events(&state.app, &actor, subject, vec![body.input()], false).await?;
    let Some(event) = kept.first() else { return Err(ApiError::internal("no event was kept")) };
    Ok((StatusCode::CREATED, Json(LifeEventOut::from(event))))
}

/// Remove one of a pet's life events.
#[utoipa::path(delete, path = "/api/v1/pets/{id}/life-events/{event_id}", tag = "life log",
    params(("id" = Uuid, Path, description = "The pet's id"), ("event_id" = Uuid, Path, description = "The event's id")),
    responses((status = 204)),
    security(("bearer" = [])))]
async fn delete_pet_event(
    State(state): State<AppState>,
    actor: CurrentActor,
    ApiPath((id, event_id)): ApiPath<(Uuid, Uuid)>,
) -> Result<StatusCode, ApiError> {
    let actor = actor.0;
    let subject = uses::subject_for(&state.app, &actor, Some(PetId(id)), true).await?;
    uses::delete_event(&state.app, &actor, subject, LifeEventId(event_id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct PredictQuery {
    /// morning, afternoon, evening or night (default: your local time of day now).
    pub time_of_day: Option<String>,
    /// Predict as of this instant from the events before it (RFC 3339; default now): a backtest.
    #[serde(default, with = "crate::rfc3339::option")]
    #[param(value_type = Option<String>)]
    pub at: Option<OffsetDateTime>,
}

/// How much one factor moved a prediction.
#[derive(Serialize, ToSchema)]
pub(crate) struct ContributionOut {
    pub factor: &'static str,
    pub label: &'static str,
    pub value: Option<f64>,
    /// In the prediction's points.
    pub effect: f64,
}

/// Why a prediction is what it is: `start` plus every effect is the prediction.
#[derive(Serialize, ToSchema)]
pub(crate) struct ExplanationOut {
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
#[derive(Serialize, ToSchema)]
pub(crate) struct EnergyOut {
    /// 0–10, 2 decimals.
    pub predicted_energy: f64,
    pub time_of_day: &'static str,
    /// How sure, 0–0.95 (from how much data there is, or the model's held-out error).
    pub confidence: f64,
    pub factors: Vec<String>,
    pub recommendations: Vec<String>,
    pub explanation: ExplanationOut,
    /// `baseline-1` or the learned model's version.
    pub model_version: String,
    #[serde(serialize_with = "crate::rfc3339::serialize")]
    pub at: OffsetDateTime,
}

impl EnergyOut {
    fn new(p: &EnergyPrediction, at: OffsetDateTime) -> Self {
        EnergyOut {
            predicted_energy: p.energy,
            time_of_day: p.time_of_day.as_str(),
            confidence: p.confidence,
            factors: p.factors.clone(),
            recommendations: p.recommendations.clone(),
            explanation: ExplanationOut::from(&p.explanation),
            model_version: p.model_version.clone(),
            at,
        }
    }
}

/// Your energy (0–10) at a time of day, predicted from your last 30 days of events, with the
/// factors that moved it.
#[utoipa::path(get, path = "/api/v1/predictions/energy", tag = "life log", params(PredictQuery),
    responses((status = 200, body = EnergyOut), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn predict_energy(
    State(state): State<AppState>,
    actor: CurrentActor,
    ApiQuery(query): ApiQuery<PredictQuery>,
) -> Result<Json<EnergyOut>, ApiError> {
    let actor = actor.0;
    let tod = query
        .time_of_day
        .as_deref()
        .map(|t| {
            t.parse::<TimeOfDay>().map_err(|_| {
                petty_core::Invalid::one(
                    "time_of_day",
                    "one_of",
                    "time_of_day must be one of morning, afternoon, evening, night",
                )
            })
        })
        .transpose()?;
    let subject = uses::subject_for(&state.app, &actor, None, false).await?;
    let at = query.at.unwrap_or_else(OffsetDateTime::now_utc);
    let p = uses::predict_energy(&state.app, &actor, subject, Some(at), tod).await?;
    Ok(Json(EnergyOut::new(&p, at)))
}

/// A predicted mood.
#[derive(Serialize, ToSchema)]
pub(crate) struct MoodOut {
    /// very_negative, negative, neutral, positive or very_positive.
    pub prediction_class: &'static str,
    /// 0–10, 2 decimals.
    pub predicted_mood_score: f64,
    /// negative, neutral or positive.
    pub sentiment: &'static str,
    pub confidence: f64,
    /// Each class's probability, 3 decimals.
    pub class_probabilities: std::collections::BTreeMap<&'static str, f64>,
    pub influencing_factors: Vec<String>,
    pub explanation: ExplanationOut,
    pub model_version: String,
    #[serde(serialize_with = "crate::rfc3339::serialize")]
    pub at: OffsetDateTime,
}

impl MoodOut {
    fn new(p: &MoodPrediction, at: OffsetDateTime) -> Self {
        MoodOut {
            prediction_class: p.class.as_str(),
            predicted_mood_score: p.score,
            sentiment: p.sentiment.as_str(),
            confidence: p.confidence,
            class_probabilities: MoodClass::ALL.iter().zip(p.probabilities).map(|(c, p)| (c.as_str(), p)).collect(),
            influencing_factors: p.factors.clone(),
            explanation: ExplanationOut::from(&p.explanation),
            model_version: p.model_version.clone(),
            at,
        }
    }
}

/// Your mood, predicted from your last 30 days of events, with the factors that moved it.
#[utoipa::path(get, path = "/api/v1/predictions/mood", tag = "life log", params(PredictQuery),
    responses((status = 200, body = MoodOut)),
    security(("bearer" = [])))]
async fn predict_mood(
    State(state): State<AppState>,
    actor: CurrentActor,
    ApiQuery(query): ApiQuery<PredictQuery>,
) -> Result<Json<MoodOut>, ApiError> {
    let actor = actor.0;
    let subject = uses::subject_for(&state.app, &actor, None, false).await?;
    let at = query.at.unwrap_or_else(OffsetDateTime::now_utc);
    let p = uses::predict_mood(&state.app, &actor, subject, Some(at)).await?;
    Ok(Json(MoodOut::new(&p, at)))
}
