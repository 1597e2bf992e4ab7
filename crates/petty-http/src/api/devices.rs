//! Devices under `/api/v1/devices`: collars, air monitors and other sensors, their secret
//! tokens, and their readings.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use petty_core::accounts::Permission;
use petty_core::devices::{DeviceProfile, RawDeviceProfile, battery_low, device_status};
use petty_core::ids::{DeviceId, HouseholdId};
use petty_core::readings::{Metric, from_epoch_ms};
use petty_store::{Device, ReadingCursor, Rollup, RollupQuery, StoreError};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::api::{Paged, patch_field};
use crate::auth::{CurrentActor, new_secret};
use crate::error::{ApiError, ErrorBody, ErrorCode};
use crate::extract::{ApiJson, ApiPath, ApiQuery, ClientIp};
use crate::state::AppState;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_devices, create_device))
        .routes(routes!(get_device, update_device, delete_device))
        .routes(routes!(rotate_token, revoke_token))
        .routes(routes!(list_readings))
        .routes(routes!(latest_reading))
        .routes(routes!(list_rollups))
        .routes(routes!(list_events))
}

/// A device as the API shows it; `status` and `battery_low` are computed when asked.
#[derive(Serialize, ToSchema)]
pub(crate) struct DeviceOut {
    pub id: Uuid,
    pub household_id: Uuid,
    pub pet_id: Option<Uuid>,
    /// collar, air_monitor or other.
    pub kind: &'static str,
    pub name: String,
    pub model: Option<String>,
    pub firmware: Option<String>,
    /// How often the device is expected to report, in seconds.
    pub expected_interval_secs: u32,
    /// Named calibration values (for example an MQ-7's `r0`).
    pub calibration: BTreeMap<String, f64>,
    /// The serial printed on the device (a Petty collar's `SN-123456`); unique.
    pub serial: Option<String>,
    /// online (reported within 3 expected intervals), stale (within 10), offline, or never_seen.
    pub status: &'static str,
    pub battery_pct: Option<f64>,
    /// Battery under 20%.
    pub battery_low: bool,
    /// When a reading last arrived.
    #[serde(with = "crate::rfc3339::option")]
    pub last_seen_at: Option<OffsetDateTime>,
    /// The newest event time among its readings.
    #[serde(with = "crate::rfc3339::option")]
    pub latest_ts: Option<OffsetDateTime>,
    /// Whether a token is current (false once revoked).
    pub has_token: bool,
    #[serde(with = "crate::rfc3339::option")]
    pub token_created_at: Option<OffsetDateTime>,
    #[serde(serialize_with = "crate::rfc3339::serialize")]
    pub created_at: OffsetDateTime,
    #[serde(serialize_with = "crate::rfc3339::serialize")]
    pub updated_at: OffsetDateTime,
}

impl DeviceOut {
    fn new(d: Device, now: OffsetDateTime) -> Self {
        let p = d.profile;
        Self {
            id: d.id.0,
            household_id: d.household_id.0,
            pet_id: p.pet_id.map(|p| p.0),
            kind: p.kind.as_str(),
            status: device_status(d.last_seen_at, p.expected_interval_secs, now).as_str(),
            name: p.name,
            model: p.model,
            firmware: p.firmware,
            expected_interval_secs: p.expected_interval_secs,
            calibration: p.calibration,
            serial: p.serial,
            battery_low: battery_low(d.battery_pct),
            battery_pct: d.battery_pct,
            last_seen_at: d.last_seen_at,
            latest_ts: d.latest_ts,
            has_token: d.has_token,
            token_created_at: d.token_created_at,
            created_at: d.created_at,
            updated_at: d.updated_at,
        }
    }
}

/// A device with its token. The token is shown only here, once; Petty keeps only its hash.
#[derive(Serialize, ToSchema)]
pub(crate) struct DeviceWithToken {
    pub device: DeviceOut,
    /// `dk_...`: the device sends it as `Authorization: Bearer dk_...`.
    pub token: String,
}

