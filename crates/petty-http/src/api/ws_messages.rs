//! The WebSocket's messages from Petty to the client, as schemas for the OpenAPI document
//! (`components.schemas.WsServerMessage`, named by `GET /api/v1/ws` under
//! `x-websocket-messages`), so a client author can generate them. The client's commands are
//! `ws::Command` itself (`WsClientMessage`).
//!
//! These types describe what `ws.rs` writes; they are not what writes it. The WebSocket test in
//! `crates/petty/tests/api/openapi.rs` checks every message a session receives against this
//! schema, so a message added to `ws.rs` must be added here too.

use serde::Serialize;
use utoipa::ToSchema;

/// A message from Petty on the WebSocket, told apart by `type`.
#[derive(Serialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
#[schema(as = WsServerMessage, examples(
    json!({"type": "authenticated"}),
    json!({"type": "subscribed", "topic": "device:0190a6f2-8b3c-7def-8123-456789abcdef", "replayed": 3}),
    json!({"type": "event", "topic": "device:0190a6f2-8b3c-7def-8123-456789abcdef",
           "data": {"device_id": "0190a6f2-8b3c-7def-8123-456789abcdef", "ts": "2025-08-18T14:30:00Z", "heart_rate": 88}}),
    json!({"type": "pong"}),
    json!({"type": "dropped", "count": 12}),
    json!({"type": "gap", "topic": null, "message": "events on your topics may have been lost between Petty's nodes; subscribe again with resume_after to catch up"}),
    json!({"type": "error", "code": "forbidden", "message": "you may not subscribe to this topic", "topic": "device:0190a6f2-8b3c-7def-8123-456789abcdef"}),
))]
#[allow(dead_code)] // A schema only: see the module's documentation.
pub(crate) enum ServerMessage {
    /// The first-message sign-in (`{"type":"auth","token":...}`) worked.
    Authenticated,
    /// The topic is subscribed (also when it already was). After a `subscribe` with
    /// `resume_after`, `replayed` counts the stored readings sent before it (each an `event` with
    /// `"replay": true`).
    Subscribed { topic: String, replayed: Option<u64> },
    /// The topic is no longer subscribed.
    Unsubscribed { topic: String },
    /// Something published on a subscribed topic: a reading on `device:{id}`, an alarm or a
    /// liveness event on `household:{id}:alarms`, an episode or an anomaly on `pet:{id}`.
    Event {
        topic: String,
        /// Present and true on a stored reading replayed after `resume_after`; a replay starts up
        /// to a minute before the cursor, so a client may see a reading again (the same `ts` and
        /// `seq`).
        replay: Option<bool>,
        /// The event as the REST API shows the same thing (a reading as `ReadingOut`, an alarm
        /// as `AlarmOut`, ...).
        #[schema(value_type = Object)]
        data: serde_json::Value,
    },
    /// The answer to `{"type":"ping"}`.
    Pong,
    /// The client read too slowly and `count` events were dropped for it.
    Dropped { count: u64 },
    /// Events may have been lost between nodes (a message missing in a node's numbering, a node
    /// gone quiet, this node's NATS link back after a break), or a `resume_after` could not be
    /// honoured for `topic` (not a device topic, a cursor too old, too many readings): catch up
    /// by subscribing again with `resume_after`, or through the REST API.
    Gap {
        /// The topic the notice is about; absent when it may concern every subscribed topic.
        topic: Option<String>,
        message: String,
    },
    /// A command was refused, or the connection's credential was revoked (then the socket
    /// closes with 1008). `code` is one of the API's error codes.
    Error {
        code: String,
        message: String,
        /// The topic the refused command named, if it named one.
        topic: Option<String>,
    },
}
