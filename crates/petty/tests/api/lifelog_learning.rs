//! What the life log learns and concludes, over HTTP: a person's own models trained by the job
//! (after 50 reports, on request) and used only when they beat the baseline, with their metrics
//! and backtests; insights drawn, kept, read and dismissed; live events and predictions on the
//! person's topics; a planted link found across the person's log and the dog's walks, and none
//! in data without one; a pet's walks on its timeline.

use petty_core::lifelog::{DataValue, EventContent};
use reqwest::{Method, StatusCode};
use serde_json::{Map, Value, json};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

use crate::harness::{TestApp, spawn_app};
use crate::lifelog::call;
use crate::ws::{next, open, send};

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap()
}

/// A simulated event as a client would post it.
fn event_json(e: &EventContent) -> Value {
    let mut data = Map::new();
    for (key, value) in e.event_data.entries() {
        let v = match value {
            DataValue::Number(n) => json!(n),
            DataValue::Text(t) => json!(t),
            DataValue::Bool(b) => json!(b),
            _ => Value::Null,
        };
        data.insert(key.to_owned(), v);
    }
    json!({"event_type": e.event_type.as_str(), "title": e.title, "event_time": rfc3339(e.event_time),
        "duration_minutes": e.duration_minutes, "event_data": data})
}

