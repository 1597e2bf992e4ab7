//! Readings over MQTT through the local Mosquitto: good messages are stored, bad ones are
//! counted and skipped without stopping the stream. Needs a broker on 127.0.0.1:1883 (CI makes
//! sure there is one); skipped, and says so, when there is none outside CI.

use std::time::Duration;

use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use serde_json::{Value, json};

use super::{http_client, petty, start, temp_dir};

fn broker_up() -> bool {
    if std::net::TcpStream::connect_timeout(&"127.0.0.1:1883".parse().unwrap(), Duration::from_secs(1)).is_ok() {
        return true;
    }
    if std::env::var("CI").is_ok_and(|v| !v.is_empty()) {
        panic!("CI needs an MQTT broker on 127.0.0.1:1883 (Mosquitto)");
    }
    eprintln!("skipped: MQTT ingest (no broker on 127.0.0.1:1883)");
    false
}

fn now_ms() -> i64 {
    (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readings_arrive_over_mqtt_and_bad_messages_do_not_stop_the_stream() {
    if !broker_up() {
        return;
    }
    let dir = temp_dir("mqtt");
    let client_id = format!("petty-test-{}-{}", std::process::id(), now_ms());
    let mut cmd = petty(&dir);
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--mqtt-url", "mqtt://127.0.0.1:1883"])
        .env("PETTY_MQTT__CLIENT_ID", &client_id);
    let mut server = start(cmd);
    let http = http_client();
    let register =
        json!({"email": "mqtt@example.org", "password": "correct horse battery staple", "display_name": "M"});
    let res = http.post(server.url("/api/v1/auth/register")).json(&register).send().await.unwrap();
    let access = res.json::<Value>().await.unwrap()["access_token"].as_str().unwrap().to_owned();
    let res = http
        .post(server.url("/api/v1/devices"))
        .bearer_auth(&access)
        .json(&json!({"name": "garage monitor", "kind": "air_monitor"}))
        .send()
        .await
        .unwrap();
    let device: Value = res.json().await.unwrap();
    let (id, token) =
        (device["device"]["id"].as_str().unwrap().to_owned(), device["token"].as_str().unwrap().to_owned());

    // Petty has subscribed once it says so.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while !server.seen.iter().any(|l| l.contains("MQTT connected")) {
        assert!(std::time::Instant::now() < deadline, "Petty did not connect to the broker: {:#?}", server.seen);
        if let Ok(line) = server.logs.recv_timeout(Duration::from_millis(200)) {
            server.seen.push(line);
        }
    }
    tokio::time::sleep(Duration::from_millis(500)).await;

    let mut options = MqttOptions::new(format!("{client_id}-device"), "127.0.0.1", 1883);
    options.set_keep_alive(Duration::from_secs(10));
    let (device_client, mut events) = AsyncClient::new(options, 64);
    let driver = tokio::spawn(async move {
        loop {
            match events.poll().await {
                Ok(Event::Incoming(Packet::Disconnect)) | Err(_) => break,
                Ok(_) => {}
            }
        }
    });
    let topic = format!("petty/v1/devices/{id}/readings");
    let t = now_ms() - 60_000;
    let batch: Vec<Value> = (1..=50).map(|i| json!({"ts": t + i * 1000, "co_ppm": 5 + i})).collect();
    let messages = [
        json!({"token": token, "ts": t, "co_ppm": 4.5, "humidity_pct": 40}).to_string(),
        "this is not JSON".to_owned(),
        json!({"token": "dk_wrong", "ts": t, "co_ppm": 900}).to_string(),
        json!({"token": token, "readings": batch}).to_string(),
        json!({"token": token, "ts": t + 60_000, "co_ppm": 3}).to_string(),
    ];
    for message in messages {
        device_client.publish(&topic, QoS::AtLeastOnce, false, message).await.unwrap();
    }

    let mut stored = 0;
    for _ in 0..100 {
        let url = server.url(&format!("/api/v1/devices/{id}/readings?from={}&limit=1000", t - 1));
        let page: Value = http.get(url).bearer_auth(&access).send().await.unwrap().json().await.unwrap();
        stored = page["items"].as_array().map_or(0, Vec::len);
        if stored >= 52 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(stored, 52, "1 + 50 + 1 readings stored; the bad messages in between stopped nothing");
    let latest: Value = http
        .get(server.url(&format!("/api/v1/devices/{id}/readings/latest")))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(latest["co_ppm"], 3.0);
    let metrics = http.get(server.url("/metrics")).send().await.unwrap().text().await.unwrap();
    let rejected = metrics.lines().find(|l| l.starts_with("petty_mqtt_messages_total{outcome=\"rejected\"}"));
    assert_eq!(rejected.and_then(|l| l.rsplit(' ').next()), Some("2"), "{metrics}");

    let _ = device_client.disconnect().await;
    driver.abort();
    server.terminate();
    let (ok, logs) = server.wait_exit();
    assert!(ok, "{logs:#?}");
    let _ = std::fs::remove_dir_all(dir);
}
