//! Geofences: fences made through the API with their field-and-rule answers, and a collar's
//! positions judged against them: GPS drift near the edge and inaccurate fixes raise nothing, a
//! real walk out raises one exit dated at the first fix outside, "outside since" is a state,
//! and coming back raises an entry and clears it.

use reqwest::StatusCode;
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::harness::{TestApp, error_code, spawn_app};

const HOME: (f64, f64) = (52.37, 4.89);
/// Metres per degree of latitude.
const M_PER_DEG: f64 = 111_195.0;

fn north(metres: f64) -> f64 {
    HOME.0 + metres / M_PER_DEG
}

async fn send(app: &TestApp, token: &str, fixes: &[(i64, f64, f64)]) {
    let readings: Vec<Value> = fixes
        .iter()
        .map(|(ts, metres, accuracy)| json!({"ts": ts, "location": {"lat": north(*metres), "lon": HOME.1, "accuracy_m": accuracy}}))
        .collect();
    let res = app.post_json("/api/v1/ingest", &json!({"readings": readings}), Some(token)).await;
    assert_eq!(res.status(), StatusCode::OK);
    petty_jobs::analysis::run_once(&app.state.app, app.state.app.now()).await.expect("the analysis pass");
}

#[tokio::test]
async fn fences_are_checked_and_stay_in_their_household() {
    let app = spawn_app().await;
    let ana = app.register("Ana").await;
    let circle = json!({"name": "Garden", "kind": "circle", "center": {"lat": HOME.0, "lon": HOME.1}, "radius_m": 50});
    let res = app.post_json("/api/v1/geofences", &circle, Some(&ana.access_token)).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let garden: Value = res.json().await.unwrap();
    assert_eq!((garden["kind"].as_str(), garden["dwell_secs"].as_i64()), (Some("circle"), Some(60)));
    let polygon = json!({"name": "Park", "kind": "polygon",
        "points": [{"lat": 52.0, "lon": 4.0}, {"lat": 52.0, "lon": 4.01}, {"lat": 52.01, "lon": 4.0}]});
    assert_eq!(
        app.post_json("/api/v1/geofences", &polygon, Some(&ana.access_token)).await.status(),
        StatusCode::CREATED
    );

    for (body, field) in [
        (json!({"name": "Tiny", "kind": "circle", "center": {"lat": 52.0, "lon": 4.0}, "radius_m": 2}), "radius_m"),
        (
            json!({"name": "Line", "kind": "polygon", "points": [{"lat": 52.0, "lon": 4.0}, {"lat": 52.1, "lon": 4.0}]}),
            "points",
        ),
        (json!({"name": "Far", "kind": "circle", "center": {"lat": 95.0, "lon": 4.0}, "radius_m": 100}), "lat"),
        (
            json!({"name": "Slow", "kind": "circle", "center": {"lat": 52.0, "lon": 4.0}, "radius_m": 100, "dwell_secs": 7200}),
            "dwell_secs",
        ),
    ] {
        let (status, error) =
            error_code(app.post_json("/api/v1/geofences", &body, Some(&ana.access_token)).await).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        let fields: Vec<&str> =
            error["details"].as_array().unwrap().iter().map(|d| d["field"].as_str().unwrap()).collect();
        assert!(fields.iter().any(|f| f.contains(field)), "{field} in {error}");
    }
    let list: Value = app.get("/api/v1/geofences", Some(&ana.access_token)).await.json().await.unwrap();
    assert_eq!(list["total"], 2, "bad fences were not stored");

    let bo = app.register("Bo").await;
    let path = format!("/api/v1/geofences/{}", garden["id"].as_str().unwrap());
    assert_eq!(app.get(&path, Some(&bo.access_token)).await.status(), StatusCode::NOT_FOUND);
    let list: Value = app.get("/api/v1/geofences", Some(&bo.access_token)).await.json().await.unwrap();
    assert_eq!(list["total"], 0);
}

