//! The WebSocket: signing in three ways, topics refused across households, readings arriving
//! live, a slow reader told what it missed, and a client that comes back catching up from its
//! cursor.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::harness::{TestApp, spawn_app};

pub(crate) type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

pub(crate) async fn open(app: &TestApp, bearer: Option<&str>) -> Socket {
    let host = app.address.trim_start_matches("http://");
    let mut request = format!("ws://{host}/api/v1/ws").into_client_request().unwrap();
    if let Some(token) = bearer {
        request.headers_mut().insert("authorization", format!("Bearer {token}").parse().unwrap());
    }
    tokio_tungstenite::connect_async(request).await.expect("websocket").0
}

pub(crate) async fn send(socket: &mut Socket, value: Value) {
    socket.send(Message::Text(value.to_string().into())).await.unwrap();
}

/// The next JSON message, skipping pings.
pub(crate) async fn next(socket: &mut Socket) -> Value {
    loop {
        let message = tokio::time::timeout(Duration::from_secs(5), socket.next()).await.expect("a message in time");
        match message.expect("open").expect("frame") {
            Message::Text(text) => return serde_json::from_str(&text).unwrap(),
            Message::Close(_) => return json!({"type": "closed"}),
            _ => continue,
        }
    }
}

async fn device(app: &TestApp, token: &str) -> (String, String) {
    let res = app.post_json("/api/v1/devices", &json!({"name": "collar", "kind": "collar"}), Some(token)).await;
    let body: Value = res.json().await.unwrap();
    (body["device"]["id"].as_str().unwrap().to_owned(), body["token"].as_str().unwrap().to_owned())
}

