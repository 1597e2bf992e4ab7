//! `POST /api/v1/ingest`: readings from devices, one at a time or in batches of up to 10,000.
//!
//! A device authenticates with its own token (`Authorization: Bearer dk_...`); an integration
//! with a household API key of write scope (or a signed-in member) names the device in the
//! body as `device_id`. Petty answers only after the readings are committed.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use petty_core::accounts::Permission;
use petty_core::ids::{DeviceId, HouseholdId};
use petty_core::readings::{METRIC_COUNT, Metric, RawAccel, RawLocation, RawReading, RawTime, Reading};
use petty_store::IngestOutcome;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::auth::{Authentication, Caller};
use crate::error::{ApiError, ErrorBody, ErrorCode, FieldDetail};
use crate::extract::ApiJson;
use crate::state::AppState;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    // A full batch is larger than the API's general body limit.
    OpenApiRouter::new().routes(routes!(ingest)).layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
}

/// Room for a full batch of rich readings.
pub(crate) const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

/// The most readings one request may carry.
pub(crate) const MAX_BATCH: usize = 10_000;

/// A time: RFC 3339 text or epoch milliseconds.
#[derive(Deserialize, ToSchema)]
#[serde(untagged)]
pub enum TimeIn {
    EpochMs(i64),
    Text(String),
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct LocationIn {
    /// -90 to 90.
    pub lat: Option<f64>,
    /// -180 to 180.
    pub lon: Option<f64>,
    /// 0 to 100,000 metres.
    pub accuracy_m: Option<f64>,
}

/// A raw accelerometer window: `{hz, x[], y[], z[]}`.
#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct AccelIn {
    /// Samples per second, 1–400.
    pub hz: Option<f64>,
    /// Acceleration along each axis in g (|value| ≤ 16), the same number of samples on each.
    #[serde(default)]
    pub x: Vec<f64>,
    #[serde(default)]
    pub y: Vec<f64>,
    #[serde(default)]
    pub z: Vec<f64>,
}

