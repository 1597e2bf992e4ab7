//! The settings pages (issue 17) as a person uses them without JavaScript: contacts and
//! escalation, alarm rules with the preview of what a rule would have raised (the same
//! incidents the alarm job then records for the same readings), and webhooks with a test
//! delivery to a verifying receiver; what each page did is read back through the API, and a
//! role the API refuses gets the 403 page.

use petty_http::notify::OutboundPolicy;
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::fakes;
use crate::harness::{Account, TestApp, spawn_app, spawn_app_with, spawn_beside};
use crate::pages_devices::{csrf_of, open, signed_in, submit};
use crate::revocation::join;

/// Opens `page`, fills in its form with `fields` and the page's CSRF token, and posts to `to`.
async fn post_from(
    app: &TestApp,
    client: &Client,
    page: &str,
    to: &str,
    fields: &[(&str, &str)],
) -> (StatusCode, String) {
    let (status, html) = open(app, client, page).await;
    assert_eq!(status, StatusCode::OK, "{page}: {html}");
    let csrf = csrf_of(&html);
    let mut form = vec![("csrf", csrf.as_str())];
    form.extend_from_slice(fields);
    let res = submit(app, client, to, &form).await;
    (res.status(), res.text().await.unwrap())
}

async fn items(app: &TestApp, account: &Account, path: &str) -> Vec<Value> {
    let res = app.get(path, Some(&account.access_token)).await;
    assert_eq!(res.status(), StatusCode::OK, "{path}");
    res.json::<Value>().await.unwrap()["items"].as_array().unwrap().clone()
}

/// A sitter's end date a week from now.
fn a_week_on() -> String {
    (OffsetDateTime::now_utc() + time::Duration::days(7)).format(&Rfc3339).unwrap()
}

fn instant(s: &str) -> OffsetDateTime {
    OffsetDateTime::parse(s, &Rfc3339).unwrap_or_else(|e| panic!("{s}: {e}"))
}