/// A new device. Only `name` and `kind` are required.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeviceIn {
    /// 1–80 characters.
    pub name: String,
    /// collar, air_monitor or other.
    pub kind: String,
    /// The pet that wears it (a pet of this household).
    pub pet_id: Option<Uuid>,
    /// Up to 80 characters.
    pub model: Option<String>,
    /// Up to 40 characters.
    pub firmware: Option<String>,
    /// 1–86,400 seconds (default 60).
    pub expected_interval_secs: Option<i64>,
    /// Up to 32 named numbers; names are lower-case letters, digits and `_`.
    pub calibration: Option<BTreeMap<String, f64>>,
    /// The serial printed on the device, up to 64 letters, digits and `-_.:`; unique. A Petty
    /// collar's serial (`SN-123456`) is its `collar_id` on the compatibility routes.
    pub serial: Option<String>,
}

impl From<DeviceIn> for RawDeviceProfile {
    fn from(d: DeviceIn) -> Self {
        RawDeviceProfile {
            name: d.name,
            kind: d.kind,
            pet_id: d.pet_id,
            model: d.model,
            firmware: d.firmware,
            expected_interval_secs: d.expected_interval_secs,
            calibration: d.calibration.unwrap_or_default().into_iter().collect(),
            serial: d.serial,
        }
    }
}

/// Changes to a device: a field left out stays as it is; `null` clears it.
#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct DevicePatch {
    pub name: Option<String>,
    pub kind: Option<String>,
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = Option<Uuid>)]
    pub pet_id: Option<Option<Uuid>>,
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = Option<String>)]
    pub model: Option<Option<String>>,
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = Option<String>)]
    pub firmware: Option<Option<String>>,
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = Option<i64>)]
    pub expected_interval_secs: Option<Option<i64>>,
    /// Replaces the whole calibration map.
    pub calibration: Option<BTreeMap<String, f64>>,
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = Option<String>)]
    pub serial: Option<Option<String>>,
}

impl DevicePatch {
    /// The names of the fields this patch sets (for the audit log).
    fn field_names(&self) -> Vec<&'static str> {
        let mut names = Vec::new();
        macro_rules! sent {
            ($($f:ident),*) => { $(if self.$f.is_some() { names.push(stringify!($f)); })* };
        }
        sent!(name, kind, pet_id, model, firmware, expected_interval_secs, calibration, serial);
        names
    }

    fn apply(self, mut raw: RawDeviceProfile) -> RawDeviceProfile {
        if let Some(v) = self.name {
            raw.name = v;
        }
        if let Some(v) = self.kind {
            raw.kind = v;
        }
        if let Some(v) = self.calibration {
            raw.calibration = v.into_iter().collect();
        }
        macro_rules! nullable {
            ($($f:ident),*) => { $(if let Some(v) = self.$f { raw.$f = v; })* };
        }
        nullable!(pet_id, model, firmware, expected_interval_secs, serial);
        raw
    }
}

/// The only unique column a device profile has is its serial.
fn serial_taken(e: StoreError) -> ApiError {
    match e {
        StoreError::Conflict(_) => {
            ApiError::field(ErrorCode::Conflict, "serial", "taken", "serial: another device already has this serial")
        }
        other => other.into(),
    }
}

fn not_found(e: StoreError) -> ApiError {
    match e {
        StoreError::NotFound => ApiError::not_found("device"),
        e @ StoreError::Conflict(_) => serial_taken(e),
        other => other.into(),
    }
}

