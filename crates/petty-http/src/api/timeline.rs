//! A pet's timeline (behaviour episodes and anomalies in event-time order) and owners'
//! feedback on episodes: confirm, mark wrong, or relabel; the per-label precision that
//! feedback shows; and the low-confidence episodes worth asking about.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use petty_app::feedback::{self, Feedback};
use petty_core::accounts::Permission;
use petty_core::behaviour::{Behaviour, segment};
use petty_core::ids::PetId;
use petty_core::lifelog::Subject;
use petty_core::paging::PageRequest;
use petty_store::{EpisodeFeedback, RecordFilter, StoreError, StoredEpisode};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::api::Paged;
use crate::api::devices::query_time;
use crate::auth::CurrentActor;
use crate::error::{ApiError, ErrorCode};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::state::AppState;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(timeline))
        .routes(routes!(episode_feedback))
        .routes(routes!(label_precision))
        .routes(routes!(questions))
}

/// The longest span one timeline request covers.
const MAX_SPAN_DAYS: i64 = 31;
/// Episodes below this confidence are offered as questions.
pub(crate) const QUESTION_BELOW: f64 = 0.6;

pub(crate) use petty_app::timeline::TimelineItem;

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct TimelineQuery {
    /// Start (RFC 3339 or epoch ms), inclusive; default 24 hours ago.
    pub from: Option<String>,
    /// End, exclusive; default now. At most 31 days after `from`.
    pub to: Option<String>,
    /// Comma-separated: episode, anomaly, geofence, life_event, care (default all; life events
    /// and care records only for those who may read care).
    pub kinds: Option<String>,
    pub page: Option<u32>,
    /// 1–500 (default 50).
    pub page_size: Option<u32>,
}

pub(crate) fn span(from: Option<&str>, to: Option<&str>, now: OffsetDateTime) -> Result<(i64, i64), ApiError> {
    let from = from.map(|v| query_time("from", v)).transpose()?.unwrap_or(now - time::Duration::days(1));
    let to = to.map(|v| query_time("to", v)).transpose()?.unwrap_or(now);
    if to <= from {
        return Err(ApiError::field(ErrorCode::ValidationFailed, "to", "after_from", "to must be after from"));
    }
    if to - from > time::Duration::days(MAX_SPAN_DAYS) {
        return Err(ApiError::field(
            ErrorCode::ValidationFailed,
            "to",
            "span",
            format!("from and to may be at most {MAX_SPAN_DAYS} days apart"),
        ));
    }
    Ok((petty_store::to_ms(from), petty_store::to_ms(to)))
}

fn pet_not_found(e: StoreError) -> ApiError {
    match e {
        StoreError::NotFound => ApiError::not_found("pet"),
        other => other.into(),
    }
}

/// What the pet did and what stood out, in event-time order, a page at a time.
#[utoipa::path(get, path = "/api/v1/pets/{id}/timeline", tag = "behaviour",
    params(("id" = Uuid, Path, description = "The pet's id"), TimelineQuery),
    responses((status = 200, body = Paged<TimelineItem>)),
    security(("bearer" = [])))]
