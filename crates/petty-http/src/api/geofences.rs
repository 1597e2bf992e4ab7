//! `/api/v1/geofences`: a household's fences (circles and polygons), and where each collar
//! stands with respect to one ("outside since" is a state, not only an event).

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use petty_core::accounts::Permission;
use petty_core::geofence::{Fence, FenceRules, RawFence, Shape};
use petty_store::{Geofence, StoreError};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::api::Paged;
use crate::auth::CurrentActor;
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath, ClientIp};
use crate::state::AppState;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_geofences, create_geofence))
        .routes(routes!(get_geofence, replace_geofence, delete_geofence))
        .routes(routes!(geofence_status))
}

#[derive(Deserialize, Serialize, ToSchema, Clone, Copy)]
#[serde(deny_unknown_fields)]
pub(crate) struct LatLon {
    pub lat: f64,
    pub lon: f64,
}

/// A fence: a circle (`center`, `radius_m`) or a polygon (`points`).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct GeofenceIn {
    /// 1–80 characters.
    pub name: String,
    /// circle or polygon.
    pub kind: String,
    /// The circle's centre.
    pub center: Option<LatLon>,
    /// The circle's radius, 10 m to 50 km.
    pub radius_m: Option<f64>,
    /// The polygon's corners in order, 3 to 100 (not closed: the last joins the first).
    pub points: Option<Vec<LatLon>>,
    /// How long a collar must be clearly outside (or back inside) before it counts, 0–3,600 s
    /// (default 60).
    pub dwell_secs: Option<i64>,
    /// Positions less accurate than this are ignored, 5–1,000 m (default 50).
    pub max_accuracy_m: Option<f64>,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct GeofenceOut {
    pub id: Uuid,
    pub name: String,
    /// circle or polygon.
    pub kind: &'static str,
    pub center: Option<LatLon>,
    pub radius_m: Option<f64>,
    pub points: Option<Vec<LatLon>>,
    pub dwell_secs: i64,
    pub max_accuracy_m: f64,
    #[serde(serialize_with = "crate::rfc3339::serialize")]
    pub created_at: OffsetDateTime,
    #[serde(serialize_with = "crate::rfc3339::serialize")]
    pub updated_at: OffsetDateTime,
}

impl From<&Geofence> for GeofenceOut {
    fn from(g: &Geofence) -> Self {
        let (kind, center, radius_m, points) = match &g.fence.shape {
            Shape::Circle { lat, lon, radius_m } => {
                ("circle", Some(LatLon { lat: *lat, lon: *lon }), Some(*radius_m), None)
            }
            Shape::Polygon(p) => {
                ("polygon", None, None, Some(p.iter().map(|(lat, lon)| LatLon { lat: *lat, lon: *lon }).collect()))
            }
        };
        GeofenceOut {
            id: g.id,
            name: g.fence.name.clone(),
            kind,
            center,
            radius_m,
            points,
            dwell_secs: g.rules.dwell_ms / 1000,
            max_accuracy_m: g.rules.max_accuracy_m,
            created_at: g.created_at,
            updated_at: g.updated_at,
        }
    }
}

fn parse(body: &GeofenceIn) -> Result<(Fence, FenceRules), ApiError> {
    let raw = RawFence {
        name: body.name.clone(),
        kind: body.kind.clone(),
        lat: body.center.map(|c| c.lat),
        lon: body.center.map(|c| c.lon),
        radius_m: body.radius_m,
        points: body.points.as_ref().map(|p| p.iter().map(|l| (l.lat, l.lon)).collect()),
    };
    let fence = Fence::parse(&raw)?;
    let rules = FenceRules::parse(body.dwell_secs, body.max_accuracy_m)?;
    Ok((fence, rules))
}

fn not_found(e: StoreError) -> ApiError {
    match e {
        StoreError::NotFound => ApiError::not_found("geofence"),
        other => other.into(),
    }
}

/// The household's fences, by name.
#[utoipa::path(get, path = "/api/v1/geofences", tag = "geofences",
    responses((status = 200, body = Paged<GeofenceOut>)),
    security(("bearer" = [])))]
async fn list_geofences(
    State(state): State<AppState>,
    actor: CurrentActor,
) -> Result<Json<Paged<GeofenceOut>>, ApiError> {
    let actor = actor.require(Permission::Read)?;
    let items: Vec<GeofenceOut> =
        state.store.list_geofences(actor.household_id).await?.iter().map(GeofenceOut::from).collect();
    let total = items.len() as u64;
    let page_size = u32::try_from(items.len()).unwrap_or(u32::MAX).max(1);
    Ok(Json(Paged { items, total, page: 1, page_size, has_next: false }))
}

/// A new fence; collars' positions are judged against it from their next readings.
#[utoipa::path(post, path = "/api/v1/geofences", tag = "geofences", request_body = GeofenceIn,
    responses((status = 201, body = GeofenceOut)),
    security(("bearer" = [])))]