/// Parses the profile and checks that its pet is one of this household's.
async fn checked_profile(
    state: &AppState,
    household_id: HouseholdId,
    raw: &RawDeviceProfile,
) -> Result<DeviceProfile, ApiError> {
    let profile = DeviceProfile::parse(raw)?;
    if let Some(pet_id) = profile.pet_id {
        match state.store.get_pet(household_id, pet_id).await {
            Ok(_) => {}
            Err(StoreError::NotFound) => {
                return Err(ApiError::field(
                    ErrorCode::ValidationFailed,
                    "pet_id",
                    "not_found",
                    "pet_id: no pet with this id in your household",
                ));
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(profile)
}

/// The household's devices, by name, with their status.
#[utoipa::path(get, path = "/api/v1/devices", tag = "devices",
    responses((status = 200, body = Paged<DeviceOut>)),
    security(("bearer" = [])))]
pub(crate) async fn list_devices(
    State(state): State<AppState>,
    actor: CurrentActor,
) -> Result<Json<Paged<DeviceOut>>, ApiError> {
    let actor = actor.require(Permission::Read)?;
    let devices = state.store.list_devices(actor.household_id).await?;
    let now = OffsetDateTime::now_utc();
    let total = devices.len() as u64;
    Ok(Json(Paged {
        page_size: devices.len().max(1) as u32,
        items: devices.into_iter().map(|d| DeviceOut::new(d, now)).collect(),
        total,
        page: 1,
        has_next: false,
    }))
}

/// Add a device. The answer carries its token, shown this once.
#[utoipa::path(post, path = "/api/v1/devices", tag = "devices", request_body = DeviceIn,
    responses((status = 201, body = DeviceWithToken),
        (status = 409, description = "Another device already has this serial", body = ErrorBody)),
    security(("bearer" = [])))]
async fn create_device(
    State(state): State<AppState>,
    actor: CurrentActor,
    ClientIp(ip): ClientIp,
    ApiJson(body): ApiJson<DeviceIn>,
) -> Result<impl IntoResponse, ApiError> {
    let actor = actor.require(Permission::ManagePets)?;
    let profile = checked_profile(&state, actor.household_id, &body.into()).await?;
    let (token, hash) = new_secret("dk_");
    let now = OffsetDateTime::now_utc();
    let device = state.store.create_device(actor.household_id, &profile, &hash, now).await.map_err(serial_taken)?;
    let location = format!("/api/v1/devices/{}", device.id);
    crate::api::audit(&state, &actor, ip, "create", "device", device.id, petty_app::audit::no_detail()).await?;
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(DeviceWithToken { device: DeviceOut::new(device, now), token }),
    ))
}

/// One device.
#[utoipa::path(get, path = "/api/v1/devices/{id}", tag = "devices", params(("id" = Uuid, Path, description = "The device's id")),
    responses((status = 200, body = DeviceOut)),
    security(("bearer" = [])))]
async fn get_device(
    State(state): State<AppState>,
    actor: CurrentActor,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<DeviceOut>, ApiError> {
    let actor = actor.require(Permission::Read)?;
    let device = state.store.get_device(actor.household_id, DeviceId(id)).await.map_err(not_found)?;
    Ok(Json(DeviceOut::new(device, OffsetDateTime::now_utc())))
}

/// Change some of a device's fields.
#[utoipa::path(patch, path = "/api/v1/devices/{id}", tag = "devices", params(("id" = Uuid, Path, description = "The device's id")),
    request_body = DevicePatch,
    responses((status = 200, body = DeviceOut),
        (status = 409, description = "Another device already has this serial", body = ErrorBody)),
    security(("bearer" = [])))]
async fn update_device(
    State(state): State<AppState>,
    actor: CurrentActor,
    ClientIp(ip): ClientIp,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(patch): ApiJson<DevicePatch>,
) -> Result<Json<DeviceOut>, ApiError> {
    let actor = actor.require(Permission::ManagePets)?;
    let patch_fields = patch.field_names();
    let current = state.store.get_device(actor.household_id, DeviceId(id)).await.map_err(not_found)?;
    let profile = checked_profile(&state, actor.household_id, &patch.apply(current.profile.to_raw())).await?;
    let now = OffsetDateTime::now_utc();
    let device = state.store.update_device(actor.household_id, DeviceId(id), &profile, now).await.map_err(not_found)?;
    crate::api::audit(&state, &actor, ip, "update", "device", id, petty_app::audit::fields(&patch_fields)).await?;
    Ok(Json(DeviceOut::new(device, now)))
}

/// Remove a device and all its readings.
#[utoipa::path(delete, path = "/api/v1/devices/{id}", tag = "devices", params(("id" = Uuid, Path, description = "The device's id")),
    responses((status = 204)),
    security(("bearer" = [])))]
