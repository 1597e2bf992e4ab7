//! Alarms and notifications end to end: rules raising one alarm under concurrency, the alarm
//! API and its lifecycle, escalation to a voice call and its end on acknowledgement (from the
//! call's keypress and from a link), quiet hours, the outbox across a restart, and each channel
//! against its counterpart: a real SMTP server, a wire-level Twilio, a verifying webhook
//! receiver.

use std::time::Duration;

use petty_core::alarm::{AlarmState, Severity};
use petty_core::ids::HouseholdId;
use petty_http::notify::OutboundPolicy;
use petty_http::{AppState, HttpConfig};
use petty_store::{NewAlarm, Store};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::fakes;
use crate::harness::{Engine, TestApp, spawn_app, spawn_app_on, spawn_app_with};

fn now_ms() -> i64 {
    petty_store::to_ms(time::OffsetDateTime::now_utc())
}

fn household(app_household: &str) -> HouseholdId {
    HouseholdId(app_household.parse().unwrap())
}

/// An air monitor with `serial`; answers (device id, token).
pub(crate) async fn air_monitor(app: &TestApp, token: &str, serial: &str) -> (String, String) {
    let res = app
        .post_json(
            "/api/v1/devices",
            &json!({"name": "Car monitor", "kind": "air_monitor", "serial": serial, "expected_interval_secs": 5}),
            Some(token),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let body: Value = res.json().await.unwrap();
    (body["device"]["id"].as_str().unwrap().to_owned(), body["token"].as_str().unwrap().to_owned())
}

pub(crate) async fn add_contact(app: &TestApp, token: &str, body: Value) -> Value {
    let res = app.post_json("/api/v1/contacts", &body, Some(token)).await;
    let status = res.status();
    let out: Value = res.json().await.unwrap();
    assert_eq!(status, StatusCode::CREATED, "{out}");
    out
}

async fn ingest(app: &TestApp, device_token: &str, body: &Value) -> StatusCode {
    app.client.post(app.url("/api/v1/ingest")).bearer_auth(device_token).json(body).send().await.unwrap().status()
}

async fn alarms(app: &TestApp, token: &str, query: &str) -> Vec<Value> {
    let res = app.get(&format!("/api/v1/alarms{query}"), Some(token)).await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    body["items"].as_array().unwrap().clone()
}

#[tokio::test]
async fn a_hundred_concurrent_readings_over_the_threshold_raise_one_alarm() {
    let app = spawn_app().await;
    let ana = app.register("Ana").await;
    let (_, device_token) = air_monitor(&app, &ana.access_token, "CAR-1").await;
    // 100 readings 5 s apart: the first three minutes are the sensor warming up.
    let t0 = now_ms() - 600_000;
    let sends = (0..100).map(|i| {
        let app = &app;
        let device_token = device_token.clone();
        async move { ingest(app, &device_token, &json!({"ts": t0 + i * 5000, "co_ppm": 120.0 + i as f64})).await }
    });
    let statuses = futures_util::future::join_all(sends).await;
    assert!(statuses.iter().all(|s| *s == StatusCode::CREATED), "{statuses:?}");
    // Judge concurrently too, as several nodes would.
    let passes = (0..4).map(|_| {
        let state = app.state.clone();
        async move { petty_jobs::alarms::run_once(&state.app).await }
    });
    futures_util::future::join_all(passes).await;

    let open = alarms(&app, &ana.access_token, "?state=active").await;
    let co: Vec<&Value> = open.iter().filter(|a| a["type"] == "co_high").collect();
    assert_eq!(co.len(), 1, "one alarm per source and type: {open:?}");
    let alarm = co[0];
    assert_eq!(alarm["severity"], "critical");
    // Dated by the readings: the first reading after the sensor's 3-minute warm-up broke it.
    assert!(alarm["message"].as_str().unwrap().contains("co_ppm 156 "), "names the value: {}", alarm["message"]);
    assert!(!alarm["readings"].as_array().unwrap().is_empty(), "says which readings raised it");
    assert!(alarm["rule_id"].is_string(), "says which rule raised it");

    // The store alone, under 100 concurrent raises of one source and type: one row, 100 times.
    let h = household(&ana.household_id);
    let raises = (0..100).map(|i| {
        let store = app.store.clone();
        async move {
            let new = NewAlarm {
                rule_id: None,
                source: "device:concurrency".into(),
                alarm_type: "test".into(),
                device_id: None,
                pet_id: None,
                severity: Severity::Minor,
                title: "t".into(),
                message: format!("m{i}"),
                value: Some(i as f64),
                evidence: vec![(i, i as f64)],
                at_ms: now_ms(),
                quiet: false,
            };
            store.raise_alarm(h, &new).await.unwrap()
        }
    });
    let results = futures_util::future::join_all(raises).await;
    assert_eq!(results.iter().filter(|(_, fresh)| *fresh).count(), 1, "exactly one raise is new");
    let ids: std::collections::HashSet<_> = results.iter().map(|(a, _)| a.id).collect();
    assert_eq!(ids.len(), 1);
    let stored = app.store.get_alarm(h, results[0].0.id).await.unwrap();
    assert_eq!(stored.occurrences, 100);
}

#[tokio::test]
async fn readings_flapping_around_a_threshold_raise_once_and_clear_only_when_clearly_back() {
    let app = spawn_app().await;
    let ana = app.register("Ana").await;
    let (_, device_token) = air_monitor(&app, &ana.access_token, "CAR-2").await;
    let t0 = now_ms() - 3_600_000;
    // 45..55 ppm around the 50 ppm threshold, a reading every 20 s, judged after each.
    for i in 0..40 {
        let ppm = if i % 2 == 0 { 55.0 } else { 45.0 };
        assert_eq!(
            ingest(&app, &device_token, &json!({"ts": t0 + i * 20_000, "co_ppm": ppm})).await,
            StatusCode::CREATED
        );
        petty_jobs::alarms::run_once(&app.state.app).await;
    }
    let all = alarms(&app, &ana.access_token, "").await;
    let co: Vec<&Value> = all.iter().filter(|a| a["type"] == "co_high").collect();
    assert_eq!(co.len(), 1, "one alarm, not one per crossing");
    assert_eq!(co[0]["state"], "active", "never cleared while hovering above 35 ppm");
    // Clean air for 5 minutes clears it (the rule's clear level and time).
    for i in 0..17 {
        ingest(&app, &device_token, &json!({"ts": t0 + 800_000 + i * 20_000, "co_ppm": 3.0})).await;
        petty_jobs::alarms::run_once(&app.state.app).await;
    }
    let after = alarms(&app, &ana.access_token, "").await;
    let co: Vec<&Value> = after.iter().filter(|a| a["type"] == "co_high").collect();
    assert_eq!((co.len(), co[0]["state"].as_str()), (1, Some("cleared")));
    assert_eq!(co[0]["cleared_by"], "system");
}

/// CO falls slowly after an incident: minutes between the levels (35 to 50 ppm) and then clean
/// air, each reading judged as it comes, once acknowledged. The alarm clears although its last
/// breaking reading is older than the rule's window by then (found by the demo's CO incident).
#[tokio::test]
async fn an_acknowledged_alarm_clears_after_a_slow_fall_longer_than_the_rule_s_window() {
    let app = spawn_app().await;
    let ana = app.register("Ana").await;
    let (_, device_token) = air_monitor(&app, &ana.access_token, "CAR-SLOW").await;
    let t0 = now_ms() - 3_600_000;
    let mut send = Vec::new();
    send.extend((0..10).map(|i| (t0 + i * 60_000, 120.0)));
    // Ten minutes between the levels: neither breaking nor clearing.
    send.extend((10..20).map(|i| (t0 + i * 60_000, 42.0)));
    send.extend((20..30).map(|i| (t0 + i * 60_000, 2.0)));
    for (i, (ts, ppm)) in send.into_iter().enumerate() {
        assert_eq!(ingest(&app, &device_token, &json!({"ts": ts, "co_ppm": ppm})).await, StatusCode::CREATED);
        petty_jobs::alarms::run_once(&app.state.app).await;
        if i == 3 {
            let raised = alarms(&app, &ana.access_token, "").await;
            let id = raised.iter().find(|a| a["type"] == "co_high").expect("raised")["id"].as_str().unwrap().to_owned();
            let res =
                app.post_json(&format!("/api/v1/alarms/{id}/acknowledge"), &json!({}), Some(&ana.access_token)).await;
            assert_eq!(res.status(), StatusCode::OK);
        }
    }
    let after = alarms(&app, &ana.access_token, "").await;
    let co: Vec<&Value> = after.iter().filter(|a| a["type"] == "co_high").collect();
    assert_eq!((co.len(), co[0]["state"].as_str()), (1, Some("cleared")), "{after:?}");
    let cleared = time::OffsetDateTime::parse(
        co[0]["cleared_at"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    assert_eq!(cleared.unix_timestamp() * 1000, t0 / 1000 * 1000 + 20 * 60_000, "cleared when the air was clean");
}

/// Readings come faster than the rules are judged: a spike with normal readings on both sides
/// of it, all arriving before one judgement, still raises its alarm, once.
#[tokio::test]
async fn a_spike_between_two_judgements_still_raises_once() {
    let app = spawn_app().await;
    let ana = app.register("Ana").await;
    let (_, device_token) = air_monitor(&app, &ana.access_token, "CAR-3").await;
    let t0 = now_ms() - 600_000;
    let warm: Vec<Value> = (0..30).map(|i| json!({"ts": t0 + i * 10_000, "co_ppm": 4.0})).collect();
    assert_eq!(ingest(&app, &device_token, &json!({"readings": warm})).await, StatusCode::OK);
    petty_jobs::alarms::run_once(&app.state.app).await;
    assert!(alarms(&app, &ana.access_token, "").await.is_empty(), "clean air raises nothing");
    for (i, ppm) in [4.0, 130.0, 4.0, 4.0].into_iter().enumerate() {
        let body = json!({"ts": t0 + 300_000 + i as i64 * 1_000, "co_ppm": ppm});
        assert_eq!(ingest(&app, &device_token, &body).await, StatusCode::CREATED);
    }
    petty_jobs::alarms::run_once(&app.state.app).await;
    let open = alarms(&app, &ana.access_token, "?state=active").await;
    let co: Vec<&Value> = open.iter().filter(|a| a["type"] == "co_high").collect();
    assert_eq!(co.len(), 1, "the spike raised co_high: {open:?}");
    assert_eq!(co[0]["value"], 130.0);
    // More clean readings, judged again: the spike is behind the last judgement, so it is not
    // counted again (and 5 minutes under 35 ppm have not passed, so it stays open).
    ingest(&app, &device_token, &json!({"ts": t0 + 310_000, "co_ppm": 4.0})).await;
    petty_jobs::alarms::run_once(&app.state.app).await;
    let again = alarms(&app, &ana.access_token, "?state=active").await;
    let co: Vec<&Value> = again.iter().filter(|a| a["type"] == "co_high").collect();
    assert_eq!((co.len(), &co[0]["occurrences"]), (1, &json!(1)), "{again:?}");
}

#[tokio::test]
async fn the_alarm_api_acknowledges_clears_comments_and_keeps_a_trail() {
    let app = spawn_app().await;
    let ana = app.register("Ana").await;
    let (device_id, device_token) = air_monitor(&app, &ana.access_token, "CAR-3").await;
    ingest(&app, &device_token, &json!({"ts": now_ms() - 300_000, "ambient_temp_c": 41.0})).await;
    ingest(&app, &device_token, &json!({"ts": now_ms() - 60_000, "ambient_temp_c": 43.0})).await;
    petty_jobs::alarms::run_once(&app.state.app).await;
    let found = alarms(&app, &ana.access_token, &format!("?severity=critical&device_id={device_id}")).await;
    let hot = found.iter().find(|a| a["type"] == "air_hot").expect("too hot for a pet, for 2 minutes");
    let id = hot["id"].as_str().unwrap();
    assert!(alarms(&app, &ana.access_token, "?state=cleared").await.is_empty());

    let res = app.get("/api/v1/alarms?severity=loud", Some(&ana.access_token)).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["details"][0]["field"], "severity");

    let ack = app
        .post_json(&format!("/api/v1/alarms/{id}/acknowledge"), &json!({"note": "on my way"}), Some(&ana.access_token))
        .await;
    assert_eq!(ack.status(), StatusCode::OK);
    let again = app.post_json(&format!("/api/v1/alarms/{id}/acknowledge"), &json!({}), Some(&ana.access_token)).await;
    assert_eq!(again.status(), StatusCode::CONFLICT, "acknowledged once");
    let res = app
        .post_json(&format!("/api/v1/alarms/{id}/comments"), &json!({"text": "windows open"}), Some(&ana.access_token))
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let res =
        app.post_json(&format!("/api/v1/alarms/{id}/comments"), &json!({"text": "  "}), Some(&ana.access_token)).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let res = app.post_json(&format!("/api/v1/alarms/{id}/clear"), &json!({}), Some(&ana.access_token)).await;
    assert_eq!(res.status(), StatusCode::OK);

    let detail: Value = app.get(&format!("/api/v1/alarms/{id}"), Some(&ana.access_token)).await.json().await.unwrap();
    assert_eq!(detail["state"], "cleared");
    assert_eq!(detail["rule"]["key"], "air_hot");
    let kinds: Vec<&str> = detail["trail"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["raised", "acknowledged", "comment", "cleared"]);
    assert_eq!(detail["trail"][1]["body"], "on my way");

    // Another household sees nothing of it.
    let bo = app.register("Bo").await;
    assert_eq!(app.get(&format!("/api/v1/alarms/{id}"), Some(&bo.access_token)).await.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn rules_are_tuned_with_checks_that_name_the_field() {
    let app = spawn_app().await;
    let ana = app.register("Ana").await;
    let rules: Value = app.get("/api/v1/alarm-rules", Some(&ana.access_token)).await.json().await.unwrap();
    assert_eq!(rules["total"].as_u64(), Some(rules["items"].as_array().unwrap().len() as u64), "one list shape");
    let co = rules["items"].as_array().unwrap().iter().find(|r| r["key"] == "co_high").unwrap().clone();
    assert_eq!(co["value"], 50.0, "the default CO threshold");
    let id = co["id"].as_str().unwrap();
    let put = |body: Value| {
        let app = &app;
        let token = ana.access_token.clone();
        async move {
            app.client
                .put(app.url(&format!("/api/v1/alarm-rules/{id}")))
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .unwrap()
        }
    };
    let res = put(json!({"name": "CO high", "device_kind": "air_monitor", "kind": "above", "metric": "co_ppm",
        "value": 35.0, "clear_value": 40.0, "severity": "critical"}))
    .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["details"][0]["field"], "clear_value");
    for kind in ["toaster", "other"] {
        let res = put(json!({"name": "CO high", "device_kind": kind, "kind": "above", "metric": "co_ppm",
            "value": 35.0, "clear_value": 25.0, "severity": "critical"}))
        .await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "{kind}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"]["details"][0]["field"], "device_kind", "{kind}");
    }
    // A built-in rule keeps its kind, but what is sent must still be one.
    let res = put(json!({"name": "CO high", "device_kind": "air_monitor", "kind": "toaster", "metric": "co_ppm",
        "value": 35.0, "clear_value": 25.0, "severity": "critical"}))
    .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(res.json::<Value>().await.unwrap()["error"]["details"][0]["field"], "kind");
    let res = put(json!({"name": "CO high", "device_kind": "air_monitor", "kind": "above", "metric": "co_ppm",
        "value": 35.0, "clear_value": 25.0, "for_secs": 30, "severity": "critical"}))
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    assert_eq!((body["value"].as_f64(), body["key"].as_str()), (Some(35.0), Some("co_high")));
    assert_eq!(body["device_kind"], "air_monitor");
    let res = app
        .client
        .delete(app.url(&format!("/api/v1/alarm-rules/{id}")))
        .bearer_auth(&ana.access_token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND, "built-in rules are disabled, not deleted");
}

#[tokio::test]
async fn contacts_need_valid_e164_phones() {
    let app = spawn_app().await;
    let ana = app.register("Ana").await;
    let res = app
        .post_json(
            "/api/v1/contacts",
            &json!({"name": "Neighbour", "role": "secondary", "phone": "0612345678"}),
            Some(&ana.access_token),
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["details"][0]["field"], "phone");
    let c = add_contact(
        &app,
        &ana.access_token,
        json!({"name": "Neighbour", "role": "secondary", "phone": "+31 6 1234 5678"}),
    )
    .await;
    assert_eq!(c["phone"], "+31612345678");
    let res = app
        .post_json(
            "/api/v1/contacts",
            &json!({"name": "Me", "role": "member", "phone": "+14155552671"}),
            Some(&ana.access_token),
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "a member contact names the member");
}

/// An app whose Twilio is the fake, with a raised alarm of `severity` raised `ago_secs` ago and
/// two contacts with phones.
async fn escalation_setup(
    severity: Severity,
    ago_secs: i64,
) -> (TestApp, fakes::FakeTwilio, petty_store::Alarm, String) {
    let twilio = fakes::twilio().await;
    let config = twilio.config();
    let app = spawn_app_with(move |c| c.notify.twilio = Some(config)).await;
    let ana = app.register("Ana").await;
    add_contact(
        &app,
        &ana.access_token,
        json!({"name": "Ana", "role": "secondary", "phone": "+14155550101", "position": 1}),
    )
    .await;
    add_contact(&app, &ana.access_token, json!({"name": "Bo", "role": "emergency", "phone": "+14155550102"})).await;
    let new = NewAlarm {
        rule_id: None,
        source: "device:test".into(),
        alarm_type: "heart_high".into(),
        device_id: None,
        pet_id: None,
        severity,
        title: "Heart racing: Bella's collar".into(),
        message: "heart_rate 200 beats per minute is above 180".into(),
        value: Some(200.0),
        evidence: vec![],
        at_ms: now_ms() - ago_secs * 1000,
        quiet: false,
    };
    let (alarm, _) = app.store.raise_alarm(household(&ana.household_id), &new).await.unwrap();
    (app, twilio, alarm, ana.access_token)
}

#[tokio::test]
async fn escalation_reaches_the_voice_call_and_a_keypress_stops_it() {
    // A major alarm nobody has acknowledged for 11 minutes: SMS at 5, the call at 10.
    let (app, twilio, alarm, token) = escalation_setup(Severity::Major, 11 * 60).await;
    petty_app::notify::escalate(&app.state.app, &alarm, now_ms()).await;
    petty_jobs::outbox::deliver_due(&app.state.app).await;
    let mut sent = twilio.requests();
    sent.sort_by(|a, b| b.resource.cmp(&a.resource));
    let kinds: Vec<(&str, &str)> = sent.iter().map(|r| (r.resource.as_str(), r.to.as_str())).collect();
    assert_eq!(kinds, [("Messages.json", "+14155550101"), ("Calls.json", "+14155550101")], "{sent:?}");
    assert_eq!(sent[0].from, "+15005550006", "from the configured number");
    let sms = sent[0].body.clone().unwrap();
    assert!(sms.contains("Heart racing") && sms.contains("/ack/"), "{sms}");
    let twiml = sent[1].twiml.clone().unwrap();
    assert!(twiml.contains("<Say>") && twiml.contains("<Gather numDigits=\"1\""), "{twiml}");

    // The person presses 1: Twilio posts the digit to the Gather's action URL.
    let action = twiml.split("action=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
    let path = &action[action.find("/hooks/").unwrap()..];
    let res = app.client.post(app.url(path)).form(&[("Digits", "1"), ("CallSid", "CA1")]).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.text().await.unwrap().contains("acknowledged"));
    let detail: Value = app.get(&format!("/api/v1/alarms/{}", alarm.id), Some(&token)).await.json().await.unwrap();
    assert_eq!(detail["state"], "acknowledged");
    assert!(detail["acknowledged_by"].as_str().unwrap().starts_with("contact:"));

    // An hour later (on the server's clock, so whatever was queued is due) nobody else is called.
    app.state.app.clock.advance(std::time::Duration::from_secs(3600));
    let later = app.store.get_alarm(alarm.household_id, alarm.id).await.unwrap();
    petty_app::notify::escalate(&app.state.app, &later, app.state.app.now_ms()).await;
    petty_jobs::outbox::deliver_due(&app.state.app).await;
    assert_eq!(twilio.requests().len(), 2, "acknowledging stops escalation");
}

#[tokio::test]
async fn unacknowledged_escalation_moves_to_the_next_contact_and_repeats() {
    // 45 minutes unacknowledged: both contacts' turns of round one and round two have come.
    let (app, twilio, alarm, _) = escalation_setup(Severity::Major, 45 * 60).await;
    petty_app::notify::escalate(&app.state.app, &alarm, now_ms()).await;
    petty_jobs::outbox::deliver_due(&app.state.app).await;
    let sent = twilio.requests();
    let calls_to = |n: &str| sent.iter().filter(|r| r.resource == "Calls.json" && r.to == n).count();
    assert_eq!(calls_to("+14155550101"), 2, "first contact: called in rounds one and two");
    assert_eq!(calls_to("+14155550102"), 1, "then the next contact");
    // Running the escalation again queues nothing twice.
    petty_app::notify::escalate(&app.state.app, &alarm, now_ms()).await;
    petty_jobs::outbox::deliver_due(&app.state.app).await;
    assert_eq!(twilio.requests().len(), sent.len());
}

#[tokio::test]
async fn quiet_hours_hold_back_a_warning_but_not_a_critical_alarm() {
    let twilio = fakes::twilio().await;
    let config = twilio.config();
    let app = spawn_app_with(move |c| c.notify.twilio = Some(config)).await;
    let ana = app.register("Ana").await;
    let h = household(&ana.household_id);
    // Quiet hours from an hour ago to an hour from now (UTC), SMS for warnings and up.
    let minute = (now_ms() / 60_000).rem_euclid(1440);
    let hhmm = |m: i64| format!("{:02}:{:02}", m.rem_euclid(1440) / 60, m.rem_euclid(1440) % 60);
    add_contact(
        &app,
        &ana.access_token,
        json!({"name": "Ana", "role": "secondary", "phone": "+14155550101",
        "policy": {"sms": "warning", "email": "warning", "voice": "critical",
            "quiet_hours": {"start": hhmm(minute - 60), "end": hhmm(minute + 60), "utc_offset_min": 0}}}),
    )
    .await;
    let put = app
        .client
        .put(app.url("/api/v1/escalation"))
        .bearer_auth(&ana.access_token)
        .json(&json!({"min_severity": "warning", "message_after_secs": 0, "call_after_secs": 0,
            "next_contact_after_secs": 60, "repeat_after_secs": 600, "max_rounds": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), StatusCode::OK);
    let raise = |severity: Severity, kind: &str| NewAlarm {
        rule_id: None,
        source: "device:quiet".into(),
        alarm_type: kind.into(),
        device_id: None,
        pet_id: None,
        severity,
        title: kind.into(),
        message: kind.into(),
        value: None,
        evidence: vec![],
        at_ms: now_ms(),
        quiet: false,
    };
    let (warning, _) = app.store.raise_alarm(h, &raise(Severity::Warning, "humid")).await.unwrap();
    let (critical, _) = app.store.raise_alarm(h, &raise(Severity::Critical, "co_high")).await.unwrap();
    petty_app::notify::escalate(&app.state.app, &warning, now_ms()).await;
    petty_app::notify::escalate(&app.state.app, &critical, now_ms()).await;
    petty_jobs::outbox::deliver_due(&app.state.app).await;
    let sent = twilio.requests();
    assert!(sent.iter().any(|r| r.resource == "Messages.json" && r.body.as_deref().unwrap_or("").contains("co_high")));
    assert!(sent.iter().any(|r| r.resource == "Calls.json"), "critical: the call goes too");
    assert!(!sent.iter().any(|r| r.body.as_deref().unwrap_or("").contains("humid")), "the warning waits: {sent:?}");
    let held = app.store.notifications(h, Some(warning.id), 10).await.unwrap();
    assert_eq!(held.len(), 1);
    assert_eq!(held[0].status, "pending");
    assert!(petty_store::to_ms(held[0].next_attempt_at) > now_ms() + 50 * 60_000, "held until quiet hours end");
}

#[tokio::test]
async fn the_outbox_delivers_after_a_restart_mid_delivery_and_retries_with_backoff() {
    let twilio = fakes::twilio().await;
    let dir = std::env::temp_dir().join(format!("petty-outbox-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("petty.db");
    let config = |twilio: &fakes::FakeTwilio| {
        let mut c = HttpConfig::for_tests();
        c.notify.twilio = Some(twilio.config());
        c.notify.lease = Duration::from_millis(500);
        c.notify.send_timeout = Duration::from_secs(60);
        c.notify.backoff_base = Duration::from_millis(100);
        c
    };
    let store = Store::open_sqlite(&path).await.unwrap();
    store.migrate().await.unwrap();
    let state = AppState::new(store.clone(), config(&twilio));
    let (user, household_id) = seed_household(&store).await;
    let _ = user;
    let n = petty_store::NewNotification {
        household_id,
        idem_key: "restart-test".into(),
        alarm_id: None,
        contact_id: None,
        channel: petty_core::alarm::Channel::Sms,
        recipient: "+14155550101".into(),
        subject: String::new(),
        body: "CO in the car".into(),
        payload: String::new(),
        not_before_ms: now_ms(),
    };
    assert!(store.enqueue_notification(&n, now_ms()).await.unwrap());
    assert!(!store.enqueue_notification(&n, now_ms()).await.unwrap(), "the same key queues once");

    // The first send hangs at Twilio; the process stops mid-delivery.
    twilio.hang_next(1);
    let sender = tokio::spawn({
        let state = state.clone();
        async move { petty_jobs::outbox::deliver_due(&state.app).await }
    });
    assert_eq!(twilio.wait_for(1).await.len(), 1);
    sender.abort();
    drop(state);
    store.close().await;

    // A new process on the same file: once the lease runs out, the row is sent. The next
    // attempt fails once at Twilio (500) and is retried after a backoff.
    twilio.fail_next(1);
    let store = Store::open_sqlite(&path).await.unwrap();
    let state = AppState::new(store.clone(), config(&twilio));
    let mut delivered = None;
    for _ in 0..100 {
        petty_jobs::outbox::deliver_due(&state.app).await;
        let rows = store.notifications(household_id, None, 10).await.unwrap();
        if rows[0].status == "sent" {
            delivered = Some(rows[0].clone());
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let row = delivered.expect("delivered after the restart");
    assert_eq!(row.attempts, 3, "hung, failed, sent");
    assert!(row.provider_ref.as_deref().unwrap_or("").starts_with("SM"));
    assert_eq!(twilio.requests().len(), 3);
    store.close().await;
    let _ = std::fs::remove_dir_all(&dir);
}

async fn seed_household(store: &Store) -> (petty_core::ids::UserId, HouseholdId) {
    let email =
        petty_core::accounts::Email::parse("email", &format!("o-{}@example.org", uuid::Uuid::now_v7().simple()))
            .unwrap();
    let new = petty_store::NewUser { email, display_name: "Owner".into(), password_hash: "hash".into() };
    let (user, membership) = store.register_owner(&new, "Home", time::OffsetDateTime::now_utc()).await.unwrap();
    (user.id, membership.household_id)
}

#[tokio::test]
async fn email_goes_to_a_real_smtp_server_and_its_link_acknowledges() {
    let Some(sink) = fakes::SmtpSink::start() else { return };
    let port = sink.port;
    let app = spawn_app_with(move |c| {
        c.notify.smtp = Some(petty_http::notify::SmtpConfig {
            host: "127.0.0.1".into(),
            port,
            tls: petty_http::notify::SmtpTls::None,
            username: None,
            password: None,
            from: "Petty <alarms@petty.test>".into(),
        })
    })
    .await;
    let ana = app.register("Ana").await;
    add_contact(&app, &ana.access_token, json!({"name": "Ana", "role": "secondary", "email": "ana@example.org"})).await;
    let new = NewAlarm {
        rule_id: None,
        source: "pet:bella".into(),
        alarm_type: "geofence_exit:garden".into(),
        device_id: None,
        pet_id: None,
        severity: Severity::Major,
        title: "Left the garden: Bella's collar".into(),
        message: "Bella is 80 m outside the garden".into(),
        value: None,
        evidence: vec![],
        at_ms: now_ms() - 6 * 60_000,
        quiet: false,
    };
    let (alarm, _) = app.store.raise_alarm(household(&ana.household_id), &new).await.unwrap();
    petty_app::notify::escalate(&app.state.app, &alarm, now_ms()).await;
    petty_jobs::outbox::deliver_due(&app.state.app).await;
    // Ana's account got its address-verification mail; the alarm goes to her contact address.
    let to_contact =
        || -> Vec<Value> { sink.messages().into_iter().filter(|m| m["to"] == json!(["ana@example.org"])).collect() };
    let mut got = Vec::new();
    for _ in 0..50 {
        got = to_contact();
        if !got.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(got.len(), 1, "one email");
    assert_eq!(got[0]["to"], json!(["ana@example.org"]));
    // As a mail client reads it: quoted-printable soft breaks joined.
    let data = got[0]["data"].as_str().unwrap().replace("=\r\n", "").replace("=\n", "").replace("=3D", "=");
    let data = data.as_str();
    assert!(data.contains("Subject: [Petty major] Left the garden"), "{data}");
    let link = data.lines().find(|l| l.contains("/ack/")).unwrap().trim();
    let path = &link[link.find("/ack/").unwrap()..];
    let page = app.get(path, None).await;
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("Left the garden"), "the link shows the alarm; a GET changes nothing");
    assert_eq!(app.store.get_alarm(alarm.household_id, alarm.id).await.unwrap().state, AlarmState::Active);
    let res = app.client.post(app.url(path)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(app.store.get_alarm(alarm.household_id, alarm.id).await.unwrap().state, AlarmState::Acknowledged);
    // One character changed (a token that ends in x gets a y).
    let swap = if path.ends_with('x') { 'y' } else { 'x' };
    let forged = format!("{}{swap}", &path[..path.len() - 1]);
    assert_eq!(app.client.post(app.url(&forged)).send().await.unwrap().status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn webhooks_are_signed_and_the_receiver_verifies_them() {
    let receiver = fakes::webhook_receiver().await;
    // The receiver is on this machine: an administrator allows loopback for webhooks.
    let app = spawn_app_with(|c| c.notify.outbound = OutboundPolicy::new(&["127.0.0.1"]).unwrap()).await;
    let ana = app.register("Ana").await;
    let res = app
        .post_json("/api/v1/webhooks", &json!({"url": receiver.url, "min_severity": "minor"}), Some(&ana.access_token))
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let hook: Value = res.json().await.unwrap();
    *receiver.secret.lock().unwrap() = hook["secret"].as_str().unwrap().to_owned();
    let listed: Value = app.get("/api/v1/webhooks", Some(&ana.access_token)).await.json().await.unwrap();
    let listed = &listed["items"][0];
    assert_eq!(listed["id"], hook["id"], "{listed}");
    assert!(listed.get("secret").is_none(), "the secret is shown once");

    let (_, device_token) = air_monitor(&app, &ana.access_token, "CAR-9").await;
    let t0 = now_ms() - 400_000;
    let batch: Vec<Value> = (0..40).map(|i| json!({"ts": t0 + i * 10_000, "co_ppm": 180.0})).collect();
    ingest(&app, &device_token, &json!({"readings": batch})).await;
    petty_jobs::alarms::run_once(&app.state.app).await;
    petty_jobs::outbox::deliver_due(&app.state.app).await;
    let got = receiver.got.lock().unwrap().clone();
    assert!(!got.is_empty());
    assert!(got.iter().all(|(ok, _)| *ok), "every delivery verifies");
    assert!(got.iter().any(|(_, b)| b["event"] == "alarm.raised" && b["alarm"]["type"] == "co_high"));

    // A receiver with the wrong secret refuses; Petty keeps the row for retry, not lost.
    *receiver.secret.lock().unwrap() = "wrong".into();
    let open = alarms(&app, &ana.access_token, "?state=active").await;
    let id = open[0]["id"].as_str().unwrap();
    app.post_json(&format!("/api/v1/alarms/{id}/acknowledge"), &json!({}), Some(&ana.access_token)).await;
    petty_jobs::outbox::deliver_due(&app.state.app).await;
    let rows = app.store.notifications(household(&ana.household_id), None, 50).await.unwrap();
    let ack_row = rows.iter().find(|n| n.subject == "alarm.acknowledged").unwrap();
    assert_eq!(ack_row.status, "failed", "a 401 is not retried: {ack_row:?}");
}

#[tokio::test]
async fn the_chart_is_an_svg_with_title_axes_and_thresholds() {
    let app = spawn_app().await;
    let ana = app.register("Ana").await;
    let (device_id, device_token) = air_monitor(&app, &ana.access_token, "CAR-4").await;
    let t0 = now_ms() - 3_600_000;
    let batch: Vec<Value> = (0..60).map(|i| json!({"ts": t0 + i * 60_000, "co_ppm": (i % 20) as f64})).collect();
    ingest(&app, &device_token, &json!({"readings": batch})).await;
    let res = app.get(&format!("/api/v1/devices/{device_id}/chart.svg?metric=co_ppm"), Some(&ana.access_token)).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers()["content-type"].to_str().unwrap().starts_with("image/svg+xml"));
    let svg = res.text().await.unwrap();
    assert!(svg.starts_with("<svg") || svg.starts_with("<?xml"), "{}", &svg[..80]);
    assert!(svg.contains("Car monitor: CO") && svg.contains("ppm"));
    assert!(svg.contains("Carbon monoxide high"), "the threshold is drawn with its name");
    let res =
        app.get(&format!("/api/v1/devices/{device_id}/chart.svg?metric=co&kind=pie"), Some(&ana.access_token)).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    // A year renders from day buckets.
    let from = "2025-11-22T00:00:00Z";
    let res = app
        .get(
            &format!("/api/v1/devices/{device_id}/chart.svg?metric=co_ppm&from={from}&kind=bar"),
            Some(&ana.access_token),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_silent_co_sensor_is_itself_a_critical_alarm_and_clears_when_heard_again() {
    let app = spawn_app().await;
    let ana = app.register("Ana").await;
    let (device_id, device_token) = air_monitor(&app, &ana.access_token, "CAR-S").await;
    assert_eq!(ingest(&app, &device_token, &json!({"ts": now_ms() - 1000, "co_ppm": 1.0})).await, StatusCode::CREATED);
    petty_jobs::alarms::sweep(&app.state.app, now_ms() + 60_000).await.unwrap();
    assert!(alarms(&app, &ana.access_token, "").await.is_empty(), "a minute of quiet is fine");
    petty_jobs::alarms::sweep(&app.state.app, now_ms() + 6 * 60_000).await.unwrap();
    let found = alarms(&app, &ana.access_token, &format!("?device_id={device_id}")).await;
    let silent = found.iter().find(|a| a["type"] == "co_silent").expect("silent after 5 minutes");
    assert_eq!((silent["severity"].as_str(), silent["state"].as_str()), (Some("critical"), Some("active")));
    assert!(silent["message"].as_str().unwrap().contains("nothing heard for"), "{}", silent["message"]);
    ingest(&app, &device_token, &json!({"ts": now_ms(), "co_ppm": 1.0})).await;
    petty_jobs::alarms::sweep(&app.state.app, now_ms()).await.unwrap();
    let found = alarms(&app, &ana.access_token, "?state=cleared").await;
    assert!(found.iter().any(|a| a["type"] == "co_silent"), "heard again: cleared");
}

#[tokio::test]
async fn alarms_arrive_live_on_the_household_topic() {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;

    let app = spawn_app().await;
    let ana = app.register("Ana").await;
    let (_, device_token) = air_monitor(&app, &ana.access_token, "CAR-L").await;
    let host = app.address.trim_start_matches("http://");
    let mut request = format!("ws://{host}/api/v1/ws").into_client_request().unwrap();
    request.headers_mut().insert("authorization", format!("Bearer {}", ana.access_token).parse().unwrap());
    let mut socket = tokio_tungstenite::connect_async(request).await.unwrap().0;
    let topic = format!("household:{}:alarms", ana.household_id);
    socket.send(Message::Text(json!({"type": "subscribe", "topic": topic}).to_string().into())).await.unwrap();
    let mut next = async || loop {
        let frame = tokio::time::timeout(Duration::from_secs(5), socket.next()).await.unwrap().unwrap().unwrap();
        if let Message::Text(text) = frame {
            return serde_json::from_str::<Value>(&text).unwrap();
        }
    };
    assert_eq!(next().await["type"], "subscribed");
    let t0 = now_ms() - 400_000;
    let batch: Vec<Value> = (0..40).map(|i| json!({"ts": t0 + i * 10_000, "co_ppm": 75.0})).collect();
    ingest(&app, &device_token, &json!({"readings": batch})).await;
    petty_jobs::alarms::run_once(&app.state.app).await;
    let event = next().await;
    assert_eq!(event["data"]["type"], "alarm", "{event}");
    assert_eq!(
        (event["data"]["event"].as_str(), event["data"]["alarm"]["type"].as_str()),
        (Some("raised"), Some("co_high"))
    );
}

/// Two hours of an air monitor sent late in one batch, with an hour at 400 ppm in the middle:
/// the alarms are dated by the readings, the incident that is over pages nobody, and judging
/// again raises nothing twice.
#[tokio::test]
async fn a_backfilled_incident_is_dated_by_its_readings_and_pages_nobody() {
    let app = spawn_app().await;
    let ana = app.register("Ana").await;
    let (device_id, token) = air_monitor(&app, &ana.access_token, "BACKFILL-1").await;
    add_contact(
        &app,
        &ana.access_token,
        json!({"name": "Ana", "role": "secondary", "phone": "+14155550100", "email": "ana@example.org"}),
    )
    .await;
    let minute = 60_000;
    let t0 = (now_ms() - 150 * minute) / minute * minute;
    let ppm = |i: i64| if (30..90).contains(&i) { 400.0 } else { 5.0 };
    let readings: Vec<Value> = (0..120).map(|i| json!({"ts": t0 + i * minute, "co_ppm": ppm(i)})).collect();
    let res = app
        .client
        .post(app.url("/api/v1/ingest"))
        .bearer_auth(&token)
        .json(&json!({"readings": readings}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(petty_jobs::alarms::run_once(&app.state.app).await, 1, "one device judged");

    let all = alarms(&app, &ana.access_token, "").await;
    let of = |kind: &str| -> Vec<Value> { all.iter().filter(|a| a["type"] == kind).cloned().collect() };
    let ms = |v: &Value| {
        time::OffsetDateTime::parse(v.as_str().unwrap(), &time::format_description::well_known::Rfc3339)
            .map(petty_store::to_ms)
            .unwrap()
    };
    let high = of("co_high");
    assert_eq!(high.len(), 1, "{all:?}");
    assert_eq!(ms(&high[0]["first_at"]), t0 + 30 * minute, "raised when CO passed 50 ppm");
    assert_eq!(high[0]["state"], "cleared");
    assert_eq!(ms(&high[0]["cleared_at"]), t0 + 90 * minute, "cleared when CO fell under 35 ppm");
    assert_eq!(high[0]["paged"], false);
    let dose = of("co_dose");
    assert_eq!(dose.len(), 1, "the dose alarm works on backfilled data: {all:?}");
    let dose_at = ms(&dose[0]["first_at"]);
    assert!((t0 + 30 * minute..=t0 + 45 * minute).contains(&dose_at), "UL 2034: within 15 min at 400 ppm");
    let rising = of("co_rising");
    assert_eq!(rising.len(), 1, "{all:?}");
    assert!((t0 + 30 * minute..=t0 + 31 * minute).contains(&ms(&rising[0]["first_at"])));

    // The list pages like every other: one at a time, newest first, with the total.
    let mut paged = Vec::new();
    for page in 1..=3 {
        let res = app.get(&format!("/api/v1/alarms?page={page}&page_size=1"), Some(&ana.access_token)).await;
        let body: Value = res.json().await.unwrap();
        assert_eq!((body["total"].as_u64(), body["page_size"].as_u64()), (Some(3), Some(1)), "{body}");
        assert_eq!(body["has_next"].as_bool(), Some(page < 3), "{body}");
        paged.push(body["items"][0]["id"].clone());
    }
    let newest_first: Vec<Value> = all.iter().map(|a| a["id"].clone()).collect();
    assert_eq!(paged, newest_first);

    // Nobody was paged: no SMS, call or email was queued, let alone sent.
    petty_jobs::outbox::deliver_due(&app.state.app).await;
    let sent = app.store.notifications(household(&ana.household_id), None, 100).await.unwrap();
    assert!(sent.is_empty(), "a finished past incident pages nobody: {sent:?}");

    // A restarted node over the same database finds nothing left to judge; a late reading
    // judged with the incident in its window raises nothing twice.
    let restarted = AppState::with_bus(app.store.clone(), HttpConfig::for_tests(), petty_bus::Bus::local());
    assert_eq!(petty_jobs::alarms::run_once(&restarted.app).await, 0);
    let late = json!({"ts": t0 + 120 * minute, "co_ppm": 5.0});
    assert_eq!(ingest(&app, &token, &late).await, StatusCode::CREATED);
    petty_jobs::alarms::run_once(&restarted.app).await;
    let again = alarms(&app, &ana.access_token, "").await;
    assert_eq!(again.iter().filter(|a| a["type"] == "co_high").count(), 1, "{again:?}");
    assert_eq!(again.iter().filter(|a| a["type"] == "co_rising").count(), 1, "{again:?}");
    let _ = device_id;
}

/// A webhook URL is hostile: every address inside the network, in every spelling, and
/// credentials are refused when the hook is made, naming the field and the rule.
#[tokio::test]
async fn webhooks_cannot_reach_inside_the_network() {
    let app = spawn_app().await;
    let ana = app.register("Ana").await;
    for (url, rule) in [
        ("http://127.0.0.1:19999/hook", "public_address"),
        ("http://localhost:19999/hook", "public_address"),
        ("http://127.1/hook", "public_address"),
        ("http://0.0.0.0/hook", "public_address"),
        ("http://2130706433/hook", "public_address"),
        ("http://[::1]/hook", "public_address"),
        ("http://[::ffff:127.0.0.1]/hook", "public_address"),
        ("http://169.254.169.254/latest/meta-data/", "public_address"),
        ("http://10.0.0.1/hook", "public_address"),
        ("http://192.168.1.1/hook", "public_address"),
        ("http://metadata.google.internal/computeMetadata/v1/", "resolves"),
        ("https://user:pass@hooks.example.com/hook", "no_credentials"),
        ("ftp://hooks.example.com/hook", "format"),
    ] {
        let res = app.post_json("/api/v1/webhooks", &json!({"url": url}), Some(&ana.access_token)).await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "{url}");
        let body: Value = res.json().await.unwrap();
        let detail = &body["error"]["details"][0];
        assert_eq!((detail["field"].as_str(), detail["rule"].as_str()), (Some("url"), Some(rule)), "{url}: {body}");
    }
    let listed: Value = app.get("/api/v1/webhooks", Some(&ana.access_token)).await.json().await.unwrap();
    assert_eq!(listed["total"], 0, "nothing was made");
}

/// A hook stored before the policy (or pointing at a name that now resolves inside) is checked
/// again at delivery and never called; a redirect is not followed; only the household's managers
/// see webhook deliveries.
#[tokio::test]
async fn webhook_deliveries_are_checked_again_follow_no_redirect_and_stay_with_managers() {
    let receiver = fakes::webhook_receiver().await;
    // A receiver that redirects to the real one.
    let redirector = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let redirect_url = format!("http://{}/hook", redirector.local_addr().unwrap());
    let target = receiver.url.clone();
    tokio::spawn(async move {
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move || {
                let target = target.clone();
                async move { (StatusCode::TEMPORARY_REDIRECT, [("location", target)]) }
            }),
        );
        axum::serve(redirector, app).await
    });
    let allow_loopback = |c: &mut HttpConfig| c.notify.outbound = OutboundPolicy::new(&["127.0.0.1"]).unwrap();
    let app = spawn_app_with(allow_loopback).await;
    let ana = app.register("Ana").await;
    for url in [&receiver.url, &redirect_url] {
        let res = app.post_json("/api/v1/webhooks", &json!({"url": url}), Some(&ana.access_token)).await;
        assert_eq!(res.status(), StatusCode::CREATED);
    }
    // The same database served by a node whose policy allows nothing inside: the stored hook to
    // 127.0.0.1 is refused at delivery.
    let strict = AppState::with_bus(app.store.clone(), HttpConfig::for_tests(), petty_bus::Bus::local());
    let (_, device_token) = air_monitor(&app, &ana.access_token, "CAR-SSRF").await;
    let t0 = now_ms() - 400_000;
    let batch: Vec<Value> = (0..40).map(|i| json!({"ts": t0 + i * 10_000, "co_ppm": 180.0})).collect();
    ingest(&app, &device_token, &json!({"readings": batch})).await;
    petty_jobs::alarms::run_once(&strict.app).await;
    petty_jobs::outbox::deliver_due(&strict.app).await;
    assert!(receiver.got.lock().unwrap().is_empty(), "neither the hook nor the redirect reached the receiver");
    let rows = app.store.notifications(household(&ana.household_id), None, 50).await.unwrap();
    let hooks: Vec<_> = rows.iter().filter(|n| n.channel.as_str() == "webhook").collect();
    assert_eq!(hooks.len(), 2, "{rows:?}");
    assert!(hooks.iter().all(|n| n.status == "failed"), "refused for good, not retried: {hooks:?}");
    assert!(hooks.iter().any(|n| n.last_error.as_deref().is_some_and(|e| e.contains("public address"))), "{hooks:?}");

    // With loopback allowed, the redirect is still not followed.
    let alarm_id = alarms(&app, &ana.access_token, "?state=active").await[0]["id"].as_str().unwrap().to_owned();
    app.post_json(&format!("/api/v1/alarms/{alarm_id}/acknowledge"), &json!({}), Some(&ana.access_token)).await;
    petty_jobs::outbox::deliver_due(&app.state.app).await;
    let got = receiver.got.lock().unwrap().clone();
    assert_eq!(got.len(), 1, "the direct hook was called once, the redirect's target never: {got:?}");
    let rows = app.store.notifications(household(&ana.household_id), None, 50).await.unwrap();
    assert!(
        rows.iter()
            .any(|n| n.recipient == redirect_url && n.last_error.as_deref().is_some_and(|e| e.contains("redirect"))),
        "{rows:?}"
    );

    // A read-only key sees the alarm and its people's deliveries, but no webhook's address or fate.
    let res = app
        .post_json("/api/v1/api-keys", &json!({"name": "Dashboard", "scope": "read"}), Some(&ana.access_token))
        .await;
    let key = res.json::<Value>().await.unwrap()["key"].as_str().unwrap().to_owned();
    let outbox: Value = app.get("/api/v1/notifications", Some(&key)).await.json().await.unwrap();
    assert_eq!(outbox["total"], 0, "{outbox}");
    let detail: Value = app.get(&format!("/api/v1/alarms/{alarm_id}"), Some(&key)).await.json().await.unwrap();
    assert_eq!(detail["notifications"].as_array().map(Vec::len), Some(0), "{detail}");
    assert!(!detail.to_string().contains("127.0.0.1"), "{detail}");
    let owner: Value = app.get("/api/v1/notifications", Some(&ana.access_token)).await.json().await.unwrap();
    assert!(owner["total"].as_u64().unwrap() >= 2, "the owner sees them: {owner}");
}

#[tokio::test]
async fn the_alarms_page_puts_the_active_first_in_the_reader_s_time_with_names_and_a_live_indicator() {
    use crate::pages::{browser, get_page, sign_in_through_form};
    let app = spawn_app().await;
    let ana = app.register("Ana").await;
    let t = &ana.access_token;
    let zone = app.client.put(app.url("/api/v1/me/timezone")).bearer_auth(t).json(&json!({"timezone": "Asia/Tokyo"}));
    let res = zone.send().await.unwrap();
    assert!(res.status().is_success(), "{}", res.status());
    let mut ids = Vec::new();
    for serial in ["CAR-A", "CAR-B"] {
        let (device_id, device_token) = air_monitor(&app, t, serial).await;
        ingest(&app, &device_token, &json!({"ts": now_ms() - 300_000, "ambient_temp_c": 41.0})).await;
        ingest(&app, &device_token, &json!({"ts": now_ms() - 60_000, "ambient_temp_c": 43.0})).await;
        petty_jobs::alarms::run_once(&app.state.app).await;
        let found = alarms(&app, t, &format!("?device_id={device_id}")).await;
        ids.push(found[0]["id"].as_str().unwrap().to_owned());
    }
    // The older one, acknowledged, goes below the one still active.
    let res = app.post_json(&format!("/api/v1/alarms/{}/acknowledge", ids[0]), &json!({}), Some(t)).await;
    assert_eq!(res.status(), StatusCode::OK);
    let client = browser();
    sign_in_through_form(&app, &client, &ana.email, crate::pages::PASSWORD).await;
    let (_, page) = get_page(&app, &client, "/alarms").await;
    let (active, acknowledged) = (page.find(&ids[1]).unwrap(), page.find(&ids[0]).unwrap());
    assert!(active < acknowledged, "the active alarm first");
    assert!(page.contains("Times are in Asia/Tokyo."), "{page}");
    assert!(page.contains(r#"id="live-status""#) && page.contains(r#"data-live-page="alarms""#));
    assert!(!page.contains(" UTC</td>"), "no raw UTC times in the list");
    let (_, detail) = get_page(&app, &client, &format!("/alarms/{}", ids[0])).await;
    assert!(detail.contains("acknowledged</strong> · Ana"), "the person by name: {detail}");
    assert!(!detail.contains("user:"), "{detail}");
}

/// What two servers' alarms must agree on: the rule, its state, when its incident began and
/// ended, its value and how often it was counted.
async fn alarm_outcomes(app: &TestApp, token: &str) -> Vec<(String, String, String, String, String, String)> {
    let mut out: Vec<_> = alarms(app, token, "?page_size=500")
        .await
        .iter()
        .map(|a| {
            let field = |k: &str| a[k].to_string();
            (
                field("type"),
                field("state"),
                field("first_at"),
                field("cleared_at"),
                field("value"),
                field("occurrences"),
            )
        })
        .collect();
    out.sort();
    out
}

/// The alarm job keeps each rule's run between passes and reads only the new readings
/// (`Judging::Resume`); the path it replaced reads every rule's window again each pass
/// (`Judging::Reread`). Random reading streams from an air monitor (CO with spikes and slow
/// climbs, temperature and humidity around the built-in rules' levels), sent in random batches
/// of which some arrive late, must give the same alarms both ways after every pass.
async fn resumed_runs_raise_and_clear_what_rereading_the_windows_does_on(engine: Engine) {
    use petty_jobs::alarms::{Judging, run_once_judging};
    use rand::rngs::StdRng;
    use rand::{RngExt, SeedableRng};

    let (Some(resume), Some(reread)) = (spawn_app_on(engine).await, spawn_app_on(engine).await) else {
        eprintln!("skipping: PETTY_TEST_POSTGRES_URL is not set");
        assert!(std::env::var_os("CI").is_none(), "CI runs every engine");
        return;
    };
    let seeds: u64 = if engine == Engine::Sqlite { 6 } else { 2 };
    let (mut passes, mut outcomes_seen, mut resumed_passes) = (0, 0, 0);
    for seed in 0..seeds {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut sides = Vec::new();
        for app in [&resume, &reread] {
            let owner = app.register("Ana").await;
            let (device_id, device_token) = air_monitor(app, &owner.access_token, &format!("CAR-P{seed}")).await;
            sides.push((owner, device_id, device_token));
        }
        // Three hours of readings 5 s to 60 s apart, ending ten minutes ago; one in five shares
        // its millisecond with the one before (numbered by `seq`, as a fast device sends them).
        let mut readings = Vec::new();
        let (mut ts, mut co, mut temp, mut humidity) = (now_ms() - 3 * 3_600_000, 5.0_f64, 27.0_f64, 80.0_f64);
        let mut seq = 0;
        while ts < now_ms() - 600_000 {
            if readings.is_empty() || rng.random_range(0..5) != 0 {
                ts += rng.random_range(5_000..60_000);
                seq = 0;
            } else {
                seq += 1;
            }
            co = match rng.random_range(0..40) {
                0 => rng.random_range(60.0..200.0),
                1 => 2.0,
                2..=9 => (co + rng.random_range(0.0..12.0)).min(400.0),
                _ => (co + rng.random_range(-8.0..6.0)).clamp(0.0, 400.0),
            };
            temp = (temp + rng.random_range(-0.6..0.6)).clamp(2.0, 33.0);
            humidity = (humidity + rng.random_range(-2.0..2.0)).clamp(60.0, 95.0);
            readings.push(json!({"ts": ts, "seq": seq, "co_ppm": (co * 10.0).round() / 10.0,
                "ambient_temp_c": (temp * 10.0).round() / 10.0, "humidity_pct": humidity.round()}));
        }
        // Some readings are held back and sent after newer ones.
        let mut held = Vec::new();
        let mut at = 0;
        while at < readings.len() {
            let mut batch = Vec::new();
            if !held.is_empty() && rng.random_range(0..3) == 0 {
                // The held-back readings on their own, right after newer ones: one of them may
                // share the newest millisecond, late with nothing newer in between.
                batch.append(&mut held);
            } else {
                let end = (at + rng.random_range(1..20)).min(readings.len());
                for reading in &readings[at..end] {
                    if rng.random_range(0..8) == 0 { held.push(reading.clone()) } else { batch.push(reading.clone()) }
                }
                if rng.random_range(0..4) == 0 {
                    batch.append(&mut held);
                }
                at = end;
                if at == readings.len() {
                    batch.append(&mut held);
                }
            }
            if batch.is_empty() {
                continue;
            }
            for (app, (_, _, device_token)) in [&resume, &reread].into_iter().zip(&sides) {
                let status = ingest(app, device_token, &json!({"readings": batch})).await;
                assert_eq!(status, StatusCode::OK, "seed {seed}");
            }
            run_once_judging(&resume.state.app, Judging::Resume).await.expect("judge resuming");
            run_once_judging(&reread.state.app, Judging::Reread).await.expect("judge rereading");
            passes += 1;
            let device: petty_core::ids::DeviceId = sides[0].1.parse().unwrap();
            if resume.state.app.store.alarm_runs(device).await.unwrap().is_some() {
                resumed_passes += 1;
            }
            let (a, b) = (
                alarm_outcomes(&resume, &sides[0].0.access_token).await,
                alarm_outcomes(&reread, &sides[1].0.access_token).await,
            );
            assert_eq!(a, b, "seed {seed}, pass {passes}: resumed runs (left) against reread windows (right)");
            outcomes_seen += a.len();
        }
        // The kept runs have seen the newest reading.
        let device: petty_core::ids::DeviceId = sides[0].1.parse().unwrap();
        let (watermark, _) = resume.state.app.store.alarm_runs(device).await.unwrap().expect("runs kept");
        assert_eq!(watermark, ts, "seed {seed}");
    }
    assert!(outcomes_seen > passes, "the streams raise alarms: {outcomes_seen} over {passes} passes");
    assert!(resumed_passes * 2 > passes, "most passes resume: {resumed_passes} of {passes}");
}

#[tokio::test]
async fn resumed_runs_raise_and_clear_what_rereading_the_windows_does_on_sqlite() {
    resumed_runs_raise_and_clear_what_rereading_the_windows_does_on(Engine::Sqlite).await;
}

#[tokio::test]
async fn resumed_runs_raise_and_clear_what_rereading_the_windows_does_on_postgres() {
    resumed_runs_raise_and_clear_what_rereading_the_windows_does_on(Engine::Postgres).await;
}

/// A device may send several readings in one millisecond, numbered by `seq`. Kept runs step
/// them in key order: one with a higher number is new and judged by resuming; one with a lower
/// number than readings the kept runs have seen, arriving with nothing newer in between, is
/// late, and the CO spike it carries is still raised.
#[tokio::test]
async fn readings_of_one_millisecond_are_judged_in_sequence_order_however_they_arrive() {
    use petty_jobs::alarms::{Judging, run_once_judging};
    let app = spawn_app().await;
    let ana = app.register("Ana").await;
    let (device_id, token) = air_monitor(&app, &ana.access_token, "CAR-MS").await;
    let device: petty_core::ids::DeviceId = device_id.parse().unwrap();
    let t = now_ms() - 120_000;
    let pass = || async { run_once_judging(&app.state.app, Judging::Resume).await.expect("judge") };
    let co_high = |list: Vec<Value>| list.into_iter().filter(|a| a["type"] == "co_high").collect::<Vec<_>>();

    // In order: clean air (past the sensor's warm-up), then a spike in the same millisecond
    // under a higher number.
    assert_eq!(ingest(&app, &token, &json!({"ts": t - 600_000, "co_ppm": 4.0})).await, StatusCode::CREATED);
    pass().await;
    assert_eq!(ingest(&app, &token, &json!({"ts": t, "seq": 1, "co_ppm": 5.0})).await, StatusCode::CREATED);
    pass().await;
    assert!(app.state.app.store.alarm_runs(device).await.unwrap().is_some(), "the runs are kept");
    assert!(co_high(alarms(&app, &ana.access_token, "").await).is_empty());
    assert_eq!(ingest(&app, &token, &json!({"ts": t, "seq": 2, "co_ppm": 180.0})).await, StatusCode::CREATED);
    pass().await;
    let raised = co_high(alarms(&app, &ana.access_token, "").await);
    assert_eq!(raised.len(), 1, "{raised:?}");
    assert_eq!(raised[0]["value"], 180.0);

    // Out of order: a second monitor's spike under a lower number than readings judged, with
    // nothing newer in between.
    let (other_id, other) = air_monitor(&app, &ana.access_token, "CAR-MS2").await;
    assert_eq!(ingest(&app, &other, &json!({"ts": t - 600_000, "co_ppm": 4.0})).await, StatusCode::CREATED);
    let clean: Vec<Value> = (1..=300).map(|seq| json!({"ts": t, "seq": seq, "co_ppm": 5.0})).collect();
    assert_eq!(ingest(&app, &other, &json!({"readings": clean})).await, StatusCode::OK);
    pass().await;
    let other_device: petty_core::ids::DeviceId = other_id.parse().unwrap();
    let (kept_at, _) = app.state.app.store.alarm_runs(other_device).await.unwrap().expect("kept");
    assert_eq!(kept_at, t, "the runs have seen the whole millisecond");
    assert_eq!(ingest(&app, &other, &json!({"ts": t, "seq": 0, "co_ppm": 240.0})).await, StatusCode::CREATED);
    pass().await;
    let raised: Vec<_> =
        co_high(alarms(&app, &ana.access_token, "").await).into_iter().filter(|a| a["device_id"] == other_id).collect();
    assert_eq!(raised.len(), 1, "the late spike is judged: {raised:?}");
    assert_eq!(raised[0]["value"], 240.0);
}
