//! The Petty seed's contract (`shared/compat/petty.md`) under `/compat/petty`, each route also
//! under `/compat/petty/v1`: the collar's ingest with the seed's validation and messages, the
//! rule-based timeline, free-text feedback, the latest reading, the pet plan and health routes.
//!
//! **Collars.** A collar is a Petty device of kind `collar` whose `serial` is the collar's
//! `collar_id` (`SN-123456`): create it on the devices page or with `POST /api/v1/devices`
//! (`{"name", "kind": "collar", "serial": "SN-123456", "pet_id"}`), and put the device token the
//! answer carries into the collar. The collar authenticates with that token as
//! `Authorization: Bearer dk_...` or `X-API-Key: dk_...`; a household API key of write scope (or
//! a signed-in member) may send for any collar of its household. The app's reads
//! (`pet-timeline`, `realtime`, `pet-plan`) and feedback take a member's access token or a
//! household API key, and see only their household's collars.
//!
//! Inputs are read as leniently as the seed's validator (pydantic in lax mode) read them: whole
//! numbers as integers, whole floats or numeric strings; times as RFC 3339 with or without an
//! offset (none means UTC), a bare date or Unix seconds.
//!
//! Every answer under the prefix, whatever its status and cause (a handler, an unknown route, a
//! wrong method, the edge layer's rate limit, the body limit, a timeout), is in the seed's shape
//! `{"error": "<message>", "request_id"}` and carries `Access-Control-Allow-Origin: *`: the
//! profile has its own layer, [`own_shape`], outside the edge layer (see `petty::router`). `*` is
//! safe here because only headers authenticate (`Authorization` or `X-API-Key`, read by
//! `petty_http::auth::authenticate`); no cookie does, so another site's page can act only with
//! a token it already holds.

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{FromRequestParts, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get, post};
use petty_core::ids::HouseholdId;
use petty_core::readings::{METRIC_COUNT, Metric, RawLocation, RawReading, RawTime, Reading};
use petty_core::seed_rules::{self, Point};
use petty_http::AppState;
use petty_http::auth::{Authentication, Caller};
use petty_http::observability::{X_REQUEST_ID, current_request_id};
use petty_store::{Device, StoreError};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// The seed's routes, mounted at `/compat/petty` and `/compat/petty/v1`, each answering
/// `OPTIONS` for CORS; unknown routes and wrong methods answer in the seed's shape.
pub fn router() -> Router<AppState> {
    let routes = Router::new()
        .route("/ingest", with_preflight(post(ingest), "POST, OPTIONS"))
        .route("/pet-timeline", with_preflight(get(timeline), "GET, OPTIONS"))
        .route("/submit-feedback", with_preflight(post(submit_feedback), "POST, OPTIONS"))
        .route("/realtime", with_preflight(get(realtime), "GET, OPTIONS"))
        .route("/pet-plan", with_preflight(get(pet_plan), "GET, OPTIONS"))
        .route("/health", with_preflight(get(health), "GET, OPTIONS"))
        .route("/ready", with_preflight(get(ready), "GET, OPTIONS"))
        .route("/version", with_preflight(get(version), "GET, OPTIONS"))
        .fallback(unknown_route)
        .method_not_allowed_fallback(wrong_method)
        .layer(axum::middleware::from_fn(uri_limit));
    Router::new().nest("/compat/petty/v1", routes.clone()).nest("/compat/petty", routes)
}

/// The profile's outermost layer, put outside the edge layer by `petty::router`: every answer in the
/// seed's error shape and with the seed's CORS header.
pub fn own_shape(profile: Router<AppState>) -> Router<AppState> {
    profile.layer(axum::middleware::map_response(seed_shape))
}

/// The seed's service name on its health answers.
const SERVICE: &str = "petty-api";
/// The largest body the seed's routes take (a feedback segment is at most 64 KiB).
const MAX_BODY: usize = 128 * 1024;
const SEGMENT_MAX: usize = 64 * 1024;
const EVENT_ID_MAX: usize = 100;
const FEEDBACK_MAX: usize = 1000;
/// The longest path and query the profile reads. Above it the answer is a 414 in the seed's
/// shape; above 64 KiB the HTTP parser (hyper) refuses the request line before Petty sees it,
/// with an empty 414. A 10,000-character `collar_id` still gets its 400.
const URI_MAX: usize = 16 * 1024;

/// Marks an answer already in the seed's shape, for [`seed_shape`] to leave alone.
#[derive(Clone, Copy)]
struct SeedShaped;

/// An answer in the seed's error shape.
fn error(status: StatusCode, message: impl Into<String>) -> Response {
    let mut response =
        (status, axum::Json(json!({"error": message.into(), "request_id": current_request_id()}))).into_response();
    response.extensions_mut().insert(SeedShaped);
    response
}

