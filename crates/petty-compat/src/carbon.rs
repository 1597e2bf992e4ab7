//! The Car-Bon seed's contract (`shared/compat/carbon.md`) under `/compat/carbon`: the ESP32's
//! readings (`/Dynamo/...`), its users and their contacts (`/user/...`), SMS and calls
//! (`/notify/...`) and the CO chart (`/graph/generate`). Every input is a query parameter; a
//! missing or malformed one gets FastAPI's 422 shape, `{"detail": [{"loc", "msg", "type"}]}`.
//!
//! **Devices.** The `item_id` (and the chart's `device`, default `ESP32`) is the `serial` of a
//! Petty device of kind `air_monitor`. The ESP32 sends its device token as `?token=dk_...` (its
//! HTTP client can only set the URL), or as `X-API-Key` or `Authorization: Bearer`; a household
//! API key or a member's access token works for everything in its household. Upstream had no
//! authentication; everything else keeps its shapes.
//!
//! **CO.** `CO` is the sensor's raw reading, kept as `co_raw`; `CO_PPM` is Petty's ppm through
//! the MQ-7 curve and the device's calibration (`r0`, `rl`, `vc`, `adc_max`, `vref`). The
//! readings raise Petty's alarms like any other (the `co_high`, `co_dose`, `co_rising` and
//! `co_silent` rules), so the SMS and the call the seed promised are sent to the users'
//! contacts by escalation. `/notify/...` sends through the same outbox and Twilio channel.

// The errors of this module are the seed's answers themselves (FastAPI's shapes), made once per
// request: boxing them would only add an allocation.
#![allow(clippy::result_large_err)]

use crate::carbon_params::{self, Refusal};
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use petty_app::charts::{self, ChartRequest};
use petty_core::alarm::Channel;
use petty_core::devices::DeviceKind;
use petty_core::ids::HouseholdId;
use petty_core::readings::{Metric, Reading};
use petty_http::AppState;
use petty_http::auth::{Authentication, Caller};
use petty_store::{Contact, Device, NewContact, NewNotification, StoreError, StoredReading};
use serde_json::{Value, json};
use std::collections::HashMap;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

pub fn router() -> Router<AppState> {
    let routes = Router::new()
        .route("/Dynamo/item", post(put_item))
        .route("/Dynamo/items", get(items))
        .route("/Dynamo/items/latest", get(latest))
        .route("/Dynamo/items/{item_id}/{timestamp}", get(item_at))
        .route("/Dynamo/tables", get(tables))
        .route("/user/new", post(new_user))
        .route("/user/contacts", get(user_contacts))
        .route("/notify/send_sms", post(send_sms))
        .route("/notify/make_call", post(make_call))
        .route("/graph/generate", get(graph));
    Router::new().nest("/compat/carbon", routes)
}

type Params = Query<HashMap<String, String>>;

/// FastAPI's validation error for the parameters the decoders refused, every one of them.
fn refused(e: impl Into<Refusal>) -> Response {
    let detail: Vec<serde_json::Value> =
        e.into().0.into_iter().map(|e| json!({"loc": [e.location, e.param], "msg": e.msg, "type": e.kind})).collect();
    (StatusCode::UNPROCESSABLE_ENTITY, axum::Json(json!({ "detail": detail }))).into_response()
}

fn now_ms() -> i64 {
    petty_store::to_ms(OffsetDateTime::now_utc())
}

fn detail(status: StatusCode, message: impl Into<String>) -> Response {
    (status, axum::Json(json!({"detail": message.into()}))).into_response()
}

fn server_error(e: StoreError) -> Response {
    tracing::error!(error = %e, "compat/carbon: store error");
    detail(StatusCode::INTERNAL_SERVER_ERROR, "Internal server error")
}

/// Who is calling: a device (only its own readings), or a household member or API key.
enum Access {
    Device(Box<Device>),
    Household { household_id: HouseholdId, can_write: bool },
}

