//! `/api/v1/life-events`: a person's own life log (their events, batches, stats) and
//! `/api/v1/predictions/*` made from it; `/api/v1/pets/{id}/life-events`: a pet's meals, walks,
//! medication given and grooming. The use cases are `petty_app::lifelog`.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use petty_app::lifelog::{
    self as uses, CorrelationsOut, EnergyOut, EventInput, InsightMark, InsightOut, LifeError, LifeEventOut,
    ModelMetricsOut, MoodOut, PatternsOut,
};
use petty_core::ids::{InsightId, LifeEventId, PetId};
use petty_core::lifelog::{RawLifeEvent, Subject, TimeOfDay};
use petty_core::paging::PageRequest;
use petty_store::{InsightFilter, LifeEventFilter, StoredLifeEvent};
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
        .routes(routes!(model_metrics))
        .routes(routes!(retrain))
        .routes(routes!(event_patterns))
        .routes(routes!(correlations))
        .routes(routes!(generate_insights))
        .routes(routes!(list_insights))
        .routes(routes!(get_insight))
        .routes(routes!(read_insight))
        .routes(routes!(dismiss_insight))
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

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
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
    fn filter(&self, now: OffsetDateTime) -> Result<LifeEventFilter, ApiError> {
        let mut start = self.start_time;
        if let Some(days) = self.days {
            if !(1..=3650).contains(&days) {
                return Err(petty_core::Invalid::one("days", "out_of_range", "days must be between 1 and 3650").into());
            }
            let since = now - time::Duration::days(days);
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
    let events = uses::list_events(&state.app, actor, subject, &query.filter(state.app.now())?, page).await?;
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
pub(crate) async fn list_events(
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
pub(crate) async fn create_event(
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
#[serde(deny_unknown_fields)]
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
pub(crate) async fn list_pet_events(
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
pub(crate) async fn create_pet_event(
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
#[serde(deny_unknown_fields)]
pub(crate) struct PredictQuery {
    /// morning, afternoon, evening or night (default: your local time of day now).
    pub time_of_day: Option<String>,
    /// Predict as of this instant from the events before it (RFC 3339; default now): a backtest.
    #[serde(default, with = "crate::rfc3339::option")]
    #[param(value_type = Option<String>)]
    pub at: Option<OffsetDateTime>,
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
    Ok(Json(uses::predict_energy(&state.app, &actor, query.at, tod).await?))
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
    Ok(Json(uses::predict_mood(&state.app, &actor, query.at).await?))
}

/// How your learned energy and mood models did on the days held out from their training, beside
/// the baseline on the same reports (the baseline's name and nulls before any model).
#[utoipa::path(get, path = "/api/v1/predictions/metrics", tag = "life log",
    responses((status = 200, body = ModelMetricsOut)),
    security(("bearer" = [])))]
async fn model_metrics(State(state): State<AppState>, actor: CurrentActor) -> Result<Json<ModelMetricsOut>, ApiError> {
    Ok(Json(uses::model_metrics(&state.app, &actor.0).await?))
}

/// Training asked for.
#[derive(Serialize, ToSchema)]
pub(crate) struct RetrainOut {
    /// `accepted`: training runs in the background; `GET /api/v1/predictions/metrics` shows the
    /// result.
    pub status: &'static str,
}

/// Train your energy and mood models now, from your last 90 days of reports (they are also
/// trained daily at 02:00 UTC after new reports, and after every 50 new reports).
#[utoipa::path(post, path = "/api/v1/predictions/retrain", tag = "life log",
    responses((status = 202, body = RetrainOut)),
    security(("bearer" = [])))]
async fn retrain(State(state): State<AppState>, actor: CurrentActor) -> Result<impl IntoResponse, ApiError> {
    uses::retrain(&state.app, &actor.0).await?;
    Ok((StatusCode::ACCEPTED, Json(RetrainOut { status: "accepted" })))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct PatternsQuery {
    /// The last this many days (1–3650, default 30).
    pub days: Option<i64>,
}

/// Your sleep cycle (with a circular bedtime mean) and your activity days over the last `days`
/// days.
#[utoipa::path(get, path = "/api/v1/life-events/patterns", tag = "life log", params(PatternsQuery),
    responses((status = 200, body = PatternsOut), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn event_patterns(
    State(state): State<AppState>,
    actor: CurrentActor,
    ApiQuery(query): ApiQuery<PatternsQuery>,
) -> Result<Json<PatternsOut>, ApiError> {
    let days = query.days.unwrap_or(30);
    if !(1..=3650).contains(&days) {
        return Err(petty_core::Invalid::one("days", "out_of_range", "days must be between 1 and 3650").into());
    }
    let p = uses::patterns(&state.app, &actor.0, days).await?;
    Ok(Json(PatternsOut::new(days, &p)))
}

/// What to look at.
#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct GenerateInsightsIn {
    /// The last this many days (1–90, default 7).
    pub time_range_days: Option<u32>,
}

/// Draw insights from your last `time_range_days` days: one per rule that holds (sleep,
/// activity, emotions, mood and energy trends, work-life balance), each sentence with its
/// number; then, when the server has a language model configured and your calls of the day are
/// not spent, an `llm_summary` of them. A rule that held earlier the same UTC day updates its
/// insight in place.
#[utoipa::path(post, path = "/api/v1/insights/generate", tag = "life log", request_body = GenerateInsightsIn,
    responses((status = 201, body = Vec<InsightOut>), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn generate_insights(
    State(state): State<AppState>,
    actor: CurrentActor,
    ApiJson(body): ApiJson<GenerateInsightsIn>,
) -> Result<impl IntoResponse, ApiError> {
    let days = body.time_range_days.unwrap_or(7);
    let kept = uses::generate_insights(&state.app, &actor.0, days, &state.llm_budget(&actor.0)).await?;
    let out: Vec<InsightOut> = kept.iter().map(InsightOut::from).collect();
    Ok((StatusCode::CREATED, Json(out)))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct ListInsightsQuery {
    /// 1-based page number (default 1).
    pub page: Option<u32>,
    /// Items per page (default 50).
    pub page_size: Option<u32>,
    /// Only insights not yet read.
    #[serde(default)]
    pub unread_only: bool,
    /// Only insights of this type.
    pub insight_type: Option<String>,
    /// Dismissed insights too.
    #[serde(default)]
    pub include_dismissed: bool,
}

/// Your insights, newest first (dismissed ones left out unless asked for).
#[utoipa::path(get, path = "/api/v1/insights", tag = "life log", params(ListInsightsQuery),
    responses((status = 200, body = Paged<InsightOut>)),
    security(("bearer" = [])))]
async fn list_insights(
    State(state): State<AppState>,
    actor: CurrentActor,
    ApiQuery(query): ApiQuery<ListInsightsQuery>,
) -> Result<Json<Paged<InsightOut>>, ApiError> {
    let page = PageRequest::parse(query.page, query.page_size)?;
    let filter = InsightFilter {
        unread_only: query.unread_only,
        insight_type: query.insight_type.filter(|t| !t.is_empty()),
        include_dismissed: query.include_dismissed,
    };
    let found = uses::list_insights(&state.app, &actor.0, &filter, page).await?;
    Ok(Json(Paged::from_page(found, |i| InsightOut::from(&i))))
}

/// One of your insights.
#[utoipa::path(get, path = "/api/v1/insights/{id}", tag = "life log",
    params(("id" = Uuid, Path, description = "The insight's id")),
    responses((status = 200, body = InsightOut)),
    security(("bearer" = [])))]
async fn get_insight(
    State(state): State<AppState>,
    actor: CurrentActor,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<InsightOut>, ApiError> {
    Ok(Json(InsightOut::from(&uses::get_insight(&state.app, &actor.0, InsightId(id)).await?)))
}

/// Mark one of your insights read.
#[utoipa::path(post, path = "/api/v1/insights/{id}/read", tag = "life log",
    params(("id" = Uuid, Path, description = "The insight's id")),
    responses((status = 200, body = InsightOut)),
    security(("bearer" = [])))]