async fn delete_device(
    State(state): State<AppState>,
    actor: CurrentActor,
    ClientIp(ip): ClientIp,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<StatusCode, ApiError> {
    let actor = actor.require(Permission::ManagePets)?;
    state.store.delete_device(actor.household_id, DeviceId(id)).await.map_err(not_found)?;
    crate::api::audit(&state, &actor, ip, "delete", "device", id, petty_app::audit::no_detail()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Give the device a new token; the old one stops working at once. The new token is shown
/// this once.
#[utoipa::path(post, path = "/api/v1/devices/{id}/token", tag = "devices", params(("id" = Uuid, Path, description = "The device's id")),
    responses((status = 200, body = DeviceWithToken)),
    security(("bearer" = [])))]
async fn rotate_token(
    State(state): State<AppState>,
    actor: CurrentActor,
    ClientIp(ip): ClientIp,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<DeviceWithToken>, ApiError> {
    let actor = actor.require(Permission::ManagePets)?;
    let (token, hash) = new_secret("dk_");
    let now = OffsetDateTime::now_utc();
    let device =
        state.store.set_device_token(actor.household_id, DeviceId(id), Some(&hash), now).await.map_err(not_found)?;
    crate::api::audit(&state, &actor, ip, "rotate_token", "device", id, petty_app::audit::fields(&["token"])).await?;
    Ok(Json(DeviceWithToken { device: DeviceOut::new(device, now), token }))
}

/// Revoke the device's token: it can send nothing until a new one is made.
#[utoipa::path(delete, path = "/api/v1/devices/{id}/token", tag = "devices", params(("id" = Uuid, Path, description = "The device's id")),
    responses((status = 204)),
    security(("bearer" = [])))]
