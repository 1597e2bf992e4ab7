//! `GET /api/v1/devices/{id}/chart.svg`: a device's metric over a range, drawn on the server
//! as SVG from the rollups (minute, hour or day buckets, whichever keeps a chart under a few
//! hundred points), so a year costs what an hour does. The household's alarm thresholds for the
//! metric are drawn on it. The drawing is `petty_app::charts::render`, shared with the dashboard
//! and the Car-Bon profile; this reads and checks the query.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use petty_app::charts::{ChartRequest, render};
use petty_core::accounts::Permission;
use petty_core::chart::ChartKind;
use petty_core::ids::DeviceId;
use petty_core::readings::Metric;
use serde::Deserialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::auth::CurrentActor;
use crate::error::{ApiError, ErrorCode};
use crate::extract::{ApiPath, ApiQuery};
use crate::state::AppState;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(device_chart))
}

/// The longest range a chart covers (about five years).
const MAX_SPAN_MS: i64 = 5 * 366 * 86_400_000;

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct ChartQuery {
    /// The metric's field name: co_ppm, ambient_temp_c, humidity_pct, heart_rate, ...
    pub metric: String,
    /// RFC 3339; default: 24 hours before `to`.
    pub from: Option<String>,
    /// RFC 3339; default: now.
    pub to: Option<String>,
    /// line (default) or bar.
    pub kind: Option<String>,
}

fn bad(field: &str, rule: &str, message: impl Into<String>) -> ApiError {
    ApiError::field(ErrorCode::ValidationFailed, field, rule, message)
}

fn parse_time(field: &str, raw: Option<&str>) -> Result<Option<i64>, ApiError> {
    raw.map(|s| {
        OffsetDateTime::parse(s, &Rfc3339)
            .map(petty_store::to_ms)
            .map_err(|_| bad(field, "format", format!("{field} must be an RFC 3339 time like 2026-11-22T06:15:35Z")))
    })
    .transpose()
}

/// A device's metric as an SVG chart, with its alarm thresholds.
#[utoipa::path(get, path = "/api/v1/devices/{id}/chart.svg", tag = "devices",
    params(("id" = Uuid, Path, description = "The device's id"), ChartQuery),
    responses((status = 200, description = "image/svg+xml", content_type = "image/svg+xml")),
    security(("bearer" = [])))]
async fn device_chart(
    State(state): State<AppState>,
    actor: CurrentActor,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(q): ApiQuery<ChartQuery>,
) -> Result<Response, ApiError> {
    let actor = actor.require(Permission::Read)?;
    let metric = Metric::from_name(&q.metric)
        .ok_or_else(|| bad("metric", "one_of", format!("metric {:?} is not a metric Petty knows", q.metric)))?;
    let kind = match q.kind.as_deref() {
        None | Some("line") => ChartKind::Line,
        Some("bar") => ChartKind::Bar,
        Some(_) => return Err(bad("kind", "one_of", "kind must be line or bar")),
    };
    let to = parse_time("to", q.to.as_deref())?.unwrap_or_else(|| petty_store::to_ms(OffsetDateTime::now_utc()));
    let from = parse_time("from", q.from.as_deref())?.unwrap_or(to - 86_400_000);
    if from >= to {
        return Err(bad("from", "before_to", "from must be before to"));
    }
    if to - from > MAX_SPAN_MS {
        return Err(bad("from", "span", "a chart covers at most five years"));
    }
    let device = state
        .store
        .get_device(actor.household_id, DeviceId(id))
        .await
        .map_err(ApiError::store_or_not_found("device"))?;
    let svg = render(&state.app, &device, ChartRequest { metric, from_ms: from, to_ms: to, kind, title: None }).await?;
    Ok(([(header::CONTENT_TYPE, "image/svg+xml; charset=utf-8"), (header::CACHE_CONTROL, "private, max-age=30")], svg)
        .into_response())
}
