//! The Pet Management Platform seed's contract (`shared/compat/petmgmt.md`) under
//! `/compat/petmgmt/api/v1` and `/compat/petmgmt/v1`: accounts, pets, health records and
//! vaccinations, reminders, the calendar, uploads, the subscription and outgoing webhooks, in the seed's
//! envelope (`{"success": true, "data"}` / `{"success": false, "error": {code, message,
//! details?, retryAfter?, requestId}}`) with camelCase fields.
//!
//! **Same data.** Everything maps onto Petty's own records through the canonical use cases: a
//! pet is a Petty pet, a health record a care record, a reminder a reminder, an account a Petty
//! account owning a household. What is made here is the same thing in `/api/v1` and on the
//! dashboard, and the other way round. Record kinds: the contract's `lab` is Petty's
//! `test_result`; Petty's own `procedure`, `condition` and `weight` records read as `other`
//! (and `type=other` lists them). Reminders made by a calendar import read as `source: user`.
//!
//! **Species.** The contract stores any lower-cased text of up to 50 characters; Petty keeps a
//! fixed list (dog, cat, bird, rabbit, rodent, fish, reptile, horse, other). A species Petty does
//! not know is kept as `other` and reads back as `other`; `?species=` filters the same way.
//!
//! **Validation** is the contract's, with its messages, each failing field in body order
//! (fields that are missing follow, in the contract's order). Where Petty's own rule is
//! stricter still (a password on the list of common breached ones, a name over Petty's length),
//! the field is refused with Petty's message. Unknown body fields are ignored.
//!
//! **Roles** are the household's, by the contract's table (`require`): a sitter logs nothing but
//! completed reminders here, a vet reads no reminders or calendar, only an owner deletes pets
//! and records or manages the subscription and webhooks. API keys (`pk_...`): `read` reads,
//! `write` also writes, `admin` is an owner. A sitter's token after the end date answers 403
//! "Your access to this household has ended".
//!
//! **Rate limits** ([`limits`]): the contract's per user or key per UTC hour by tier and per
//! address a minute on `/auth/*`, counted on each node (N nodes allow up to N times as much);
//! the edge's own per-minute limits apply too, and their 429 is answered in the envelope. The
//! sign-in lockout (5 failed sign-ins for one email in 15 minutes lock it for 15 minutes: 423)
//! is the profile's own rule on top of Petty's throttles, over the failures Petty records.
//!
//! **Differences from the contract**, where Petty keeps its own behaviour: changing the password
//! signs every other sign-in out and answers the caller's new tokens beside `changed: true`
//! (the presented refresh token is replaced); `/calendar/sync` hands out a feed address only when
//! it creates the feed (an existing one keeps the address given before, since Petty stores only
//! the token's hash); outgoing webhooks are retried on the outbox's schedule (`notify.*`
//! settings), not the seed's; changes made through `/api/v1` or the dashboard do not call the
//! profile's webhooks (`reminder.due` and the subscription's events are told whichever edge
//! caused them); with MFA on, a password change and the data export also need a fresh code
//! (`mfaCode`, or `X-MFA-Code` as in Petty's API); attachments sent with a record's change are
//! added to its files (a file leaves a record when deleted).
//!
//! Every answer under the prefix, whatever its cause (a handler, an unknown route, a wrong
//! method, the body limit, the edge's rate limit or timeout), is in the envelope: [`own_shape`]
//! is outside the edge layer, as the Petty profile's is (see `petty::router`).

mod account;
mod auth;
mod calendar;
mod limits;
mod pets;
mod records;
mod reminders;
mod uploads;
mod wire;

use axum::Router;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use petty_core::accounts::{Actor, ActorKind, ApiKeyScope, Role};
use petty_core::ids::HouseholdId;
use petty_core::{FieldError, Invalid};
use petty_http::AppState;
use petty_http::auth::Authentication;
use petty_http::observability::{X_REQUEST_ID, current_request_id};
use petty_store::StoreError;
use serde::Serialize;
use serde_json::{Value, json};
use time::OffsetDateTime;

/// The two prefixes the contract's routes live under: the seed's and its spec's base URL.
const PREFIXES: [&str; 2] = ["/compat/petmgmt/api/v1", "/compat/petmgmt/v1"];

