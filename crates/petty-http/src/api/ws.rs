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
//! **Catching up** (several nodes, or any reconnection): `{"type":"gap","message"}` says events
//! on this connection's topics may have been lost between nodes (a node or a NATS server went
//! away). A client that was told of a gap or a drop, or that connects again after losing its
//! connection, sends `{"type":"subscribe","topic":"device:<id>","resume_after":"<received_at of
//! the last reading it saw>"}`: Petty subscribes it, sends the readings stored since as events
//! marked `"replay":true` (from up to a minute before the cursor, so some may repeat: a reading
//! is its `ts` and `seq`), then `{"type":"subscribed","topic","replayed":N}`, then live events.
//! A cursor older than 10 minutes, more than 2,000 readings since, and topics other than a
//! device's are not replayed: the answer is `{"type":"gap","topic","message"}` (reload through
//! the REST API), then `subscribed`. Readings that arrived more than an hour after their own
//! time (backfills) are not replayed.
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
use petty_app::readings::Replay;
use petty_bus::Topic;
use petty_core::accounts::{Actor, Permission};
use serde::Deserialize;
use serde_json::json;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

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
pub const RECHECK: Duration = Duration::from_secs(1);

/// What a live connection signed in with, to check again while it is open (every [`RECHECK`]),
/// so that a sign-out, a password change, a removal from the household or a revoked key ends
/// it at once. Petty's WebSocket and the AURORA profile's use the same.
pub enum Recheck {
    /// An access token issued at this time, from this sign-in.
    Token {
        issued: crate::auth::Issued,
    },
    ApiKey(String),
    /// The dashboard's session cookie.
    Cookie(HeaderMap),
}

impl Recheck {
    /// For a bearer token or API key that authenticated the connection.
    pub fn of(state: &AppState, token: &str) -> Option<Self> {
        if token.starts_with("pk_") {
            return Some(Recheck::ApiKey(token.to_owned()));
        }
        state.keys.verify_access_token(token).ok().map(|(_, issued)| Recheck::Token { issued })
    }

    /// Whether the credential still stands for `actor`.
    async fn holds(&self, state: &AppState, actor: &Actor) -> Result<(), ApiError> {
        match self {
            Recheck::Token { issued } => crate::auth::check_standing(state, *actor, *issued).await,
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

    /// Why the credential no longer stands for `actor`, once it does not; `None` while it holds
    /// and while it cannot be told (a database that does not answer is not a revocation).
    pub async fn revoked(&self, state: &AppState, actor: &Actor) -> Option<ApiError> {
        match self.holds(state, actor).await {
            Ok(()) => None,
            Err(e) if e.code == ErrorCode::Internal || e.code == ErrorCode::Unavailable => None,
            Err(e) => Some(e),
        }
    }
}

/// Live events over a WebSocket (see the module documentation in `ws.rs` and the README): the
/// messages each side sends are the schemas `WsClientMessage` and `WsServerMessage`, named
/// under `x-websocket-messages`. Sign in with a header, the dashboard's cookie, or a first
/// message `{"type":"auth","token":"..."}`.
#[utoipa::path(get, path = "/api/v1/ws", tag = "websocket",
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
#[schema(as = WsClientMessage, examples(
    json!({"type": "auth", "token": "eyJhbGciOi..."}),
    json!({"type": "subscribe", "topic": "device:0190a6f2-8b3c-7def-8123-456789abcdef"}),
    json!({"type": "subscribe", "topic": "device:0190a6f2-8b3c-7def-8123-456789abcdef", "resume_after": "2025-08-18T14:30:00Z"}),
    json!({"type": "unsubscribe", "topic": "household:0190a6f2-8b3c-7def-8123-456789abcdef:alarms"}),
    json!({"type": "ping"}),
))]
pub(crate) enum Command {
    Auth {
        token: String,
    },
    Subscribe {
        topic: String,
        /// The `received_at` of the last reading the client saw (RFC 3339): replay from there.
        #[serde(default)]
        resume_after: Option<String>,
    },
    Unsubscribe {
        topic: String,
    },
    Ping,
}

