//! The AURORA_LIFE seed's contract (`shared/compat/aurora.md`) under `/compat/aurora`: accounts,
//! a person's life log (events, batches, stats, the timeline and its patterns), the energy and
//! mood predictions made from it, its rate limits, its WebSocket and its health routes, in
//! FastAPI's shapes (`{"detail": ...}`, 422 items `{type, loc, msg, input}`).
//!
//! **Paths.** Every route exists under `/compat/aurora/api/v1` and `/compat/aurora/api`, with or
//! without a trailing slash (no redirects); upstream's own paths (`/compat/aurora/api/users`,
//! `/api/timeline/{days}d`, `/api/ai/predict/...`, `/ws/{user_id}`) only where the contract puts
//! them. Anything else under `/compat/aurora` (upstream's vault, gamification, social, ...) is
//! 404 `{"detail": "Not Found"}`.
//!
//! **Same data.** An AURORA user is a Petty user (registering makes an account owning a new
//! household); an AURORA event is a Petty life event of that person, written through
//! `petty_app::lifelog`, so it is the same in `/api/v1/life-events`, on the dashboard and in
//! the predictions. What the contract says about a person that Petty's account does not keep
//! (the username, the full name, the free-form profile) is kept beside it
//! (`petty_store::AuroraProfile`). Tokens are Petty's own: a token from the canonical sign-in
//! works here and the other way round, and Petty API keys work as Bearer tokens (for the health
//! routes; a person's routes need the person's own token).
//!
//! **Validation** is FastAPI's: JSON types first (`string_type`, `int_parsing`, `dict_type`, ...),
//! then the contract's rules, which are `petty_core::lifelog`'s (its rule names map one to one
//! to FastAPI's types, see `wire`), every problem in field order, bad JSON as `json_invalid`
//! with its byte offset. Where Petty's own rule is stricter (a password of at least 10
//! characters, not a common one), the field is refused as a `value_error` with Petty's words.
//! Bad input changes nothing; unknown body fields are ignored.
//!
//! **Differences from the contract**, where Petty keeps its own behaviour: changing the password
//! ends every sign-in of the person (Petty's rule), so the answer carries a new pair of tokens
//! beside its `message`; with MFA on a password change also needs a fresh code (`otp`, or
//! `X-MFA-Code`); `role` is always `user` (Petty has no server administrator, so nobody sends
//! `announcement`s, though `system:announcements` can be subscribed); the health checks
//! (`/health`, `/health/live`, `/health/ready`) are not rate limited, as no health check in
//! Petty is.
//!
//! **Rate limits** ([`limits`]): the contract's sliding windows, counted on each node. Every
//! answer under the prefix, whatever its cause (a handler, an unknown route, a wrong method, the
//! body limit, the edge's own limits or timeout), is in FastAPI's shape: [`own_shape`] is outside
//! the edge layer, as the other profiles' are.

mod auth;
mod events;
mod health;
mod insights;
mod limits;
mod live;
mod predictions;
mod wire;

use std::sync::Arc;

use axum::Router;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get, post};
use petty_core::accounts::{Actor, ActorKind};
use petty_core::ids::UserId;
use petty_http::AppState;
use petty_http::auth::Authentication;
use petty_http::observability::current_request_id;
use petty_store::StoreError;
use serde_json::{Value, json};
use time::OffsetDateTime;

pub use wire::decode_event_body;

/// Everything the profile serves is under this.
const ROOT: &str = "/compat/aurora";
/// The two prefixes the contract's routes live under: what its tests call and what its web
/// client calls.
const PREFIXES: [&str; 2] = ["/compat/aurora/api/v1", "/compat/aurora/api"];

