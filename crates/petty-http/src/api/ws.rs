//! `GET /api/v1/ws`: live events over one WebSocket.
//!
//! **Signing in**: an `Authorization: Bearer` header (access token or API key), the dashboard's
//! session cookie (only from a same-origin page), or, for clients that cannot set headers, a
//! first message `{"type":"auth","token":"..."}` within 10 seconds.
//!
//! **Messages from the client**: `{"type":"subscribe","topic":"device:<id>"}`,
//! `{"type":"unsubscribe","topic":...}`, `{"type":"ping"}`. Topics: `device:{id}`, `pet:{id}`,
//! `household:{id}:alarms`, `user:{id}:events`, `user:{id}:predictions`, `user:{id}:insights`;
//! a topic the caller may not see is refused with an `error` message.
//!
//! **Messages from Petty**: `{"type":"subscribed","topic"}`, `{"type":"unsubscribed","topic"}`,
//! `{"type":"event","topic","data":{...}}`, `{"type":"pong"}`, `{"type":"error","code","message"}`
//! and `{"type":"dropped","count":N}` when the client read too slowly and N events were dropped
//! for it (its queue holds 256; memory never grows with a slow client). A WebSocket ping goes
//! out every 30 seconds; a client that has not answered the previous one is disconnected.
//!
//! **Revocation**: every second the connection's credential is checked again (the member still
//! in the household in the same role, a sitter's time not over, the token not revoked by a
//! sign-out or password change, the API key or dashboard session still live). Once it fails,
//! Petty sends an `error` message and closes with 1008 (policy violation), reason
//! `"access revoked"`. The access token's own 15-minute expiry does not end an open socket.

use std::fmt::Write as _;
use std::time::Duration;

use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use petty_bus::Topic;
use petty_core::accounts::{Actor, Permission};
use serde::Deserialize;
use serde_json::json;

use crate::auth::Authentication;
use crate::error::{ApiError, ErrorCode};
use crate::state::AppState;

/// Undelivered events a connection may hold before they are dropped for it.
const QUEUE: usize = 256;
const HEARTBEAT: Duration = Duration::from_secs(30);
const AUTH_WAIT: Duration = Duration::from_secs(10);
/// Topics one connection may hold.
const MAX_TOPICS: usize = 256;
/// How often an open connection's credential is checked again.
const RECHECK: Duration = Duration::from_secs(1);

/// What the connection signed in with, to check again while it is open.
enum Recheck {
    /// An access token issued at this Unix millisecond.
    Token {
        issued_ms: i64,
    },
    ApiKey(String),
    /// The dashboard's session cookie.
    Cookie(HeaderMap),
}

impl Recheck {
    fn of(state: &AppState, token: &str) -> Option<Self> {
        if token.starts_with("pk_") {
            return Some(Recheck::ApiKey(token.to_owned()));
        }
        state.keys.verify_access_token(token).ok().map(|(_, issued_ms)| Recheck::Token { issued_ms })
    }

    /// Whether the credential still stands for `actor`.
    async fn holds(&self, state: &AppState, actor: &Actor) -> Result<(), ApiError> {
        match self {
            Recheck::Token { issued_ms } => crate::auth::check_standing(state, *actor, *issued_ms).await,
            Recheck::ApiKey(key) => match crate::auth::authenticate_api_key(state, key).await? {
                now if now == *actor => Ok(()),
                _ => Err(ApiError::unauthenticated("the API key's scope has changed; connect again")),
            },
            Recheck::Cookie(headers) => match crate::session::cookie_actor(state, headers).await {
                Some(now) if now == *actor => Ok(()),
                _ => Err(ApiError::unauthenticated("the dashboard session has ended or changed")),
            },
        }
    }
}

/// Live events over a WebSocket (see the module documentation in `ws.rs` and the README): the
/// messages each side sends are the schemas `WsClientMessage` and `WsServerMessage`, named
/// under `x-websocket-messages`. Sign in with a header, the dashboard's cookie, or a first
/// message `{"type":"auth","token":"..."}`.
#[utoipa::path(get, path = "/api/v1/ws", tag = "live",
    responses(
        (status = 101, description = "The connection is now a WebSocket"),
        (status = 400, description = "Not a WebSocket upgrade request", body = crate::error::ErrorBody)),
    security(("bearer" = []), ()))]