/// What the seed says for a status when the cause had no message of its own for a client.
fn status_message(status: StatusCode) -> &'static str {
    match status {
        StatusCode::BAD_REQUEST => "Bad request",
        StatusCode::UNAUTHORIZED => "Authentication required",
        StatusCode::FORBIDDEN => "Forbidden",
        StatusCode::NOT_FOUND => "Not found",
        StatusCode::METHOD_NOT_ALLOWED => "Method not allowed",
        StatusCode::PAYLOAD_TOO_LARGE => "Request body too large",
        StatusCode::URI_TOO_LONG => "Request URI too long",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "Unsupported media type",
        StatusCode::TOO_MANY_REQUESTS => "Too many requests",
        StatusCode::SERVICE_UNAVAILABLE => "Service temporarily unavailable",
        s if s.is_server_error() => "Internal server error",
        _ => "Request failed",
    }
}

/// [`own_shape`]'s mapping. An error answer not already in the seed's shape (the edge layer's
/// 429, axum's 413 from the body limit, the timeout's 503) is rewritten into it, keeping its
/// status and headers (`Retry-After`, `X-RateLimit-*`, `Allow`). Petty's own error message is
/// kept, since it is written for clients; other bodies (axum's plain-text rejections) are not
/// shown. The request id is the one the edge layer put on the answer.
async fn seed_shape(response: Response) -> Response {
    let status = response.status();
    let mut response = if (status.is_client_error() || status.is_server_error())
        && response.extensions().get::<SeedShaped>().is_none()
    {
        let (mut parts, body) = response.into_parts();
        // The edge's own words for an answer nothing else wrote (the body limit's 413, the
        // timeout's 503) give way to the seed's.
        let is_json = parts.extensions.get::<petty_http::EdgeShaped>().is_none()
            && parts.headers.get(header::CONTENT_TYPE).is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
        let petty_message = if is_json {
            axum::body::to_bytes(body, 64 * 1024)
                .await
                .ok()
                .and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok())
                .and_then(|v| v["error"]["message"].as_str().map(str::to_owned))
        } else {
            None
        };
        let message = petty_message.unwrap_or_else(|| status_message(status).to_owned());
        let request_id = parts.headers.get(&X_REQUEST_ID).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let body = serde_json::to_vec(&json!({"error": message, "request_id": request_id})).unwrap_or_default();
        parts.headers.remove(header::CONTENT_LENGTH);
        parts.headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        Response::from_parts(parts, Body::from(body))
    } else {
        response
    };
    let headers = response.headers_mut();
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    headers.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static(
            "X-Request-ID, Retry-After, X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset",
        ),
    );
    response
}

/// A route's methods plus the CORS preflight answer listing them (`allow`, e.g. `GET, OPTIONS`).
fn with_preflight(methods: MethodRouter<AppState>, allow: &'static str) -> MethodRouter<AppState> {
    methods.options(move || async move {
        let mut response = StatusCode::OK.into_response();
        let h = response.headers_mut();
        h.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static(allow));
        h.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static("Content-Type, Authorization, X-API-Key, X-Request-ID"),
        );
        h.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("86400"));
        response
    })
}

async fn unknown_route() -> Response {
    error(StatusCode::NOT_FOUND, "Not found: the Petty profile has no route at this address")
}

async fn wrong_method() -> Response {
    error(StatusCode::METHOD_NOT_ALLOWED, "Method not allowed on this route")
}

/// Refuses a path and query longer than [`URI_MAX`] before any handler reads it.
async fn uri_limit(request: Request, next: Next) -> Response {
    let length = request.uri().path_and_query().map_or(0, |pq| pq.as_str().len());
    if length > URI_MAX {
        return error(StatusCode::URI_TOO_LONG, format!("Request URI too long: at most {URI_MAX} bytes"));
    }
    next.run(request).await
}

fn validation(message: impl std::fmt::Display) -> Response {
    error(StatusCode::BAD_REQUEST, format!("Validation error: {message}"))
}

fn server_error(e: StoreError) -> Response {
    tracing::error!(error = %e, "compat/petty: store error");
    error(StatusCode::INTERNAL_SERVER_ERROR, "Internal server error")
}

fn now_text(now: OffsetDateTime) -> String {
    now.format(&Rfc3339).unwrap_or_default()
}

fn elapsed_ms(started: std::time::Instant) -> f64 {
    (started.elapsed().as_secs_f64() * 1000.0 * 100.0).round() / 100.0
}

/// Whether `id` is a collar id: two capital letters, a dash, 3 to 6 digits.
pub fn is_collar_id(id: &str) -> bool {
    let b = id.as_bytes();
    b.len() >= 6
        && b.len() <= 9
        && b[0].is_ascii_uppercase()
        && b[1].is_ascii_uppercase()
        && b[2] == b'-'
        && b[3..].iter().all(u8::is_ascii_digit)
}

/// A validated collar payload.
struct CollarPoint {
    collar_id: String,
    timestamp: OffsetDateTime,
    heart_rate: i64,
    activity_level: i64,
    /// (longitude, latitude), rounded to 6 decimals.
    coordinates: Option<(f64, f64)>,
}

fn round6(v: f64) -> f64 {
    (v * 1e6).round() / 1e6
}