/// The contract's routes under both prefixes, with and without a trailing slash, and the
/// profile's rate limits; anything else under `/compat/aurora` is a 404 in FastAPI's shape.
/// Put [`own_shape`] outside the edge layer.
pub fn router(state: &AppState) -> Router<AppState> {
    let mut router = Router::new();
    for prefix in PREFIXES {
        router = routes(router, prefix);
    }
    let api = PREFIXES[1];
    router = at(router, &format!("{api}/users"), post(auth::create_user));
    router = at(router, &format!("{api}/timeline/{{days}}"), get(events::timeline_in_path));
    router = at(router, &format!("{api}/ai/predict/energy"), post(predictions::ai_energy));
    router = at(router, &format!("{api}/ai/predict/mood"), post(predictions::ai_mood));
    router = at(router, &format!("{api}/ai/predict/energy/{{user_id}}"), get(predictions::ai_energy_of));
    router = at(router, &format!("{api}/ai/predict/mood/{{user_id}}"), get(predictions::ai_mood_of));
    router = at(router, &format!("{}/ws", PREFIXES[0]), get(live::connect));
    router = at(router, &format!("{ROOT}/ws/{{user_id}}"), get(live::connect_as));
    router = at(router, &format!("{ROOT}/health"), get(health::health));
    router = at(router, &format!("{ROOT}/health/ready"), get(health::ready));
    router = at(router, &format!("{ROOT}/health/live"), get(health::live));
    router = at(router, &format!("{ROOT}/health/detailed"), get(health::detailed));
    router
        .route(ROOT, axum::routing::any(unknown_route))
        .route(&format!("{ROOT}/{{*rest}}"), axum::routing::any(unknown_route))
        .method_not_allowed_fallback(wrong_method)
        .layer(axum::middleware::from_fn_with_state(state.clone(), limits::limit))
        .layer(axum::Extension(Arc::new(limits::Windows::default())))
}

/// `path` and `path/`, both answered by `route`.
fn at(router: Router<AppState>, path: &str, route: MethodRouter<AppState>) -> Router<AppState> {
    router.route(path, route.clone()).route(&format!("{path}/"), route)
}

fn routes(router: Router<AppState>, p: &str) -> Router<AppState> {
    let on = |path: &str| format!("{p}{path}");
    let mut r = router;
    r = at(r, &on("/auth/register"), post(auth::register));
    r = at(r, &on("/auth/login"), post(auth::login));
    r = at(r, &on("/auth/login/json"), post(auth::login_json));
    r = at(r, &on("/auth/refresh"), post(auth::refresh));
    r = at(r, &on("/auth/logout"), post(auth::logout));
    r = at(r, &on("/auth/change-password"), post(auth::change_password));
    r = at(r, &on("/auth/me"), get(auth::me));
    r = at(r, &on("/users/me"), get(auth::me).put(auth::update_me));
    r = at(r, &on("/events"), get(events::list).post(events::create));
    // `batch` is not an event id: any other method on it is an unknown event, as upstream's
    // `/events/{id}` would have answered.
    let no_event = || get(events::no_such_event).put(events::no_such_event).patch(events::no_such_event);
    r = at(r, &on("/events/batch"), no_event().post(events::create_batch).delete(events::no_such_event));
    r = at(r, &on("/events/stats/summary"), get(events::summary));
    r = at(r, &on("/events/{id}"), get(events::read).put(events::update).patch(events::update).delete(events::delete));
    r = at(r, &on("/timeline"), get(events::timeline));
    r = at(r, &on("/timeline/patterns/detect"), get(events::patterns));
    r = at(r, &on("/predictions/energy"), get(predictions::energy));
    r = at(r, &on("/predictions/mood"), get(predictions::mood));
    r = at(r, &on("/predictions/metrics"), get(predictions::metrics));
    r = at(r, &on("/predictions/retrain"), post(predictions::retrain));
    r = at(r, &on("/insights"), get(insights::list));
    r = at(r, &on("/insights/generate"), post(insights::generate).get(insights::no_such_insight));
    r = at(r, &on("/insights/{id}"), get(insights::read));
    r = at(r, &on("/insights/{id}/read"), post(insights::mark_read).patch(insights::mark_read));
    r = at(r, &on("/insights/{id}/dismiss"), post(insights::dismiss).patch(insights::dismiss));
    r
}

/// The profile's outermost layer, put outside the edge layer by `petty::router`: an error answer
/// not already in FastAPI's shape (the edge's 429, the body limit's 413, the timeout's 503) is
/// rewritten into it, keeping its status and headers.
pub fn own_shape(profile: Router<AppState>) -> Router<AppState> {
    profile.layer(axum::middleware::map_response(fastapi_errors))
}

/// Builds the application's routes for the profile (used by `petty::router`): the contract's
/// routes with their own copy of the edge stack, FastAPI's error shape outside it, CORS as
/// configured.
pub fn mounted(state: &AppState) -> Router<AppState> {
    health::note_start();
    petty_http::with_cors(own_shape(petty_http::with_edge(router(state), state)), state)
}

/// Marks an answer already in FastAPI's shape.
#[derive(Clone, Copy)]
struct Shaped;