async fn create_geofence(
    State(state): State<AppState>,
    actor: CurrentActor,
    ClientIp(ip): ClientIp,
    ApiJson(body): ApiJson<GeofenceIn>,
) -> Result<impl IntoResponse, ApiError> {
    let actor = actor.require(Permission::ManagePets)?;
    let (fence, rules) = parse(&body)?;
    let g = state.store.create_geofence(actor.household_id, &fence, rules, OffsetDateTime::now_utc()).await?;
    crate::api::audit(&state, &actor, ip, "create", "geofence", g.id, petty_app::audit::no_detail()).await?;
    Ok((StatusCode::CREATED, [(header::LOCATION, format!("/api/v1/geofences/{}", g.id))], Json(GeofenceOut::from(&g))))
}

#[utoipa::path(get, path = "/api/v1/geofences/{id}", tag = "geofences", params(("id" = Uuid, Path, description = "The fence's id")),
    responses((status = 200, body = GeofenceOut)),
    security(("bearer" = [])))]
async fn get_geofence(
    State(state): State<AppState>,
    actor: CurrentActor,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<GeofenceOut>, ApiError> {
    let actor = actor.require(Permission::Read)?;
    let g = state.store.get_geofence(actor.household_id, id).await.map_err(not_found)?;
    Ok(Json(GeofenceOut::from(&g)))
}

/// Replaces a fence (name, shape and rules); collars are judged afresh against the new shape.
#[utoipa::path(put, path = "/api/v1/geofences/{id}", tag = "geofences", params(("id" = Uuid, Path, description = "The fence's id")),
    request_body = GeofenceIn,
    responses((status = 200, body = GeofenceOut)),
    security(("bearer" = [])))]
async fn replace_geofence(
    State(state): State<AppState>,
    actor: CurrentActor,
    ClientIp(ip): ClientIp,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<GeofenceIn>,
) -> Result<Json<GeofenceOut>, ApiError> {
    let actor = actor.require(Permission::ManagePets)?;
    let (fence, rules) = parse(&body)?;
    let g = state
        .store
        .update_geofence(actor.household_id, id, &fence, rules, OffsetDateTime::now_utc())
        .await
        .map_err(not_found)?;
    crate::api::audit(&state, &actor, ip, "update", "geofence", id, petty_app::audit::no_detail()).await?;
    Ok(Json(GeofenceOut::from(&g)))
}

#[utoipa::path(delete, path = "/api/v1/geofences/{id}", tag = "geofences", params(("id" = Uuid, Path, description = "The fence's id")),
    responses((status = 204)),
    security(("bearer" = [])))]
async fn delete_geofence(
    State(state): State<AppState>,
    actor: CurrentActor,
    ClientIp(ip): ClientIp,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<StatusCode, ApiError> {
    let actor = actor.require(Permission::ManagePets)?;
    state.store.delete_geofence(actor.household_id, id).await.map_err(not_found)?;
    crate::api::audit(&state, &actor, ip, "delete", "geofence", id, petty_app::audit::no_detail()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Where one collar stands with respect to the fence.
#[derive(Serialize, ToSchema)]
pub(crate) struct FenceStatusOut {
    pub device_id: Uuid,
    /// inside, outside, or unknown (no usable position yet).
    pub state: &'static str,
    /// When it left, while it is outside.
    #[serde(with = "crate::rfc3339::option")]
    pub outside_since: Option<OffsetDateTime>,
    /// The newest position taken into account.
    #[serde(with = "crate::rfc3339::option")]
    pub last_fix: Option<OffsetDateTime>,
}

/// Each collar's state for the fence: inside, or outside since when.
#[utoipa::path(get, path = "/api/v1/geofences/{id}/status", tag = "geofences", params(("id" = Uuid, Path, description = "The fence's id")),
    responses((status = 200, body = Paged<FenceStatusOut>)),
    security(("bearer" = [])))]
async fn geofence_status(
    State(state): State<AppState>,
    actor: CurrentActor,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<Paged<FenceStatusOut>>, ApiError> {
    let actor = actor.require(Permission::Read)?;
    state.store.get_geofence(actor.household_id, id).await.map_err(not_found)?;
    let states = state.store.geofence_status(actor.household_id, id).await?;
    let time = |ms: Option<i64>| ms.and_then(|m| petty_store::from_ms(m).ok());
    Ok(Json(Paged::all(
        states
            .into_iter()
            .map(|s| FenceStatusOut {
                device_id: s.device_id.0,
                state: match (s.state.known, s.state.inside) {
                    (false, _) => "unknown",
                    (true, true) => "inside",
                    (true, false) => "outside",
                },
                outside_since: time(s.state.outside_since_ms),
                last_fix: time(s.state.last_fix_ms),
            })
            .collect(),
    )))
}