fn frame(value: serde_json::Value) -> Message {
    Message::Text(Utf8Bytes::from(value.to_string()))
}

fn error_frame(code: ErrorCode, message: &str, topic: Option<&str>) -> Message {
    frame(json!({"type": "error", "code": code.as_str(), "message": message, "topic": topic}))
}

/// `{"type":"event","topic":...,"data":...}` around a payload that is JSON already (a replayed
/// one says so).
fn event_frame(topic: Topic, payload: &[u8], replay: bool) -> Message {
    // A topic's text is letters, digits, '-' and ':': nothing to escape.
    let mut text = String::with_capacity(payload.len() + 100);
    text.push_str(r#"{"type":"event","topic":""#);
    let _ = write!(text, "{topic}");
    text.push_str(if replay { r#"","replay":true,"data":"# } else { r#"","data":"# });
    text.push_str(std::str::from_utf8(payload).unwrap_or("null"));
    text.push('}');
    Message::Text(Utf8Bytes::from(text))
}

const GAP_MESSAGE: &str = "events on your topics may have been lost between Petty's nodes; \
    subscribe again with resume_after to catch up";

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
                match recheck.revoked(&state, &actor).await {
                    None => continue,
                    Some(e) => {
                        tracing::debug!(reason = %e.message, "WebSocket credential revoked; closing");
                        let _ = socket.send(error_frame(e.code, &e.message, None)).await;
                        let close = CloseFrame { code: 1008, reason: Utf8Bytes::from_static("access revoked") };
                        let _ = socket.send(Message::Close(Some(close))).await;
                        break;
                    }
                }
            }
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Text(text))) => {
                    let mut answers = command(&state, &actor, &mut subscriber, &text).await;
                    let Some(last) = answers.pop() else { continue };
                    let mut sent = true;
                    for answer in answers {
                        if socket.send(answer).await.is_err() {
                            sent = false;
                            break;
                        }
                    }
                    if !sent {
                        break;
                    }
                    last
                }
                Some(Ok(Message::Pong(_))) => {
                    awaiting_pong = false;
                    continue;
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(_)) => continue,
            },
            delivery = subscriber.next() => match delivery {
                Some(petty_bus::Delivery::Event(event)) => {
                    let dropped = subscriber.take_dropped();
                    if dropped > 0 && socket.send(frame(json!({"type": "dropped", "count": dropped}))).await.is_err() {
                        break;
                    }
                    event_frame(event.topic, &event.payload, false)
                }
                Some(petty_bus::Delivery::Gap) => frame(json!({"type": "gap", "message": GAP_MESSAGE})),
                None => break,
            },
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

/// Answers a client's message: one frame, or (a resumed subscription) the replay before it.
/// A client's text frame, decoded and checked without any state.
pub(crate) enum Decoded {
    Subscribe { topic: Topic, text: String, after: Option<OffsetDateTime> },
    Unsubscribe { text: String },
    Ping,
    Auth,
}

/// Decodes a client's text frame: the command, its topic and its resume cursor; a refusal names
/// the topic it was about, if any.
pub(crate) fn decode(text: &str) -> Result<Decoded, (String, Option<String>)> {
    match serde_json::from_str::<Command>(text) {
        Ok(Command::Subscribe { topic: text, resume_after }) => {
            let topic = match text.parse::<Topic>() {
                Ok(topic) => topic,
                Err(e) => return Err((e.to_string(), Some(text))),
            };
            match resume_after.as_deref().map(parse_cursor).transpose() {
                Ok(after) => Ok(Decoded::Subscribe { topic, text, after }),
                Err(message) => Err((message.to_owned(), Some(text))),
            }
        }
        Ok(Command::Unsubscribe { topic }) => Ok(Decoded::Unsubscribe { text: topic }),
        Ok(Command::Ping) => Ok(Decoded::Ping),
        Ok(Command::Auth { .. }) => Ok(Decoded::Auth),
        Err(e) => Err((format!("not a command Petty knows: {e}"), None)),
    }
}