async fn read_insight(
    State(state): State<AppState>,
    actor: CurrentActor,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<InsightOut>, ApiError> {
    let marked = uses::mark_insight(&state.app, &actor.0, InsightId(id), InsightMark::Read).await?;
    Ok(Json(InsightOut::from(&marked)))
}

/// Dismiss one of your insights (it leaves the list unless `include_dismissed` is asked for).
#[utoipa::path(post, path = "/api/v1/insights/{id}/dismiss", tag = "life log",
    params(("id" = Uuid, Path, description = "The insight's id")),
    responses((status = 200, body = InsightOut)),
    security(("bearer" = [])))]
async fn dismiss_insight(
    State(state): State<AppState>,
    actor: CurrentActor,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<InsightOut>, ApiError> {
    let marked = uses::mark_insight(&state.app, &actor.0, InsightId(id), InsightMark::Dismissed).await?;
    Ok(Json(InsightOut::from(&marked)))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct CorrelationsQuery {
    /// The last this many days (14–365, default 90).
    pub days: Option<i64>,
}

/// What goes together across your life log (mood, energy, sleep, stress, late working days),
/// your household's dog walks, each pet's collar days (restlessness at night, active minutes)
/// and the air at night (CO, humidity): each pair tested on the days both have data, the same
/// day and one day later, with an effect size and 95 % interval, corrected for the number of
/// pairs tested (Benjamini–Hochberg). Too few days answer `not_enough_data`, never a number.
/// Nobody else's life log is read.
#[utoipa::path(get, path = "/api/v1/life-events/correlations", tag = "life log", params(CorrelationsQuery),
    responses((status = 200, body = CorrelationsOut), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn correlations(
    State(state): State<AppState>,
    actor: CurrentActor,
    ApiQuery(query): ApiQuery<CorrelationsQuery>,
) -> Result<Json<CorrelationsOut>, ApiError> {
    Ok(Json(uses::correlations(&state.app, &actor.0, query.days.unwrap_or(90)).await?))
}