/// The contract's routes under both prefixes, with the profile's rate limits; anything else
/// under `/compat/petmgmt` is a 404 in the envelope. Put [`own_shape`] outside the edge layer.
pub fn router(state: &AppState) -> Router<AppState> {
    let mut router = Router::new();
    for prefix in PREFIXES {
        router = router.merge(routes(prefix));
    }
    router
        .route("/compat/petmgmt", axum::routing::any(unknown_route))
        .route("/compat/petmgmt/{*rest}", axum::routing::any(unknown_route))
        .method_not_allowed_fallback(wrong_method)
        .layer(axum::middleware::from_fn_with_state(state.clone(), limits::limit))
        .layer(axum::Extension(std::sync::Arc::new(limits::Counters::default())))
}

fn routes(p: &str) -> Router<AppState> {
    let at = |path: &str| format!("{p}{path}");
    Router::new()
        .route(&at("/auth/register"), post(auth::register))
        .route(&at("/auth/login"), post(auth::login))
        .route(&at("/auth/refresh-token"), post(auth::refresh))
        .route(&at("/auth/logout"), post(auth::logout))
        .route(&at("/auth/change-password"), post(auth::change_password))
        .route(&at("/auth/mfa/setup"), post(auth::mfa_setup))
        .route(&at("/auth/mfa/verify"), post(auth::mfa_verify))
        .route(&at("/auth/mfa/disable"), post(auth::mfa_disable))
        .route(&at("/users/profile"), get(auth::profile).put(auth::update_profile))
        .route(&at("/users/export"), get(account::export))
        .route(&at("/users/account"), axum::routing::delete(account::delete_account))
        .route(&at("/pets"), get(pets::list).post(pets::create))
        .route(&at("/pets/{id}"), get(pets::read).put(pets::update).delete(pets::delete))
        .route(&at("/pets/{id}/health-records"), get(records::list).post(records::create))
        .route(&at("/pets/{id}/vaccinations"), get(records::vaccinations))
        .route(&at("/health-records/{id}"), axum::routing::put(records::update).delete(records::delete))
        .route(&at("/health-records/pets/{id}/records"), get(records::list).post(records::create))
        .route(&at("/health-records/records/{id}"), axum::routing::put(records::update))
        .route(&at("/reminders"), get(reminders::list).post(reminders::create))
        .route(&at("/reminders/{id}"), axum::routing::put(reminders::update).delete(reminders::delete))
        .route(&at("/reminders/{id}/complete"), post(reminders::complete))
        .route(&at("/calendar/feed"), post(calendar::new_feed))
        .route(&at("/calendar/feed.ics"), get(calendar::feed))
        .route(&at("/calendar/events"), get(calendar::events))
        .route(&at("/calendar/sync"), post(calendar::sync))
        .route(&at("/calendar/import"), post(calendar::import))
        .route(&at("/integrations/calendar/sync"), post(calendar::sync))
        .route(&at("/integrations/calendar/events"), get(calendar::events))
        .route(&at("/subscription/status"), get(account::subscription_status))
        .route(&at("/subscription/upgrade"), post(account::upgrade))
        .route(&at("/subscription/cancel"), post(account::cancel))
        .route(&at("/billing/stripe/webhook"), post(account::stripe_webhook))
        .route(&at("/uploads/presigned-url"), post(uploads::presigned_url))
        .route(&at("/uploads/confirm"), post(uploads::confirm))
        // The upload target counts the file against the upload limit itself.
        .route(
            &at("/uploads/{token}"),
            axum::routing::put(uploads::receive)
                .post(uploads::receive_form)
                .layer(axum::extract::DefaultBodyLimit::disable()),
        )
        .route(&at("/webhooks"), get(account::list_webhooks).post(account::create_webhook))
        .route(&at("/webhooks/{id}"), axum::routing::delete(account::delete_webhook))
}

/// The profile's outermost layer, put outside the edge layer by `petty::router`: an error answer
/// not already in the envelope (the edge's 429, the body limit's 413, the timeout's 503) is
/// rewritten into it, keeping its status and headers.
pub fn own_shape(profile: Router<AppState>) -> Router<AppState> {
    profile.layer(axum::middleware::map_response(envelope_errors))
}

/// Marks an answer already in the envelope.
#[derive(Clone, Copy)]
struct Enveloped;

