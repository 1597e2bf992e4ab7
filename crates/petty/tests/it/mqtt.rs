//! Readings over MQTT through the local Mosquitto: good messages are stored, bad ones are
//! counted and skipped without stopping the stream. Needs a broker on 127.0.0.1:1883 (CI makes
//! sure there is one); skipped, and says so, when there is none outside CI. The burst test starts
//! a Mosquitto of its own (the `mosquitto` program) with no limit on queued messages.

use std::time::Duration;

use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use serde_json::{Value, json};

use super::{http_client, petty, sign_up, start, temp_dir};

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

/// A Mosquitto of the test's own on a free port, without persistence or a queue limit;
/// stopped when dropped. `None` (skipped, and said) without the `mosquitto` program, outside CI.
struct PrivateBroker {
    process: std::process::Child,
    port: u16,
    dir: std::path::PathBuf,
}

impl PrivateBroker {
    fn start() -> Option<Self> {
        let program =
            ["/usr/sbin/mosquitto", "/usr/bin/mosquitto"].into_iter().find(|p| std::path::Path::new(p).exists());
        let Some(program) = program else {
            assert!(!std::env::var("CI").is_ok_and(|v| !v.is_empty()), "CI needs the mosquitto program");
            eprintln!("skipped: MQTT burst (no mosquitto program)");
            return None;
        };
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let dir = temp_dir(&format!("broker-{port}"));
        let config = dir.join("mosquitto.conf");
        std::fs::write(
            &config,
            format!("listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\nmax_queued_messages 0\n"),
        )
        .unwrap();
        let process = std::process::Command::new(program)
            .arg("-c")
            .arg(&config)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let broker = Self { process, port, dir };
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(std::time::Instant::now() < deadline, "the private Mosquitto did not start on port {port}");
            std::thread::sleep(Duration::from_millis(20));
        }
        Some(broker)
    }
}

impl Drop for PrivateBroker {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Messages Petty has stored and acknowledged, from `/metrics`.
async fn stored_so_far(http: &reqwest::Client, server: &super::Server) -> i64 {
    let metrics = http.get(server.url("/metrics")).send().await.unwrap().text().await.unwrap();
    metrics
        .lines()
        .find(|l| l.starts_with("petty_mqtt_messages_total{outcome=\"stored\"}"))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse::<i64>().ok())
        .unwrap_or(0)
}

/// Ends Petty's persistent session at the broker, which would otherwise keep queueing every
/// later test's messages for a client that never comes back.
pub(super) async fn forget_session(client_id: &str, port: u16) {
    let mut options = MqttOptions::new(client_id, "127.0.0.1", port);
    options.set_clean_session(true);
    let (client, mut events) = AsyncClient::new(options, 4);
    let _ = tokio::time::timeout(Duration::from_secs(5), async {
        while let Ok(event) = events.poll().await {
            if matches!(event, Event::Incoming(Packet::ConnAck(_))) {
                let _ = client.disconnect().await;
            }
            if matches!(event, Event::Outgoing(rumqttc::Outgoing::Disconnect)) {
                break;
            }
        }
    })
    .await;
}

