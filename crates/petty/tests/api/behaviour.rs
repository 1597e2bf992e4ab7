//! Behaviour analysis end to end: a simulated day of a collar's readings goes in through the
//! API, the analysis pass turns it into episodes, a day summary, a wellness score and a plan;
//! owners confirm or relabel episodes; live subscribers of `pet:{id}` hear of it.

use reqwest::StatusCode;
use serde_json::{Map, Value, json};
use time::OffsetDateTime;

use crate::harness::{TestApp, error_code, spawn_app};

const DAY_MS: i64 = 86_400_000;

/// Yesterday (UTC) from midnight, as epoch ms.
fn yesterday_ms() -> i64 {
    let now = OffsetDateTime::now_utc().unix_timestamp() * 1000;
    now - now.rem_euclid(DAY_MS) - DAY_MS
}

/// A dog wearing a collar; answers (pet id, device token).
async fn dog_with_collar(app: &TestApp, token: &str) -> (String, String) {
    let pet = app
        .create_pet(token, json!({"name": "Bella", "species": "dog", "weight_kg": 10.0, "date_of_birth": "2021-04-01"}))
        .await;
    let pet_id = pet["id"].as_str().unwrap().to_owned();
    let res = app
        .post_json(
            "/api/v1/devices",
            &json!({"name": "Bella's collar", "kind": "collar", "pet_id": pet_id}),
            Some(token),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let body: Value = res.json().await.unwrap();
    (pet_id, body["token"].as_str().unwrap().to_owned())
}

/// Sends a simulated day of readings, one a minute, with their accelerometer features.
async fn send_day(app: &TestApp, device_token: &str, start_ms: i64) -> usize {
    let day = petty_sim::labelled_days(7, start_ms, 1, 60_000, &petty_sim::Scenario::default());
    send_samples(app, device_token, &day).await
}

/// Sends simulated samples through the ingest API, as a collar would.
async fn send_samples(
    app: &TestApp,
    device_token: &str,
    day: &[(petty_core::behaviour::Sample, petty_core::behaviour::Behaviour)],
) -> usize {
    let readings: Vec<Value> = day
        .iter()
        .map(|(s, _)| {
            let mut r = Map::new();
            r.insert("ts".into(), json!(s.ts_ms));
            for (k, v) in [
                ("heart_rate", s.heart_rate),
                ("respiration_rate", s.respiration_rate),
                ("activity_level", s.activity_level),
                ("activity_counts", s.activity_counts),
                ("steps", s.steps),
                ("battery_pct", s.battery_pct),
            ] {
                if let Some(v) = v {
                    r.insert(k.into(), json!(v));
                }
            }
            if let (Some(lat), Some(lon)) = (s.lat, s.lon) {
                r.insert("location".into(), json!({"lat": lat, "lon": lon, "accuracy_m": s.accuracy_m}));
            }
            if let Some(a) = s.accel {
                let extra: Map<String, Value> = a.to_extra().iter().map(|(k, v)| ((*k).to_owned(), json!(v))).collect();
                r.insert("extra".into(), Value::Object(extra));
            }
            Value::Object(r)
        })
        .collect();
    let res = app.post_json("/api/v1/ingest", &json!({"readings": readings}), Some(device_token)).await;
    assert_eq!(res.status(), StatusCode::OK);
    let answer: Value = res.json().await.unwrap();
    assert_eq!(
        answer["rejected"],
        0,
        "{}",
        answer["results"].as_array().unwrap().iter().find(|r| r["status"] == "rejected").unwrap_or(&Value::Null)
    );
    answer["accepted"].as_u64().unwrap() as usize
}

/// The night of 24 to 25 October 2026 in Amsterdam crosses midnight and the clocks going back
/// (03:00 CEST is 02:00 CET): the evening is analysed before the morning's readings arrive,
/// and still no episode is lost or cut at midnight, and the 25th is a day of 25 hours.
#[tokio::test]
async fn a_night_across_midnight_and_the_clocks_going_back_loses_no_episode() {
    let app = spawn_app().await;
    let ana = app.register("Ana").await;
    let res = app
        .client
        .put(app.url("/api/v1/household/timezone"))
        .bearer_auth(&ana.access_token)
        .json(&json!({"timezone": "Europe/Amsterdam"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    app.state.app.clock.set(time::macros::datetime!(2026-10-26 12:00 UTC));
    let (pet_id, token) = dog_with_collar(&app, &ana.access_token).await;
    let ms = |t: OffsetDateTime| (t.unix_timestamp_nanos() / 1_000_000) as i64;
    // The simulated dog sleeps from about 22:00 to 06:30 UTC: 00:00 to 07:30 local, around midnight.
    let days =
        petty_sim::labelled_days(11, ms(time::macros::datetime!(2026-10-24 00:00 UTC)), 2, 60_000, &Default::default());
    let midnight = ms(time::macros::datetime!(2026-10-24 22:00 UTC)); // 00:00 CEST on the 25th
    let (evening, morning): (Vec<_>, Vec<_>) = days.iter().cloned().partition(|(s, _)| s.ts_ms < midnight);
    send_samples(&app, &token, &evening).await;
    petty_jobs::analysis::run_once(&app.state.app, app.state.app.now()).await.unwrap();
    send_samples(&app, &token, &morning).await;
    petty_jobs::analysis::run_once(&app.state.app, app.state.app.now()).await.unwrap();

    let (from, to) = (midnight - 6 * 3_600_000, midnight + 10 * 3_600_000);
    let path = format!("/api/v1/pets/{pet_id}/timeline?kinds=episode&from={from}&to={to}&page_size=500");
    let timeline: Value = app.get(&path, Some(&ana.access_token)).await.json().await.unwrap();
    let mut labelled: Vec<(i64, i64, String)> = timeline["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let at = |k: &str| {
                let t = e[k].as_str().map(|t| OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339));
                let t = t.unwrap_or_else(|| panic!("{k} in {e}"));
                ms(t.unwrap())
            };
            (at("at"), at("end"), e["label"].as_str().unwrap_or_default().to_owned())
        })
        .collect();
    labelled.sort_unstable();
    let spans: Vec<(i64, i64)> = labelled.iter().map(|(a, b, _)| (*a, *b)).collect();
    // The episodes follow one another through the night: no overlap, none cut at midnight, and
    // no gap but where the collar's readings were lost on the way.
    let lost = |from: i64, to: i64| !days.iter().any(|(s, _)| s.ts_ms >= from && s.ts_ms < to);
    assert!(spans.windows(2).all(|w| w[1].0 == w[0].1 || (w[1].0 > w[0].1 && lost(w[0].1, w[1].0))), "{spans:?}");
    let across: Vec<&(i64, i64)> = spans.iter().filter(|(a, b)| *a < midnight && *b > midnight).collect();
    assert_eq!(across.len(), 1, "one episode runs through midnight: {spans:?}");
    assert!(spans.iter().all(|(_, b)| *b != midnight), "none ends at midnight: {spans:?}");

    let household = petty_core_household(&ana.household_id);
    let pet = petty_core::ids::PetId(uuid::Uuid::parse_str(&pet_id).unwrap());
    let day = time::macros::date!(2026 - 10 - 25);
    let stored = app.state.store.pet_days(household, pet, day, day).await.unwrap();
    let summary = petty_app::summary_json::from_json(day, &stored[0].summary).unwrap();
    // Readings cover the whole local day, which had 25 hours (less the minutes whose readings
    // were lost on the way): every minute sent is counted, more than a 24-hour day holds.
    let (day_from, day_to) = (midnight, midnight + 25 * 3_600_000);
    let sent = days.iter().filter(|(s, _)| s.ts_ms >= day_from && s.ts_ms < day_to).count() as f64;
    assert!(sent > 24.0 * 60.0, "{sent} readings in the 25-hour day");
    assert!(summary.minutes_covered >= sent - 1.0, "{} minutes of {sent}", summary.minutes_covered);
    // The night's sleep is the 25th's: every minute of the sleeping episodes the pet's page
    // shows between 21:00 CEST on the 24th and 07:00 CET on the 25th is counted, across the
    // midnight and the hour the clocks went back (how much of the dog's true sleep the model
    // calls sleep is `petty eval`'s to measure: it takes some lying awake for sleep and some
    // sleep for rest, as real collars do, and more so for some dogs than others).
    let (night_from, night_to) = (midnight - 3 * 3_600_000, midnight + 8 * 3_600_000);
    let shown_asleep: i64 = labelled
        .iter()
        .filter(|(_, _, label)| label == "sleeping")
        .map(|(a, b, _)| (b.min(&night_to) - a.max(&night_from)).max(0))
        .sum();
    let slept = days
        .iter()
        .filter(|(s, b)| {
            s.ts_ms >= night_from && s.ts_ms < night_to && *b == petty_core::behaviour::Behaviour::Sleeping
        })
        .count() as f64;
    assert!(slept > 6.0 * 60.0, "{slept} minutes truly asleep in the night");
    assert!(shown_asleep as f64 / 60_000.0 > 3.0 * 60.0, "{shown_asleep} ms shown asleep: {labelled:?}");
    assert!(
        (summary.sleep_minutes - shown_asleep as f64 / 60_000.0).abs() < 1.0,
        "the night's sleep is the 25th's: {} minutes counted, {} shown",
        summary.sleep_minutes,
        shown_asleep as f64 / 60_000.0
    );
}

#[tokio::test]
async fn a_day_of_readings_becomes_episodes_a_score_and_a_plan_and_owners_can_correct_it() {
    let app = spawn_app().await;
    let ana = app.register("Ana").await;
    let (pet_id, device_token) = dog_with_collar(&app, &ana.access_token).await;
    let day0 = yesterday_ms();

    let mut live = app.bus.subscriber(64);
    live.subscribe(format!("pet:{pet_id}").parse().unwrap());

    assert!(send_day(&app, &device_token, day0).await > 1000);
    let analysed = petty_jobs::analysis::run_once(&app.state.app, app.state.app.now()).await.unwrap();
    assert!(analysed >= 1, "the collar's day was analysed");

    // The live topic heard the day's episodes.
    let message = tokio::time::timeout(std::time::Duration::from_secs(5), live.recv()).await.unwrap().unwrap();
    let pushed: Value = serde_json::from_slice(&message.payload).unwrap();
    assert_eq!(pushed["type"], "episodes", "a normal day raises no anomaly: {pushed}");
    assert!(!pushed["items"].as_array().unwrap().is_empty());

    let span = format!("from={day0}&to={}", day0 + DAY_MS);
    let res = app.get(&format!("/api/v1/pets/{pet_id}/timeline?{span}&page_size=500"), Some(&ana.access_token)).await;
    assert_eq!(res.status(), StatusCode::OK);
    let page: Value = res.json().await.unwrap();
    let items = page["items"].as_array().unwrap();
    assert!(items.len() >= 10, "a dog's day has many episodes: {}", items.len());
    let labels: Vec<&str> =
        items.iter().filter(|i| i["kind"] == "episode").map(|i| i["label"].as_str().unwrap()).collect();
    for expected in ["sleeping", "walking"] {
        assert!(labels.contains(&expected), "{expected} in {labels:?}");
    }
    let mut last = String::new();
    for item in items {
        let at = item["at"].as_str().unwrap().to_owned();
        assert!(at >= last, "event-time order");
        last = at;
        if item["kind"] == "episode" {
            assert!(item["model_version"].as_str().unwrap().starts_with("forest"));
            assert!(!item["features"].as_array().unwrap().is_empty(), "each episode says what decided it");
            let c = item["confidence"].as_f64().unwrap();
            assert!((0.0..=1.0).contains(&c));
        }
    }
    // Paging and filters.
    let res = app
        .get(&format!("/api/v1/pets/{pet_id}/timeline?{span}&page_size=3&kinds=episode"), Some(&ana.access_token))
        .await;
    let first: Value = res.json().await.unwrap();
    assert_eq!(first["items"].as_array().unwrap().len(), 3);
    assert_eq!(first["has_next"], true);
    let res = app.get(&format!("/api/v1/pets/{pet_id}/timeline?kinds=alarms"), Some(&ana.access_token)).await;
    let (status, body) = error_code(res).await;
    assert_eq!((status, body["details"][0]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("kinds")));

    // Feedback: bad verdicts change nothing; a relabel is stored and shown.
    let walk = items.iter().find(|i| i["label"] == "walking").unwrap();
    let path = format!("/api/v1/pets/{pet_id}/episodes/{}/feedback", walk["id"].as_str().unwrap());
    let (status, body) =
        error_code(app.post_json(&path, &json!({"verdict": "maybe"}), Some(&ana.access_token)).await).await;
    assert_eq!((status, body["details"][0]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("verdict")));
    let (status, body) =
        error_code(app.post_json(&path, &json!({"verdict": "relabelled"}), Some(&ana.access_token)).await).await;
    assert_eq!((status, body["details"][0]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("label")));
    let res = app
        .post_json(
            &path,
            &json!({"verdict": "relabelled", "label": "running", "note": "she sprinted"}),
            Some(&ana.access_token),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let stored: Value = res.json().await.unwrap();
    assert_eq!((stored["said"].as_str(), stored["label"].as_str()), (Some("walking"), Some("running")));
    let sleep = items.iter().find(|i| i["label"] == "sleeping").unwrap();
    let path = format!("/api/v1/pets/{pet_id}/episodes/{}/feedback", sleep["id"].as_str().unwrap());
    assert_eq!(
        app.post_json(&path, &json!({"verdict": "confirmed"}), Some(&ana.access_token)).await.status(),
        StatusCode::CREATED
    );

    let precision: Value =
        app.get(&format!("/api/v1/pets/{pet_id}/label-precision"), Some(&ana.access_token)).await.json().await.unwrap();
    let by_label = |l: &str| precision["items"].as_array().unwrap().iter().find(|p| p["label"] == l).cloned().unwrap();
    assert_eq!(by_label("sleeping")["precision"], 1.0);
    assert_eq!(by_label("walking")["precision"], 0.0);

    // The re-analysis keeps the judged episodes with the owner's word on them.
    petty_jobs::analysis::run_once(&app.state.app, app.state.app.now()).await.unwrap();
    let page: Value = app
        .get(&format!("/api/v1/pets/{pet_id}/timeline?{span}&page_size=500"), Some(&ana.access_token))
        .await
        .json()
        .await
        .unwrap();
    let judged = page["items"].as_array().unwrap().iter().find(|i| i["id"] == walk["id"]).unwrap().clone();
    assert_eq!(judged["feedback"]["verdict"], "relabelled");
    assert_eq!(judged["feedback"]["label"], "running");

    // Another household sees none of it.
    let bo = app.register("Bo").await;
    let res = app.get(&format!("/api/v1/pets/{pet_id}/timeline?{span}"), Some(&bo.access_token)).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);

    // Wellness and plan.
    let wellness: Value =
        app.get(&format!("/api/v1/pets/{pet_id}/wellness"), Some(&ana.access_token)).await.json().await.unwrap();
    let score = wellness["score"].as_u64().unwrap();
    assert!((1..=100).contains(&score), "{wellness}");
    assert!(!wellness["components"].as_array().unwrap().is_empty());
    assert!(wellness["history"][0]["summary"]["sleep_minutes"].as_f64().unwrap() > 300.0, "{wellness}");
    let plan: Value =
        app.get(&format!("/api/v1/pets/{pet_id}/plan"), Some(&ana.access_token)).await.json().await.unwrap();
    // A 10 kg adult dog: RER = 70 × 10^0.75 ≈ 394 kcal.
    assert!((plan["nutrition_plan"]["rer_kcal"].as_f64().unwrap() - 393.6).abs() < 0.5, "{plan}");
    assert!(plan["daily_goals"]["active_minutes"].as_u64().unwrap() > 0);
    for r in plan["health_recommendations"].as_array().unwrap() {
        assert!(!r["because"].as_array().unwrap().is_empty(), "every recommendation cites its data: {r}");
    }
}

#[tokio::test]
async fn an_accelerometer_window_is_kept_as_its_features_and_a_bad_one_names_the_axis() {
    let app = spawn_app().await;
    let ana = app.register("Ana").await;
    let (_, device_token) = dog_with_collar(&app, &ana.access_token).await;
    let ts = OffsetDateTime::now_utc().unix_timestamp() * 1000 - 5_000;
    // Two seconds at 25 Hz of a 5 Hz vertical bounce on top of gravity.
    let z: Vec<f64> = (0..50).map(|i| 1.0 + 0.8 * (2.0 * std::f64::consts::PI * 5.0 * i as f64 / 25.0).sin()).collect();
    let body =
        json!({"ts": ts, "heart_rate": 110, "accel": {"hz": 25, "x": vec![0.0; 50], "y": vec![0.0; 50], "z": z}});
    let res = app.post_json("/api/v1/ingest", &body, Some(&device_token)).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let devices: Value = app.get("/api/v1/devices", Some(&ana.access_token)).await.json().await.unwrap();
    let id = devices["items"][0]["id"].as_str().unwrap();
    let latest: Value =
        app.get(&format!("/api/v1/devices/{id}/readings/latest"), Some(&ana.access_token)).await.json().await.unwrap();
    let dominant = latest["extra"]["accel_dominant_hz"].as_f64().unwrap();
    assert!((dominant - 5.0).abs() < 0.6, "the shake's frequency: {latest}");
    assert!(latest["extra"]["accel_odba"].as_f64().unwrap() > 0.3);

    let bad = json!({"ts": ts + 1000, "accel": {"hz": 25, "x": vec![0.0; 50], "y": vec![0.0; 49], "z": vec![1.0; 50]}});
    let (status, error) = error_code(app.post_json("/api/v1/ingest", &bad, Some(&device_token)).await).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let fields: Vec<&str> = error["details"].as_array().unwrap().iter().map(|d| d["field"].as_str().unwrap()).collect();
    assert!(fields.iter().any(|f| f.starts_with("accel.")), "{error}");
}

#[tokio::test]
async fn the_pet_page_shows_the_day_and_takes_feedback_from_its_buttons() {
    use crate::pages_devices::{csrf_of, open, signed_in, submit};
    let app = spawn_app().await;
    let ana = app.register("Ana").await;
    let (pet_id, device_token) = dog_with_collar(&app, &ana.access_token).await;
    // Today's readings so far (the page shows today).
    let now = OffsetDateTime::now_utc().unix_timestamp() * 1000;
    let today = now - now.rem_euclid(DAY_MS);
    let day = petty_sim::labelled_days(9, today, 1, 60_000, &petty_sim::Scenario::default());
    let readings: Vec<Value> = day
        .iter()
        .filter(|(s, _)| s.ts_ms < now - 60_000)
        .map(|(s, _)| {
            json!({"ts": s.ts_ms, "heart_rate": s.heart_rate, "activity_level": s.activity_level,
            "steps": s.steps, "activity_counts": s.activity_counts, "respiration_rate": s.respiration_rate})
        })
        .collect();
    if readings.len() < 30 {
        // Just after midnight there is too little of today to show; the API test covers the rest.
        return;
    }
    let res = app.post_json("/api/v1/ingest", &json!({"readings": readings}), Some(&device_token)).await;
    assert_eq!(res.status(), StatusCode::OK);
    petty_jobs::analysis::run_once(&app.state.app, app.state.app.now()).await.unwrap();

    let browser = signed_in(&app, &ana).await;
    let (status, html) = open(&app, &browser, &format!("/pets/{pet_id}")).await;
    assert_eq!(status, StatusCode::OK);
    for part in ["Wellness today", "Today", "Activity and sleep", "Plan", "<svg", "Relabel"] {
        assert!(html.contains(part), "{part} on the page");
    }
    // How sure Petty is of each episode is said in words, never as a percentage, and "likely"
    // only where the episode's measured confidence (the model's confidence curves, what the API
    // gives) is at least the threshold: no episode reads surer than it was measured.
    assert!(html.contains(", likely</span>") || html.contains(", unsure</span>"), "{html}");
    // (The wellness panel's weights are percentages: "100 %" there is the rest component's
    // share when it is the only one with data, so only the day's episodes are looked at.)
    let timeline_html = html.split(r#"<ol class="timeline">"#).nth(1).and_then(|rest| rest.split("</ol>").next());
    let timeline_html = timeline_html.expect("the day's episodes");
    assert!(!timeline_html.contains('%'), "{timeline_html}");
    let path = format!("/api/v1/pets/{pet_id}/timeline?kinds=episode&from={today}&to={now}&page_size=500");
    let timeline: Value = app.get(&path, Some(&ana.access_token)).await.json().await.unwrap();
    let confidences: Vec<f64> =
        timeline["items"].as_array().unwrap().iter().map(|e| e["confidence"].as_f64().unwrap()).collect();
    let likely = petty_core::behaviour::calibrate::LIKELY_MIN_CONFIDENCE;
    assert_eq!(
        html.matches(", likely</span>").count(),
        confidences.iter().filter(|c| **c >= likely).count(),
        "{confidences:?}"
    );
    assert_eq!(html.matches(", unsure</span>").count(), confidences.iter().filter(|c| **c < likely).count());
    let action = html
        .split(r#"action=""#)
        .filter_map(|rest| rest.split('"').next())
        .find(|a| a.ends_with("/feedback"))
        .expect("a feedback form")
        .to_owned();
    let res =
        submit(&app, &browser, &action, &[("csrf", &csrf_of(&html)), ("verdict", "relabelled"), ("label", "playing")])
            .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, html) = open(&app, &browser, &format!("/pets/{pet_id}")).await;
    assert!(html.contains("You said: relabelled"), "the page shows the owner's word");
    // Without the form's token nothing changes.
    let res = submit(&app, &browser, &action, &[("csrf", "forged"), ("verdict", "wrong")]).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let feedback = app.store.episode_feedback(
        petty_core_household(&ana.household_id),
        petty_core::ids::PetId(pet_id.parse().unwrap()),
        10,
    );
    assert_eq!(feedback.await.unwrap().len(), 1);
}

fn petty_core_household(id: &str) -> petty_core::ids::HouseholdId {
    petty_core::ids::HouseholdId(id.parse().unwrap())
}