pub(crate) async fn connect(
    State(state): State<AppState>,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
    req: Request,
) -> Response {
    let headers = req.headers();
    let (actor, recheck) = match req.extensions().get::<Authentication>() {
        Some(Authentication::Authenticated(actor)) => {
            let recheck = match crate::auth::credentials(headers) {
                Some(crate::auth::Credential::Bearer(token) | crate::auth::Credential::ApiKey(token)) => {
                    Recheck::of(&state, token)
                }
                _ => None,
            };
            let Some(recheck) = recheck else {
                return ApiError::unauthenticated("the credentials could not be read again").into_response();
            };
            (Some(*actor), Some(recheck))
        }
        Some(Authentication::Failed { code, message }) => return ApiError::new(*code, message.clone()).into_response(),
        Some(Authentication::Device(_)) => {
            return ApiError::forbidden("a device token can only send readings").into_response();
        }
        _ => match crate::session::cookie_actor(&state, headers).await {
            Some(actor) if same_origin(headers) => {
                let mut cookie = HeaderMap::new();
                for value in headers.get_all(header::COOKIE) {
                    cookie.append(header::COOKIE, value.clone());
                }
                (Some(actor), Some(Recheck::Cookie(cookie)))
            }
            Some(_) => {
                return ApiError::forbidden("a session cookie is accepted only from Petty's own pages (Origin)")
                    .into_response();
            }
            None => (None, None),
        },
    };
    // Credentials are checked first: a bad token is a 401 whatever else is wrong.
    let ws = match ws {
        Ok(ws) => ws,
        Err(e) => {
            return ApiError::new(ErrorCode::MalformedRequest, format!("this address speaks WebSocket only: {e}"))
                .into_response();
        }
    };
    ws.read_buffer_size(4 * 1024)
        .write_buffer_size(4 * 1024)
        .max_message_size(64 * 1024)
        .on_upgrade(move |socket| session(socket, state, actor.zip(recheck)))
}

/// Whether the browser says the page that opened the socket is Petty's own (no Origin: not a
/// browser, so no cross-site request to forge).
fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else { return true };
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("");
    origin.split_once("://").is_some_and(|(_, rest)| rest == host)
}

/// A message from the client on the WebSocket, told apart by `type`: `auth` (the first message,
/// with an access token or API key, when no other credentials came with the upgrade),
/// `subscribe` and `unsubscribe` (topics `device:{id}`, `pet:{id}`, `household:{id}:alarms`,
/// `user:{id}:events`, `user:{id}:predictions`, `user:{id}:insights`; at most 256 at once), `ping`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
#[schema(as = WsClientMessage)]
pub(crate) enum Command {
    Auth { token: String },
    Subscribe { topic: String },
    Unsubscribe { topic: String },
    Ping,
}

fn frame(value: serde_json::Value) -> Message {
    Message::Text(Utf8Bytes::from(value.to_string()))
}

fn error_frame(code: ErrorCode, message: &str, topic: Option<&str>) -> Message {
    frame(json!({"type": "error", "code": code.as_str(), "message": message, "topic": topic}))
}

async fn session(mut socket: WebSocket, state: AppState, signed_in: Option<(Actor, Recheck)>) {
    let (actor, recheck) = match signed_in {
        Some(signed_in) => signed_in,
        None => match first_message_auth(&mut socket, &state).await {
            Some(signed_in) => signed_in,
            None => return,
        },
    };
    metrics::gauge!("petty_ws_connections").increment(1.0);
    let mut subscriber = state.bus.subscriber(QUEUE);
    let mut heartbeat = tokio::time::interval_at(tokio::time::Instant::now() + HEARTBEAT, HEARTBEAT);
    let mut recheck_tick = tokio::time::interval_at(tokio::time::Instant::now() + RECHECK, RECHECK);
    recheck_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut awaiting_pong = false;
    loop {
        let outgoing = tokio::select! {
            _ = recheck_tick.tick() => {
                match recheck.holds(&state, &actor).await {
                    Ok(()) => continue,
                    // A database that does not answer is not a revocation; check again next time.
                    Err(e) if e.code == ErrorCode::Internal || e.code == ErrorCode::Unavailable => continue,
                    Err(e) => {
                        tracing::debug!(reason = %e.message, "WebSocket credential revoked; closing");
                        let _ = socket.send(error_frame(e.code, &e.message, None)).await;
                        let close = CloseFrame { code: 1008, reason: Utf8Bytes::from_static("access revoked") };
                        let _ = socket.send(Message::Close(Some(close))).await;
                        break;
                    }
                }
            }
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Text(text))) => command(&state, &actor, &mut subscriber, &text).await,
                Some(Ok(Message::Pong(_))) => {
                    awaiting_pong = false;
                    continue;
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(_)) => continue,
            },
            event = subscriber.recv() => {
                let Some(event) = event else { break };
                let dropped = subscriber.take_dropped();
                if dropped > 0 && socket.send(frame(json!({"type": "dropped", "count": dropped}))).await.is_err() {
                    break;
                }
                // A topic's text is letters, digits, '-' and ':': nothing to escape.
                let mut text = String::with_capacity(event.payload.len() + 100);
                text.push_str(r#"{"type":"event","topic":""#);
                let _ = write!(text, "{}", event.topic);
                text.push_str(r#"","data":"#);
                text.push_str(std::str::from_utf8(&event.payload).unwrap_or("null"));
                text.push('}');
                Message::Text(Utf8Bytes::from(text))
            }
            _ = heartbeat.tick() => {
                if awaiting_pong {
                    tracing::debug!("WebSocket client missed a heartbeat; closing");
                    break;
                }
                awaiting_pong = true;
                Message::Ping(Default::default())
            }
        };
        if socket.send(outgoing).await.is_err() {
            break;
        }
    }
    metrics::gauge!("petty_ws_connections").decrement(1.0);
}

