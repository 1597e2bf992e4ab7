//! The Car-Bon seed's contract under `/compat/carbon`: query-parameter routes with the seed's
//! shapes, users with their own ULIDs and E.164 numbers, SMS and calls through the Twilio
//! channel, the CO chart; and, end to end, a simulated air monitor's CO incident that reaches
//! the users by SMS and by phone.

use std::time::{Duration, Instant};

use petty_sim::Fleet;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::alarms::air_monitor;
use crate::fakes;
use crate::harness::{TestApp, spawn_app, spawn_app_with};

/// The ADC reading an MQ-7 on Petty's default circuit gives at `ppm` (the top of the ADC past
/// its range, as a real one would read).
fn raw_for_ppm(ppm: f64) -> f64 {
    let mq7 = petty_core::air::Mq7::default();
    mq7.raw(ppm).unwrap_or(mq7.adc_max - 1.0)
}

async fn call(app: &TestApp, method: reqwest::Method, path: &str, token: &str) -> (StatusCode, Value) {
    let sep = if path.contains('?') { '&' } else { '?' };
    let url = app.url(&format!("/compat/carbon{path}{sep}token={token}"));
    let res = app.client.request(method, url).send().await.unwrap();
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn the_esp32_writes_and_reads_items_with_the_seed_shapes() {
    let app = spawn_app().await;
    let ana = app.register("Ana").await;
    let (_, token) = air_monitor(&app, &ana.access_token, "ESP32").await;
    let (status, body) =
        call(&app, reqwest::Method::POST, "/Dynamo/item?item_id=ESP32&Temp=21.5&Hum=48&CO=230", &token).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["write_successful"], true);
    assert_eq!(
        (&body["Item"]["device_id"], &body["Item"]["temperature"], &body["Item"]["humidity"], &body["Item"]["CO"]),
        (&json!("ESP32"), &json!("21.5"), &json!("48"), &json!("230")),
        "values echoed as given"
    );
    let ts = body["Item"]["timestamp"].as_i64().unwrap();
    // A second reading in the same second is kept too (upstream overwrote the first).
    call(&app, reqwest::Method::POST, "/Dynamo/item?item_id=ESP32&Temp=21.6&Hum=49&CO=2600", &token).await;

    let (status, body) = call(
        &app,
        reqwest::Method::GET,
        &format!("/Dynamo/items?item_id=ESP32&from_timestamp={}&to_timestamp={}", ts - 5, ts + 5),
        &token,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["Metadata"]["count"], 2);
    let first = &body["Results"][0];
    assert_eq!(first["device_id"], "ESP32");
    assert_eq!(first["sensor_values"]["temperature"], 21.5, "temperature reads back (upstream gave 0)");
    assert_eq!(first["sensor_values"]["humidity"], 48.0);
    let clean = first["sensor_values"]["CO_PPM"].as_f64().unwrap();
    let dirty = body["Results"][1]["sensor_values"]["CO_PPM"].as_f64().unwrap();
    assert!(clean < 2.0 && dirty > 50.0, "ppm rises with the raw reading: {clean} → {dirty}");

    let (status, latest) = call(&app, reqwest::Method::GET, "/Dynamo/items/latest?item_id=ESP32", &token).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(latest["sensor_values"]["CO"], 2600.0);
    let (status, _) = call(&app, reqwest::Method::GET, &format!("/Dynamo/items/ESP32/{ts}"), &token).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = call(&app, reqwest::Method::GET, "/Dynamo/items/ESP32/1000", &token).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, tables) = call(&app, reqwest::Method::GET, "/Dynamo/tables", &token).await;
    assert_eq!((status, tables), (StatusCode::OK, json!(["CarBon_Data", "user_table"])));

    // Missing or malformed parameters: FastAPI's 422, naming the parameter; nothing stored.
    let (status, body) =
        call(&app, reqwest::Method::POST, "/Dynamo/item?item_id=ESP32&Temp=hot&Hum=1&CO=1", &token).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["detail"][0]["loc"], json!(["query", "Temp"]));
    let (status, body) = call(&app, reqwest::Method::POST, "/Dynamo/item?item_id=ESP32&Temp=1&Hum=1", &token).await;
    assert_eq!((status, &body["detail"][0]["type"]), (StatusCode::UNPROCESSABLE_ENTITY, &json!("value_error.missing")));
    // Every missing or malformed one at once, as FastAPI lists them.
    let (status, body) = call(&app, reqwest::Method::POST, "/Dynamo/item?Hum=damp", &token).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let named: Vec<&Value> = body["detail"].as_array().unwrap().iter().map(|d| &d["loc"][1]).collect();
    assert_eq!(named, [&json!("item_id"), &json!("Temp"), &json!("Hum"), &json!("CO")], "{body}");
    let res =
        app.client.post(app.url("/compat/carbon/Dynamo/item?item_id=ESP32&Temp=1&Hum=1&CO=1")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "a token is required");
}