impl Access {
    fn household_id(&self) -> HouseholdId {
        match self {
            Access::Device(d) => d.household_id,
            Access::Household { household_id, .. } => *household_id,
        }
    }
}

async fn access(state: &AppState, caller: Authentication, p: &HashMap<String, String>) -> Result<Access, Response> {
    let caller = match (caller, p.get("token")) {
        (Authentication::Anonymous, Some(token)) => {
            let token = token.trim();
            let mut headers = HeaderMap::new();
            // Device tokens and API keys as X-API-Key; anything else is an access token.
            let (name, value) = if token.starts_with("dk_") || token.starts_with("pk_") {
                ("x-api-key", token.to_owned())
            } else {
                ("authorization", format!("Bearer {token}"))
            };
            if let Ok(v) = HeaderValue::from_str(&value) {
                headers.insert(name, v);
            }
            petty_http::auth::authenticate(state, &headers).await
        }
        (caller, _) => caller,
    };
    match caller {
        Authentication::Device(cred) => match state.store.get_device(cred.household_id, cred.device_id).await {
            Ok(device) => Ok(Access::Device(Box::new(device))),
            Err(StoreError::NotFound) => Err(detail(StatusCode::UNAUTHORIZED, "Not authenticated")),
            Err(e) => Err(server_error(e)),
        },
        Authentication::Authenticated(actor) => Ok(Access::Household {
            household_id: actor.household_id,
            can_write: actor.can(petty_core::accounts::Permission::WriteCare),
        }),
        Authentication::Failed { message, .. } => Err(detail(StatusCode::UNAUTHORIZED, message)),
        Authentication::Anonymous => Err(detail(
            StatusCode::UNAUTHORIZED,
            "Not authenticated: pass the device token as ?token=dk_... or an API key as X-API-Key",
        )),
    }
}

/// The air monitor with this serial that the caller may use.
async fn monitor(state: &AppState, access: &Access, item_id: &str) -> Result<Device, Response> {
    let unknown = || detail(StatusCode::NOT_FOUND, format!("Device not found: {item_id}"));
    let device = state.store.device_by_serial(item_id).await.map_err(server_error)?.ok_or_else(unknown)?;
    let allowed = match access {
        Access::Device(own) => own.id == device.id,
        Access::Household { household_id, .. } => *household_id == device.household_id,
    };
    if allowed { Ok(device) } else { Err(unknown()) }
}

fn ppm_of(device: &Device, r: &Reading) -> Option<f64> {
    let mq7 = petty_core::air::Mq7::from_calibration(&device.profile.calibration);
    petty_app::alarms::co_ppm(&mq7, r).map(|v| (v * 100.0).round() / 100.0)
}

fn item_json(device: &Device, serial: &str, r: &StoredReading) -> Value {
    let reading = &r.reading;
    json!({
        "device_id": serial,
        "timestamp": reading.ts_ms().div_euclid(1000),
        "sensor_values": {
            "temperature": reading.value(Metric::AmbientTempC),
            "humidity": reading.value(Metric::HumidityPct),
            "CO": reading.value(Metric::CoRaw).or(reading.value(Metric::CoPpm)),
            "CO_PPM": ppm_of(device, reading),
        }
    })
}

async fn put_item(State(state): State<AppState>, Caller(caller): Caller, Query(p): Params) -> Response {
    let access = match access(&state, caller, &p).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let params = match carbon_params::reading(&p) {
        Ok(params) => params,
        Err(e) => return refused(e),
    };
    let item_id = params.item_id;
    if let Access::Household { can_write: false, .. } = access {
        return detail(StatusCode::FORBIDDEN, "Your role or key scope does not allow sending readings");
    }
    let device = match monitor(&state, &access, item_id).await {
        Ok(d) => d,
        Err(r) => return r,
    };
    let now = OffsetDateTime::now_utc();
    let reading = match params.to_reading(now) {
        Ok(r) => r,
        Err(e) => return refused(e),
    };
    let sender = petty_app::Sender { household_id: device.household_id, device_id: device.id };
    let _outcome = match state.app.ingest(sender, vec![reading]).await {
        Ok(o) => o,
        Err(e) => {
            tracing::warn!(error = %e, "compat/carbon: reading not stored");
            return detail(
                StatusCode::SERVICE_UNAVAILABLE,
                "Service temporarily unavailable; the reading was not stored",
            );
        }
    };
    (
        StatusCode::CREATED,
        axum::Json(json!({
            "Item": {
                "device_id": item_id,
                "timestamp": now.unix_timestamp(),
                "temperature": p.get("Temp"),
                "humidity": p.get("Hum"),
                "CO": p.get("CO"),
            },
            "write_successful": true,
        })),
    )
        .into_response()
}