/// Posts `events` in batches of 100 (those in the future are left out).
async fn post_all(app: &TestApp, token: &str, path: &str, events: &[Value]) {
    for chunk in events.chunks(100) {
        let (status, body) = call(app, Method::POST, path, token, Some(json!({"events": chunk}))).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
}

#[tokio::test]
async fn a_person_s_models_train_as_a_job_and_serve_only_when_they_beat_the_baseline() {
    let app = spawn_app().await;
    let ana = app.register("Ana").await;
    let t = &ana.access_token;
    let (_, before) = call(&app, Method::GET, "/api/v1/predictions/metrics", t, None).await;
    assert_eq!(before["energy"]["model_version"], "baseline-1");
    assert!(before["energy"]["trained_at"].is_null() && before["mood"]["accuracy"].is_null(), "{before}");

    // 90 days of a simulated person whose energy and mood follow their days.
    let now = app.state.app.now();
    let start = (now - Duration::days(90)).replace_time(time::Time::MIDNIGHT);
    let person = petty_sim::simulate_person(11, start, 90);
    let events: Vec<Value> = person.events.iter().filter(|e| e.event_time < now).map(event_json).collect();
    post_all(&app, t, "/api/v1/life-events/batch", &events).await;

    // More than 50 reports ask for a training; the job does it.
    let (_, due) = call(&app, Method::GET, "/api/v1/predictions/metrics", t, None).await;
    assert!(due["retrain_requested_at"].is_string(), "{due}");
    assert!(due["new_reports"].as_i64().unwrap() >= 50, "{due}");
    let trained = petty_app::lifelog::train_due(&app.state.app, app.state.app.now()).await.unwrap();
    assert_eq!(trained, 1);
    let (_, m) = call(&app, Method::GET, "/api/v1/predictions/metrics", t, None).await;
    let day = now.date();
    let version = format!("user-{:04}{:02}{:02}-1", day.year(), u8::from(day.month()), day.day());
    assert_eq!(m["energy"]["model_version"], version.as_str(), "{m}");
    assert_eq!(m["mood"]["model_version"], version.as_str(), "{m}");
    assert!(m["energy"]["n_train"].as_u64().unwrap() > m["energy"]["n_test"].as_u64().unwrap(), "{m}");
    let (mae, baseline_mae) = (m["energy"]["mae"].as_f64().unwrap(), m["energy"]["baseline_mae"].as_f64().unwrap());
    assert_eq!(m["energy"]["in_use"].as_bool(), Some(mae < baseline_mae), "{m}");
    assert!(m["mood"]["accuracy"].is_number() && m["mood"]["baseline_accuracy"].is_number(), "{m}");
    assert!(m["retrain_requested_at"].is_null() && m["new_reports"] == 0, "{m}");

    // The prediction now comes from the model when it won, with its explanation adding up.
    let (_, energy) = call(&app, Method::GET, "/api/v1/predictions/energy", t, None).await;
    let expected = if mae < baseline_mae { version.as_str() } else { "baseline-1" };
    assert_eq!(energy["model_version"], expected, "{energy}");
    let e = &energy["explanation"];
    let total: f64 = e["start"].as_f64().unwrap()
        + e["contributions"].as_array().unwrap().iter().map(|c| c["effect"].as_f64().unwrap()).sum::<f64>();
    assert!((total - energy["predicted_energy"].as_f64().unwrap()).abs() < 0.011, "{energy}");
    assert!(energy["confidence"].as_f64().unwrap() <= 0.95);

    // A backtest before the model was trained never sees it.
    let at = rfc3339(now - Duration::days(20));
    let (_, past) =
        call(&app, Method::GET, &format!("/api/v1/predictions/energy?at={}", at.replace('+', "%2B")), t, None).await;
    assert_eq!(past["model_version"], "baseline-1", "{past}");

    // Asked for, it trains again, but not within ten minutes of the last run: then the day's
    // second model.
    let (status, accepted) = call(&app, Method::POST, "/api/v1/predictions/retrain", t, None).await;
    assert_eq!((status, accepted["status"].as_str()), (StatusCode::ACCEPTED, Some("accepted")));
    assert_eq!(petty_app::lifelog::train_due(&app.state.app, app.state.app.now()).await.unwrap(), 0);
    app.state.app.clock.advance(std::time::Duration::from_secs(11 * 60));
    petty_app::lifelog::train_due(&app.state.app, app.state.app.now()).await.unwrap();
    let (_, again) = call(&app, Method::GET, "/api/v1/predictions/metrics", t, None).await;
    // The day's second run, unless those eleven minutes crossed midnight.
    let second = if app.state.app.now().date() == day { "-2" } else { "-1" };
    assert!(again["energy"]["model_version"].as_str().unwrap().ends_with(second), "{again}");
    assert_ne!(again["energy"]["model_version"], m["energy"]["model_version"], "{again}");
    // Nothing new: the job finds nobody due.
    assert_eq!(petty_app::lifelog::train_due(&app.state.app, app.state.app.now()).await.unwrap(), 0);
}

#[tokio::test]
async fn too_little_data_says_so_instead_of_a_model() {
    let app = spawn_app().await;
    let ana = app.register("Ana").await;
    let t = &ana.access_token;
    // At noon, so that the 60 reports (one every 3 hours back from an hour ago) fall on 8 days.
    let noon = app.state.app.now().replace_time(time::Time::from_hms(12, 0, 0).unwrap());
    app.state.app.clock.set(noon);
    let now = app.state.app.now();
    let events: Vec<Value> = (0..60)
        .map(|i| {
            json!({"event_type": "mood", "title": "check-in", "event_time": rfc3339(now - Duration::hours(i * 3 + 1)),
                "event_data": {"energy_level": 5 + i % 3, "mood_score": 4 + i % 4}})
        })
        .collect();
    post_all(&app, t, "/api/v1/life-events/batch", &events).await;
    petty_app::lifelog::train_due(&app.state.app, now).await.unwrap();
    let (_, m) = call(&app, Method::GET, "/api/v1/predictions/metrics", t, None).await;
    assert_eq!(m["energy"]["model_version"], "baseline-1", "{m}");
    let status = m["energy"]["status"].as_str().unwrap();
    assert!(status.starts_with("not enough data: reports on 8 distinct days, 30 needed"), "{status}");
    let (_, energy) = call(&app, Method::GET, "/api/v1/predictions/energy", t, None).await;
    assert_eq!(energy["model_version"], "baseline-1");
}

#[tokio::test]
async fn insights_are_drawn_kept_updated_in_place_read_and_dismissed() {
    let app = spawn_app().await;
    let ana = app.register("Ana").await;
    let t = &ana.access_token;
    let (status, none) =
        call(&app, Method::POST, "/api/v1/insights/generate", t, Some(json!({"time_range_days": 7}))).await;
    assert_eq!((status, none), (StatusCode::CREATED, json!([])), "no events, no insights");

    let now = app.state.app.now();
    let mut events = Vec::new();
    for d in 0..6 {
        let night = now - Duration::days(d) - Duration::hours(8);
        events.push(
            json!({"event_type": "sleep", "title": "Slept", "event_time": rfc3339(night), "duration_minutes": 330}),
        );
        events.push(json!({"event_type": "work", "title": "Work", "event_time": rfc3339(night + Duration::hours(10)), "duration_minutes": 600}));
    }
    post_all(&app, t, "/api/v1/life-events/batch", &events).await;
    let (status, drawn) =
        call(&app, Method::POST, "/api/v1/insights/generate", t, Some(json!({"time_range_days": 7}))).await;
    assert_eq!(status, StatusCode::CREATED, "{drawn}");
    let short = drawn.as_array().unwrap().iter().find(|i| i["insight_type"] == "sleep_short").expect("short sleep");
    assert_eq!((short["title"].as_str(), short["priority"].as_str()), (Some("Short sleep"), Some("high")));
    assert!(short["content"].as_str().unwrap().contains("5.5"), "the measured number is in the sentence: {short}");
    assert!(drawn.as_array().unwrap().iter().any(|i| i["insight_type"] == "balance_low"), "{drawn}");

    let id = short["id"].as_str().unwrap();
    let (_, read) = call(&app, Method::POST, &format!("/api/v1/insights/{id}/read"), t, None).await;
    assert_eq!(read["is_read"], true);
    // The same rule on the same day updates its insight: same id, still read.
    let (_, again) = call(&app, Method::POST, "/api/v1/insights/generate", t, Some(json!({}))).await;
    let same = again.as_array().unwrap().iter().find(|i| i["insight_type"] == "sleep_short").unwrap();
    assert_eq!((same["id"].as_str(), same["is_read"].as_bool()), (Some(id), Some(true)));
    let (_, list) = call(&app, Method::GET, "/api/v1/insights", t, None).await;
    assert_eq!(list["total"], drawn.as_array().unwrap().len(), "{list}");
    let (_, unread) = call(&app, Method::GET, "/api/v1/insights?unread_only=true", t, None).await;
    assert_eq!(unread["total"].as_u64().unwrap() + 1, list["total"].as_u64().unwrap());

    let (_, dismissed) = call(&app, Method::POST, &format!("/api/v1/insights/{id}/dismiss"), t, None).await;
    assert_eq!(dismissed["is_dismissed"], true);
    let (_, shown) = call(&app, Method::GET, "/api/v1/insights?insight_type=sleep_short", t, None).await;
    assert_eq!(shown["total"], 0, "dismissed ones are left out");
    let (_, all) =
        call(&app, Method::GET, "/api/v1/insights?insight_type=sleep_short&include_dismissed=true", t, None).await;
    assert_eq!(all["total"], 1);

    // Someone else's insight is not found, nor is a range past 90 days accepted.
    let bo = app.register("Bo").await;
    let (status, _) = call(&app, Method::GET, &format!("/api/v1/insights/{id}"), &bo.access_token, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, error) =
        call(&app, Method::POST, "/api/v1/insights/generate", t, Some(json!({"time_range_days": 91}))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error["error"]["details"][0]["field"], "time_range_days");
}

#[tokio::test]
async fn events_and_moved_predictions_arrive_live_on_the_person_s_topics() {
    let app = spawn_app().await;
    let ana = app.register("Ana").await;
    let bo = app.register("Bo").await;
    let t = &ana.access_token;
    let (_, me) = call(&app, Method::GET, "/api/v1/me", t, None).await;
    let user = me["user"]["id"].as_str().unwrap().to_owned();
    let (_, them) = call(&app, Method::GET, "/api/v1/me", &bo.access_token, None).await;
    let mut socket = open(&app, Some(t)).await;
    for topic in [format!("user:{user}:events"), format!("user:{user}:predictions")] {
        send(&mut socket, json!({"type": "subscribe", "topic": topic})).await;
        assert_eq!(next(&mut socket).await["type"], "subscribed");
    }
    // Another person's topics are refused.
    send(
        &mut socket,
        json!({"type": "subscribe", "topic": format!("user:{}:events", them["user"]["id"].as_str().unwrap())}),
    )
    .await;
    assert_eq!(next(&mut socket).await["type"], "error");

    let now = app.state.app.now();
    let body = json!({"event_type": "mood", "title": "Great day", "event_time": rfc3339(now - Duration::minutes(5)),
        "event_data": {"energy_level": 9, "mood_score": 9}});
    let (_, created) = call(&app, Method::POST, "/api/v1/life-events", t, Some(body)).await;
    let mut seen = Vec::new();
    while seen.len() < 3 {
        let m = next(&mut socket).await;
        assert_eq!(m["type"], "event");
        seen.push((m["topic"].as_str().unwrap().to_owned(), m["data"].clone()));
    }
    let event = seen.iter().find(|(topic, _)| topic.ends_with(":events")).expect("the event");
    assert_eq!((event.1["type"].as_str(), &event.1["data"]["id"]), (Some("event_created"), &created["id"]));
    let energy = seen.iter().find(|(_, d)| d["data"]["kind"] == "energy").expect("the energy prediction");
    assert_eq!(energy.1["type"], "prediction_updated");
    let (_, current) = call(&app, Method::GET, "/api/v1/predictions/energy", t, None).await;
    assert_eq!(energy.1["data"]["predicted_energy"], current["predicted_energy"]);
    assert!(seen.iter().any(|(_, d)| d["data"]["kind"] == "mood"), "the first computation pushes both");

    // A write that moves nothing by 0.5 or a class pushes the event only.
    let body = json!({"event_type": "meal", "title": "Lunch", "event_time": rfc3339(now - Duration::minutes(2))});
    call(&app, Method::POST, "/api/v1/life-events", t, Some(body)).await;
    let m = next(&mut socket).await;
    assert_eq!(m["data"]["type"], "event_created");
    let quiet = tokio::time::timeout(std::time::Duration::from_millis(800), next(&mut socket)).await;
    assert!(quiet.is_err(), "nothing else was pushed: {quiet:?}");
    // A deletion is told too.
    let id = created["id"].as_str().unwrap();
    call(&app, Method::DELETE, &format!("/api/v1/life-events/{id}"), t, None).await;
    let m = next(&mut socket).await;
    assert_eq!((m["data"]["type"].as_str(), m["data"]["data"]["id"].as_str()), (Some("event_deleted"), Some(id)));
}

/// Ana's days for `days` days: her mood, and the dog's walk (long on some days). With `planted`,
/// her mood is 2 points higher on long-walk days; without, it ignores the walks.
async fn log_walks_and_moods(app: &TestApp, token: &str, pet: &str, days: i64, planted: bool) {
    let now = app.state.app.now();
    let mut mine = Vec::new();
    let mut walks = Vec::new();
    // A fixed pseudo-random sequence, so the test is the same every run.
    let mut state = 0x2545_f491_u64;
    let mut draw = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % 1000) as f64 / 1000.0
    };
    for d in 1..=days {
        let noon = (now - Duration::days(d)).replace_time(time::Time::from_hms(12, 0, 0).unwrap());
        let long = draw() < 0.5;
        let minutes = if long { 45 } else { 10 };
        walks.push(json!({"event_type": "walk", "title": "Walk", "event_time": rfc3339(noon - Duration::hours(3)), "duration_minutes": minutes}));
        let noise = (draw() - 0.5) * 2.0;
        let mood = 5.0 + noise + if planted && long { 2.0 } else { 0.0 };
        mine.push(json!({"event_type": "mood", "title": "Evening", "event_time": rfc3339(noon + Duration::hours(7)),
            "event_data": {"mood_score": (mood * 10.0).round() / 10.0}}));
    }
    post_all(app, token, "/api/v1/life-events/batch", &mine).await;
    for walk in walks {
        let (status, body) =
            call(app, Method::POST, &format!("/api/v1/pets/{pet}/life-events"), token, Some(walk)).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
}

