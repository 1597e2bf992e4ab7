//! The AURORA_LIFE seed's contract under `/compat/aurora`: upstream's own integration tests and
//! load-test script as written, FastAPI's error shapes (401, 403, 404, 422 in field order,
//! `json_invalid` with its offset), both prefixes with and without a trailing slash, accounts
//! (registration, sign-in by email, username, form or JSON, the lockout, MFA, refresh rotation
//! and reuse, sign-out, the password change), events and batches all or nothing, the worked
//! examples of the predictions and patterns, insights, the rate limits' 429, the WebSocket
//! (messages, live events, 1008 closes, revocation), the health routes, what is not served, and
//! that what is made there is the same in `/api/v1`.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tokio_tungstenite::tungstenite::Message;

use crate::compat_petmgmt::call;
use crate::harness::{TestApp, spawn_app};

const V1: &str = "/compat/aurora/api/v1";
const API: &str = "/compat/aurora/api";
const PASSWORD: &str = "correct horse 42 battery";
const ZERO: &str = "00000000-0000-0000-0000-000000000000";

async fn get(app: &TestApp, path: &str, token: &str) -> (StatusCode, Value) {
    let (s, _, v) = call(app, Method::GET, path, Some(token), None).await;
    (s, v)
}

async fn post(app: &TestApp, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
    let (s, _, v) = call(app, Method::POST, path, Some(token), Some(body)).await;
    (s, v)
}

/// A POST of text as written.
async fn post_text(app: &TestApp, path: &str, token: Option<&str>, text: &str) -> (StatusCode, Value) {
    let mut req = app.client.post(app.url(path)).header("content-type", "application/json").body(text.to_owned());
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let res = req.send().await.expect("request");
    (res.status(), res.json().await.unwrap_or(Value::Null))
}

fn ago(hours: i64) -> String {
    (OffsetDateTime::now_utc() - time::Duration::hours(hours)).format(&Rfc3339).unwrap()
}

struct Person {
    id: String,
    email: String,
    username: String,
    access: String,
    refresh: String,
}

fn unique(name: &str) -> String {
    format!("{}_{}", name.to_lowercase(), &uuid::Uuid::new_v4().simple().to_string()[..8])
}