/// Says why and closes with 1008 (policy violation).
async fn refuse(socket: &mut WebSocket, message: &str) {
    let _ = socket.send(error_frame(ErrorCode::Unauthenticated, message, None)).await;
    let close = CloseFrame { code: 1008, reason: Utf8Bytes::from_static("not signed in") };
    let _ = socket.send(Message::Close(Some(close))).await;
}

/// Waits for `{"type":"auth","token":...}`; tells the client and closes if it does not come.
async fn first_message_auth(socket: &mut WebSocket, state: &AppState) -> Option<(Actor, Recheck)> {
    let first = tokio::time::timeout(AUTH_WAIT, socket.recv()).await;
    let token = match first {
        Ok(Some(Ok(Message::Text(text)))) => match serde_json::from_str::<Command>(&text) {
            Ok(Command::Auth { token }) => token,
            _ => {
                refuse(socket, "the first message must be {\"type\":\"auth\",\"token\":\"...\"}").await;
                return None;
            }
        },
        _ => {
            refuse(socket, "sign in within 10 seconds").await;
            return None;
        }
    };
    let mut headers = HeaderMap::new();
    let bearer = HeaderValue::from_str(&format!("Bearer {}", token.trim())).ok()?;
    headers.insert(header::AUTHORIZATION, bearer);
    match crate::auth::authenticate(state, &headers).await {
        Authentication::Authenticated(actor) if let Some(recheck) = Recheck::of(state, token.trim()) => {
            let _ = socket.send(frame(json!({"type": "authenticated"}))).await;
            Some((actor, recheck))
        }
        _ => {
            refuse(socket, "the token is not valid").await;
            None
        }
    }
}

async fn command(state: &AppState, actor: &Actor, subscriber: &mut petty_bus::Subscriber, text: &str) -> Message {
    match serde_json::from_str::<Command>(text) {
        Ok(Command::Subscribe { topic: text }) => {
            let topic = match text.parse::<Topic>() {
                Ok(topic) => topic,
                Err(e) => return error_frame(ErrorCode::ValidationFailed, &e.to_string(), Some(&text)),
            };
            if subscriber.is_subscribed(topic) {
                return frame(json!({"type": "subscribed", "topic": text}));
            }
            if subscriber.topic_count() >= MAX_TOPICS {
                return error_frame(ErrorCode::ValidationFailed, "at most 256 topics per connection", Some(&text));
            }
            match may_see(state, actor, topic).await {
                Ok(()) => {
                    subscriber.subscribe(topic);
                    frame(json!({"type": "subscribed", "topic": text}))
                }
                Err(e) => error_frame(e.code, &e.message, Some(&text)),
            }
        }
        Ok(Command::Unsubscribe { topic: text }) => {
            if let Ok(topic) = text.parse::<Topic>() {
                subscriber.unsubscribe(topic);
            }
            frame(json!({"type": "unsubscribed", "topic": text}))
        }
        Ok(Command::Ping) => frame(json!({"type": "pong"})),
        Ok(Command::Auth { .. }) => error_frame(ErrorCode::ValidationFailed, "already signed in", None),
        Err(e) => error_frame(ErrorCode::ValidationFailed, &format!("not a command Petty knows: {e}"), None),
    }
}

/// Whether the caller may hear `topic`; the same answer the REST API would give for the thing
/// the topic is about (another household's device is simply not found).
async fn may_see(state: &AppState, actor: &Actor, topic: Topic) -> Result<(), ApiError> {
    if !actor.can(Permission::Read) {
        return Err(ApiError::forbidden("your role or key scope does not allow reading"));
    }
    let not_found = || ApiError::not_found("topic subject");
    match topic {
        Topic::Device(device) => {
            if state.store.device_in_household(actor.household_id, device).await? {
                Ok(())
            } else {
                Err(not_found())
            }
        }
        Topic::Pet(pet) => state.store.get_pet(actor.household_id, pet).await.map(|_| ()).map_err(|e| match e {
            petty_store::StoreError::NotFound => not_found(),
            other => other.into(),
        }),
        Topic::HouseholdAlarms(household) if household == actor.household_id => Ok(()),
        Topic::UserEvents(user) | Topic::UserPredictions(user) | Topic::UserInsights(user)
            if Some(user) == actor.user_id() =>
        {
            Ok(())
        }
        Topic::HouseholdAlarms(_) | Topic::UserEvents(_) | Topic::UserPredictions(_) | Topic::UserInsights(_) => {
            Err(ApiError::forbidden("this topic belongs to someone else"))
        }
    }
}
