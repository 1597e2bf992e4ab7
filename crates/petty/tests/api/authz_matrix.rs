//! The authorization matrix, generated from the OpenAPI document so that a new route is in it
//! the day it is added: every operation on a route that names a resource, against a household
//! that owns every kind of resource, called by another household's owner (nothing found, nothing
//! changed, nothing of theirs in the answer), by the household's own read-only key (no
//! operation that changes something succeeds), and with a token its holder signed out of and a
//! key that was revoked (every operation refused with 401).

use petty_core::alarm::Severity;
use petty_store::NewAlarm;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::harness::{Account, TestApp, spawn_app};

/// One of every resource a route can name, in Ana's household.
struct Fixtures {
    ids: Vec<(&'static str, String)>,
    /// Text that must never appear in an answer to a stranger.
    secrets: Vec<String>,
}

async fn created(app: &TestApp, token: &str, path: &str, body: Value) -> Value {
    let res = app.post_json(path, &body, Some(token)).await;
    assert_eq!(res.status(), StatusCode::CREATED, "{path}");
    res.json().await.unwrap()
}

async fn fixtures(app: &TestApp, ana: &Account) -> Fixtures {
    let t = &ana.access_token;
    let pet = created(app, t, "/api/v1/pets", json!({"name": "Bellatrix", "species": "dog"})).await;
    let pet_id = pet["id"].as_str().unwrap().to_owned();
    let device = created(
        app,
        t,
        "/api/v1/devices",
        json!({"name": "Bellatrix's collar", "kind": "collar", "serial": "MATRIX-1", "pet_id": pet_id}),
    )
    .await;
    let device_id = device["device"]["id"].as_str().unwrap().to_owned();
    let fence = created(
        app,
        t,
        "/api/v1/geofences",
        json!({"name": "Garden", "kind": "circle", "center": {"lat": 52.0, "lon": 4.0}, "radius_m": 50}),
    )
    .await;
    let contact =
        created(app, t, "/api/v1/contacts", json!({"name": "Neighbour", "role": "secondary", "phone": "+14155550123"}))
            .await;
    let key = created(app, t, "/api/v1/api-keys", json!({"name": "Matrix", "scope": "read"})).await;
    let invitation = created(app, t, "/api/v1/household/invitations", json!({"role": "vet"})).await;
    let household = petty_core::ids::HouseholdId(ana.household_id.parse().unwrap());
    let now = petty_store::to_ms(time::OffsetDateTime::now_utc());
    let webhook = app
        .store
        .create_webhook(household, "https://hooks.example.com/matrix", "whsec_x", Severity::Info, now)
        .await
        .unwrap();
    let (alarm, _) = app
        .store
        .raise_alarm(
            household,
            &NewAlarm {
                rule_id: None,
                source: format!("device:{device_id}"),
                alarm_type: "heart_high".into(),
                device_id: Some(device_id.parse().unwrap()),
                pet_id: None,
                severity: Severity::Major,
                title: "Heart racing".into(),
                message: "Bellatrix's heart".into(),
                value: Some(200.0),
                evidence: vec![(now, 200.0)],
                at_ms: now,
                quiet: true,
            },
        )
        .await
        .unwrap();
    let record: Value = app
        .post_json(
            &format!("/api/v1/pets/{pet_id}/records"),
            &json!({"kind": "visit", "title": "MATRIX-REC checkup", "date": "2025-01-01"}),
            Some(t),
        )
        .await
        .json()
        .await
        .unwrap();
    let reminder: Value = app
        .post_json("/api/v1/reminders", &json!({"title": "MATRIX-REM pill", "at": "2030-01-01T09:00"}), Some(t))
        .await
        .json()
        .await
        .unwrap();
    let life: Value = app
        .post_json(
            "/api/v1/life-events",
            &json!({"event_type": "mood", "title": "MATRIX-LIFE low day", "event_time": "2026-01-01T08:00:00Z",
                "event_data": {"mood_score": 3}}),
            Some(t),
        )
        .await
        .json()
        .await
        .unwrap();
    let now = time::OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc3339).unwrap();
    let recent =
        json!({"event_type": "sleep", "title": "MATRIX-LIFE night", "event_time": now, "duration_minutes": 400});
    app.post_json("/api/v1/life-events", &recent, Some(t)).await;
    let insights: Value = app.post_json("/api/v1/insights/generate", &json!({}), Some(t)).await.json().await.unwrap();
    let listing: Value = app
        .post_json("/api/v1/catalog", &json!({"name": "MATRIX-LISTING Rex", "species": "dog", "price": 250}), Some(t))
        .await
        .json()
        .await
        .unwrap();
    let scan = crate::files::upload(
        app,
        t,
        ("MATRIX-SCAN.png", "image/png", "health_record_attachment"),
        crate::files::png(16, 16),
        None,
    )
    .await;
    let upload =
        crate::files::upload_url(app, t, "MATRIX-LATER.pdf", "application/pdf", "health_record_attachment").await;
    let upload_url = upload["upload_url"].as_str().unwrap();
    let upload_token = upload_url[upload_url.find("/uploads/").unwrap() + "/uploads/".len()..].to_owned();
    let rules: Value = app.get("/api/v1/alarm-rules", Some(t)).await.json().await.unwrap();
    let me: Value = app.get("/api/v1/me", Some(t)).await.json().await.unwrap();
    let user_id = me["user"]["id"].as_str().or(me["id"].as_str()).expect("my user id").to_owned();
    let sessions: Value = app.get("/api/v1/auth/sessions", Some(t)).await.json().await.unwrap();
    let sign_in = sessions["items"][0]["id"].as_str().expect("a live sign-in").to_owned();
    Fixtures {
        ids: vec![
            ("pets", pet_id),
            ("devices", device_id),
            ("geofences", fence["id"].as_str().unwrap().to_owned()),
            ("contacts", contact["id"].as_str().unwrap().to_owned()),
            ("api-keys", key["id"].as_str().unwrap().to_owned()),
            ("household/invitations", invitation["id"].as_str().unwrap().to_owned()),
            ("household/members", user_id),
            ("webhooks", webhook.id.to_string()),
            ("alarms", alarm.id.to_string()),
            ("alarm-rules", rules["items"][0]["id"].as_str().unwrap().to_owned()),
            ("records", record["id"].as_str().expect("a record").to_owned()),
            ("reminders", reminder["id"].as_str().expect("a reminder").to_owned()),
            ("life-events", life["id"].as_str().expect("a life event").to_owned()),
            ("insights", insights[0]["id"].as_str().expect("an insight").to_owned()),
            ("catalog", listing["id"].as_str().expect("a listing").to_owned()),
            // Ana's catalog is private: its public address shows nothing.
            ("public/catalogs", ana.household_id.clone()),
            // Links whose token is the permission: a guessed one opens nothing.
            ("passports", "pp_guessed-token".to_owned()),
            ("lost", "lost_guessed-token".to_owned()),
            ("auth/sessions", sign_in),
            ("files", scan["id"].as_str().unwrap().to_owned()),
            ("uploads", upload_token),
        ],
        secrets: vec![
            "Bellatrix".into(),
            "MATRIX-1".into(),
            "Neighbour".into(),
            "hooks.example.com".into(),
            "MATRIX-REC".into(),
            "MATRIX-REM".into(),
            "MATRIX-LIFE".into(),
            "MATRIX-LISTING".into(),
            "MATRIX-SCAN".into(),
            "MATRIX-LATER".into(),
        ],
    }
}

