//! Every way a reading enters Petty, end to end through the real binary: HTTP single and batch,
//! `POST /api/v1/import`, `petty import` beside a running server, MQTT, and both compatibility
//! profiles. For each, one reading that breaks an alarm rule is
//!
//! - stored: the readings API serves it;
//! - published live: a WebSocket subscribed to the device receives it;
//! - analysed: the analysis job took the work it left (a collar worn by a pet: the pet's day is
//!   summarised, `GET /api/v1/pets/{id}/wellness`; an air monitor has no behaviour to analyse,
//!   so there the job's note on the device is seen taken and cleared);
//! - judged: the alarm rules raise an alarm for it (`GET /api/v1/alarms`, and live on the
//!   household's alarm topic).
//!
//! A collar's reading breaks `heart_high`, tuned by the household to hold for no time (as a
//! household may); an air monitor's breaks `co_high`, with the sensor's warm-up calibrated away
//! so that one reading counts.

use std::path::PathBuf;
use std::time::Duration;

use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use serde_json::{Value, json};

use super::support::{Account, eventually, now_ms, service_up};
use super::{Server, petty, start, temp_dir};

const WAIT: Duration = Duration::from_secs(30);
const NATS: &str = "nats://127.0.0.1:4222";

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Source {
    HttpSingle,
    HttpBatch,
    ImportApi,
    ImportCli,
    Mqtt,
    PettyProfile,
    Carbon,
}

/// A collar's breaking reading: a racing heart.
const HEART_RATE: f64 = 200.0;
/// An air monitor's breaking reading: the MQ-7's raw value for 150 ppm of CO.
fn co_raw() -> f64 {
    petty_core::air::Mq7::default().raw(150.0).unwrap()
}

struct Setup {
    dir: PathBuf,
    server: Server,
    account: Account,
    device: String,
    token: String,
    pet: Option<String>,
    /// The MQTT client id Petty used, whose session is ended afterwards.
    mqtt_client: Option<String>,
    /// Whether the server and `petty import` share live events through NATS.
    nats: bool,
}

