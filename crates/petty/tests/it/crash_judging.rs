//! Crash while judging: a backlog of collars' readings, most ending in a racing heart, is
//! ingested; the server is killed with SIGKILL while the alarm job is working through it (some
//! alarms raised, not all) and started again on the same data. Then every incident has exactly
//! one alarm (none missed, none raised twice, none for a collar that was fine, each counted
//! once), and each contact got exactly one SMS per alarm at a fake Twilio. On SQLite always, on
//! PostgreSQL when `PETTY_TEST_POSTGRES_URL` is set.
//!
//! The household's text messages go out a few seconds after an alarm starts, later than the
//! kill: so none is on the wire at the moment of the kill, and a second message for an alarm
//! can only come from judging twice. (A message on the wire at a kill is sent again after the
//! restart: delivery is at least once, as the README says.) The devices the killed process had
//! claimed are judged again once its claim (15 s) runs out, so this test takes about 25 s.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde_json::{Value, json};

use super::support::{Account, FakeTwilio, eventually, now_ms};
use super::{PgDatabase, Server, petty, start, temp_dir};

/// Collars in the backlog; every fifth stays calm.
const COLLARS: usize = 200;
/// Readings per collar, 3 s apart, the newest at the time of the backlog.
const READINGS: i64 = 20;
/// Seconds after an alarm starts before its SMS is due.
const MESSAGE_AFTER_SECS: i64 = 10;
const PHONE: &str = "+14155550101";

fn breaks(i: usize) -> bool {
    i % 5 != 0
}

fn name(i: usize) -> String {
    format!("collar {i:03}")
}

fn server(dir: &Path, database_url: Option<&str>, twilio: &FakeTwilio) -> Server {
    let mut cmd = petty(&dir.to_path_buf());
    cmd.args(["serve", "--listen", "127.0.0.1:0"])
        .env("PETTY_RATE_LIMIT__ENABLED", "false")
        // A judging pass waits a moment for more readings: the backlog is judged as one.
        .env("PETTY_NOTIFY__ALARM_DELAY_MS", "500")
        .env("PETTY_AUTH__JWT_SECRET", "a-test-secret-for-the-crash-while-judging-0123456789");
    if let Some(url) = database_url {
        cmd.env("PETTY_DATABASE_URL", url);
    }
    cmd.envs(twilio.env());
    start(cmd)
}