/// Declares the reading fields once, for the single-reading body and for each batch entry.
macro_rules! reading_struct {
    ($(#[$meta:meta])* $vis:vis $name:ident { $($extra_field:tt)* }) => {
        $(#[$meta])*
        #[derive(Deserialize, ToSchema, Default)]
        #[serde(deny_unknown_fields)]
        $vis struct $name {
            $($extra_field)*
            /// The device's time of the measurement: RFC 3339 or epoch milliseconds; at most
            /// 5 minutes ahead of Petty's clock.
            pub ts: Option<TimeIn>,
            /// The device's sequence number (≥ 0); with `ts` it identifies the reading.
            pub seq: Option<i64>,
            /// Beats per minute, 20–400.
            pub heart_rate: Option<f64>,
            /// Breaths per minute, 2–200.
            pub respiration_rate: Option<f64>,
            /// 0 rest, 1 light, 2 active.
            pub activity_level: Option<f64>,
            /// Accelerometer activity counts, 0–1,000,000.
            pub activity_counts: Option<f64>,
            /// 0–1,000,000.
            pub steps: Option<f64>,
            /// Body temperature, 25–45 °C.
            pub temperature_c: Option<f64>,
            /// 0–100 %.
            pub battery_pct: Option<f64>,
            /// -150–0 dBm.
            pub rssi: Option<f64>,
            /// Carbon monoxide, 0–10,000 ppm.
            pub co_ppm: Option<f64>,
            /// The CO sensor's raw ADC value, 0–65,535.
            pub co_raw: Option<f64>,
            /// 0–100 %.
            pub humidity_pct: Option<f64>,
            /// Air temperature, -50–90 °C.
            pub ambient_temp_c: Option<f64>,
            pub location: Option<LocationIn>,
            /// Up to 32 further named numbers.
            pub extra: Option<BTreeMap<String, f64>>,
            /// A raw 3-axis accelerometer window (8–1,024 samples per axis, in g, at 1–400 Hz).
            /// Petty keeps its features (as the extra numbers `accel_mag_mean`, `accel_mag_std`,
            /// `accel_mag_max`, `accel_dominant_hz`, `accel_dominant_power`, `accel_odba`,
            /// `accel_pitch_deg`, `accel_half_rhythm`) for the behaviour analysis, not the
            /// samples.
            pub accel: Option<AccelIn>,
        }

        impl $name {
            /// The reading as `petty_core` parses it.
            $vis fn raw(&self) -> RawReading {
                let mut values = [None; METRIC_COUNT];
                for (metric, value) in [
                    (Metric::HeartRate, self.heart_rate),
                    (Metric::RespirationRate, self.respiration_rate),
                    (Metric::ActivityLevel, self.activity_level),
                    (Metric::ActivityCounts, self.activity_counts),
                    (Metric::Steps, self.steps),
                    (Metric::TemperatureC, self.temperature_c),
                    (Metric::BatteryPct, self.battery_pct),
                    (Metric::Rssi, self.rssi),
                    (Metric::CoPpm, self.co_ppm),
                    (Metric::CoRaw, self.co_raw),
                    (Metric::HumidityPct, self.humidity_pct),
                    (Metric::AmbientTempC, self.ambient_temp_c),
                ] {
                    values[metric.index()] = value;
                }
                RawReading {
                    ts: self.ts.as_ref().map(|t| match t {
                        TimeIn::EpochMs(ms) => RawTime::EpochMs(*ms),
                        TimeIn::Text(s) => RawTime::Text(s.clone()),
                    }),
                    seq: self.seq,
                    values,
                    location: self.location.as_ref().map(|l| RawLocation { lat: l.lat, lon: l.lon, accuracy_m: l.accuracy_m }),
                    extra: self.extra.iter().flatten().map(|(k, v)| (k.clone(), *v)).collect(),
                    accel: self.accel.as_ref().map(|a| RawAccel {
                        hz: a.hz,
                        x: a.x.clone(),
                        y: a.y.clone(),
                        z: a.z.clone(),
                    }),
                }
            }
        }
    };
}

reading_struct!(
    /// One reading in a batch.
    pub ReadingIn {}
);

reading_struct!(
    /// An MQTT message: the ingest body with the device's token (the subscriber is the binary's,
    /// `crates/petty/src/mqtt.rs`).
    pub MqttIn {
        /// The device's `dk_...` token.
        pub token: String,
        pub readings: Option<Vec<ReadingIn>>,
    }
);

reading_struct!(
    /// One line of a JSON-lines import: a reading as the API takes it, or as the JSON-lines
    /// export writes it (its `received_at` is ignored: arrival is now).
    pub(crate) ImportLine {
        /// Ignored (the export writes it; arrival is now).
        #[serde(rename = "received_at")]
        #[schema(value_type = Option<String>)]
        pub _received_at: Option<serde::de::IgnoredAny>,
    }
);

reading_struct!(
    /// One reading, or `{"readings": [...]}` (with the reading fields left out) for a batch.
    IngestIn {
        /// The device, when authenticating with an API key or as a member; a device token
        /// already names its device.
        pub device_id: Option<Uuid>,
        /// A batch of up to 10,000 readings.
        pub readings: Option<Vec<ReadingIn>>,
    }
);

/// The answer to a single reading.
#[derive(Serialize, ToSchema)]
pub(crate) struct IngestOne {
    /// accepted (stored now) or duplicate (stored before; not stored again).
    pub status: &'static str,
}

/// The answer to a batch: counts, and each reading's fate in order.
#[derive(Serialize, ToSchema)]
pub(crate) struct IngestBatch {
    pub accepted: usize,
    pub duplicates: usize,
    pub rejected: usize,
    pub results: Vec<ReadingResult>,
}

/// A 200 from `POST /api/v1/ingest`: a single reading stored before (a duplicate), or a batch's
/// results.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub(crate) enum IngestAnswer {
    Batch(IngestBatch),
    One(IngestOne),
}

#[derive(Serialize, ToSchema)]
pub(crate) struct ReadingResult {
    pub index: usize,
    /// accepted, duplicate or rejected.
    pub status: &'static str,
    /// Why a rejected reading was rejected, field by field.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldDetail>,
}

fn outcome_name(outcome: IngestOutcome) -> &'static str {
    match outcome {
        IngestOutcome::Accepted => "accepted",
        IngestOutcome::Duplicate => "duplicate",
    }
}

/// Who is sending, resolved to one device of one household.
pub(crate) struct Sender {
    pub(crate) household_id: HouseholdId,
    pub(crate) device_id: DeviceId,
}

impl Sender {
    pub(crate) fn app(&self) -> petty_app::Sender {
        petty_app::Sender { household_id: self.household_id, device_id: self.device_id }
    }
}