#[tokio::test]
async fn drift_does_not_alarm_a_walk_out_does_and_coming_back_clears_it() {
    let app = spawn_app().await;
    let ana = app.register("Ana").await;
    let pet = app.create_pet(&ana.access_token, json!({"name": "Bella", "species": "dog"})).await;
    let pet_id = pet["id"].as_str().unwrap().to_owned();
    let res = app
        .post_json(
            "/api/v1/devices",
            &json!({"name": "collar", "kind": "collar", "pet_id": pet_id}),
            Some(&ana.access_token),
        )
        .await;
    let token = res.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_owned();
    let circle = json!({"name": "Garden", "kind": "circle", "center": {"lat": HOME.0, "lon": HOME.1}, "radius_m": 50});
    let fence: Value = app.post_json("/api/v1/geofences", &circle, Some(&ana.access_token)).await.json().await.unwrap();
    let status_path = format!("/api/v1/geofences/{}/status", fence["id"].as_str().unwrap());
    let mut live = app.bus.subscriber(16);
    live.subscribe(format!("pet:{pet_id}").parse().unwrap());

    let t0 = OffsetDateTime::now_utc().unix_timestamp() * 1000 - 3_600_000;
    let at = |secs: i64| t0 + secs * 1000;
    // At home; then drifting around the edge with fixes whose accuracy covers it; then fixes
    // far away but too inaccurate to use.
    let mut fixes: Vec<(i64, f64, f64)> = (0..10).map(|i| (at(i * 20), 5.0, 5.0)).collect();
    fixes.extend((10..40).map(|i| (at(i * 20), if i % 2 == 0 { 58.0 } else { 44.0 }, 15.0)));
    fixes.extend((40..50).map(|i| (at(i * 20), 400.0, 300.0)));
    send(&app, &token, &fixes).await;
    let status: Value = app.get(&status_path, Some(&ana.access_token)).await.json().await.unwrap();
    let status = &status["items"];
    assert_eq!(status[0]["state"], "inside", "{status}");
    assert!(status[0]["outside_since"].is_null());

    // A real walk out: clearly outside for two minutes.
    let out: Vec<(i64, f64, f64)> = (50..56).map(|i| (at(i * 20), 120.0 + (i - 50) as f64 * 30.0, 5.0)).collect();
    send(&app, &token, &out).await;
    let status: Value = app.get(&status_path, Some(&ana.access_token)).await.json().await.unwrap();
    let status = &status["items"];
    assert_eq!(status[0]["state"], "outside");
    let left = petty_store::from_ms(at(50 * 20)).unwrap();
    let since = OffsetDateTime::parse(
        status[0]["outside_since"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    assert_eq!(since, left, "dated at the first fix outside");
    // Live on the pet's topic (beside the day's episodes and anomalies: this collar's readings
    // are an hour old, so it is also reported silent).
    let pushed = loop {
        let message = tokio::time::timeout(std::time::Duration::from_secs(5), live.recv()).await.unwrap().unwrap();
        let message: Value = serde_json::from_slice(&message.payload).unwrap();
        if message["type"] == "geofence" {
            break message;
        }
    };
    assert_eq!(pushed["item"]["label"], "exited");
    assert!(pushed["item"]["explanation"].as_str().unwrap().contains("Garden"), "{pushed}");

    // The same positions again change nothing; coming home raises an entry.
    send(&app, &token, &out).await;
    let back: Vec<(i64, f64, f64)> = (56..64).map(|i| (at(i * 20), 3.0, 5.0)).collect();
    send(&app, &token, &back).await;
    let status: Value = app.get(&status_path, Some(&ana.access_token)).await.json().await.unwrap();
    let status = &status["items"];
    assert_eq!(status[0]["state"], "inside");
    assert!(status[0]["outside_since"].is_null());

    let timeline: Value = app
        .get(&format!("/api/v1/pets/{pet_id}/timeline?from={}&kinds=geofence", t0 - 1), Some(&ana.access_token))
        .await
        .json()
        .await
        .unwrap();
    let labels: Vec<&str> =
        timeline["items"].as_array().unwrap().iter().map(|i| i["label"].as_str().unwrap()).collect();
    assert_eq!(labels, ["exited", "entered"], "{timeline}");
}