async fn envelope_errors(response: Response) -> Response {
    crate::answers::reshaped::<Enveloped>(response, |status, headers| {
        let (code, message) = match status {
            StatusCode::TOO_MANY_REQUESTS => ("RATE_LIMIT_EXCEEDED", "API rate limit exceeded"),
            StatusCode::PAYLOAD_TOO_LARGE => ("PAYLOAD_TOO_LARGE", "Request body too large"),
            StatusCode::NOT_FOUND => ("RESOURCE_NOT_FOUND", "Route not found"),
            StatusCode::METHOD_NOT_ALLOWED => ("METHOD_NOT_ALLOWED", "Method not allowed on this route"),
            StatusCode::UNAUTHORIZED => ("UNAUTHORIZED", "Authentication required"),
            StatusCode::FORBIDDEN => ("INSUFFICIENT_PERMISSIONS", "Your role does not allow this action"),
            StatusCode::UNSUPPORTED_MEDIA_TYPE => ("UNSUPPORTED_MEDIA_TYPE", "Unsupported media type"),
            StatusCode::SERVICE_UNAVAILABLE => ("SERVICE_UNAVAILABLE", "Service temporarily unavailable; try again"),
            s if s.is_server_error() => ("INTERNAL_ERROR", "An unexpected error occurred"),
            _ => ("VALIDATION_ERROR", "Invalid input data"),
        };
        let retry_after = crate::answers::number_header(headers, header::RETRY_AFTER);
        let request_id = headers.get(&X_REQUEST_ID).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let mut error = json!({"code": code, "message": message, "requestId": request_id});
        if let Some(secs) = retry_after {
            error["retryAfter"] = json!(secs);
        }
        json!({"success": false, "error": error})
    })
}

async fn unknown_route() -> Response {
    Fail::new(StatusCode::NOT_FOUND, "RESOURCE_NOT_FOUND", "Route not found").into_response()
}

async fn wrong_method() -> Response {
    Fail::new(StatusCode::METHOD_NOT_ALLOWED, "METHOD_NOT_ALLOWED", "Method not allowed on this route").into_response()
}

/// A success answer: `{"success": true, "data": ...}`.
fn ok(status: StatusCode, data: impl Serialize) -> Response {
    let mut response = (status, axum::Json(json!({"success": true, "data": data}))).into_response();
    response.extensions_mut().insert(Enveloped);
    response
}

/// One failing field.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
struct Detail {
    field: String,
    message: String,
}

/// An error answer in the envelope.
#[derive(Debug)]
struct Fail {
    status: StatusCode,
    code: &'static str,
    message: String,
    details: Vec<Detail>,
    retry_after: Option<u64>,
}

type Answer = Result<Response, Fail>;

impl Fail {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into(), details: Vec::new(), retry_after: None }
    }

    fn validation(details: Vec<Detail>) -> Self {
        Self { details, ..Self::new(StatusCode::BAD_REQUEST, "VALIDATION_ERROR", "Invalid input data") }
    }

    /// One field's refusal.
    fn field(field: &str, message: impl Into<String>) -> Self {
        Self::validation(vec![Detail { field: field.to_owned(), message: message.into() }])
    }

    fn invalid_json() -> Self {
        Self::new(StatusCode::BAD_REQUEST, "INVALID_JSON", "Request body must be valid JSON")
    }

    fn unauthorized(message: &str) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "UNAUTHORIZED", message)
    }

    fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "INSUFFICIENT_PERMISSIONS", message)
    }

    fn not_found(message: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, "RESOURCE_NOT_FOUND", message)
    }

    fn conflict(message: &str) -> Self {
        Self::new(StatusCode::CONFLICT, "CONFLICT", message)
    }

    fn retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds.max(1));
        self
    }

    /// A 500 whose cause is logged here and never shown.
    fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(error = %cause, request_id = current_request_id().as_deref(), "compat/petmgmt: internal error");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "INTERNAL_ERROR", "An unexpected error occurred")
    }

    /// A store error where nothing in particular was looked for.
    fn store(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(why) => {
                tracing::warn!(%why, "compat/petmgmt: database unavailable");
                Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "SERVICE_UNAVAILABLE",
                    "Service temporarily unavailable; try again",
                )
            }
            other => Self::internal(other),
        }
    }

    /// A store error where `NotFound` means the thing named by `message` ("Pet not found").
    fn store_or(message: &'static str) -> impl Fn(StoreError) -> Fail {
        move |e| match e {
            StoreError::NotFound => Fail::not_found(message),
            other => Fail::store(other),
        }
    }

    /// Petty's own refusal of input that passed the contract's checks, its fields renamed.
    fn canonical(invalid: Invalid) -> Self {
        Self::validation(
            invalid
                .0
                .into_iter()
                .map(|FieldError { field, message, .. }| {
                    let name = wire::contract_field(&field);
                    let message = if name == field { message } else { message.replacen(&field, name, 1) };
                    Detail { field: name.to_owned(), message }
                })
                .collect(),
        )
    }

    /// A care use case's refusal.
    fn care(e: petty_app::care::CareError) -> Self {
        use petty_app::care::CareError;
        match e {
            CareError::Invalid(invalid) => Self::canonical(invalid),
            CareError::NotFound("pet") => Self::not_found("Pet not found"),
            CareError::NotFound("health record") => Self::not_found("Health record not found"),
            CareError::NotFound("reminder") => Self::not_found("Reminder not found"),
            CareError::NotFound(_) => Self::not_found("Resource not found"),
            CareError::Plan(e) => account::billing_error(e),
            CareError::Store(e) => Self::store(e),
        }
    }
}

