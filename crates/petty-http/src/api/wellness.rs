//! A pet's wellness score with its breakdown and trend, its day summaries, and its plan (daily
//! goals, food, exercise, recommendations with the data behind each).

use axum::Json;
use axum::extract::State;
use petty_app::summary_json;
use petty_core::accounts::Permission;
use petty_core::baselines;
use petty_core::ids::PetId;
use petty_core::wellness;
use petty_store::StoreError;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::auth::CurrentActor;
use crate::error::{ApiError, ErrorCode};
use crate::extract::{ApiPath, ApiQuery};
use crate::state::AppState;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_wellness)).routes(routes!(get_plan))
}

fn pet_not_found(e: StoreError) -> ApiError {
    match e {
        StoreError::NotFound => ApiError::not_found("pet"),
        other => other.into(),
    }
}

/// The most days of history one answer covers.
pub(crate) const MAX_DAYS: u32 = 90;

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct WellnessQuery {
    /// How many days of history, 1–90 (default 7).
    pub days: Option<u32>,
}

/// One part of the score.
#[derive(Serialize, ToSchema)]
pub(crate) struct ComponentOut {
    pub name: &'static str,
    /// 0–100.
    pub score: u8,
    /// Its share of the total, 0–1.
    pub weight: f64,
    pub detail: String,
}

/// One day of the history.
#[derive(Serialize, ToSchema)]
pub(crate) struct WellnessDay {
    /// `YYYY-MM-DD` (UTC).
    pub day: String,
    pub score: Option<i64>,
    /// What the day's readings showed: active and sleep minutes, resting heart rate, ...
    #[schema(value_type = Object)]
    pub summary: Value,
}

/// The latest analysed day's score with its breakdown, the history and the trend.
#[derive(Serialize, ToSchema)]
pub(crate) struct WellnessOut {
    /// The latest analysed day, `YYYY-MM-DD`.
    pub day: Option<String>,
    /// 0–100; `null` while fewer than two of its parts have data (the components say which
    /// are missing, and why).
    pub score: Option<u8>,
    pub components: Vec<ComponentOut>,
    /// Change against about a week earlier.
    pub trend_delta: Option<f64>,
    /// rising, falling or steady.
    pub trend: Option<&'static str>,
    pub history: Vec<WellnessDay>,
}

/// The pet's wellness score (0–100) with its breakdown and 7-day trend.
#[utoipa::path(get, path = "/api/v1/pets/{id}/wellness", tag = "behaviour",
    params(("id" = Uuid, Path, description = "The pet's id"), WellnessQuery),
    responses((status = 200, body = WellnessOut)),
    security(("bearer" = [])))]
pub(crate) async fn get_wellness(
    State(state): State<AppState>,
    actor: CurrentActor,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(query): ApiQuery<WellnessQuery>,
) -> Result<Json<WellnessOut>, ApiError> {
    let actor = actor.require(Permission::Read)?;
    let days = query.days.unwrap_or(7);
    if !(1..=MAX_DAYS).contains(&days) {
        return Err(ApiError::field(
            ErrorCode::ValidationFailed,
            "days",
            "out_of_range",
            format!("days must be 1 to {MAX_DAYS}"),
        ));
    }
    let pet_id = PetId(id);
    let pet = state.store.get_pet(actor.household_id, pet_id).await.map_err(pet_not_found)?;
    // Days are the household's local days, as the analysis keeps them.
    let today = state.store.household_zone(actor.household_id).await?.date_at(OffsetDateTime::now_utc());
    let from = today - time::Duration::days(i64::from(days.max(30)) - 1);
    let stored = state.store.pet_days(actor.household_id, pet_id, from, today).await?;
    let summaries: Vec<_> = stored.iter().filter_map(|d| summary_json::from_json(d.day, &d.summary)).collect();
    let latest = summaries.iter().rev().find(|s| s.minutes_covered > 0.0);
    let breakdown = latest.map(|s| {
        let b7 = baselines::baseline(&summaries, 7, s.day);
        wellness::score(&pet.profile, s.day, s, &b7, None)
    });
    let scores: Vec<(time::Date, u8)> =
        stored.iter().filter_map(|d| Some((d.day, u8::try_from(d.wellness?).ok()?))).collect();
    let trend = (scores.len() >= 2).then(|| wellness::trend(&scores));
    let first_shown = today - time::Duration::days(i64::from(days) - 1);
    Ok(Json(WellnessOut {
        day: latest.map(|s| petty_core::pets::format_date(s.day)),
        // No score without the data to earn it (fewer than two parts with data: `null`).
        score: breakdown.as_ref().and_then(|w| w.earned()),
        components: breakdown
            .map(|w| {
                w.components
                    .into_iter()
                    .map(|c| ComponentOut { name: c.name, score: c.score, weight: c.weight, detail: c.detail })
                    .collect()
            })
            .unwrap_or_default(),
        trend_delta: trend.as_ref().map(|t| t.delta_7d),
        trend: trend.as_ref().map(|t| t.direction.as_str()),
        history: stored
            .iter()
            .filter(|d| d.day >= first_shown)
            .map(|d| WellnessDay {
                day: petty_core::pets::format_date(d.day),
                score: d.wellness,
                summary: serde_json::from_str(&d.summary).unwrap_or(Value::Null),
            })
            .collect(),
    }))
}

/// The pet's plan: daily goals, food (RER × factor, corrected by measured activity), exercise,
/// and recommendations, each saying which data led to it.
#[utoipa::path(get, path = "/api/v1/pets/{id}/plan", tag = "behaviour",
    params(("id" = Uuid, Path, description = "The pet's id")),
    responses((status = 200, description = "daily_goals, nutrition_plan, exercise_plan, health_recommendations",
        body = Object)),
    security(("bearer" = [])))]
async fn get_plan(
    State(state): State<AppState>,
    actor: CurrentActor,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<Value>, ApiError> {
    let actor = actor.require(Permission::Read)?;
    let plan = petty_app::analysis::plan_for(&state.app, actor.household_id, PetId(id), OffsetDateTime::now_utc())
        .await
        .map_err(pet_not_found)?;
    Ok(Json(summary_json::plan_value(&plan)))
}
