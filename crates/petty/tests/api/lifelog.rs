//! The life log over HTTP: a person's events (kept as sent, checked field by field, batches all
//! or nothing, private to the person), a pet's (the household's, as its care is), stats, and the
//! contract's worked examples of the baseline energy and mood predictions, backtested through `at`.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::harness::{TestApp, spawn_app};

pub(crate) async fn call(
    app: &TestApp,
    method: Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut req = app.client.request(method, app.url(path)).bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req.send().await.expect("request");
    let status = res.status();
    let text = res.text().await.expect("body");
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

fn ago(hours: i64) -> String {
    (OffsetDateTime::now_utc() - time::Duration::hours(hours)).format(&Rfc3339).unwrap()
}

#[tokio::test]
async fn a_person_logs_reads_changes_and_removes_their_events_kept_as_sent() {
    let app = spawn_app().await;
    let ana = app.register("Ana").await;
    let t = &ana.access_token;
    let body = json!({"event_type": "Exercise", "title": "Morning run", "event_time": ago(3), "duration_minutes": 40,
        "event_data": {"distance_km": 8, "pace": 5.25, "route": {"name": "river"}}, "tags": ["run", "outdoors"]});
    let (status, run) = call(&app, Method::POST, "/api/v1/life-events", t, Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{run}");
    assert_eq!(run["event_type"], "exercise", "lower-cased");
    assert_eq!(run["event_data"], json!({"distance_km": 8, "pace": 5.25, "route": {"name": "river"}}), "8 stays 8");
    assert_eq!((run["impact_score"].as_f64(), run["energy_impact"].as_f64()), (Some(0.7), Some(0.5)));
    assert!(run["end_time"].is_string() && run["updated_at"].is_null());
    let id = run["id"].as_str().unwrap();

    let body =
        json!({"event_type": "emotion", "title": "Good news", "event_time": ago(1), "event_data": {"type": "happy"}});
    let (_, happy) = call(&app, Method::POST, "/api/v1/life-events", t, Some(body)).await;
    assert_eq!(happy["mood_impact"], 0.7);
    let (_, list) = call(&app, Method::GET, "/api/v1/life-events", t, None).await;
    let titles: Vec<&str> = list["items"].as_array().unwrap().iter().map(|e| e["title"].as_str().unwrap()).collect();
    assert_eq!(titles, ["Good news", "Morning run"], "newest first");
    let (_, only) = call(&app, Method::GET, "/api/v1/life-events?event_type=exercise", t, None).await;
    assert_eq!(only["total"], 1);

    let (status, changed) = call(
        &app,
        Method::PATCH,
        &format!("/api/v1/life-events/{id}"),
        t,
        Some(json!({"event_type": "work", "title": "Run to work"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert_eq!((changed["title"].as_str(), changed["energy_impact"].as_f64()), (Some("Run to work"), Some(-0.3)));
    assert!(changed["updated_at"].is_string());
    assert_eq!(changed["event_data"]["distance_km"], 8, "fields not named are kept");

    let (_, stats) = call(&app, Method::GET, "/api/v1/life-events/stats?days=7", t, None).await;
    assert_eq!(stats["total_events"], 2);
    assert_eq!(stats["event_types"], json!({"emotion": 1, "work": 1}));

    let (status, _) = call(&app, Method::DELETE, &format!("/api/v1/life-events/{id}"), t, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = call(&app, Method::GET, &format!("/api/v1/life-events/{id}"), t, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn bad_events_are_refused_field_by_field_and_a_batch_is_all_or_nothing() {
    let app = spawn_app().await;
    let ana = app.register("Ana").await;
    let t = &ana.access_token;
    let future = (OffsetDateTime::now_utc() + time::Duration::hours(30)).format(&Rfc3339).unwrap();
    let (status, error) = call(
        &app,
        Method::POST,
        "/api/v1/life-events",
        t,
        Some(json!({"event_type": "", "title": "x", "event_time": future, "duration_minutes": 20000})),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let fields: Vec<&str> =
        error["error"]["details"].as_array().unwrap().iter().map(|d| d["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["event_type", "event_time", "duration_minutes"], "{error}");

    let good =
        |title: &str| json!({"event_type": "sleep", "title": title, "event_time": ago(10), "duration_minutes": 420});
    let batch = json!({"events": [good("one"), good("two"), {"event_type": "sleep", "event_time": ago(2)}]});
    let (status, error) = call(&app, Method::POST, "/api/v1/life-events/batch", t, Some(batch)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error["error"]["details"][0]["field"], "events.2.title");
    let (_, list) = call(&app, Method::GET, "/api/v1/life-events", t, None).await;
    assert_eq!(list["total"], 0, "nothing of a refused batch is kept");
    let (status, kept) =
        call(&app, Method::POST, "/api/v1/life-events/batch", t, Some(json!({"events": [good("one"), good("two")]})))
            .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(kept.as_array().map(Vec::len), Some(2));
    let (status, _) = call(&app, Method::POST, "/api/v1/life-events/batch", t, Some(json!({"events": []}))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn a_person_s_log_is_theirs_alone_and_a_pet_s_is_the_household_s() {
    let app = spawn_app().await;
    let ana = app.register("Ana").await;
    let (mo, _) = crate::revocation::join(&app, &ana, "Mo", "member", None).await;
    let (vet, _) = crate::revocation::join(&app, &ana, "Vera", "vet", None).await;
    let body = json!({"event_type": "mood", "title": "Low day", "event_time": ago(2), "event_data": {"mood_score": 2}});
    let (_, mine) = call(&app, Method::POST, "/api/v1/life-events", &ana.access_token, Some(body)).await;
    let (_, theirs) = call(&app, Method::GET, "/api/v1/life-events", &mo.access_token, None).await;
    assert_eq!(theirs["total"], 0, "another member sees nothing of Ana's log");
    let path = format!("/api/v1/life-events/{}", mine["id"].as_str().unwrap());
    assert_eq!(call(&app, Method::GET, &path, &mo.access_token, None).await.0, StatusCode::NOT_FOUND);
    assert_eq!(call(&app, Method::DELETE, &path, &mo.access_token, None).await.0, StatusCode::NOT_FOUND);
    // An API key acts for the household, not for a person.
    let (_, key) =
        call(&app, Method::POST, "/api/v1/api-keys", &ana.access_token, Some(json!({"name": "k", "scope": "write"})))
            .await;
    let (status, _) = call(&app, Method::GET, "/api/v1/life-events", key["key"].as_str().unwrap(), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // A pet's walk, logged by a member, read by the household.
    let rex = app.create_pet(&ana.access_token, json!({"name": "Rex", "species": "dog"})).await;
    let pet_path = format!("/api/v1/pets/{}/life-events", rex["id"].as_str().unwrap());
    let walk = json!({"event_type": "walk", "title": "Park loop", "event_time": ago(1), "duration_minutes": 35});
    let (status, logged) = call(&app, Method::POST, &pet_path, &mo.access_token, Some(walk)).await;
    assert_eq!(status, StatusCode::CREATED, "{logged}");
    assert_eq!(logged["pet_id"], rex["id"]);
    let (_, list) = call(&app, Method::GET, &pet_path, &ana.access_token, None).await;
    assert_eq!(list["items"][0]["title"], "Park loop");
    let sleep = json!({"event_type": "sleep", "title": "Nap", "event_time": ago(1)});
    let (status, error) = call(&app, Method::POST, &pet_path, &mo.access_token, Some(sleep)).await;
    assert_eq!(
        (status, error["error"]["details"][0]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("event_type"))
    );
    // A vet sees a pet's log only when the pet is shared with them, and never writes it.
    assert_eq!(call(&app, Method::GET, &pet_path, &vet.access_token, None).await.0, StatusCode::NOT_FOUND);
    let walk = json!({"event_type": "walk", "title": "x", "event_time": ago(1)});
    assert_eq!(call(&app, Method::POST, &pet_path, &vet.access_token, Some(walk)).await.0, StatusCode::FORBIDDEN);
    // Another household finds no such pet.
    let bo = app.register("Bo").await;
    assert_eq!(call(&app, Method::GET, &pet_path, &bo.access_token, None).await.0, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn predictions_follow_the_contract_s_worked_examples_and_backtest_through_at() {
    let app = spawn_app().await;
    let ana = app.register("Ana").await;
    let t = &ana.access_token;

    // No events, morning: a neutral base, and the two factors that say so.
    let (status, empty) = call(&app, Method::GET, "/api/v1/predictions/energy?time_of_day=morning", t, None).await;
    assert_eq!(status, StatusCode::OK, "{empty}");
    assert_eq!((empty["predicted_energy"].as_f64(), empty["confidence"].as_f64()), (Some(5.5), Some(0.0)));
    assert_eq!(
        empty["factors"],
        json!(["Not enough energy reports yet; using a neutral base", "Fewer than 2 workouts a week may limit energy"])
    );

    // Energy reports 6, 7, 8; sleeps of 480, 420, 450 and 450 minutes; six workouts; afternoon.
    let mut events = Vec::new();
    for (i, level) in [6, 7, 8].into_iter().enumerate() {
        events.push(json!({"event_type": "health", "title": "Check-in", "event_time": ago(20 + i as i64), "event_data": {"energy_level": level}}));
    }
    for (i, minutes) in [480, 420, 450, 450].into_iter().enumerate() {
        events.push(json!({"event_type": "sleep", "title": "Night", "event_time": ago(30 + 24 * i as i64), "duration_minutes": minutes}));
    }
    for i in 0..6 {
        events.push(json!({"event_type": "exercise", "title": "Gym", "event_time": ago(40 + 24 * i)}));
    }
    let (status, _) = call(&app, Method::POST, "/api/v1/life-events/batch", t, Some(json!({ "events": events }))).await;
    assert_eq!(status, StatusCode::CREATED);
    let (_, energy) = call(&app, Method::GET, "/api/v1/predictions/energy?time_of_day=afternoon", t, None).await;
    assert_eq!(
        (energy["predicted_energy"].as_f64(), energy["confidence"].as_f64()),
        (Some(6.73), Some(0.13)),
        "{energy}"
    );
    assert_eq!(energy["factors"], json!(["Fewer than 2 workouts a week may limit energy"]));
    assert_eq!(energy["recommendations"], json!([]));
    assert_eq!(energy["model_version"], "baseline-1");
    let explained: f64 = energy["explanation"]["start"].as_f64().unwrap()
        + energy["explanation"]["contributions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["effect"].as_f64().unwrap())
            .sum::<f64>();
    assert!((explained - 6.73).abs() < 0.01, "the contributions add up to the prediction: {explained}");

    // Backtest: as of three days ago, the events since do not count.
    let before = (OffsetDateTime::now_utc() - time::Duration::days(9)).format(&Rfc3339).unwrap();
    let path = format!("/api/v1/predictions/energy?time_of_day=morning&at={}", before.replace('+', "%2B"));
    let (_, then) = call(&app, Method::GET, &path, t, None).await;
    assert_eq!(then["predicted_energy"], 5.5, "{then}");
    let (status, _) = call(&app, Method::GET, "/api/v1/predictions/energy?time_of_day=brunch", t, None).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn the_mood_example_happy_happy_sad_excited_is_positive() {
    let app = spawn_app().await;
    let ana = app.register("Ana").await;
    let t = &ana.access_token;
    for (i, feeling) in ["happy", "happy", "sad", "excited"].into_iter().enumerate() {
        let body = json!({"event_type": "emotion", "title": feeling, "event_time": ago(10 - i as i64), "event_data": {"type": feeling}});
        assert_eq!(call(&app, Method::POST, "/api/v1/life-events", t, Some(body)).await.0, StatusCode::CREATED);
    }
    let (status, mood) = call(&app, Method::GET, "/api/v1/predictions/mood", t, None).await;
    assert_eq!(status, StatusCode::OK, "{mood}");
    assert_eq!(
        (mood["prediction_class"].as_str(), mood["predicted_mood_score"].as_f64()),
        (Some("positive"), Some(6.5))
    );
    assert_eq!(mood["sentiment"], "positive");
    assert_eq!(
        mood["class_probabilities"],
        json!({"negative": 0.002, "neutral": 0.259, "positive": 0.704, "very_negative": 0.0, "very_positive": 0.035})
    );
    assert_eq!(mood["confidence"], 0.04);
    assert_eq!(mood["influencing_factors"], json!(["Few social interactions (under 2 a week)"]));
}

#[tokio::test]
async fn on_the_dashboard_one_tap_logs_and_the_api_sees_the_same_event() {
    use crate::pages::{browser, csrf_in, get_page, post_form, sign_in_through_form};
    let app = spawn_app().await;
    let ana = app.register("Ana").await;
    let client = browser();
    sign_in_through_form(&app, &client, &ana.email, &ana.password).await;
    let (status, html) = get_page(&app, &client, "/life").await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("Nothing logged yet") && html.contains("Energy this") && html.contains(" / 10"), "{html}");
    let csrf = csrf_in(&html);
    let res = post_form(&app, &client, "/life/quick", &[("csrf", &csrf), ("entry", "0")]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, html) = get_page(&app, &client, "/life").await;
    assert!(html.contains("<strong>Slept 7 h</strong> · sleep · 420 min"), "{html}");
    let (_, api) = call(&app, Method::GET, "/api/v1/life-events", &ana.access_token, None).await;
    assert_eq!((api["total"].as_u64(), api["items"][0]["duration_minutes"].as_u64()), (Some(1), Some(420)));

    // The form names the field it refuses, and keeps nothing.
    let form = [("csrf", csrf.as_str()), ("event_type", "mood"), ("title", "Rough"), ("mood_score", "11")];
    let res = post_form(&app, &client, "/life/events", &form).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = res.text().await.unwrap();
    assert!(page.contains("between 0 and 10") && page.contains("field-invalid"), "{page}");
    let form = [("csrf", csrf.as_str()), ("event_type", "mood"), ("title", "Better"), ("mood_score", "8")];
    assert_eq!(post_form(&app, &client, "/life/events", &form).await.status(), StatusCode::SEE_OTHER);
    let (_, api) = call(&app, Method::GET, "/api/v1/life-events?event_type=mood", &ana.access_token, None).await;
    assert_eq!((api["total"].as_u64(), &api["items"][0]["event_data"]), (Some(1), &json!({"mood_score": 8})));
    let id = api["items"][0]["id"].as_str().unwrap().to_owned();

    // Removed from the page: gone from the API too.
    let res = post_form(&app, &client, &format!("/life/events/{id}/delete"), &[("csrf", &csrf)]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        call(&app, Method::GET, &format!("/api/v1/life-events/{id}"), &ana.access_token, None).await.0,
        StatusCode::NOT_FOUND
    );
}
