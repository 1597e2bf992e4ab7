//! The contract's WebSocket on `/compat/aurora/ws/{user_id}?token=` (upstream's route, never
//! mounted there) and `/compat/aurora/api/v1/ws?token=`: Petty's bus with AURORA's messages.
//!
//! The upgrade is always accepted; without a token the socket is closed with 1008 "Missing
//! authentication token", with a bad one (or a `{user_id}` that is not the token's person) with
//! 1008 "Invalid authentication token", so that a browser can read why. Then `connected`, and
//! the person's three topics (`user:{id}:events`, `:predictions`, `:insights`) are subscribed;
//! `system:announcements` can be (nobody sends on it: Petty has no server administrator).
//! Client messages: `ping` → `pong` with its `timestamp`; `subscribe` replaces the set with the
//! channels the person may hear (the others come back as `rejected`); `unsubscribe` removes;
//! any other JSON is echoed; anything else is an `error` and the socket stays open. What the
//! application publishes on a subscribed topic (`{"type", "data"}`) arrives as `{type, channel,
//! data, timestamp}`. A heartbeat message and a ping frame go out every 30 seconds; a client that
//! answers no ping for 90 seconds is closed with 1001. The credential is checked again every
//! second, as on Petty's own WebSocket (`petty_http::live::Recheck`), so a sign-out, a password
//! change or a removal closes the socket at once with 1008.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use petty_bus::Topic;
use petty_core::accounts::Actor;
use petty_core::ids::UserId;
use petty_http::AppState;
use petty_http::auth::Authentication;
use petty_http::live::{RECHECK, Recheck};
use serde_json::{Value, json};
use time::OffsetDateTime;

use super::wire::Params;
use super::{Fail, ts};

/// Undelivered events a connection may hold before they are dropped for it.
const QUEUE: usize = 256;
const HEARTBEAT: Duration = Duration::from_secs(30);
/// A client that answered no ping for this long is gone.
const SILENCE: Duration = Duration::from_secs(90);
const ANNOUNCEMENTS: &str = "system:announcements";

/// `GET /compat/aurora/api/v1/ws?token=`.
pub(super) async fn connect(
    State(state): State<AppState>,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
    uri: Uri,
) -> Response {
    upgrade(state, ws, &uri, None)
}

/// `GET /compat/aurora/ws/{user_id}?token=`.
pub(super) async fn connect_as(
    State(state): State<AppState>,
    Path(user_id): Path<String>,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
    uri: Uri,
) -> Response {
    upgrade(state, ws, &uri, Some(user_id))
}

fn upgrade(
    state: AppState,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
    uri: &Uri,
    named: Option<String>,
) -> Response {
    let Ok(ws) = ws else {
        return Fail::new(StatusCode::BAD_REQUEST, json!("This address speaks WebSocket only")).into_response();
    };
    let token = Params::of(uri).text("token").map(str::trim).filter(|t| !t.is_empty()).map(str::to_owned);
    ws.read_buffer_size(4 * 1024)
        .write_buffer_size(4 * 1024)
        .max_message_size(64 * 1024)
        .on_upgrade(move |socket| session(socket, state, token, named))
}

/// The person a token stands for, with what to check again while the socket is open.
async fn person_of(state: &AppState, token: &str, named: Option<&str>) -> Option<(Actor, UserId, Recheck)> {
    let mut headers = HeaderMap::new();
    headers.insert(header::AUTHORIZATION, HeaderValue::from_str(&format!("Bearer {token}")).ok()?);
    let Authentication::Authenticated(actor) = petty_http::auth::authenticate(state, &headers).await else {
        return None;
    };
    let user_id = actor.user_id()?;
    if named.is_some_and(|n| !uuid::Uuid::parse_str(n.trim()).is_ok_and(|id| id == user_id.0)) {
        return None;
    }
    Some((actor, user_id, Recheck::of(state, token)?))
}

fn frame(value: Value) -> Message {
    Message::Text(Utf8Bytes::from(value.to_string()))
}

fn close(code: u16, reason: &'static str) -> Message {
    Message::Close(Some(CloseFrame { code, reason: Utf8Bytes::from_static(reason) }))
}

fn now_text() -> String {
    ts(OffsetDateTime::now_utc())
}