pub(crate) async fn timeline(
    State(state): State<AppState>,
    actor: CurrentActor,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(query): ApiQuery<TimelineQuery>,
) -> Result<Json<Paged<TimelineItem>>, ApiError> {
    let actor = actor.require(Permission::Read)?;
    let pet_id = PetId(id);
    let page = PageRequest::parse(query.page, query.page_size)?;
    let (from, to) = span(query.from.as_deref(), query.to.as_deref(), state.app.now())?;
    let (mut episodes, mut anomalies, mut fences, mut life, mut care) = (true, true, true, true, true);
    if let Some(kinds) = query.kinds.as_deref() {
        (episodes, anomalies, fences, life, care) = (false, false, false, false, false);
        for kind in kinds.split(',').map(str::trim).filter(|k| !k.is_empty()) {
            match kind {
                "episode" | "episodes" => episodes = true,
                "anomaly" | "anomalies" => anomalies = true,
                "geofence" | "geofences" => fences = true,
                "life_event" | "life_events" => life = true,
                "care" => care = true,
                other => {
                    return Err(ApiError::field(
                        ErrorCode::ValidationFailed,
                        "kinds",
                        "one_of",
                        format!("kinds: {other} is not one of episode, anomaly, geofence, life_event, care"),
                    ));
                }
            }
        }
    }
    let reads_care = actor.can(Permission::ReadCare);
    state.store.get_pet(actor.household_id, pet_id).await.map_err(pet_not_found)?;
    let mut items = Vec::new();
    if episodes {
        items.extend(
            state.store.episodes(actor.household_id, pet_id, from, to).await?.iter().map(TimelineItem::from_episode),
        );
    }
    if anomalies {
        items.extend(
            state.store.anomalies(actor.household_id, pet_id, from, to).await?.iter().map(TimelineItem::from_anomaly),
        );
    }
    if fences {
        items.extend(
            state
                .store
                .geofence_events(actor.household_id, pet_id, from, to)
                .await?
                .iter()
                .map(TimelineItem::from_geofence_event),
        );
    }
    if life && reads_care {
        let (start, end) = (petty_app::timeline::time_of(from), petty_app::timeline::time_of(to));
        let events = state.store.life_events_between(Subject::Pet(pet_id), actor.household_id, start, end).await?;
        items.extend(events.iter().filter(|e| e.content.event_time < end).map(TimelineItem::from_life_event));
    }
    if care && reads_care {
        let (start, end) = (petty_app::timeline::time_of(from), petty_app::timeline::time_of(to));
        let filter = RecordFilter { from: Some(start.date()), to: Some(end.date()), ..RecordFilter::default() };
        let mut page_of = PageRequest { page: 1, page_size: PageRequest::MAX_SIZE };
        loop {
            let records = state.store.list_records(actor.household_id, pet_id, &filter, page_of).await?;
            let more = records.has_next();
            items.extend(
                records.items.iter().map(TimelineItem::from_record).filter(|item| item.at >= start && item.at < end),
            );
            if !more {
                break;
            }
            page_of.page += 1;
        }
    }
    items.sort_by(|a, b| a.at.cmp(&b.at).then(a.kind.cmp(b.kind)));
    let total = items.len() as u64;
    let start = ((page.page - 1) as usize).saturating_mul(page.page_size as usize);
    let items: Vec<TimelineItem> = items.into_iter().skip(start).take(page.page_size as usize).collect();
    let has_next = (start + items.len()) < total as usize;
    Ok(Json(Paged { items, total, page: page.page, page_size: page.page_size, has_next }))
}

/// Feedback on an episode.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct FeedbackIn {
    /// confirmed, wrong or relabelled.
    pub verdict: String,
    /// The right label, required when relabelled: sleeping, resting, walking, running, playing,
    /// pacing, eating, drinking, scratching or shaking.
    pub label: Option<String>,
    /// Up to 500 characters.
    pub note: Option<String>,
}

/// The stored feedback.
#[derive(Serialize, ToSchema)]
pub(crate) struct FeedbackStored {
    pub id: Uuid,
    pub episode_id: Uuid,
    /// What Petty had said.
    pub said: &'static str,
    pub verdict: &'static str,
    pub label: Option<&'static str>,
    pub note: Option<String>,
    #[serde(serialize_with = "crate::rfc3339::serialize")]
    pub created_at: OffsetDateTime,
}

/// Confirm an episode, mark it wrong, or give the right label. The pet's later episodes are
/// labelled with its feedback taken into account (and its day is analysed again shortly).
#[utoipa::path(post, path = "/api/v1/pets/{id}/episodes/{episode_id}/feedback", tag = "behaviour",
    params(("id" = Uuid, Path, description = "The pet's id"), ("episode_id" = Uuid, Path, description = "The episode's id")),
    request_body = FeedbackIn,
    responses((status = 201, body = FeedbackStored)),
    security(("bearer" = [])))]
async fn episode_feedback(
    State(state): State<AppState>,
    actor: CurrentActor,
    ApiPath((id, episode_id)): ApiPath<(Uuid, Uuid)>,
    ApiJson(body): ApiJson<FeedbackIn>,
) -> Result<(StatusCode, Json<FeedbackStored>), ApiError> {
    let actor = actor.require(Permission::WriteCare)?;
    let feedback = parse_feedback(&body)?;
    let pet_id = PetId(id);
    let episode = state
        .store
        .episode(actor.household_id, pet_id, episode_id)
        .await
        .map_err(ApiError::store_or_not_found("episode"))?;
    let stored = feedback::record(&state.app, &actor, &episode, feedback).await?;
    Ok((StatusCode::CREATED, Json(feedback_stored(stored))))
}