/// Every (method, path) of the document, and whether it asks for credentials.
async fn operations(app: &TestApp) -> Vec<(Method, String, bool)> {
    let doc: Value = app.get("/api/v1/openapi.json", None).await.json().await.unwrap();
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in ["get", "post", "put", "patch", "delete"] {
            if let Some(operation) = item.get(method) {
                let secured = operation["security"].as_array().is_some_and(|s| !s.is_empty());
                out.push((method.to_uppercase().parse().unwrap(), path.clone(), secured));
            }
        }
    }
    out
}

/// `path` with its placeholders filled from Ana's resources; `None` for a path that names none.
fn fill(path: &str, fixtures: &Fixtures) -> Option<String> {
    if !path.contains('{') {
        return None;
    }
    let rest = path.strip_prefix("/api/v1/").expect("under /api/v1");
    let (kind, id) = fixtures
        .ids
        .iter()
        .filter(|(kind, _)| rest.starts_with(&format!("{kind}/{{")))
        .max_by_key(|(kind, _)| kind.len())
        .unwrap_or_else(|| panic!("{path}: the matrix has no resource for this route; add one to `fixtures`"));
    let mut filled = format!("/api/v1/{kind}/{id}");
    let tail = &rest[kind.len() + 1..];
    let tail = &tail[tail.find('}').expect("a placeholder") + 1..];
    // A second placeholder (an episode of the pet) gets a made-up id: the first already decides.
    for part in tail.split('/').filter(|p| !p.is_empty()) {
        filled.push('/');
        filled.push_str(if part.starts_with('{') { "0190a6f2-8b3c-7def-8123-456789abcdef" } else { part });
    }
    Some(filled)
}