const ITEMS_MAX: u32 = 10_000;

async fn items(State(state): State<AppState>, Caller(caller): Caller, Query(p): Params) -> Response {
    let access = match access(&state, caller, &p).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let range = match carbon_params::item_range(&p) {
        Ok(r) => r,
        Err(e) => return refused(e),
    };
    let (item_id, from_t, to_t) = (range.item_id, range.from, range.until);
    let device = match monitor(&state, &access, item_id).await {
        Ok(d) => d,
        Err(r) => return r,
    };
    let (found, _) = match state.store.readings(device.household_id, device.id, from_t, to_t, None, ITEMS_MAX).await {
        Ok(r) => r,
        Err(e) => return server_error(e),
    };
    let results: Vec<Value> = found.iter().map(|r| item_json(&device, item_id, r)).collect();
    axum::Json(json!({"Metadata": {"count": results.len()}, "Results": results})).into_response()
}

async fn latest(State(state): State<AppState>, Caller(caller): Caller, Query(p): Params) -> Response {
    let access = match access(&state, caller, &p).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let item_id = match carbon_params::required(&p, "item_id") {
        Ok(i) => i,
        Err(e) => return refused(e),
    };
    let device = match monitor(&state, &access, item_id).await {
        Ok(d) => d,
        Err(r) => return r,
    };
    match state.store.latest_reading(device.household_id, device.id).await {
        Ok(Some(r)) => axum::Json(item_json(&device, item_id, &r)).into_response(),
        Ok(None) => detail(StatusCode::NOT_FOUND, "No readings for this device yet"),
        Err(e) => server_error(e),
    }
}

async fn item_at(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path((item_id, timestamp)): Path<(String, String)>,
    Query(p): Params,
) -> Response {
    let access = match access(&state, caller, &p).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let second = match carbon_params::path_second(&timestamp) {
        Ok(second) => second,
        Err(e) => return refused(e),
    };
    let device = match monitor(&state, &access, &item_id).await {
        Ok(d) => d,
        Err(r) => return r,
    };
    let Some((from, to)) = second else {
        return detail(StatusCode::NOT_FOUND, "Item not found");
    };
    match state.store.readings(device.household_id, device.id, from, to, None, 1).await {
        Ok((found, _)) => match found.first() {
            Some(r) => axum::Json(item_json(&device, &item_id, r)).into_response(),
            None => detail(StatusCode::NOT_FOUND, "Item not found"),
        },
        Err(e) => server_error(e),
    }
}

async fn tables() -> Response {
    axum::Json(json!(["CarBon_Data", "user_table"])).into_response()
}

/// A ULID (Crockford base32 of 48 bits of milliseconds and 80 random bits): a UUIDv7 has the
/// same layout (its version and variant bits are among the random ones), so it is written as
/// one.
pub fn ulid() -> String {
    const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let value = uuid::Uuid::now_v7().as_u128();
    (0..26).map(|i| ALPHABET[((value >> (125 - i * 5)) & 0x1f) as usize] as char).collect()
}

async fn household_phones(state: &AppState, household_id: HouseholdId, role: &str) -> Result<Vec<String>, StoreError> {
    Ok(state
        .store
        .contacts(household_id)
        .await?
        .into_iter()
        .filter(|c| c.role == role)
        .filter_map(|c| c.phone)
        .collect())
}

