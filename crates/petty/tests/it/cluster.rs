//! Two nodes on one PostgreSQL database, with NATS between them: readings that break an alarm
//! rule, sent to both nodes at once, raise one alarm and page each contact once per escalation
//! step (counted at a fake Twilio both nodes send through), and a pet's day is analysed once
//! although both nodes were told about its readings. Needs `PETTY_TEST_POSTGRES_URL` and NATS on
//! 127.0.0.1:4222 (CI provides both); skipped, and says so, otherwise.

use std::time::Duration;

use futures_util::future::join_all;
use serde_json::{Value, json};

use super::support::{Account, FakeTwilio, eventually, now_ms, service_up};
use super::{PgDatabase, Server, petty, start, temp_dir};

const WAIT: Duration = Duration::from_secs(30);
const PHONE: &str = "+14155550101";

fn node(name: &str, database_url: &str, twilio: &FakeTwilio) -> (Server, std::path::PathBuf) {
    let dir = temp_dir(name);
    let mut cmd = petty(&dir);
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--nats-url", "nats://127.0.0.1:4222", "--log-format", "json"])
        .env("PETTY_DATABASE_URL", database_url)
        .env("PETTY_AUTH__JWT_SECRET", "a-test-secret-shared-by-both-nodes-0123456789abcdef")
        .env("PETTY_RATE_LIMIT__ENABLED", "false")
        .env("PETTY_ANALYSIS__DELAY_SECS", "1")
        // Each analysis pass logs how many pet-days it analysed.
        .env("PETTY_LOG__LEVEL", "info,sqlx=warn,petty_jobs=debug");
    cmd.envs(twilio.env());
    (start(cmd), dir)
}

/// Pet-days this node has analysed so far, from its log of analysis passes.
fn days_analysed(server: &mut Server) -> u64 {
    server.seen.extend(server.logs.try_iter());
    server
        .seen
        .iter()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|l| l["message"] == "job pass" && l["job"] == "analysis")
        .map(|l| l["done"].as_u64().unwrap_or(0))
        .sum()
}

