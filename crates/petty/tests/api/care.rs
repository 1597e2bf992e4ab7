//! Care over HTTP: health records, vaccine due dates (the contract's worked examples), the
//! weight log, reminders (recurrence across DST and month ends, completing, skipping,
//! snoozing, telling each occurrence once), and the calendar feed parsed back by a real
//! iCalendar parser.

use icalendar::Component;

/// An event's CATEGORIES (a property that may repeat, so the parser keeps it apart).
fn category(e: &icalendar::Event) -> Option<&str> {
    e.property_value("CATEGORIES")
        .or_else(|| e.multi_properties().get("CATEGORIES").and_then(|v| v.first()).map(|p| p.value()))
}
use reqwest::StatusCode;
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::harness::{TestApp, error_code, spawn_app};

async fn send(
    app: &TestApp,
    method: reqwest::Method,
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
    (status, if text.is_empty() { Value::Null } else { serde_json::from_str(&text).expect("json") })
}

async fn post(app: &TestApp, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
    send(app, reqwest::Method::POST, path, token, Some(body)).await
}

async fn get(app: &TestApp, path: &str, token: &str) -> (StatusCode, Value) {
    send(app, reqwest::Method::GET, path, token, None).await
}

fn today() -> time::Date {
    OffsetDateTime::now_utc().date()
}

fn day(d: time::Date) -> String {
    petty_core::pets::format_date(d)
}