#[tokio::test]
async fn users_get_their_own_ulids_and_e164_numbers_and_sms_and_calls_go_through_twilio() {
    let twilio = fakes::twilio().await;
    let config = twilio.config();
    let app = spawn_app_with(move |c| c.notify.twilio = Some(config)).await;
    let ana = app.register("Ana").await;
    let (_, token) = air_monitor(&app, &ana.access_token, "ESP32").await;
    let key = &ana.access_token;
    let new_user = |name: &str, phone: &str, country: &str| {
        format!("/user/new?name={name}&registered_device_id=ESP32&personal_contact={phone}&country={country}")
    };
    let (status, a) = call(&app, reqwest::Method::POST, &new_user("Asha", "9876543210", "India"), key).await;
    assert_eq!(status, StatusCode::CREATED, "{a}");
    let (_, b) = call(&app, reqwest::Method::POST, &new_user("Ben", "4155550123", "United%20States"), key).await;
    assert_eq!(a["write_successful"], true);
    assert_eq!(a["Item"]["personal_contact"], "+919876543210");
    assert_eq!(b["Item"]["personal_contact"], "+14155550123");
    let (ida, idb) = (a["Item"]["id"].as_str().unwrap(), b["Item"]["id"].as_str().unwrap());
    assert_eq!(ida.len(), 26, "a ULID");
    assert_ne!(ida, idb, "each user gets its own id (upstream gave all the same)");
    let (status, body) = call(&app, reqwest::Method::POST, &new_user("Cy", "12", "India"), key).await;
    assert_eq!(
        (status, &body["detail"][0]["loc"]),
        (StatusCode::UNPROCESSABLE_ENTITY, &json!(["query", "personal_contact"]))
    );
    let (status, body) = call(&app, reqwest::Method::POST, &new_user("Cy", "9876543210", "Atlantis"), key).await;
    assert_eq!((status, &body["detail"][0]["loc"]), (StatusCode::UNPROCESSABLE_ENTITY, &json!(["query", "country"])));

    let (status, contacts) = call(&app, reqwest::Method::GET, &format!("/user/contacts?user_id={ida}"), key).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(contacts["personal_contact"], "+919876543210");
    assert!(contacts["secondary_contacts"].is_array());
    let (status, _) = call(&app, reqwest::Method::GET, "/user/contacts?user_id=01ARZ3NDEKTSV4RRFFQ69G5FAV", key).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (status, sms) =
        call(&app, reqwest::Method::POST, &format!("/notify/send_sms?user_id={ida}&message=Check%20the%20car"), &token)
            .await;
    assert_eq!(status, StatusCode::OK, "{sms}");
    assert_eq!(
        (sms["receiver"].as_str(), sms["message_body"].as_str()),
        (Some("+919876543210"), Some("Check the car"))
    );
    assert!(sms["sid"].as_str().unwrap().starts_with("SM"));
    let (status, called) = call(&app, reqwest::Method::POST, &format!("/notify/make_call?user_id={idb}"), &token).await;
    assert_eq!(status, StatusCode::OK, "{called}");
    assert_eq!(called["to"], "+14155550123");
    assert!(called["sid"].as_str().unwrap().starts_with("CA"));
    let sent = twilio.requests();
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[0].body.as_deref(), Some("Check the car"));
    let twiml = sent[1].twiml.as_deref().unwrap();
    assert!(twiml.contains("exceeded the threshold") && twiml.contains("open a window"), "{twiml}");
    // Both went through the outbox.
    let rows: Value = app.get("/api/v1/notifications", Some(&ana.access_token)).await.json().await.unwrap();
    assert_eq!(rows["items"].as_array().unwrap().iter().filter(|r| r["status"] == "sent").count(), 2);
}

#[tokio::test]
async fn the_graph_is_a_base64_svg_titled_carbon_monoxide_data() {
    let app = spawn_app().await;
    let ana = app.register("Ana").await;
    let (_, token) = air_monitor(&app, &ana.access_token, "ESP32").await;
    for co in [200, 900, 2600] {
        call(&app, reqwest::Method::POST, &format!("/Dynamo/item?item_id=ESP32&Temp=21&Hum=40&CO={co}"), &token).await;
    }
    let today = time::OffsetDateTime::now_utc().date();
    let path = format!("/graph/generate?start_date={}&end_date={}&graph_type=Bar", today, today.next_day().unwrap());
    let (status, body) = call(&app, reqwest::Method::GET, &path, &token).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let data = body["base64_data"].as_str().unwrap();
    let encoded = data.strip_prefix("data:image/svg+xml;charset=utf-8;base64,").expect("a data URI");
    use base64::Engine;
    let svg = String::from_utf8(base64::engine::general_purpose::STANDARD.decode(encoded).unwrap()).unwrap();
    assert!(svg.contains("Carbon monoxide Data") && svg.contains("ppm"), "{}", &svg[..200.min(svg.len())]);
    let (status, body) =
        call(&app, reqwest::Method::GET, "/graph/generate?start_date=yesterday&end_date=2026-01-01", &token).await;
    assert_eq!(
        (status, &body["detail"][0]["loc"]),
        (StatusCode::UNPROCESSABLE_ENTITY, &json!(["query", "start_date"]))
    );
    let (status, _) = call(&app, reqwest::Method::GET, &format!("{path}&graph_type=Pie"), &token).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}