/// A whole number as pydantic's lax mode reads an `int`: an integer, a float with no fraction
/// (`80.0`) or a string holding either (`"80"`); never a fraction or a boolean.
fn lax_integer(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64)),
        Value::String(s) => {
            let s = s.trim();
            let (whole, zeros) = s.split_once('.').unwrap_or((s, ""));
            let digits = whole.strip_prefix(['-', '+']).unwrap_or(whole);
            let plain = !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit());
            (plain && zeros.bytes().all(|b| b == b'0')).then(|| whole.parse().ok()).flatten()
        }
        _ => None,
    }
}

/// A time as pydantic's lax mode reads a `datetime`: RFC 3339 text with or without an offset
/// (none means UTC; `T`, `t` or a space between date and time), a bare date (midnight UTC), or
/// Unix seconds as a number.
fn lax_time(value: &Value) -> Option<OffsetDateTime> {
    match value {
        Value::Number(n) => match n.as_i64() {
            Some(seconds) => OffsetDateTime::from_unix_timestamp(seconds).ok(),
            None => OffsetDateTime::from_unix_timestamp_nanos((n.as_f64()? * 1e9).round() as i128).ok(),
        },
        Value::String(s) => lax_time_text(s.trim()),
        _ => None,
    }
}

fn lax_time_text(text: &str) -> Option<OffsetDateTime> {
    use time::macros::format_description;
    if let Ok(t) = OffsetDateTime::parse(text, &Rfc3339) {
        return Some(t);
    }
    if let Ok(date) = time::Date::parse(text, format_description!("[year]-[month]-[day]")) {
        return Some(date.midnight().assume_utc());
    }
    // The offset, if any, follows the time: `Z`, or a sign after the date's own dashes.
    let (local, offset) = if let Some(local) = text.strip_suffix(['Z', 'z']) {
        (local, time::UtcOffset::UTC)
    } else if let Some(at) = text.get(10..).and_then(|rest| rest.find(['+', '-'])).map(|i| i + 10) {
        let offset = time::UtcOffset::parse(
            &text[at..],
            format_description!(
                version = 2,
                "[first [[offset_hour]:[offset_minute]] [[offset_hour][offset_minute]] [[offset_hour]]]"
            ),
        )
        .ok()?;
        (&text[..at], offset)
    } else {
        (text, time::UtcOffset::UTC)
    };
    let local = time::PrimitiveDateTime::parse(
        local,
        format_description!(
            version = 2,
            "[year]-[month]-[day][first [T] [t] [ ]][hour]:[minute][optional [:[second][optional [.[subsecond]]]]]"
        ),
    )
    .ok()?;
    Some(local.assume_offset(offset))
}

/// Text as the seed's app may send it: a string, or a number written as its text.
fn lax_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.trim().to_owned()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

const TIMESTAMP_RULE: &str =
    "timestamp must be an ISO 8601 time such as 2025-08-18T14:30:00Z (no offset means UTC), a date, or Unix seconds";

/// A collar's payload as the profile's ingest reads it: JSON, an object, the seed's checks, a
/// canonical reading. The error is the seed's message. (For the fuzz target and tests; the
/// handler runs the same steps, answering each failure with its own status.)
pub fn decode_collar_reading(body: &[u8], now: OffsetDateTime) -> Result<Reading, String> {
    let value: Value = serde_json::from_slice(body).map_err(|_| "Invalid JSON format".to_owned())?;
    let Value::Object(object) = value else { return Err("Request body must be JSON object".into()) };
    let point = validate(&object, now)?;
    point.reading(now).map_err(|e| format!("Validation error: {e:?}"))
}