#[tokio::test]
async fn a_planted_link_between_the_dog_s_walks_and_the_owner_s_mood_is_found_and_none_is_invented() {
    let app = spawn_app().await;
    let ana = app.register("Ana").await;
    let rex = app.create_pet(&ana.access_token, json!({"name": "Rex", "species": "dog"})).await;
    log_walks_and_moods(&app, &ana.access_token, rex["id"].as_str().unwrap(), 40, true).await;
    let (status, found) =
        call(&app, Method::GET, "/api/v1/life-events/correlations?days=60", &ana.access_token, None).await;
    assert_eq!(status, StatusCode::OK, "{found}");
    let link = found["links"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["status"] == "holds" && l["lag_days"] == 0 && [&l["x"], &l["y"]].contains(&&json!("long_walk")))
        .unwrap_or_else(|| panic!("the planted link: {found}"));
    let effect = &link["effect"];
    assert_eq!(effect["kind"], "mean_difference");
    assert!((effect["value"].as_f64().unwrap() - 2.0).abs() < 0.6, "{link}");
    assert!(effect["low"].as_f64().unwrap() > 0.0, "its interval leaves out zero: {link}");
    assert!(link["q"].as_f64().unwrap() <= 0.05 && link["days"] == 40, "{link}");
    let groups = format!("{} days with, {} without", effect["with_days"], effect["without_days"]);
    assert!(link["sentence"].as_str().unwrap().contains(&groups), "{link}");

    // The same days with no link in them: nothing holds about the walks and the mood.
    let bo = app.register("Bo").await;
    let fido = app.create_pet(&bo.access_token, json!({"name": "Fido", "species": "dog"})).await;
    log_walks_and_moods(&app, &bo.access_token, fido["id"].as_str().unwrap(), 40, false).await;
    let (_, none) = call(&app, Method::GET, "/api/v1/life-events/correlations?days=60", &bo.access_token, None).await;
    assert_eq!(none["holding"], 0, "{none}");
    // Streams with too few days say so rather than give a number.
    let short = none["links"].as_array().unwrap().iter().find(|l| l["status"] == "not_enough_data");
    assert!(short.is_none_or(|l| l["effect"].is_null()), "{none}");
    let (status, error) =
        call(&app, Method::GET, "/api/v1/life-events/correlations?days=7", &bo.access_token, None).await;
    assert_eq!((status, &error["error"]["details"][0]["field"]), (StatusCode::UNPROCESSABLE_ENTITY, &json!("days")));
}