/// Registers through the profile, as upstream's tests do.
async fn signup(app: &TestApp, name: &str) -> Person {
    let username = unique(name);
    let email = format!("{username}@example.org");
    let body = json!({"email": email, "username": username, "password": PASSWORD});
    let (status, _, answer) = call(app, Method::POST, &format!("{API}/auth/register"), None, Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    Person {
        id: answer["user"]["id"].as_str().expect("user id").to_owned(),
        email,
        username,
        access: answer["access_token"].as_str().expect("access token").to_owned(),
        refresh: answer["refresh_token"].as_str().expect("refresh token").to_owned(),
    }
}

/// The `type` and `loc` of each item of a 422.
fn problems(body: &Value) -> Vec<(String, Value)> {
    body["detail"]
        .as_array()
        .map(|items| items.iter().map(|i| (i["type"].as_str().unwrap_or("").to_owned(), i["loc"].clone())).collect())
        .unwrap_or_default()
}

fn event(kind: &str, title: &str, hours_ago: i64) -> Value {
    json!({"event_type": kind, "title": title, "event_time": ago(hours_ago)})
}

#[tokio::test]
async fn upstreams_own_tests_pass_as_written() {
    let app = spawn_app().await;
    // Registration and sign-in, JSON `{username, password}` as the tests send it.
    let username = unique("tester");
    let register =
        json!({"email": format!("{username}@example.com"), "username": username, "password": "testpassword123"});
    let (status, _, _) = call(&app, Method::POST, &format!("{API}/auth/register"), None, Some(register)).await;
    assert_eq!(status, StatusCode::CREATED);
    let login = json!({"username": username, "password": "testpassword123"});
    let (status, _, signed_in) = call(&app, Method::POST, &format!("{API}/auth/login"), None, Some(login)).await;
    assert_eq!(status, StatusCode::OK, "{signed_in}");
    let token = signed_in["access_token"].as_str().expect("access_token").to_owned();
    let t = token.as_str();

    // Events: made, echoed, refused without a token or with an empty type.
    let body = json!({"event_type": "exercise", "title": "Morning run", "event_time": ago(2),
        "event_data": {"duration_hours": 0.5, "distance_km": 5}, "tags": ["running", "morning"]});
    let (status, made) = post(&app, &format!("{V1}/events"), t, body).await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    assert!(made["id"].is_string());
    assert_eq!((made["event_type"].as_str(), made["title"].as_str()), (Some("exercise"), Some("Morning run")));
    assert_eq!(made["event_data"]["duration_hours"], 0.5);
    assert_eq!(made["tags"], json!(["running", "morning"]));
    let id = made["id"].as_str().unwrap().to_owned();
    let (status, _, _) = call(&app, Method::POST, &format!("{V1}/events"), None, Some(event("sleep", "x", 1))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = post(&app, &format!("{V1}/events"), t, json!({"event_type": "", "title": "Test"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    // Pages and the type filter.
    post(&app, &format!("{V1}/events"), t, event("work", "Desk", 3)).await;
    let (status, page) = get(&app, &format!("{V1}/events?page=1&page_size=10"), t).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page["items"].is_array() && page["total"].is_number() && page["page"].is_number(), "{page}");
    assert!(page["has_next"].is_boolean());
    let (_, exercise) = get(&app, &format!("{V1}/events?event_type=exercise"), t).await;
    let types: Vec<&str> =
        exercise["items"].as_array().unwrap().iter().filter_map(|e| e["event_type"].as_str()).collect();
    assert_eq!(types, ["exercise"]);

    // One event: read, the zero UUID, changed, deleted.
    let (status, one) = get(&app, &format!("{V1}/events/{id}"), t).await;
    assert_eq!(
        (status, one["id"].as_str(), one["event_type"].as_str()),
        (StatusCode::OK, Some(id.as_str()), Some("exercise"))
    );
    assert_eq!(get(&app, &format!("{V1}/events/{ZERO}"), t).await.0, StatusCode::NOT_FOUND);
    let change = json!({"title": "Evening run", "event_data": {"duration_hours": 1.0}});
    let (status, _, changed) = call(&app, Method::PUT, &format!("{V1}/events/{id}"), Some(t), Some(change)).await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert_eq!(
        (changed["title"].as_str(), changed["event_data"]["duration_hours"].as_f64()),
        (Some("Evening run"), Some(1.0))
    );
    let (status, _, _) = call(&app, Method::DELETE, &format!("{V1}/events/{id}"), Some(t), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(get(&app, &format!("{V1}/events/{id}"), t).await.0, StatusCode::NOT_FOUND);

    // A batch of five.
    let five: Vec<Value> = (0..5).map(|i| event("activity", &format!("Walk {i}"), 4 + i)).collect();
    let (status, batch) = post(&app, &format!("{V1}/events/batch"), t, json!({"events": five})).await;
    assert_eq!(status, StatusCode::CREATED, "{batch}");
    let ids: Vec<&str> = batch.as_array().unwrap().iter().filter_map(|e| e["id"].as_str()).collect();
    assert_eq!(ids.len(), 5);

    // Predictions.
    let (status, energy) = get(&app, &format!("{V1}/predictions/energy"), t).await;
    assert_eq!(status, StatusCode::OK, "{energy}");
    assert!(energy["prediction"].as_f64().is_some_and(|p| (0.0..=10.0).contains(&p)), "{energy}");
    assert!(energy["confidence"].is_number());
    let (status, mood) = get(&app, &format!("{V1}/predictions/mood"), t).await;
    assert_eq!(status, StatusCode::OK, "{mood}");
    let classes = ["very_negative", "negative", "neutral", "positive", "very_positive"];
    assert!(classes.contains(&mood["prediction_class"].as_str().unwrap_or("")), "{mood}");

    // Insights after ten events.
    for i in 0..10 {
        let kind = ["sleep", "exercise", "work", "emotion", "social"][i % 5];
        let mut body = event(kind, "Day", 5 + i as i64);
        body["duration_minutes"] = json!(420);
        body["event_data"] = json!({"type": "happy"});
        assert_eq!(post(&app, &format!("{V1}/events"), t, body).await.0, StatusCode::CREATED);
    }
    let ask = json!({"context": "health", "time_range_days": 7});
    let (status, insights) = post(&app, &format!("{V1}/insights/generate"), t, ask).await;
    assert_eq!(status, StatusCode::CREATED, "{insights}");
    let list = insights.as_array().expect("a list");
    assert!(!list.is_empty());
    assert!(list.iter().all(|i| i["title"].is_string() && i["content"].is_string()), "{insights}");
    let (status, page) = get(&app, &format!("{V1}/insights"), t).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page["items"].is_array() && page["total"].is_number(), "{page}");
    let first = list[0]["id"].as_str().unwrap();
    let (status, _, read) = call(&app, Method::PATCH, &format!("{V1}/insights/{first}/read"), Some(t), None).await;
    assert_eq!((status, read["is_read"].as_bool()), (StatusCode::OK, Some(true)), "{read}");

    // Health.
    let (_, health) = get(&app, "/compat/aurora/health", t).await;
    assert_eq!(health["status"], "healthy");
    let (_, ready) = get(&app, "/compat/aurora/health/ready", t).await;
    assert!(ready.get("database").is_some() && ready.get("redis").is_some(), "{ready}");
    let (_, detailed) = get(&app, "/compat/aurora/health/detailed", t).await;
    assert!(["database", "redis", "system"].iter().all(|k| detailed.get(k).is_some()), "{detailed}");

    // The user and the timeline.
    assert_eq!(get(&app, &format!("{V1}/users/me"), t).await.0, StatusCode::OK);
    let (status, _, _) =
        call(&app, Method::PUT, &format!("{V1}/users/me"), Some(t), Some(json!({"full_name": "Test User"}))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(get(&app, &format!("{V1}/timeline?days=30"), t).await.0, StatusCode::OK);
}

#[tokio::test]
async fn errors_are_in_fastapis_shapes() {
    let app = spawn_app().await;
    let ana = signup(&app, "Ana").await;
    let bo = signup(&app, "Bo").await;

    let (status, headers, body) = call(&app, Method::GET, &format!("{V1}/events"), None, None).await;
    assert_eq!((status, body), (StatusCode::UNAUTHORIZED, json!({"detail": "Not authenticated"})));
    assert_eq!(headers["www-authenticate"], "Bearer");
    let (status, headers, body) = call(&app, Method::GET, &format!("{V1}/events"), Some("not-a-token"), None).await;
    assert_eq!((status, body), (StatusCode::UNAUTHORIZED, json!({"detail": "Could not validate credentials"})));
    assert_eq!(headers["www-authenticate"], "Bearer");

    // `user_id` is accepted everywhere and must be the caller's.
    let forbidden = json!({"detail": "Not allowed to access another user's data"});
    assert_eq!(
        get(&app, &format!("{V1}/events?user_id={}", bo.id), &ana.access).await,
        (StatusCode::FORBIDDEN, forbidden.clone())
    );
    assert_eq!(get(&app, &format!("{V1}/events?user_id={}", ana.id), &ana.access).await.0, StatusCode::OK);
    assert_eq!(
        get(&app, &format!("{API}/ai/predict/mood/{}", bo.id), &ana.access).await,
        (StatusCode::FORBIDDEN, forbidden)
    );

    // Unknown, malformed or another person's: 404, never 403 or 422.
    let (_, theirs) = post(&app, &format!("{V1}/events"), &bo.access, event("work", "Bo's", 1)).await;
    let not_found = json!({"detail": "Event not found"});
    for id in [ZERO, "not-a-uuid", theirs["id"].as_str().unwrap()] {
        assert_eq!(
            get(&app, &format!("{V1}/events/{id}"), &ana.access).await,
            (StatusCode::NOT_FOUND, not_found.clone()),
            "{id}"
        );
    }
    assert_eq!(
        get(&app, &format!("{V1}/insights/{ZERO}"), &ana.access).await,
        (StatusCode::NOT_FOUND, json!({"detail": "Insight not found"}))
    );
    assert_eq!(
        get(&app, &format!("{V1}/nothing/here"), &ana.access).await,
        (StatusCode::NOT_FOUND, json!({"detail": "Not Found"}))
    );
    let (status, _, body) = call(&app, Method::DELETE, &format!("{V1}/timeline"), Some(&ana.access), None).await;
    assert_eq!((status, body), (StatusCode::METHOD_NOT_ALLOWED, json!({"detail": "Method Not Allowed"})));

    // Bad JSON: where it went wrong, in bytes.
    let (status, body) =
        post_text(&app, &format!("{V1}/events"), Some(&ana.access), r#"{"event_type": "sleep",}"#).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problems(&body), [("json_invalid".to_owned(), json!(["body", 23]))]);
    assert_eq!(body["detail"][0]["msg"], "JSON decode error");

    // Every problem, in field order, each with its input; unknown fields ignored.
    let bad = r#"{"title": 5, "event_type": "Bad Type!", "tags": ["", "ok"], "duration_minutes": 20000, "mood": "?"}"#;
    let (status, body) = post_text(&app, &format!("{V1}/events"), Some(&ana.access), bad).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        problems(&body),
        [
            ("string_pattern_mismatch".to_owned(), json!(["body", "event_type"])),
            ("string_type".to_owned(), json!(["body", "title"])),
            ("missing".to_owned(), json!(["body", "event_time"])),
            ("less_than_equal".to_owned(), json!(["body", "duration_minutes"])),
            ("string_too_short".to_owned(), json!(["body", "tags", 0])),
        ]
    );
    let items = body["detail"].as_array().unwrap();
    assert_eq!(items[0]["msg"], "String should match pattern '^[a-z][a-z0-9_]{0,49}$'");
    assert_eq!(items[0]["input"], "Bad Type!");
    assert_eq!(items[2]["msg"], "Field required");
    assert_eq!(items[3]["msg"], "Input should be less than or equal to 10080");
    assert_eq!(items[4]["msg"], "String should have at least 1 character");
    let empty = json!({"event_type": "", "title": "Test"});
    let (_, body) = post(&app, &format!("{V1}/events"), &ana.access, empty).await;
    assert_eq!(body["detail"][0]["type"], "string_too_short");
    assert_eq!(body["detail"][0]["loc"], json!(["body", "event_type"]));
    let late = json!({"event_type": "sleep", "title": "x", "event_time": "2099-01-01T00:00:00"});
    let (_, body) = post(&app, &format!("{V1}/events"), &ana.access, late).await;
    assert_eq!(body["detail"][0]["type"], "value_error");
    assert_eq!(body["detail"][0]["msg"], "Value error, event_time must not be more than 24 hours in the future");
    let (_, body) = get(&app, &format!("{V1}/events?page=0&page_size=abc"), &ana.access).await;
    assert_eq!(
        problems(&body),
        [
            ("greater_than_equal".to_owned(), json!(["query", "page"])),
            ("int_parsing".to_owned(), json!(["query", "page_size"])),
        ]
    );
    // Nothing of any of this was kept.
    let (_, page) = get(&app, &format!("{V1}/events"), &ana.access).await;
    assert_eq!(page["total"], 0, "{page}");
}

#[tokio::test]
async fn both_prefixes_answer_with_and_without_a_trailing_slash_and_never_redirect() {
    let app = spawn_app().await;
    let ana = signup(&app, "Ana").await;
    for prefix in [V1, API] {
        for slash in ["", "/"] {
            let (status, made) =
                post(&app, &format!("{prefix}/events{slash}"), &ana.access, event("rest", prefix, 1)).await;
            assert_eq!(status, StatusCode::CREATED, "{prefix}/events{slash}: {made}");
            let (status, page) = get(&app, &format!("{prefix}/events{slash}?page_size=1"), &ana.access).await;
            assert_eq!((status, page["page_size"].as_u64()), (StatusCode::OK, Some(1)), "{prefix}{slash}");
            let (status, me) = get(&app, &format!("{prefix}/users/me{slash}"), &ana.access).await;
            assert_eq!((status, me["id"].as_str()), (StatusCode::OK, Some(ana.id.as_str())));
        }
    }
    let (_, page) = get(&app, &format!("{V1}/events"), &ana.access).await;
    assert_eq!(page["total"], 4);
    let (status, timeline) = get(&app, &format!("{API}/timeline/7d"), &ana.access).await;
    assert_eq!(
        (status, timeline["period_days"].as_u64(), timeline["total_events"].as_u64()),
        (StatusCode::OK, Some(7), Some(4))
    );
    assert_eq!(get(&app, &format!("{API}/timeline/7x"), &ana.access).await.0, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_batch_is_all_or_nothing_and_names_each_bad_field() {
    let app = spawn_app().await;
    let ana = signup(&app, "Ana").await;
    let path = format!("{V1}/events/batch");
    let events = json!([
        event("sleep", "Night", 10),
        {"event_type": "walk", "title": "", "event_time": ago(3)},
        {"event_type": "meal", "title": "Lunch", "event_time": "soon", "duration_minutes": -5},
        "not an event",
    ]);
    let (status, body) = post(&app, &path, &ana.access, json!({"events": events})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        problems(&body),
        [
            ("string_too_short".to_owned(), json!(["body", "events", 1, "title"])),
            ("datetime_parsing".to_owned(), json!(["body", "events", 2, "event_time"])),
            ("greater_than_equal".to_owned(), json!(["body", "events", 2, "duration_minutes"])),
            ("dict_type".to_owned(), json!(["body", "events", 3])),
        ]
    );
    assert_eq!(get(&app, &format!("{V1}/events"), &ana.access).await.1["total"], 0, "nothing was kept");

    let (_, body) = post(&app, &path, &ana.access, json!({"events": []})).await;
    assert_eq!(problems(&body), [("too_short".to_owned(), json!(["body", "events"]))]);
    assert_eq!(body["detail"][0]["msg"], "List should have at least 1 item after validation, not 0");
    let many: Vec<Value> = (0..101).map(|i| event("walk", "w", i % 20 + 1)).collect();
    let (_, body) = post(&app, &path, &ana.access, json!({"events": many})).await;
    assert_eq!(problems(&body), [("too_long".to_owned(), json!(["body", "events"]))]);
    let (_, body) = post(&app, &path, &ana.access, json!({})).await;
    assert_eq!(problems(&body), [("missing".to_owned(), json!(["body", "events"]))]);

    let two = json!({"events": [event("sleep", "First", 5), event("work", "Second", 4)]});
    let (status, kept) = post(&app, &path, &ana.access, two).await;
    assert_eq!(status, StatusCode::CREATED);
    let titles: Vec<&str> = kept.as_array().unwrap().iter().filter_map(|e| e["title"].as_str()).collect();
    assert_eq!(titles, ["First", "Second"], "in input order");
}

#[tokio::test]
async fn accounts_register_sign_in_refresh_and_sign_out_through_pettys_own() {
    let app = spawn_app().await;
    let ana = signup(&app, "Ana").await;
    let (_, me) = get(&app, &format!("{V1}/auth/me"), &ana.access).await;
    assert_eq!(
        (me["email"].as_str(), me["username"].as_str()),
        (Some(ana.email.as_str()), Some(ana.username.as_str()))
    );
    assert_eq!(
        (me["timezone"].as_str(), me["role"].as_str(), me["is_active"].as_bool()),
        (Some("UTC"), Some("user"), Some(true))
    );
    assert_eq!(me["profile_data"], json!({"goals": [], "values": [], "preferences": {}, "life_state": {}}));
    assert_eq!(me["health_score"], 0.5, "no data counts half: {me}");

    // Taken email or username (in any case) → 400; the contract's rules → 422 in order.
    let taken = json!({"detail": "User with this email or username already exists"});
    for body in [
        json!({"email": ana.email.to_uppercase(), "username": unique("other"), "password": PASSWORD}),
        json!({"email": "new@example.org", "username": ana.username.to_uppercase(), "password": PASSWORD}),
    ] {
        let (status, _, answer) = call(&app, Method::POST, &format!("{V1}/auth/register"), None, Some(body)).await;
        assert_eq!((status, answer), (StatusCode::BAD_REQUEST, taken.clone()));
    }
    let bad = json!({"email": "nope", "username": "a!", "password": "short", "timezone": "Mars/Base"});
    let (status, _, answer) = call(&app, Method::POST, &format!("{V1}/auth/register"), None, Some(bad)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let kinds: Vec<(String, Value)> = problems(&answer);
    assert_eq!(
        kinds,
        [
            ("value_error".to_owned(), json!(["body", "email"])),
            ("string_too_short".to_owned(), json!(["body", "username"])),
            ("string_too_short".to_owned(), json!(["body", "password"])),
            ("value_error".to_owned(), json!(["body", "timezone"])),
        ]
    );
    // Petty's own rule is stricter than the contract's 8 characters.
    let weak = json!({"email": "weak@example.org", "username": "weakling", "password": "abcdefgh1"});
    let (status, _, answer) = call(&app, Method::POST, &format!("{V1}/auth/register"), None, Some(weak)).await;
    assert_eq!((status, answer["detail"][0]["type"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("value_error")));
    // Upstream's own create route answers the user alone.
    let made = json!({"email": "carla@example.org", "username": "carla", "password": PASSWORD, "full_name": "Carla", "timezone": "Europe/Warsaw"});
    let (status, _, user) = call(&app, Method::POST, &format!("{API}/users"), None, Some(made)).await;
    assert_eq!(
        (status, user["username"].as_str(), user["timezone"].as_str()),
        (StatusCode::CREATED, Some("carla"), Some("Europe/Warsaw"))
    );
    assert!(user.get("access_token").is_none());

    // Sign-in by email or username, a form (the web client) or JSON.
    let login = format!("{V1}/auth/login");
    for who in [ana.email.clone(), ana.username.to_uppercase()] {
        let (status, _, answer) =
            call(&app, Method::POST, &login, None, Some(json!({"username": who, "password": PASSWORD}))).await;
        assert_eq!((status, answer["token_type"].as_str()), (StatusCode::OK, Some("bearer")), "{who}: {answer}");
        assert_eq!(answer["expires_in"], 900);
        assert_eq!(answer["user"]["id"], ana.id.as_str());
    }
    let res = app
        .client
        .post(app.url(&login))
        .form(&[("username", ana.username.as_str()), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let (status, _, answer) = call(
        &app,
        Method::POST,
        &format!("{V1}/auth/login/json"),
        None,
        Some(json!({"email": ana.email, "password": PASSWORD})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let (status, _, answer) =
        call(&app, Method::POST, &login, None, Some(json!({"username": ana.username, "password": "wrong password"})))
            .await;
    assert_eq!((status, answer), (StatusCode::UNAUTHORIZED, json!({"detail": "Incorrect email/username or password"})));
    let (status, _, answer) = call(
        &app,
        Method::POST,
        &format!("{V1}/auth/login/json"),
        None,
        Some(json!({"email": ana.email, "password": "wrong password"})),
    )
    .await;
    assert_eq!((status, answer), (StatusCode::UNAUTHORIZED, json!({"detail": "Invalid credentials"})));

    // Petty's tokens: the canonical sign-in's work here, the profile's there.
    let res = app.login(&ana.email, PASSWORD).await;
    let canonical: Value = res.json().await.unwrap();
    let (status, me) = get(&app, &format!("{V1}/users/me"), canonical["access_token"].as_str().unwrap()).await;
    assert_eq!((status, me["id"].as_str()), (StatusCode::OK, Some(ana.id.as_str())));
    assert_eq!(app.get("/api/v1/life-events", Some(&ana.access)).await.status(), StatusCode::OK);

    // Refresh rotates; a spent token revokes its whole family, the newest included.
    let refresh = format!("{V1}/auth/refresh");
    let (status, _, first) =
        call(&app, Method::POST, &refresh, None, Some(json!({"refresh_token": ana.refresh}))).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    let newest = first["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(newest, ana.refresh);
    let (status, _, reused) =
        call(&app, Method::POST, &refresh, None, Some(json!({"refresh_token": ana.refresh}))).await;
    assert_eq!((status, reused), (StatusCode::UNAUTHORIZED, json!({"detail": "Invalid refresh token"})));
    let (status, _, _) = call(&app, Method::POST, &refresh, None, Some(json!({"refresh_token": newest}))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "the family is revoked");
    assert_eq!(
        get(&app, &format!("{V1}/users/me"), first["access_token"].as_str().unwrap()).await.0,
        StatusCode::UNAUTHORIZED
    );

    // Sign-out of one sign-in, then of all of them.
    let bo = signup(&app, "Bo").await;
    let (_, _, second) =
        call(&app, Method::POST, &login, None, Some(json!({"username": bo.username, "password": PASSWORD}))).await;
    let out = json!({"message": "Successfully logged out"});
    let (status, _, answer) =
        call(&app, Method::POST, &format!("{V1}/auth/logout"), None, Some(json!({"refresh_token": bo.refresh}))).await;
    assert_eq!((status, answer), (StatusCode::OK, out.clone()));
    assert_eq!(get(&app, &format!("{V1}/users/me"), &bo.access).await.0, StatusCode::UNAUTHORIZED);
    // The other sign-in stands (its access token is renewed, as after any sign-out in Petty).
    let (status, _, third) =
        call(&app, Method::POST, &refresh, None, Some(json!({"refresh_token": second["refresh_token"]}))).await;
    assert_eq!(status, StatusCode::OK, "{third}");
    let other = third["access_token"].as_str().unwrap();
    let (status, _, answer) = call(&app, Method::POST, &format!("{V1}/auth/logout"), Some(other), None).await;
    assert_eq!((status, answer), (StatusCode::OK, out));
    assert_eq!(get(&app, &format!("{V1}/users/me"), other).await.0, StatusCode::UNAUTHORIZED);
    let (status, _, _) =
        call(&app, Method::POST, &refresh, None, Some(json!({"refresh_token": third["refresh_token"]}))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "every sign-in ended");

    // The password change: a wrong current one is refused; the right one ends every sign-in and
    // answers new tokens.
    let carla = signup(&app, "Carla").await;
    let change = format!("{V1}/auth/change-password");
    let wrong = json!({"current_password": "not it at all", "new_password": "another horse 43 battery"});
    let (status, _, answer) = call(&app, Method::POST, &change, Some(&carla.access), Some(wrong)).await;
    assert_eq!((status, answer), (StatusCode::BAD_REQUEST, json!({"detail": "Current password is incorrect"})));
    let right = json!({"current_password": PASSWORD, "new_password": "another horse 43 battery"});
    let (status, _, answer) = call(&app, Method::POST, &change, Some(&carla.access), Some(right)).await;
    assert_eq!(
        (status, answer["message"].as_str()),
        (StatusCode::OK, Some("Password changed successfully")),
        "{answer}"
    );
    assert_eq!(get(&app, &format!("{V1}/users/me"), &carla.access).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(get(&app, &format!("{V1}/users/me"), answer["access_token"].as_str().unwrap()).await.0, StatusCode::OK);
}

#[tokio::test]
async fn five_failed_sign_ins_lock_a_name_alike_whether_or_not_it_exists() {
    let app = spawn_app().await;
    let ana = signup(&app, "Ana").await;
    let login = format!("{V1}/auth/login");
    for who in [ana.username.as_str(), "nobody_here"] {
        for _ in 0..5 {
            let (status, _, _) =
                call(&app, Method::POST, &login, None, Some(json!({"username": who, "password": "wrong one!"}))).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{who}");
        }
        let (status, headers, answer) =
            call(&app, Method::POST, &login, None, Some(json!({"username": who, "password": PASSWORD}))).await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{who}: even the right password");
        let wait: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
        assert!((1..=900).contains(&wait), "{wait}");
        assert_eq!(answer, json!({"detail": format!("Too many failed login attempts. Try again in {wait} seconds.")}));
    }
    // Locked by its email too.
    let (status, _, _) =
        call(&app, Method::POST, &login, None, Some(json!({"email": ana.email, "password": PASSWORD}))).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn with_mfa_on_signing_in_needs_the_otp() {
    let app = spawn_app().await;
    let ana = signup(&app, "Ana").await;
    let res = app.post_json("/api/v1/auth/mfa/setup", &json!({}), Some(&ana.access)).await;
    let setup: Value = res.json().await.unwrap();
    let secret = petty_core::mfa::secret_from_base32(setup["secret"].as_str().unwrap()).unwrap();
    let now = u64::try_from(OffsetDateTime::now_utc().unix_timestamp()).unwrap();
    let code = petty_core::mfa::code_at(&secret, now);
    let res = app.post_json("/api/v1/auth/mfa/verify", &json!({"code": code}), Some(&ana.access)).await;
    assert_eq!(res.status(), StatusCode::OK);

    let login = format!("{V1}/auth/login");
    let (status, _, answer) =
        call(&app, Method::POST, &login, None, Some(json!({"username": ana.username, "password": PASSWORD}))).await;
    assert_eq!((status, answer), (StatusCode::UNAUTHORIZED, json!({"detail": "MFA code required"})));
    let accepted: Vec<String> =
        [now - 30, now, now + 30, now + 60].iter().map(|t| petty_core::mfa::code_at(&secret, *t)).collect();
    let wrong =
        ["000000", "111111", "222222", "333333"].into_iter().find(|c| !accepted.iter().any(|a| a == c)).unwrap();
    let (status, _, answer) = call(
        &app,
        Method::POST,
        &login,
        None,
        Some(json!({"username": ana.username, "password": PASSWORD, "otp": wrong})),
    )
    .await;
    assert_eq!((status, answer), (StatusCode::UNAUTHORIZED, json!({"detail": "Invalid MFA code"})));
    let next = petty_core::mfa::code_at(&secret, now + 30);
    let form = [("username", ana.username.as_str()), ("password", PASSWORD), ("otp", next.as_str())];
    let res = app.client.post(app.url(&login)).form(&form).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
}

#[tokio::test]
async fn the_101st_request_in_a_minute_is_refused_with_the_contracts_body_and_headers() {
    let app = spawn_app().await;
    let ana = signup(&app, "Ana").await;
    let path = format!("{V1}/events");
    for i in 0..100 {
        let (status, headers, body) =
            call(&app, Method::POST, &path, Some(&ana.access), Some(event("walk", "w", 1))).await;
        assert_eq!(status, StatusCode::CREATED, "request {i}: {body}");
        assert_eq!(headers["x-ratelimit-limit"], "100");
        assert_eq!(headers["x-ratelimit-remaining"].to_str().unwrap(), (99 - i).to_string());
    }
    let (status, headers, body) = call(&app, Method::POST, &path, Some(&ana.access), Some(event("walk", "w", 1))).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    assert_eq!(
        body,
        json!({"detail": {"error": "Rate limit exceeded", "message": "Too many requests. Limit: 100 requests per minute.", "retry_after": wait}})
    );
    assert_eq!(
        (headers["x-ratelimit-limit"].to_str().unwrap(), headers["x-ratelimit-remaining"].to_str().unwrap()),
        ("100", "0")
    );
    let reset: u64 = headers["x-ratelimit-reset"].to_str().unwrap().parse().unwrap();
    assert!(reset > u64::try_from(OffsetDateTime::now_utc().unix_timestamp()).unwrap());
    // The refused one was not kept (the canonical API is not the profile's to limit).
    let page: Value = app.get("/api/v1/life-events?page_size=1", Some(&ana.access)).await.json().await.unwrap();
    assert_eq!(page["total"], 100);

    // Predictions have their own allowance per kind: the 11th energy prediction, not a mood one.
    let bo = signup(&app, "Bo").await;
    for _ in 0..10 {
        assert_eq!(get(&app, &format!("{V1}/predictions/energy"), &bo.access).await.0, StatusCode::OK);
    }
    let (status, body) = get(&app, &format!("{API}/ai/predict/energy/{}", bo.id), &bo.access).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(body["detail"]["message"], "Too many requests. Limit: 10 requests per minute.");
    assert_eq!(get(&app, &format!("{V1}/predictions/mood"), &bo.access).await.0, StatusCode::OK);
}

#[tokio::test]
async fn predictions_patterns_and_stats_follow_the_contracts_worked_examples() {
    let app = spawn_app().await;
    let ana = signup(&app, "Ana").await;
    let t = &ana.access;
    let (_, empty) = get(&app, &format!("{V1}/predictions/energy?time_of_day=morning"), t).await;
    assert_eq!((empty["prediction"].as_f64(), empty["confidence"].as_f64()), (Some(5.5), Some(0.0)), "{empty}");

    let mut events = Vec::new();
    for (i, level) in [6, 7, 8].into_iter().enumerate() {
        events.push(json!({"event_type": "health", "title": "Check-in", "event_time": ago(20 + i as i64), "event_data": {"energy_level": level}}));
    }
    // Sleeps going to bed at 23:00 and 01:00 UTC: the circular mean bedtime is midnight.
    let day = OffsetDateTime::now_utc().date() - time::Duration::days(1);
    for (i, minutes) in [480, 420, 450, 450].into_iter().enumerate() {
        let start = if i % 2 == 0 {
            (day - time::Duration::days(i as i64 + 1)).with_hms(23, 0, 0)
        } else {
            (day - time::Duration::days(i as i64)).with_hms(1, 0, 0)
        };
        let start = start.unwrap().assume_utc().format(&Rfc3339).unwrap();
        events.push(json!({"event_type": "sleep", "title": "Night", "event_time": start, "duration_minutes": minutes}));
    }
    for i in 0..6 {
        events.push(json!({"event_type": "exercise", "title": "Gym", "event_time": ago(40 + 24 * i)}));
    }
    assert_eq!(post(&app, &format!("{V1}/events/batch"), t, json!({"events": events})).await.0, StatusCode::CREATED);
    let (status, energy) = get(&app, &format!("{V1}/predictions/energy?time_of_day=afternoon"), t).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        energy["explanation"],
        json!({"base_energy": 7.0, "time_of_day_modifier": 0.9, "sleep_factor": 0.9375, "activity_factor": 1.14})
    );
    assert_eq!(
        (energy["prediction"].as_f64(), energy["predicted_energy"].as_f64(), energy["confidence"].as_f64()),
        (Some(6.73), Some(6.73), Some(0.13))
    );
    assert_eq!(energy["factors"], json!(["Fewer than 2 workouts a week may limit energy"]));
    assert_eq!(
        (energy["time_of_day"].as_str(), energy["model_version"].as_str()),
        (Some("afternoon"), Some("baseline-1"))
    );
    let (status, body) = get(&app, &format!("{V1}/predictions/energy?time_of_day=brunch"), t).await;
    assert_eq!(
        (status, problems(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, vec![("value_error".to_owned(), json!(["query", "time_of_day"]))])
    );
    let (status, same) = post(&app, &format!("{API}/ai/predict/energy"), t, json!({"time_of_day": "afternoon"})).await;
    assert_eq!((status, same["prediction"].as_f64()), (StatusCode::OK, Some(6.73)));
    // A backtest from before the events: the neutral base.
    let before = (OffsetDateTime::now_utc() - time::Duration::days(12)).format(&Rfc3339).unwrap();
    let (_, then) =
        get(&app, &format!("{V1}/predictions/energy?time_of_day=morning&at={}", before.replace('+', "%2B")), t).await;
    assert_eq!(then["prediction"], 5.5, "{then}");

    let (status, patterns) = get(&app, &format!("{V1}/timeline/patterns/detect?days=30"), t).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (
            patterns["analysis_period_days"].as_u64(),
            patterns["events_analyzed"].as_u64(),
            patterns["patterns_found"].as_u64()
        ),
        (Some(30), Some(13), Some(2))
    );
    let sleep = &patterns["patterns"][0];
    assert_eq!(
        (sleep["type"].as_str(), sleep["avg_bedtime_hour"].as_f64(), sleep["avg_duration_hours"].as_f64()),
        (Some("sleep_cycle"), Some(0.0), Some(7.5))
    );
    assert_eq!(patterns["patterns"][1]["type"], "activity_pattern");
    let (_, timeline) = get(&app, &format!("{V1}/timeline?days=30"), t).await;
    assert_eq!((timeline["total_events"].as_u64(), timeline["entries"].as_array().map(Vec::len)), (Some(13), Some(13)));
    assert_eq!(timeline["patterns"], patterns["patterns"]);
    let (_, stats) = get(&app, &format!("{V1}/events/stats/summary?days=30"), t).await;
    assert_eq!(stats["total_events"], 13);
    assert_eq!(stats["event_types"], json!({"exercise": 6, "health": 3, "sleep": 4}));
    assert!(stats["period"]["start"].as_str().is_some_and(|s| s.ends_with('Z')), "{stats}");

    // The mood example through a new person: happy, happy, sad, excited.
    let bo = signup(&app, "Bo").await;
    for (i, feeling) in ["happy", "happy", "sad", "excited"].into_iter().enumerate() {
        let body = json!({"event_type": "emotion", "title": feeling, "event_time": ago(10 - i as i64), "event_data": {"type": feeling}});
        assert_eq!(post(&app, &format!("{V1}/events"), &bo.access, body).await.0, StatusCode::CREATED);
    }
    let (_, mood) = get(&app, &format!("{V1}/predictions/mood"), &bo.access).await;
    assert_eq!(
        (mood["prediction_class"].as_str(), mood["predicted_mood_score"].as_f64(), mood["sentiment"].as_str()),
        (Some("positive"), Some(6.5), Some("positive"))
    );
    assert_eq!(
        mood["explanation"],
        json!({"base_mood": 7.5, "trend_adjustment": -1.0, "balance_adjustment": 0.0, "stress_adjustment": 0.0})
    );
    assert_eq!(
        mood["class_probabilities"],
        json!({"very_negative": 0.0, "negative": 0.002, "neutral": 0.259, "positive": 0.704, "very_positive": 0.035})
    );
    assert_eq!(mood["influencing_factors"], json!(["Few social interactions (under 2 a week)"]));
    let (_, metrics) = get(&app, &format!("{V1}/predictions/metrics"), &bo.access).await;
    assert_eq!(
        (metrics["energy"]["model_version"].as_str(), metrics["energy"]["mae"].clone()),
        (Some("baseline-1"), Value::Null),
        "{metrics}"
    );
    let (status, _, _) = call(&app, Method::POST, &format!("{V1}/predictions/retrain"), Some(&bo.access), None).await;
    assert_eq!(status, StatusCode::ACCEPTED);
}

#[tokio::test]
async fn an_event_made_here_is_the_same_in_the_canonical_api_and_back() {
    let app = spawn_app().await;
    let ana = signup(&app, "Ana").await;
    let body = json!({"event_type": "Mood", "title": "Evening", "event_time": ago(1), "event_data": {"mood_score": 8, "note": "fine"}, "context": {"where": "home"}});
    let (_, made) = post(&app, &format!("{V1}/events"), &ana.access, body).await;
    assert_eq!(
        (made["event_type"].as_str(), made["mood_impact"].as_f64(), made["user_id"].as_str()),
        (Some("mood"), Some(0.6), Some(ana.id.as_str()))
    );
    assert_eq!(made["event_data"], json!({"mood_score": 8, "note": "fine"}), "8 stays 8");
    assert!(made["updated_at"].is_null() && made["end_time"].is_null());
    let id = made["id"].as_str().unwrap();
    let canonical: Value = app.get(&format!("/api/v1/life-events/{id}"), Some(&ana.access)).await.json().await.unwrap();
    assert_eq!(
        (canonical["title"].as_str(), canonical["event_data"].clone()),
        (Some("Evening"), made["event_data"].clone())
    );

    // A change recomputes the derived scores and stamps the change.
    let (status, _, changed) = call(
        &app,
        Method::PATCH,
        &format!("{V1}/events/{id}"),
        Some(&ana.access),
        Some(json!({"event_data": {"mood_score": 2}, "duration_minutes": 30})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert_eq!((changed["mood_impact"].as_f64(), changed["duration_minutes"].as_u64()), (Some(-0.6), Some(30)));
    assert!(changed["updated_at"].is_string() && changed["end_time"].is_string());
    // A bad change is refused whole.
    let (status, _, refused) = call(
        &app,
        Method::PUT,
        &format!("{V1}/events/{id}"),
        Some(&ana.access),
        Some(json!({"title": "", "tags": "x"})),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        problems(&refused),
        [("string_too_short".to_owned(), json!(["body", "title"])), ("list_type".to_owned(), json!(["body", "tags"]))]
    );
    let (_, still) = get(&app, &format!("{V1}/events/{id}"), &ana.access).await;
    assert_eq!(still["title"], "Evening");

    // Made in the canonical API, read here; a canonical account's user object.
    let res = app.post_json("/api/v1/life-events", &event("sleep", "Nap", 2), Some(&ana.access)).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let (_, page) = get(&app, &format!("{V1}/events?event_type=sleep"), &ana.access).await;
    assert_eq!(page["items"][0]["title"], "Nap");
    let cat = app.register("Cat").await;
    let (status, me) = get(&app, &format!("{V1}/users/me"), &cat.access_token).await;
    assert_eq!((status, me["email"].as_str()), (StatusCode::OK, Some(cat.email.as_str())));
    let change = json!({"full_name": "Cat Stevens", "timezone": "Europe/Paris", "preferences": {"theme": "dark"}, "profile_data": {"goals": ["sleep more"]}});
    let (status, _, me) =
        call(&app, Method::PUT, &format!("{V1}/users/me"), Some(&cat.access_token), Some(change)).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!((me["full_name"].as_str(), me["timezone"].as_str()), (Some("Cat Stevens"), Some("Europe/Paris")));
    assert_eq!(
        me["profile_data"],
        json!({"goals": ["sleep more"], "values": [], "preferences": {"theme": "dark"}, "life_state": {}})
    );
    assert!(me["updated_at"].is_string());
    let canonical: Value = app.get("/api/v1/me", Some(&cat.access_token)).await.json().await.unwrap();
    assert!(canonical.to_string().contains("Cat Stevens"), "the name is Petty's display name: {canonical}");
}

#[tokio::test]
async fn what_is_not_served_is_not_found() {
    let app = spawn_app().await;
    let ana = signup(&app, "Ana").await;
    for path in [
        "vault/items",
        "gamification/badges",
        "social/feed",
        "integrations",
        "ml-advanced/train",
        "analytics/summary",
        "notifications",
        "digital-twin/state",
        "ai/chat",
    ] {
        for prefix in [V1, API] {
            let (status, body) = get(&app, &format!("{prefix}/{path}"), &ana.access).await;
            assert_eq!((status, body), (StatusCode::NOT_FOUND, json!({"detail": "Not Found"})), "{prefix}/{path}");
        }
    }
    let (status, body) = get(&app, "/compat/aurora/elsewhere", &ana.access).await;
    assert_eq!((status, body), (StatusCode::NOT_FOUND, json!({"detail": "Not Found"})));
}

#[tokio::test]
async fn health_routes_answer_upstreams_shapes() {
    let app = spawn_app().await;
    let (status, _, health) = call(&app, Method::GET, "/compat/aurora/health", None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!((health["status"].as_str(), health["service"].as_str()), (Some("healthy"), Some("aurora-life-api")));
    assert_eq!((health["database"].as_str(), health["redis"].as_str()), (Some("connected"), Some("connected")));
    assert!(health["timestamp"].as_str().is_some_and(|t| t.ends_with('Z')) && health["environment"].is_string());
    let (status, _, ready) = call(&app, Method::GET, "/compat/aurora/health/ready", None, None).await;
    assert_eq!((status, ready["status"].as_str()), (StatusCode::OK, Some("ready")));
    assert_eq!(ready["database"], json!({"status": "healthy", "backend": "sqlite"}));
    assert_eq!(ready["redis"], json!({"status": "healthy", "backend": "in-process"}));
    assert_eq!(ready["checks"], json!({"database": ready["database"], "redis": ready["redis"]}));
    let (_, _, live) = call(&app, Method::GET, "/compat/aurora/health/live", None, None).await;
    assert_eq!(live["status"], "alive");
    let (status, _, _) = call(&app, Method::GET, "/compat/aurora/health/detailed", None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let ana = signup(&app, "Ana").await;
    let (status, detailed) = get(&app, "/compat/aurora/health/detailed", &ana.access).await;
    assert_eq!((status, detailed["status"].as_str()), (StatusCode::OK, Some("ready")));
    assert_eq!(detailed["application"]["name"], "petty");
    assert!(
        detailed["application"]["uptime_seconds"].is_u64() && detailed["system"]["cpu_count"].as_u64() >= Some(1),
        "{detailed}"
    );
}

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn socket(app: &TestApp, path: &str) -> Socket {
    let url = format!("ws://{}{path}", app.address.trim_start_matches("http://"));
    tokio_tungstenite::connect_async(url).await.expect("the upgrade is accepted").0
}

/// The next text message as JSON, skipping heartbeats and pings; a close as `{"closed": code, "reason"}`.
async fn next(socket: &mut Socket) -> Value {
    loop {
        let message = tokio::time::timeout(Duration::from_secs(5), socket.next()).await.expect("a message in time");
        match message.expect("open").expect("frame") {
            Message::Text(text) => {
                let value: Value = serde_json::from_str(&text).unwrap();
                if value["type"] != "heartbeat" {
                    return value;
                }
            }
            Message::Close(frame) => {
                let frame = frame.expect("a close code");
                return json!({"closed": u16::from(frame.code), "reason": frame.reason.as_str()});
            }
            _ => continue,
        }
    }
}

async fn send(socket: &mut Socket, text: &str) {
    socket.send(Message::Text(text.to_owned().into())).await.unwrap();
}

#[tokio::test]
async fn the_websocket_speaks_aurora_and_carries_the_persons_events() {
    let app = spawn_app().await;
    let ana = signup(&app, "Ana").await;
    let bo = signup(&app, "Bo").await;
    let mut ws = socket(&app, &format!("{V1}/ws?token={}", ana.access)).await;
    let own = |what: &str| format!("user:{}:{what}", ana.id);
    assert_eq!(
        next(&mut ws).await,
        json!({"type": "connected", "message": "Welcome to AURORA_LIFE real-time updates",
            "channels": [own("events"), own("predictions"), own("insights"), "system:announcements"]})
    );
    send(&mut ws, r#"{"type": "ping", "timestamp": 1700000000}"#).await;
    assert_eq!(next(&mut ws).await, json!({"type": "pong", "timestamp": 1700000000}));
    let theirs = format!("user:{}:events", bo.id);
    send(
        &mut ws,
        &json!({"type": "subscribe", "channels": [own("events"), theirs, "system:announcements"]}).to_string(),
    )
    .await;
    assert_eq!(
        next(&mut ws).await,
        json!({"type": "subscribed", "channels": [own("events"), "system:announcements"], "rejected": [theirs]})
    );
    send(&mut ws, r#"{"hello": "there"}"#).await;
    assert_eq!(next(&mut ws).await, json!({"type": "echo", "data": {"hello": "there"}}));
    send(&mut ws, "not json").await;
    assert_eq!(next(&mut ws).await, json!({"type": "error", "message": "Invalid JSON"}));

    // An event made over HTTP arrives; Bo's does not.
    post(&app, &format!("{V1}/events"), &bo.access, event("work", "Bo's", 1)).await;
    let (_, made) = post(&app, &format!("{V1}/events"), &ana.access, event("walk", "Park", 1)).await;
    let created = next(&mut ws).await;
    assert_eq!(
        (created["type"].as_str(), created["channel"].as_str()),
        (Some("event_created"), Some(own("events").as_str())),
        "{created}"
    );
    assert_eq!((created["data"]["id"].clone(), created["data"]["title"].as_str()), (made["id"].clone(), Some("Park")));
    assert!(created["timestamp"].as_str().is_some_and(|t| t.ends_with('Z')));
    let id = made["id"].as_str().unwrap();
    call(&app, Method::DELETE, &format!("{V1}/events/{id}"), Some(&ana.access), None).await;
    let deleted = next(&mut ws).await;
    assert_eq!((deleted["type"].as_str(), deleted["data"].clone()), (Some("event_deleted"), json!({"id": id})));
    send(&mut ws, &json!({"type": "unsubscribe", "channels": [own("events")]}).to_string()).await;
    assert_eq!(next(&mut ws).await, json!({"type": "unsubscribed", "channels": [own("events")]}));

    // Upstream's own route, with the person's id; signing out everywhere closes it at once.
    let mut legacy = socket(&app, &format!("/compat/aurora/ws/{}?token={}", ana.id, ana.access)).await;
    assert_eq!(next(&mut legacy).await["type"], "connected");
    // Insights drawn over HTTP arrive on the insights channel.
    send(&mut legacy, &json!({"type": "subscribe", "channels": [own("insights")]}).to_string()).await;
    assert_eq!(next(&mut legacy).await["type"], "subscribed");
    post(&app, &format!("{V1}/events"), &ana.access, event("sleep", "Night", 8)).await;
    let (_, drawn) = post(&app, &format!("{V1}/insights/generate"), &ana.access, json!({})).await;
    for made in drawn.as_array().unwrap() {
        let insight = next(&mut legacy).await;
        let (kind, channel) = (insight["type"].as_str(), insight["channel"].as_str());
        assert_eq!((kind, channel), (Some("insight_generated"), Some(own("insights").as_str())));
        assert_eq!(insight["data"]["id"], made["id"], "{insight}");
    }
    let (status, _, _) = call(&app, Method::POST, &format!("{V1}/auth/logout"), Some(&ana.access), None).await;
    assert_eq!(status, StatusCode::OK);
    let mut told = next(&mut legacy).await;
    if told["type"] == "error" {
        assert_eq!(told["message"], "Access revoked");
        told = next(&mut legacy).await;
    }
    assert_eq!(told, json!({"closed": 1008, "reason": "Access revoked"}));
}

#[tokio::test]
async fn a_missing_or_bad_token_closes_the_socket_with_1008() {
    let app = spawn_app().await;
    let ana = signup(&app, "Ana").await;
    let bo = signup(&app, "Bo").await;
    let mut ws = socket(&app, &format!("{V1}/ws")).await;
    assert_eq!(next(&mut ws).await, json!({"closed": 1008, "reason": "Missing authentication token"}));
    let invalid = json!({"closed": 1008, "reason": "Invalid authentication token"});
    for path in [
        format!("{V1}/ws?token=garbage"),
        format!("/compat/aurora/ws/{}?token={}", bo.id, ana.access),
        format!("/compat/aurora/ws/not-an-id?token={}", ana.access),
    ] {
        let mut ws = socket(&app, &path).await;
        assert_eq!(next(&mut ws).await, invalid, "{path}");
    }
}