impl IntoResponse for Fail {
    fn into_response(self) -> Response {
        let mut error = json!({"code": self.code, "message": self.message, "requestId": current_request_id()});
        if !self.details.is_empty() {
            error["details"] = json!(self.details);
        }
        if let Some(secs) = self.retry_after {
            error["retryAfter"] = json!(secs);
        }
        let mut response = (self.status, axum::Json(json!({"success": false, "error": error}))).into_response();
        if let Some(secs) = self.retry_after
            && let Ok(v) = HeaderValue::from_str(&secs.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, v);
        }
        response.extensions_mut().insert(Enveloped);
        response
    }
}

/// What a caller may try, by the contract's role table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    /// Pets, health records, vaccinations.
    Read,
    /// Reminders and the calendar.
    ReadReminders,
    /// Create or change pets, health records, reminders, uploads.
    Write,
    /// Complete a reminder.
    Complete,
    /// Delete pets and health records.
    Delete,
    /// The subscription, webhooks, members, the household's export.
    Own,
}

fn allows(actor: &Actor, action: Action) -> bool {
    match actor.kind {
        ActorKind::User { role, .. } => match action {
            Action::Read => true,
            Action::ReadReminders | Action::Complete => role != Role::Vet,
            Action::Write => matches!(role, Role::Owner | Role::Member),
            Action::Delete | Action::Own => role == Role::Owner,
        },
        ActorKind::ApiKey { scope, .. } => match action {
            Action::Read | Action::ReadReminders => true,
            Action::Write | Action::Complete => scope != ApiKeyScope::Read,
            Action::Delete | Action::Own => scope == ApiKeyScope::Admin,
        },
    }
}

/// 403 unless the caller may do `action`.
fn require(actor: &Actor, action: Action) -> Result<(), Fail> {
    if allows(actor, action) { Ok(()) } else { Err(Fail::forbidden("Your role does not allow this action")) }
}

/// The signed-in caller (a member's access token or an API key).
struct Member(Actor);

impl FromRequestParts<AppState> for Member {
    type Rejection = Fail;

    async fn from_request_parts(parts: &mut Parts, _state: &AppState) -> Result<Self, Self::Rejection> {
        match parts.extensions.get::<Authentication>() {
            Some(Authentication::Authenticated(actor)) => Ok(Member(*actor)),
            Some(Authentication::Failed { .. }) if membership_ended(&parts.headers) => {
                Err(Fail::forbidden("Your access to this household has ended"))
            }
            Some(Authentication::Failed { .. }) | Some(Authentication::Device(_)) => {
                Err(Fail::unauthorized("Invalid or expired token"))
            }
            _ => Err(Fail::unauthorized("Authentication required")),
        }
    }
}

impl Member {
    /// The signed-in person; 403 for an API key, which acts for a household, not a person.
    fn user(&self) -> Result<(petty_core::ids::UserId, Role), Fail> {
        match self.0.kind {
            ActorKind::User { user_id, role } => Ok((user_id, role)),
            ActorKind::ApiKey { .. } => Err(Fail::forbidden("This needs a signed-in user, not an API key")),
        }
    }

    fn household(&self) -> HouseholdId {
        self.0.household_id
    }
}

/// Whether a refused access token was a sitter's whose time in the household is over (its
/// `mex` claim has passed). Read only to choose between two refusals: the edge already refused
/// the token, so nothing here is trusted with anything.
fn membership_ended(headers: &HeaderMap) -> bool {
    let Some(token) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
    else {
        return false;
    };
    let Some(payload) = token.split('.').nth(1).filter(|p| p.len() <= 4096) else { return false };
    let Ok(bytes) = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload) else { return false };
    let Ok(claims) = serde_json::from_slice::<Value>(&bytes) else { return false };
    claims["mex"].as_i64().is_some_and(|mex| mex <= OffsetDateTime::now_utc().unix_timestamp())
}

/// A time as the contract writes it: RFC 3339 in UTC with `Z`, to the second.
fn ts(t: OffsetDateTime) -> String {
    format!("{}Z", crate::answers::utc_seconds(t))
}

