//! `petty serve --demo`: a household that looks lived in (a fortnight of history replayed
//! through the one ingest path, its alarms, anomalies and escape), whose devices keep sending,
//! made once; and `petty simulate`, which puts collars on the household's own pets and finds
//! its devices again by serial when run a second time.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::support::Account;
use super::{Server, petty, start, temp_dir};

const DAY_MS: i64 = 86_400_000;

fn demo(dir: &std::path::PathBuf) -> Server {
    let mut cmd = petty(dir);
    cmd.args(["serve", "--demo", "--listen", "127.0.0.1:0"]).env("PETTY_RATE_LIMIT__ENABLED", "false");
    start(cmd)
}

async fn sign_in_as_the_demo_owner(server: &Server) -> Account {
    let http = super::http_client();
    let credentials = json!({"email": "demo@petty.local", "password": "petty-demo-password"});
    let res = http.post(server.url("/api/v1/auth/login")).json(&credentials).send().await.unwrap();
    assert_eq!(res.status(), 200, "the demo owner signs in");
    let session: Value = res.json().await.unwrap();
    Account {
        http,
        base: server.url(""),
        access: session["access_token"].as_str().unwrap().to_owned(),
        household: session["membership"]["household_id"].as_str().unwrap().to_owned(),
    }
}

fn items(list: &Value) -> &Vec<Value> {
    list["items"].as_array().unwrap_or_else(|| panic!("a list: {list}"))
}

fn ms(rfc3339: &Value) -> i64 {
    let t = time::OffsetDateTime::parse(rfc3339.as_str().unwrap(), &time::format_description::well_known::Rfc3339);
    (t.unwrap().unix_timestamp_nanos() / 1_000_000) as i64
}