async fn user_item(state: &AppState, c: &Contact) -> Result<Value, StoreError> {
    Ok(json!({
        "id": c.external_id,
        "name": c.name,
        "registered_device_id": c.device_serial,
        "personal_contact": c.phone,
        "secondary_contacts": household_phones(state, c.household_id, "secondary").await?,
        "emergency_contacts": household_phones(state, c.household_id, "emergency").await?,
    }))
}

async fn new_user(State(state): State<AppState>, Caller(caller): Caller, Query(p): Params) -> Response {
    let access = match access(&state, caller, &p).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let params = match carbon_params::new_user(&p) {
        Ok(params) => params,
        Err(e) => return refused(e),
    };
    let (name, device_id, phone) = (params.name, params.device_serial, params.phone);
    if let Access::Household { can_write: false, .. } = access {
        return detail(StatusCode::FORBIDDEN, "Your role or key scope does not allow adding users");
    }
    // The registered device must be one of the household's air monitors.
    if let Err(r) = monitor(&state, &access, device_id).await {
        return r;
    }
    let new = NewContact {
        user_id: None,
        external_id: Some(ulid()),
        name: name.to_owned(),
        phone: Some(phone.as_str().to_owned()),
        email: None,
        role: "member".to_owned(),
        position: 100,
        device_serial: Some(device_id.to_owned()),
        policy: petty_core::alarm::Policy::default(),
    };
    let contact = match state.store.create_contact(access.household_id(), &new, now_ms()).await {
        Ok(c) => c,
        Err(e) => return server_error(e),
    };
    match user_item(&state, &contact).await {
        Ok(item) => (StatusCode::CREATED, axum::Json(json!({"Item": item, "write_successful": true}))).into_response(),
        Err(e) => server_error(e),
    }
}

async fn user_for(state: &AppState, access: &Access, p: &HashMap<String, String>) -> Result<Contact, Response> {
    let user_id = carbon_params::required(p, "user_id").map_err(refused)?;
    match state.store.contact_by_external_id(access.household_id(), user_id).await {
        Ok(c) => Ok(c),
        Err(StoreError::NotFound) => Err(detail(StatusCode::NOT_FOUND, "User not found")),
        Err(e) => Err(server_error(e)),
    }
}

async fn user_contacts(State(state): State<AppState>, Caller(caller): Caller, Query(p): Params) -> Response {
    let access = match access(&state, caller, &p).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let user = match user_for(&state, &access, &p).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    match household_phones(&state, user.household_id, "secondary").await {
        Ok(secondary) => {
            axum::Json(json!({"personal_contact": user.phone, "secondary_contacts": secondary})).into_response()
        }
        Err(e) => server_error(e),
    }
}

/// Sends one notification through the outbox now: queued first (so it is never lost), then
/// delivered at once. Answers the provider's resource, or 202 when it stays queued for retry.
async fn send_now(state: &AppState, n: NewNotification) -> Result<Value, Response> {
    let now = now_ms();
    let key = n.idem_key.clone();
    state.store.enqueue_notification(&n, now).await.map_err(server_error)?;
    let claimed = state
        .store
        .claim_notification_by_key(&key, now, state.config.notify.lease.as_millis() as i64)
        .await
        .map_err(server_error)?;
    let Some(claimed) = claimed else {
        return Err(detail(StatusCode::ACCEPTED, "queued"));
    };
    let channel = claimed.channel;
    let recipient = claimed.recipient.clone();
    match petty_app::notify::deliver(&state.app, claimed).await {
        Ok(sid) => Ok(json!({"sid": sid, "status": "queued", "to": recipient, "channel": channel.as_str()})),
        Err(e) if e.permanent => Err(detail(StatusCode::BAD_GATEWAY, format!("not sent: {}", e.message))),
        Err(e) => Err((
            StatusCode::ACCEPTED,
            axum::Json(json!({"status": "queued", "detail": format!("will retry: {}", e.message), "to": recipient})),
        )
            .into_response()),
    }
}