/// The seed's checks, in its order, with its messages.
fn validate(body: &Map<String, Value>, now: OffsetDateTime) -> Result<CollarPoint, String> {
    for field in ["collar_id", "timestamp", "heart_rate", "activity_level"] {
        if body.get(field).is_none_or(Value::is_null) {
            return Err(format!("Missing required field: {field}"));
        }
    }
    let collar_id = match body.get("collar_id") {
        Some(Value::String(s)) if is_collar_id(s) => s.clone(),
        _ => return Err("collar_id must match the pattern ^[A-Z]{2}-\\d{3,6}$ (for example SN-123456)".into()),
    };
    let timestamp = body.get("timestamp").and_then(lax_time).ok_or(TIMESTAMP_RULE)?;
    if timestamp > now + time::Duration::hours(1) {
        return Err("timestamp cannot be more than 1 hour in the future".into());
    }
    if timestamp < now - time::Duration::days(30) {
        return Err("timestamp cannot be more than 30 days old".into());
    }
    let heart_rate = match body.get("heart_rate").and_then(lax_integer) {
        Some(hr) if (30..=300).contains(&hr) => hr,
        Some(_) => return Err("heart_rate must be an integer between 30 and 300".into()),
        None => {
            return Err("heart_rate must be a whole number (85, 85.0 or \"85\"), not a fraction or a boolean".into());
        }
    };
    let activity_level = match body.get("activity_level").and_then(lax_integer) {
        Some(level) if (0..=2).contains(&level) => level,
        Some(_) => return Err("activity_level must be 0, 1 or 2 (rest, active, vigorous)".into()),
        None => {
            return Err("activity_level must be a whole number (1, 1.0 or \"1\"), not a fraction or a boolean".into());
        }
    };
    // Checked in field order, after the others, as the seed's model reported it.
    let coordinates = match body.get("location") {
        None | Some(Value::Null) => return Err("Missing required field: location".into()),
        Some(Value::Object(location)) => {
            if location.get("type").and_then(Value::as_str) != Some("Point") {
                return Err("location.type must be \"Point\"".into());
            }
            let coords = location.get("coordinates").and_then(Value::as_array);
            let pair = coords.filter(|c| c.len() == 2).and_then(|c| Some((c[0].as_f64()?, c[1].as_f64()?)));
            let Some((lon, lat)) = pair else {
                return Err("location.coordinates must be exactly [longitude, latitude]".into());
            };
            if !(-180.0..=180.0).contains(&lon) {
                return Err("longitude must be between -180 and 180".into());
            }
            if !(-90.0..=90.0).contains(&lat) {
                return Err("latitude must be between -90 and 90".into());
            }
            Some((round6(lon), round6(lat)))
        }
        _ => return Err("location must be a GeoJSON Point object".into()),
    };
    Ok(CollarPoint { collar_id, timestamp, heart_rate, activity_level, coordinates })
}

impl CollarPoint {
    fn reading(&self, now: OffsetDateTime) -> Result<Reading, petty_core::Invalid> {
        let mut values = [None; METRIC_COUNT];
        values[Metric::HeartRate.index()] = Some(self.heart_rate as f64);
        values[Metric::ActivityLevel.index()] = Some(self.activity_level as f64);
        let raw = RawReading {
            ts: Some(RawTime::Text(now_text(self.timestamp))),
            seq: None,
            values,
            location: self.coordinates.map(|(lon, lat)| RawLocation {
                lat: Some(lat),
                lon: Some(lon),
                accuracy_m: None,
            }),
            extra: Vec::new(),
            accel: None,
        };
        // The seed accepts times up to an hour ahead; Petty's own limit is tighter, so the
        // seed's window (checked above) is what applies here.
        Reading::parse(&raw, now + time::Duration::hours(1))
    }
}

/// Who may send for or read a collar: its own token, or a member / API key of its household.
enum Access {
    Device(Box<Device>),
    Household { household_id: HouseholdId, can_write: bool },
}

async fn access(state: &AppState, caller: Authentication) -> Result<Access, Response> {
    match caller {
        Authentication::Device(cred) => match state.store.get_device(cred.household_id, cred.device_id).await {
            Ok(device) => Ok(Access::Device(Box::new(device))),
            Err(StoreError::NotFound) => Err(error(StatusCode::UNAUTHORIZED, "Authentication required")),
            Err(e) => Err(server_error(e)),
        },
        Authentication::Authenticated(actor) => Ok(Access::Household {
            household_id: actor.household_id,
            can_write: actor.can(petty_core::accounts::Permission::WriteCare),
        }),
        Authentication::Failed { message, .. } => Err(error(StatusCode::UNAUTHORIZED, message)),
        Authentication::Anonymous => Err(error(StatusCode::UNAUTHORIZED, "Authentication required")),
    }
}

/// The collar with this id that the caller may see; the seed's 404 otherwise.
async fn collar_for(state: &AppState, access: &Access, collar_id: &str) -> Result<Device, Response> {
    let unknown = || error(StatusCode::NOT_FOUND, format!("Collar not found: {collar_id}"));
    let device = state.store.device_by_serial(collar_id).await.map_err(server_error)?.ok_or_else(unknown)?;
    let allowed = match access {
        Access::Device(own) => own.id == device.id,
        Access::Household { household_id, .. } => *household_id == device.household_id,
    };
    if allowed { Ok(device) } else { Err(unknown()) }
}