async fn call(app: &TestApp, method: &Method, path: &str, token: &str) -> (StatusCode, String) {
    let mut req = app.client.request(method.clone(), app.url(path)).bearer_auth(token);
    if matches!(*method, Method::POST | Method::PUT | Method::PATCH) {
        req = req.json(&json!({}));
    }
    let res = req.send().await.unwrap();
    (res.status(), res.text().await.unwrap_or_default())
}

/// What Ana can see of her household, to compare before and after.
async fn snapshot(app: &TestApp, token: &str) -> Vec<Value> {
    let mut out = Vec::new();
    for path in [
        "/api/v1/pets",
        "/api/v1/devices",
        "/api/v1/geofences",
        "/api/v1/contacts",
        "/api/v1/api-keys",
        "/api/v1/household/invitations",
        "/api/v1/household/members",
        "/api/v1/webhooks",
        "/api/v1/alarms",
        "/api/v1/files",
        "/api/v1/storage",
    ] {
        let mut list: Value = app.get(path, Some(token)).await.json().await.unwrap();
        // Last use moves with every call a key makes; the rest must not move.
        if let Some(items) = list["items"].as_array_mut() {
            for item in items {
                if let Some(o) = item.as_object_mut() {
                    o.remove("last_used_at");
                    o.remove("last_seen_at");
                    // Signed links are made afresh, with a later expiry, on every answer.
                    o.remove("url");
                    o.remove("thumbnail_url");
                }
            }
        }
        out.push(list);
    }
    out
}

#[tokio::test]
async fn no_route_lets_another_household_or_a_read_only_key_see_or_change_what_is_not_theirs() {
    let app = spawn_app().await;
    let ana = app.register("Ana").await;
    let bo = app.register("Bo").await;
    let fixtures = fixtures(&app, &ana).await;
    let res = app
        .post_json("/api/v1/api-keys", &json!({"name": "Read only", "scope": "read"}), Some(&ana.access_token))
        .await;
    let created: Value = res.json().await.unwrap();
    let read_key = created["key"].as_str().unwrap().to_owned();
    let read_key_id = created["id"].as_str().unwrap().to_owned();
    let before = snapshot(&app, &ana.access_token).await;
    let operations = operations(&app).await;
    assert!(operations.len() > 50, "the document lists the API: {}", operations.len());

    let mut checked = 0;
    for (method, template, _) in &operations {
        // Another household's owner, on each of Ana's resources.
        if let Some(path) = fill(template, &fixtures) {
            let (status, body) = call(&app, method, &path, &bo.access_token).await;
            assert!(status.is_client_error(), "{method} {template} as another household answered {status}: {body}");
            for secret in &fixtures.secrets {
                assert!(!body.contains(secret.as_str()), "{method} {template} showed {secret:?} to a stranger: {body}");
            }
            checked += 1;
        }
        // Ana's read-only key, on every operation that changes something (sign-in and the
        // device's own ingest are not the household's to grant, and a one-time upload URL's
        // token is its own credential). Stripe's webhook is signed by Stripe, not granted by the
        // household.
        let public = ["/api/v1/auth/", "/api/v1/ingest", "/api/v1/import", "/api/v1/lost/", "/api/v1/billing/stripe/"]
            .iter()
            .any(|p| template.starts_with(p))
            || template == "/api/v1/uploads/{token}";
        if *method != Method::GET && !public {
            let path = fill(template, &fixtures).unwrap_or_else(|| template.clone());
            let (status, body) = call(&app, method, &path, &read_key).await;
            assert!(
                matches!(status, StatusCode::FORBIDDEN | StatusCode::UNAUTHORIZED | StatusCode::UNPROCESSABLE_ENTITY),
                "{method} {template} with a read-only key answered {status}: {body}"
            );
            checked += 1;
        }
    }
    assert!(checked > 60, "{checked} calls");
    assert_eq!(snapshot(&app, &ana.access_token).await, before, "nothing of Ana's changed");

    // Ana signs out and revokes the key: every operation with either is refused at once.
    let res = app.post_json("/api/v1/auth/logout", &json!({"refresh_token": ana.refresh_token}), None).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let again: Value = app.login(&ana.email, &ana.password).await.json().await.unwrap();
    let fresh = again["access_token"].as_str().unwrap().to_owned();
    let res = app.client.delete(app.url(&format!("/api/v1/api-keys/{read_key_id}"))).bearer_auth(&fresh).send();
    assert!(res.await.unwrap().status().is_success());
    let mut refused = 0;
    for (method, template, secured) in &operations {
        if !secured || ["/api/v1/auth/", "/api/v1/ingest", "/api/v1/import"].iter().any(|p| template.starts_with(p)) {
            continue;
        }
        refused += 1;
        let path = fill(template, &fixtures).unwrap_or_else(|| template.clone());
        for (who, token) in [("a signed-out token", &ana.access_token), ("a revoked key", &read_key)] {
            let (status, body) = call(&app, method, &path, token).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {template} with {who}: {body}");
        }
    }
    assert!(refused > 50, "{refused} operations");
    assert_eq!(snapshot(&app, &fresh).await.len(), before.len());
}