fn now_ms() -> i64 {
    (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

/// A running `petty serve --mqtt-url` with a signed-up owner and one device, subscribed at the
/// broker, and the device's own MQTT client (its connection driven in the background).
struct Setup {
    dir: std::path::PathBuf,
    client_id: String,
    port: u16,
    server: super::Server,
    http: reqwest::Client,
    access: String,
    id: String,
    token: String,
    device_client: AsyncClient,
    driver: tokio::task::JoinHandle<()>,
}

async fn setup(name: &str, kind: &str, device_inflight: u16, port: u16) -> Setup {
    let dir = temp_dir(name);
    let client_id = format!("petty-{name}-{}-{}", std::process::id(), now_ms());
    let mut cmd = petty(&dir);
    let broker = format!("mqtt://127.0.0.1:{port}");
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--mqtt-url", &broker])
        .env("PETTY_MQTT__CLIENT_ID", &client_id)
        // Ingest only: Home Assistant's discovery has a test of its own.
        .env("PETTY_MQTT__HOME_ASSISTANT", "false")
        .env("PETTY_RATE_LIMIT__ENABLED", "false");
    let mut server = start(cmd);
    let http = http_client();
    let email = format!("{name}@example.org");
    let register = json!({"email": email, "password": "correct horse battery staple", "display_name": "M"});
    let session = sign_up(&http, &server, &register).await;
    let access = session["access_token"].as_str().unwrap().to_owned();
    let (id, token) = create_device(&server, &access, &format!("{name} device"), kind).await;

    // Petty has subscribed once it says so.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while !server.seen.iter().any(|l| l.contains("MQTT connected")) {
        assert!(std::time::Instant::now() < deadline, "Petty did not connect to the broker: {:#?}", server.seen);
        if let Ok(line) = server.logs.recv_timeout(Duration::from_millis(200)) {
            server.seen.push(line);
        }
    }
    tokio::time::sleep(Duration::from_millis(500)).await;

    let mut options = MqttOptions::new(format!("{client_id}-device"), "127.0.0.1", port);
    options.set_keep_alive(Duration::from_secs(10));
    options.set_inflight(device_inflight);
    let (device_client, mut events) = AsyncClient::new(options, 4_096);
    let driver = tokio::spawn(async move {
        loop {
            match events.poll().await {
                Ok(Event::Incoming(Packet::Disconnect)) | Err(_) => break,
                Ok(_) => {}
            }
        }
    });
    Setup { dir, client_id, port, server, http, access, id, token, device_client, driver }
}

impl Setup {
    /// The device's latest reading, through the API.
    async fn latest(&self) -> Value {
        let url = self.server.url(&format!("/api/v1/devices/{}/readings/latest", self.id));
        self.http.get(url).bearer_auth(&self.access).send().await.unwrap().json().await.unwrap()
    }

    /// Stops the device and Petty (which must exit cleanly) and ends Petty's broker session.
    async fn finish(self) {
        let Setup { dir, client_id, port, mut server, device_client, driver, .. } = self;
        let _ = device_client.disconnect().await;
        driver.abort();
        server.terminate();
        let (ok, logs) = server.wait_exit();
        forget_session(&client_id, port).await;
        assert!(ok, "{logs:#?}");
        let _ = std::fs::remove_dir_all(dir);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readings_arrive_over_mqtt_and_bad_messages_do_not_stop_the_stream() {
    if !broker_up() {
        return;
    }
    let run = setup("mqtt", "air_monitor", 100, 1883).await;
    let (server, http, access, id, token, device_client) =
        (&run.server, &run.http, &run.access, &run.id, &run.token, &run.device_client);
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
        let page: Value = http.get(url).bearer_auth(access).send().await.unwrap().json().await.unwrap();
        stored = page["items"].as_array().map_or(0, Vec::len);
        if stored >= 52 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(stored, 52, "1 + 50 + 1 readings stored; the bad messages in between stopped nothing");
    let latest = run.latest().await;
    assert_eq!(latest["co_ppm"], 3.0);
    // Messages are counted as they are acknowledged, in order, just after their commit.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let metrics = http.get(server.url("/metrics")).send().await.unwrap().text().await.unwrap();
        let rejected = metrics.lines().find(|l| l.starts_with("petty_mqtt_messages_total{outcome=\"rejected\"}"));
        if rejected.and_then(|l| l.rsplit(' ').next()) == Some("2") {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "two messages counted as rejected: {metrics}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    run.finish().await;
}

/// A device (or a broker's backlog after an outage) delivering QoS 1 messages faster than they
/// are committed: every one is stored and acknowledged, and the subscriber keeps going. (The
/// subscriber once stopped for good after a few hundred: its acknowledgements waited for a poll
/// of the connection that was waiting for them.) Runs against a Mosquitto of its own with no
/// limit on queued messages, so the whole burst reaches Petty at once; the shared broker drops
/// a client's messages past 1,000 queued.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_qos1_messages_is_stored_and_acknowledged_in_full() {
    let Some(broker) = PrivateBroker::start() else { return };
    const MESSAGES: i64 = 3_000;
    let run = setup("burst", "collar", 1_000, broker.port).await;
    let (server, http, id, token, device_client) = (&run.server, &run.http, &run.id, &run.token, &run.device_client);
    let topic = format!("petty/v1/devices/{id}/readings");
    let t = now_ms() - 3_600_000;
    for i in 0..MESSAGES {
        let message = json!({"token": token, "ts": t + i, "seq": i, "heart_rate": 80}).to_string();
        device_client.publish(&topic, QoS::AtLeastOnce, false, message).await.unwrap();
    }

    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let mut stored = 0;
    while stored < MESSAGES {
        stored = stored_so_far(http, server).await;
        assert!(
            std::time::Instant::now() < deadline,
            "only {stored} of {MESSAGES} QoS 1 messages were stored and acknowledged"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let latest = run.latest().await;
    assert_eq!(latest["seq"], MESSAGES - 1);

    run.finish().await;
}

/// A device of `kind` named `name`: its id and token.
async fn create_device(server: &super::Server, access: &str, name: &str, kind: &str) -> (String, String) {
    let res = http_client()
        .post(server.url("/api/v1/devices"))
        .bearer_auth(access)
        .json(&json!({"name": name, "kind": kind}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let device: Value = res.json().await.unwrap();
    (device["device"]["id"].as_str().unwrap().to_owned(), device["token"].as_str().unwrap().to_owned())
}

/// Messages heard, `(topic, payload)`, in order.
type Heard = std::sync::Arc<std::sync::Mutex<Vec<(String, Vec<u8>)>>>;

/// What a Home Assistant would hear: everything under a discovery prefix, and every device's
/// state, in order.
struct Listener {
    prefix: String,
    heard: Heard,
    driver: tokio::task::JoinHandle<()>,
}

impl Listener {
    async fn new(prefix: &str) -> Listener {
        let name = format!("ha-listener-{}", prefix.replace('/', "-"));
        let (client, mut events) = AsyncClient::new(MqttOptions::new(name, "127.0.0.1", 1883), 1_000);
        client.subscribe(format!("{prefix}/#"), QoS::AtLeastOnce).await.unwrap();
        client.subscribe("petty/v1/devices/+/state", QoS::AtLeastOnce).await.unwrap();
        let heard = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = heard.clone();
        let driver = tokio::spawn(async move {
            let _client = client;
            while let Ok(event) = events.poll().await {
                if let Event::Incoming(Packet::Publish(p)) = event {
                    sink.lock().unwrap().push((p.topic.clone(), p.payload.to_vec()));
                }
            }
        });
        Listener { prefix: prefix.to_owned(), heard, driver }
    }

    /// The device's discovery topics, each with its newest config (`Null` once emptied).
    fn configs(&self, id: &str) -> Vec<(String, Value)> {
        let node = id.replace('-', "");
        let mut latest = std::collections::BTreeMap::new();
        for (topic, payload) in self.heard.lock().unwrap().iter() {
            if topic.starts_with(&self.prefix) && topic.contains(&node) {
                latest.insert(topic.clone(), serde_json::from_slice(payload).unwrap_or(Value::Null));
            }
        }
        latest.into_iter().collect()
    }

    fn announced(&self, id: &str, entities: usize) -> bool {
        let configs = self.configs(id);
        configs.len() == entities && configs.iter().all(|(_, c)| c.is_object())
    }

    fn removed(&self, id: &str) -> bool {
        let configs = self.configs(id);
        !configs.is_empty() && configs.iter().all(|(_, c)| c.is_null())
    }

    fn state(&self, id: &str) -> Option<Value> {
        let topic = format!("petty/v1/devices/{id}/state");
        let heard = self.heard.lock().unwrap();
        heard.iter().rev().find(|(t, _)| *t == topic).and_then(|(_, p)| serde_json::from_slice(p).ok())
    }

    async fn until(&self, what: &str, done: impl Fn(&Listener) -> bool) {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while !done(self) {
            assert!(
                std::time::Instant::now() < deadline,
                "{what}: {} messages heard",
                self.heard.lock().unwrap().len()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

/// `petty serve` announcing to Home Assistant under `prefix` (or not), on `dir`'s data.
fn home_assistant_server(dir: &std::path::Path, prefix: &str, announce: bool) -> super::Server {
    let mut cmd = petty(&dir.to_path_buf());
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--mqtt-url", "mqtt://127.0.0.1:1883"])
        .env("PETTY_MQTT__CLIENT_ID", format!("petty-{}", prefix.replace('/', "-")))
        .env("PETTY_MQTT__HOME_ASSISTANT", announce.to_string())
        .env("PETTY_MQTT__DISCOVERY_PREFIX", prefix)
        .env("PETTY_MQTT__DISCOVERY_INTERVAL_SECS", "1");
    start(cmd)
}

/// A device of `kind` with one reading; its id.
async fn device_with_reading(
    server: &super::Server,
    access: &str,
    name: &str,
    kind: &str,
    mut reading: Value,
) -> String {
    let (id, token) = create_device(server, access, name, kind).await;
    reading["ts"] = json!(now_ms());
    let res = http_client().post(server.url("/api/v1/ingest")).bearer_auth(&token).json(&reading).send().await.unwrap();
    assert_eq!(res.status(), 201);
    id
}

async fn delete_device(server: &super::Server, access: &str, id: &str) {
    let res =
        http_client().delete(server.url(&format!("/api/v1/devices/{id}"))).bearer_auth(access).send().await.unwrap();
    assert!(res.status().is_success(), "{}", res.status());
}

/// Home Assistant's MQTT discovery: a collar and an air monitor appear as devices with their
/// entities (retained configs in the documented schema, under the configured prefix), their
/// state topics carry the newest reading, and a device deleted in Petty is removed (an empty
/// retained config for each of its entities).
#[tokio::test]
async fn devices_are_announced_to_home_assistant_and_removed_when_deleted() {
    if !broker_up() {
        return;
    }
    let prefix = format!("petty-test-{}-{}/homeassistant", std::process::id(), now_ms());
    let listener = Listener::new(&prefix).await;
    let dir = temp_dir("home-assistant");
    let server = home_assistant_server(&dir, &prefix, true);
    let register = json!({"email": "ha@example.org", "password": "correct horse battery staple", "display_name": "H"});
    let access = sign_up(&http_client(), &server, &register).await["access_token"].as_str().unwrap().to_owned();
    let fix = json!({"lat": 52.37, "lon": 4.89, "accuracy_m": 6});
    let collar = json!({"heart_rate": 88, "battery_pct": 70, "location": fix});
    let collar = device_with_reading(&server, &access, "Bella's collar", "collar", collar).await;
    let air = json!({"co_ppm": 3, "ambient_temp_c": 21.5, "humidity_pct": 45});
    let monitor = device_with_reading(&server, &access, "Kitchen", "air_monitor", air).await;
    listener
        .until("announced", |l| {
            l.announced(&collar, 6)
                && l.announced(&monitor, 6)
                && l.state(&collar).is_some_and(|s| s["heart_rate"] == 88.0)
                && l.state(&monitor).is_some_and(|s| s["co_ppm"] == 3.0)
        })
        .await;

    // Each config as Home Assistant's discovery documents it.
    let (collar_configs, monitor_configs) = (listener.configs(&collar), listener.configs(&monitor));
    let mut unique = std::collections::HashSet::new();
    for (topic, config) in collar_configs.iter().chain(&monitor_configs) {
        let levels: Vec<&str> = topic.rsplit('/').collect();
        assert_eq!(levels[0], "config", "{topic}");
        assert!(["sensor", "binary_sensor", "device_tracker"].contains(&levels[3]), "{topic}");
        assert!(
            config["name"].is_string() && unique.insert(config["unique_id"].as_str().unwrap().to_owned()),
            "{config}"
        );
        assert_eq!(config["device"]["identifiers"][0], levels[2], "the device is its node: {config}");
        assert!(config["state_topic"].is_string() || config["json_attributes_topic"].is_string(), "{config}");
    }
    let of = |configs: &[(String, Value)], object: &str| {
        configs.iter().find(|(t, _)| t.ends_with(&format!("/{object}/config"))).map(|(_, c)| c.clone()).unwrap()
    };
    assert_eq!(of(&collar_configs, "heart_rate")["unit_of_measurement"], "bpm");
    assert_eq!(of(&collar_configs, "heart_rate")["device"]["name"], "Bella's collar");
    assert_eq!(of(&collar_configs, "location")["source_type"], "gps");
    assert_eq!(of(&collar_configs, "alarm")["device_class"], "problem");
    assert_eq!(of(&monitor_configs, "co")["device_class"], "carbon_monoxide");
    assert_eq!(of(&monitor_configs, "co")["unit_of_measurement"], "ppm");
    let state = listener.state(&monitor).unwrap();
    assert_eq!((state["co_ppm"].as_f64(), state["status"].as_str()), (Some(3.0), Some("online")), "{state}");

    // Deleted in Petty: every entity's config is emptied (removed from Home Assistant).
    delete_device(&server, &access, &collar).await;
    listener.until("the collar removed", |l| l.removed(&collar)).await;
    assert!(listener.announced(&monitor, 6), "the other device stays");

    // Deleted while the announcing Petty was down: removed when it is back.
    drop(server);
    let quiet = home_assistant_server(&dir, &prefix, false);
    let res = http_client()
        .post(quiet.url("/api/v1/auth/login"))
        .json(&json!({"email": "ha@example.org", "password": "correct horse battery staple"}))
        .send()
        .await
        .unwrap();
    let access = res.json::<Value>().await.unwrap()["access_token"].as_str().unwrap().to_owned();
    delete_device(&quiet, &access, &monitor).await;
    drop(quiet);
    let back = home_assistant_server(&dir, &prefix, true);
    listener.until("the monitor removed after a restart", |l| l.removed(&monitor)).await;
    listener.until("and its state cleared", |l| l.state(&monitor).is_none()).await;
    drop(back);
    listener.driver.abort();
    let _ = std::fs::remove_dir_all(dir);
}