async fn ingest(State(state): State<AppState>, Caller(caller): Caller, body: Bytes) -> Response {
    let started = std::time::Instant::now();
    let access = match access(&state, caller).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    if body.len() > MAX_BODY {
        return error(StatusCode::PAYLOAD_TOO_LARGE, "Request body too large");
    }
    let Ok(value) = serde_json::from_slice::<Value>(&body) else {
        return error(StatusCode::BAD_REQUEST, "Invalid JSON format");
    };
    let Value::Object(object) = value else {
        return error(StatusCode::BAD_REQUEST, "Request body must be JSON object");
    };
    let now = OffsetDateTime::now_utc();
    let point = match validate(&object, now) {
        Ok(p) => p,
        Err(message) => return validation(message),
    };
    let device = match &access {
        Access::Device(device) => {
            if device.profile.serial.as_deref() != Some(point.collar_id.as_str()) {
                return error(
                    StatusCode::FORBIDDEN,
                    format!(
                        "This device token belongs to another collar; set the device's serial to {} to send as it",
                        point.collar_id
                    ),
                );
            }
            (**device).clone()
        }
        Access::Household { can_write: false, .. } => {
            return error(StatusCode::FORBIDDEN, "Your role or key scope does not allow sending readings");
        }
        Access::Household { .. } => match collar_for(&state, &access, &point.collar_id).await {
            Ok(device) => device,
            Err(r) => return r,
        },
    };
    let reading = match point.reading(now) {
        Ok(r) => r,
        Err(invalid) => {
            let message = invalid.0.first().map(|e| e.message.clone()).unwrap_or_else(|| "invalid reading".into());
            return validation(message);
        }
    };
    let sender = petty_app::Sender { household_id: device.household_id, device_id: device.id };
    let _outcome = match state.app.ingest(sender, vec![reading]).await {
        Ok(o) => o,
        Err(e) => {
            tracing::warn!(error = %e, "compat/petty ingest: not stored");
            return error(
                StatusCode::SERVICE_UNAVAILABLE,
                "Service temporarily unavailable; the reading was not stored",
            );
        }
    };
    (
        StatusCode::CREATED,
        axum::Json(json!({
            "success": true,
            "message": "Data processed successfully",
            "request_id": current_request_id(),
            "processing_time_ms": elapsed_ms(started),
        })),
    )
        .into_response()
}

/// `?collar_id=`, given once and shaped like a collar id; the seed's 400 otherwise. The value
/// is never echoed in an error: it may be any length.
struct CollarQuery(String);

impl<S: Send + Sync> FromRequestParts<S> for CollarQuery {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let Ok(Query(pairs)) = Query::<Vec<(String, String)>>::try_from_uri(&parts.uri) else {
            return Err(error(StatusCode::BAD_REQUEST, "Invalid query string"));
        };
        let mut values = pairs.into_iter().filter(|(name, _)| name == "collar_id").map(|(_, value)| value);
        let first = values.next();
        if values.next().is_some() {
            return Err(error(StatusCode::BAD_REQUEST, "Parameter collar_id must be given once"));
        }
        let collar_id = first.as_deref().map(str::trim).unwrap_or_default();
        if collar_id.is_empty() {
            return Err(error(StatusCode::BAD_REQUEST, "Missing required parameter: collar_id"));
        }
        if !is_collar_id(collar_id) {
            return Err(error(
                StatusCode::BAD_REQUEST,
                "collar_id must match the pattern ^[A-Z]{2}-\\d{3,6}$ (for example SN-123456)",
            ));
        }
        Ok(CollarQuery(collar_id.to_owned()))
    }
}

/// The collar named by `?collar_id=` that the caller may read, or the answer to give instead.
async fn queried_collar(state: &AppState, caller: Authentication, query: &CollarQuery) -> Result<Device, Response> {
    let access = access(state, caller).await?;
    collar_for(state, &access, &query.0).await
}

/// The seed's event id: `evt_` and 8 hex digits, the same for the same collar, time and rule.
fn event_id(collar_id: &str, at: OffsetDateTime, behavior: &str) -> String {
    let mut h = Sha256::new();
    h.update(collar_id.as_bytes());
    h.update(at.unix_timestamp_nanos().to_be_bytes());
    h.update(behavior.as_bytes());
    let d = h.finalize();
    format!("evt_{:02x}{:02x}{:02x}{:02x}", d[0], d[1], d[2], d[3])
}

async fn timeline(State(state): State<AppState>, Caller(caller): Caller, query: CollarQuery) -> Response {
    let started = std::time::Instant::now();
    let device = match queried_collar(&state, caller, &query).await {
        Ok(d) => d,
        Err(r) => return r,
    };
    let collar_id = device.profile.serial.clone().unwrap_or_default();
    let now = OffsetDateTime::now_utc();
    let readings = match state
        .store
        .newest_readings(
            device.household_id,
            device.id,
            now - time::Duration::hours(24),
            now + time::Duration::hours(1),
            seed_rules::MAX_POINTS as u32,
        )
        .await
    {
        Ok(r) => r,
        Err(e) => return server_error(e),
    };
    // Points the seed would have dropped as invalid (no heart rate or level) are left out.
    let points: Vec<Point> = readings
        .iter()
        .filter_map(|r| {
            let r = &r.reading;
            Some(Point {
                timestamp: r.ts,
                heart_rate: r.value(Metric::HeartRate)?,
                activity_level: r.value(Metric::ActivityLevel)? as u8,
                position: r.location.map(|l| (l.lon, l.lat)),
            })
        })
        .collect();
    let generated_at = now_text(now);
    if points.is_empty() {
        return axum::Json(json!({
            "collar_id": collar_id,
            "timeline": [],
            "metadata": {
                "data_points": 0,
                "behaviors_detected": 0,
                "analysis_time_ms": elapsed_ms(started),
                "ai_processing_time_ms": 0.0,
                "average_confidence": 0.0,
                "generated_at": generated_at,
                "model_version": seed_rules::MODEL_VERSION,
                "message": "No data available for the specified time period",
            }
        }))
        .into_response();
    }
    // The seed timed its interpreter apart from the whole analysis; its app shows both.
    let interpreting = std::time::Instant::now();
    let events = seed_rules::interpret(&points, &state.config.seed_thresholds);
    let ai_processing_time_ms = elapsed_ms(interpreting);
    let timeline: Vec<Value> = events
        .iter()
        .map(|e| {
            let label = e.behavior.label();
            json!({
                "timestamp": now_text(e.timestamp),
                "behavior": label,
                "confidence": e.behavior.confidence(),
                "event_id": event_id(&collar_id, e.timestamp, label),
                "metadata": e.metadata,
            })
        })
        .collect();
    let average = if events.is_empty() {
        0.0
    } else {
        events.iter().map(|e| e.behavior.confidence()).sum::<f64>() / events.len() as f64
    };
    axum::Json(json!({
        "collar_id": collar_id,
        "timeline": timeline,
        "metadata": {
            "data_points": points.len(),
            "behaviors_detected": events.len(),
            "analysis_time_ms": elapsed_ms(started),
            "ai_processing_time_ms": ai_processing_time_ms,
            "average_confidence": (average * 1000.0).round() / 1000.0,
            "generated_at": generated_at,
            "model_version": seed_rules::MODEL_VERSION,
        }
    }))
    .into_response()
}