/// A body the household's owner could send to each operation that takes one, so that a weaker
/// role's refusal is about the role and not about the body. An operation with a body and no
/// entry here fails the role test until someone writes one.
fn valid_body(method: &Method, template: &str) -> Option<Value> {
    let rule = json!({"name": "Racing", "device_kind": "collar", "kind": "above", "metric": "heart_rate",
        "value": 220, "severity": "major"});
    let fence = json!({"name": "Park", "kind": "circle", "center": {"lat": 52.1, "lon": 4.1}, "radius_m": 80});
    let contact = json!({"name": "Aunt", "role": "secondary", "phone": "+14155550177"});
    Some(match (method.as_str(), template) {
        ("PUT", "/api/v1/household/retention") => json!({"readings_days": 30, "rollups_days": 365}),
        ("PATCH", "/api/v1/household/members/{user_id}") => json!({"role": "member"}),
        ("PUT", "/api/v1/household/members/{user_id}/pets") => json!({"pet_ids": []}),
        ("POST", "/api/v1/household/invitations") => json!({"role": "vet"}),
        ("POST", "/api/v1/invitations/accept") => json!({"token": "inv_not-a-real-invitation"}),
        ("POST", "/api/v1/api-keys") => json!({"name": "Mine", "scope": "read"}),
        ("POST", "/api/v1/pets") => json!({"name": "Pip", "species": "cat"}),
        ("PATCH", "/api/v1/pets/{id}") => json!({"name": "Renamed"}),
        ("POST", "/api/v1/devices") => json!({"name": "Spare collar", "kind": "collar"}),
        ("PATCH", "/api/v1/devices/{id}") => json!({"name": "Renamed collar"}),
        ("POST", "/api/v1/pets/{id}/episodes/{episode_id}/feedback") => json!({"verdict": "confirmed"}),
        ("POST", "/api/v1/geofences") | ("PUT", "/api/v1/geofences/{id}") => fence,
        ("POST", "/api/v1/alarms/{id}/comments") => json!({"text": "on my way"}),
        ("POST", "/api/v1/alarms/{id}/assign") => json!({"user_id": null}),
        ("POST", "/api/v1/alarms/{id}/acknowledge" | "/api/v1/alarms/{id}/clear") => json!({}),
        ("POST", "/api/v1/alarm-rules" | "/api/v1/alarm-rules/preview" | "/api/v1/alarm-rules/{id}/preview")
        | ("PUT", "/api/v1/alarm-rules/{id}") => rule,
        ("POST", "/api/v1/contacts") | ("PUT", "/api/v1/contacts/{id}") => contact,
        ("PUT", "/api/v1/escalation") => {
            json!({"min_severity": "major", "message_after_secs": 0, "call_after_secs": 60,
            "next_contact_after_secs": 120, "repeat_after_secs": 900, "max_rounds": 2})
        }
        ("POST", "/api/v1/webhooks") | ("PUT", "/api/v1/webhooks/{id}") => {
            json!({"url": "https://hooks.example.com/mine"})
        }
        ("POST", "/api/v1/pets/{id}/records") => json!({"kind": "visit", "title": "Checkup", "date": "2025-02-01"}),
        ("PATCH", "/api/v1/records/{id}") => json!({"vet": "Dr. Who"}),
        ("POST", "/api/v1/reminders") => json!({"title": "Brush", "at": "2031-01-01T09:00"}),
        ("PATCH", "/api/v1/reminders/{id}") => json!({"title": "Brush teeth"}),
        ("POST", "/api/v1/reminders/{id}/complete" | "/api/v1/reminders/{id}/skip") => json!({}),
        ("POST", "/api/v1/reminders/{id}/snooze") => json!({"minutes": 10}),
        ("POST", "/api/v1/calendar/feed") => json!({}),
        // The file is text/calendar; the role is refused before the body is read.
        ("POST", "/api/v1/calendar/import") => json!({}),
        ("PUT", "/api/v1/household/timezone" | "/api/v1/me/timezone") => json!({"timezone": "Europe/Paris"}),
        ("POST", "/api/v1/pets/{id}/lost") => json!({"show_location": false}),
        // A wrong password: the role is not what refuses it.
        ("POST", "/api/v1/me/delete") => json!({"password": "not the password at all"}),
        ("POST", "/api/v1/lost/{token}/found") => json!({"message": "at the park"}),
        ("POST", "/api/v1/billing/upgrade") => {
            json!({"tier": "premium", "billing_period": "monthly", "payment_method_id": "pm_card_visa"})
        }
        ("POST", "/api/v1/billing/cancel") => json!({"at_period_end": true}),
        ("POST", "/api/v1/uploads") => {
            json!({"filename": "x.pdf", "content_type": "application/pdf", "purpose": "health_record_attachment"})
        }
        ("POST", "/api/v1/life-events" | "/api/v1/pets/{id}/life-events") => {
            json!({"event_type": "walk", "title": "Walk", "event_time": "2026-01-02T08:00:00Z"})
        }
        ("POST", "/api/v1/life-events/batch") => {
            json!({"events": [{"event_type": "sleep", "title": "Night", "event_time": "2026-01-02T08:00:00Z"}]})
        }
        ("PATCH", "/api/v1/life-events/{id}") => json!({"title": "Better day"}),
        ("POST", "/api/v1/insights/generate") => json!({"time_range_days": 7}),
        ("POST", "/api/v1/catalog/query/parse" | "/api/v1/catalog/query") => json!({"query": "dogs under 2 years old"}),
        ("POST", "/api/v1/catalog") => json!({"name": "Pip", "species": "cat"}),
        ("PATCH", "/api/v1/catalog/{id}") => json!({"price": 10}),
        ("PUT", "/api/v1/catalog/settings") => json!({"public": false}),
        ("POST", "/api/v1/uploads/confirm") => {
            json!({"file_key": "uploads/x/x.pdf", "purpose": "health_record_attachment"})
        }
        _ => Value::Null,
    })
}