async fn setup(source: Source, name: &str) -> Setup {
    let dir = temp_dir(name);
    let mut cmd = petty(&dir);
    cmd.args(["serve", "--listen", "127.0.0.1:0"])
        .env("PETTY_RATE_LIMIT__ENABLED", "false")
        .env("PETTY_ANALYSIS__DELAY_SECS", "1");
    let mut mqtt_client = None;
    if source == Source::Mqtt {
        let client_id = format!("petty-{name}-{}-{}", std::process::id(), now_ms());
        cmd.args(["--mqtt-url", "mqtt://127.0.0.1:1883"])
            .env("PETTY_MQTT__CLIENT_ID", &client_id)
            .env("PETTY_MQTT__HOME_ASSISTANT", "false");
        mqtt_client = Some(client_id);
    }
    // `petty import` is another process: its readings reach the server's WebSockets through NATS.
    let nats = source == Source::ImportCli
        && service_up(
            "127.0.0.1:4222",
            "NATS",
            "live readings from `petty import` (stored, analysed and judged are still checked)",
        );
    if nats {
        cmd.args(["--nats-url", NATS]);
    }
    let mut server = start(cmd);
    if source == Source::Mqtt {
        // It logs this as it subscribes; the broker has the subscription a moment later.
        wait_for_log(&mut server, "MQTT connected");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let account = Account::sign_up(&server, &format!("{name}@example.org")).await;
    let (device, token, pet) = if source == Source::Carbon {
        let body = json!({"name": "Car monitor", "kind": "air_monitor", "serial": "ESP32",
            "calibration": {"warm_up_secs": 0}});
        let (device, token) = account.create_device(body).await;
        (device, token, None)
    } else {
        let pet = account.create_pet("Bella").await;
        let body = json!({"name": "Bella's collar", "kind": "collar", "serial": "SN-123456", "pet_id": pet});
        let (device, token) = account.create_device(body).await;
        account.tune_rule("heart_high", json!({"for_secs": 0})).await;
        (device, token, Some(pet))
    };
    Setup { dir, server, account, device, token, pet, mqtt_client, nats }
}

fn wait_for_log(server: &mut Server, needle: &str) {
    let deadline = std::time::Instant::now() + WAIT;
    while !server.seen.iter().any(|l| l.contains(needle)) {
        assert!(std::time::Instant::now() < deadline, "Petty never logged {needle:?}: {:#?}", server.seen);
        if let Ok(line) = server.logs.recv_timeout(Duration::from_millis(200)) {
            server.seen.push(line);
        }
    }
}

/// Sends the breaking reading (with some ordinary ones where the source takes several) through
/// `source`; answers once the source acknowledged it.
async fn send(source: Source, run: &Setup, ts: i64) {
    let http = &run.account.http;
    let hr = |ts: i64, bpm: f64| json!({"ts": ts, "heart_rate": bpm, "battery_pct": 80});
    match source {
        Source::HttpSingle => {
            let res = http.post(run.account.url("/api/v1/ingest")).bearer_auth(&run.token).json(&hr(ts, HEART_RATE));
            let res = res.send().await.unwrap();
            assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
        }
        Source::HttpBatch => {
            let body = json!({"readings": [hr(ts - 20_000, 90.0), hr(ts - 10_000, 95.0), hr(ts, HEART_RATE)]});
            let res = http.post(run.account.url("/api/v1/ingest")).bearer_auth(&run.token).json(&body);
            let answer: Value = res.send().await.unwrap().json().await.unwrap();
            assert_eq!(answer["accepted"], 3, "{answer}");
        }
        Source::ImportApi => {
            let lines = format!("{}\n{}\n", hr(ts - 10_000, 92.0), hr(ts, HEART_RATE));
            let res = http
                .post(run.account.url("/api/v1/import"))
                .bearer_auth(&run.token)
                .header("content-type", "application/x-ndjson")
                .body(lines)
                .send()
                .await
                .unwrap();
            let answer: Value = res.json().await.unwrap();
            assert_eq!((answer["accepted"].as_u64(), answer["rejected"].as_u64()), (Some(2), Some(0)), "{answer}");
        }
        Source::ImportCli => {
            let file = run.dir.join("backfill.jsonl");
            std::fs::write(&file, format!("{}\n{}\n", hr(ts - 10_000, 92.0), hr(ts, HEART_RATE))).unwrap();
            let mut cmd = petty(&run.dir);
            cmd.args(["import", "backfill.jsonl", "--device", &run.device, "--household", &run.account.household]);
            if run.nats {
                cmd.env("PETTY_NATS__URL", NATS);
            }
            let out = tokio::task::spawn_blocking(move || cmd.output().unwrap()).await.unwrap();
            let report = String::from_utf8_lossy(&out.stdout);
            assert!(out.status.success(), "{report}\n{}", String::from_utf8_lossy(&out.stderr));
            assert!(report.contains("backfill.jsonl: 2 accepted, 0 duplicates, 0 rejected"), "{report}");
        }
        Source::Mqtt => {
            let client_id = format!("{}-device", run.mqtt_client.as_deref().unwrap());
            let (client, mut events) = AsyncClient::new(MqttOptions::new(client_id, "127.0.0.1", 1883), 16);
            let topic = format!("petty/v1/devices/{}/readings", run.device);
            let mut message = hr(ts, HEART_RATE);
            message["token"] = json!(run.token);
            client.publish(topic, QoS::AtLeastOnce, false, message.to_string()).await.unwrap();
            // Acknowledged by the broker: from here Petty's subscription carries it.
            let acked = tokio::time::timeout(WAIT, async {
                loop {
                    match events.poll().await {
                        Ok(Event::Incoming(Packet::PubAck(_))) => break,
                        Ok(_) => {}
                        Err(e) => panic!("MQTT: {e}"),
                    }
                }
            });
            acked.await.expect("the broker acknowledged the message");
            let _ = client.disconnect().await;
            let _ = tokio::time::timeout(Duration::from_secs(2), events.poll()).await;
        }
        Source::PettyProfile => {
            let timestamp = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ts) * 1_000_000)
                .unwrap()
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap();
            let body = json!({"collar_id": "SN-123456", "timestamp": timestamp, "heart_rate": HEART_RATE as i64,
                "activity_level": 2, "location": {"type": "Point", "coordinates": [13.405, 52.52]}});
            let res = http
                .post(run.account.url("/compat/petty/ingest"))
                .header("x-api-key", &run.token)
                .json(&body)
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
        }
        Source::Carbon => {
            let path = format!(
                "/compat/carbon/Dynamo/item?item_id=ESP32&Temp=21.5&Hum=48&CO={}&token={}",
                co_raw(),
                run.token
            );
            let res = http.post(run.account.url(&path)).send().await.unwrap();
            assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
        }
    }
}