/// Sends each reading to node A or B in turn, all at once; every one must be stored.
async fn send_to_both(a: &Server, b: &Server, token: &str, readings: Vec<Value>) {
    let http = super::http_client();
    let sends = readings.into_iter().enumerate().map(|(i, reading)| {
        let url = if i % 2 == 0 { a.url("/api/v1/ingest") } else { b.url("/api/v1/ingest") };
        let request = http.post(url).bearer_auth(token).json(&reading);
        async move { request.send().await.unwrap().status().as_u16() }
    });
    let statuses = join_all(sends).await;
    assert!(statuses.iter().all(|s| *s == 201), "{statuses:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_raise_one_alarm_page_once_per_step_and_analyse_a_day_once() {
    if !service_up("127.0.0.1:4222", "NATS", "two nodes judging and paging together") {
        return;
    }
    let Some(db) = PgDatabase::create() else { return };
    let twilio = FakeTwilio::start().await;
    let (mut a, dir_a) = node("cluster-a", &db.url(), &twilio);
    let (mut b, dir_b) = node("cluster-b", &db.url(), &twilio);
    let on_a = Account::sign_up(&a, "cluster@example.org").await;
    let on_b = on_a.on(&b);

    // One contact with a phone; a critical alarm texts and calls at once, one round only.
    let escalation = json!({"min_severity": "major", "message_after_secs": 0, "call_after_secs": 0,
        "next_contact_after_secs": 60, "repeat_after_secs": 600, "max_rounds": 1});
    on_a.send(reqwest::Method::PUT, "/api/v1/escalation", &escalation, 200).await;
    on_b.send(
        reqwest::Method::POST,
        "/api/v1/contacts",
        &json!({"name": "Ana", "role": "secondary", "phone": PHONE}),
        201,
    )
    .await;
    let (monitor, monitor_token) = on_a
        .create_device(json!({"name": "Car monitor", "kind": "air_monitor", "calibration": {"warm_up_secs": 0}}))
        .await;
    let pet = on_b.create_pet("Bella").await;
    let (_, collar_token) =
        on_b.create_device(json!({"name": "Bella's collar", "kind": "collar", "pet_id": pet})).await;
    let mut socket = on_b.websocket(&[format!("household:{}:alarms", on_a.household)]).await;

    // Ten seconds of CO over the threshold, the readings taking turns between the nodes and
    // all sent at once (so each node judges some, in whatever order they commit).
    let t0 = now_ms() - 10_000;
    let co: Vec<Value> = (0..10).map(|i| json!({"ts": t0 + i * 1000, "co_ppm": 80.0 + i as f64})).collect();
    send_to_both(&a, &b, &monitor_token, co).await;

    // A collar's readings, also sent to both nodes at once. Both nodes' analysis jobs were just
    // woken by the CO readings and have run since (one second later): their next look of their
    // own is five seconds after that, so every collar reading is in before either looks again.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let t1 = now_ms() - 10_000;
    let walk: Vec<Value> = (0..10)
        .map(|i| json!({"ts": t1 + i * 1000, "heart_rate": 90 + i, "steps": 20 * i, "battery_pct": 90}))
        .collect();
    send_to_both(&a, &b, &collar_token, walk).await;

    // One alarm, raised on whichever node judged first, dated at the first breaking reading.
    let alarm = eventually("the CO alarm", WAIT, || async {
        let all = on_a.alarms("").await;
        all.iter().find(|x| x["type"] == "co_high").cloned().ok_or_else(|| format!("{all:?}"))
    })
    .await;
    assert_eq!(alarm["device_id"].as_str(), Some(monitor.as_str()));
    // One SMS and one call: the steps of the round.
    eventually("the SMS and the call", WAIT, || async {
        let sent = twilio.sent();
        if sent.len() >= 2 { Ok(sent) } else { Err(format!("{sent:?}")) }
    })
    .await;
    // And the pet's day, analysed.
    let today = time::OffsetDateTime::now_utc().date().to_string();
    eventually("the pet's day is analysed", WAIT, || async {
        let wellness = on_a.get(&format!("/api/v1/pets/{pet}/wellness?days=1")).await;
        let history = wellness["history"].as_array().cloned().unwrap_or_default();
        if history.iter().any(|d| d["day"] == today) { Ok(()) } else { Err(wellness.to_string()) }
    })
    .await;

    // Several passes of every job on both nodes later, nothing was done twice.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let alarms = on_b.alarms("").await;
    assert_eq!(alarms.len(), 1, "one alarm for one incident, whichever node judged: {alarms:#?}");
    let alarm = &alarms[0];
    assert_eq!((alarm["type"].as_str(), alarm["state"].as_str()), (Some("co_high"), Some("active")), "{alarm}");
    let first_at = time::OffsetDateTime::parse(
        alarm["first_at"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    assert_eq!(petty_store::to_ms(first_at), t0, "dated at the first reading over the threshold: {alarm}");
    assert_eq!(alarm["occurrences"], 1, "one incident, counted once: {alarm}");

    let sent = twilio.sent();
    let count = |resource: &str| sent.iter().filter(|s| s.resource == resource && s.to == PHONE).count();
    assert_eq!((count("Messages.json"), count("Calls.json"), sent.len()), (1, 1, 2), "one per step: {sent:#?}");
    let rows = on_a.notifications().await;
    assert_eq!(rows.len(), 2, "{rows:#?}");
    assert!(rows.iter().all(|r| r["status"] == "sent" && r["attempts"] == 1), "{rows:#?}");

    // The household heard of the alarm once, on the other node's WebSocket.
    let raised = socket.event(&format!("household:{}:alarms", on_a.household), WAIT, |d| d["event"] == "raised").await;
    assert_eq!(raised["alarm"]["type"], "co_high");
    socket.drain(Duration::from_millis(500)).await;
    let raises = socket.seen.iter().filter(|e| e["data"]["event"] == "raised").count();
    assert_eq!(raises, 1, "{:#?}", socket.seen);

    let analysed = (days_analysed(&mut a), days_analysed(&mut b));
    assert_eq!(analysed.0 + analysed.1, 1, "the pet's day analysed once in all (node A, node B): {analysed:?}");
    drop((a, b));
    let _ = (std::fs::remove_dir_all(dir_a), std::fs::remove_dir_all(dir_b));
}