/// What a sitter may change: care, as `Role::Sitter` allows (logging feedback on an episode,
/// taking care of an alarm). Kept here so a new route a sitter can use is a decision someone
/// writes down.
const SITTER_MAY: &[(&str, &str)] = &[
    ("POST", "/api/v1/alarms/{id}/acknowledge"),
    ("POST", "/api/v1/alarms/{id}/assign"),
    ("POST", "/api/v1/alarms/{id}/clear"),
    ("POST", "/api/v1/alarms/{id}/comments"),
    ("POST", "/api/v1/pets/{id}/episodes/{episode_id}/feedback"),
    ("POST", "/api/v1/reminders/{id}/complete"),
    ("POST", "/api/v1/reminders/{id}/skip"),
    ("POST", "/api/v1/reminders/{id}/snooze"),
    ("POST", "/api/v1/pets/{id}/lost"),
    ("DELETE", "/api/v1/pets/{id}/lost"),
    ("POST", "/api/v1/pets/{id}/life-events"),
    ("DELETE", "/api/v1/pets/{id}/life-events/{event_id}"),
];

/// What anyone may do for themselves, whatever their role in this household: accept an
/// invitation to another one, make an API key of their own (capped by their role, and gone
/// with their membership), set their own time zone and delete their own account.
const ANYONE_MAY: &[(&str, &str)] = &[
    ("POST", "/api/v1/invitations/accept"),
    ("POST", "/api/v1/api-keys"),
    ("PUT", "/api/v1/me/timezone"),
    ("POST", "/api/v1/me/delete"),
    // Their own life log.
    ("POST", "/api/v1/life-events"),
    ("POST", "/api/v1/life-events/batch"),
    ("PATCH", "/api/v1/life-events/{id}"),
    ("DELETE", "/api/v1/life-events/{id}"),
    ("POST", "/api/v1/insights/generate"),
    ("POST", "/api/v1/insights/{id}/read"),
    ("POST", "/api/v1/insights/{id}/dismiss"),
    ("POST", "/api/v1/predictions/retrain"),
    // Reading how a sentence is understood, or what it finds, changes nothing.
    ("POST", "/api/v1/catalog/query/parse"),
    ("POST", "/api/v1/catalog/query"),
];