/// Replaces e-mail addresses and phone numbers with markers, then escapes `& < > " '`.
pub fn sanitize_feedback(text: &str) -> String {
    let redacted: Vec<String> = text.split(' ').map(redact_word).collect();
    let joined = redact_phones(&redacted.join(" "));
    let mut out = String::with_capacity(joined.len());
    for c in joined.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            c => out.push(c),
        }
    }
    out
}

/// A word shaped like `local@domain.tld` (punctuation around it kept) becomes `[EMAIL]`.
fn redact_word(word: &str) -> String {
    let core =
        word.trim_matches(|c: char| !(c.is_alphanumeric() || c == '@' || c == '.' || c == '_' || c == '-' || c == '+'));
    let core = core.trim_end_matches('.');
    if let Some((local, domain)) = core.split_once('@')
        && !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && domain.split('.').all(|p| !p.is_empty())
    {
        return word.replacen(core, "[EMAIL]", 1);
    }
    word.to_owned()
}

/// Runs of digits with phone punctuation (`+ - . ( )` and single spaces) holding 7 to 15
/// digits become `[PHONE]`.
fn redact_phones(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let starts =
            c.is_ascii_digit() || ((c == '+' || c == '(') && chars.get(i + 1).is_some_and(|n| n.is_ascii_digit()));
        if starts {
            let mut j = i;
            let mut digits = 0;
            let mut last_digit = i;
            while j < chars.len() {
                let d = chars[j];
                if d.is_ascii_digit() {
                    digits += 1;
                    last_digit = j;
                } else if !(matches!(d, '+' | '-' | '.' | '(' | ')')
                    || (d == ' ' && chars.get(j + 1).is_some_and(|n| n.is_ascii_digit() || *n == '(')))
                {
                    break;
                }
                j += 1;
            }
            let run: String = chars[i..=last_digit.max(i)].iter().collect();
            if (7..=15).contains(&digits) && !looks_like_date(&run) {
                out.push_str("[PHONE]");
                i = last_digit + 1;
                continue;
            }
            out.extend(&chars[i..=last_digit.max(i)]);
            i = last_digit.max(i) + 1;
            continue;
        }
        out.push(c);
        i += 1;
    }
    out
}

/// `2025-08-18`, `2025.08.18`: a date, not a phone number.
fn looks_like_date(run: &str) -> bool {
    let parts: Vec<&str> = run.split(['-', '.', '/']).collect();
    parts.len() == 3
        && parts.iter().all(|p| p.chars().all(|c| c.is_ascii_digit()))
        && matches!((parts[0].len(), parts[1].len(), parts[2].len()), (4, 1..=2, 1..=2) | (1..=2, 1..=2, 4))
}

