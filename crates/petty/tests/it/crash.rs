//! Durability: clients send readings while the server is killed with SIGKILL at a random
//! moment; after a restart, every reading the server acknowledged is there. On SQLite always,
//! on PostgreSQL when `PETTY_TEST_POSTGRES_URL` is set.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

use super::{PgDatabase, Server, http_client, petty, sign_up, start, temp_dir};

const CLIENTS: u64 = 6;

fn server(dir: &PathBuf, database_url: Option<&str>) -> Server {
    let mut cmd = petty(dir);
    cmd.args(["serve", "--listen", "127.0.0.1:0"]).env("PETTY_RATE_LIMIT__ENABLED", "false");
    if let Some(url) = database_url {
        cmd.env("PETTY_DATABASE_URL", url);
    }
    start(cmd)
}

fn now_ms() -> i64 {
    (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

async fn post(
    client: &reqwest::Client,
    url: String,
    token: &str,
    body: &Value,
) -> Result<(u16, Value), reqwest::Error> {
    let res = client.post(url).bearer_auth(token).json(body).send().await?;
    let status = res.status().as_u16();
    Ok((status, res.json().await?))
}

async fn every_acknowledged_reading_survives(database_url: Option<&str>, name: &str) {
    let dir = temp_dir(name);
    let started_ms = now_ms();
    let mut first = server(&dir, database_url);
    let client = http_client();
    let credentials = json!({"email": "crash@example.org", "password": "correct horse battery staple"});
    let mut register = credentials.clone();
    register["display_name"] = json!("Crash");
    let access = sign_up(&client, &first, &register).await["access_token"].as_str().unwrap().to_owned();
    let (status, device) =
        post(&client, first.url("/api/v1/devices"), &access, &json!({"name": "collar", "kind": "collar"}))
            .await
            .unwrap();
    assert_eq!(status, 201);
    let device_id = device["device"]["id"].as_str().unwrap().to_owned();
    let token = device["token"].as_str().unwrap().to_owned();

    // Clients send single readings and batches as fast as they can, noting what was acknowledged.
    let acknowledged = Arc::new(Mutex::new(BTreeSet::new()));
    let mut clients = Vec::new();
    for c in 0..CLIENTS {
        let (client, url, token, acknowledged) =
            (client.clone(), first.url("/api/v1/ingest"), token.clone(), acknowledged.clone());
        clients.push(tokio::spawn(async move {
            let mut seq = c * 1_000_000;
            for round in 0u64.. {
                let (body, seqs): (Value, Vec<u64>) = if round % 4 == 3 {
                    let seqs: Vec<u64> = (seq..seq + 25).collect();
                    let readings: Vec<Value> =
                        seqs.iter().map(|s| json!({"ts": now_ms(), "seq": s, "heart_rate": 80})).collect();
                    (json!({"readings": readings}), seqs)
                } else {
                    (json!({"ts": now_ms(), "seq": seq, "heart_rate": 80}), vec![seq])
                };
                seq += seqs.len() as u64;
                match post(&client, url.clone(), &token, &body).await {
                    Ok((201, _)) => acknowledged.lock().unwrap().extend(seqs),
                    Ok((200, answer)) if seqs.len() > 1 => {
                        assert_eq!(answer["accepted"], 25, "{answer}");
                        acknowledged.lock().unwrap().extend(seqs);
                    }
                    Ok((status, answer)) => panic!("unexpected answer {status}: {answer}"),
                    // The server is gone: a request that got no answer was never acknowledged.
                    Err(_) => return,
                }
            }
        }));
    }
    let delay = 300 + rand::random::<u64>() % 700;
    tokio::time::sleep(Duration::from_millis(delay)).await;
    first.child.kill().unwrap();
    first.child.wait().unwrap();
    for c in clients {
        c.await.unwrap();
    }
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(acknowledged.len() > 50, "the clients got going before the kill ({} acknowledged)", acknowledged.len());

    let second = server(&dir, database_url);
    let res = client.post(second.url("/api/v1/auth/login")).json(&credentials).send().await.unwrap();
    let access = res.json::<Value>().await.unwrap()["access_token"].as_str().unwrap().to_owned();
    let mut stored = BTreeSet::new();
    let base = format!(
        "/api/v1/devices/{device_id}/readings?limit=5000&from={}&to={}",
        started_ms - 60_000,
        now_ms() + 600_000
    );
    let mut url = second.url(&base);
    loop {
        let page: Value = client.get(&url).bearer_auth(&access).send().await.unwrap().json().await.unwrap();
        stored.extend(page["items"].as_array().unwrap().iter().map(|r| r["seq"].as_u64().unwrap()));
        match page["next_cursor"].as_str() {
            Some(cursor) => url = second.url(&format!("{base}&cursor={cursor}")),
            None => break,
        }
    }
    let lost: Vec<_> = acknowledged.difference(&stored).take(10).collect();
    assert!(lost.is_empty(), "acknowledged but lost after kill -9 at {delay} ms: {lost:?} (of {})", acknowledged.len());
    // The charts count every stored reading once: on SQLite the summaries that waited in memory
    // for their fold when the process was killed are recomputed from the readings at the start.
    let rollups = format!(
        "/api/v1/devices/{device_id}/rollups?metric=heart_rate&resolution=1m&from={}&to={}",
        started_ms - 60_000,
        now_ms() + 600_000
    );
    let page: Value = client.get(second.url(&rollups)).bearer_auth(&access).send().await.unwrap().json().await.unwrap();
    let counted: u64 = page["items"].as_array().unwrap().iter().map(|p| p["count"].as_u64().unwrap()).sum();
    assert_eq!(counted, stored.len() as u64, "the minutes' counts after kill -9 at {delay} ms");
    eprintln!("{name}: killed at {delay} ms; {} acknowledged, {} stored, none lost", acknowledged.len(), stored.len());
    drop(second);
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_readings_survive_kill_9_on_sqlite() {
    every_acknowledged_reading_survives(None, "crash-sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_readings_survive_kill_9_on_postgresql() {
    let Some(db) = PgDatabase::create() else { return };
    every_acknowledged_reading_survives(Some(&db.url()), "crash-postgres").await;
}
