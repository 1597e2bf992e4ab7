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
//! Errors here keep the seed's shape, `{"error": "<message>", "request_id"}`, not Petty's.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use petty_core::ids::HouseholdId;
use petty_core::readings::{METRIC_COUNT, Metric, RawLocation, RawReading, RawTime, Reading};
use petty_core::seed_rules::{self, Point};
use petty_store::{Device, StoreError};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::api::ingest::Caller;
use crate::auth::Authentication;
use crate::observability::current_request_id;
use crate::state::AppState;

/// The seed's routes, mounted at `/compat/petty` and `/compat/petty/v1`.
pub fn router() -> Router<AppState> {
    let routes = Router::new()
        .route("/ingest", axum::routing::post(ingest).options(ingest_options))
        .route("/pet-timeline", get(timeline))
        .route("/submit-feedback", axum::routing::post(submit_feedback))
        .route("/realtime", get(realtime))
        .route("/pet-plan", get(pet_plan))
        .route("/health", get(health))
        .route("/ready", get(ready))
        .route("/version", get(version));
    Router::new().nest("/compat/petty/v1", routes.clone()).nest("/compat/petty", routes)
}

/// The seed's service name on its health answers.
const SERVICE: &str = "petty-api";
/// The largest body the seed's routes take (a feedback segment is at most 64 KiB).
const MAX_BODY: usize = 128 * 1024;
const SEGMENT_MAX: usize = 64 * 1024;
const EVENT_ID_MAX: usize = 100;
const FEEDBACK_MAX: usize = 1000;

/// An answer in the seed's error shape.
fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, axum::Json(json!({"error": message.into(), "request_id": current_request_id()}))).into_response()
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
    let timestamp = match body.get("timestamp") {
        Some(Value::String(s)) => OffsetDateTime::parse(s.trim(), &Rfc3339)
            .map_err(|_| "timestamp must be an ISO 8601 time such as 2025-08-18T14:30:00Z".to_owned())?,
        _ => return Err("timestamp must be an ISO 8601 time such as 2025-08-18T14:30:00Z".into()),
    };
    if timestamp > now + time::Duration::hours(1) {
        return Err("timestamp cannot be more than 1 hour in the future".into());
    }
    if timestamp < now - time::Duration::days(30) {
        return Err("timestamp cannot be more than 30 days old".into());
    }
    let integer =
        |field: &str| body.get(field).and_then(Value::as_i64).filter(|_| body[field].is_i64() || body[field].is_u64());
    let heart_rate = match integer("heart_rate") {
        Some(hr) if (30..=300).contains(&hr) => hr,
        _ => return Err("heart_rate must be an integer between 30 and 300".into()),
    };
    let activity_level = match integer("activity_level") {
        Some(level) if (0..=2).contains(&level) => level,
        _ => return Err("activity_level must be 0, 1 or 2 (rest, active, vigorous)".into()),
    };
    let coordinates = match body.get("location") {
        None | Some(Value::Null) => None,
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
        Some(_) => return Err("location must be a GeoJSON Point object".into()),
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

async fn ingest_options() -> Response {
    let mut response = StatusCode::OK.into_response();
    let h = response.headers_mut();
    h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    h.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static("POST, OPTIONS"));
    h.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("Content-Type, Authorization, X-API-Key, X-Request-ID"),
    );
    h.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("86400"));
    response
}

#[derive(Deserialize)]
struct CollarQuery {
    collar_id: Option<String>,
}

/// The collar named by `?collar_id=` that the caller may read, or the answer to give instead.
async fn queried_collar(state: &AppState, caller: Authentication, query: &CollarQuery) -> Result<Device, Response> {
    let collar_id = query.collar_id.as_deref().map(str::trim).unwrap_or_default();
    if collar_id.is_empty() {
        return Err(error(StatusCode::BAD_REQUEST, "Missing required parameter: collar_id"));
    }
    let access = access(state, caller).await?;
    collar_for(state, &access, collar_id).await
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

async fn timeline(State(state): State<AppState>, Caller(caller): Caller, Query(query): Query<CollarQuery>) -> Response {
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
                "average_confidence": 0.0,
                "generated_at": generated_at,
                "model_version": seed_rules::MODEL_VERSION,
                "message": "No data available for the specified time period",
            }
        }))
        .into_response();
    }
    let events = seed_rules::interpret(&points, &state.config.seed_thresholds);
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
    let event_id = match object.get("event_id") {
        Some(Value::String(s)) if !s.trim().is_empty() && s.chars().count() <= EVENT_ID_MAX => s.trim().to_owned(),
        _ => return validation(format!("event_id must be a non-empty string of at most {EVENT_ID_MAX} characters")),
    };
    let feedback = match object.get("user_feedback") {
        Some(Value::String(s)) if !s.trim().is_empty() && s.chars().count() <= FEEDBACK_MAX => s.trim().to_owned(),
        _ => {
            return validation(format!(
                "user_feedback must be a non-empty string of at most {FEEDBACK_MAX} characters"
            ));
        }
    };
    let ts = match object.get("timestamp") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if OffsetDateTime::parse(s.trim(), &Rfc3339).is_ok() => Some(s.trim().to_owned()),
        Some(_) => return validation("timestamp must be an ISO 8601 time such as 2025-08-18T14:30:00Z"),
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

async fn realtime(State(state): State<AppState>, Caller(caller): Caller, Query(query): Query<CollarQuery>) -> Response {
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

async fn pet_plan(State(state): State<AppState>, Caller(caller): Caller, Query(query): Query<CollarQuery>) -> Response {
    let device = match queried_collar(&state, caller, &query).await {
        Ok(d) => d,
        Err(r) => return r,
    };
    let Some(pet_id) = device.profile.pet_id else {
        return error(StatusCode::NOT_FOUND, "No pet wears this collar yet; set the device's pet to get a plan");
    };
    match petty_app::analysis::plan_for(&state.app, device.household_id, pet_id, OffsetDateTime::now_utc()).await {
        Ok(plan) => {
            let mut body = crate::summary_json::plan_value(&plan);
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