#[tokio::test]
async fn contacts_and_escalation_are_kept_from_the_dashboard() {
    let app = spawn_app().await;
    let ana = app.register("Ana").await;
    let client = signed_in(&app, &ana).await;
    let (status, html) = open(&app, &client, "/settings").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(r#"href="/settings/contacts""#) && html.contains(r#"href="/settings/webhooks""#), "{html}");

    // A bad phone: the error names the field, and nothing is added.
    let contact = [("name", "Aunt May"), ("role", "secondary"), ("position", "2"), ("policy.sms", "major")];
    let mut bad = contact.to_vec();
    bad.push(("phone", "12"));
    let (status, html) = post_from(&app, &client, "/settings/contacts", "/settings/contacts", &bad).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
    assert!(html.contains(r#"id="f-phone-error""#) && html.contains("Phone "), "{html}");
    assert!(html.contains(r#"value="Aunt May""#), "what was typed is kept");
    assert!(items(&app, &ana, "/api/v1/contacts").await.is_empty(), "nothing added");

    let mut good = contact.to_vec();
    good.push(("phone", "+14155550123"));
    let (status, _) = post_from(&app, &client, "/settings/contacts", "/settings/contacts", &good).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let listed = items(&app, &ana, "/api/v1/contacts").await;
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!((listed[0]["name"].as_str(), listed[0]["phone"].as_str()), (Some("Aunt May"), Some("+14155550123")));
    assert_eq!((listed[0]["position"].as_i64(), listed[0]["policy"]["sms"].as_str()), (Some(2), Some("major")));
    let id = listed[0]["id"].as_str().unwrap().to_owned();
    let (_, html) = open(&app, &client, "/settings/contacts").await;
    assert!(html.contains("Aunt May"), "listed on the page");

    // Edited: a new name and quiet hours.
    let edit = format!("/settings/contacts/{id}");
    let mut changed = good.clone();
    changed[0] = ("name", "May Parker");
    changed.extend([("policy.quiet_hours.start", "22:00"), ("policy.quiet_hours.end", "07:00")]);
    let (status, html) = post_from(&app, &client, &edit, &edit, &changed).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{html}");
    let listed = items(&app, &ana, "/api/v1/contacts").await;
    assert_eq!(listed[0]["name"], "May Parker");
    assert_eq!(listed[0]["policy"]["quiet_hours"]["start"], "22:00");

    // Escalation: a bad number of rounds is named and changes nothing; a good one is kept.
    let before: Value = app.get("/api/v1/escalation", Some(&ana.access_token)).await.json().await.unwrap();
    let escalation = |rounds: &'static str| {
        [
            ("min_severity", "minor"),
            ("message_after_secs", "0"),
            ("call_after_secs", "120"),
            ("next_contact_after_secs", "300"),
            ("repeat_after_secs", "1800"),
            ("max_rounds", rounds),
        ]
    };
    let (status, html) = post_from(&app, &client, "/settings/contacts", "/settings/escalation", &escalation("0")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("Rounds must be between 1 and"), "{html}");
    let after: Value = app.get("/api/v1/escalation", Some(&ana.access_token)).await.json().await.unwrap();
    assert_eq!(before, after, "nothing changed");
    let (status, _) = post_from(&app, &client, "/settings/contacts", "/settings/escalation", &escalation("3")).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let after: Value = app.get("/api/v1/escalation", Some(&ana.access_token)).await.json().await.unwrap();
    assert_eq!((after["max_rounds"].as_i64(), after["min_severity"].as_str()), (Some(3), Some("minor")));

    // A sitter sees the contacts but cannot change them, and may not open the webhooks.
    let (sam, _) = join(&app, &ana, "Sam", "sitter", Some(&a_week_on())).await;
    let sitter = signed_in(&app, &sam).await;
    let (status, html) = open(&app, &sitter, "/settings/contacts").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("May Parker") && !html.contains(r#"action="/settings/contacts""#), "no add form");
    let csrf = csrf_of(&html);
    let res = submit(&app, &sitter, &format!("{edit}/delete"), &[("csrf", &csrf)]).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(open(&app, &sitter, "/settings/webhooks").await.0, StatusCode::FORBIDDEN);
    assert_eq!(items(&app, &ana, "/api/v1/contacts").await.len(), 1, "still there");

    // Removed.
    let (status, _) = post_from(&app, &client, "/settings/contacts", &format!("{edit}/delete"), &[]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(items(&app, &ana, "/api/v1/contacts").await.is_empty());
}

/// Heart-rate readings a minute apart over the last days, with three racing spells (the last
/// one still going at the newest reading), sent with their own past times.
async fn racing_heart(app: &TestApp, account: &Account) {
    let res = app
        .post_json(
            "/api/v1/devices",
            &json!({"name": "Bella's collar", "kind": "collar", "expected_interval_secs": 60}),
            Some(&account.access_token),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let token = res.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_owned();
    let now = petty_store::to_ms(OffsetDateTime::now_utc());
    let day = 86_400_000;
    // Per stretch of 40 minutes: the minutes that race, at what rate. Two days ago a blip of
    // two readings two minutes apart with a calm one between is too short to count.
    let stretches: [(i64, &[(i64, f64)]); 3] = [
        (now - 3 * day, &[(10, 230.0), (11, 230.0), (12, 230.0), (13, 230.0), (14, 230.0), (15, 230.0)]),
        (now - 2 * day, &[(10, 230.0), (12, 230.0), (20, 225.0), (21, 225.0), (22, 228.0), (23, 225.0)]),
        (
            now - day,
            &[
                (30, 230.0),
                (31, 230.0),
                (32, 230.0),
                (33, 230.0),
                (34, 240.0),
                (35, 240.0),
                (36, 240.0),
                (37, 240.0),
                (38, 240.0),
                (39, 240.0),
            ],
        ),
    ];
    let mut readings = Vec::new();
    for (start, racing) in stretches {
        for i in 0..40 {
            let rate = racing.iter().find(|(m, _)| *m == i).map_or(110.0, |(_, r)| *r);
            readings.push(json!({"ts": start + i * 60_000, "heart_rate": rate}));
        }
    }
    let res = app
        .client
        .post(app.url("/api/v1/ingest"))
        .bearer_auth(&token)
        .json(&json!({"readings": readings}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK, "{}", res.text().await.unwrap());
}

#[tokio::test]
async fn a_rule_previewed_on_the_dashboard_shows_the_incidents_the_alarm_job_then_raises() {
    let app = spawn_app().await;
    let ana = app.register("Ana").await;
    racing_heart(&app, &ana).await;
    let client = signed_in(&app, &ana).await;
    let (status, html) = open(&app, &client, "/settings/rules").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("built-in"), "the built-in rules are listed: {html}");
    let rules_before = items(&app, &ana, "/api/v1/alarm-rules").await.len();

    let rule = |value: &'static str, action: &'static str| {
        vec![
            ("action", action),
            ("name", "Racing heart"),
            ("device_kind", "collar"),
            ("kind", "above"),
            ("metric", "heart_rate"),
            ("value", value),
            ("clear_value", "150"),
            ("for_secs", "120"),
            ("clear_secs", "60"),
            ("severity", "minor"),
            ("enabled", "on"),
        ]
    };
    // A value that is no number is named, and nothing is saved.
    let (status, html) = post_from(&app, &client, "/settings/rules", "/settings/rules", &rule("fast", "save")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains(r#"id="f-value-error""#) && html.contains("Value must be a number"), "{html}");
    // A rule the core refuses is named the same way.
    let mut never_clears = rule("200", "save");
    never_clears[6] = ("clear_value", "250");
    let (status, html) = post_from(&app, &client, "/settings/rules", "/settings/rules", &never_clears).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains(r#"id="f-clear_value-error""#), "{html}");
    assert_eq!(items(&app, &ana, "/api/v1/alarm-rules").await.len(), rules_before, "nothing saved");

    // The preview, before saving: two incidents that ended and one still going.
    let (status, html) = post_from(&app, &client, "/settings/rules", "/settings/rules", &rule("200", "preview")).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert_eq!(html.matches(r#"<tr class="incident">"#).count(), 3, "{html}");
    assert!(html.contains("3 alarms") && html.contains("still going"), "{html}");
    assert_eq!(items(&app, &ana, "/api/v1/alarm-rules").await.len(), rules_before, "a preview saves nothing");
    // The API's preview of the same rule says the same.
    let body = json!({"name": "Racing heart", "device_kind": "collar", "kind": "above", "metric": "heart_rate",
        "value": 200, "clear_value": 150, "for_secs": 120, "clear_secs": 60, "severity": "minor"});
    let res = app.post_json("/api/v1/alarm-rules/preview", &body, Some(&ana.access_token)).await;
    assert_eq!(res.status(), StatusCode::OK);
    let preview: Value = res.json().await.unwrap();
    let incidents = preview["incidents"].as_array().unwrap().clone();
    assert_eq!(incidents.len(), 3, "{preview}");
    for incident in &incidents {
        assert!(html.contains(incident["start"].as_str().unwrap()), "the page shows {incident}");
    }
    assert_eq!(incidents[0]["peak"], 230.0);
    assert_eq!(incidents[2]["peak"], 240.0);
    assert!(incidents[2]["end"].is_null());

    // Saved, then judged by the alarm job over the same readings: exactly those incidents.
    let (status, _) = post_from(&app, &client, "/settings/rules", "/settings/rules", &rule("200", "save")).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let rules = items(&app, &ana, "/api/v1/alarm-rules").await;
    let saved = rules.iter().find(|r| r["name"] == "Racing heart").expect("saved").clone();
    assert_eq!((saved["value"].as_f64(), saved["for_secs"].as_i64()), (Some(200.0), Some(120)));
    petty_jobs::alarms::run_once(&app.state.app).await;
    let mut raised: Vec<Value> = items(&app, &ana, "/api/v1/alarms?page_size=500")
        .await
        .into_iter()
        .filter(|a| a["rule_id"] == saved["id"])
        .collect();
    raised.sort_by_key(|a| instant(a["first_at"].as_str().unwrap()));
    let got: Vec<(OffsetDateTime, Option<OffsetDateTime>)> = raised
        .iter()
        .map(|a| (instant(a["first_at"].as_str().unwrap()), a["cleared_at"].as_str().map(instant)))
        .collect();
    let previewed: Vec<(OffsetDateTime, Option<OffsetDateTime>)> =
        incidents.iter().map(|i| (instant(i["start"].as_str().unwrap()), i["end"].as_str().map(instant))).collect();
    assert_eq!(got, previewed, "the job raised what the preview showed: {raised:?}");
    assert!(raised.iter().all(|a| a["device_id"] == incidents[0]["device_id"]));

    // Edited (a preview of the change first), turned off, and deleted.
    let id = saved["id"].as_str().unwrap();
    let edit = format!("/settings/rules/{id}");
    let (status, html) = post_from(&app, &client, &edit, &edit, &rule("235", "preview")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("1 alarm "), "only the last spell reaches 235: {html}");
    let (status, _) = post_from(&app, &client, &edit, &edit, &rule("235", "save")).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (status, _) = post_from(&app, &client, "/settings/rules", &format!("{edit}/disable"), &[]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let rules = items(&app, &ana, "/api/v1/alarm-rules").await;
    let now = rules.iter().find(|r| r["id"] == saved["id"]).unwrap();
    assert_eq!((now["value"].as_f64(), now["enabled"].as_bool()), (Some(235.0), Some(false)));

    // A sitter reads the rules but may neither preview nor change them.
    let (sam, _) = join(&app, &ana, "Sam", "sitter", Some(&a_week_on())).await;
    let sitter = signed_in(&app, &sam).await;
    let (status, html) = open(&app, &sitter, "/settings/rules").await;
    assert_eq!(status, StatusCode::OK);
    assert!(!html.contains(r#"action="/settings/rules""#));
    let csrf = csrf_of(&html);
    let mut form = vec![("csrf", csrf.as_str())];
    form.extend(rule("200", "preview"));
    assert_eq!(submit(&app, &sitter, "/settings/rules", &form).await.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        submit(&app, &sitter, &format!("{edit}/delete"), &[("csrf", &csrf)]).await.status(),
        StatusCode::FORBIDDEN
    );
    let res = app.post_json("/api/v1/alarm-rules/preview", &body, Some(&sam.access_token)).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);

    let (status, _) = post_from(&app, &client, "/settings/rules", &format!("{edit}/delete"), &[]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(items(&app, &ana, "/api/v1/alarm-rules").await.iter().all(|r| r["id"] != saved["id"]));
}

#[tokio::test]
async fn webhooks_are_kept_and_tested_from_the_dashboard() {
    let receiver = fakes::webhook_receiver().await;
    // The receiver is on this machine: an administrator allows loopback for webhooks.
    let app = spawn_app_with(|c| c.notify.outbound = OutboundPolicy::new(&["127.0.0.1"]).unwrap()).await;
    let ana = app.register("Ana").await;
    let client = signed_in(&app, &ana).await;

    // An address that is no URL is named, and nothing is added.
    let (status, html) =
        post_from(&app, &client, "/settings/webhooks", "/settings/webhooks", &[("url", "not a url")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains(r#"id="f-url-error""#), "{html}");
    assert!(items(&app, &ana, "/api/v1/webhooks").await.is_empty());

    let (status, html) = post_from(
        &app,
        &client,
        "/settings/webhooks",
        "/settings/webhooks",
        &[("url", &receiver.url), ("min_severity", "minor")],
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{html}");
    let secret = html.split("whsec_").nth(1).expect("the secret is shown once");
    let secret = format!("whsec_{}", secret.split('<').next().unwrap());
    *receiver.secret.lock().unwrap() = secret.clone();
    let hooks = items(&app, &ana, "/api/v1/webhooks").await;
    assert_eq!(
        (hooks.len(), hooks[0]["url"].as_str(), hooks[0]["min_severity"].as_str()),
        (1, Some(receiver.url.as_str()), Some("minor"))
    );
    let id = hooks[0]["id"].as_str().unwrap().to_owned();
    let (_, html) = open(&app, &client, "/settings/webhooks").await;
    assert!(!html.contains(&secret), "never shown again");

    // A test delivery now: signed, received, and the receiver's answer on the page.
    let (status, html) =
        post_from(&app, &client, "/settings/webhooks", &format!("/settings/webhooks/{id}/test"), &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Delivered: the receiver answered 204"), "{html}");
    let got = receiver.got.lock().unwrap().clone();
    assert_eq!(got.len(), 1);
    assert!(got[0].0, "the signature verifies");
    assert_eq!(
        (got[0].1["event"].as_str(), got[0].1["webhook_id"].as_str()),
        (Some("webhook.test"), Some(id.as_str()))
    );
    // The same through the API; a wrong secret at the receiver is its answer, shown as such.
    *receiver.secret.lock().unwrap() = "wrong".into();
    let res = app.post_json(&format!("/api/v1/webhooks/{id}/test"), &json!(null), Some(&ana.access_token)).await;
    assert_eq!(res.status(), StatusCode::OK);
    let answer: Value = res.json().await.unwrap();
    assert_eq!(answer["outcome"], "failed", "{answer}");
    assert!(answer["detail"].as_str().unwrap().contains("401"), "{answer}");
    *receiver.secret.lock().unwrap() = secret;

    // A node whose policy allows nothing inside refuses the stored address, and says so.
    let strict = spawn_beside(&app, |_| {}).await;
    let strict_client = signed_in(&strict, &ana).await;
    let (status, html) =
        post_from(&strict, &strict_client, "/settings/webhooks", &format!("/settings/webhooks/{id}/test"), &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("refused by the outbound policy") && html.contains("public address"), "{html}");
    assert_eq!(receiver.got.lock().unwrap().len(), 2, "nothing more was sent");

    // Edited: the address stays checked; then a new least severity.
    let edit = format!("/settings/webhooks/{id}");
    let (status, html) = post_from(&app, &client, &edit, &edit, &[("url", "ftp://example.org/x")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains(r#"id="f-url-error""#), "{html}");
    let (status, _) =
        post_from(&app, &client, &edit, &edit, &[("url", &receiver.url), ("min_severity", "critical")]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let hooks = items(&app, &ana, "/api/v1/webhooks").await;
    assert_eq!(
        (hooks[0]["url"].as_str(), hooks[0]["min_severity"].as_str()),
        (Some(receiver.url.as_str()), Some("critical"))
    );

    // A member (who manages pets, not the household) gets the 403 page, and the API's 403.
    let (mia, _) = join(&app, &ana, "Mia", "member", None).await;
    let member = signed_in(&app, &mia).await;
    assert_eq!(open(&app, &member, "/settings/webhooks").await.0, StatusCode::FORBIDDEN);
    let res = app.post_json(&format!("/api/v1/webhooks/{id}/test"), &json!(null), Some(&mia.access_token)).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);

    let (status, _) = post_from(&app, &client, "/settings/webhooks", &format!("{edit}/delete"), &[]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(items(&app, &ana, "/api/v1/webhooks").await.is_empty());
}