fn date(d: time::Date) -> String {
    petty_core::pets::format_date(d)
}

/// `{page, limit, total, totalPages}`, totalPages = ⌈total / limit⌉ (0 when empty).
fn pagination(page: u32, limit: u32, total: u64) -> Value {
    let limit_n = u64::from(limit.max(1));
    json!({"page": page, "limit": limit, "total": total, "totalPages": total.div_ceil(limit_n)})
}

/// The profile's decoders of a new pet's and a new health record's body, on outside bytes
/// (for the fuzz target `petmgmt_body` and tests): JSON in body order, the contract's rules
/// with its messages, then Petty's. Answers each refusal's code (`INVALID_JSON`,
/// `VALIDATION_ERROR`) or the pet's name and the record's title.
pub fn decode_bodies(bytes: &[u8], today: time::Date) -> [Result<String, &'static str>; 2] {
    let pet = pets::decode_new_pet(bytes, today).map(|p| p.name).map_err(|f| f.code);
    let record = records::decode_new_record(bytes, today, "https://petty.example")
        .and_then(|(raw, _)| {
            petty_core::care::RecordContent::parse(&raw, petty_core::pets::Species::Dog, today).map_err(Fail::canonical)
        })
        .map(|r| r.title)
        .map_err(|f| f.code);
    [pet, record]
}

/// Builds the application's routes for the profile (used by `petty::router`): the contract's
/// routes with their own copy of the edge stack, the envelope outside it, CORS as configured.
pub fn mounted(state: &AppState) -> Router<AppState> {
    petty_http::with_cors(own_shape(petty_http::with_edge(router(state), state)), state)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_decode_or_are_refused_with_the_contracts_codes() {
        let today = time::macros::date!(2026 - 12 - 05);
        let both = br#"{"name": "Rex", "species": "Hamster", "recordType": "lab", "title": "Blood", "dateAdministered": "2026-12-06"}"#;
        assert_eq!(decode_bodies(both, today), [Ok("Rex".to_owned()), Ok("Blood".to_owned())]);
        assert_eq!(decode_bodies(b"{", today), [Err("INVALID_JSON"), Err("INVALID_JSON")]);
        let late = br#"{"name": "", "recordType": "visit", "title": "x", "dateAdministered": "2026-12-07"}"#;
        assert_eq!(decode_bodies(late, today), [Err("VALIDATION_ERROR"), Err("VALIDATION_ERROR")]);
    }

    #[test]
    fn times_are_utc_seconds_with_z() {
        let t = time::macros::datetime!(2024-03-30 09:00:00.123 +01:00);
        assert_eq!(ts(t), "2024-03-30T08:00:00Z");
    }

    #[test]
    fn total_pages_round_up_and_are_zero_when_empty() {
        assert_eq!(pagination(1, 20, 0)["totalPages"], 0);
        assert_eq!(pagination(1, 20, 20)["totalPages"], 1);
        assert_eq!(pagination(1, 20, 21)["totalPages"], 2);
        assert_eq!(pagination(2, 3, 7)["totalPages"], 3);
    }

    #[test]
    fn the_role_table_is_the_contracts() {
        let user = |role| Actor {
            household_id: HouseholdId::new(),
            kind: ActorKind::User { user_id: petty_core::ids::UserId::new(), role },
        };
        let table = [
            (Action::Read, [true, true, true, true]),
            (Action::ReadReminders, [true, true, true, false]),
            (Action::Write, [true, true, false, false]),
            (Action::Complete, [true, true, true, false]),
            (Action::Delete, [true, false, false, false]),
            (Action::Own, [true, false, false, false]),
        ];
        for (action, expected) in table {
            let got: Vec<bool> = Role::ALL.iter().map(|r| allows(&user(*r), action)).collect();
            assert_eq!(got, expected, "{action:?} for owner, member, sitter, vet");
        }
    }

    #[test]
    fn an_ended_sitter_is_told_so_only_when_the_token_says_so() {
        let token = |claims: Value| {
            let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
            format!("Bearer x.{}.y", b64.encode(claims.to_string()))
        };
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, HeaderValue::from_str(&token(json!({"mex": 1}))).unwrap());
        assert!(membership_ended(&headers));
        let later = OffsetDateTime::now_utc().unix_timestamp() + 3600;
        headers.insert(header::AUTHORIZATION, HeaderValue::from_str(&token(json!({"mex": later}))).unwrap());
        assert!(!membership_ended(&headers));
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer not-a-token"));
        assert!(!membership_ended(&headers));
    }
}