async fn every_incident_has_one_alarm_and_one_message(database_url: Option<&str>, label: &str) {
    let dir = temp_dir(label);
    let twilio = FakeTwilio::start().await;
    let mut first = server(&dir, database_url, &twilio);
    let account = Account::sign_up(&first, &format!("{label}@example.org")).await;
    account.tune_rule("heart_high", json!({"for_secs": 0})).await;
    let escalation = json!({"min_severity": "major", "message_after_secs": MESSAGE_AFTER_SECS,
        "call_after_secs": 3600, "next_contact_after_secs": 3600, "repeat_after_secs": 3600, "max_rounds": 1});
    account.send(reqwest::Method::PUT, "/api/v1/escalation", &escalation, 200).await;
    let contact = json!({"name": "Ana", "role": "secondary", "phone": PHONE});
    account.send(reqwest::Method::POST, "/api/v1/contacts", &contact, 201).await;
    let devices: Vec<(String, String)> = futures_util::stream::iter(0..COLLARS)
        .map(|i| {
            let account = account.clone();
            async move { account.create_device(json!({"name": name(i), "kind": "collar"})).await }
        })
        .buffered(8)
        .collect()
        .await;

    // The backlog: a minute of each collar, the newest reading now; for most, that one is a
    // racing heart.
    let t = now_ms();
    let statuses: Vec<u16> = futures_util::stream::iter(devices.iter().enumerate())
        .map(|(i, (_, token))| {
            let readings: Vec<Value> = (0..READINGS)
                .map(|k| {
                    let newest = k == READINGS - 1;
                    let bpm = if newest && breaks(i) { 200 } else { 90 + k };
                    json!({"ts": t - (READINGS - 1 - k) * 3000, "heart_rate": bpm})
                })
                .collect();
            let request = account.http.post(account.url("/api/v1/ingest")).bearer_auth(token);
            let request = request.json(&json!({"readings": readings}));
            async move { request.send().await.unwrap().status().as_u16() }
        })
        .buffered(8)
        .collect()
        .await;
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    let incidents = (0..COLLARS).filter(|i| breaks(*i)).count();

    // Kill it while it judges: some alarms raised (at least a number picked at random, so that
    // runs kill at different points of the work), not all.
    let target = 1 + rand::random::<u64>() as usize % (incidents / 2);
    let started = Instant::now();
    let raised_at_kill = loop {
        let raised = account.alarms("").await.len();
        if raised >= target && raised < incidents {
            first.child.kill().unwrap();
            first.child.wait().unwrap();
            break raised;
        }
        assert!(raised < incidents, "judging ended before the kill: make the backlog bigger");
        assert!(started.elapsed() < Duration::from_secs(30), "judging did not start");
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    let killed_after_ms = now_ms() - t;
    assert!(
        killed_after_ms < (MESSAGE_AFTER_SECS - 2) * 1000 && twilio.sent().is_empty(),
        "the kill came {killed_after_ms} ms in, when messages could be on the wire"
    );

    // The same data, a new process: it finishes the work, and the messages go out.
    let second = server(&dir, database_url, &twilio);
    let account = account.on(&second);
    let wait = Duration::from_secs(120);
    eventually("an alarm for every incident", wait, || async {
        let n = account.alarms("").await.len();
        if n >= incidents { Ok(()) } else { Err(format!("{n} alarms of {incidents}")) }
    })
    .await;
    eventually("a message for every alarm", wait, || async {
        let n = twilio.sent().len();
        if n >= incidents { Ok(()) } else { Err(format!("{n} messages of {incidents}")) }
    })
    .await;
    // Further passes of the judge and the outbox change nothing.
    tokio::time::sleep(Duration::from_secs(5)).await;

    let by_name: BTreeMap<String, String> =
        devices.iter().enumerate().map(|(i, (id, _))| (id.clone(), name(i))).collect();
    let alarms = account.alarms("").await;
    let mut per_collar: BTreeMap<String, Vec<&Value>> = BTreeMap::new();
    for alarm in &alarms {
        let device = alarm["device_id"].as_str().unwrap_or_default();
        per_collar.entry(by_name.get(device).cloned().unwrap_or_else(|| device.to_owned())).or_default().push(alarm);
    }
    let sent = twilio.sent();
    for i in 0..COLLARS {
        let collar = name(i);
        let found = per_collar.remove(&collar).unwrap_or_default();
        let messages = sent.iter().filter(|s| s.text.contains(&format!("{collar}."))).count();
        if breaks(i) {
            assert_eq!(found.len(), 1, "{collar}: one alarm for its incident: {found:#?}");
            let alarm = found[0];
            assert_eq!((alarm["type"].as_str(), alarm["value"].as_f64()), (Some("heart_high"), Some(200.0)));
            assert_eq!(alarm["occurrences"], 1, "{collar}: its reading judged once: {alarm}");
            assert_eq!(messages, 1, "{collar}: one SMS for its alarm");
        } else {
            assert!(found.is_empty(), "{collar} was fine: {found:#?}");
            assert_eq!(messages, 0, "{collar} was fine");
        }
    }
    assert!(per_collar.is_empty(), "alarms for nothing: {per_collar:#?}");
    assert!(sent.iter().all(|s| s.resource == "Messages.json" && s.to == PHONE), "{sent:#?}");
    assert_eq!(sent.len(), incidents, "no other message");
    let rows = account.notifications().await;
    assert_eq!(rows.len(), incidents, "one outbox row per alarm and step");
    assert!(rows.iter().all(|r| r["status"] == "sent"), "{rows:#?}");
    eprintln!(
        "{label}: killed {killed_after_ms} ms after the backlog with {raised_at_kill} of {incidents} alarms raised; \
         after the restart every incident has one alarm and one SMS"
    );
    drop(second);
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kill_while_judging_misses_no_alarm_and_sends_nothing_twice_on_sqlite() {
    every_incident_has_one_alarm_and_one_message(None, "judging-sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kill_while_judging_misses_no_alarm_and_sends_nothing_twice_on_postgresql() {
    let Some(db) = PgDatabase::create() else { return };
    every_incident_has_one_alarm_and_one_message(Some(&db.url()), "judging-postgres").await;
}
