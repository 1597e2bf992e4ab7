//! The Petty seed's contract under `/compat/petty` (and `/compat/petty/v1`): a collar registered
//! by its serial sends with its token, the app reads the rule-based timeline, the latest
//! reading and the plan, and sends feedback that is stored escaped and redacted.

use reqwest::StatusCode;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::harness::{Engine, TestApp, spawn_app, spawn_app_on, spawn_app_with};

fn iso(offset_secs: i64) -> String {
    (OffsetDateTime::now_utc() + time::Duration::seconds(offset_secs)).format(&Rfc3339).unwrap()
}

/// A pet wearing a collar with serial `serial`; answers the collar's token.
async fn registered_collar(app: &TestApp, token: &str, serial: &str) -> String {
    let pet = app.create_pet(token, json!({"name": "Bella", "species": "dog", "weight_kg": 10.0})).await;
    let res = app
        .post_json(
            "/api/v1/devices",
            &json!({"name": "Bella's collar", "kind": "collar", "serial": serial, "pet_id": pet["id"]}),
            Some(token),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["device"]["serial"], serial);
    body["token"].as_str().unwrap().to_owned()
}

async fn send(
    app: &TestApp,
    path: &str,
    body: &str,
    token: Option<&str>,
) -> (StatusCode, reqwest::header::HeaderMap, Value) {
    let mut req = app.client.post(app.url(path)).header("content-type", "application/json").body(body.to_owned());
    if let Some(t) = token {
        // Collars send their token as X-API-Key; people as a bearer token.
        req = if t.starts_with("dk_") { req.header("x-api-key", t) } else { req.bearer_auth(t) };
    }
    let res = req.send().await.unwrap();
    let (status, headers) = (res.status(), res.headers().clone());
    (status, headers, res.json().await.unwrap_or(Value::Null))
}

fn point(ts: &str, hr: i64, level: i64, lon: f64, lat: f64) -> String {
    json!({"collar_id": "SN-123456", "timestamp": ts, "heart_rate": hr, "activity_level": level,
        "location": {"type": "Point", "coordinates": [lon, lat]}})
    .to_string()
}