#[tokio::test]
async fn a_pet_s_walks_and_care_records_are_on_its_timeline() {
    let app = spawn_app().await;
    let ana = app.register("Ana").await;
    let t = &ana.access_token;
    let rex = app.create_pet(t, json!({"name": "Rex", "species": "dog"})).await;
    let pet = rex["id"].as_str().unwrap();
    let now = app.state.app.now();
    let walk = json!({"event_type": "walk", "title": "Park loop", "event_time": rfc3339(now - Duration::hours(2)), "duration_minutes": 40});
    call(&app, Method::POST, &format!("/api/v1/pets/{pet}/life-events"), t, Some(walk)).await;
    let record = json!({"kind": "visit", "title": "Check-up", "date": now.date().to_string()});
    let (status, body) = call(&app, Method::POST, &format!("/api/v1/pets/{pet}/records"), t, Some(record)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, timeline) = call(&app, Method::GET, &format!("/api/v1/pets/{pet}/timeline"), t, None).await;
    assert_eq!(status, StatusCode::OK, "{timeline}");
    let items = timeline["items"].as_array().unwrap();
    let walk = items.iter().find(|i| i["kind"] == "life_event").expect("the walk");
    assert_eq!((walk["label"].as_str(), walk["explanation"].as_str()), (Some("walk"), Some("Park loop")));
    assert!(walk["end"].is_string());
    let visit = items.iter().find(|i| i["kind"] == "care").expect("the check-up");
    assert_eq!(visit["explanation"], "Check-up");
    let (_, only) = call(&app, Method::GET, &format!("/api/v1/pets/{pet}/timeline?kinds=life_event"), t, None).await;
    assert_eq!(only["total"], 1);
}