fn now_ms() -> i64 {
    (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

/// The pets' names and ids, by name.
async fn pet_ids(owner: &Account) -> std::collections::BTreeMap<String, String> {
    let pets = owner.get("/api/v1/pets").await;
    items(&pets)
        .iter()
        .map(|p| (p["name"].as_str().unwrap().to_owned(), p["id"].as_str().unwrap().to_owned()))
        .collect()
}

#[tokio::test]
async fn the_demo_household_has_a_fortnight_of_history_and_its_devices_keep_sending() {
    let dir = temp_dir("demo");
    let mut server = demo(&dir);
    let owner = sign_in_as_the_demo_owner(&server).await;
    let started = now_ms();

    let pets = pet_ids(&owner).await;
    assert_eq!(pets.keys().map(String::as_str).collect::<Vec<_>>(), ["Bella", "Miso", "Rocky"]);
    let devices = owner.get("/api/v1/devices").await;
    let serials: Vec<&str> = items(&devices).iter().filter_map(|d| d["serial"].as_str()).collect();
    assert_eq!(serials.len(), 4, "{devices}");
    for device in items(&devices) {
        // Each has sent up to the last minute or two, and reads as online.
        let latest = ms(&device["latest_ts"]);
        assert!(started - latest < 3 * 60_000, "{device}");
        assert_eq!(device["status"], "online", "{device}");
    }

    // Every pet's days are analysed: a day of five days ago has sleep and, for the dogs, walks.
    let day = started - 5 * DAY_MS;
    for (name, id) in &pets {
        let path = format!("/api/v1/pets/{id}/timeline?kinds=episode&from={}&to={}&page_size=500", day - DAY_MS, day);
        let timeline = owner.get(&path).await;
        let labels: Vec<&str> = items(&timeline).iter().filter_map(|e| e["label"].as_str()).collect();
        assert!(labels.len() >= 10, "{name}: {labels:?}");
        assert!(labels.contains(&"sleeping"), "{name}: {labels:?}");
        if name != "Miso" {
            assert!(labels.contains(&"walking"), "{name}: {labels:?}");
        }
        let wellness = owner.get(&format!("/api/v1/pets/{id}/wellness?days=7")).await;
        let scored = wellness["history"].as_array().map_or(0, |h| h.iter().filter(|d| d["score"].is_number()).count());
        assert!(scored >= 5, "{name}'s past week is scored: {wellness}");
    }

    // The fortnight's incidents, judged as they happened.
    let alarms = owner.get("/api/v1/alarms?page_size=100").await;
    let of_type = |prefix: &str| -> Vec<&Value> {
        items(&alarms).iter().filter(|a| a["type"].as_str().is_some_and(|t| t.starts_with(prefix))).collect()
    };
    let co = of_type("co_high");
    assert_eq!(co.len(), 1, "one CO incident: {alarms}");
    let co_at = ms(&co[0]["first_at"]);
    assert!((3 * DAY_MS..5 * DAY_MS).contains(&(started - co_at)), "four days ago: {}", co[0]);
    assert!(co[0]["acknowledged_at"].is_string() && co[0]["state"] == "cleared", "acknowledged, then over: {}", co[0]);
    assert!(ms(&co[0]["acknowledged_at"]) - co_at < 15 * 60_000, "answered within minutes: {}", co[0]);
    let exits = of_type("geofence_exit");
    assert_eq!(exits.len(), 1, "Bella's escape: {alarms}");
    assert_eq!(exits[0]["pet_id"].as_str(), pets.get("Bella").map(String::as_str));
    let restless = of_type("anomaly:restless_night");
    assert_eq!(restless.len(), 1, "Bella's restless night: {alarms}");
    assert_eq!(restless[0]["state"], "active", "waiting for the owner: {}", restless[0]);
    // A backfill pages nobody about what is over: only the CO incident, which was live then.
    assert!(
        items(&alarms).iter().filter(|a| a["paged"] == true).all(|a| a["type"].as_str().unwrap().starts_with("co"))
    );

    let contacts = owner.get("/api/v1/contacts").await;
    assert_eq!(contacts.as_array().map_or_else(|| items(&contacts).len(), Vec::len), 2, "{contacts}");
    let reminders = owner.get("/api/v1/reminders").await;
    let titles: Vec<&str> = items(&reminders).iter().filter_map(|r| r["title"].as_str()).collect();
    assert!(titles.contains(&"Worming tablet") && titles.len() >= 3, "{titles:?}");
    let fences = owner.get("/api/v1/geofences").await;
    assert_eq!(fences.as_array().map_or_else(|| items(&fences).len(), Vec::len), 1, "{fences}");

    // The devices keep sending.
    let bella = items(&devices).iter().find(|d| d["serial"] == "DEMO-COLLAR-BELLA").unwrap();
    let before = ms(&bella["latest_ts"]);
    let deadline = Instant::now() + Duration::from_secs(150);
    loop {
        let now = owner.get(&format!("/api/v1/devices/{}", bella["id"].as_str().unwrap())).await;
        if ms(&now["latest_ts"]) > before {
            break;
        }
        assert!(Instant::now() < deadline, "no new reading from Bella's collar: {now}");
        tokio::time::sleep(Duration::from_secs(2)).await;
    }

    // Made once: a second start finds it and adds nothing.
    server.terminate();
    let (ok, logs) = server.wait_exit();
    assert!(ok, "{logs:#?}");
    let mut again = demo(&dir);
    assert!(again.seen.iter().any(|l| l.contains("demo household already present")), "{:#?}", again.seen);
    let owner = sign_in_as_the_demo_owner(&again).await;
    assert_eq!(pet_ids(&owner).await.len(), 3);
    assert_eq!(items(&owner.get("/api/v1/devices").await).len(), 4);
    again.terminate();
    let (ok, logs) = again.wait_exit();
    assert!(ok, "{logs:#?}");
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn simulate_puts_collars_on_the_household_s_pets_and_finds_its_devices_again() {
    let dir = temp_dir("simulate");
    let mut cmd = petty(&dir);
    cmd.args(["serve", "--listen", "127.0.0.1:0"]).env("PETTY_RATE_LIMIT__ENABLED", "false");
    let mut server = start(cmd);
    let http = super::http_client();
    let body = json!({"email": "sim@example.org", "password": "correct horse battery staple", "display_name": "Sim"});
    let session = super::sign_up(&http, &server, &body).await;
    let owner = Account {
        http,
        base: server.url(""),
        access: session["access_token"].as_str().unwrap().to_owned(),
        household: session["membership"]["household_id"].as_str().unwrap().to_owned(),
    };
    let pip = owner.send(reqwest::Method::POST, "/api/v1/pets", &json!({"name": "Pip", "species": "dog"}), 201).await;
    let tom = owner.send(reqwest::Method::POST, "/api/v1/pets", &json!({"name": "Tom", "species": "cat"}), 201).await;
    let simulate = || {
        let mut cmd = petty(&dir);
        cmd.args(["simulate", "--url", &server.url(""), "--email", "sim@example.org"])
            .args(["--password", "correct horse battery staple", "--collars", "3", "--monitors", "1"])
            .args(["--rate", "0", "--hours", "1", "--accel-hz", "0"]);
        let out = cmd.output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "{err}");
        err
    };

    let first = simulate();
    assert!(first.contains("devices: 0 found by serial, 4 new; pets: 1 new"), "{first}");
    let pets = pet_ids(&owner).await;
    assert_eq!(pets.len(), 3, "Pip, Tom and one dog for the third collar: {pets:?}");
    let devices = owner.get("/api/v1/devices").await;
    let worn: Vec<&str> = items(&devices).iter().filter_map(|d| d["pet_id"].as_str()).collect();
    assert!(worn.contains(&pip["id"].as_str().unwrap()) && worn.contains(&tom["id"].as_str().unwrap()), "{devices}");
    assert!(items(&devices).iter().all(|d| d["latest_ts"].is_string()), "every device sent: {devices}");

    let second = simulate();
    assert!(second.contains("devices: 4 found by serial, 0 new; pets: 0 new"), "{second}");
    assert_eq!(pet_ids(&owner).await.len(), 3);
    assert_eq!(items(&owner.get("/api/v1/devices").await).len(), 4);

    server.terminate();
    let (ok, logs) = server.wait_exit();
    assert!(ok, "{logs:#?}");
    let _ = std::fs::remove_dir_all(dir);
}