pub(crate) async fn sender(
    state: &AppState,
    caller: Authentication,
    device_id: Option<Uuid>,
) -> Result<Sender, ApiError> {
    match caller {
        Authentication::Device(device) => {
            if device_id.is_some_and(|id| id != device.device_id.0) {
                return Err(ApiError::field(
                    ErrorCode::Forbidden,
                    "device_id",
                    "not_this_device",
                    "device_id: a device token can only send its own device's readings",
                ));
            }
            Ok(Sender { household_id: device.household_id, device_id: device.device_id })
        }
        Authentication::Authenticated(actor) => {
            if !actor.can(Permission::WriteCare) {
                return Err(ApiError::forbidden("your role or key scope does not allow you to send readings"));
            }
            let Some(id) = device_id else {
                return Err(ApiError::field(
                    ErrorCode::ValidationFailed,
                    "device_id",
                    "required",
                    "device_id is required unless you authenticate with the device's own token",
                ));
            };
            if !state.store.device_in_household(actor.household_id, DeviceId(id)).await? {
                return Err(ApiError::not_found("device"));
            }
            Ok(Sender { household_id: actor.household_id, device_id: DeviceId(id) })
        }
        Authentication::Failed { code, message } => Err(ApiError::new(code, message)),
        Authentication::Anonymous => Err(ApiError::unauthenticated(
            "send the device's token as Authorization: Bearer dk_..., or an API key with device_id",
        )),
    }
}

fn has_reading_fields(body: &IngestIn) -> bool {
    let raw = body.raw();
    raw.ts.is_some()
        || raw.seq.is_some()
        || raw.values.iter().any(Option::is_some)
        || raw.location.is_some()
        || !raw.extra.is_empty()
        || raw.accel.is_some()
}

pub(crate) fn field_details(invalid: petty_core::validation::Invalid, prefix: &str) -> Vec<FieldDetail> {
    invalid
        .0
        .into_iter()
        .map(|e| FieldDetail { field: format!("{prefix}{}", e.field), rule: e.rule.to_owned(), message: e.message })
        .collect()
}

/// Send readings. One reading answers 201 (accepted) or 200 (duplicate); a batch answers 200
/// with each reading's fate. Nothing is acknowledged before it is committed.
#[utoipa::path(post, path = "/api/v1/ingest", tag = "readings", request_body = IngestIn,
    responses(
        (status = 201, description = "The reading is stored", body = IngestOne),
        (status = 200, description = "A duplicate, or a batch's results", body = IngestAnswer),
        (status = 404, description = "No device `device_id` in the caller's household", body = ErrorBody),
        (status = 503, description = "The database could not take it; nothing was stored", body = ErrorBody)),
    security(("bearer" = [])))]
async fn ingest(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiJson(body): ApiJson<IngestIn>,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    let sender = sender(&state, caller, body.device_id).await?;
    let now = OffsetDateTime::now_utc();
    match &body.readings {
        None => {
            let readings = vec![Reading::parse(&body.raw(), now)?];
            let outcome = state.app.ingest(sender.app(), readings).await?;
            let outcome = outcome.first().copied().unwrap_or(IngestOutcome::Duplicate);
            let status = if outcome == IngestOutcome::Accepted { StatusCode::CREATED } else { StatusCode::OK };
            Ok((status, Json(IngestAnswer::One(IngestOne { status: outcome_name(outcome) }))).into_response())
        }
        Some(batch) => {
            if has_reading_fields(&body) {
                return Err(ApiError::field(
                    ErrorCode::ValidationFailed,
                    "readings",
                    "exclusive",
                    "send either one reading's fields or readings: [...], not both",
                ));
            }
            if batch.len() > MAX_BATCH {
                return Err(ApiError::field(
                    ErrorCode::ValidationFailed,
                    "readings",
                    "too_many",
                    format!("readings: at most {MAX_BATCH} per request, got {}", batch.len()),
                ));
            }
            let mut results = Vec::with_capacity(batch.len());
            let mut valid = Vec::with_capacity(batch.len());
            let mut valid_index = Vec::with_capacity(batch.len());
            for (index, entry) in batch.iter().enumerate() {
                match Reading::parse(&entry.raw(), now) {
                    Ok(reading) => {
                        valid_index.push(index);
                        valid.push(reading);
                        results.push(ReadingResult { index, status: "accepted", errors: Vec::new() });
                    }
                    Err(invalid) => results.push(ReadingResult {
                        index,
                        status: "rejected",
                        errors: field_details(invalid, &format!("readings[{index}].")),
                    }),
                }
            }
            let outcomes = state.app.ingest(sender.app(), valid).await?;
            for (index, outcome) in valid_index.into_iter().zip(outcomes) {
                results[index].status = outcome_name(outcome);
            }
            let count = |s: &str| results.iter().filter(|r| r.status == s).count();
            let answer = IngestBatch {
                accepted: count("accepted"),
                duplicates: count("duplicate"),
                rejected: count("rejected"),
                results,
            };
            Ok((StatusCode::OK, Json(IngestAnswer::Batch(answer))).into_response())
        }
    }
}