#[tokio::test]
async fn a_puppy_series_and_a_yearly_vaccine_get_their_due_dates_and_reminders() {
    let app = spawn_app().await;
    let owner = app.register("Ana").await;
    let t = &owner.access_token;
    let rex = app.create_pet(t, json!({"name": "Rex", "species": "dog", "date_of_birth": "2024-01-10"})).await;
    let rex_id = rex["id"].as_str().unwrap();
    // DHPP at 51 days old: the puppy series, due three weeks later.
    let (status, dhpp) = post(
        &app,
        &format!("/api/v1/pets/{rex_id}/records"),
        t,
        json!({"kind": "vaccination", "title": "DHPP (puppy shot 1)", "date": "2024-03-01", "vet": "Dr. Ng", "cost": 45.5}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{dhpp}");
    assert_eq!((dhpp["vaccine"].as_str(), dhpp["cost"].as_f64()), (Some("dhpp"), Some(45.5)));
    // Rabies given 11 months ago: due within 30 days, so `due`.
    let rabies_on = today() - time::Duration::days(335);
    let (status, rabies) = post(
        &app,
        &format!("/api/v1/pets/{rex_id}/records"),
        t,
        json!({"kind": "vaccination", "title": "Rabies", "date": day(rabies_on)}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{rabies}");
    let (_, v) = get(&app, &format!("/api/v1/pets/{rex_id}/vaccinations"), t).await;
    let series =
        |name: &str| v["vaccinations"].as_array().unwrap().iter().find(|s| s["vaccine"] == name).cloned().unwrap();
    assert_eq!(series("dhpp")["due_date"], "2024-03-22");
    assert_eq!(series("dhpp")["status"], "overdue");
    let rabies_due = petty_core::recurrence::add_months(rabies_on, 12).unwrap();
    assert_eq!(series("rabies")["due_date"], day(rabies_due));
    assert_eq!(series("rabies")["status"], "due");
    assert_eq!(v["status"], "overdue", "the pet's status is its worst series");
    // Each series has its reminder, 14 days before the due date at 09:00 (household zone UTC).
    let (_, reminders) = get(&app, &format!("/api/v1/reminders?pet_id={rex_id}"), t).await;
    let titles: Vec<(&str, &str)> = reminders["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["title"].as_str().unwrap(), r["starts_local"].as_str().unwrap()))
        .collect();
    assert!(titles.contains(&("DHPP vaccination due – Rex", "2024-03-08T09:00:00")), "{titles:?}");
    let rabies_reminder = format!("{}T09:00:00", day(rabies_due - time::Duration::days(14)));
    assert!(titles.contains(&("Rabies vaccination due – Rex", rabies_reminder.as_str())), "{titles:?}");
    // A newer dose moves the reminder; `valid_until` decides the due date when given.
    let until = day(today() + time::Duration::days(3 * 365));
    let (status, _) = post(
        &app,
        &format!("/api/v1/pets/{rex_id}/records"),
        t,
        json!({"kind": "vaccination", "title": "Rabies 3-year", "date": day(today()), "valid_until": until}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let (_, v) = get(&app, &format!("/api/v1/pets/{rex_id}/vaccinations"), t).await;
    let rabies_now = v["vaccinations"].as_array().unwrap().iter().find(|s| s["vaccine"] == "rabies").unwrap().clone();
    assert_eq!(
        (rabies_now["due_date"].as_str(), rabies_now["status"].as_str()),
        (Some(until.as_str()), Some("up_to_date"))
    );
    let (_, reminders) = get(&app, &format!("/api/v1/reminders?pet_id={rex_id}&status=pending"), t).await;
    let rabies_reminders: Vec<&Value> = reminders["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["title"] == "Rabies vaccination due – Rex")
        .collect();
    assert_eq!(rabies_reminders.len(), 1, "one reminder per series");
    assert!(
        rabies_reminders[0]["starts_local"]
            .as_str()
            .unwrap()
            .starts_with(&day(today() + time::Duration::days(3 * 365 - 14)))
    );
    // Deleting every DHPP dose removes its reminder.
    let (status, _) =
        send(&app, reqwest::Method::DELETE, &format!("/api/v1/records/{}", dhpp["id"].as_str().unwrap()), t, None)
            .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, reminders) = get(&app, &format!("/api/v1/reminders?pet_id={rex_id}"), t).await;
    assert!(reminders["items"].as_array().unwrap().iter().all(|r| r["title"] != "DHPP vaccination due – Rex"));
    // The household list's overall status is shown on the dashboard too.
    let (status, _) = get(&app, &format!("/api/v1/records/{}", dhpp["id"].as_str().unwrap()), t).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn records_list_newest_first_filter_summarise_and_refuse_bad_input() {
    let app = spawn_app().await;
    let owner = app.register("Bo").await;
    let t = &owner.access_token;
    let miso = app.create_pet(t, json!({"name": "Miso", "species": "cat"})).await;
    let path = format!("/api/v1/pets/{}/records", miso["id"].as_str().unwrap());
    for (kind, title, date, cost) in [
        ("visit", "Checkup", "2025-01-10", 60.0),
        ("medication", "Benazepril", "2025-02-01", 12.25),
        ("test_result", "Bloodwork", "2025-02-01", 80.0),
        ("visit", "Dental check", "2025-03-05", 40.0),
    ] {
        let (status, body) =
            post(&app, &path, t, json!({"kind": kind, "title": title, "date": date, "cost": cost})).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let (_, page) = get(&app, &format!("{path}?page_size=2"), t).await;
    assert_eq!((page["total"].as_u64(), page["has_next"].as_bool()), (Some(4), Some(true)));
    assert_eq!(page["items"][0]["title"], "Dental check");
    let (_, visits) = get(&app, &format!("{path}?kind=visit&from=2025-02-01"), t).await;
    assert_eq!(visits["total"], 1);
    let (_, summary) = get(&app, &format!("{path}/summary?from=2025-02-01"), t).await;
    assert_eq!(summary["total"], 3);
    assert_eq!(summary["by_kind"]["visit"], 1);
    assert!((summary["total_cost"].as_f64().unwrap() - 132.25).abs() < 1e-9, "{summary}");
    // Every bad field is named, and nothing is stored.
    let res =
        app.post_json(&path, &json!({"kind": "haircut", "title": "", "date": "2999-01-01", "cost": -1}), Some(t)).await;
    let (status, error) = error_code(res).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let fields: Vec<&str> = error["details"].as_array().unwrap().iter().map(|d| d["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["kind", "title", "date", "cost"]);
    let (_, after) = get(&app, &path, t).await;
    assert_eq!(after["total"], 4);
    // A change keeps what it does not name.
    let id = page["items"][0]["id"].as_str().unwrap();
    let (status, changed) =
        send(&app, reqwest::Method::PATCH, &format!("/api/v1/records/{id}"), t, Some(json!({"vet": "Dr. Ito"}))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!((changed["vet"].as_str(), changed["title"].as_str()), (Some("Dr. Ito"), Some("Dental check")));
    // The audit log says who wrote and changed each record.
    let (_, log) = get(&app, &format!("/api/v1/audit?entity_type=health_record&entity_id={id}"), t).await;
    let actions: Vec<&str> = log["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["update", "create"], "{log}");
    // Another household sees none of it.
    let other = app.register("Eve").await;
    let (status, _) = get(&app, &path, &other.access_token).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = get(&app, &format!("/api/v1/records/{id}"), &other.access_token).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_weight_log_follows_weigh_ins_and_pet_edits() {
    let app = spawn_app().await;
    let owner = app.register("Cy").await;
    let t = &owner.access_token;
    let pet = app.create_pet(t, json!({"name": "Tank", "species": "dog", "weight_kg": 30.0})).await;
    let id = pet["id"].as_str().unwrap();
    let d = |n: i64| day(today() - time::Duration::days(n));
    for (ago, kg) in [(60, 31.0), (30, 32.0), (0, 33.0)] {
        let (status, _) = post(
            &app,
            &format!("/api/v1/pets/{id}/records"),
            t,
            json!({"kind": "weight", "date": d(ago), "weight_kg": kg}),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED);
    }
    let (_, pet_now) = get(&app, &format!("/api/v1/pets/{id}"), t).await;
    assert_eq!(pet_now["weight_kg"], 33.0, "the pet's weight is its latest weigh-in");
    let (_, log) = get(&app, &format!("/api/v1/pets/{id}/weights"), t).await;
    assert_eq!(log["items"].as_array().unwrap().len(), 3);
    assert_eq!(log["trend_kg_per_30d"], 1.0);
    let (status, _) =
        send(&app, reqwest::Method::PATCH, &format!("/api/v1/pets/{id}"), t, Some(json!({"weight_kg": 32.5}))).await;
    assert_eq!(status, StatusCode::OK);
    let (_, log) = get(&app, &format!("/api/v1/pets/{id}/weights"), t).await;
    assert_eq!(log["items"].as_array().unwrap().len(), 4, "a changed weight joins the log: {log}");
    let (_, pet_now) = get(&app, &format!("/api/v1/pets/{id}"), t).await;
    assert_eq!(pet_now["weight_kg"], 32.5);
}

async fn occurrences(app: &TestApp, t: &str, id: &str, from: &str, n: u32) -> Vec<(String, String)> {
    let (status, body) = get(app, &format!("/api/v1/reminders/{id}/occurrences?from={from}&limit={n}"), t).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| (o["at"].as_str().unwrap().to_owned(), o["local"].as_str().unwrap().to_owned()))
        .collect()
}

#[tokio::test]
async fn recurrence_keeps_wall_time_across_dst_and_month_ends() {
    let app = spawn_app().await;
    let owner = app.register("Di").await;
    let t = &owner.access_token;
    let make = |at: &str, repeat: Option<&str>| json!({"title": "Pill", "at": at, "timezone": "Europe/Berlin", "repeat": repeat});
    let (status, monthly) = post(&app, "/api/v1/reminders", t, make("2024-01-31T09:00", Some("monthly"))).await;
    assert_eq!(status, StatusCode::CREATED, "{monthly}");
    let locals: Vec<String> = occurrences(&app, t, monthly["id"].as_str().unwrap(), "2024-01-01T00:00:00Z", 5)
        .await
        .into_iter()
        .map(|o| o.1)
        .collect();
    assert_eq!(
        locals,
        [
            "2024-01-31T09:00:00",
            "2024-02-29T09:00:00",
            "2024-03-31T09:00:00",
            "2024-04-30T09:00:00",
            "2024-05-31T09:00:00"
        ]
    );
    let (_, daily) = post(&app, "/api/v1/reminders", t, make("2024-03-30T09:00", Some("daily"))).await;
    assert_eq!(daily["due_at"], "2024-03-30T08:00:00.000Z");
    let next = occurrences(&app, t, daily["id"].as_str().unwrap(), "2024-03-30T08:00:01Z", 1).await;
    assert_eq!(next[0].0, "2024-03-31T07:00:00.000Z", "09:00 local after the clocks went forward");
    let (_, gap) = post(&app, "/api/v1/reminders", t, make("2024-03-31T02:30", None)).await;
    assert_eq!(gap["due_at"], "2024-03-31T01:30:00.000Z", "a skipped wall time moves forward by the gap");
    let (_, yearly) = post(&app, "/api/v1/reminders", t, make("2024-02-29T09:00", Some("yearly"))).await;
    let dates: Vec<String> = occurrences(&app, t, yearly["id"].as_str().unwrap(), "2024-01-01T00:00:00Z", 5)
        .await
        .into_iter()
        .map(|o| o.1[..10].to_owned())
        .collect();
    assert_eq!(dates, ["2024-02-29", "2025-02-28", "2026-02-28", "2027-02-28", "2028-02-29"]);
    // Bad input names its fields.
    let res = app
        .post_json(
            "/api/v1/reminders",
            &json!({"title": "x", "at": "soon", "timezone": "Mars/Base", "repeat": "hourly"}),
            Some(t),
        )
        .await;
    let (status, error) = error_code(res).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let fields: Vec<&str> = error["details"].as_array().unwrap().iter().map(|d| d["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["timezone", "repeat"]);
}

#[tokio::test]
async fn completing_skipping_and_snoozing() {
    let app = spawn_app().await;
    let owner = app.register("Ed").await;
    let t = &owner.access_token;
    let (_, daily) = post(
        &app,
        "/api/v1/reminders",
        t,
        json!({"title": "Insulin", "at": "2024-03-01T08:00", "timezone": "UTC", "repeat": "daily"}),
    )
    .await;
    let id = daily["id"].as_str().unwrap();
    assert_eq!(daily["status"], "overdue");
    let (status, done) = post(&app, &format!("/api/v1/reminders/{id}/complete"), t, json!({})).await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert_eq!((done["completed_count"].as_i64(), done["status"].as_str()), (Some(1), Some("pending")));
    let due = OffsetDateTime::parse(done["due_at"].as_str().unwrap(), &time::format_description::well_known::Rfc3339)
        .unwrap();
    let now = OffsetDateTime::now_utc();
    assert!(due > now && due <= now + time::Duration::days(1), "missed days are skipped, not stacked: {due}");
    let (_, skipped) = post(&app, &format!("/api/v1/reminders/{id}/skip"), t, json!({})).await;
    let after =
        OffsetDateTime::parse(skipped["due_at"].as_str().unwrap(), &time::format_description::well_known::Rfc3339)
            .unwrap();
    assert_eq!(after - due, time::Duration::days(1));
    assert_eq!(skipped["completed_count"], 1, "a skip is not a completion");
    let (status, snoozed) = post(&app, &format!("/api/v1/reminders/{id}/snooze"), t, json!({"minutes": 30})).await;
    assert_eq!(status, StatusCode::OK);
    assert!(snoozed["snoozed_until"].is_string());
    let res = app.post_json(&format!("/api/v1/reminders/{id}/snooze"), &json!({"minutes": 0}), Some(t)).await;
    assert_eq!(error_code(res).await.1["details"][0]["field"], "minutes");
    // A one-off completes for good.
    let (_, once) = post(&app, "/api/v1/reminders", t, json!({"title": "Vet visit", "at": "2030-01-01T10:00"})).await;
    let (_, once) =
        post(&app, &format!("/api/v1/reminders/{}/complete", once["id"].as_str().unwrap()), t, json!({})).await;
    assert_eq!(once["status"], "completed");
    let (_, completed) = get(&app, "/api/v1/reminders?status=completed", t).await;
    assert_eq!(completed["total"], 1);
}

#[tokio::test]
async fn each_occurrence_is_told_once_even_when_a_pass_is_repeated_after_a_crash() {
    let app = spawn_app().await;
    let owner = app.register("Fay").await;
    let t = &owner.access_token;
    let mut live = crate::ws::open(&app, Some(t)).await;
    crate::ws::send(
        &mut live,
        json!({"type": "subscribe", "topic": format!("household:{}:alarms", owner.household_id)}),
    )
    .await;
    assert_eq!(crate::ws::next(&mut live).await["type"], "subscribed");
    let at = OffsetDateTime::now_utc() + time::Duration::seconds(2);
    let at_text = petty_app::rfc3339::from_ms(petty_store::to_ms(at)).unwrap();
    let (status, r) = post(
        &app,
        "/api/v1/reminders",
        t,
        json!({"title": "Flea treatment", "at": at_text, "methods": ["push", "email"]}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{r}");
    let id: uuid::Uuid = r["id"].as_str().unwrap().parse().unwrap();
    let household: petty_core::ids::HouseholdId = owner.household_id.parse().unwrap();
    let state = &app.state;
    let later = at + time::Duration::seconds(1);
    assert_eq!(
        petty_app::care::notify_due_reminders(&state.app, at - time::Duration::seconds(1)).await.unwrap(),
        0,
        "not yet"
    );
    assert_eq!(petty_app::care::notify_due_reminders(&state.app, later).await.unwrap(), 1);
    assert_eq!(petty_app::care::notify_due_reminders(&state.app, later).await.unwrap(), 0, "told once");
    // A node that died after queueing but before recording it: the next pass tells again, and
    // the outbox keeps one mail.
    let mut stored = app.store.get_reminder(household, id).await.unwrap();
    stored.notified_upto = at - time::Duration::seconds(1);
    app.store.save_reminder(&stored, later).await.unwrap();
    assert_eq!(
        petty_app::care::notify_due_reminders(&state.app, later + time::Duration::seconds(61)).await.unwrap(),
        1
    );
    let mails: Vec<_> = app
        .store
        .notifications(household, None, 50)
        .await
        .unwrap()
        .into_iter()
        .filter(|n| n.idem_key.starts_with(&format!("reminder:{id}")))
        .collect();
    assert_eq!(mails.len(), 1, "one mail for one occurrence: {mails:?}");
    assert_eq!(mails[0].recipient, owner.email);
    assert!(mails[0].subject.contains("Flea treatment"));
    let event = crate::ws::next(&mut live).await;
    assert_eq!(event["type"], "event");
    assert_eq!(event["data"]["type"], "reminder.due");
    assert_eq!(event["data"]["reminder"]["title"], "Flea treatment");
}

#[tokio::test]
async fn the_calendar_feed_parses_back_and_its_token_can_be_revoked() {
    let app = spawn_app().await;
    let owner = app.register("Gil").await;
    let t = &owner.access_token;
    let pet = app.create_pet(t, json!({"name": "Pip; the \"Great\", Jr.", "species": "dog"})).await;
    let pet_id = pet["id"].as_str().unwrap();
    let soon = day(today() + time::Duration::days(3));
    let (status, _) = post(
        &app,
        "/api/v1/reminders",
        t,
        json!({"pet_id": pet_id, "title": "Walk, feed; brush", "description": "Line one\nline two", "at": format!("{soon}T08:00"), "timezone": "Europe/Paris", "repeat": "daily"}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    post(
        &app,
        &format!("/api/v1/pets/{pet_id}/records"),
        t,
        json!({"kind": "vaccination", "title": "Rabies", "date": day(today())}),
    )
    .await;
    let (status, feed) = post(&app, "/api/v1/calendar/feed", t, json!({})).await;
    assert_eq!(status, StatusCode::CREATED);
    let token = feed["token"].as_str().unwrap();
    let url = app.url(&format!("/api/v1/calendar/feed.ics?token={token}"));
    let res = app.client.get(&url).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "text/calendar; charset=utf-8");
    let etag = res.headers()["etag"].to_str().unwrap().to_owned();
    let body = res.text().await.unwrap();
    for line in body.split("\r\n") {
        assert!(line.len() <= 75, "folded at 75 octets: {line:?}");
    }
    assert!(!body.replace("\r\n", "").contains('\n'), "every line ends in CRLF");
    let calendar: icalendar::Calendar = body.parse().expect("a real parser reads the feed");
    let events: Vec<&icalendar::Event> = calendar.components.iter().filter_map(|c| c.as_event()).collect();
    let walks: Vec<&&icalendar::Event> = events.iter().filter(|e| category(e) == Some("REMINDER")).collect();
    assert!(walks.len() >= 360 && walks.len() <= 366, "a year of daily occurrences expanded: {}", walks.len());
    assert_eq!(
        walks[0].property_value("DTSTART").map(|v| v.ends_with("T070000Z")),
        Some(true),
        "08:00 Paris in winter"
    );
    assert_eq!(walks[0].get_summary(), Some("Walk, feed; brush – Pip; the \"Great\", Jr."), "escaped text reads back");
    assert!(
        body.contains("SUMMARY:Walk\\, feed\\; brush – Pip\\; the \"Great\"\\, Jr."),
        "TEXT is escaped on the wire"
    );
    assert_eq!(walks[0].get_description(), Some("Line one\nline two"));
    let vaccine = events.iter().find(|e| category(e) == Some("VACCINATION")).expect("vaccine due day");
    assert_eq!(vaccine.get_uid(), Some(format!("vaccine-{pet_id}-rabies@petty").as_str()));
    let res = app.client.get(&url).header("if-none-match", &etag).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NOT_MODIFIED);
    // A new token replaces the old; a revoked one is gone.
    let (_, again) = post(&app, "/api/v1/calendar/feed", t, json!({})).await;
    assert_eq!(app.client.get(&url).send().await.unwrap().status(), StatusCode::NOT_FOUND);
    let (status, _) = send(&app, reqwest::Method::DELETE, "/api/v1/calendar/feed", t, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let new_url = app.url(&format!("/api/v1/calendar/feed.ics?token={}", again["token"].as_str().unwrap()));
    assert_eq!(app.client.get(&new_url).send().await.unwrap().status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_calendar_file_imports_into_reminders_and_again_updates_them() {
    let app = spawn_app().await;
    let owner = app.register("Hal").await;
    let t = &owner.access_token;
    let ics = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Test//EN\r\n\
        BEGIN:VEVENT\r\nUID:walk-1@example\r\nDTSTART;TZID=Europe/Berlin:20300105T073000\r\nRRULE:FREQ=WEEKLY\r\nSUMMARY:Groomer\\, bath\r\nEND:VEVENT\r\n\
        BEGIN:VEVENT\r\nUID:odd@example\r\nDTSTART:20300105T073000Z\r\nRRULE:FREQ=WEEKLY;INTERVAL=2\r\nSUMMARY:Every other week\r\nEND:VEVENT\r\n\
        BEGIN:VEVENT\r\nUID:day@example\r\nDTSTART;VALUE=DATE:20300110\r\nSUMMARY:Buy food\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
    let import = |body: &'static str| {
        app.client
            .post(app.url("/api/v1/calendar/import"))
            .bearer_auth(t)
            .header("content-type", "text/calendar")
            .body(body)
            .send()
    };
    let out: Value = import(ics).await.unwrap().json().await.unwrap();
    assert_eq!((out["imported"].as_u64(), out["updated"].as_u64()), (Some(2), Some(0)), "{out}");
    assert_eq!(out["skipped"][0]["uid"], "odd@example");
    let out: Value = import(ics).await.unwrap().json().await.unwrap();
    assert_eq!((out["imported"].as_u64(), out["updated"].as_u64()), (Some(0), Some(2)));
    let (_, list) = get(&app, "/api/v1/reminders", t).await;
    let groomer = list["items"].as_array().unwrap().iter().find(|r| r["title"] == "Groomer, bath").expect("imported");
    assert_eq!((groomer["repeat"].as_str(), groomer["timezone"].as_str()), (Some("weekly"), Some("Europe/Berlin")));
    assert_eq!(groomer["source"], "import");
    let res = app.client.post(app.url("/api/v1/calendar/import")).bearer_auth(t).json(&json!({})).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
}

#[tokio::test]
async fn a_vet_reads_records_but_not_reminders_and_a_sitter_completes_but_does_not_write() {
    let app = spawn_app().await;
    let owner = app.register("Ivy").await;
    let t = &owner.access_token;
    let pet = app.create_pet(t, json!({"name": "Lou", "species": "cat"})).await;
    let pet_id = pet["id"].as_str().unwrap();
    let (_, reminder) = post(&app, "/api/v1/reminders", t, json!({"title": "Pill", "at": "2030-01-01T09:00"})).await;
    let (vet, vet_id) = crate::revocation::join(&app, &owner, "Vera", "vet", None).await;
    let vet = vet.access_token;
    let path = format!("/api/v1/household/members/{vet_id}/pets");
    let (status, _) = send(&app, reqwest::Method::PUT, &path, t, Some(json!({"pet_ids": [pet_id]}))).await;
    assert_eq!(status, StatusCode::OK, "Lou is shared with the vet");
    let ends_at = (OffsetDateTime::now_utc() + time::Duration::days(7))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let sitter = crate::revocation::join(&app, &owner, "Sid", "sitter", Some(&ends_at)).await.0.access_token;
    let (status, _) = get(&app, &format!("/api/v1/pets/{pet_id}/records"), &vet).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = get(&app, "/api/v1/reminders", &vet).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = post(
        &app,
        &format!("/api/v1/pets/{pet_id}/records"),
        &vet,
        json!({"kind": "visit", "title": "x", "date": "2025-01-01"}),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = post(
        &app,
        &format!("/api/v1/pets/{pet_id}/records"),
        &sitter,
        json!({"kind": "visit", "title": "x", "date": "2025-01-01"}),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, done) =
        post(&app, &format!("/api/v1/reminders/{}/complete", reminder["id"].as_str().unwrap()), &sitter, json!({}))
            .await;
    assert_eq!(status, StatusCode::OK, "{done}");
}

#[tokio::test]
async fn a_record_shows_its_attachments_and_takes_them_when_deleted() {
    let app = spawn_app().await;
    let owner = app.register("Jo").await;
    let t = &owner.access_token;
    let pet = app.create_pet(t, json!({"name": "Rex", "species": "dog"})).await;
    let pet_id = pet["id"].as_str().unwrap();
    let (_, record) = post(
        &app,
        &format!("/api/v1/pets/{pet_id}/records"),
        t,
        json!({"kind": "vaccination", "title": "Rabies", "date": day(today())}),
    )
    .await;
    let record_id = record["id"].as_str().unwrap();
    assert_eq!(record["attachments"], json!([]));
    let made = crate::files::upload_url(&app, t, "certificate.png", "image/png", "health_record_attachment").await;
    let upload_url = made["upload_url"].as_str().unwrap();
    let target = app.url(&upload_url[upload_url.find("/api/v1/uploads/").expect("Petty's one-time URL")..]);
    let res = app
        .client
        .put(&target)
        .header("content-type", "image/png")
        .body(crate::files::png(30, 20))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "{}", res.status());
    let res = app
        .post_json("/api/v1/uploads/confirm", &json!({"file_key": made["file_key"], "purpose": "health_record_attachment", "health_record_id": record_id}), Some(t))
        .await;
    assert_eq!(res.status(), StatusCode::OK, "{}", res.text().await.unwrap());
    let (_, read) = get(&app, &format!("/api/v1/records/{record_id}"), t).await;
    let attachment = &read["attachments"][0];
    assert_eq!(attachment["filename"], "certificate.png");
    let link = attachment["url"].as_str().unwrap().to_owned();
    assert_eq!(app.get(&link, None).await.status(), StatusCode::OK, "the signed link serves it");
    let (_, page) = get(&app, &format!("/api/v1/pets/{pet_id}/records"), t).await;
    assert_eq!(page["items"][0]["attachments"][0]["filename"], "certificate.png");
    let (status, _) = send(&app, reqwest::Method::DELETE, &format!("/api/v1/records/{record_id}"), t, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(app.get(&link, None).await.status(), StatusCode::NOT_FOUND, "the attachment went with its record");
}

#[tokio::test]
async fn a_page_of_records_read_twice_shows_every_change_made_between() {
    let app = spawn_app().await;
    let owner = app.register("Kit").await;
    let t = &owner.access_token;
    let pet = app.create_pet(t, json!({"name": "Rex", "species": "dog"})).await;
    let list = format!("/api/v1/pets/{}/records?page_size=5", pet["id"].as_str().unwrap());
    let (_, record) = post(
        &app,
        &format!("/api/v1/pets/{}/records", pet["id"].as_str().unwrap()),
        t,
        json!({"kind": "visit", "title": "Checkup", "date": "2026-01-05"}),
    )
    .await;
    let id = record["id"].as_str().unwrap();
    let first = get(&app, &list, t).await.1;
    assert_eq!(get(&app, &list, t).await.1, first, "the same page, read again");
    send(&app, reqwest::Method::PATCH, &format!("/api/v1/records/{id}"), t, Some(json!({"title": "Dental check"})))
        .await;
    assert_eq!(get(&app, &list, t).await.1["items"][0]["title"], "Dental check", "a change shows at once");
    let made = crate::files::upload_url(&app, t, "scan.png", "image/png", "health_record_attachment").await;
    let upload_url = made["upload_url"].as_str().unwrap();
    let target = app.url(&upload_url[upload_url.find("/api/v1/uploads/").expect("Petty's one-time URL")..]);
    let res = app.client.put(&target).header("content-type", "image/png").body(crate::files::png(8, 8)).send().await;
    assert!(res.unwrap().status().is_success());
    let confirm = json!({"file_key": made["file_key"], "purpose": "health_record_attachment", "health_record_id": id});
    assert_eq!(app.post_json("/api/v1/uploads/confirm", &confirm, Some(t)).await.status(), StatusCode::OK);
    let page = get(&app, &list, t).await.1;
    assert_eq!(page["items"][0]["attachments"][0]["filename"], "scan.png", "{page}");
    let (status, _) = send(&app, reqwest::Method::DELETE, &format!("/api/v1/records/{id}"), t, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(get(&app, &list, t).await.1["total"], 0, "a deleted record is gone from the page");
}

#[tokio::test]
async fn the_records_summary_checks_the_list_s_paging_as_the_list_does() {
    let app = spawn_app().await;
    let owner = app.register("Lee").await;
    let pet = app.create_pet(&owner.access_token, json!({"name": "Rex", "species": "dog"})).await;
    let path = format!("/api/v1/pets/{}/records/summary?page_size=0", pet["id"].as_str().unwrap());
    let (status, body) = get(&app, &path, &owner.access_token).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["details"][0]["field"], "page_size");
}
