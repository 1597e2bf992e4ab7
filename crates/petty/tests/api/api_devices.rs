//! Devices and ingest through the API: device tokens, single readings and batches, duplicates,
//! the field-and-rule answers to bad readings, API keys that name a device, and reading pages.

use reqwest::StatusCode;
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::harness::{TestApp, error_code, spawn_app, spawn_app_with};

/// Creates a collar and returns (its JSON, its token).
async fn collar(app: &TestApp, token: &str, name: &str) -> (Value, String) {
    let res = app
        .post_json(
            "/api/v1/devices",
            &json!({"name": name, "kind": "collar", "expected_interval_secs": 60}),
            Some(token),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    assert!(res.headers()["location"].to_str().unwrap().starts_with("/api/v1/devices/"));
    let body: Value = res.json().await.unwrap();
    let device_token = body["token"].as_str().unwrap().to_owned();
    assert!(device_token.starts_with("dk_"));
    (body["device"].clone(), device_token)
}

fn now_ms(offset_secs: i64) -> i64 {
    (OffsetDateTime::now_utc().unix_timestamp() + offset_secs) * 1000
}

async fn ingest(app: &TestApp, token: &str, body: &Value) -> (StatusCode, Value) {
    let res = app.post_json("/api/v1/ingest", body, Some(token)).await;
    let status = res.status();
    (status, res.json().await.unwrap())
}

#[tokio::test]
async fn a_device_sends_readings_with_its_token_and_resends_are_duplicates() {
    let app = spawn_app().await;
    let ana = app.register("Ana").await;
    let (device, token) = collar(&app, &ana.access_token, "Bella's collar").await;
    assert_eq!(device["status"], "never_seen");
    assert_eq!(device["has_token"], true);
    let id = device["id"].as_str().unwrap();

    let ts = now_ms(-30);
    let reading =
        json!({"ts": ts, "seq": 7, "heart_rate": 92, "battery_pct": 15, "location": {"lat": 52.37, "lon": 4.89}});
    assert_eq!(ingest(&app, &token, &reading).await, (StatusCode::CREATED, json!({"status": "accepted"})));
    assert_eq!(ingest(&app, &token, &reading).await, (StatusCode::OK, json!({"status": "duplicate"})));

    let latest: Value =
        app.get(&format!("/api/v1/devices/{id}/readings/latest"), Some(&ana.access_token)).await.json().await.unwrap();
    assert_eq!(latest["heart_rate"], 92.0);
    assert_eq!(latest["seq"], 7);
    assert_eq!(latest["location"]["lat"], 52.37);
    let seen: Value = app.get(&format!("/api/v1/devices/{id}"), Some(&ana.access_token)).await.json().await.unwrap();
    assert_eq!(seen["status"], "online");
    assert_eq!(seen["battery_low"], true);

    // A device token is for readings only.
    let res = app.get("/api/v1/pets", Some(&token)).await;
    assert_eq!(error_code(res).await.0, StatusCode::FORBIDDEN);

    // Rotation: the old token stops at once, the new one works.
    let res = app.post_json(&format!("/api/v1/devices/{id}/token"), &json!({}), Some(&ana.access_token)).await;
    let rotated: Value = res.json().await.unwrap();
    let new_token = rotated["token"].as_str().unwrap();
    let (status, error) = ingest(&app, &token, &json!({"ts": now_ms(0), "heart_rate": 90})).await;
    assert_eq!((status, error["error"]["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("unauthenticated")));
    assert_eq!(ingest(&app, new_token, &json!({"ts": now_ms(0), "heart_rate": 90})).await.0, StatusCode::CREATED);
}

#[tokio::test]
async fn a_bad_reading_is_refused_with_the_field_and_rule_and_changes_nothing() {
    let app = spawn_app().await;
    let ana = app.register("Ana").await;
    let (device, token) = collar(&app, &ana.access_token, "collar").await;
    let id = device["id"].as_str().unwrap();

    let (status, body) =
        ingest(&app, &token, &json!({"ts": now_ms(0), "heart_rate": 1000, "activity_level": 1.5})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let details: Vec<(String, String)> = body["error"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["field"].as_str().unwrap().to_owned(), d["rule"].as_str().unwrap().to_owned()))
        .collect();
    assert!(details.contains(&("heart_rate".into(), "out_of_range".into())), "{details:?}");
    assert!(details.contains(&("activity_level".into(), "not_integer".into())), "{details:?}");

    let (status, body) = ingest(&app, &token, &json!({"ts": now_ms(3600), "heart_rate": 80})).await;
    assert_eq!(
        (status, body["error"]["details"][0]["rule"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("in_future"))
    );
    let (status, body) = ingest(&app, &token, &json!({"ts": now_ms(0), "heart_rate": "fast"})).await;
    assert_eq!(
        (status, body["error"]["details"][0]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("heart_rate"))
    );
    let (status, body) = ingest(&app, &token, &json!({"ts": now_ms(0), "hart_rate": 80})).await;
    assert_eq!(
        (status, body["error"]["details"][0]["rule"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("unknown_field"))
    );

    let res = app.get(&format!("/api/v1/devices/{id}/readings/latest"), Some(&ana.access_token)).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT, "nothing was stored: the device is there, its readings are not");
}

#[tokio::test]
async fn a_batch_answers_reading_by_reading() {
    let app = spawn_app().await;
    let ana = app.register("Ana").await;
    let (device, token) = collar(&app, &ana.access_token, "collar").await;
    let id = device["id"].as_str().unwrap();
    let t = now_ms(-600);
    assert_eq!(ingest(&app, &token, &json!({"ts": t, "heart_rate": 80})).await.0, StatusCode::CREATED);

    let batch = json!({"readings": [
        {"ts": t, "heart_rate": 80},
        {"ts": t + 1000, "heart_rate": 81},
        {"ts": t + 2000, "heart_rate": -5},
        {"ts": t + 3000, "co_ppm": 12.5, "extra": {"lick_seconds": 4}},
    ]});
    let (status, body) = ingest(&app, &token, &batch).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (body["accepted"].as_u64(), body["duplicates"].as_u64(), body["rejected"].as_u64()),
        (Some(2), Some(1), Some(1))
    );
    let statuses: Vec<&str> =
        body["results"].as_array().unwrap().iter().map(|r| r["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["duplicate", "accepted", "rejected", "accepted"]);
    assert_eq!(body["results"][2]["errors"][0]["field"], "readings[2].heart_rate");

    let (status, body) = ingest(&app, &token, &json!({"ts": t, "heart_rate": 80, "readings": []})).await;
    assert_eq!(
        (status, body["error"]["details"][0]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("readings"))
    );

    // Pages of two, oldest first, following next_cursor to the end.
    let mut url = format!("/api/v1/devices/{id}/readings?from={}&limit=2", t - 1);
    let mut seen = Vec::new();
    loop {
        let page: Value = app.get(&url, Some(&ana.access_token)).await.json().await.unwrap();
        seen.extend(page["items"].as_array().unwrap().iter().map(|r| r["ts"].as_str().unwrap().to_owned()));
        match page["next_cursor"].as_str() {
            Some(cursor) => url = format!("/api/v1/devices/{id}/readings?from={}&limit=2&cursor={cursor}", t - 1),
            None => break,
        }
    }
    assert_eq!(seen.len(), 3);
    assert!(seen.windows(2).all(|w| w[0] < w[1]), "{seen:?}");

    // The accepted heart rates (80, 81; not the duplicate, not the rejected -5) in one day's summary.
    let day: Value = app
        .get(
            &format!("/api/v1/devices/{id}/rollups?metric=heart_rate&resolution=1d&from={}", t - 1),
            Some(&ana.access_token),
        )
        .await
        .json()
        .await
        .unwrap();
    let total: u64 = day["items"].as_array().unwrap().iter().map(|r| r["count"].as_u64().unwrap()).sum();
    assert_eq!(total, 2, "{day}");
    assert_eq!(day["unit"], "beats per minute");
    let res =
        app.get(&format!("/api/v1/devices/{id}/rollups?metric=pulse&resolution=1d"), Some(&ana.access_token)).await;
    let (status, error) = error_code(res).await;
    assert_eq!((status, error["details"][0]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("metric")));
}

#[tokio::test]
async fn an_api_key_names_the_device_and_households_stay_apart() {
    let app = spawn_app().await;
    let ana = app.register("Ana").await;
    let bo = app.register("Bo").await;
    let (device, _) = collar(&app, &ana.access_token, "collar").await;
    let id = device["id"].as_str().unwrap();
    let key = |scope: &'static str| {
        let app = &app;
        let token = ana.access_token.clone();
        async move {
            let res = app
                .post_json("/api/v1/api-keys", &json!({"name": format!("{scope} key"), "scope": scope}), Some(&token))
                .await;
            res.json::<Value>().await.unwrap()["key"].as_str().unwrap().to_owned()
        }
    };
    let writer = key("write").await;
    let reader = key("read").await;
    let reading = json!({"device_id": id, "ts": now_ms(0), "heart_rate": 70});
    assert_eq!(ingest(&app, &writer, &reading).await.0, StatusCode::CREATED);
    assert_eq!(ingest(&app, &reader, &reading).await.0, StatusCode::FORBIDDEN);
    let (status, body) = ingest(&app, &writer, &json!({"ts": now_ms(0), "heart_rate": 70})).await;
    assert_eq!(
        (status, body["error"]["details"][0]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("device_id"))
    );
    // Bo cannot send to, see, or read Ana's device.
    assert_eq!(ingest(&app, &bo.access_token, &reading).await.0, StatusCode::NOT_FOUND);
    assert_eq!(app.get(&format!("/api/v1/devices/{id}"), Some(&bo.access_token)).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        app.get(&format!("/api/v1/devices/{id}/readings"), Some(&bo.access_token)).await.status(),
        StatusCode::NOT_FOUND
    );
    let list: Value = app.get("/api/v1/devices", Some(&bo.access_token)).await.json().await.unwrap();
    assert_eq!(list["total"], 0);
    assert_eq!(ingest(&app, "dk_not-a-real-token", &reading).await.0, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn export_streams_csv_and_json_lines_that_import_back_idempotently() {
    let app = spawn_app().await;
    let ana = app.register("Ana").await;
    let (source, token) = collar(&app, &ana.access_token, "old collar").await;
    let (target, target_token) = collar(&app, &ana.access_token, "new collar").await;
    let t = now_ms(-3600);
    let readings: Vec<Value> = (0..2500)
        .map(|i| json!({"ts": t + i * 1000, "seq": i, "heart_rate": 60 + i % 40, "extra": {"lick_seconds": i % 7}}))
        .collect();
    let (status, body) = ingest(&app, &token, &json!({"readings": readings})).await;
    assert_eq!((status, body["accepted"].as_u64()), (StatusCode::OK, Some(2500)));
    let source_id = source["id"].as_str().unwrap();
    let target_id = target["id"].as_str().unwrap();

    let res = app.get(&format!("/api/v1/devices/{source_id}/export?format=csv"), Some(&ana.access_token)).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    let csv = res.text().await.unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 2501, "a header and every reading, across several pages");
    assert!(lines[0].starts_with("ts,seq,received_at,heart_rate,"), "{}", lines[0]);

    let jsonl = app.get(&format!("/api/v1/devices/{source_id}/export?format=jsonl"), Some(&ana.access_token)).await;
    let jsonl = jsonl.text().await.unwrap();
    assert_eq!(jsonl.lines().count(), 2500);
    let first: Value = serde_json::from_str(jsonl.lines().next().unwrap()).unwrap();
    assert_eq!((first["seq"].as_u64(), first["heart_rate"].as_f64()), (Some(0), Some(60.0)));

    let import = |body: String, content_type: &'static str| {
        let app = &app;
        let token = target_token.clone();
        async move {
            let res = app
                .client
                .post(app.url("/api/v1/import"))
                .bearer_auth(token)
                .header("content-type", content_type)
                .body(body)
                .send()
                .await
                .unwrap();
            let status = res.status();
            (status, res.json::<Value>().await.unwrap())
        }
    };
    let (status, done) = import(csv.clone(), "text/csv").await;
    assert_eq!(
        (status, done["accepted"].as_u64(), done["rejected"].as_u64()),
        (StatusCode::OK, Some(2500), Some(0)),
        "{done}"
    );
    let (_, again) = import(jsonl, "application/x-ndjson").await;
    assert_eq!(
        (again["accepted"].as_u64(), again["duplicates"].as_u64()),
        (Some(0), Some(2500)),
        "importing twice stores nothing twice"
    );
    let copied = app.get(&format!("/api/v1/devices/{target_id}/export?format=csv"), Some(&ana.access_token)).await;
    let copied = copied.text().await.unwrap();
    let without_arrival = |text: &str| -> Vec<String> {
        text.lines()
            .map(|l| l.split(',').enumerate().filter(|(i, _)| *i != 2).map(|(_, c)| c).collect::<Vec<_>>().join(","))
            .collect()
    };
    assert_eq!(without_arrival(&copied), without_arrival(&csv), "the copy holds the same readings");

    let bad = "ts,seq,heart_rate\n2026-01-01T00:00:00Z,1,fast\n2026-01-01T00:00:01Z,2,500\n2026-01-01T00:00:02Z,3,70\n";
    let (status, report) = import(bad.to_owned(), "text/csv").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!((report["accepted"].as_u64(), report["rejected"].as_u64()), (Some(1), Some(2)), "{report}");
    assert_eq!((report["errors"][0]["line"].as_u64(), report["errors"][0]["rule"].as_str()), (Some(2), Some("type")));
    assert_eq!(
        (report["errors"][1]["line"].as_u64(), report["errors"][1]["rule"].as_str()),
        (Some(3), Some("out_of_range"))
    );
    let (status, _) = import("ts,pulse\n1,2\n".to_owned(), "text/csv").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}

/// Issue 13: an import is read as it arrives, not buffered whole (four 64 MiB imports took
/// 370 MB). Half a body in, the first chunks are stored already; 200,000 lines give the same
/// counts and line numbers as before.
#[tokio::test]
async fn a_large_import_is_stored_while_it_arrives_with_the_same_answer() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = spawn_app_with(|c| c.request_timeout = std::time::Duration::from_secs(600)).await;
    let ana = app.register("Ana").await;
    let (device, token) = collar(&app, &ana.access_token, "Bella's collar").await;
    let id = device["id"].as_str().unwrap().to_owned();
    const LINES: i64 = 200_000;
    let t0 = now_ms(-6 * 3600);
    let line = |i: i64| {
        if i % 10_000 == 9_999 {
            format!("{{\"ts\": {}, \"heart_rate\": 900}}\n", t0 + i * 100)
        } else {
            format!("{{\"ts\": {}, \"seq\": {i}, \"heart_rate\": {}}}\n", t0 + i * 100, 60 + i % 40)
        }
    };
    let chunk = |range: std::ops::Range<i64>| {
        let text: String = range.map(line).collect();
        format!("{:x}\r\n{text}\r\n", text.len())
    };
    let mut stream = tokio::net::TcpStream::connect(app.address.trim_start_matches("http://")).await.unwrap();
    let head = format!(
        "POST /api/v1/import HTTP/1.1\r\nhost: petty\r\nauthorization: Bearer {token}\r\n\
         content-type: application/x-ndjson\r\ntransfer-encoding: chunked\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(chunk(0..5_000).as_bytes()).await.unwrap();
    stream.flush().await.unwrap();

    // The body is not finished, and readings are stored already.
    let stored = async {
        loop {
            let res = app.get(&format!("/api/v1/devices/{id}/readings/latest"), Some(&ana.access_token)).await;
            if res.status() == StatusCode::OK {
                return res.json::<Value>().await.unwrap();
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    };
    let latest = tokio::time::timeout(std::time::Duration::from_secs(20), stored)
        .await
        .expect("the first chunk is stored before the body ends");
    assert!(latest["seq"].as_i64().is_some_and(|seq| seq < 5_000), "{latest}");

    let mut sent = 5_000;
    while sent < LINES {
        let next = (sent + 5_000).min(LINES);
        stream.write_all(chunk(sent..next).as_bytes()).await.unwrap();
        sent = next;
    }
    stream.write_all(b"0\r\n\r\n").await.unwrap();
    let mut received = Vec::new();
    let mut buf = [0u8; 8192];
    let answer = loop {
        let n =
            tokio::time::timeout(std::time::Duration::from_secs(600), stream.read(&mut buf)).await.unwrap().unwrap();
        assert!(n > 0, "closed before answering: {}", String::from_utf8_lossy(&received));
        received.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&received).into_owned();
        if let Some((head, body)) = text.split_once("\r\n\r\n")
            && let Ok(answer) = serde_json::from_str::<Value>(body)
        {
            assert!(head.starts_with("HTTP/1.1 200"), "{head}");
            break answer;
        }
    };
    assert_eq!(
        (answer["accepted"].as_i64(), answer["duplicates"].as_i64(), answer["rejected"].as_i64()),
        (Some(LINES - 20), Some(0), Some(20)),
        "{answer}"
    );
    let errors = answer["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 20);
    assert_eq!((errors[0]["line"].as_i64(), errors[0]["rule"].as_str()), (Some(10_000), Some("out_of_range")));
    assert_eq!(errors[19]["line"].as_i64(), Some(200_000));
}

#[tokio::test]
async fn the_household_chooses_how_long_readings_are_kept() {
    let app = spawn_app().await;
    let ana = app.register("Ana").await;
    let got: Value = app.get("/api/v1/household/retention", Some(&ana.access_token)).await.json().await.unwrap();
    assert_eq!(got, json!({"readings_days": 90, "rollups_days": 1825}));
    let put = |body: Value| {
        let app = &app;
        let token = ana.access_token.clone();
        async move {
            app.client.put(app.url("/api/v1/household/retention")).bearer_auth(token).json(&body).send().await.unwrap()
        }
    };
    assert_eq!(put(json!({"readings_days": 30, "rollups_days": 365})).await.status(), StatusCode::OK);
    let (status, error) = error_code(put(json!({"readings_days": 30, "rollups_days": 7})).await).await;
    assert_eq!(
        (status, error["details"][0]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("rollups_days"))
    );
    let got: Value = app.get("/api/v1/household/retention", Some(&ana.access_token)).await.json().await.unwrap();
    assert_eq!(got, json!({"readings_days": 30, "rollups_days": 365}), "a refused change changed nothing");
}

#[tokio::test]
async fn liveness_and_battery_changes_are_listed_as_device_events() {
    let app = spawn_app().await;
    let ana = app.register("Ana").await;
    let bo = app.register("Bo").await;
    let (device, token) = collar(&app, &ana.access_token, "Bella's collar").await;
    let id = device["id"].as_str().unwrap();
    assert_eq!(ingest(&app, &token, &json!({"ts": now_ms(0), "battery_pct": 9})).await.0, StatusCode::CREATED);
    // The job's pass, as the server runs it every 15 s: now, and 20 minutes on.
    let now = OffsetDateTime::now_utc();
    app.store.liveness_pass(now).await.unwrap();
    app.store.liveness_pass(now + time::Duration::minutes(20)).await.unwrap();
    let events: Value =
        app.get(&format!("/api/v1/devices/{id}/events"), Some(&ana.access_token)).await.json().await.unwrap();
    let kinds: Vec<&str> = events["items"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["offline", "battery_low"], "{events}");
    assert!(events["items"][1]["detail"].as_str().unwrap().contains("9%"), "{events}");
    assert_eq!(
        app.get(&format!("/api/v1/devices/{id}/events"), Some(&bo.access_token)).await.status(),
        StatusCode::NOT_FOUND
    );
}