async fn submit_feedback(State(state): State<AppState>, Caller(caller): Caller, body: Bytes) -> Response {
    let started = std::time::Instant::now();
    let household_id = match access(&state, caller).await {
        Ok(Access::Household { household_id, .. }) => household_id,
        Ok(Access::Device(d)) => d.household_id,
        Err(r) => return r,
    };
    if body.len() > MAX_BODY {
        return error(StatusCode::PAYLOAD_TOO_LARGE, "Request body too large");
    }
    let Ok(value) = serde_json::from_slice::<Value>(&body) else {
        return error(StatusCode::BAD_REQUEST, "Invalid JSON format");
    };
    let Value::Object(object) = value else {
        return error(StatusCode::BAD_REQUEST, "Request body must be JSON object");
    };
    for field in ["event_id", "user_feedback"] {
        if object.get(field).is_none_or(Value::is_null) {
            return validation(format!("Missing required field: {field}"));
        }
    }
    let event_id = match object.get("event_id").and_then(lax_text) {
        Some(s) if !s.is_empty() && s.chars().count() <= EVENT_ID_MAX => s,
        _ => return validation(format!("event_id must be a non-empty string of at most {EVENT_ID_MAX} characters")),
    };
    let feedback = match object.get("user_feedback").and_then(lax_text) {
        Some(s) if !s.is_empty() && s.chars().count() <= FEEDBACK_MAX => s,
        _ => {
            return validation(format!(
                "user_feedback must be a non-empty string of at most {FEEDBACK_MAX} characters"
            ));
        }
    };
    // Stored as RFC 3339 in UTC, whichever form it came in (the app sends local time, no offset).
    let ts = match object.get("timestamp") {
        None | Some(Value::Null) => None,
        Some(v) => match lax_time(v) {
            Some(t) => Some(now_text(t)),
            None => return validation(TIMESTAMP_RULE),
        },
    };
    let segment = match object.get("segment") {
        None | Some(Value::Null) => None,
        Some(v @ Value::Object(_)) => {
            let text = v.to_string();
            if text.len() > SEGMENT_MAX {
                return validation("segment must be at most 64 KiB of JSON");
            }
            Some(text)
        }
        Some(_) => return validation("segment must be a JSON object"),
    };
    let new = petty_store::NewCompatFeedback {
        household_id: Some(household_id),
        event_id,
        user_feedback: sanitize_feedback(&feedback),
        ts,
        segment,
    };
    match state.store.add_compat_feedback(&new, OffsetDateTime::now_utc()).await {
        Ok(id) => (
            StatusCode::CREATED,
            axum::Json(json!({
                "success": true,
                "feedback_id": id.to_string(),
                "message": "Feedback stored successfully",
                "request_id": current_request_id(),
                "processing_time_ms": elapsed_ms(started),
            })),
        )
            .into_response(),
        Err(e) => server_error(e),
    }
}

async fn realtime(State(state): State<AppState>, Caller(caller): Caller, query: CollarQuery) -> Response {
    let device = match queried_collar(&state, caller, &query).await {
        Ok(d) => d,
        Err(r) => return r,
    };
    let latest = match state.store.latest_reading(device.household_id, device.id).await {
        Ok(r) => r,
        Err(e) => return server_error(e),
    };
    let collar_id = device.profile.serial.clone().unwrap_or_default();
    let Some(latest) = latest else {
        return error(StatusCode::NOT_FOUND, format!("No data for collar: {collar_id}"));
    };
    let r = &latest.reading;
    axum::Json(json!({
        "collar_id": collar_id,
        "heart_rate": r.value(Metric::HeartRate).map(|v| v.round() as i64),
        "activity_level": r.value(Metric::ActivityLevel).map(|v| v as i64),
        "location": r.location.map(|l| json!({"type": "Point", "coordinates": [l.lon, l.lat]})),
        "timestamp": now_text(r.ts),
    }))
    .into_response()
}

async fn pet_plan(State(state): State<AppState>, Caller(caller): Caller, query: CollarQuery) -> Response {
    let device = match queried_collar(&state, caller, &query).await {
        Ok(d) => d,
        Err(r) => return r,
    };
    let Some(pet_id) = device.profile.pet_id else {
        return error(StatusCode::NOT_FOUND, "No pet wears this collar yet; set the device's pet to get a plan");
    };
    match petty_app::analysis::plan_for(&state.app, device.household_id, pet_id, OffsetDateTime::now_utc()).await {
        Ok(plan) => {
            let mut body = petty_app::summary_json::plan_value(&plan);
            body["collar_id"] = json!(device.profile.serial);
            body["generated_at"] = json!(now_text(OffsetDateTime::now_utc()));
            axum::Json(body).into_response()
        }
        Err(e) => server_error(e),
    }
}

async fn health() -> Response {
    axum::Json(json!({"service": SERVICE, "status": "healthy", "timestamp": now_text(OffsetDateTime::now_utc())}))
        .into_response()
}

async fn ready(State(state): State<AppState>) -> Response {
    let ok = matches!(tokio::time::timeout(std::time::Duration::from_secs(2), state.store.ping()).await, Ok(Ok(())));
    let body = json!({
        "ready": ok,
        "service": SERVICE,
        "checks": {"database": if ok { "ok" } else { "unavailable" }},
        "timestamp": now_text(OffsetDateTime::now_utc()),
    });
    let status = if ok { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, axum::Json(body)).into_response()
}