/// The body as `petty_app::feedback` reads it, its errors in the API's shape.
fn parse_feedback(body: &FeedbackIn) -> Result<Feedback, ApiError> {
    feedback::parse(&body.verdict, body.label.as_deref(), body.note.as_deref())
        .map_err(|e| ApiError::field(ErrorCode::ValidationFailed, &e.field, e.rule, e.message))
}

fn feedback_stored(stored: EpisodeFeedback) -> FeedbackStored {
    FeedbackStored {
        id: stored.id,
        episode_id: stored.episode_id,
        said: stored.said.as_str(),
        verdict: stored.verdict.as_str(),
        label: stored.label.map(Behaviour::as_str),
        note: stored.note,
        created_at: stored.created_at,
    }
}

/// How often the owner agreed with one label.
#[derive(Serialize, ToSchema)]
pub(crate) struct LabelPrecisionOut {
    pub label: &'static str,
    /// Episodes with this label the owner confirmed.
    pub confirmed: u32,
    /// Episodes with this label the owner judged.
    pub judged: u32,
    /// confirmed ÷ judged.
    pub precision: f64,
}

/// Per-label precision of this pet's episodes, from its owner's feedback.
#[utoipa::path(get, path = "/api/v1/pets/{id}/label-precision", tag = "behaviour",
    params(("id" = Uuid, Path, description = "The pet's id")),
    responses((status = 200, body = Paged<LabelPrecisionOut>)),
    security(("bearer" = [])))]
async fn label_precision(
    State(state): State<AppState>,
    actor: CurrentActor,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<Paged<LabelPrecisionOut>>, ApiError> {
    let actor = actor.require(Permission::Read)?;
    let pet_id = PetId(id);
    state.store.get_pet(actor.household_id, pet_id).await.map_err(pet_not_found)?;
    let precision = petty_app::analysis::label_precision(&state.app, actor.household_id, pet_id).await?;
    Ok(Json(Paged::all(
        precision
            .into_iter()
            .map(|p| LabelPrecisionOut {
                label: p.label.as_str(),
                confirmed: p.confirmed,
                judged: p.judged,
                precision: (p.precision * 1000.0).round() / 1000.0,
            })
            .collect(),
    )))
}

/// A question for the owner about an episode Petty was unsure of.
#[derive(Serialize, ToSchema)]
pub(crate) struct Question {
    pub episode_id: Uuid,
    /// "Was Bella scratching at 02:14?"
    pub question: String,
    pub label: &'static str,
    pub confidence: f64,
    #[serde(serialize_with = "crate::rfc3339::serialize")]
    pub at: OffsetDateTime,
}

/// Low-confidence episodes of the last day the owner has not judged yet, as questions.
#[utoipa::path(get, path = "/api/v1/pets/{id}/questions", tag = "behaviour",
    params(("id" = Uuid, Path, description = "The pet's id")),
    responses((status = 200, body = Paged<Question>)),
    security(("bearer" = [])))]
async fn questions(
    State(state): State<AppState>,
    actor: CurrentActor,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<Paged<Question>>, ApiError> {
    let actor = actor.require(Permission::Read)?;
    let pet_id = PetId(id);
    let pet = state.store.get_pet(actor.household_id, pet_id).await.map_err(pet_not_found)?;
    let now = petty_store::to_ms(OffsetDateTime::now_utc());
    let stored = state.store.episodes(actor.household_id, pet_id, now - 86_400_000, now).await?;
    let unjudged: Vec<&StoredEpisode> = stored.iter().filter(|e| e.feedback.is_none()).collect();
    let episodes: Vec<petty_core::behaviour::Episode> = unjudged.iter().map(|e| e.episode.clone()).collect();
    let unsure = segment::questions(&episodes, QUESTION_BELOW);
    let out = unsure
        .into_iter()
        .filter_map(|e| {
            let stored = unjudged.iter().find(|s| s.episode.start_ms == e.start_ms)?;
            let at = petty_app::timeline::time_of(e.start_ms);
            Some(Question {
                episode_id: stored.id,
                question: format!(
                    "Was {} {} at {:02}:{:02}?",
                    pet.profile.name,
                    e.label.as_str(),
                    at.hour(),
                    at.minute()
                ),
                label: e.label.as_str(),
                confidence: (e.confidence * 1000.0).round() / 1000.0,
                at,
            })
        })
        .collect();
    Ok(Json(Paged::all(out)))
}
