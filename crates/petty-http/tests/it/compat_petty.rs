//! The Petty seed's contract under `/compat/petty` (and `/compat/petty/v1`): a collar registered
//! by its serial sends with its token, the app reads the rule-based timeline, the latest
//! reading and the plan, and sends feedback that is stored escaped and redacted.

use reqwest::StatusCode;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::harness::{TestApp, spawn_app};

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