/// The channels a person may hear, by name.
fn own_channels(user_id: UserId) -> [(String, Option<Topic>); 4] {
    let topic = |t: Topic| (t.to_string(), Some(t));
    [
        topic(Topic::UserEvents(user_id)),
        topic(Topic::UserPredictions(user_id)),
        topic(Topic::UserInsights(user_id)),
        (ANNOUNCEMENTS.to_owned(), None),
    ]
}

/// The names in a client's `channels` list (anything else in it is not a name).
fn names(message: &Value) -> Vec<String> {
    message["channels"]
        .as_array()
        .map(|l| l.iter().filter_map(Value::as_str).map(str::to_owned).collect())
        .unwrap_or_default()
}

/// What a subscriber hears: its channels and the bus topics behind them.
struct Channels {
    user_id: UserId,
    names: BTreeSet<String>,
}

impl Channels {
    fn topic(&self, name: &str) -> Option<Option<Topic>> {
        own_channels(self.user_id).into_iter().find(|(n, _)| n == name).map(|(_, t)| t)
    }

    /// Replaces the set with the names the person may hear; answers `subscribed`.
    fn subscribe(&mut self, bus: &mut petty_bus::Subscriber, asked: Vec<String>) -> Value {
        let (mut accepted, mut rejected) = (Vec::new(), Vec::new());
        for name in asked {
            if self.topic(&name).is_some() {
                if !accepted.contains(&name) {
                    accepted.push(name);
                }
            } else {
                rejected.push(name);
            }
        }
        for (name, topic) in own_channels(self.user_id) {
            let wanted = accepted.contains(&name);
            if let Some(topic) = topic {
                if wanted { bus.subscribe(topic) } else { bus.unsubscribe(topic) }
            }
        }
        self.names = accepted.iter().cloned().collect();
        json!({"type": "subscribed", "channels": accepted, "rejected": rejected})
    }

    /// Removes the names given; answers `unsubscribed` with those that were subscribed.
    fn unsubscribe(&mut self, bus: &mut petty_bus::Subscriber, asked: Vec<String>) -> Value {
        let mut removed = Vec::new();
        for name in asked {
            if self.names.remove(&name) {
                if let Some(Some(topic)) = self.topic(&name) {
                    bus.unsubscribe(topic);
                }
                removed.push(name);
            }
        }
        json!({"type": "unsubscribed", "channels": removed})
    }
}

/// The answer to a client's text frame.
fn answer(text: &str, channels: &mut Channels, bus: &mut petty_bus::Subscriber) -> Value {
    let Ok(message) = serde_json::from_str::<Value>(text) else {
        return json!({"type": "error", "message": "Invalid JSON"});
    };
    match message["type"].as_str() {
        Some("ping") => json!({"type": "pong", "timestamp": message.get("timestamp").cloned().unwrap_or(Value::Null)}),
        Some("subscribe") => channels.subscribe(bus, names(&message)),
        Some("unsubscribe") => channels.unsubscribe(bus, names(&message)),
        _ => json!({"type": "echo", "data": message}),
    }
}

/// A bus message as the contract frames it: the payload's `type` and `data` on its channel.
fn pushed(topic: Topic, payload: &[u8]) -> Value {
    let payload: Value = serde_json::from_slice(payload).unwrap_or(Value::Null);
    let (kind, data) = match payload["type"].as_str() {
        Some(kind) => (kind.to_owned(), payload.get("data").cloned().unwrap_or(Value::Null)),
        None => ("event".to_owned(), payload),
    };
    json!({"type": kind, "channel": topic.to_string(), "data": data, "timestamp": now_text()})
}