fn caller_can_write(access: &Access) -> bool {
    !matches!(access, Access::Household { can_write: false, .. })
}

async fn send_sms(State(state): State<AppState>, Caller(caller): Caller, Query(p): Params) -> Response {
    let access = match access(&state, caller, &p).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let message = match carbon_params::sms_message(&p) {
        Ok(m) => m.to_owned(),
        Err(e) => return refused(e),
    };
    let user = match user_for(&state, &access, &p).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    if !caller_can_write(&access) {
        return detail(StatusCode::FORBIDDEN, "Your role or key scope does not allow sending messages");
    }
    let Some(phone) = user.phone.clone() else { return detail(StatusCode::NOT_FOUND, "The user has no phone") };
    let n = NewNotification {
        household_id: user.household_id,
        idem_key: format!("carbon:sms:{}", uuid::Uuid::now_v7()),
        alarm_id: None,
        contact_id: Some(user.id),
        channel: Channel::Sms,
        recipient: phone.clone(),
        subject: String::new(),
        body: message.clone(),
        payload: String::new(),
        not_before_ms: now_ms(),
    };
    match send_now(&state, n).await {
        Ok(sent) => axum::Json(json!({
            "message_body": message,
            "receiver": phone,
            "status": sent["status"],
            "sid": sent["sid"],
            "date_created": OffsetDateTime::now_utc().format(&Rfc3339).unwrap_or_default(),
        }))
        .into_response(),
        Err(r) => r,
    }
}

async fn make_call(State(state): State<AppState>, Caller(caller): Caller, Query(p): Params) -> Response {
    let access = match access(&state, caller, &p).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let user = match user_for(&state, &access, &p).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    if !caller_can_write(&access) {
        return detail(StatusCode::FORBIDDEN, "Your role or key scope does not allow making calls");
    }
    let Some(phone) = user.phone.clone() else { return detail(StatusCode::NOT_FOUND, "The user has no phone") };
    let words = "This is Petty with a carbon monoxide alert. The gas level exceeded the threshold. \
                 Check the car and open a window now.";
    let n = NewNotification {
        household_id: user.household_id,
        idem_key: format!("carbon:call:{}", uuid::Uuid::now_v7()),
        alarm_id: None,
        contact_id: Some(user.id),
        channel: Channel::Voice,
        recipient: phone.clone(),
        subject: String::new(),
        body: words.to_owned(),
        payload: petty_notify::voice_twiml(words, None),
        not_before_ms: now_ms(),
    };
    match send_now(&state, n).await {
        Ok(sent) => axum::Json(json!({"to": phone, "status": sent["status"], "sid": sent["sid"]})).into_response(),
        Err(r) => r,
    }
}

async fn graph(State(state): State<AppState>, Caller(caller): Caller, Query(p): Params) -> Response {
    let access = match access(&state, caller, &p).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let params = match carbon_params::graph(&p) {
        Ok(params) => params,
        Err(e) => return refused(e),
    };
    let (from, to, kind, serial) = (params.from_ms, params.to_ms, params.kind, params.serial);
    let device = match monitor(&state, &access, serial).await {
        Ok(d) if d.profile.kind == DeviceKind::AirMonitor => d,
        Ok(_) => return detail(StatusCode::NOT_FOUND, format!("Device not found: {serial}")),
        Err(r) => return r,
    };
    let request = ChartRequest {
        metric: Metric::CoPpm,
        from_ms: from,
        to_ms: to,
        kind,
        title: Some("Carbon monoxide Data".to_owned()),
    };
    let svg = match charts::render(&state.app, &device, request).await {
        Ok(svg) => svg,
        Err(e) => return server_error(e),
    };
    let encoded = base64::engine::general_purpose::STANDARD.encode(svg.as_bytes());
    axum::Json(json!({"base64_data": format!("data:image/svg+xml;charset=utf-8;base64,{encoded}")})).into_response()
}