async fn fastapi_errors(response: Response) -> Response {
    crate::answers::reshaped::<Shaped>(response, |status, headers| {
        let detail = match status {
            StatusCode::TOO_MANY_REQUESTS => {
                let retry = crate::answers::number_header(headers, header::RETRY_AFTER).unwrap_or(1);
                limits::exceeded(crate::answers::number_header(headers, "x-ratelimit-limit").unwrap_or(0), retry)
            }
            StatusCode::UNAUTHORIZED => json!("Not authenticated"),
            StatusCode::FORBIDDEN => json!("Forbidden"),
            StatusCode::NOT_FOUND => json!("Not Found"),
            StatusCode::METHOD_NOT_ALLOWED => json!("Method Not Allowed"),
            StatusCode::PAYLOAD_TOO_LARGE => json!("Request Entity Too Large"),
            StatusCode::SERVICE_UNAVAILABLE => json!("Service Unavailable"),
            s if s.is_server_error() => json!("Internal Server Error"),
            s => json!(s.canonical_reason().unwrap_or("Bad Request")),
        };
        json!({ "detail": detail })
    })
}

async fn unknown_route() -> Fail {
    Fail::not_found("Not Found")
}

async fn wrong_method() -> Fail {
    Fail::new(StatusCode::METHOD_NOT_ALLOWED, json!("Method Not Allowed"))
}

/// A success answer: the JSON as it is.
fn ok(status: StatusCode, body: Value) -> Response {
    (status, axum::Json(body)).into_response()
}

/// An error answer in FastAPI's shape: `{"detail": ...}` with the status and any headers.
#[derive(Debug)]
struct Fail {
    status: StatusCode,
    detail: Value,
    headers: Vec<(HeaderName, HeaderValue)>,
}

type Answer = Result<Response, Fail>;

impl Fail {
    fn new(status: StatusCode, detail: Value) -> Self {
        Self { status, detail, headers: Vec::new() }
    }

    fn header(mut self, name: HeaderName, value: impl ToString) -> Self {
        if let Ok(v) = HeaderValue::from_str(&value.to_string()) {
            self.headers.push((name, v));
        }
        self
    }

    /// 401 with `WWW-Authenticate: Bearer`.
    fn unauthorized(detail: &str) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, json!(detail)).header(header::WWW_AUTHENTICATE, "Bearer")
    }

    fn not_authenticated() -> Self {
        Self::unauthorized("Not authenticated")
    }

    fn bad_credentials() -> Self {
        Self::unauthorized("Could not validate credentials")
    }

    fn forbidden(detail: &str) -> Self {
        Self::new(StatusCode::FORBIDDEN, json!(detail))
    }

    fn not_found(detail: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, json!(detail))
    }

    fn bad_request(detail: &str) -> Self {
        Self::new(StatusCode::BAD_REQUEST, json!(detail))
    }

    /// 422 with FastAPI's items.
    fn invalid(items: Vec<wire::Item>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, json!(items))
    }

    /// 429 `detail` with `Retry-After`.
    fn too_many(detail: Value, retry_after: u64) -> Self {
        Self::new(StatusCode::TOO_MANY_REQUESTS, detail).header(header::RETRY_AFTER, retry_after.max(1))
    }

    /// A 500 whose cause is logged here and never shown.
    fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(error = %cause, request_id = current_request_id().as_deref(), "compat/aurora: internal error");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, json!("Internal Server Error"))
    }

    /// A store error where nothing in particular was looked for.
    fn store(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(why) => {
                tracing::warn!(%why, "compat/aurora: database unavailable");
                Self::new(StatusCode::SERVICE_UNAVAILABLE, json!("Service Unavailable"))
            }
            other => Self::internal(other),
        }
    }

    /// A life-log use case's refusal; `NotFound` is the event (`what`).
    fn life(what: &'static str) -> impl Fn(petty_app::lifelog::LifeError) -> Fail {
        use petty_app::lifelog::LifeError;
        move |e| match e {
            LifeError::Invalid(invalid) => Fail::invalid(wire::items_of(&invalid, &["body"], &Value::Null)),
            LifeError::NotFound(_) => Fail::not_found(what),
            LifeError::Forbidden(why) => Fail::forbidden(why),
            LifeError::Store(e) => Fail::store(e),
        }
    }
}

impl IntoResponse for Fail {
    fn into_response(self) -> Response {
        let mut response = (self.status, axum::Json(json!({ "detail": self.detail }))).into_response();
        for (name, value) in self.headers {
            response.headers_mut().insert(name, value);
        }
        response.extensions_mut().insert(Shaped);
        response
    }
}

/// The signed-in person: a member's access token (an API key acts for a household, not a
/// person, and is refused with 403).
struct Person {
    actor: Actor,
    user_id: UserId,
}

