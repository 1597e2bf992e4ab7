//! `petty move --to postgres://...`: the demo household's fortnight moved from its SQLite file
//! into PostgreSQL, once straight through and once killed halfway and run again: both give the
//! same tables, row for row (the checksums `petty move` verifies on both sides), and Petty on
//! PostgreSQL answers as it did on SQLite.

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::{PgDatabase, Server, answer, http_client, petty, start, temp_dir};

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// The per-table lines `petty move` prints: name, rows, checksum.
fn tables(out: &Output) -> Vec<String> {
    String::from_utf8_lossy(&out.stdout).lines().filter(|l| l.contains(" sha256 ")).map(str::to_owned).collect()
}

fn moved_rows(url: &str) -> i64 {
    let out = Command::new("psql")
        .args([url, "-Atc", "SELECT COALESCE(SUM(rows), 0) FROM _petty_move"])
        .output()
        .expect("psql");
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap_or(0)
}

/// What the demo owner sees: the pets' names and each device's newest reading.
async fn view(server: &Server) -> Value {
    let client = http_client();
    let credentials = json!({"email": "demo@petty.local", "password": "petty-demo-password"});
    let login = answer(client.post(server.url("/api/v1/auth/login")).json(&credentials)).await;
    let token = login["access_token"].as_str().expect("the demo owner signs in").to_owned();
    let get = |path: String| answer(client.get(server.url(&path)).bearer_auth(&token));
    let pets = get("/api/v1/pets".to_owned()).await;
    let mut names: Vec<String> = pets["items"].as_array().unwrap().iter().map(|p| p["name"].to_string()).collect();
    names.sort();
    let devices = get("/api/v1/devices".to_owned()).await;
    let mut latest = Vec::new();
    for d in devices["items"].as_array().unwrap() {
        let id = d["id"].as_str().unwrap();
        let reading = get(format!("/api/v1/devices/{id}/readings/latest")).await;
        latest.push(json!({"device": d["name"], "ts": reading["ts"], "seq": reading["seq"]}));
    }
    latest.sort_by_key(|v| v.to_string());
    // Two compatibility profiles read the same household through their own routes.
    let signed = answer(client.post(server.url("/compat/petmgmt/api/v1/auth/login")).json(&credentials)).await;
    let profile_token = signed["data"]["accessToken"].as_str().expect("the profile's sign-in").to_owned();
    let petmgmt = answer(client.get(server.url("/compat/petmgmt/api/v1/pets")).bearer_auth(&profile_token)).await;
    let mut petmgmt: Vec<String> = petmgmt["data"]["pets"]
        .as_array()
        .unwrap_or_else(|| panic!("the Pet Management profile's pets: {petmgmt}"))
        .iter()
        .map(|p| format!("{} ({}, vaccines {})", p["name"], p["breed"], p["vaccineStatus"]))
        .collect();
    petmgmt.sort();
    let aurora = get("/compat/aurora/api/v1/events".to_owned()).await;
    assert!(aurora["total"].is_number(), "the AURORA_LIFE profile's events: {aurora}");
    json!({"pets": names, "latest": latest, "petmgmt_pets": petmgmt, "aurora_events": aurora["total"]})
}

fn serve(dir: &Path, database_url: Option<&str>) -> Server {
    let mut cmd = petty(&dir.to_path_buf());
    cmd.args(["serve", "--listen", "127.0.0.1:0"]).env("PETTY_DEMO__LIVE_DEVICES", "false");
    match database_url {
        Some(url) => cmd.env("PETTY_DATABASE_URL", url),
        None => cmd.arg("--demo"),
    };
    start(cmd)
}

#[tokio::test]
async fn an_interrupted_move_to_postgresql_ends_as_an_uninterrupted_one() {
    let (Some(straight), Some(cut)) = (PgDatabase::create(), PgDatabase::create()) else { return };
    let dir = temp_dir("move");
    let mut sqlite = serve(&dir, None);
    let before = view(&sqlite).await;
    sqlite.terminate();
    assert!(sqlite.wait_exit().0, "the SQLite server stops cleanly");

    let out = petty(&dir).args(["move", "--to", &straight.url()]).output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("every table has the same rows and checksum on both sides"), "{}", text(&out));
    let expected = tables(&out);
    assert!(expected.iter().any(|l| l.starts_with("readings ") && !l.contains(" 0 rows")), "{expected:?}");

    // Killed once some batches are in, then run again.
    let mut first = petty(&dir).args(["move", "--to", &cut.url()]).spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    while moved_rows(&cut.url()) == 0 {
        assert!(Instant::now() < deadline, "the move did not start");
        assert!(first.try_wait().unwrap().is_none(), "the move ended before it could be interrupted");
        std::thread::sleep(Duration::from_millis(20));
    }
    first.kill().unwrap();
    first.wait().unwrap();
    assert!(moved_rows(&cut.url()) > 0, "part of the data was moved before the kill");
    let out = petty(&dir).args(["move", "--to", &cut.url()]).output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(tables(&out), expected, "the same tables, rows and checksums as the uninterrupted move");

    // Once moved, the database is no longer empty: a second move is refused.
    let out = petty(&dir).args(["move", "--to", &cut.url()]).output().unwrap();
    assert!(!out.status.success() && text(&out).contains("is not empty"), "{}", text(&out));

    // Petty on PostgreSQL answers as it did on SQLite.
    let postgres = serve(&dir, Some(&cut.url()));
    assert_eq!(view(&postgres).await, before);
    drop(postgres);
    let _ = std::fs::remove_dir_all(dir);
}