#[tokio::test]
async fn on_the_dashboard_insights_links_and_a_pet_s_walk_are_a_tap_away() {
    use crate::pages::{browser, csrf_in, get_page, post_form, sign_in_through_form};
    let app = spawn_app().await;
    let ana = app.register("Ana").await;
    let rex = app.create_pet(&ana.access_token, json!({"name": "Rex", "species": "dog"})).await;
    let pet = rex["id"].as_str().unwrap().to_owned();
    let client = browser();
    sign_in_through_form(&app, &client, &ana.email, &ana.password).await;

    // A walk logged on the pet's page is there, in the API, and removable.
    let (_, html) = get_page(&app, &client, &format!("/pets/{pet}")).await;
    assert!(html.contains("Nothing logged for Rex today."), "{html}");
    let csrf = csrf_in(&html);
    let res = post_form(&app, &client, &format!("/pets/{pet}/life"), &[("csrf", &csrf), ("entry", "0")]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, html) = get_page(&app, &client, &format!("/pets/{pet}")).await;
    assert!(html.contains("<strong>Walked 30 min</strong>"), "{html}");
    let (_, walks) = call(&app, Method::GET, &format!("/api/v1/pets/{pet}/life-events"), &ana.access_token, None).await;
    assert_eq!((walks["total"].as_u64(), walks["items"][0]["event_type"].as_str()), (Some(1), Some("walk")));
    let id = walks["items"][0]["id"].as_str().unwrap();
    let res = post_form(&app, &client, &format!("/pets/{pet}/life/{id}/delete"), &[("csrf", &csrf)]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, walks) = call(&app, Method::GET, &format!("/api/v1/pets/{pet}/life-events"), &ana.access_token, None).await;
    assert_eq!(walks["total"], 0);

    // Insights drawn from the life page, then read and dismissed there.
    let now = app.state.app.now();
    let nights: Vec<Value> = (0..4)
        .map(|d| {
            json!({"event_type": "sleep", "title": "Slept", "duration_minutes": 320,
            "event_time": rfc3339(now - Duration::days(d) - Duration::hours(8))})
        })
        .collect();
    post_all(&app, &ana.access_token, "/api/v1/life-events/batch", &nights).await;
    let (_, html) = get_page(&app, &client, "/life").await;
    assert!(html.contains("No insights yet") && html.contains("What Petty has learned"), "{html}");
    assert!(html.contains("no model yet"), "{html}");
    let res = post_form(&app, &client, "/life/insights/generate", &[("csrf", &csrf)]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, html) = get_page(&app, &client, "/life").await;
    assert!(html.contains("Short sleep") && html.contains("5.3"), "the insight with its number: {html}");
    let (_, list) = call(&app, Method::GET, "/api/v1/insights?insight_type=sleep_short", &ana.access_token, None).await;
    let insight = list["items"][0]["id"].as_str().unwrap();
    let res = post_form(&app, &client, &format!("/life/insights/{insight}/read"), &[("csrf", &csrf)]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, read) = call(&app, Method::GET, &format!("/api/v1/insights/{insight}"), &ana.access_token, None).await;
    assert_eq!(read["is_read"], true);
    let res = post_form(&app, &client, &format!("/life/insights/{insight}/dismiss"), &[("csrf", &csrf)]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, html) = get_page(&app, &client, "/life").await;
    assert!(!html.contains("Short sleep"), "dismissed: {html}");

    // Training asked for from the page; the links page says what it has.
    let res = post_form(&app, &client, "/life/retrain", &[("csrf", &csrf)]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, m) = call(&app, Method::GET, "/api/v1/predictions/metrics", &ana.access_token, None).await;
    assert!(m["retrain_requested_at"].is_string(), "{m}");
    let (status, html) = get_page(&app, &client, "/life/links").await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("Links that hold (0)") && html.contains("Not enough data yet"), "{html}");
}