impl FromRequestParts<AppState> for Person {
    type Rejection = Fail;

    async fn from_request_parts(parts: &mut Parts, _state: &AppState) -> Result<Self, Self::Rejection> {
        let actor = signed_in(parts)?;
        match actor.kind {
            ActorKind::User { user_id, .. } => Ok(Person { actor, user_id }),
            ActorKind::ApiKey { .. } => Err(Fail::forbidden(
                "An API key acts for a household, not a person: sign in as the person to use their life log",
            )),
        }
    }
}

/// A request with any valid credential: a member's token or an API key.
struct Caller;

impl FromRequestParts<AppState> for Caller {
    type Rejection = Fail;

    async fn from_request_parts(parts: &mut Parts, _state: &AppState) -> Result<Self, Self::Rejection> {
        signed_in(parts).map(|_| Caller)
    }
}

/// Whoever the request's credentials name: 401 `Not authenticated` without any, `Could not
/// validate credentials` for bad, expired or revoked ones.
fn signed_in(parts: &Parts) -> Result<Actor, Fail> {
    match parts.extensions.get::<Authentication>() {
        Some(Authentication::Authenticated(actor)) => Ok(*actor),
        Some(Authentication::Failed { .. }) | Some(Authentication::Device(_)) => Err(Fail::bad_credentials()),
        _ => Err(Fail::not_authenticated()),
    }
}

impl Person {
    /// 403 unless `named` (a `user_id` the client sent) is this person's own id.
    fn owns(&self, named: Option<&str>) -> Result<(), Fail> {
        match named {
            None => Ok(()),
            Some(text) if uuid::Uuid::parse_str(text.trim()).is_ok_and(|id| id == self.user_id.0) => Ok(()),
            Some(_) => Err(Fail::forbidden("Not allowed to access another user's data")),
        }
    }

    fn subject(&self) -> petty_core::lifelog::Subject {
        petty_core::lifelog::Subject::Person(self.user_id)
    }
}

/// A time as the contract writes it: RFC 3339 in UTC with `Z`, with milliseconds only when they
/// are not zero.
fn ts(t: OffsetDateTime) -> String {
    let whole = crate::answers::utc_seconds(t);
    match t.millisecond() {
        0 => format!("{whole}Z"),
        ms => format!("{whole}.{ms:03}Z"),
    }
}

/// `value` (one of Petty's shapes, serialised) with the times at `keys` written as the contract
/// writes them ([`ts`]) and the fields in `drop` left out.
fn contract_shape(value: impl serde::Serialize, keys: &[&str], drop: &[&str]) -> Value {
    let mut value = serde_json::to_value(value).unwrap_or(Value::Null);
    if let Value::Object(map) = &mut value {
        for key in drop {
            map.remove(*key);
        }
        for key in keys {
            let parsed = map
                .get(*key)
                .and_then(Value::as_str)
                .and_then(|t| OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).ok());
            if let Some(t) = parsed {
                map.insert((*key).to_owned(), Value::String(ts(t)));
            }
        }
    }
    value
}

/// `{items, total, page, page_size, has_next, total_pages}`: has_next = page × page_size <
/// total, total_pages = ⌈total / page_size⌉ (0 when empty).
fn paged(items: Vec<Value>, total: u64, page: u32, page_size: u32) -> Value {
    let size = u64::from(page_size.max(1));
    json!({
        "items": items,
        "total": total,
        "page": page,
        "page_size": page_size,
        "has_next": u64::from(page) * size < total,
        "total_pages": total.div_ceil(size),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_utc_with_z_and_a_fraction_only_when_there_is_one() {
        assert_eq!(ts(time::macros::datetime!(2024-03-30 09:00:00 +01:00)), "2024-03-30T08:00:00Z");
        assert_eq!(ts(time::macros::datetime!(2024-03-30 09:00:00.120 UTC)), "2024-03-30T09:00:00.120Z");
    }

    #[test]
    fn pages_say_whether_another_follows_and_how_many_there_are() {
        let page = |total, page, size| {
            let v = paged(Vec::new(), total, page, size);
            (v["has_next"].as_bool().unwrap_or(false), v["total_pages"].as_u64().unwrap_or(99))
        };
        assert_eq!(page(0, 1, 20), (false, 0));
        assert_eq!(page(20, 1, 20), (false, 1));
        assert_eq!(page(21, 1, 20), (true, 2));
        assert_eq!(page(21, 2, 20), (false, 2));
    }
}