/// Whether a reading (as the API and live events show it) is the one that breaks the rule.
fn is_breaking(source: Source, reading: &Value) -> bool {
    match source {
        Source::Carbon => reading["co_raw"].as_f64() == Some(co_raw()),
        _ => reading["heart_rate"].as_f64() == Some(HEART_RATE),
    }
}

/// How many devices still have work of `kind` noted for the jobs, read from the database the
/// server uses (SQLite files may be opened by several processes: `petty import` does).
async fn pending(dir: &std::path::Path, kind: petty_store::WorkKind) -> i64 {
    let url = format!("sqlite://{}", dir.join("petty-data/petty.db").display());
    let store = petty_store::Store::connect(&url).await.unwrap();
    let n = store.pending_work(kind).await.unwrap();
    store.close().await;
    n
}

async fn a_reading_is_stored_published_analysed_and_judged(source: Source) {
    if source == Source::Mqtt && !service_up("127.0.0.1:1883", "MQTT broker", "readings over MQTT, end to end") {
        return;
    }
    let mut run = setup(source, &format!("source-{source:?}").to_lowercase()).await;
    let account = run.account.clone();
    let device_topic = format!("device:{}", run.device);
    let alarms_topic = format!("household:{}:alarms", account.household);
    let mut socket = account.websocket(&[device_topic.clone(), alarms_topic.clone()]).await;

    let ts = now_ms() - 1_000;
    send(source, &run, ts).await;

    // Stored.
    let readings_path = format!("/api/v1/devices/{}/readings?from={}", run.device, ts - 60_000);
    let stored = eventually("the reading is stored", WAIT, || async {
        let page = account.get(&readings_path).await;
        let items = page["items"].as_array().cloned().unwrap_or_default();
        items.iter().find(|r| is_breaking(source, r)).cloned().ok_or_else(|| page.to_string())
    })
    .await;
    if source != Source::Carbon {
        let stored_ts =
            time::OffsetDateTime::parse(stored["ts"].as_str().unwrap(), &time::format_description::well_known::Rfc3339)
                .unwrap();
        assert_eq!(petty_store::to_ms(stored_ts) / 1000, ts / 1000, "stored at the time it was taken: {stored}");
    }

    // Published live.
    if source != Source::ImportCli || run.nats {
        let live = socket.event(&device_topic, WAIT, |data| is_breaking(source, data)).await;
        assert_eq!(live["ts"], stored["ts"], "the same reading: {live}");
    }

    // Judged by the alarm rules: an alarm, in the list and live.
    let kind = if source == Source::Carbon { "co_high" } else { "heart_high" };
    let filter = format!("device_id={}", run.device);
    let alarm = eventually("the alarm", WAIT, || async {
        let all = account.alarms(&filter).await;
        all.iter().find(|a| a["type"] == kind).cloned().ok_or_else(|| format!("{all:?}"))
    })
    .await;
    assert_eq!(alarm["state"], "active", "{alarm}");
    assert_eq!(alarm["paged"], true, "a live reading's alarm pages people: {alarm}");
    let value = if source == Source::Carbon { alarm["value"].as_f64().unwrap() } else { HEART_RATE };
    assert_eq!(alarm["value"].as_f64(), Some(value), "{alarm}");
    if source == Source::Carbon {
        assert!((140.0..160.0).contains(&value), "the raw value through the sensor's curve: {value} ppm");
    }
    let raised =
        socket.event(&alarms_topic, WAIT, |data| data["type"] == "alarm" && data["alarm"]["type"] == kind).await;
    assert_eq!(raised["event"], "raised", "{raised}");
    assert_eq!(account.alarms(&filter).await.len(), 1, "one reading, one alarm");

    // Analysed.
    if let Some(pet) = &run.pet {
        let today = time::OffsetDateTime::now_utc().date().to_string();
        let day = eventually("the pet's day is analysed", WAIT, || async {
            let wellness = account.get(&format!("/api/v1/pets/{pet}/wellness?days=1")).await;
            let history = wellness["history"].as_array().cloned().unwrap_or_default();
            history.into_iter().find(|d| d["day"] == today).ok_or_else(|| wellness.to_string())
        })
        .await;
        assert!(day["summary"]["minutes_covered"].as_f64().unwrap_or(0.0) > 0.0, "covers the reading: {day}");
    }
    let dir = run.dir.clone();
    for (kind, job) in [(petty_store::WorkKind::Analysis, "analysis"), (petty_store::WorkKind::Alarms, "alarm")] {
        eventually(&format!("the {job} job finishes the device's work"), WAIT, || async {
            match pending(&dir, kind).await {
                0 => Ok(()),
                n => Err(format!("{n} devices with {job} work left")),
            }
        })
        .await;
    }

    drop(socket);
    run.server.terminate();
    let (ok, logs) = run.server.wait_exit();
    if let Some(client_id) = &run.mqtt_client {
        super::mqtt::forget_session(client_id, 1883).await;
    }
    assert!(ok, "{logs:#?}");
    let _ = std::fs::remove_dir_all(&run.dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_single() {
    a_reading_is_stored_published_analysed_and_judged(Source::HttpSingle).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_batch() {
    a_reading_is_stored_published_analysed_and_judged(Source::HttpBatch).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_api() {
    a_reading_is_stored_published_analysed_and_judged(Source::ImportApi).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_cli_beside_a_running_server() {
    a_reading_is_stored_published_analysed_and_judged(Source::ImportCli).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mqtt() {
    a_reading_is_stored_published_analysed_and_judged(Source::Mqtt).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn petty_profile() {
    a_reading_is_stored_published_analysed_and_judged(Source::PettyProfile).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn carbon_profile() {
    a_reading_is_stored_published_analysed_and_judged(Source::Carbon).await;
}

/// Readings that arrive out of order (a device catching up, or two nodes committing at once):
/// an earlier reading that broke the rule, judged after a later one raised the alarm, dates the
/// alarm at itself; it is the same incident, not another occurrence.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_earlier_reading_moves_the_alarm_start_back() {
    let mut run = setup(Source::HttpSingle, "late-reading").await;
    let account = run.account.clone();
    let ingest = |ts: i64| {
        let request = account.http.post(account.url("/api/v1/ingest")).bearer_auth(&run.token);
        request.json(&json!({"ts": ts, "heart_rate": HEART_RATE}))
    };
    let first_at = |alarm: &Value| {
        let at = alarm["first_at"].as_str().unwrap();
        petty_store::to_ms(time::OffsetDateTime::parse(at, &time::format_description::well_known::Rfc3339).unwrap())
    };
    let t = now_ms() - 10_000;
    assert_eq!(ingest(t + 5_000).send().await.unwrap().status(), 201);
    let alarm = eventually("the alarm", WAIT, || async {
        let all = account.alarms("").await;
        all.first().cloned().ok_or_else(|| "none".to_owned())
    })
    .await;
    assert_eq!(first_at(&alarm), t + 5_000);

    assert_eq!(ingest(t).send().await.unwrap().status(), 201);
    eventually("the alarm dated at the earlier reading", WAIT, || async {
        let all = account.alarms("").await;
        match all.as_slice() {
            [alarm] if first_at(alarm) == t => Ok(()),
            _ => Err(format!("{all:?}")),
        }
    })
    .await;
    let all = account.alarms("").await;
    assert_eq!((all.len(), &all[0]["occurrences"], &all[0]["id"]), (1, &json!(1), &alarm["id"]), "{all:?}");

    run.server.terminate();
    let (ok, logs) = run.server.wait_exit();
    assert!(ok, "{logs:#?}");
    let _ = std::fs::remove_dir_all(&run.dir);
}