#[tokio::test]
async fn a_sitter_and_a_vet_may_change_only_what_their_role_allows() {
    let app = spawn_app().await;
    let ana = app.register("Ana").await;
    let fixtures = fixtures(&app, &ana).await;
    let until = (time::OffsetDateTime::now_utc() + time::Duration::days(7))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let (sitter, _) = crate::revocation::join(&app, &ana, "Sid", "sitter", Some(&until)).await;
    let (vet, _) = crate::revocation::join(&app, &ana, "Vera", "vet", None).await;
    let operations = operations(&app).await;
    let doc: Value = app.get("/api/v1/openapi.json", None).await.json().await.unwrap();

    let (mut refused, mut wrong) = (0, Vec::new());
    for (method, template, secured) in &operations {
        let public = ["/api/v1/auth/", "/api/v1/ingest", "/api/v1/import"].iter().any(|p| template.starts_with(p));
        if *method == Method::GET || public || !secured {
            continue;
        }
        let takes_body = !doc["paths"][template][method.as_str().to_lowercase()]["requestBody"].is_null();
        let body = if takes_body { valid_body(method, template) } else { None };
        assert_ne!(body, Some(Value::Null), "{method} {template}: the matrix needs a valid body for it");
        let path = fill(template, &fixtures).unwrap_or_else(|| template.clone());
        let key = (method.as_str(), template.as_str());
        for (role, who, may) in [("sitter", &sitter, SITTER_MAY), ("vet", &vet, &[][..])] {
            if may.contains(&key) || ANYONE_MAY.contains(&key) {
                continue;
            }
            let mut req = app.client.request(method.clone(), app.url(&path)).bearer_auth(&who.access_token);
            if let Some(body) = &body {
                req = req.json(body);
            }
            let res = req.send().await.unwrap();
            let status = res.status();
            let text = res.text().await.unwrap_or_default();
            if status != StatusCode::FORBIDDEN {
                wrong.push(format!("{method} {template} as a {role}: {status} {text:.100}"));
            }
            refused += 1;
        }
    }
    assert!(wrong.is_empty(), "not refused:\n{}", wrong.join("\n"));
    assert!(refused > 40, "{refused} refusals");

    // What the sitter may do, the sitter can do (and the vet cannot), on the household's alarm.
    let alarm = &fixtures.ids.iter().find(|(k, _)| *k == "alarms").unwrap().1;
    for (who, expected) in [(&vet, StatusCode::FORBIDDEN), (&sitter, StatusCode::OK)] {
        let path = format!("/api/v1/alarms/{alarm}/acknowledge");
        let res = app.post_json(&path, &json!({}), Some(&who.access_token)).await;
        assert_eq!(res.status(), expected);
        let path = format!("/api/v1/alarms/{alarm}/comments");
        let res = app.post_json(&path, &json!({"text": "seen"}), Some(&who.access_token)).await;
        assert_eq!(res.status(), if expected == StatusCode::OK { StatusCode::CREATED } else { expected });
    }
}