#[tokio::test]
async fn drawn_insights_and_the_patterns_behind_them_arrive_live() {
    let app = spawn_app().await;
    let ana = app.register("Ana").await;
    let t = &ana.access_token;
    let (_, me) = call(&app, Method::GET, "/api/v1/me", t, None).await;
    let topic = format!("user:{}:insights", me["user"]["id"].as_str().unwrap());
    let now = app.state.app.now();
    let nights: Vec<Value> = (1..=4)
        .map(|d| {
            json!({"event_type": "sleep", "title": "Slept", "duration_minutes": 450,
            "event_time": rfc3339(now - Duration::days(d) + Duration::hours(1))})
        })
        .collect();
    post_all(&app, t, "/api/v1/life-events/batch", &nights).await;
    let mut socket = open(&app, Some(t)).await;
    send(&mut socket, json!({"type": "subscribe", "topic": topic})).await;
    assert_eq!(next(&mut socket).await["type"], "subscribed");
    let (_, drawn) = call(&app, Method::POST, "/api/v1/insights/generate", t, Some(json!({}))).await;
    let mut kinds = Vec::new();
    for _ in 0..=drawn.as_array().unwrap().len() {
        let m = next(&mut socket).await;
        assert_eq!(m["topic"], topic.as_str());
        kinds.push(m["data"]["type"].as_str().unwrap().to_owned());
        if m["data"]["type"] == "pattern_detected" {
            let cycle = &m["data"]["data"]["sleep_cycle"];
            assert_eq!((cycle["avg_duration_hours"].as_f64(), cycle["sample_size"].as_u64()), (Some(7.5), Some(4)));
        }
    }
    let insights = kinds.iter().filter(|k| *k == "insight_generated").count();
    assert_eq!(insights, drawn.as_array().unwrap().len(), "{kinds:?}");
    assert_eq!(kinds.last().map(String::as_str), Some("pattern_detected"), "{kinds:?}");
}