async fn session(mut socket: WebSocket, state: AppState, token: Option<String>, named: Option<String>) {
    let Some(token) = token else {
        let _ = socket.send(close(1008, "Missing authentication token")).await;
        return;
    };
    let Some((actor, user_id, recheck)) = person_of(&state, &token, named.as_deref()).await else {
        let _ = socket.send(close(1008, "Invalid authentication token")).await;
        return;
    };
    let mut bus = state.bus.subscriber(QUEUE);
    let mut channels = Channels { user_id, names: BTreeSet::new() };
    let every: Vec<String> = own_channels(user_id).into_iter().map(|(n, _)| n).collect();
    channels.subscribe(&mut bus, every.clone());
    let hello = json!({
        "type": "connected",
        "message": "Welcome to AURORA_LIFE real-time updates",
        "channels": every,
    });
    if socket.send(frame(hello)).await.is_err() {
        return;
    }
    let mut heartbeat = tokio::time::interval_at(tokio::time::Instant::now() + HEARTBEAT, HEARTBEAT);
    let mut recheck_tick = tokio::time::interval_at(tokio::time::Instant::now() + RECHECK, RECHECK);
    recheck_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_pong = Instant::now();
    loop {
        let outgoing = tokio::select! {
            _ = recheck_tick.tick() => match recheck.revoked(&state, &actor).await {
                None => continue,
                Some(e) => {
                    tracing::debug!(reason = %e.message, "compat/aurora: WebSocket credential revoked; closing");
                    let _ = socket.send(frame(json!({"type": "error", "message": "Access revoked"}))).await;
                    let _ = socket.send(close(1008, "Access revoked")).await;
                    break;
                }
            },
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Text(text))) => frame(answer(&text, &mut channels, &mut bus)),
                Some(Ok(Message::Binary(_))) => frame(json!({"type": "error", "message": "Invalid JSON"})),
                Some(Ok(Message::Pong(_))) => {
                    last_pong = Instant::now();
                    continue;
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(_)) => continue,
            },
            delivery = bus.next() => match delivery {
                Some(petty_bus::Delivery::Event(event)) => frame(pushed(event.topic, &event.payload)),
                Some(petty_bus::Delivery::Gap) => frame(json!({
                    "type": "error",
                    "message": "Some updates may have been lost between servers; read the latest through the API",
                })),
                None => break,
            },
            _ = heartbeat.tick() => {
                if last_pong.elapsed() > SILENCE {
                    tracing::debug!("compat/aurora: WebSocket client answered no ping; closing");
                    let _ = socket.send(close(1001, "No heartbeat")).await;
                    break;
                }
                if socket.send(Message::Ping(Default::default())).await.is_err() {
                    break;
                }
                frame(json!({"type": "heartbeat", "timestamp": now_text()}))
            }
        };
        if socket.send(outgoing).await.is_err() {
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subscriptions_keep_only_the_persons_own_channels() {
        let bus = petty_bus::Bus::local();
        let mut sub = bus.subscriber(4);
        let me = UserId::new();
        let mut channels = Channels { user_id: me, names: BTreeSet::new() };
        let mine = format!("user:{me}:events");
        let theirs = format!("user:{}:events", UserId::new());
        let text = json!({"type": "subscribe", "channels": [mine, theirs, ANNOUNCEMENTS]}).to_string();
        let got = answer(&text, &mut channels, &mut sub);
        assert_eq!(got, json!({"type": "subscribed", "channels": [mine, ANNOUNCEMENTS], "rejected": [theirs]}));
        assert!(sub.is_subscribed(Topic::UserEvents(me)));
        assert!(!sub.is_subscribed(Topic::UserInsights(me)), "the set is replaced");
        let text = json!({"type": "unsubscribe", "channels": [mine]}).to_string();
        assert_eq!(answer(&text, &mut channels, &mut sub), json!({"type": "unsubscribed", "channels": [mine]}));
        assert!(!sub.is_subscribed(Topic::UserEvents(me)));
        assert_eq!(
            answer("{\"type\": \"ping\", \"timestamp\": 7}", &mut channels, &mut sub),
            json!({"type": "pong", "timestamp": 7})
        );
        assert_eq!(answer("[1]", &mut channels, &mut sub), json!({"type": "echo", "data": [1]}));
        assert_eq!(answer("nope", &mut channels, &mut sub), json!({"type": "error", "message": "Invalid JSON"}));
    }

    #[test]
    fn published_payloads_become_the_contracts_frames() {
        let me = UserId::new();
        let framed = pushed(Topic::UserEvents(me), br#"{"type": "event_deleted", "data": {"id": "x"}}"#);
        assert_eq!(framed["type"], "event_deleted");
        assert_eq!(framed["channel"], format!("user:{me}:events"));
        assert_eq!(framed["data"], json!({"id": "x"}));
        assert!(framed["timestamp"].as_str().is_some_and(|t| t.ends_with('Z')));
    }
}
