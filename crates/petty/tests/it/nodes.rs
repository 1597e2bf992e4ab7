//! Two nodes on one PostgreSQL database and one NATS server: a reading ingested on node A
//! reaches a WebSocket on node B. Needs `PETTY_TEST_POSTGRES_URL` and NATS on 127.0.0.1:4222
//! (CI provides both); skipped, and says so, otherwise.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use super::{PgDatabase, Server, http_client, petty, sign_up, start, temp_dir};

fn nats_up() -> bool {
    if std::net::TcpStream::connect("127.0.0.1:4222").is_ok() {
        return true;
    }
    assert!(std::env::var("CI").map_or(true, |v| v.is_empty()), "CI needs NATS on 127.0.0.1:4222");
    eprintln!("skipped: events across nodes (no NATS on 127.0.0.1:4222)");
    false
}

fn node(name: &str, database_url: &str) -> Server {
    let dir = temp_dir(name);
    let mut cmd = petty(&dir);
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--nats-url", "nats://127.0.0.1:4222"])
        .env("PETTY_DATABASE_URL", database_url)
        // Every node signs and checks tokens with the same secret.
        .env("PETTY_AUTH__JWT_SECRET", "a-test-secret-shared-by-both-nodes-0123456789abcdef");
    start(cmd)
}

async fn next_json(
    socket: &mut (impl StreamExt<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin),
) -> Value {
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(10), socket.next()).await.expect("a message in time");
        if let Message::Text(text) = frame.expect("open").expect("frame") {
            let message: Value = serde_json::from_str(&text).unwrap();
            // Another test's node on the shared NATS server may have stopped without a
            // goodbye: every node then tells its clients of a possible gap. Not this test's.
            if message["type"] != "gap" {
                return message;
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reading_ingested_on_one_node_reaches_a_websocket_on_another() {
    if !nats_up() {
        return;
    }
    let Some(db) = PgDatabase::create() else { return };
    let a = node("node-a", &db.url());
    let b = node("node-b", &db.url());
    let http = http_client();
    let register =
        json!({"email": "nodes@example.org", "password": "correct horse battery staple", "display_name": "N"});
    let access = sign_up(&http, &a, &register).await["access_token"].as_str().unwrap().to_owned();
    let res = http
        .post(a.url("/api/v1/devices"))
        .bearer_auth(&access)
        .json(&json!({"name": "collar", "kind": "collar"}))
        .send()
        .await
        .unwrap();
    let device: Value = res.json().await.unwrap();
    let (id, token) = (device["device"]["id"].as_str().unwrap(), device["token"].as_str().unwrap());

    let mut request = b.url("/api/v1/ws").replace("http://", "ws://").into_client_request().unwrap();
    request.headers_mut().insert("authorization", format!("Bearer {access}").parse().unwrap());
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await.expect("websocket on node B");
    let topic = format!("device:{id}");
    socket.send(Message::Text(json!({"type": "subscribe", "topic": topic}).to_string().into())).await.unwrap();
    assert_eq!(next_json(&mut socket).await["type"], "subscribed");

    let ts = (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64;
    let res =
        http.post(a.url("/api/v1/ingest")).bearer_auth(token).json(&json!({"ts": ts, "heart_rate": 77})).send().await;
    assert_eq!(res.unwrap().status(), 201);
    let event = next_json(&mut socket).await;
    assert_eq!((event["type"].as_str(), event["topic"].as_str()), (Some("event"), Some(topic.as_str())));
    assert_eq!(event["data"]["heart_rate"], 77.0, "ingested on A, heard on B");
    drop((a, b));
}