async fn revoke_token(
    State(state): State<AppState>,
    actor: CurrentActor,
    ClientIp(ip): ClientIp,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<StatusCode, ApiError> {
    let actor = actor.require(Permission::ManagePets)?;
    state
        .store
        .set_device_token(actor.household_id, DeviceId(id), None, OffsetDateTime::now_utc())
        .await
        .map_err(not_found)?;
    crate::api::audit(&state, &actor, ip, "revoke_token", "device", id, petty_app::audit::fields(&["token"])).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub(crate) use petty_app::readings::ReadingOut;

/// The most readings one page holds.
pub(crate) const READINGS_LIMIT_MAX: u32 = 5000;
/// The most periods one rollups answer holds.
pub(crate) const ROLLUPS_LIMIT_MAX: u32 = 10_000;
/// The rollups' resolutions, by name, in seconds.
pub(crate) const RESOLUTIONS: [(&str, i64); 3] = [("1m", 60), ("1h", 3_600), ("1d", 86_400)];

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReadingsQuery {
    /// Start of the range (RFC 3339 or epoch milliseconds), inclusive; default 24 hours ago.
    pub from: Option<String>,
    /// End of the range, exclusive; default now plus 5 minutes.
    pub to: Option<String>,
    /// `next_cursor` from the previous page.
    pub cursor: Option<String>,
    /// Readings per page, 1–5000 (default 500).
    pub limit: Option<u32>,
}

/// A page of readings, oldest first.
#[derive(Serialize, ToSchema)]
pub(crate) struct ReadingsPage {
    pub items: Vec<ReadingOut>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

pub(crate) fn query_time(field: &str, raw: &str) -> Result<OffsetDateTime, ApiError> {
    let parsed = match raw.parse::<i64>() {
        Ok(ms) => from_epoch_ms(ms),
        Err(_) => OffsetDateTime::parse(raw, &time::format_description::well_known::Rfc3339).ok(),
    };
    parsed.ok_or_else(|| {
        ApiError::field(
            ErrorCode::ValidationFailed,
            field,
            "format",
            format!("{field} must be an RFC 3339 time like 2026-11-22T06:15:35Z or epoch milliseconds"),
        )
    })
}

fn parse_cursor(raw: &str) -> Result<ReadingCursor, ApiError> {
    let bad = || {
        ApiError::field(
            ErrorCode::ValidationFailed,
            "cursor",
            "format",
            "cursor: pass next_cursor from the previous page unchanged",
        )
    };
    let (ts, seq) = raw.split_once('.').ok_or_else(bad)?;
    Ok(ReadingCursor { ts_ms: ts.parse().map_err(|_| bad())?, seq: seq.parse().map_err(|_| bad())? })
}

/// The device's readings in a time range, oldest first, a page at a time.
#[utoipa::path(get, path = "/api/v1/devices/{id}/readings", tag = "devices",
    params(("id" = Uuid, Path, description = "The device's id"), ReadingsQuery),
    responses((status = 200, body = ReadingsPage)),
    security(("bearer" = [])))]
pub(crate) async fn list_readings(
    State(state): State<AppState>,
    actor: CurrentActor,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(query): ApiQuery<ReadingsQuery>,
) -> Result<Json<ReadingsPage>, ApiError> {
    let actor = actor.require(Permission::Read)?;
    let now = OffsetDateTime::now_utc();
    let from =
        query.from.as_deref().map(|v| query_time("from", v)).transpose()?.unwrap_or(now - time::Duration::days(1));
    let to = query.to.as_deref().map(|v| query_time("to", v)).transpose()?.unwrap_or(now + time::Duration::minutes(5));
    let limit = query.limit.unwrap_or(500);
    if !(1..=READINGS_LIMIT_MAX).contains(&limit) {
        return Err(ApiError::field(
            ErrorCode::ValidationFailed,
            "limit",
            "out_of_range",
            format!("limit must be between 1 and {READINGS_LIMIT_MAX}"),
        ));
    }
    let after = query.cursor.as_deref().map(parse_cursor).transpose()?;
    let device_id = DeviceId(id);
    // 404 for a device that is not this household's, rather than an empty page.
    state.store.get_device(actor.household_id, device_id).await.map_err(not_found)?;
    let (items, next) = state.store.readings(actor.household_id, device_id, from, to, after, limit).await?;
    Ok(Json(ReadingsPage {
        items: items.into_iter().map(ReadingOut::from).collect(),
        next_cursor: next.map(|c| format!("{}.{}", c.ts_ms, c.seq)),
    }))
}

/// The reading with the newest event time. A device that has sent nothing yet answers 204 (no
/// content), so a 404 always means there is no such device.
#[utoipa::path(get, path = "/api/v1/devices/{id}/readings/latest", tag = "devices",
    params(("id" = Uuid, Path, description = "The device's id")),
    responses((status = 200, body = ReadingOut),
        (status = 204, description = "The device exists and has sent no reading yet"),
        (status = 404, description = "No such device in the household", body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn latest_reading(
    State(state): State<AppState>,
    actor: CurrentActor,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<axum::response::Response, ApiError> {
    let actor = actor.require(Permission::Read)?;
    let device_id = DeviceId(id);
    state.store.get_device(actor.household_id, device_id).await.map_err(not_found)?;
    let latest = state.store.latest_reading(actor.household_id, device_id).await?;
    Ok(match latest {
        Some(reading) => Json(ReadingOut::from(reading)).into_response(),
        None => StatusCode::NO_CONTENT.into_response(),
    })
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct RollupsQuery {
    /// heart_rate, respiration_rate, activity_level, activity_counts, steps, temperature_c,
    /// battery_pct, rssi, co_ppm, co_raw, humidity_pct or ambient_temp_c.
    pub metric: String,
    /// 1m, 1h or 1d.
    pub resolution: String,
    /// Start (RFC 3339 or epoch milliseconds); the period holding it is included. Default: 24 hours ago.
    pub from: Option<String>,
    /// End, exclusive. Default: now.
    pub to: Option<String>,
    /// Periods per answer, 1–10,000 (default 1,440).
    pub limit: Option<u32>,
}

/// One period's summary.
#[derive(Serialize, ToSchema)]
pub(crate) struct RollupOut {
    /// The start of the period.
    #[serde(serialize_with = "crate::rfc3339::serialize")]
    pub bucket: OffsetDateTime,
    pub count: u64,
    pub min: f64,
    pub max: f64,
    pub avg: f64,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct RollupsOut {
    pub metric: &'static str,
    pub unit: &'static str,
    pub resolution: String,
    pub items: Vec<RollupOut>,
}

/// Minimum, maximum, average and count of one metric per minute, hour or day, kept up to date
/// as readings arrive (late ones included).
#[utoipa::path(get, path = "/api/v1/devices/{id}/rollups", tag = "devices",
    params(("id" = Uuid, Path, description = "The device's id"), RollupsQuery),
    responses((status = 200, body = RollupsOut)),
    security(("bearer" = [])))]
async fn list_rollups(
    State(state): State<AppState>,
    actor: CurrentActor,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(query): ApiQuery<RollupsQuery>,
) -> Result<Json<RollupsOut>, ApiError> {
    let actor = actor.require(Permission::Read)?;
    let invalid = |field: &str, rule: &str, message: &str| {
        ApiError::field(ErrorCode::ValidationFailed, field, rule, format!("{field} {message}"))
    };
    let metric = Metric::from_name(&query.metric)
        .ok_or_else(|| invalid("metric", "one_of", "must be one of the reading metrics, like heart_rate or co_ppm"))?;
    let resolution_secs = RESOLUTIONS
        .iter()
        .find(|(name, _)| *name == query.resolution)
        .map(|(_, secs)| *secs)
        .ok_or_else(|| invalid("resolution", "one_of", "must be 1m, 1h or 1d"))?;
    let now = OffsetDateTime::now_utc();
    let from =
        query.from.as_deref().map(|v| query_time("from", v)).transpose()?.unwrap_or(now - time::Duration::days(1));
    let to = query.to.as_deref().map(|v| query_time("to", v)).transpose()?.unwrap_or(now);
    let limit = query.limit.unwrap_or(1_440);
    if !(1..=ROLLUPS_LIMIT_MAX).contains(&limit) {
        return Err(invalid("limit", "out_of_range", &format!("must be between 1 and {ROLLUPS_LIMIT_MAX}")));
    }
    let device_id = DeviceId(id);
    state.store.get_device(actor.household_id, device_id).await.map_err(not_found)?;
    let query_range = RollupQuery { metric, resolution_secs, from, to, limit };
    let items = state.store.rollups(actor.household_id, device_id, &query_range).await?;
    Ok(Json(RollupsOut {
        metric: metric.name(),
        unit: metric.unit(),
        resolution: query.resolution,
        items: items
            .into_iter()
            .map(|r: Rollup| RollupOut { bucket: r.bucket, count: r.count, min: r.min, max: r.max, avg: r.avg })
            .collect(),
    }))
}

/// A change in the device's liveness or battery.
#[derive(Serialize, ToSchema)]
pub(crate) struct DeviceEventOut {
    /// stale, offline, back_online, battery_low or battery_ok.
    pub kind: &'static str,
    #[serde(serialize_with = "crate::rfc3339::serialize")]
    pub at: OffsetDateTime,
    pub detail: String,
}

/// The device's liveness and battery events, newest first (the last 100).
#[utoipa::path(get, path = "/api/v1/devices/{id}/events", tag = "devices",
    params(("id" = Uuid, Path, description = "The device's id")),
    responses((status = 200, body = Paged<DeviceEventOut>)),
    security(("bearer" = [])))]
async fn list_events(
    State(state): State<AppState>,
    actor: CurrentActor,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<Paged<DeviceEventOut>>, ApiError> {
    let actor = actor.require(Permission::Read)?;
    let device_id = DeviceId(id);
    state.store.get_device(actor.household_id, device_id).await.map_err(not_found)?;
    let events = state.store.device_events(actor.household_id, device_id, 100).await?;
    Ok(Json(Paged::all(
        events.into_iter().map(|e| DeviceEventOut { kind: e.kind.as_str(), at: e.at, detail: e.detail }).collect(),
    )))
}