fn now_ms() -> i64 {
    (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

#[tokio::test]
async fn readings_arrive_live_on_the_device_topic_and_other_households_are_refused() {
    let app = spawn_app().await;
    let ana = app.register("Ana").await;
    let bo = app.register("Bo").await;
    let (id, device_token) = device(&app, &ana.access_token).await;
    let topic = format!("device:{id}");

    let mut socket = open(&app, Some(&ana.access_token)).await;
    send(&mut socket, json!({"type": "subscribe", "topic": topic})).await;
    assert_eq!(next(&mut socket).await, json!({"type": "subscribed", "topic": topic}));

    let mut intruder = open(&app, Some(&bo.access_token)).await;
    send(&mut intruder, json!({"type": "subscribe", "topic": topic})).await;
    let refused = next(&mut intruder).await;
    assert_eq!((refused["type"].as_str(), refused["code"].as_str()), (Some("error"), Some("not_found")), "{refused}");
    send(&mut intruder, json!({"type": "subscribe", "topic": format!("household:{}:alarms", ana.household_id)})).await;
    assert_eq!(next(&mut intruder).await["code"], "forbidden");

    let ts = now_ms();
    let res = app.post_json("/api/v1/ingest", &json!({"ts": ts, "heart_rate": 101}), Some(&device_token)).await;
    assert_eq!(res.status(), 201);
    let event = next(&mut socket).await;
    assert_eq!((event["type"].as_str(), event["topic"].as_str()), (Some("event"), Some(topic.as_str())));
    assert_eq!(event["data"]["heart_rate"], 101.0);
    // A duplicate is not news.
    app.post_json("/api/v1/ingest", &json!({"ts": ts, "heart_rate": 101}), Some(&device_token)).await;
    send(&mut socket, json!({"type": "ping"})).await;
    assert_eq!(next(&mut socket).await, json!({"type": "pong"}));

    send(&mut socket, json!({"type": "unsubscribe", "topic": topic})).await;
    assert_eq!(next(&mut socket).await["type"], "unsubscribed");
    app.post_json("/api/v1/ingest", &json!({"ts": ts + 1, "heart_rate": 102}), Some(&device_token)).await;
    send(&mut socket, json!({"type": "ping"})).await;
    assert_eq!(next(&mut socket).await, json!({"type": "pong"}), "nothing after unsubscribing");
}

#[tokio::test]
async fn a_client_without_headers_signs_in_with_its_first_message() {
    let app = spawn_app().await;
    let ana = app.register("Ana").await;
    let mut socket = open(&app, None).await;
    send(&mut socket, json!({"type": "auth", "token": ana.access_token})).await;
    assert_eq!(next(&mut socket).await, json!({"type": "authenticated"}));
    send(&mut socket, json!({"type": "subscribe", "topic": format!("household:{}:alarms", ana.household_id)})).await;
    assert_eq!(next(&mut socket).await["type"], "subscribed");

    let mut stranger = open(&app, None).await;
    send(&mut stranger, json!({"type": "subscribe", "topic": "device:x"})).await;
    let refused = next(&mut stranger).await;
    assert_eq!(refused["code"], "unauthenticated", "{refused}");
    assert_eq!(next(&mut stranger).await["type"], "closed");

    let res = app.client.get(app.url("/api/v1/ws")).bearer_auth("not-a-token").send().await.unwrap();
    assert_eq!(res.status(), 401);
}

#[tokio::test]
async fn a_reader_that_falls_behind_is_told_how_many_events_it_missed() {
    let app = spawn_app().await;
    let ana = app.register("Ana").await;
    let (id, device_token) = device(&app, &ana.access_token).await;
    let mut socket = open(&app, Some(&ana.access_token)).await;
    send(&mut socket, json!({"type": "subscribe", "topic": format!("device:{id}")})).await;
    assert_eq!(next(&mut socket).await["type"], "subscribed");
    // 2,000 readings at once, far more than the connection's queue of 256, before reading any.
    let t = now_ms() - 60_000;
    let readings: Vec<Value> = (0..2000).map(|i| json!({"ts": t + i, "heart_rate": 80})).collect();
    let res = app.post_json("/api/v1/ingest", &json!({"readings": readings}), Some(&device_token)).await;
    assert_eq!(res.status(), 200);
    let (mut events, mut dropped) = (0u64, 0u64);
    while events + dropped < 2000 {
        let message = next(&mut socket).await;
        match message["type"].as_str() {
            Some("event") => events += 1,
            Some("dropped") => dropped += message["count"].as_u64().unwrap(),
            other => panic!("unexpected {other:?}: {message}"),
        }
    }
    assert_eq!(events + dropped, 2000, "every event is either delivered or counted as dropped");
    assert!(dropped > 0 && events <= 2000, "events {events}, dropped {dropped}");
}

#[tokio::test]
async fn a_client_that_comes_back_catches_up_from_the_last_reading_it_saw() {
    let app = spawn_app().await;
    let ana = app.register("Ana").await;
    let (id, device_token) = device(&app, &ana.access_token).await;
    let topic = format!("device:{id}");
    let ingest = |seq: i64| {
        let (app, token) = (&app, device_token.clone());
        async move {
            let reading = json!({"ts": now_ms(), "seq": seq, "heart_rate": 90 + seq});
            assert_eq!(app.post_json("/api/v1/ingest", &reading, Some(&token)).await.status(), 201);
        }
    };

    let mut socket = open(&app, Some(&ana.access_token)).await;
    send(&mut socket, json!({"type": "subscribe", "topic": topic})).await;
    assert_eq!(next(&mut socket).await["type"], "subscribed");
    ingest(1).await;
    let seen = next(&mut socket).await;
    assert_eq!(seen["data"]["seq"], 1, "{seen}");
    let cursor = seen["data"]["received_at"].as_str().unwrap().to_owned();
    drop(socket);

    // Away: two readings arrive.
    ingest(2).await;
    ingest(3).await;
    let mut socket = open(&app, Some(&ana.access_token)).await;
    send(&mut socket, json!({"type": "subscribe", "topic": topic, "resume_after": cursor})).await;
    let mut replayed = Vec::new();
    let subscribed = loop {
        let message = next(&mut socket).await;
        match message["type"].as_str() {
            Some("event") => {
                assert_eq!(
                    (message["topic"].as_str(), message["replay"].as_bool()),
                    (Some(topic.as_str()), Some(true))
                );
                replayed.push(message["data"]["seq"].as_i64().unwrap());
            }
            _ => break message,
        }
    };
    assert_eq!(subscribed["type"], "subscribed", "{subscribed}");
    assert_eq!(subscribed["replayed"], replayed.len());
    // The one seen before the cursor may come again (a minute of slack); the missed ones do.
    assert!(replayed.ends_with(&[2, 3]), "{replayed:?}");
    // Then live.
    ingest(4).await;
    let live = next(&mut socket).await;
    assert_eq!((live["data"]["seq"].as_i64(), live.get("replay")), (Some(4), None), "{live}");

    // A cursor that is not a time is refused, naming the field; nothing is subscribed.
    let other = format!("household:{}:alarms", ana.household_id);
    send(&mut socket, json!({"type": "subscribe", "topic": other, "resume_after": "yesterday"})).await;
    let refused = next(&mut socket).await;
    assert_eq!((refused["type"].as_str(), refused["code"].as_str()), (Some("error"), Some("validation_failed")));
    assert!(refused["message"].as_str().unwrap().contains("resume_after"), "{refused}");
    // Topics other than a device's are not replayed, and the client is told so.
    send(&mut socket, json!({"type": "subscribe", "topic": other, "resume_after": cursor})).await;
    let gap = next(&mut socket).await;
    assert_eq!((gap["type"].as_str(), gap["topic"].as_str()), (Some("gap"), Some(other.as_str())), "{gap}");
    assert_eq!(next(&mut socket).await["type"], "subscribed");
    // Nor is a cursor from long ago.
    send(&mut socket, json!({"type": "subscribe", "topic": topic, "resume_after": "2020-01-01T00:00:00Z"})).await;
    let gap = next(&mut socket).await;
    assert_eq!(gap["type"], "gap", "{gap}");
    assert!(gap["message"].as_str().unwrap().contains("10 minutes"), "{gap}");
    assert_eq!(next(&mut socket).await["type"], "subscribed");
}