async fn version() -> Response {
    axum::Json(json!({
        "version": env!("CARGO_PKG_VERSION"),
        "service": SERVICE,
        "model_version": seed_rules::MODEL_VERSION,
    }))
    .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collar_ids_follow_the_seed_pattern() {
        for ok in ["SN-123", "SN-123456", "AB-0001"] {
            assert!(is_collar_id(ok), "{ok}");
        }
        for bad in ["sn-123", "SN-12", "SN-1234567", "SN123456", "S1-123", "SN-12a4", ""] {
            assert!(!is_collar_id(bad), "{bad}");
        }
    }

    #[test]
    fn feedback_is_redacted_then_escaped() {
        assert_eq!(
            sanitize_feedback("mail me at bella.owner@example.com, or call +1 (555) 123-4567!"),
            "mail me at [EMAIL], or call [PHONE]!"
        );
        assert_eq!(
            sanitize_feedback("<script>alert('x')</script> & co"),
            "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; co"
        );
        assert_eq!(sanitize_feedback("she slept 8 hours, 3 times"), "she slept 8 hours, 3 times");
        assert_eq!(sanitize_feedback("at 2025-08-18 she ran"), "at 2025-08-18 she ran");
    }

    #[test]
    fn whole_numbers_are_read_as_pydantic_lax_mode_read_them() {
        for (value, expected) in [
            (json!(80), Some(80)),
            (json!(80.0), Some(80)),
            (json!("80"), Some(80)),
            (json!(" 80 "), Some(80)),
            (json!("80.0"), Some(80)),
            (json!(-3), Some(-3)),
            (json!(80.5), None),
            (json!("80.5"), None),
            (json!(true), None),
            (json!("abc"), None),
            (json!(""), None),
            (json!("1e2"), None),
            (json!([80]), None),
        ] {
            assert_eq!(lax_integer(&value), expected, "{value}");
        }
    }

    #[test]
    fn times_are_read_as_pydantic_lax_mode_read_them() {
        use time::macros::datetime;
        for (value, expected) in [
            // The app's DateTime.now().toIso8601String(): local time, no offset, read as UTC.
            (json!("2026-12-05T11:22:33.123456"), datetime!(2026-12-05 11:22:33.123456 UTC)),
            (json!("2025-08-18T14:30:00Z"), datetime!(2025-08-18 14:30 UTC)),
            (json!("2025-08-18T14:30:00+02:00"), datetime!(2025-08-18 12:30 UTC)),
            (json!("2025-08-18T14:30:00+0200"), datetime!(2025-08-18 12:30 UTC)),
            (json!("2025-08-18T14:30:00-05"), datetime!(2025-08-18 19:30 UTC)),
            (json!("2025-08-18 14:30:00"), datetime!(2025-08-18 14:30 UTC)),
            (json!("2025-08-18T14:30"), datetime!(2025-08-18 14:30 UTC)),
            (json!("2025-08-18"), datetime!(2025-08-18 0:00 UTC)),
            (json!(1_755_527_400), datetime!(2025-08-18 14:30 UTC)),
            (json!(1_755_527_400.5), datetime!(2025-08-18 14:30:00.5 UTC)),
        ] {
            assert_eq!(lax_time(&value), Some(expected), "{value}");
        }
        for refused in
            [json!("yesterday"), json!("2025-13-01"), json!("18/08/2025"), json!("2025-08-18T25:00"), json!(true)]
        {
            assert_eq!(lax_time(&refused), None, "{refused}");
        }
    }

    #[test]
    fn validation_follows_the_seed_in_order() {
        let now = OffsetDateTime::now_utc();
        let body = |v: Value| v.as_object().cloned().unwrap_or_default();
        let ok = json!({"collar_id": "SN-123456", "timestamp": now_text(now), "heart_rate": 85, "activity_level": 1,
            "location": {"type": "Point", "coordinates": [-74.0060004, 40.7128]}});
        let p = validate(&body(ok.clone()), now).unwrap();
        assert_eq!(p.coordinates, Some((-74.006, 40.7128)));
        let mut missing = ok.clone();
        missing.as_object_mut().unwrap().remove("heart_rate");
        assert_eq!(validate(&body(missing), now).err().unwrap(), "Missing required field: heart_rate");
        let mut high = ok.clone();
        high["heart_rate"] = json!(301);
        assert!(validate(&body(high), now).err().unwrap().contains("between 30 and 300"));
        let mut fractional = ok.clone();
        fractional["heart_rate"] = json!(85.5);
        assert!(validate(&body(fractional), now).is_err());
        let mut future = ok.clone();
        future["timestamp"] = json!(now_text(now + time::Duration::minutes(61)));
        assert!(validate(&body(future), now).err().unwrap().contains("future"));
        let mut soon = ok.clone();
        soon["timestamp"] = json!(now_text(now + time::Duration::minutes(59)));
        assert!(validate(&body(soon), now).is_ok());
        let mut old = ok.clone();
        old["timestamp"] = json!(now_text(now - time::Duration::days(31)));
        assert!(validate(&body(old), now).err().unwrap().contains("30 days"));
        let mut three = ok.clone();
        three["location"]["coordinates"] = json!([1.0, 2.0, 3.0]);
        assert!(validate(&body(three), now).err().unwrap().contains("exactly"));
        let mut lat = ok;
        lat["location"]["coordinates"] = json!([10.0, 91.0]);
        assert!(validate(&body(lat), now).err().unwrap().contains("latitude"));
    }
}