/// Checks a client's WebSocket text frame as a session would before acting on it (for the fuzz
/// target `fuzz/fuzz_targets/live_messages.rs`): the refusal's message, if refused.
pub fn check_client_message(text: &str) -> Result<(), String> {
    decode(text).map(|_| ()).map_err(|(message, _)| message)
}

async fn command(state: &AppState, actor: &Actor, subscriber: &mut petty_bus::Subscriber, text: &str) -> Vec<Message> {
    match decode(text) {
        Ok(Decoded::Subscribe { topic, text, after }) => {
            if !subscriber.is_subscribed(topic) {
                if subscriber.topic_count() >= MAX_TOPICS {
                    return vec![error_frame(
                        ErrorCode::ValidationFailed,
                        "at most 256 topics per connection",
                        Some(&text),
                    )];
                }
                if let Err(e) = may_see(state, actor, topic).await {
                    return vec![error_frame(e.code, &e.message, Some(&text))];
                }
                // Live first, then the replay: nothing falls between the two.
                subscriber.subscribe(topic);
            }
            match after {
                None => vec![frame(json!({"type": "subscribed", "topic": text}))],
                Some(after) => replay(state, actor, topic, &text, after).await,
            }
        }
        Ok(Decoded::Unsubscribe { text }) => {
            if let Ok(topic) = text.parse::<Topic>() {
                subscriber.unsubscribe(topic);
            }
            vec![frame(json!({"type": "unsubscribed", "topic": text}))]
        }
        Ok(Decoded::Ping) => vec![frame(json!({"type": "pong"}))],
        Ok(Decoded::Auth) => vec![error_frame(ErrorCode::ValidationFailed, "already signed in", None)],
        Err((message, topic)) => vec![error_frame(ErrorCode::ValidationFailed, &message, topic.as_deref())],
    }
}

/// A `resume_after` value: the RFC 3339 `received_at` of a reading.
fn parse_cursor(text: &str) -> Result<OffsetDateTime, &'static str> {
    OffsetDateTime::parse(text.trim(), &Rfc3339)
        .map_err(|_| "resume_after must be the received_at (RFC 3339) of the last reading you saw")
}

/// The readings a resumed subscription missed, then `subscribed`; or a gap, when they are not
/// replayed.
async fn replay(state: &AppState, actor: &Actor, topic: Topic, text: &str, after: OffsetDateTime) -> Vec<Message> {
    let subscribed =
        |replayed: Option<usize>| frame(json!({"type": "subscribed", "topic": text, "replayed": replayed}));
    let gap = |message: &str| frame(json!({"type": "gap", "topic": text, "message": message}));
    let Topic::Device(device) = topic else {
        return vec![
            gap("only device topics are replayed; read what you missed through the REST API"),
            subscribed(None),
        ];
    };
    let replay = match state.app.replay_readings(actor.household_id, device, after).await {
        Ok(replay) => replay,
        Err(e) => {
            tracing::warn!(error = %e, "could not replay readings to a WebSocket");
            return vec![
                gap("the readings since resume_after could not be read; read them through the REST API"),
                subscribed(None),
            ];
        }
    };
    match replay {
        Replay::Readings(readings) => {
            let mut out = Vec::with_capacity(readings.len() + 1);
            for reading in &readings {
                if let Ok(payload) = serde_json::to_vec(reading) {
                    out.push(event_frame(topic, &payload, true));
                }
            }
            out.push(subscribed(Some(readings.len())));
            out
        }
        Replay::TooOld => vec![
            gap("resume_after is more than 10 minutes ago; read what you missed through the REST API"),
            subscribed(None),
        ],
        Replay::TooMany => vec![
            gap("more than 2000 readings arrived since resume_after; read them through the REST API"),
            subscribed(None),
        ],
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
