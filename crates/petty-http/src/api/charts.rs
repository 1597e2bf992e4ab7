//! `GET /api/v1/devices/{id}/chart.svg`: a device's metric over a range, drawn on the server
//! as SVG from the rollups (minute, hour or day buckets, whichever keeps a chart under a few
//! hundred points), so a year costs what an hour does. The household's alarm thresholds for the
//! metric are drawn on it.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use petty_core::accounts::Permission;
use petty_core::air::Mq7;
use petty_core::alarm::ConditionKind;
use petty_core::chart::{Bucket, Chart, ChartKind, Threshold, bucket_ms_for, render_svg};
use petty_core::ids::{DeviceId, HouseholdId};
use petty_core::readings::Metric;
use petty_store::{Device, RollupQuery, StoreError};
use serde::Deserialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::auth::CurrentActor;
use crate::error::{ApiError, ErrorBody, ErrorCode};
use crate::extract::{ApiPath, ApiQuery};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(device_chart))
}

/// The most buckets one chart draws.
pub const MAX_BUCKETS: i64 = 400;
/// The longest range a chart covers (about five years).
const MAX_SPAN_MS: i64 = 5 * 366 * 86_400_000;

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ChartQuery {
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

/// A human name for a metric on a chart.
fn label(metric: Metric) -> &'static str {
    match metric {
        Metric::CoPpm | Metric::CoRaw => "CO",
        Metric::AmbientTempC => "Temperature",
        Metric::HumidityPct => "Humidity",
        Metric::HeartRate => "Heart rate",
        Metric::RespirationRate => "Respiration",
        Metric::TemperatureC => "Body temperature",
        Metric::BatteryPct => "Battery",
        Metric::ActivityLevel => "Activity",
        Metric::ActivityCounts => "Activity counts",
        Metric::Steps => "Steps",
        Metric::Rssi => "Signal",
    }
}

fn short_unit(metric: Metric) -> &'static str {
    match metric {
        Metric::CoPpm => "ppm",
        Metric::AmbientTempC | Metric::TemperatureC => "°C",
        Metric::HumidityPct | Metric::BatteryPct => "%",
        Metric::HeartRate => "bpm",
        Metric::RespirationRate => "breaths/min",
        Metric::Rssi => "dBm",
        _ => "",
    }
}

/// What to draw: a metric over `[from_ms, to_ms)`, as a line or bars, with a title of its own
/// (default: the device's name and the metric).
pub struct ChartRequest {
    pub metric: Metric,
    pub from_ms: i64,
    pub to_ms: i64,
    pub kind: ChartKind,
    pub title: Option<String>,
}

/// Draws `metric` of `device` over `[from_ms, to_ms)` as SVG. CO comes from the device's ppm
/// rollups, or from its raw MQ-7 rollups through its calibration (the curve is monotonic, so
/// minimum and maximum convert exactly and the mean closely).
pub async fn render(state: &AppState, device: &Device, request: ChartRequest) -> Result<String, StoreError> {
    let ChartRequest { metric, from_ms, to_ms, kind, title } = request;
    let household_id: HouseholdId = device.household_id;
    let bucket_ms = bucket_ms_for(from_ms, to_ms, MAX_BUCKETS);
    let query = |metric| RollupQuery {
        metric,
        resolution_secs: bucket_ms / 1000,
        from: petty_store::from_ms(from_ms).unwrap_or(OffsetDateTime::UNIX_EPOCH),
        to: petty_store::from_ms(to_ms).unwrap_or(OffsetDateTime::UNIX_EPOCH),
        limit: (MAX_BUCKETS * 2) as u32,
    };
    let mut rollups = state.store.rollup_series(household_id, device.id, &query(metric)).await?;
    let mut convert: Option<Mq7> = None;
    if metric == Metric::CoPpm && rollups.is_empty() {
        rollups = state.store.rollup_series(household_id, device.id, &query(Metric::CoRaw)).await?;
        convert = Some(Mq7::from_calibration(&device.profile.calibration));
    }
    let buckets: Vec<Bucket> = rollups
        .iter()
        .filter_map(|r| {
            let start_ms = petty_store::to_ms(r.bucket);
            match &convert {
                None => Some(Bucket { start_ms, min: r.min, mean: r.avg, max: r.max }),
                Some(m) => {
                    let (lo, hi) = (m.ppm(r.min)?, m.ppm(r.max)?);
                    Some(Bucket { start_ms, min: lo.min(hi), mean: m.ppm(r.avg)?, max: lo.max(hi) })
                }
            }
        })
        .collect();
    let rules = state.store.alarm_rules(household_id, petty_store::to_ms(OffsetDateTime::now_utc())).await?;
    let thresholds: Vec<Threshold> = rules
        .iter()
        .filter(|r| {
            r.rule.enabled
                && r.rule.metric == Some(metric)
                && matches!(r.rule.kind, ConditionKind::Above | ConditionKind::Below)
                && (r.rule.device_kind == "any" || r.rule.device_kind == device.profile.kind.as_str())
        })
        .map(|r| Threshold {
            label: format!("{} {} {}", r.rule.name, r.rule.value, short_unit(metric)),
            value: r.rule.value,
        })
        .collect();
    let title = title.unwrap_or_else(|| format!("{}: {}", device.profile.name, label(metric)));
    let chart =
        Chart::new(title, label(metric).to_owned(), short_unit(metric).to_owned(), kind, from_ms, to_ms, bucket_ms)
            .with_buckets(buckets)
            .with_thresholds(thresholds);
    Ok(render_svg(&chart))
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
    responses((status = 200, description = "image/svg+xml", content_type = "image/svg+xml"),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
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
    let svg = render(&state, &device, ChartRequest { metric, from_ms: from, to_ms: to, kind, title: None }).await?;
    Ok(([(header::CONTENT_TYPE, "image/svg+xml; charset=utf-8"), (header::CACHE_CONTROL, "private, max-age=30")], svg)
        .into_response())
}