#[tokio::test]
async fn a_collar_sends_with_its_token_and_bad_payloads_get_the_seed_messages() {
    let app = spawn_app().await;
    let ana = app.register("Ana").await;
    let token = registered_collar(&app, &ana.access_token, "SN-123456").await;

    let body = point(&iso(-60), 85, 1, -74.0060004, 40.7128);
    for prefix in ["/compat/petty", "/compat/petty/v1"] {
        let (status, headers, answer) = send(&app, &format!("{prefix}/ingest"), &body, Some(&token)).await;
        assert_eq!(status, StatusCode::CREATED, "{answer}");
        assert_eq!(answer["success"], true);
        assert_eq!(answer["message"], "Data processed successfully");
        assert!(answer["request_id"].is_string() && answer["processing_time_ms"].is_number());
        assert!(headers.contains_key("x-request-id"));
        assert_eq!(headers["x-content-type-options"], "nosniff");
        assert_eq!(headers["x-frame-options"], "DENY");
    }

    // No credentials: the seed's 401.
    let (status, _, answer) = send(&app, "/compat/petty/ingest", &body, None).await;
    assert_eq!((status, answer["error"].as_str()), (StatusCode::UNAUTHORIZED, Some("Authentication required")));

    let cases = [("{not json", "Invalid JSON format"), ("[1, 2]", "Request body must be JSON object")];
    for (body, message) in cases {
        let (status, _, answer) = send(&app, "/compat/petty/ingest", body, Some(&token)).await;
        assert_eq!((status, answer["error"].as_str()), (StatusCode::BAD_REQUEST, Some(message)));
        assert!(answer["request_id"].is_string());
    }
    let missing = json!({"collar_id": "SN-123456", "timestamp": iso(0), "activity_level": 1}).to_string();
    let (status, _, answer) = send(&app, "/compat/petty/ingest", &missing, Some(&token)).await;
    assert_eq!(
        (status, answer["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("Validation error: Missing required field: heart_rate"))
    );
    for (bad, needle) in [
        (point(&iso(0), 301, 1, 0.0, 0.0), "heart_rate"),
        (point(&iso(0), 80, 3, 0.0, 0.0), "activity_level"),
        (point(&iso(3700), 80, 1, 0.0, 0.0), "future"),
        (point(&iso(-31 * 86_400), 80, 1, 0.0, 0.0), "30 days"),
        (point(&iso(0), 80, 1, 181.0, 0.0), "longitude"),
        (
            json!({"collar_id": "sn-1", "timestamp": iso(0), "heart_rate": 80, "activity_level": 1}).to_string(),
            "collar_id",
        ),
    ] {
        let (status, _, answer) = send(&app, "/compat/petty/ingest", &bad, Some(&token)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
        assert!(answer["error"].as_str().unwrap().contains(needle), "{answer}");
    }
    // Another collar's id with this collar's token is refused.
    let other = point(&iso(0), 80, 1, 0.0, 0.0).replace("SN-123456", "SN-654321");
    assert_eq!(send(&app, "/compat/petty/ingest", &other, Some(&token)).await.0, StatusCode::FORBIDDEN);

    // Realtime: the newest reading, coordinates rounded to 6 decimals; errors as the seed had them.
    let res = app.get("/compat/petty/realtime?collar_id=SN-123456", Some(&ana.access_token)).await;
    assert_eq!(res.status(), StatusCode::OK);
    let latest: Value = res.json().await.unwrap();
    assert_eq!(latest["collar_id"], "SN-123456");
    assert_eq!(latest["heart_rate"], 85);
    assert_eq!(latest["activity_level"], 1);
    assert_eq!(latest["location"], json!({"type": "Point", "coordinates": [-74.006, 40.7128]}));
    assert_eq!(
        app.get("/compat/petty/realtime?collar_id=SN-999999", Some(&ana.access_token)).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get("/compat/petty/realtime?collar_id=", Some(&ana.access_token)).await.status(),
        StatusCode::BAD_REQUEST
    );

    // Another household cannot see this collar.
    let bo = app.register("Bo").await;
    assert_eq!(
        app.get("/compat/petty/realtime?collar_id=SN-123456", Some(&bo.access_token)).await.status(),
        StatusCode::NOT_FOUND
    );

    let res = app.client.request(reqwest::Method::OPTIONS, app.url("/compat/petty/ingest")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["access-control-allow-methods"], "POST, OPTIONS");
}

#[tokio::test]
async fn the_timeline_runs_the_seed_rules_over_the_last_day() {
    let app = spawn_app().await;
    let ana = app.register("Ana").await;
    let token = registered_collar(&app, &ana.access_token, "SN-123456").await;

    let res = app.get("/compat/petty/pet-timeline?collar_id=SN-123456", Some(&ana.access_token)).await;
    let empty: Value = res.json().await.unwrap();
    assert_eq!(empty["timeline"], json!([]));
    assert_eq!(empty["metadata"]["message"], "No data available for the specified time period");
    let res = app.get("/compat/petty/pet-timeline", Some(&ana.access_token)).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(res.json::<Value>().await.unwrap()["error"], "Missing required parameter: collar_id");

    // The page's worked example: five resting points with heart rates 50, 51, 50, 51, 50.
    for (i, hr) in [50, 51, 50, 51, 50].into_iter().enumerate() {
        let body = point(&iso(-600 + 60 * i as i64), hr, 0, 4.89, 52.37);
        assert_eq!(send(&app, "/compat/petty/ingest", &body, Some(&token)).await.0, StatusCode::CREATED);
    }
    let res = app.get("/compat/petty/v1/pet-timeline?collar_id=SN-123456", Some(&ana.access_token)).await;
    assert_eq!(res.status(), StatusCode::OK);
    let answer: Value = res.json().await.unwrap();
    assert_eq!(answer["collar_id"], "SN-123456");
    let events = answer["timeline"].as_array().unwrap();
    assert_eq!(events.len(), 1, "{answer}");
    let sleep = &events[0];
    assert_eq!(sleep["behavior"], "Deep Sleep");
    assert_eq!(sleep["confidence"], 0.9);
    assert_eq!(sleep["metadata"]["heart_rate_mean"], "50.4");
    assert_eq!(sleep["metadata"]["heart_rate_std"], "0.49");
    let event_id = sleep["event_id"].as_str().unwrap();
    assert!(
        event_id.starts_with("evt_") && event_id.len() == 12 && event_id[4..].chars().all(|c| c.is_ascii_hexdigit())
    );
    assert_eq!(answer["metadata"]["data_points"], 5);
    assert_eq!(answer["metadata"]["behaviors_detected"], 1);
    assert_eq!(answer["metadata"]["model_version"], "1.0.0");

    // Feedback on that event: stored with personal data redacted and HTML escaped.
    let feedback = json!({"event_id": event_id, "user_feedback": "<b>Yes</b> she naps; mail ana@example.com or +31 6 1234 5678",
        "segment": {"from": "x"}});
    let (status, _, answer) =
        send(&app, "/compat/petty/submit-feedback", &feedback.to_string(), Some(&ana.access_token)).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    assert_eq!(answer["message"], "Feedback stored successfully");
    assert!(answer["feedback_id"].is_string());
    let stored = app.store.compat_feedback(event_id).await.unwrap();
    assert_eq!(stored[0].0, "&lt;b&gt;Yes&lt;/b&gt; she naps; mail [EMAIL] or [PHONE]");
    let (status, _, answer) = send(
        &app,
        "/compat/petty/submit-feedback",
        &json!({"user_feedback": "x"}).to_string(),
        Some(&ana.access_token),
    )
    .await;
    assert_eq!(
        (status, answer["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("Validation error: Missing required field: event_id"))
    );
    let long = json!({"event_id": "evt_1", "user_feedback": "x".repeat(1001)});
    assert_eq!(
        send(&app, "/compat/petty/submit-feedback", &long.to_string(), Some(&ana.access_token)).await.0,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(app.store.compat_feedback("evt_1").await.unwrap().len(), 0);

    // Plan and health.
    let res = app.get("/compat/petty/pet-plan?collar_id=SN-123456", Some(&ana.access_token)).await;
    assert_eq!(res.status(), StatusCode::OK);
    let plan: Value = res.json().await.unwrap();
    assert!(plan["daily_goals"].is_object(), "{plan}");
    assert!(plan["nutrition_plan"]["daily_kcal"].as_f64().unwrap() > 300.0, "{plan}");
    assert!(plan["health_recommendations"].is_array());
    let health: Value = app.get("/compat/petty/health", None).await.json().await.unwrap();
    assert_eq!((health["service"].as_str(), health["status"].as_str()), (Some("petty-api"), Some("healthy")));
    let ready: Value = app.get("/compat/petty/v1/ready", None).await.json().await.unwrap();
    assert_eq!(ready["ready"], true);
    let version: Value = app.get("/compat/petty/version", None).await.json().await.unwrap();
    assert!(version["version"].is_string());
}

/// Reads an answer that must be in the seed's error shape, with the profile's CORS header: a
/// JSON object of exactly `error` (text) and `request_id` (the `X-Request-ID` header's value).
async fn seed_error(res: reqwest::Response) -> (StatusCode, String) {
    let status = res.status();
    let headers = res.headers().clone();
    assert_eq!(headers[reqwest::header::CONTENT_TYPE], "application/json", "{status}");
    assert_eq!(headers["access-control-allow-origin"], "*", "{status}");
    let body: Value = res.json().await.expect("JSON");
    let object = body.as_object().expect("an object");
    assert_eq!(object.len(), 2, "{body}");
    assert_eq!(body["request_id"].as_str(), headers["x-request-id"].to_str().ok(), "{body}");
    (status, body["error"].as_str().unwrap_or_else(|| panic!("error is text: {body}")).to_owned())
}

/// The number of readings the timeline read for the collar over the last day.
async fn data_points(app: &TestApp, token: &str, collar_id: &str) -> u64 {
    let res = app.get(&format!("/compat/petty/pet-timeline?collar_id={collar_id}"), Some(token)).await;
    assert_eq!(res.status(), StatusCode::OK);
    res.json::<Value>().await.unwrap()["metadata"]["data_points"].as_u64().unwrap()
}

#[tokio::test]
async fn the_apps_feedback_in_local_time_without_offset_is_stored() {
    let app = spawn_app().await;
    let ana = app.register("Ana").await;
    // Exactly what the mobile app sends: DateTime.now().toIso8601String() has no offset.
    let body = r#"{"event_id":"evt_1a2b3c4d","user_feedback":"Yes, she was playing","timestamp":"2026-12-05T11:22:33.123456"}"#;
    let (status, _, answer) = send(&app, "/compat/petty/submit-feedback", body, Some(&ana.access_token)).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    assert_eq!(answer["message"], "Feedback stored successfully");
    assert_eq!(app.store.compat_feedback("evt_1a2b3c4d").await.unwrap()[0].0, "Yes, she was playing");
    // Numbers for the id and the text are stored as their text.
    let body = r#"{"event_id":12345,"user_feedback":42,"timestamp":1755527400}"#;
    let (status, _, answer) = send(&app, "/compat/petty/v1/submit-feedback", body, Some(&ana.access_token)).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    assert_eq!(app.store.compat_feedback("12345").await.unwrap()[0].0, "42");
    // A timestamp that is no time at all is still refused, and nothing is stored.
    let body = r#"{"event_id":"evt_bad","user_feedback":"x","timestamp":"teatime"}"#;
    let (status, _, answer) = send(&app, "/compat/petty/submit-feedback", body, Some(&ana.access_token)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(answer["error"].as_str().unwrap().starts_with("Validation error: timestamp must be"), "{answer}");
    assert!(app.store.compat_feedback("evt_bad").await.unwrap().is_empty());
    let body = r#"{"event_id":true,"user_feedback":"x"}"#;
    assert_eq!(
        send(&app, "/compat/petty/submit-feedback", body, Some(&ana.access_token)).await.0,
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn lenient_inputs_are_stored_as_upstream_took_them_and_strict_ones_refused() {
    let app = spawn_app().await;
    let ana = app.register("Ana").await;
    let token = registered_collar(&app, &ana.access_token, "SN-123456").await;
    let location = json!({"type": "Point", "coordinates": [4.89, 52.37]});
    let now = OffsetDateTime::now_utc();
    let unix = |offset_secs: i64| json!(now.unix_timestamp() + offset_secs);
    let no_offset = |offset_secs: i64| {
        let t = now + time::Duration::seconds(offset_secs);
        json!(format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.123456",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        ))
    };
    let today = json!(format!("{:04}-{:02}-{:02}", now.year(), u8::from(now.month()), now.day()));

    // Each accepted case is later than the one before, so /realtime shows it once stored.
    let accepted = [
        ("a bare date (midnight UTC)", today, json!(80), json!(0), 80, 0),
        ("RFC 3339 with an offset", json!(iso(-600)), json!(81), json!(1), 81, 1),
        ("no offset (UTC)", no_offset(-540), json!(82), json!(2), 82, 2),
        ("Unix seconds", unix(-480), json!(83), json!(0), 83, 0),
        ("a whole float", json!(iso(-420)), json!(84.0), json!(1.0), 84, 1),
        ("numeric strings", json!(iso(-360)), json!("85"), json!("2"), 85, 2),
    ];
    for (n, (case, timestamp, heart_rate, level, stored_rate, stored_level)) in accepted.into_iter().enumerate() {
        let body = json!({"collar_id": "SN-123456", "timestamp": timestamp, "heart_rate": heart_rate,
            "activity_level": level, "location": location});
        let (status, _, answer) = send(&app, "/compat/petty/ingest", &body.to_string(), Some(&token)).await;
        assert_eq!(status, StatusCode::CREATED, "{case}: {answer}");
        assert_eq!(data_points(&app, &ana.access_token, "SN-123456").await, n as u64 + 1, "{case}");
        let latest: Value =
            app.get("/compat/petty/realtime?collar_id=SN-123456", Some(&ana.access_token)).await.json().await.unwrap();
        assert_eq!(
            (latest["heart_rate"].as_i64(), latest["activity_level"].as_i64()),
            (Some(stored_rate), Some(stored_level)),
            "{case}"
        );
    }

    let stored = data_points(&app, &ana.access_token, "SN-123456").await;
    let base = json!({"collar_id": "SN-123456", "timestamp": iso(-60), "heart_rate": 90, "activity_level": 1,
        "location": location});
    let refused = [
        ("heart_rate", json!(80.5), "heart_rate must be a whole number"),
        ("heart_rate", json!("80.5"), "heart_rate must be a whole number"),
        ("heart_rate", json!(true), "heart_rate must be a whole number"),
        ("heart_rate", json!("eighty"), "heart_rate must be a whole number"),
        ("heart_rate", json!("301"), "heart_rate must be an integer between 30 and 300"),
        ("activity_level", json!(1.5), "activity_level must be a whole number"),
        ("activity_level", json!(false), "activity_level must be a whole number"),
        ("activity_level", json!("3"), "activity_level must be 0, 1 or 2"),
        ("timestamp", json!("yesterday"), "timestamp must be an ISO 8601 time"),
        ("timestamp", json!(true), "timestamp must be an ISO 8601 time"),
        ("timestamp", unix(7200), "timestamp cannot be more than 1 hour in the future"),
        ("location", Value::Null, "Missing required field: location"),
        ("location", json!("52.37,4.89"), "location must be a GeoJSON Point object"),
    ];
    for (field, value, rule) in refused {
        let mut body = base.clone();
        body[field] = value.clone();
        let (status, _, answer) = send(&app, "/compat/petty/ingest", &body.to_string(), Some(&token)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{field} = {value}: {answer}");
        assert!(
            answer["error"].as_str().unwrap().starts_with(&format!("Validation error: {rule}")),
            "{field} = {value}: {answer}"
        );
    }
    let mut no_location = base.clone();
    no_location.as_object_mut().unwrap().remove("location");
    let (status, _, answer) = send(&app, "/compat/petty/ingest", &no_location.to_string(), Some(&token)).await;
    assert_eq!(
        (status, answer["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("Validation error: Missing required field: location"))
    );
    assert_eq!(data_points(&app, &ana.access_token, "SN-123456").await, stored, "a refused reading is not stored");
}

/// The collar's points a minute apart, at (activity level, (lon, lat)), ending 9 minutes ago.
async fn send_points(app: &TestApp, collar_id: &str, token: &str, points: &[(i64, (f64, f64))]) {
    for (i, (level, (lon, lat))) in points.iter().enumerate() {
        let body = point(&iso(-900 + 60 * i as i64), 120, *level, *lon, *lat).replace("SN-123456", collar_id);
        assert_eq!(send(app, "/compat/petty/ingest", &body, Some(token)).await.0, StatusCode::CREATED);
    }
}

async fn timeline(app: &TestApp, token: &str, collar_id: &str) -> Value {
    let res = app.get(&format!("/compat/petty/pet-timeline?collar_id={collar_id}"), Some(token)).await;
    assert_eq!(res.status(), StatusCode::OK);
    res.json().await.unwrap()
}

#[tokio::test]
async fn playing_fetch_walks_the_points_once_as_upstream_did() {
    let app = spawn_app().await;
    let ana = app.register("Ana").await;
    let (home, far) = ((4.89, 52.37), (4.892, 52.37));
    // Vigorous, vigorous, a far rest: one cycle, so no fetch.
    let token = registered_collar(&app, &ana.access_token, "SN-100001").await;
    send_points(&app, "SN-100001", &token, &[(2, home), (2, home), (0, far)]).await;
    let answer = timeline(&app, &ana.access_token, "SN-100001").await;
    assert_eq!(answer["metadata"]["data_points"], 3);
    assert_eq!(answer["timeline"], json!([]), "{answer}");

    // Vigorous and far rest, alternating three times: three cycles.
    let token = registered_collar(&app, &ana.access_token, "SN-100002").await;
    send_points(&app, "SN-100002", &token, &[(2, home), (0, far), (2, home), (0, far), (2, home), (0, far)]).await;
    let answer = timeline(&app, &ana.access_token, "SN-100002").await;
    let events = answer["timeline"].as_array().unwrap();
    assert_eq!(events.len(), 1, "{answer}");
    assert_eq!((events[0]["behavior"].as_str(), events[0]["confidence"].as_f64()), (Some("Playing Fetch"), Some(0.8)));
    assert_eq!(events[0]["metadata"], json!({"fetch_cycles": "3", "data_points": "6"}));
    assert!(answer["metadata"]["ai_processing_time_ms"].as_f64().is_some_and(|ms| ms >= 0.0), "{answer}");
}

#[tokio::test]
async fn evidence_numbers_read_as_the_seeds_app_showed_them() {
    let app = spawn_app().await;
    let ana = app.register("Ana").await;
    let token = registered_collar(&app, &ana.access_token, "SN-123456").await;
    // The contract's pacing example, at a heart rate of 97: a whole mean prints "97".
    for i in 0..7 {
        let lon = if i % 2 == 0 { 4.89 } else { 4.891 };
        let body = point(&iso(-900 + 60 * i), 97, 1, lon, 52.37);
        assert_eq!(send(&app, "/compat/petty/ingest", &body, Some(&token)).await.0, StatusCode::CREATED);
    }
    let answer: Value =
        app.get("/compat/petty/pet-timeline?collar_id=SN-123456", Some(&ana.access_token)).await.json().await.unwrap();
    let events = answer["timeline"].as_array().unwrap();
    assert_eq!(events.len(), 1, "{answer}");
    assert_eq!(events[0]["behavior"], "Anxious Pacing");
    assert_eq!(
        events[0]["metadata"],
        json!({"movement_radius": "0.000571", "heart_rate_mean": "97", "activity_points": "7"})
    );
    assert!(answer["metadata"]["ai_processing_time_ms"].is_number(), "{answer}");
}

#[tokio::test]
async fn every_error_on_the_profile_is_in_the_seeds_shape() {
    let app = spawn_app().await;
    let ana = app.register("Ana").await;
    let token = registered_collar(&app, &ana.access_token, "SN-123456").await;
    let get = |path: String| {
        let req = app.client.get(app.url(&path)).bearer_auth(&ana.access_token);
        async move { seed_error(req.send().await.unwrap()).await }
    };

    // 400: a missing, repeated or malformed collar_id; a long one is not echoed back.
    assert_eq!(
        get("/compat/petty/realtime".into()).await,
        (StatusCode::BAD_REQUEST, "Missing required parameter: collar_id".into())
    );
    assert_eq!(
        get("/compat/petty/pet-timeline?collar_id=SN-123456&collar_id=SN-654321".into()).await,
        (StatusCode::BAD_REQUEST, "Parameter collar_id must be given once".into())
    );
    let long = "A".repeat(10_000);
    for path in ["realtime", "pet-timeline", "pet-plan"] {
        let (status, message) = get(format!("/compat/petty/v1/{path}?collar_id={long}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}");
        assert!(message.starts_with("collar_id must match the pattern") && message.len() < 100, "{message}");
    }
    // 401 without credentials.
    let res = app.client.get(app.url("/compat/petty/realtime?collar_id=SN-123456")).send().await.unwrap();
    assert_eq!(seed_error(res).await, (StatusCode::UNAUTHORIZED, "Authentication required".into()));
    // 404: an unknown collar, an unknown route under either prefix.
    assert_eq!(get("/compat/petty/realtime?collar_id=SN-999999".into()).await.0, StatusCode::NOT_FOUND);
    for path in ["/compat/petty/nothing-here", "/compat/petty/v1/ingest/extra", "/compat/petty/v2/ingest"] {
        let (status, message) = get(path.into()).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert!(message.starts_with("Not found"), "{message}");
    }
    // 405: a route that does not take the method; Allow still says which do.
    let res = app.client.delete(app.url("/compat/petty/ingest")).send().await.unwrap();
    assert!(res.headers()["allow"].to_str().unwrap().contains("POST"));
    assert_eq!(seed_error(res).await.0, StatusCode::METHOD_NOT_ALLOWED);
    let res = app.client.post(app.url("/compat/petty/v1/realtime")).send().await.unwrap();
    assert_eq!(seed_error(res).await.0, StatusCode::METHOD_NOT_ALLOWED);
    // 413: over the profile's 128 KiB, and over the server's 1 MiB body limit.
    for size in [200 * 1024, 2 * 1024 * 1024] {
        let body = format!(r#"{{"pad": "{}"}}"#, "x".repeat(size));
        let res = app
            .client
            .post(app.url("/compat/petty/ingest"))
            .header("x-api-key", &token)
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(seed_error(res).await, (StatusCode::PAYLOAD_TOO_LARGE, "Request body too large".into()), "{size}");
    }
    // 414: a path and query over 16 KiB.
    let (status, message) = get(format!("/compat/petty/realtime?collar_id=SN-123456&pad={}", "x".repeat(20_000))).await;
    assert_eq!(status, StatusCode::URI_TOO_LONG);
    assert!(message.starts_with("Request URI too long"), "{message}");
    // Nothing above was stored.
    assert_eq!(data_points(&app, &ana.access_token, "SN-123456").await, 0);
}

#[tokio::test]
async fn the_rate_limit_answers_in_the_seeds_shape() {
    let app = spawn_app_with(|c| c.rate_limit.per_ip_per_minute = 3).await;
    // (Health checks are exempt: `api_edge::health_checks_are_never_rate_limited`.)
    for _ in 0..3 {
        assert_eq!(app.get("/compat/petty/version", None).await.status(), StatusCode::OK);
    }
    let res = app.get("/compat/petty/v1/version", None).await;
    assert!(res.headers().contains_key("retry-after"));
    assert_eq!(res.headers()["x-ratelimit-limit"], "3");
    let (status, message) = seed_error(res).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert!(message.starts_with("too many requests from this address"), "{message}");
    // The canonical API keeps its own shape.
    let res = app.get("/api/v1/health", None).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(res.json::<Value>().await.unwrap()["error"]["code"], "rate_limited");
}

#[tokio::test]
async fn every_route_answers_cors_preflights_and_carries_the_cors_header() {
    // Origins configured for the rest of Petty do not change the profile's own CORS.
    let app = spawn_app_with(|c| c.cors_allowed_origins = vec!["https://dashboard.example".into()]).await;
    let routes = [
        ("ingest", "POST, OPTIONS"),
        ("pet-timeline", "GET, OPTIONS"),
        ("submit-feedback", "POST, OPTIONS"),
        ("realtime", "GET, OPTIONS"),
        ("pet-plan", "GET, OPTIONS"),
        ("health", "GET, OPTIONS"),
        ("ready", "GET, OPTIONS"),
        ("version", "GET, OPTIONS"),
    ];
    for prefix in ["/compat/petty", "/compat/petty/v1"] {
        for (route, methods) in routes {
            let path = format!("{prefix}/{route}");
            let method = methods.split(',').next().unwrap();
            let res = app
                .client
                .request(reqwest::Method::OPTIONS, app.url(&path))
                .header("origin", "https://app.example")
                .header("access-control-request-method", method)
                .header("access-control-request-headers", "authorization, content-type")
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), StatusCode::OK, "{path}");
            assert_eq!(res.headers()["access-control-allow-methods"], methods, "{path}");
            assert_eq!(res.headers()["access-control-allow-origin"], "*", "{path}");
            assert!(res.headers()["access-control-allow-headers"].to_str().unwrap().contains("Authorization"));
            // The answer itself, success or error, carries the header too.
            let res = app
                .client
                .request(method.parse().unwrap(), app.url(&path))
                .header("origin", "https://app.example")
                .send()
                .await
                .unwrap();
            assert_eq!(res.headers()["access-control-allow-origin"], "*", "{method} {path}: {}", res.status());
        }
    }
}

/// `offset_secs` from now, as a collar with a one-second clock writes it: `...T14:30:00Z`.
fn whole_second(offset_secs: i64) -> OffsetDateTime {
    (OffsetDateTime::now_utc() + time::Duration::seconds(offset_secs)).replace_nanosecond(0).unwrap()
}

fn collar_time(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap()
}

async fn realtime(app: &TestApp, token: &str) -> Value {
    let res = app.get("/compat/petty/realtime?collar_id=SN-123456", Some(token)).await;
    assert_eq!(res.status(), StatusCode::OK);
    res.json().await.unwrap()
}

async fn two_readings_in_one_second_are_both_kept_on(engine: Engine) {
    let Some(app) = spawn_app_on(engine).await else { return };
    let ana = app.register("Ana").await;
    let token = registered_collar(&app, &ana.access_token, "SN-123456").await;
    let second = collar_time(whole_second(-30));
    let resting = point(&second, 60, 0, -74.006, 40.7128);
    let running = point(&second, 140, 2, -74.006, 40.7128);
    for body in [&resting, &running] {
        let (status, _, answer) = send(&app, "/compat/petty/ingest", body, Some(&token)).await;
        assert_eq!((status, answer["message"].as_str()), (StatusCode::CREATED, Some("Data processed successfully")));
    }
    assert_eq!(data_points(&app, &ana.access_token, "SN-123456").await, 2, "{engine:?}: both readings are kept");
    let latest = realtime(&app, &ana.access_token).await;
    assert_eq!((latest["heart_rate"].as_i64(), latest["activity_level"].as_i64()), (Some(140), Some(2)), "{latest}");
    assert_eq!(latest["timestamp"].as_str().map(|t| t.starts_with(&second[..19])), Some(true), "{latest}");

    // The same bytes again are a resend of the same reading, not a third one.
    let (status, _, _) = send(&app, "/compat/petty/ingest", &running, Some(&token)).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(data_points(&app, &ana.access_token, "SN-123456").await, 2, "{engine:?}: a resend is one reading");
}

#[tokio::test]
async fn two_readings_in_one_second_are_both_kept_on_sqlite() {
    two_readings_in_one_second_are_both_kept_on(Engine::Sqlite).await;
}

#[tokio::test]
async fn two_readings_in_one_second_are_both_kept_on_postgres() {
    two_readings_in_one_second_are_both_kept_on(Engine::Postgres).await;
}

/// The public project's collar simulator (`tools/collar_simulator.py`), re-implemented here
/// because it cannot be vendored: every `interval` seconds it posts one payload for a fixed
/// collar at a fixed point, with the time of sending truncated to the second
/// (`%Y-%m-%dT%H:%M:%SZ`), an activity level drawn 60/30/10 % from rest/active/vigorous, and a
/// heart rate of 60, 80 or 110 by level, plus a whole number in [-5, 5]. Run at `--interval
/// 0.5`, two payloads share each second. The simulator's clock is simulated here (half a second
/// a step) so the run takes no wall time.
struct CollarSimulator {
    state: u64,
    clock: OffsetDateTime,
    interval: time::Duration,
}

impl CollarSimulator {
    fn next_random(&mut self) -> u64 {
        // SplitMix64: a fixed seed gives the same run every time.
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// The next payload, as the simulator serialises it, and the time moves on by one interval.
    fn payload(&mut self) -> (String, (i64, i64)) {
        let draw = self.next_random() % 10;
        let level = if draw < 6 {
            0
        } else if draw < 9 {
            1
        } else {
            2
        };
        let jitter = (self.next_random() % 11) as i64 - 5;
        let heart_rate = 60 + [0, 20, 50][level as usize] + jitter;
        let body = json!({
            "collar_id": "SN-123456",
            "timestamp": collar_time(self.clock.replace_nanosecond(0).unwrap()),
            "heart_rate": heart_rate,
            "activity_level": level,
            "location": {"type": "Point", "coordinates": [-74.0060, 40.7128]},
        })
        .to_string();
        self.clock += self.interval;
        (body, (heart_rate, level))
    }
}

async fn every_reading_of_the_collar_simulator_at_half_a_second_is_stored_on(engine: Engine) {
    let Some(app) = spawn_app_on(engine).await else { return };
    let ana = app.register("Ana").await;
    let token = registered_collar(&app, &ana.access_token, "SN-123456").await;
    // 141 payloads, as in the run that lost 54 of them, ending about ten seconds ago.
    let mut simulator =
        CollarSimulator { state: 21, clock: whole_second(-81), interval: time::Duration::milliseconds(500) };
    let mut distinct = std::collections::HashSet::new();
    let mut last = (0, 0);
    for _ in 0..141 {
        let (body, values) = simulator.payload();
        let (status, _, answer) = send(&app, "/compat/petty/ingest", &body, Some(&token)).await;
        assert_eq!(status, StatusCode::CREATED, "{body}: {answer}");
        distinct.insert(body);
        last = values;
    }
    // Two payloads of one second can only be told apart by their values; the few that repeat
    // both the second and the values are byte-identical, which is what a resend looks like.
    assert!(distinct.len() >= 130, "the run has {} distinct payloads", distinct.len());
    assert_eq!(
        data_points(&app, &ana.access_token, "SN-123456").await,
        distinct.len() as u64,
        "{engine:?}: every distinct payload is stored"
    );
    let latest = realtime(&app, &ana.access_token).await;
    assert_eq!((latest["heart_rate"].as_i64(), latest["activity_level"].as_i64()), (Some(last.0), Some(last.1)));
}

#[tokio::test]
async fn every_reading_of_the_collar_simulator_at_half_a_second_is_stored_on_sqlite() {
    every_reading_of_the_collar_simulator_at_half_a_second_is_stored_on(Engine::Sqlite).await;
}

#[tokio::test]
async fn every_reading_of_the_collar_simulator_at_half_a_second_is_stored_on_postgres() {
    every_reading_of_the_collar_simulator_at_half_a_second_is_stored_on(Engine::Postgres).await;
}