/// The seed's promise, kept: a simulated car's CO incident, sent by the ESP32 through the
/// Car-Bon routes, reaches every user by SMS and the first by a call, within seconds.
#[tokio::test]
async fn a_simulated_co_incident_reaches_the_users_by_sms_and_call_end_to_end() {
    let twilio = fakes::twilio().await;
    let config = twilio.config();
    let app = spawn_app_with(move |c| {
        c.notify.twilio = Some(config);
        c.alarm_delay = Duration::from_millis(20);
        c.notify.tick = Duration::from_millis(200);
    })
    .await;
    let mut jobs = petty_jobs::Scheduler::new(app.state.app.clone());
    jobs.spawn(petty_jobs::alarms::JudgeAlarms);
    jobs.spawn(petty_jobs::outbox::Outbox);
    let ana = app.register("Ana").await;
    let (_, token) = air_monitor(&app, &ana.access_token, "ESP32").await;
    // Calls at once for a critical alarm (the default waits up to a minute).
    let res = app
        .client
        .put(app.url("/api/v1/escalation"))
        .bearer_auth(&ana.access_token)
        .json(&json!({"min_severity": "major", "message_after_secs": 300, "call_after_secs": 0,
            "next_contact_after_secs": 120, "repeat_after_secs": 900, "max_rounds": 3}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    for (name, phone) in [("Asha", "9876543210"), ("Ravi", "9123456780")] {
        let path = format!("/user/new?name={name}&registered_device_id=ESP32&personal_contact={phone}&country=India");
        assert_eq!(call(&app, reqwest::Method::POST, &path, &ana.access_token).await.0, StatusCode::CREATED);
    }
    // The monitor has been on for five minutes (its sensor is warm).
    let now = petty_store::to_ms(time::OffsetDateTime::now_utc());
    let warm: Vec<Value> = (0..30)
        .map(|i| json!({"ts": now - 300_000 + i * 10_000, "co_raw": raw_for_ppm(0.8), "ambient_temp_c": 21.0}))
        .collect();
    let res = app
        .client
        .post(app.url("/api/v1/ingest"))
        .bearer_auth(&token)
        .json(&json!({"readings": warm}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);

    // The simulator's first incident, from ten minutes before it to its peak.
    let mut fleet = Fleet::new(7, 0, 1, 1_767_225_600_000);
    let week = fleet.until(1_767_225_600_000 + 7 * 86_400_000).remove(0);
    let start = week.iter().position(|s| s.label != "normal").expect("an incident within a week");
    let peak = (start..week.len()).take_while(|&i| week[i].label != "normal").max_by(|&a, &b| {
        week[a].reading["co_ppm"].as_f64().unwrap().total_cmp(&week[b].reading["co_ppm"].as_f64().unwrap())
    });
    let peak = peak.unwrap();
    assert!(week[peak].reading["co_ppm"].as_f64().unwrap() > 50.0, "a dangerous incident");
    let mut crossed: Option<Instant> = None;
    for s in &week[start.saturating_sub(10)..=peak] {
        let ppm = s.reading["co_ppm"].as_f64().unwrap();
        let path = format!(
            "/Dynamo/item?item_id=ESP32&Temp={}&Hum={}&CO={}",
            s.reading["ambient_temp_c"],
            s.reading["humidity_pct"],
            raw_for_ppm(ppm)
        );
        let (status, _) = call(&app, reqwest::Method::POST, &path, &token).await;
        assert_eq!(status, StatusCode::CREATED);
        if ppm > 55.0 && crossed.is_none() {
            crossed = Some(Instant::now());
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let crossed = crossed.expect("the incident crossed 50 ppm");
    let sent = twilio.wait_for(3).await;
    let sms_to = |n: &str| sent.iter().find(|r| r.resource == "Messages.json" && r.to == n);
    let call_to = |n: &str| sent.iter().find(|r| r.resource == "Calls.json" && r.to == n);
    let (Some(a), Some(b), Some(c)) = (sms_to("+919876543210"), sms_to("+919123456780"), call_to("+919876543210"))
    else {
        panic!("SMS to both users and a call to the first: {sent:?}");
    };
    for r in [a, b, c] {
        let after = r.at.saturating_duration_since(crossed);
        assert!(after < Duration::from_secs(10), "within seconds of the reading: {after:?}");
    }
    let words = c.twiml.as_deref().unwrap();
    assert!(words.contains("carbon monoxide") && words.contains("open a window"), "{words}");
    assert!(a.body.as_deref().unwrap().contains("CRITICAL"), "{:?}", a.body);
    let alarms: Value = app.get("/api/v1/alarms?state=active", Some(&ana.access_token)).await.json().await.unwrap();
    assert!(alarms["items"].as_array().unwrap().iter().any(|a| a["type"] == "co_high"));
}
