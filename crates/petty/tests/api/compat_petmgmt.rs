//! The Pet Management seed's contract under `/compat/petmgmt/api/v1` (and `/compat/petmgmt/v1`):
//! its envelope on every answer, accounts (lockout, refresh rotation and reuse), pets, health
//! records, the vaccine due dates and recurrence of its worked examples, the role table, its
//! rate limits, the calendar feed, outgoing webhooks; and that what is made there is the same
//! thing in `/api/v1` and the other way round.

use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::macros::datetime;

use crate::harness::{Engine, TestApp, spawn_app, spawn_app_on, spawn_app_with};

const P: &str = "/compat/petmgmt/api/v1";
const PASSWORD: &str = "correct horse 42 battery";

/// One call: status, headers and the JSON body (`Null` when there is none).
pub(crate) async fn call(
    app: &TestApp,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, HeaderMap, Value) {
    let mut req = app.client.request(method, app.url(path));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req.send().await.expect("request");
    let (status, headers) = (res.status(), res.headers().clone());
    let text = res.text().await.expect("body");
    let value = if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) };
    (status, headers, value)
}

async fn get(app: &TestApp, path: &str, token: &str) -> (StatusCode, Value) {
    let (s, _, v) = call(app, Method::GET, &format!("{P}{path}"), Some(token), None).await;
    (s, v)
}

async fn post(app: &TestApp, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
    let (s, _, v) = call(app, Method::POST, &format!("{P}{path}"), Some(token), Some(body)).await;
    (s, v)
}

async fn put(app: &TestApp, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
    let (s, _, v) = call(app, Method::PUT, &format!("{P}{path}"), Some(token), Some(body)).await;
    (s, v)
}

async fn delete(app: &TestApp, path: &str, token: &str) -> (StatusCode, Value) {
    let (s, _, v) = call(app, Method::DELETE, &format!("{P}{path}"), Some(token), None).await;
    (s, v)
}

/// A JSON object written in this order (`json!` sorts its keys; the contract's details follow
/// the body's order).
fn ordered(fields: &[(&str, Value)]) -> String {
    let inner: Vec<String> = fields.iter().map(|(k, v)| format!("{}: {v}", json!(k))).collect();
    format!("{{{}}}", inner.join(", "))
}

/// A POST of JSON text as written.
async fn post_text(app: &TestApp, path: &str, token: Option<&str>, text: String) -> (StatusCode, Value) {
    let mut req = app.client.post(app.url(&format!("{P}{path}"))).header("content-type", "application/json").body(text);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let res = req.send().await.expect("request");
    (res.status(), res.json().await.unwrap_or(Value::Null))
}

/// An error answer's code and message, checking the envelope around them.
fn error(body: &Value) -> (&str, &str) {
    assert_eq!(body["success"], false, "{body}");
    assert!(body["error"]["requestId"].is_string(), "{body}");
    (body["error"]["code"].as_str().unwrap_or(""), body["error"]["message"].as_str().unwrap_or(""))
}

/// The fields a validation error names, in order.
fn fields(body: &Value) -> Vec<&str> {
    body["error"]["details"]
        .as_array()
        .map(|d| d.iter().filter_map(|d| d["field"].as_str()).collect())
        .unwrap_or_default()
}

struct Person {
    email: String,
    access: String,
    refresh: String,
    id: String,
}

fn unique_email(name: &str) -> String {
    format!("{}-{}@example.org", name.to_lowercase(), &uuid::Uuid::new_v4().simple().to_string()[..8])
}

/// Registers through the profile: a new household owned by the person.
async fn signup(app: &TestApp, first: &str) -> Person {
    signup_in(app, first, "UTC").await
}

async fn signup_in(app: &TestApp, first: &str, timezone: &str) -> Person {
    let email = unique_email(first);
    let (status, _, body) = call(
        app,
        Method::POST,
        &format!("{P}/auth/register"),
        None,
        Some(json!({"email": email, "password": PASSWORD, "firstName": first, "lastName": "Example", "timezone": timezone})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let data = &body["data"];
    Person {
        email,
        access: data["accessToken"].as_str().unwrap().to_owned(),
        refresh: data["refreshToken"].as_str().unwrap().to_owned(),
        id: data["user"]["id"].as_str().unwrap().to_owned(),
    }
}

async fn login(app: &TestApp, email: &str, password: &str) -> (StatusCode, HeaderMap, Value) {
    call(app, Method::POST, &format!("{P}/auth/login"), None, Some(json!({"email": email, "password": password}))).await
}

async fn new_pet(app: &TestApp, token: &str, body: Value) -> Value {
    let (status, pet) = post(app, "/pets", token, body).await;
    assert_eq!(status, StatusCode::CREATED, "{pet}");
    pet["data"].clone()
}

#[tokio::test]
async fn every_answer_is_in_the_envelope_with_the_request_id() {
    let app = spawn_app().await;
    let ana = signup(&app, "Ana").await;
    for prefix in ["/compat/petmgmt/api/v1", "/compat/petmgmt/v1"] {
        let (status, headers, body) = call(&app, Method::GET, &format!("{prefix}/pets"), Some(&ana.access), None).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["success"], true);
        assert_eq!(body["data"]["pets"], json!([]));
        assert_eq!(body["data"]["pagination"], json!({"page": 1, "limit": 20, "total": 0, "totalPages": 0}));
        assert!(headers.contains_key("x-request-id"));
    }

    // An unknown route, under either prefix or beside them.
    for path in ["/compat/petmgmt/api/v1/nothing", "/compat/petmgmt/v1/pets/x/y/z", "/compat/petmgmt/elsewhere"] {
        let (status, headers, body) = call(&app, Method::GET, path, Some(&ana.access), None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(error(&body), ("RESOURCE_NOT_FOUND", "Route not found"), "{path}");
        assert_eq!(body["error"]["requestId"], headers["x-request-id"].to_str().unwrap(), "requestId is X-Request-ID");
    }
    // A request id the client chose comes back in both places.
    let res = app
        .client
        .get(app.url(&format!("{P}/nothing")))
        .header("x-request-id", "client-chosen-id-1")
        .send()
        .await
        .unwrap();
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["requestId"], "client-chosen-id-1");

    // A wrong method.
    let (status, _, body) = call(&app, Method::PATCH, &format!("{P}/pets"), Some(&ana.access), None).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(error(&body).0, "METHOD_NOT_ALLOWED");

    // No token, a bad token.
    let (status, _, body) = call(&app, Method::GET, &format!("{P}/pets"), None, None).await;
    assert_eq!((status, error(&body)), (StatusCode::UNAUTHORIZED, ("UNAUTHORIZED", "Authentication required")));
    let (status, _, body) = call(&app, Method::GET, &format!("{P}/pets"), Some("not-a-token"), None).await;
    assert_eq!((status, error(&body)), (StatusCode::UNAUTHORIZED, ("UNAUTHORIZED", "Invalid or expired token")));

    // Bad JSON, and a JSON body over 1 MiB.
    let res = app
        .client
        .post(app.url(&format!("{P}/pets")))
        .bearer_auth(&ana.access)
        .header("content-type", "application/json")
        .body("{\"name\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let body: Value = res.json().await.unwrap();
    assert_eq!(error(&body), ("INVALID_JSON", "Request body must be valid JSON"));
    let big = json!({"name": "Rex", "notes": "x".repeat(1024 * 1024 + 10)});
    let (status, _, body) = call(&app, Method::POST, &format!("{P}/pets"), Some(&ana.access), Some(big)).await;
    assert_eq!(
        (status, error(&body)),
        (StatusCode::PAYLOAD_TOO_LARGE, ("PAYLOAD_TOO_LARGE", "Request body too large"))
    );
}

#[tokio::test]
async fn the_edge_rate_limit_answers_in_the_envelope() {
    let app = spawn_app_with(|c| c.rate_limit.per_ip_per_minute = 3).await;
    let mut last = (StatusCode::OK, HeaderMap::new(), Value::Null);
    for _ in 0..5 {
        last = call(&app, Method::GET, &format!("{P}/pets"), None, None).await;
    }
    let (status, headers, body) = last;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(error(&body), ("RATE_LIMIT_EXCEEDED", "API rate limit exceeded"));
    let retry: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert_eq!(body["error"]["retryAfter"], retry);
}

#[tokio::test]
async fn the_contracts_rate_limits_count_per_user_per_hour_and_per_address_on_auth() {
    let app = spawn_app_with(|c| {
        c.petmgmt_limits.enterprise_per_hour = 4;
        c.petmgmt_limits.auth_per_ip_per_minute = 3;
    })
    .await;
    let ana = signup(&app, "Ana").await; // one /auth/* request
    let hour_end = {
        let now = OffsetDateTime::now_utc().unix_timestamp();
        now - now % 3600 + 3600
    };
    for remaining in [3, 2, 1, 0] {
        let (status, headers, _) = call(&app, Method::GET, &format!("{P}/pets"), Some(&ana.access), None).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(headers["x-ratelimit-limit"], "4", "every household is enterprise while billing is off");
        assert_eq!(headers["x-ratelimit-remaining"], remaining.to_string().as_str());
        assert_eq!(headers["x-ratelimit-reset"], hour_end.to_string().as_str(), "the end of the UTC hour");
    }
    let (status, headers, body) = call(&app, Method::GET, &format!("{P}/pets"), Some(&ana.access), None).await;
    assert_eq!((status, error(&body).0), (StatusCode::TOO_MANY_REQUESTS, "RATE_LIMIT_EXCEEDED"));
    let retry: i64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(retry > 0 && retry <= 3600, "{retry}");
    assert_eq!(body["error"]["retryAfter"], retry);
    // Another person has their own allowance.
    let bo = signup(&app, "Bo").await; // the second /auth/* request from this address
    assert_eq!(call(&app, Method::GET, &format!("{P}/pets"), Some(&bo.access), None).await.0, StatusCode::OK);
    // Per address on /auth/*: the third passes, the fourth in the same minute does not.
    let (status, _, _) = login(&app, &ana.email, PASSWORD).await;
    assert_eq!(status, StatusCode::OK);
    let (status, headers, body) = login(&app, &ana.email, PASSWORD).await;
    assert_eq!((status, error(&body).0), (StatusCode::TOO_MANY_REQUESTS, "RATE_LIMIT_EXCEEDED"));
    assert_eq!(headers["x-ratelimit-limit"], "3");
}

#[tokio::test]
async fn registration_sign_in_and_the_profile() {
    let app = spawn_app().await;
    let email = unique_email("Ana");
    let (status, _, body) = call(
        &app,
        Method::POST,
        &format!("{P}/auth/register"),
        None,
        Some(json!({"email": email, "password": PASSWORD, "firstName": "Ana", "lastName": "Lima", "timezone": "Europe/Paris"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let data = &body["data"];
    assert_eq!(data["user"]["email"], email.as_str());
    assert_eq!((data["user"]["firstName"].as_str(), data["user"]["lastName"].as_str()), (Some("Ana"), Some("Lima")));
    assert_eq!(data["user"]["subscriptionTier"], "enterprise");
    assert_eq!(data["expiresIn"], 900);
    assert!(data["refreshToken"].is_string() && data["accessToken"].is_string());
    // The same account in Petty's own API.
    let me: Value = app.get("/api/v1/me", data["accessToken"].as_str()).await.json().await.unwrap();
    assert_eq!(me["user"]["email"], email.as_str(), "{me}");

    // A taken address, in any case.
    let (status, _, body) = call(
        &app,
        Method::POST,
        &format!("{P}/auth/register"),
        None,
        Some(json!({"email": email.to_uppercase(), "password": PASSWORD, "firstName": "X", "lastName": "Y"})),
    )
    .await;
    assert_eq!((status, error(&body)), (StatusCode::CONFLICT, ("CONFLICT", "Email already registered")));

    // Every failing field, in body order, with the contract's messages.
    let text = ordered(&[
        ("timezone", json!("Mars/Olympus")),
        ("password", json!("short")),
        ("email", json!("not-an-address")),
        ("lastName", json!("x".repeat(101))),
    ]);
    let (status, body) = post_text(&app, "/auth/register", None, text).await;
    assert_eq!((status, error(&body)), (StatusCode::BAD_REQUEST, ("VALIDATION_ERROR", "Invalid input data")));
    assert_eq!(fields(&body), ["timezone", "password", "email", "lastName", "firstName"]);
    let details = &body["error"]["details"];
    assert_eq!(details[0]["message"], "timezone must be an IANA time zone such as Europe/Paris");
    assert_eq!(details[1]["message"], "Password must be 8-128 characters and contain a letter and a digit");
    assert_eq!(details[2]["message"], "Valid email address is required");
    assert_eq!(details[3]["message"], "lastName must be at most 100 characters");
    assert_eq!(details[4]["message"], "firstName is required");

    // Sign in: the full user.
    let (status, _, body) = login(&app, &email, PASSWORD).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let user = &body["data"]["user"];
    assert_eq!(user["timezone"], "Europe/Paris");
    assert_eq!(user["role"], "owner");
    assert_eq!(user["mfaEnabled"], false);
    assert_eq!(user["phone"], Value::Null);
    let token = body["data"]["accessToken"].as_str().unwrap().to_owned();
    let (status, _, body) = login(&app, &email, "wrong password 1").await;
    assert_eq!(
        (status, error(&body)),
        (StatusCode::UNAUTHORIZED, ("INVALID_CREDENTIALS", "Invalid email or password"))
    );

    // The profile: read, changed, refused.
    let (status, body) =
        put(&app, "/users/profile", &token, json!({"phone": "+14155550123", "lastName": "Lima-Souza"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["phone"], "+14155550123");
    assert_eq!(body["data"]["lastName"], "Lima-Souza");
    assert_eq!(body["data"]["firstName"], "Ana");
    let (status, body) = put(&app, "/users/profile", &token, json!({"phone": "555-0123", "timezone": "Nowhere"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["details"][0]["message"], "phone must be in E.164 format, e.g. +14155550123");
    assert_eq!(fields(&body), ["phone", "timezone"]);
    let (_, body) = get(&app, "/users/profile", &token).await;
    assert_eq!(body["data"]["phone"], "+14155550123", "a refused change changes nothing");
    // Petty's dashboard shows the new name.
    let me: Value = app.get("/api/v1/me", Some(&token)).await.json().await.unwrap();
    assert_eq!(me["user"]["display_name"], "Ana Lima-Souza", "{me}");
}

#[tokio::test]
async fn five_failed_sign_ins_lock_the_email_for_fifteen_minutes() {
    let app = spawn_app().await;
    let ana = signup(&app, "Ana").await;
    for _ in 0..5 {
        let (status, _, body) = login(&app, &ana.email, "wrong password 1").await;
        assert_eq!((status, error(&body).0), (StatusCode::UNAUTHORIZED, "INVALID_CREDENTIALS"));
    }
    // Locked: even the right password.
    let (status, headers, body) = login(&app, &ana.email, PASSWORD).await;
    assert_eq!(status, StatusCode::LOCKED, "{body}");
    assert_eq!(error(&body), ("ACCOUNT_LOCKED", "Too many failed login attempts. Try again later."));
    let retry: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((890..=900).contains(&retry), "about 15 minutes: {retry}");
    assert_eq!(body["error"]["retryAfter"], retry);
    // Another address is not locked by it.
    let bo = signup(&app, "Bo").await;
    assert_eq!(login(&app, &bo.email, PASSWORD).await.0, StatusCode::OK);
    // An address with no account locks alike.
    let nobody = unique_email("nobody");
    for _ in 0..5 {
        assert_eq!(login(&app, &nobody, "wrong password 1").await.0, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(login(&app, &nobody, "wrong password 1").await.0, StatusCode::LOCKED);
    // Petty's records of those failures are what the lock reads: once they are older than 15
    // minutes the email signs in again.
    let old = OffsetDateTime::now_utc() - time::Duration::minutes(16);
    app.store.clear_signin_failures(petty_store::FailureScope::Account, &ana.email).await.unwrap();
    for _ in 0..5 {
        app.store
            .record_signin_failure(
                &[(petty_store::FailureScope::Account, ana.email.as_str())],
                old,
                old - time::Duration::days(1),
            )
            .await
            .unwrap();
    }
    assert_eq!(login(&app, &ana.email, PASSWORD).await.0, StatusCode::OK);
}

#[tokio::test]
async fn refresh_tokens_rotate_and_a_reused_one_ends_the_login() {
    let app = spawn_app().await;
    let ana = signup(&app, "Ana").await;
    let refresh = |token: String| {
        let app = &app;
        async move {
            let (s, _, b) =
                call(app, Method::POST, &format!("{P}/auth/refresh-token"), None, Some(json!({"refreshToken": token})))
                    .await;
            (s, b)
        }
    };
    let (status, body) = refresh(ana.refresh.clone()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let second = body["data"]["refreshToken"].as_str().unwrap().to_owned();
    assert_ne!(second, ana.refresh, "rotated on every use");
    assert!(body["data"]["accessToken"].is_string() && body["data"]["expiresIn"] == 900);
    let (status, body) = refresh(second.clone()).await;
    assert_eq!(status, StatusCode::OK);
    let third = body["data"]["refreshToken"].as_str().unwrap().to_owned();

    // The first one again: reuse, and the whole family (the newest included) is revoked.
    let (status, body) = refresh(ana.refresh.clone()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        error(&body),
        ("TOKEN_REUSED", "Refresh token reuse detected; this login was signed out on every device")
    );
    let (status, body) = refresh(third).await;
    assert_eq!((status, error(&body)), (StatusCode::UNAUTHORIZED, ("UNAUTHORIZED", "Invalid or expired token")));
    let (status, body) = refresh("rt_unknown".into()).await;
    assert_eq!((status, error(&body).0), (StatusCode::UNAUTHORIZED, "UNAUTHORIZED"));
    let (status, body) = refresh(String::new()).await;
    assert_eq!((status, fields(&body)), (StatusCode::BAD_REQUEST, vec!["refreshToken"]));

    // Sign-out ends the given sign-in's family.
    let (_, _, body) = login(&app, &ana.email, PASSWORD).await;
    let (access, token) = (
        body["data"]["accessToken"].as_str().unwrap().to_owned(),
        body["data"]["refreshToken"].as_str().unwrap().to_owned(),
    );
    let (status, body) = post(&app, "/auth/logout", &access, json!({"refreshToken": token})).await;
    assert_eq!((status, &body["data"]), (StatusCode::OK, &json!({"loggedOut": true})));
    assert_eq!(refresh(token).await.0, StatusCode::UNAUTHORIZED);

    // Without a refresh token: the sign-in the access token belongs to ends, no other.
    let (_, _, mine) = login(&app, &ana.email, PASSWORD).await;
    let (_, _, other) = login(&app, &ana.email, PASSWORD).await;
    let mine_access = mine["data"]["accessToken"].as_str().unwrap();
    let (status, _) = post(&app, "/auth/logout", mine_access, json!({})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(get(&app, "/pets", mine_access).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(refresh(mine["data"]["refreshToken"].as_str().unwrap().to_owned()).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(get(&app, "/pets", other["data"]["accessToken"].as_str().unwrap()).await.0, StatusCode::OK);

    // All devices: every sign-in of the person ends.
    let (_, _, one) = login(&app, &ana.email, PASSWORD).await;
    let (_, _, two) = login(&app, &ana.email, PASSWORD).await;
    let two_access = two["data"]["accessToken"].as_str().unwrap();
    let (status, _) = post(&app, "/auth/logout", two_access, json!({"allDevices": true})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(refresh(one["data"]["refreshToken"].as_str().unwrap().to_owned()).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(get(&app, "/pets", one["data"]["accessToken"].as_str().unwrap()).await.0, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn changing_the_password() {
    let app = spawn_app().await;
    let ana = signup(&app, "Ana").await;
    let (status, body) = post(
        &app,
        "/auth/change-password",
        &ana.access,
        json!({"currentPassword": "not it 123", "newPassword": "a new passphrase 7"}),
    )
    .await;
    assert_eq!((status, error(&body).0), (StatusCode::UNAUTHORIZED, "INVALID_CREDENTIALS"));
    let (status, body) = post(
        &app,
        "/auth/change-password",
        &ana.access,
        json!({"currentPassword": PASSWORD, "newPassword": "nodigits"}),
    )
    .await;
    assert_eq!((status, fields(&body)), (StatusCode::BAD_REQUEST, vec!["newPassword"]));
    let (status, body) = post(
        &app,
        "/auth/change-password",
        &ana.access,
        json!({"currentPassword": PASSWORD, "newPassword": "a new passphrase 7"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["changed"], true);
    // The caller carries on with the tokens in the answer; the old password is gone.
    let fresh = body["data"]["accessToken"].as_str().unwrap();
    let (status, me) = get(&app, "/users/profile", fresh).await;
    assert_eq!((status, me["data"]["id"].as_str()), (StatusCode::OK, Some(ana.id.as_str())));
    assert_eq!(login(&app, &ana.email, PASSWORD).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(login(&app, &ana.email, "a new passphrase 7").await.0, StatusCode::OK);
}

#[tokio::test]
async fn pets_listed_searched_refused_and_the_same_in_petty() {
    let app = spawn_app().await;
    let ana = signup(&app, "Ana").await;
    let t = &ana.access;
    let rex = new_pet(
        &app,
        t,
        json!({"name": "Rex", "species": "Dog", "breed": "Border Collie", "dateOfBirth": "2020-05-01", "weightKg": 18.456,
            "microchipId": "985112003456789", "sex": "male", "notes": "shy", "unknownField": 1}),
    )
    .await;
    assert_eq!(rex["species"], "dog", "stored lower-case");
    assert_eq!(rex["weightKg"], 18.46, "rounded to 2 decimals");
    assert_eq!(rex["vaccineStatus"], "none");
    assert_eq!(rex["profilePhotoUrl"], Value::Null);
    for key in ["id", "name", "breed", "dateOfBirth", "microchipId", "sex", "notes", "createdAt", "updatedAt"] {
        assert!(rex.get(key).is_some(), "{key} in {rex}");
    }
    assert!(rex["createdAt"].as_str().unwrap().ends_with('Z') && rex["createdAt"].as_str().unwrap().len() == 20);
    // A species Petty does not keep reads back as `other`; a name of 100 characters is fine.
    let long_name = "N".repeat(100);
    let hammy = new_pet(&app, t, json!({"name": long_name, "species": "Hamster", "microchipId": "AVID12345"})).await;
    assert_eq!(hammy["species"], "other");
    new_pet(&app, t, json!({"name": "Miso", "species": "cat", "breed": "Siamese"})).await;

    // The same pet in Petty's own API.
    let own: Value =
        app.get(&format!("/api/v1/pets/{}", rex["id"].as_str().unwrap()), Some(t)).await.json().await.unwrap();
    assert_eq!((own["name"].as_str(), own["microchip_id"].as_str()), (Some("Rex"), Some("985112003456789")), "{own}");
    // And one made there, here.
    let bella = app.create_pet(t, json!({"name": "Bella", "species": "dog", "breed": "Beagle"})).await;
    let (status, body) = get(&app, &format!("/pets/{}", bella["id"].as_str().unwrap()), t).await;
    assert_eq!((status, body["data"]["breed"].as_str()), (StatusCode::OK, Some("Beagle")));

    // Search: name, breed or microchip, any case; species exact.
    let names = |body: &Value| -> Vec<String> {
        body["data"]["pets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap().chars().take(4).collect())
            .collect()
    };
    assert_eq!(names(&get(&app, "/pets?search=COLLIE", t).await.1), ["Rex"]);
    assert_eq!(names(&get(&app, "/pets?search=9851120", t).await.1), ["Rex"]);
    assert_eq!(names(&get(&app, "/pets?search=bel", t).await.1), ["Bell"]);
    assert_eq!(names(&get(&app, "/pets?species=DOG", t).await.1), ["Bell", "Rex"]);
    // Pages: by name, totalPages rounded up.
    let (_, page) = get(&app, "/pets?limit=3&page=2", t).await;
    assert_eq!(page["data"]["pagination"], json!({"page": 2, "limit": 3, "total": 4, "totalPages": 2}));
    assert_eq!(names(&page), ["Rex"]);
    let (status, body) = get(&app, "/pets?limit=101&page=0", t).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let messages: Vec<&str> =
        body["error"]["details"].as_array().unwrap().iter().map(|d| d["message"].as_str().unwrap()).collect();
    assert_eq!(messages, ["page must be a positive integer", "limit must be between 1 and 100"]);

    // Refusals, field by field in body order, with the contract's words.
    let text = ordered(&[
        ("microchipId", json!("12-34")),
        ("weightKg", json!(1000)),
        ("dateOfBirth", json!("2999-01-01")),
        ("species", json!("s".repeat(51))),
        ("name", json!("")),
    ]);
    let (status, body) = post_text(&app, "/pets", Some(t), text).await;
    assert_eq!((status, error(&body)), (StatusCode::BAD_REQUEST, ("VALIDATION_ERROR", "Invalid input data")));
    assert_eq!(fields(&body), ["microchipId", "weightKg", "dateOfBirth", "species", "name"]);
    let messages: Vec<&str> =
        body["error"]["details"].as_array().unwrap().iter().map(|d| d["message"].as_str().unwrap()).collect();
    assert_eq!(
        messages,
        [
            "microchipId must be 9 to 15 letters or digits",
            "weightKg must be greater than 0 and at most 999.99",
            "dateOfBirth must be a date (YYYY-MM-DD) not in the future",
            "species must be at most 50 characters",
            "name is required",
        ]
    );
    let (status, body) = post(&app, "/pets", t, json!({"name": "Dup", "microchipId": "985112003456789"})).await;
    assert_eq!((status, error(&body)), (StatusCode::CONFLICT, ("CONFLICT", "microchipId already used by another pet")));

    // A change: only what is sent; a new weight is a weigh-in.
    let id = rex["id"].as_str().unwrap();
    let (status, body) = put(&app, &format!("/pets/{id}"), t, json!({"weightKg": 19.5, "notes": null})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        (body["data"]["weightKg"].as_f64(), &body["data"]["notes"], body["data"]["breed"].as_str()),
        (Some(19.5), &Value::Null, Some("Border Collie"))
    );
    let weights: Value = app.get(&format!("/api/v1/pets/{id}/weights"), Some(t)).await.json().await.unwrap();
    assert!(weights.to_string().contains("19.5"), "{weights}");
    // Its own chip is no conflict.
    assert_eq!(put(&app, &format!("/pets/{id}"), t, json!({"microchipId": "985112003456789"})).await.0, StatusCode::OK);

    // Another household sees none of it: 404, never 403.
    let bo = signup(&app, "Bo").await;
    for (method, path) in [
        (Method::GET, format!("/pets/{id}")),
        (Method::PUT, format!("/pets/{id}")),
        (Method::DELETE, format!("/pets/{id}")),
    ] {
        let (status, _, body) =
            call(&app, method, &format!("{P}{path}"), Some(&bo.access), Some(json!({"name": "x"}))).await;
        assert_eq!((status, error(&body)), (StatusCode::NOT_FOUND, ("RESOURCE_NOT_FOUND", "Pet not found")));
    }
    assert_eq!(get(&app, "/pets/not-a-uuid", t).await.0, StatusCode::NOT_FOUND);

    // Deleted, with everything of it.
    let (status, body) = delete(&app, &format!("/pets/{id}"), t).await;
    assert_eq!((status, &body["data"]), (StatusCode::OK, &json!({"id": id, "deleted": true})));
    assert_eq!(app.get(&format!("/api/v1/pets/{id}"), Some(t)).await.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn health_records_with_their_summary_aliases_and_petty_kinds() {
    let app = spawn_app().await;
    let ana = signup(&app, "Ana").await;
    let t = &ana.access;
    let rex = new_pet(&app, t, json!({"name": "Rex", "species": "dog"})).await;
    let id = rex["id"].as_str().unwrap();
    let records = format!("/pets/{id}/health-records");
    for (record_type, title, day, cost) in [
        ("visit", "Checkup", "2025-01-10", 50.0),
        ("lab", "Blood panel", "2025-02-10", 120.25),
        ("medication", "Heartworm", "2025-03-10", 30.0),
    ] {
        let (status, body) = post(
            &app,
            &records,
            t,
            json!({"recordType": record_type, "title": title, "dateAdministered": day, "cost": cost, "veterinarian": "Dr. Ng"}),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        assert_eq!(body["data"]["recordType"], record_type);
        assert_eq!(body["data"]["attachments"], json!([]));
    }
    // A weigh-in and a procedure made in Petty's own API read as `other`.
    let res = app
        .post_json(
            &format!("/api/v1/pets/{id}/records"),
            &json!({"kind": "weight", "date": "2025-04-01", "weight_kg": 20.0}),
            Some(t),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    // The lab result is Petty's test_result.
    let own: Value =
        app.get(&format!("/api/v1/pets/{id}/records?kind=test_result"), Some(t)).await.json().await.unwrap();
    assert_eq!(own["total"], 1, "{own}");

    // Newest first; the summary covers every matching record, not the page.
    let (status, body) = get(&app, &format!("{records}?limit=2"), t).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let titles: Vec<&str> =
        body["data"]["records"].as_array().unwrap().iter().map(|r| r["title"].as_str().unwrap()).collect();
    assert_eq!(titles, ["Weight", "Heartworm"]);
    assert_eq!(body["data"]["records"][0]["recordType"], "other");
    assert_eq!(body["data"]["pagination"], json!({"page": 1, "limit": 2, "total": 4, "totalPages": 2}));
    assert_eq!(
        body["data"]["summary"],
        json!({"totalRecords": 4, "recordTypes": {"visit": 1, "lab": 1, "medication": 1, "other": 1}, "totalCost": 200.25})
    );
    // Filters: type (other is Petty's other kinds too), from, to.
    let (_, body) = get(&app, &format!("{records}?type=other"), t).await;
    assert_eq!(body["data"]["summary"]["totalRecords"], 1);
    let (_, body) = get(&app, &format!("{records}?from=2025-02-01&to=2025-03-31"), t).await;
    assert_eq!(
        body["data"]["summary"],
        json!({"totalRecords": 2, "recordTypes": {"lab": 1, "medication": 1}, "totalCost": 150.25})
    );
    let (status, body) = get(&app, &format!("{records}?type=grooming"), t).await;
    assert_eq!((status, fields(&body)), (StatusCode::BAD_REQUEST, vec!["type"]));

    // The seed's own paths.
    let alias = format!("/health-records/pets/{id}/records");
    let (status, body) =
        post(&app, &alias, t, json!({"recordType": "dental", "title": "Cleaning", "dateAdministered": "2025-05-01"}))
            .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let dental = body["data"]["id"].as_str().unwrap().to_owned();
    let (status, body) = put(&app, &format!("/health-records/records/{dental}"), t, json!({"cost": 80})).await;
    assert_eq!(
        (status, body["data"]["cost"].as_f64(), body["data"]["title"].as_str()),
        (StatusCode::OK, Some(80.0), Some("Cleaning"))
    );
    let (_, body) = get(&app, &alias, t).await;
    assert_eq!(body["data"]["pagination"]["total"], 5);

    // Refusals with the contract's words, in body order.
    let text = ordered(&[
        ("cost", json!(-1)),
        ("recordType", json!("grooming")),
        ("dateAdministered", json!("2999-01-01")),
        ("attachments", json!([{"filename": "x.pdf", "url": "https://elsewhere.example/x.pdf"}])),
    ]);
    let (status, body) = post_text(&app, &records, Some(t), text).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(fields(&body), ["cost", "recordType", "dateAdministered", "attachments", "title"]);
    let messages: Vec<&str> =
        body["error"]["details"].as_array().unwrap().iter().map(|d| d["message"].as_str().unwrap()).collect();
    assert_eq!(
        messages,
        [
            "cost must be between 0 and 99999999.99",
            "recordType must be one of: vaccination, medication, visit, surgery, lab, dental, allergy, other",
            "dateAdministered must be a date (YYYY-MM-DD) not in the future",
            "attachments must reference files uploaded to this server",
            "title is required",
        ]
    );
    // Tomorrow is allowed (a clock ahead, a vet abroad); the day after is not.
    let tomorrow = petty_core::pets::format_date(OffsetDateTime::now_utc().date() + time::Duration::days(1));
    let (status, _) =
        post(&app, &records, t, json!({"recordType": "visit", "title": "x", "dateAdministered": tomorrow})).await;
    assert_eq!(status, StatusCode::CREATED);

    // Deleting is the owner's; another household gets 404.
    let bo = signup(&app, "Bo").await;
    let (status, body) = delete(&app, &format!("/health-records/{dental}"), &bo.access).await;
    assert_eq!((status, error(&body).1), (StatusCode::NOT_FOUND, "Health record not found"));
    let (status, _) = get(&app, &records, &bo.access).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, body) = delete(&app, &format!("/health-records/{dental}"), t).await;
    assert_eq!((status, body["data"]["deleted"].as_bool()), (StatusCode::OK, Some(true)));
    assert_eq!(app.get(&format!("/api/v1/records/{dental}"), Some(t)).await.status(), StatusCode::NOT_FOUND);
}

/// The contract's worked examples of vaccine due dates, on the days it names.
#[tokio::test]
async fn vaccine_due_dates_and_statuses_of_the_worked_examples() {
    let app = spawn_app().await;
    let ana = signup(&app, "Ana").await;
    let t = &ana.access;
    app.state.app.clock.set(datetime!(2024-03-05 12:00 UTC));
    let rex = new_pet(&app, t, json!({"name": "Rex", "species": "dog", "dateOfBirth": "2024-01-10"})).await;
    let id = rex["id"].as_str().unwrap().to_owned();
    // DHPP at 51 days old: the puppy series, due three weeks on; its reminder 14 days before at 09:00.
    let (status, body) = post(
        &app,
        &format!("/pets/{id}/health-records"),
        t,
        json!({"recordType": "vaccination", "title": "DHPP shot 1", "dateAdministered": "2024-03-01"}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["data"]["vaccine"], "dhpp");
    let (_, v) = get(&app, &format!("/pets/{id}/vaccinations"), t).await;
    let dhpp = &v["data"]["vaccinations"][0];
    assert_eq!((dhpp["vaccine"].as_str(), dhpp["label"].as_str()), (Some("dhpp"), Some("DHPP")));
    assert_eq!((dhpp["lastAdministered"].as_str(), dhpp["dueDate"].as_str()), (Some("2024-03-01"), Some("2024-03-22")));
    assert_eq!(dhpp["status"], "due");
    let (_, reminders) = get(&app, &format!("/reminders?petId={id}"), t).await;
    let r = &reminders["data"]["reminders"][0];
    assert_eq!(r["title"], "DHPP vaccination due – Rex");
    assert_eq!(r["reminderDate"], "2024-03-08T09:00:00Z", "09:00 in the household's zone (UTC here)");
    assert_eq!(
        (r["source"].as_str(), r["notificationMethods"].clone()),
        (Some("vaccination"), json!(["push", "email"]))
    );

    // Rabies on 2024-05-20: due 2025-05-20; up to date, due from 30 days before, overdue after.
    app.state.app.clock.set(datetime!(2024-05-21 12:00 UTC));
    let (status, _) = post(
        &app,
        &format!("/pets/{id}/health-records"),
        t,
        json!({"recordType": "vaccination", "title": "Rabies", "dateAdministered": "2024-05-20"}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let rabies_on = |day: time::Date| {
        let app = &app;
        let id = id.clone();
        async move {
            app.state.app.clock.set(day.with_hms(12, 0, 0).unwrap().assume_utc());
            let (_, v) = get(app, &format!("/pets/{id}/vaccinations"), t).await;
            let s = v["data"]["vaccinations"]
                .as_array()
                .unwrap()
                .iter()
                .find(|s| s["vaccine"] == "rabies")
                .unwrap()
                .clone();
            (
                s["dueDate"].as_str().unwrap().to_owned(),
                s["status"].as_str().unwrap().to_owned(),
                v["data"]["status"].clone(),
            )
        }
    };
    use time::macros::date;
    assert_eq!(rabies_on(date!(2025 - 04 - 19)).await.1, "up_to_date");
    assert_eq!(rabies_on(date!(2025 - 04 - 20)).await.1, "due");
    assert_eq!(rabies_on(date!(2025 - 05 - 20)).await.0, "2025-05-20");
    assert_eq!(rabies_on(date!(2025 - 05 - 20)).await.1, "due");
    let (_, status, overall) = rabies_on(date!(2025 - 05 - 21)).await;
    assert_eq!((status.as_str(), overall), ("overdue", json!("overdue")));
    let (_, pet) = get(&app, &format!("/pets/{id}"), t).await;
    assert_eq!(pet["data"]["vaccineStatus"], "overdue", "the pet's status is its worst series");
    // With validUntil, that is the due date.
    let (status, body) = post(
        &app,
        &format!("/pets/{id}/health-records"),
        t,
        json!({"recordType": "vaccination", "title": "Rabies 3-year", "dateAdministered": "2025-05-21", "validUntil": "2027-05-20"}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (due, status, _) = rabies_on(date!(2025 - 06 - 01)).await;
    assert_eq!((due.as_str(), status.as_str()), ("2027-05-20", "up_to_date"));
    // A month-end dose: 2024-02-29 + 12 months is 2025-02-28.
    let miso = new_pet(&app, t, json!({"name": "Miso", "species": "cat"})).await;
    let mid = miso["id"].as_str().unwrap();
    post(
        &app,
        &format!("/pets/{mid}/health-records"),
        t,
        json!({"recordType": "vaccination", "title": "FeLV", "dateAdministered": "2024-02-29"}),
    )
    .await;
    let (_, v) = get(&app, &format!("/pets/{mid}/vaccinations"), t).await;
    assert_eq!(
        (v["data"]["vaccinations"][0]["label"].as_str(), v["data"]["vaccinations"][0]["dueDate"].as_str()),
        (Some("FeLV"), Some("2025-02-28"))
    );

    // The pet's page: records, the next reminders, the series.
    let (_, pet) = get(&app, &format!("/pets/{id}"), t).await;
    let pet = &pet["data"];
    assert_eq!(pet["healthRecords"]["total"], 3);
    assert_eq!(pet["healthRecords"]["recent"][0]["title"], "Rabies 3-year");
    assert!(
        pet["upcomingReminders"].as_array().unwrap().iter().any(|r| r["title"] == "Rabies vaccination due – Rex"),
        "{pet}"
    );
    assert_eq!(pet["vaccinations"]["status"], "overdue", "the puppy series was never finished");
}

/// The contract's recurrence examples, read as the next occurrences a pet's page lists.
#[tokio::test]
async fn recurrence_of_the_worked_examples() {
    let app = spawn_app().await;
    let ana = signup_in(&app, "Ana", "Europe/Berlin").await;
    let t = &ana.access;
    let upcoming = |pet_body: Value, reminder: Value| {
        let app = &app;
        async move {
            let pet = new_pet(app, t, pet_body).await;
            let mut reminder = reminder;
            reminder["petId"] = pet["id"].clone();
            let (status, body) = post(app, "/reminders", t, reminder).await;
            assert_eq!(status, StatusCode::CREATED, "{body}");
            let (_, page) = get(app, &format!("/pets/{}", pet["id"].as_str().unwrap()), t).await;
            page["data"]["upcomingReminders"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["reminderDate"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    // Monthly from 2024-01-31T09:00 Europe/Berlin: the 31st clamped to the month's last day.
    let monthly = upcoming(
        json!({"name": "A", "species": "dog"}),
        json!({"title": "Pill", "reminderDate": "2024-01-31T09:00:00", "repeatInterval": "monthly"}),
    )
    .await;
    assert_eq!(
        monthly,
        [
            "2024-01-31T08:00:00Z",
            "2024-02-29T08:00:00Z",
            "2024-03-31T07:00:00Z",
            "2024-04-30T07:00:00Z",
            "2024-05-31T07:00:00Z"
        ]
    );
    // Daily from 2024-03-30T09:00 Berlin (08:00Z): 07:00Z once the clocks went forward.
    let daily = upcoming(
        json!({"name": "B", "species": "dog"}),
        json!({"title": "Walk", "reminderDate": "2024-03-30T08:00:00Z", "repeatInterval": "daily"}),
    )
    .await;
    assert_eq!(daily[..2], ["2024-03-30T08:00:00Z", "2024-03-31T07:00:00Z"]);
    // 02:30 on 2024-03-31 does not exist in Berlin: 03:30 local (01:30Z).
    let gap = upcoming(
        json!({"name": "C", "species": "dog"}),
        json!({"title": "Feed", "reminderDate": "2024-03-31T02:30:00", "repeatInterval": "daily"}),
    )
    .await;
    assert_eq!(gap[..2], ["2024-03-31T01:30:00Z", "2024-04-01T00:30:00Z"]);
    // Yearly from 29 February.
    let yearly = upcoming(
        json!({"name": "D", "species": "dog"}),
        json!({"title": "Birthday", "reminderDate": "2024-02-29T10:00:00Z", "repeatInterval": "yearly"}),
    )
    .await;
    let days: Vec<&str> = yearly.iter().map(|d| &d[..10]).collect();
    assert_eq!(days, ["2024-02-29", "2025-02-28", "2026-02-28", "2027-02-28", "2028-02-29"]);
}

#[tokio::test]
async fn reminders_complete_skip_what_was_missed_and_end() {
    let app = spawn_app().await;
    let ana = signup_in(&app, "Ana", "Europe/Berlin").await;
    let t = &ana.access;
    let rex = new_pet(&app, t, json!({"name": "Rex", "species": "dog"})).await;
    // A daily reminder from long ago: completing skips every missed occurrence.
    let (status, body) = post(
        &app,
        "/reminders",
        t,
        json!({"petId": rex["id"], "title": "Walk", "reminderDate": "2024-03-30T09:00:00", "repeatInterval": "daily", "notificationMethods": ["push", "email"]}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let r = &body["data"];
    assert_eq!(
        (r["timezone"].as_str(), r["source"].as_str(), r["petName"].as_str()),
        (Some("Europe/Berlin"), Some("user"), Some("Rex"))
    );
    assert_eq!((r["isCompleted"].as_bool(), r["completedCount"].as_i64()), (Some(false), Some(0)));
    let id = r["id"].as_str().unwrap().to_owned();
    let (_, overdue) = get(&app, "/reminders?status=overdue", t).await;
    assert_eq!(overdue["data"]["pagination"]["total"], 1);
    let (status, body) = post(&app, &format!("/reminders/{id}/complete"), t, json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let done = &body["data"];
    assert_eq!((done["isCompleted"].as_bool(), done["completedCount"].as_i64()), (Some(false), Some(1)));
    assert!(done["lastCompletedAt"].is_string() && done["completedAt"].is_null());
    let next =
        OffsetDateTime::parse(done["reminderDate"].as_str().unwrap(), &time::format_description::well_known::Rfc3339)
            .unwrap();
    let now = OffsetDateTime::now_utc();
    assert!(next > now && next <= now + time::Duration::days(1), "the first occurrence after now: {next}");
    // Petty's own API sees the same.
    let own: Value = app.get(&format!("/api/v1/reminders/{id}"), Some(t)).await.json().await.unwrap();
    assert_eq!(own["completed_count"], 1, "{own}");

    // A one-off: completed for good, by PUT's isCompleted.
    let (_, body) =
        post(&app, "/reminders", t, json!({"title": "Vet call", "reminderDate": "2030-01-01T10:00:00+01:00"})).await;
    let one = body["data"]["id"].as_str().unwrap().to_owned();
    assert_eq!(body["data"]["reminderDate"], "2030-01-01T09:00:00Z");
    assert_eq!(body["data"]["notificationMethods"], json!(["push"]), "push by default");
    let (status, body) = put(&app, &format!("/reminders/{one}"), t, json!({"isCompleted": true})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!((body["data"]["isCompleted"].as_bool(), body["data"]["completedAt"].is_string()), (Some(true), true));
    let (_, done) = get(&app, "/reminders?status=completed", t).await;
    assert_eq!(done["data"]["reminders"][0]["id"], one.as_str());
    // A repeating one with an end: done once no occurrence is left.
    let end_soon = (OffsetDateTime::now_utc() + time::Duration::hours(36))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let start = (OffsetDateTime::now_utc() + time::Duration::hours(1))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let (_, body) = post(
        &app,
        "/reminders",
        t,
        json!({"title": "Drops", "reminderDate": start, "repeatInterval": "daily", "endsAt": end_soon}),
    )
    .await;
    let drops = body["data"]["id"].as_str().unwrap().to_owned();
    let (_, first) = post(&app, &format!("/reminders/{drops}/complete"), t, json!({})).await;
    assert_eq!(first["data"]["isCompleted"], false);
    let (_, second) = post(&app, &format!("/reminders/{drops}/complete"), t, json!({})).await;
    assert_eq!(
        (second["data"]["isCompleted"].as_bool(), second["data"]["completedCount"].as_i64()),
        (Some(true), Some(2))
    );

    // A change of some fields.
    let (status, body) =
        put(&app, &format!("/reminders/{id}"), t, json!({"title": "Long walk", "notificationMethods": ["sms"]})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        (body["data"]["title"].as_str(), body["data"]["notificationMethods"].clone()),
        (Some("Long walk"), json!(["sms"]))
    );
    // Refusals with the contract's words.
    let text = ordered(&[
        ("notificationMethods", json!(["pigeon"])),
        ("repeatInterval", json!("hourly")),
        ("reminderDate", json!("tomorrow")),
        ("petId", json!(uuid::Uuid::new_v4())),
    ]);
    let (status, body) = post_text(&app, "/reminders", Some(t), text).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(fields(&body), ["notificationMethods", "repeatInterval", "reminderDate", "petId", "title"]);
    let messages: Vec<&str> =
        body["error"]["details"].as_array().unwrap().iter().map(|d| d["message"].as_str().unwrap()).collect();
    assert_eq!(
        messages[..3],
        [
            "notificationMethods items must be one of: email, push, sms",
            "repeatInterval must be one of: daily, weekly, monthly, yearly",
            "reminderDate must be an ISO 8601 date-time",
        ]
    );
    let (status, body) = get(&app, "/reminders?status=someday", t).await;
    assert_eq!((status, fields(&body)), (StatusCode::BAD_REQUEST, vec!["status"]));
    // Deleted.
    let (status, _) = delete(&app, &format!("/reminders/{one}"), t).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = delete(&app, &format!("/reminders/{one}"), t).await;
    assert_eq!((status, error(&body).1), (StatusCode::NOT_FOUND, "Reminder not found"));
}

/// Joins `owner`'s household with `role` through an invitation (Petty's own API), then signs
/// in through the profile.
async fn join(app: &TestApp, owner: &Person, role: &str, ends_at: Option<OffsetDateTime>) -> Person {
    let mut invitation = json!({"role": role});
    if let Some(end) = ends_at {
        invitation["ends_at"] = json!(end.format(&time::format_description::well_known::Rfc3339).unwrap());
    }
    let res = app.post_json("/api/v1/household/invitations", &invitation, Some(&owner.access)).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let token = res.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_owned();
    let email = unique_email(role);
    let res = app
        .post_json(
            "/api/v1/auth/register",
            &json!({"email": email, "password": PASSWORD, "display_name": role, "invitation_token": token}),
            None,
        )
        .await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let (status, _, body) = login(app, &email, PASSWORD).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["user"]["role"], role);
    Person {
        email,
        access: body["data"]["accessToken"].as_str().unwrap().to_owned(),
        refresh: body["data"]["refreshToken"].as_str().unwrap().to_owned(),
        id: body["data"]["user"]["id"].as_str().unwrap().to_owned(),
    }
}

/// The contract's role table, row by row, for each role; and a sitter after the end date.
#[tokio::test]
async fn the_role_table() {
    let app = spawn_app().await;
    let owner = signup(&app, "Owner").await;
    let member = join(&app, &owner, "member", None).await;
    let sitter = join(&app, &owner, "sitter", Some(OffsetDateTime::now_utc() + time::Duration::days(2))).await;
    let vet = join(&app, &owner, "vet", None).await;
    let pet = new_pet(&app, &owner.access, json!({"name": "Rex", "species": "dog"})).await;
    let pet_id = pet["id"].as_str().unwrap().to_owned();
    let (_, record) = post(
        &app,
        &format!("/pets/{pet_id}/health-records"),
        &owner.access,
        json!({"recordType": "visit", "title": "Checkup", "dateAdministered": "2025-01-01"}),
    )
    .await;
    let record_id = record["data"]["id"].as_str().unwrap().to_owned();
    // The owner shares Rex with the vet (a vet sees the pets shared with them).
    let res = app
        .client
        .put(app.url(&format!("/api/v1/household/members/{}/pets", vet.id)))
        .bearer_auth(&owner.access)
        .json(&json!({"pet_ids": [pet_id]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);

    // (who, [owner, member, sitter, vet]) for each row of the table.
    let people = [&owner, &member, &sitter, &vet];
    let allowed = |status: StatusCode| status.is_success();
    let mut rows: Vec<(&str, Vec<bool>)> = Vec::new();
    let mut row = Vec::new();
    for p in people {
        let ok = allowed(get(&app, &format!("/pets/{pet_id}"), &p.access).await.0)
            && allowed(get(&app, &format!("/pets/{pet_id}/health-records"), &p.access).await.0)
            && allowed(get(&app, &format!("/pets/{pet_id}/vaccinations"), &p.access).await.0);
        row.push(ok);
    }
    rows.push(("read pets, records, vaccinations", row));
    let mut row = Vec::new();
    for p in people {
        row.push(
            allowed(get(&app, "/reminders", &p.access).await.0)
                && allowed(get(&app, "/calendar/events", &p.access).await.0),
        );
    }
    rows.push(("read reminders, calendar", row));
    let mut row = Vec::new();
    for p in people {
        let a = allowed(post(&app, "/pets", &p.access, json!({"name": "New"})).await.0);
        let b = allowed(put(&app, &format!("/pets/{pet_id}"), &p.access, json!({"notes": "seen"})).await.0);
        let c = allowed(
            post(
                &app,
                &format!("/pets/{pet_id}/health-records"),
                &p.access,
                json!({"recordType": "visit", "title": "x", "dateAdministered": "2025-01-02"}),
            )
            .await
            .0,
        );
        let d = allowed(
            post(&app, "/reminders", &p.access, json!({"title": "x", "reminderDate": "2030-01-01T09:00:00Z"})).await.0,
        );
        assert!(a == b && b == c && c == d, "one answer for the whole row");
        row.push(a);
    }
    rows.push(("create / update pets, records, reminders", row));
    let mut row = Vec::new();
    for p in people {
        let (_, r) =
            post(&app, "/reminders", &owner.access, json!({"title": "x", "reminderDate": "2030-01-01T09:00:00Z"}))
                .await;
        let id = r["data"]["id"].as_str().unwrap().to_owned();
        row.push(allowed(post(&app, &format!("/reminders/{id}/complete"), &p.access, json!({})).await.0));
    }
    rows.push(("complete a reminder", row));
    let mut row = Vec::new();
    for p in people {
        row.push(allowed(delete(&app, &format!("/health-records/{record_id}"), &p.access).await.0));
    }
    rows.push(("delete health records", row));
    let mut row = Vec::new();
    for p in people {
        row.push(
            allowed(get(&app, "/subscription/status", &p.access).await.0)
                && allowed(get(&app, "/webhooks", &p.access).await.0),
        );
    }
    rows.push(("subscription, webhooks", row));
    let mut row = Vec::new();
    for p in people {
        let victim = new_pet(&app, &owner.access, json!({"name": "Temp"})).await;
        row.push(allowed(delete(&app, &format!("/pets/{}", victim["id"].as_str().unwrap()), &p.access).await.0));
    }
    rows.push(("delete pets", row));
    assert_eq!(
        rows,
        [
            ("read pets, records, vaccinations", vec![true, true, true, true]),
            ("read reminders, calendar", vec![true, true, true, false]),
            ("create / update pets, records, reminders", vec![true, true, false, false]),
            ("complete a reminder", vec![true, true, true, false]),
            ("delete health records", vec![true, false, false, false]),
            ("subscription, webhooks", vec![true, false, false, false]),
            ("delete pets", vec![true, false, false, false]),
        ]
    );
    // The refusal's words.
    let (status, body) = post(&app, "/pets", &vet.access, json!({"name": "New"})).await;
    assert_eq!(
        (status, error(&body)),
        (StatusCode::FORBIDDEN, ("INSUFFICIENT_PERMISSIONS", "Your role does not allow this action"))
    );

    // A sitter whose time is over.
    let brief = join(&app, &owner, "sitter", Some(OffsetDateTime::now_utc() + time::Duration::seconds(3))).await;
    assert_eq!(get(&app, "/pets", &brief.access).await.0, StatusCode::OK);
    tokio::time::sleep(std::time::Duration::from_millis(3500)).await;
    let (status, body) = get(&app, "/pets", &brief.access).await;
    assert_eq!(
        (status, error(&body)),
        (StatusCode::FORBIDDEN, ("INSUFFICIENT_PERMISSIONS", "Your access to this household has ended"))
    );
    let (status, _, body) = login(&app, &brief.email, PASSWORD).await;
    assert_eq!((status, error(&body).1), (StatusCode::FORBIDDEN, "Your access to this household has ended"));
    let (status, _, body) = call(
        &app,
        Method::POST,
        &format!("{P}/auth/refresh-token"),
        None,
        Some(json!({"refreshToken": brief.refresh})),
    )
    .await;
    assert_eq!((status, error(&body).1), (StatusCode::FORBIDDEN, "Your access to this household has ended"));
}

/// The feed's header lines exactly as the contract lists them, its events, ETag and 304, and
/// a revoked token; sync; import and re-import.
#[tokio::test]
async fn the_calendar_feed_sync_and_import() {
    let app = spawn_app().await;
    let ana = signup(&app, "Ana").await;
    let t = &ana.access;
    let rex = new_pet(&app, t, json!({"name": "Rex", "species": "dog"})).await;
    let start = (OffsetDateTime::now_utc() + time::Duration::days(1))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    post(
        &app,
        "/reminders",
        t,
        json!({"petId": rex["id"], "title": "Walk; then treat", "reminderDate": start, "repeatInterval": "weekly"}),
    )
    .await;
    post(&app, &format!("/pets/{}/health-records", rex["id"].as_str().unwrap()), t, json!({"recordType": "vaccination", "title": "Rabies", "dateAdministered": petty_core::pets::format_date(OffsetDateTime::now_utc().date())})).await;

    // Sync publishes the feed the first time.
    let (status, body) =
        post(&app, "/calendar/sync", t, json!({"calendarProvider": "google", "syncDirection": "export"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let sync = &body["data"];
    assert_eq!((sync["status"].as_str(), sync["eventsImported"].as_i64()), (Some("completed"), Some(0)));
    assert!(sync["syncId"].is_string() && sync["lastSyncTime"].as_str().unwrap().ends_with('Z'));
    let feed_url = sync["feedUrl"].as_str().unwrap().to_owned();
    let (_, again) = post(&app, "/calendar/sync", t, json!({"calendarProvider": "google"})).await;
    assert_eq!(again["data"]["feedUrl"], Value::Null, "an existing feed keeps its address");

    let path = &feed_url[feed_url.find("/compat/").unwrap()..];
    let res = app.client.get(app.url(path)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "text/calendar; charset=utf-8");
    let etag = res.headers()["etag"].to_str().unwrap().to_owned();
    let text = res.text().await.unwrap();
    let lines: Vec<&str> = text.split("\r\n").collect();
    assert_eq!(
        lines[..7],
        [
            "BEGIN:VCALENDAR",
            "VERSION:2.0",
            "PRODID:-//Petty//Pet Care Calendar//EN",
            "CALSCALE:GREGORIAN",
            "METHOD:PUBLISH",
            "X-WR-CALNAME:Petty – Ana Example's household",
            "REFRESH-INTERVAL;VALUE=DURATION:PT1H",
        ]
    );
    assert!(!text.replace("\r\n", "").contains('\n'), "every line ends in CRLF");
    assert!(text.contains("SUMMARY:Walk\\; then treat – Rex"), "TEXT escaped: {text}");
    assert!(text.contains("CATEGORIES:REMINDER") && text.contains("CATEGORIES:VACCINATION"));
    let vevents = text.matches("BEGIN:VEVENT").count();
    assert_eq!(sync["eventsExported"], vevents, "sync counts the feed's events");
    assert!(text.contains(&format!("UID:vaccine-{}-rabies@petty", rex["id"].as_str().unwrap())));
    let res = app.client.get(app.url(path)).header("if-none-match", &etag).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NOT_MODIFIED);

    // The same items as JSON.
    let (_, events) = get(&app, "/calendar/events", t).await;
    let events = events["data"]["events"].as_array().unwrap().clone();
    assert_eq!(events.len(), vevents);
    let first = &events[0];
    assert_eq!((first["calendarSource"].as_str(), &first["location"]), (Some("petty"), &Value::Null));
    assert_eq!(first["title"], "Walk; then treat – Rex");
    assert!(first["reminderId"].is_string() && first["startTime"].as_str().unwrap().ends_with('Z'));

    // A new feed replaces the token: the old address is gone.
    let (status, body) = post(&app, "/calendar/feed", t, json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["data"]["feedUrl"].as_str().unwrap().contains(body["data"]["token"].as_str().unwrap()));
    let res = app.client.get(app.url(path)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let body: Value = res.json().await.unwrap();
    assert_eq!(error(&body).0, "RESOURCE_NOT_FOUND");

    // Import, then import again: updated, not doubled; an unfollowable rule skipped.
    let soon = (OffsetDateTime::now_utc() + time::Duration::days(10)).date();
    let dtstart = format!("{:04}{:02}{:02}T090000Z", soon.year(), u8::from(soon.month()), soon.day());
    let ics = format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Test//EN\r\n\
BEGIN:VEVENT\r\nUID:vet-1@example\r\nDTSTART:{dtstart}\r\nSUMMARY:Vet visit\r\nRRULE:FREQ=MONTHLY\r\nEND:VEVENT\r\n\
BEGIN:VEVENT\r\nUID:odd-1@example\r\nDTSTART:{dtstart}\r\nSUMMARY:Odd\r\nRRULE:FREQ=WEEKLY;INTERVAL=2\r\nEND:VEVENT\r\n\
END:VCALENDAR\r\n"
    );
    let import = |app: &TestApp| {
        app.client
            .post(app.url(&format!("{P}/calendar/import")))
            .bearer_auth(t)
            .header("content-type", "text/calendar")
            .body(ics.clone())
            .send()
    };
    let body: Value = import(&app).await.unwrap().json().await.unwrap();
    assert_eq!((body["data"]["imported"].as_i64(), body["data"]["updated"].as_i64()), (Some(1), Some(0)), "{body}");
    assert_eq!(body["data"]["skipped"][0]["uid"], "odd-1@example");
    let body: Value = import(&app).await.unwrap().json().await.unwrap();
    assert_eq!((body["data"]["imported"].as_i64(), body["data"]["updated"].as_i64()), (Some(0), Some(1)));
    let (_, events) = get(&app, "/calendar/events", t).await;
    let imported: Vec<&Value> =
        events["data"]["events"].as_array().unwrap().iter().filter(|e| e["externalId"] == "vet-1@example").collect();
    assert!(!imported.is_empty(), "an imported event keeps its UID as externalId");
    let (_, reminders) = get(&app, "/reminders?status=pending", t).await;
    let vet =
        reminders["data"]["reminders"].as_array().unwrap().iter().find(|r| r["title"] == "Vet visit").unwrap().clone();
    assert_eq!(vet["repeatInterval"], "monthly");
}

/// The profile's events reach an owner's webhook through the outbox, signed in the header over
/// the whole body and with the body's own `signature`.
#[tokio::test]
async fn webhooks_are_told_of_the_profiles_events() {
    let receiver = crate::fakes::webhook_receiver().await;
    let app =
        spawn_app_with(|c| c.notify.outbound = petty_http::notify::OutboundPolicy::new(&["127.0.0.1"]).unwrap()).await;
    let ana = signup(&app, "Ana").await;
    let t = &ana.access;
    let (status, body) =
        post(&app, "/webhooks", t, json!({"url": receiver.url, "events": ["pet.created", "reminder.completed"]})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let secret = body["data"]["secret"].as_str().unwrap().to_owned();
    *receiver.secret.lock().unwrap() = secret.clone();
    let hook_id = body["data"]["id"].as_str().unwrap().to_owned();
    let (_, listed) = get(&app, "/webhooks", t).await;
    assert_eq!(listed["data"]["webhooks"][0]["events"], json!(["pet.created", "reminder.completed"]));
    assert!(listed["data"]["webhooks"][0].get("secret").is_none(), "shown once");
    let (status, body) = post(&app, "/webhooks", t, json!({"url": receiver.url, "events": ["pet.eaten"]})).await;
    assert_eq!((status, fields(&body)), (StatusCode::BAD_REQUEST, vec!["events"]));
    let (status, body) =
        post(&app, "/webhooks", t, json!({"url": "http://10.1.2.3/hook", "events": ["pet.created"]})).await;
    assert_eq!((status, fields(&body)), (StatusCode::BAD_REQUEST, vec!["url"]));

    let rex = new_pet(&app, t, json!({"name": "Rex", "species": "dog"})).await;
    new_pet(&app, t, json!({"name": "Miso", "species": "cat"})).await;
    put(&app, &format!("/pets/{}", rex["id"].as_str().unwrap()), t, json!({"notes": "not asked for"})).await;
    petty_jobs::outbox::deliver_due(&app.state.app).await;
    let got = receiver.got.lock().unwrap().clone();
    assert_eq!(got.len(), 2, "two pets made, the update not asked for: {got:?}");
    for (verified, body) in &got {
        assert!(verified, "Petty-Signature verifies over the whole body");
        assert_eq!(body["event"], "pet.created");
        let expected =
            hmac_hex(&secret, &format!("{}.{}", body["id"].as_str().unwrap(), body["timestamp"].as_str().unwrap()));
        assert_eq!(body["signature"], expected.as_str(), "the body's signature is HMAC(secret, id.timestamp)");
    }
    let mut names: Vec<&str> = got.iter().map(|(_, b)| b["data"]["name"].as_str().unwrap()).collect();
    names.sort();
    assert_eq!(names, ["Miso", "Rex"], "the event's data is the pet as the profile shows it");
    assert_ne!(got[0].1["id"], got[1].1["id"], "each event its own id");
    // An alarm webhook of Petty's own is not told of these, nor these of alarms.
    let rows =
        app.store.notifications(petty_core::ids::HouseholdId(household_of(&app, t).await), None, 50).await.unwrap();
    assert!(rows.iter().all(|n| n.subject.starts_with("pet.")), "{rows:?}");

    let (status, _) = delete(&app, &format!("/webhooks/{hook_id}"), t).await;
    assert_eq!(status, StatusCode::OK);
    new_pet(&app, t, json!({"name": "Late", "species": "dog"})).await;
    petty_jobs::outbox::deliver_due(&app.state.app).await;
    assert_eq!(receiver.got.lock().unwrap().len(), 2, "a deleted webhook hears nothing");
}

fn hmac_hex(secret: &str, message: &str) -> String {
    use hmac::{KeyInit, Mac};
    let mut mac = <hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(message.as_bytes());
    mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect()
}

async fn household_of(app: &TestApp, token: &str) -> uuid::Uuid {
    let me: Value = app.get("/api/v1/me", Some(token)).await.json().await.unwrap();
    me["household_id"].as_str().unwrap().parse().unwrap()
}

#[tokio::test]
async fn billing_off_the_subscription_data_export_and_account_deletion() {
    let app = spawn_app().await;
    let ana = signup(&app, "Ana").await;
    let t = &ana.access;
    new_pet(&app, t, json!({"name": "Rex", "species": "dog"})).await;
    let (status, body) = get(&app, "/subscription/status", t).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let s = &body["data"];
    assert_eq!((s["subscriptionTier"].as_str(), s["status"].as_str()), (Some("enterprise"), Some("active")));
    assert_eq!(
        (&s["currentPeriodStart"], &s["currentPeriodEnd"], &s["cancelAtPeriodEnd"]),
        (&Value::Null, &Value::Null, &json!(false))
    );
    assert_eq!(
        s["features"],
        json!({"maxPets": "unlimited", "maxHealthRecords": "unlimited", "calendarSync": true, "prioritySupport": true, "advancedReports": true})
    );
    assert_eq!(s["usage"]["petsCount"], 1);
    let (status, body) = post(
        &app,
        "/subscription/upgrade",
        t,
        json!({"tier": "premium", "billingPeriod": "monthly", "paymentMethodId": "pm_card_visa"}),
    )
    .await;
    assert_eq!(
        (status, error(&body)),
        (StatusCode::CONFLICT, ("BILLING_DISABLED", "Billing is not enabled on this server"))
    );
}

/// `GET /users/export` is Petty's export (three an hour), with the profile's own fields in
/// `profile.json`; `DELETE /users/account` is Petty's account deletion, refused with a wrong
/// password and for the sole owner of a shared household; afterwards the tokens are refused, the
/// pet is gone and the address registers again.
#[tokio::test]
async fn the_data_export_and_account_deletion() {
    use std::io::Read;
    let app = spawn_app().await;
    let ana = signup(&app, "Ana").await;
    let t = &ana.access;
    put(&app, "/users/profile", t, json!({"phone": "+14155550123"})).await;
    let rex = new_pet(&app, t, json!({"name": "Rex", "species": "dog"})).await;
    let res = app.client.get(app.url(&format!("{P}/users/export"))).bearer_auth(t).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "application/zip");
    let today = OffsetDateTime::now_utc().date();
    let expected = format!(
        "attachment; filename=\"petty-export-{}-{:04}{:02}{:02}.zip\"",
        ana.id,
        today.year(),
        u8::from(today.month()),
        today.day()
    );
    assert_eq!(res.headers()["content-disposition"], expected.as_str());
    let bytes = res.bytes().await.unwrap();
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes.to_vec())).expect("a zip");
    let mut read = |name: &str| {
        let mut text = String::new();
        zip.by_name(name).unwrap_or_else(|_| panic!("{name}")).read_to_string(&mut text).unwrap();
        text
    };
    let profile: Value = serde_json::from_str(&read("profile.json")).unwrap();
    assert_eq!(
        (profile["user"]["first_name"].as_str(), profile["user"]["phone"].as_str()),
        (Some("Ana"), Some("+14155550123"))
    );
    assert!(read("pets.json").contains("Rex"));
    let manifest: Value = serde_json::from_str(&read("manifest.json")).unwrap();
    assert_eq!(manifest["format"], "petty-export");
    for _ in 0..2 {
        assert_eq!(
            app.client.get(app.url(&format!("{P}/users/export"))).bearer_auth(t).send().await.unwrap().status(),
            StatusCode::OK
        );
    }
    let (status, headers, body) = call(&app, Method::GET, &format!("{P}/users/export"), Some(t), None).await;
    assert_eq!((status, error(&body).0), (StatusCode::TOO_MANY_REQUESTS, "RATE_LIMIT_EXCEEDED"), "three an hour");
    assert!(headers.contains_key("retry-after"));

    // The sole owner of a household others belong to may not leave it orphaned.
    let bo = signup(&app, "Bo").await;
    join(&app, &bo, "member", None).await;
    let (status, _, body) = call(
        &app,
        Method::DELETE,
        &format!("{P}/users/account"),
        Some(&bo.access),
        Some(json!({"password": PASSWORD})),
    )
    .await;
    assert_eq!(
        (status, error(&body)),
        (StatusCode::CONFLICT, ("CONFLICT", "Transfer ownership or remove the other members first"))
    );

    let (status, _, body) =
        call(&app, Method::DELETE, &format!("{P}/users/account"), Some(t), Some(json!({"password": "wrong one 1"})))
            .await;
    assert_eq!((status, error(&body).0), (StatusCode::UNAUTHORIZED, "INVALID_CREDENTIALS"));
    assert_eq!(
        get(&app, &format!("/pets/{}", rex["id"].as_str().unwrap()), t).await.0,
        StatusCode::OK,
        "nothing changed"
    );
    let (status, _, body) =
        call(&app, Method::DELETE, &format!("{P}/users/account"), Some(t), Some(json!({"password": PASSWORD}))).await;
    assert_eq!((status, &body["data"]), (StatusCode::OK, &json!({"deleted": true})), "{body}");
    assert_eq!(get(&app, "/pets", t).await.0, StatusCode::UNAUTHORIZED);
    let (status, _, _) =
        call(&app, Method::POST, &format!("{P}/auth/refresh-token"), None, Some(json!({"refreshToken": ana.refresh})))
            .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _, _) = call(
        &app,
        Method::POST,
        &format!("{P}/auth/register"),
        None,
        Some(json!({"email": ana.email, "password": PASSWORD, "firstName": "Ana", "lastName": "Again"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "the address registers again");
}

/// A pet, record and reminder made here are the same in `/api/v1`, and the other way round,
/// on both engines.
#[tokio::test]
async fn what_is_made_here_is_the_same_in_petty_on_both_engines() {
    for engine in [Engine::Sqlite, Engine::Postgres] {
        let Some(app) = spawn_app_on(engine).await else {
            eprintln!("skipped: PostgreSQL for the profile's round trip (set PETTY_TEST_POSTGRES_URL)");
            continue;
        };
        let ana = signup(&app, "Ana").await;
        let t = &ana.access;
        let mine = new_pet(&app, t, json!({"name": "Rex", "species": "dog", "search": "ignored"})).await;
        let pet_id = mine["id"].as_str().unwrap();
        let (_, record) = post(
            &app,
            &format!("/pets/{pet_id}/health-records"),
            t,
            json!({"recordType": "lab", "title": "Blood", "dateAdministered": "2025-01-01"}),
        )
        .await;
        let (_, reminder) = post(
            &app,
            "/reminders",
            t,
            json!({"petId": pet_id, "title": "Pill", "reminderDate": "2030-01-01T09:00:00Z"}),
        )
        .await;
        let own_record: Value = app
            .get(&format!("/api/v1/records/{}", record["data"]["id"].as_str().unwrap()), Some(t))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(
            (own_record["kind"].as_str(), own_record["pet_id"].as_str()),
            (Some("test_result"), Some(pet_id)),
            "{engine:?}: {own_record}"
        );
        let own_reminder: Value = app
            .get(&format!("/api/v1/reminders/{}", reminder["data"]["id"].as_str().unwrap()), Some(t))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(own_reminder["pet_name"], "Rex", "{engine:?}: {own_reminder}");

        // The other way.
        let theirs = app.create_pet(t, json!({"name": "Miso", "species": "cat"})).await;
        let their_id = theirs["id"].as_str().unwrap();
        let res = app
            .post_json(
                &format!("/api/v1/pets/{their_id}/records"),
                &json!({"kind": "allergy", "title": "Chicken", "date": "2025-02-02"}),
                Some(t),
            )
            .await;
        assert_eq!(res.status(), StatusCode::CREATED);
        let res = app
            .post_json(
                "/api/v1/reminders",
                &json!({"pet_id": their_id, "title": "Brush", "at": "2030-02-02T10:00:00Z"}),
                Some(t),
            )
            .await;
        assert_eq!(res.status(), StatusCode::CREATED);
        let (_, records) = get(&app, &format!("/pets/{their_id}/health-records"), t).await;
        assert_eq!(
            (records["data"]["records"][0]["recordType"].as_str(), records["data"]["records"][0]["title"].as_str()),
            (Some("allergy"), Some("Chicken"))
        );
        let (_, reminders) = get(&app, &format!("/reminders?petId={their_id}"), t).await;
        assert_eq!(reminders["data"]["reminders"][0]["petName"], "Miso");
        let (_, pets) = get(&app, "/pets?search=mi", t).await;
        assert_eq!(pets["data"]["pets"][0]["name"], "Miso", "{engine:?}");
    }
}

/// MFA by the contract: setup's secret and URL, on only after a valid code, then needed at
/// sign-in; RFC 6238's vectors (secret "12345678901234567890") through verify, login and
/// disable on the days they name; each code once; backup codes once.
#[tokio::test]
async fn mfa_with_the_rfc_6238_vectors_through_login() {
    let app = spawn_app().await;
    let ana = signup(&app, "Ana").await;
    let (status, body) = post(&app, "/auth/mfa/setup", &ana.access, json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let secret = body["data"]["secret"].as_str().unwrap();
    assert!(
        secret.len() == 32 && secret.chars().all(|c| c.is_ascii_uppercase() || ('2'..='7').contains(&c)),
        "{secret}"
    );
    let url = body["data"]["otpauthUrl"].as_str().unwrap();
    assert!(url.starts_with("otpauth://totp/Petty:"), "{url}");
    assert!(url.ends_with(&format!("?secret={secret}&issuer=Petty&algorithm=SHA1&digits=6&period=30")), "{url}");
    let (status, body) = post(&app, "/auth/mfa/verify", &ana.access, json!({"code": "000000"})).await;
    assert_eq!((status, error(&body)), (StatusCode::UNAUTHORIZED, ("INVALID_MFA_CODE", "Invalid authentication code")));
    assert_eq!(login(&app, &ana.email, PASSWORD).await.0, StatusCode::OK, "not on before a valid code");

    // The RFC's secret in place of the random one, and its vectors on their days.
    let user_id = petty_core::ids::UserId(ana.id.parse().unwrap());
    let sealed = app.state.app.mfa.seal(b"12345678901234567890");
    app.store.set_pending_mfa_secret(user_id, &sealed).await.unwrap();
    let at = |unix: i64| app.state.app.clock.set(OffsetDateTime::from_unix_timestamp(unix).unwrap());
    at(59);
    let (status, body) = post(&app, "/auth/mfa/verify", &ana.access, json!({"code": "287082"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["enabled"], true);
    let backup: Vec<String> =
        body["data"]["backupCodes"].as_array().unwrap().iter().map(|c| c.as_str().unwrap().to_owned()).collect();
    assert_eq!(backup.len(), 10);
    let shaped = |c: &str| {
        c.len() == 9
            && c.char_indices()
                .all(|(i, ch)| if i == 4 { ch == '-' } else { ch.is_ascii_lowercase() || ('2'..='7').contains(&ch) })
    };
    assert!(backup.iter().all(|c| shaped(c)), "{backup:?}");

    let with_code = |code: Option<&str>| {
        let mut body = json!({"email": ana.email, "password": PASSWORD});
        if let Some(c) = code {
            body["mfaCode"] = json!(c);
        }
        let app = &app;
        async move {
            let (s, _, b) = call(app, Method::POST, &format!("{P}/auth/login"), None, Some(body)).await;
            (s, b)
        }
    };
    let (status, body) = with_code(None).await;
    assert_eq!(
        (status, error(&body)),
        (StatusCode::UNAUTHORIZED, ("MFA_REQUIRED", "Multi-factor authentication code required"))
    );
    at(1_111_111_109);
    let (status, body) = with_code(Some("081804")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["user"]["mfaEnabled"], true);
    let (status, body) = with_code(Some("081804")).await;
    assert_eq!((status, error(&body).0), (StatusCode::UNAUTHORIZED, "INVALID_MFA_CODE"), "each code once");
    at(1_234_567_890);
    assert_eq!(with_code(Some("005924")).await.0, StatusCode::OK);
    assert_eq!(with_code(Some(&backup[3])).await.0, StatusCode::OK, "a backup code");
    assert_eq!(with_code(Some(&backup[3])).await.0, StatusCode::UNAUTHORIZED, "used once");

    // Off with the password and a fresh code.
    at(2_000_000_000);
    let (status, body) =
        post(&app, "/auth/mfa/disable", &ana.access, json!({"password": "wrong one 1", "code": "279037"})).await;
    assert_eq!((status, error(&body).0), (StatusCode::UNAUTHORIZED, "INVALID_CREDENTIALS"));
    let (status, body) =
        post(&app, "/auth/mfa/disable", &ana.access, json!({"password": PASSWORD, "code": "279037"})).await;
    assert_eq!((status, &body["data"]), (StatusCode::OK, &json!({"enabled": false})), "{body}");
    assert_eq!(with_code(None).await.0, StatusCode::OK);
}

/// Billing on (a wire-level fake of Stripe): a new household is free with the free plan's
/// limits in the contract's words and its hourly allowance; a declined card is 402 with
/// Stripe's message; an upgrade answers the contract's shape and lifts the limits; the Stripe
/// webhook with the contract's signature vector, a replay, and each refusal in Stripe's words.
#[tokio::test]
async fn billing_on_plans_limits_an_upgrade_and_the_stripe_signature_vector() {
    use crate::fake_stripe::{self, DECLINED_CARD, GOOD_CARD, WEBHOOK_SECRET};
    let fake = fake_stripe::stripe().await;
    let settings = fake.settings(std::time::Duration::from_secs(1));
    let app = spawn_app_with(move |c| c.billing = settings).await;
    let ana = signup(&app, "Ana").await;
    let t = &ana.access;
    let (status, headers, body) = call(&app, Method::GET, &format!("{P}/subscription/status"), Some(t), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(headers["x-ratelimit-limit"], "1000", "the free tier's hourly allowance");
    let s = &body["data"];
    assert_eq!((s["subscriptionTier"].as_str(), s["status"].as_str()), (Some("free"), Some("active")));
    assert_eq!(
        s["features"],
        json!({"maxPets": 3, "maxHealthRecords": 100, "calendarSync": false, "prioritySupport": false, "advancedReports": false})
    );
    for i in 0..3 {
        new_pet(&app, t, json!({"name": format!("Pet {i}")})).await;
    }
    let (status, body) = post(&app, "/pets", t, json!({"name": "Fourth"})).await;
    assert_eq!(
        (status, error(&body)),
        (StatusCode::FORBIDDEN, ("INSUFFICIENT_PERMISSIONS", "Your plan allows up to 3 pets"))
    );
    let (status, body) = post(&app, "/calendar/feed", t, json!({})).await;
    assert_eq!(
        (status, error(&body)),
        (StatusCode::FORBIDDEN, ("INSUFFICIENT_PERMISSIONS", "Premium subscription required for this feature"))
    );

    let upgrade = |card: &str| {
        let body = json!({"tier": "premium", "billingPeriod": "monthly", "paymentMethodId": card});
        post(&app, "/subscription/upgrade", t, body)
    };
    let (status, body) = upgrade(DECLINED_CARD).await;
    assert_eq!((status, error(&body)), (StatusCode::PAYMENT_REQUIRED, ("PAYMENT_FAILED", "Your card was declined.")));
    let (status, body) = post(
        &app,
        "/subscription/upgrade",
        t,
        json!({"tier": "gold", "billingPeriod": "monthly", "paymentMethodId": GOOD_CARD}),
    )
    .await;
    assert_eq!((status, fields(&body)), (StatusCode::BAD_REQUEST, vec!["tier"]));
    let (status, body) = upgrade(GOOD_CARD).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let d = &body["data"];
    assert!(d["subscriptionId"].as_str().unwrap().starts_with("sub_"));
    assert_eq!((d["status"].as_str(), d["tier"].as_str()), (Some("active"), Some("premium")));
    assert_eq!((d["amount"].as_f64(), d["currency"].as_str()), (Some(9.99), Some("USD")));
    assert_eq!(d["nextBillingDate"].as_str().map(str::len), Some(10));
    new_pet(&app, t, json!({"name": "Fourth"})).await;
    let (_, body) = get(&app, "/subscription/status", t).await;
    assert_eq!(
        (body["data"]["subscriptionTier"].as_str(), body["data"]["features"]["maxPets"].as_i64()),
        (Some("premium"), Some(10))
    );

    // The contract's vector: secret whsec_test_secret, t = 1700000000.
    assert_eq!(WEBHOOK_SECRET, "whsec_test_secret");
    let vector = r#"{"id":"evt_1","type":"invoice.paid"}"#;
    let signed = "t=1700000000,v1=46dc069361a7691082640523fa33fe5d6c8c88d5f5e257cdf8cf11539d166595";
    let hook = |header: Option<&str>| {
        let mut req = app.client.post(app.url(&format!("{P}/billing/stripe/webhook"))).body(vector);
        if let Some(h) = header {
            req = req.header("stripe-signature", h);
        }
        async move {
            let res = req.send().await.unwrap();
            (res.status(), res.json::<Value>().await.unwrap())
        }
    };
    app.state.app.clock.set(OffsetDateTime::from_unix_timestamp(1_700_000_100).unwrap());
    let (status, body) = hook(Some(signed)).await;
    assert_eq!((status, &body["data"]), (StatusCode::OK, &json!({"received": true})), "{body}");
    let (status, body) = hook(Some(signed)).await;
    assert_eq!((status, &body["data"]), (StatusCode::OK, &json!({"received": true, "duplicate": true})));
    for (header, message) in [
        (None, "Missing Stripe-Signature header"),
        (Some("t=1700000000,v1=00"), "No signatures found matching the expected signature for payload"),
    ] {
        let (status, body) = hook(header).await;
        assert_eq!((status, error(&body)), (StatusCode::BAD_REQUEST, ("INVALID_SIGNATURE", message)));
    }
    app.state.app.clock.set(OffsetDateTime::from_unix_timestamp(1_700_000_301).unwrap());
    let (status, body) = hook(Some(signed)).await;
    assert_eq!(
        (status, error(&body)),
        (StatusCode::BAD_REQUEST, ("INVALID_SIGNATURE", "Timestamp outside the tolerance zone"))
    );
}

/// Uploads by the contract: the upload URL's answer and refusals, the bytes at the profile's
/// one-time URL (a second use refused in the envelope), the confirmation with the contract's
/// image sizes (a 4000 × 3000 JPEG, the same with EXIF orientation 6, a 100 × 50 PNG), a pet's
/// and a person's photo, a PDF attached to a record, and bytes that are not their type.
#[tokio::test]
async fn uploads_with_the_contracts_image_sizes() {
    use crate::files::{dimensions, jpeg, png, with_exif};
    let app = spawn_app_with(crate::files::patient).await;
    let ana = signup(&app, "Ana").await;
    let t = &ana.access;
    let rex = new_pet(&app, t, json!({"name": "Rex", "species": "dog"})).await;
    let rex_id = rex["id"].as_str().unwrap().to_owned();
    let ask = |filename: &str, content_type: &str, purpose: &str, size: Option<u64>| {
        let mut body = json!({"filename": filename, "contentType": content_type, "purpose": purpose});
        if let Some(s) = size {
            body["size"] = json!(s);
        }
        post(&app, "/uploads/presigned-url", t, body)
    };
    let (status, body) = ask("notes.txt", "text/plain", "health_record_attachment", None).await;
    assert_eq!(
        (status, error(&body)),
        (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            (
                "UNSUPPORTED_MEDIA_TYPE",
                "contentType must be one of: image/jpeg, image/png, image/webp, application/pdf"
            )
        )
    );
    let (status, body) = ask("big.jpg", "image/jpeg", "pet_profile_photo", Some(10 * 1024 * 1024 + 1)).await;
    assert_eq!(
        (status, error(&body)),
        (StatusCode::PAYLOAD_TOO_LARGE, ("PAYLOAD_TOO_LARGE", "File exceeds the 10 MB limit"))
    );
    let (status, body) = ask("../../my dog!.jpg", "image/jpeg", "pet_profile_photo", None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let made = body["data"].clone();
    let key = made["fileKey"].as_str().unwrap().to_owned();
    assert!(key.starts_with("uploads/") && key.ends_with("/my_dog_.jpg"), "{key}");
    assert_eq!(
        (made["expiresIn"].as_i64(), made["maxFileSize"].as_i64(), made["method"].as_str()),
        (Some(300), Some(10_485_760), Some("PUT"))
    );
    assert_eq!(made["fields"], json!({"key": key, "Content-Type": "image/jpeg"}));
    let upload_url = made["uploadUrl"].as_str().unwrap();
    let target =
        app.url(&upload_url[upload_url.find("/compat/petmgmt/api/v1/uploads/").expect("the profile's own URL")..]);
    let put_bytes = |content_type: &str, bytes: Vec<u8>| {
        app.client.put(target.clone()).header("content-type", content_type).body(bytes).send()
    };
    assert_eq!(put_bytes("image/jpeg", jpeg(4000, 3000)).await.unwrap().status(), StatusCode::NO_CONTENT);
    let res = put_bytes("image/jpeg", jpeg(10, 10)).await.unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let body: Value = res.json().await.unwrap();
    assert_eq!(error(&body).0, "UPLOAD_URL_EXPIRED", "a second use");
    let (status, body) =
        post(&app, "/uploads/confirm", t, json!({"fileKey": key, "purpose": "pet_profile_photo", "petId": rex_id}))
            .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let photo = &body["data"];
    assert_eq!((photo["width"].as_u64(), photo["height"].as_u64()), (Some(2048), Some(1536)));
    assert_eq!((photo["processed"].as_bool(), photo["contentType"].as_str()), (Some(true), Some("image/jpeg")));
    let served = |link: String| {
        let app = &app;
        async move {
            let res = app.client.get(app.url(&link)).send().await.unwrap();
            assert_eq!(res.status(), StatusCode::OK, "{link}");
            dimensions(&res.bytes().await.unwrap())
        }
    };
    assert_eq!(served(photo["thumbnailUrl"].as_str().unwrap().to_owned()).await, (256, 192));
    // The pet's photo, as a signed link that needs no header.
    let (_, pet) = get(&app, &format!("/pets/{rex_id}"), t).await;
    assert_eq!(served(pet["data"]["profilePhotoUrl"].as_str().unwrap().to_owned()).await, (2048, 1536));

    // The three steps for the other examples.
    let three =
        |filename: &'static str, content_type: &'static str, purpose: &'static str, bytes: Vec<u8>, extra: Value| {
            let app = &app;
            async move {
                let (_, made) = post(
                    app,
                    "/uploads/presigned-url",
                    t,
                    json!({"filename": filename, "contentType": content_type, "purpose": purpose}),
                )
                .await;
                let url = made["data"]["uploadUrl"].as_str().unwrap();
                let target = app.url(&url[url.find("/compat/").unwrap()..]);
                let res = app.client.put(target).header("content-type", content_type).body(bytes).send().await.unwrap();
                assert_eq!(res.status(), StatusCode::NO_CONTENT);
                let mut confirm = json!({"fileKey": made["data"]["fileKey"], "purpose": purpose});
                for (k, v) in extra.as_object().unwrap() {
                    confirm[k] = v.clone();
                }
                post(app, "/uploads/confirm", t, confirm).await
            }
        };
    let (status, turned) =
        three("turned.jpg", "image/jpeg", "health_record_attachment", with_exif(&jpeg(4000, 3000), 6), json!({})).await;
    assert_eq!(status, StatusCode::OK, "{turned}");
    assert_eq!((turned["data"]["width"].as_u64(), turned["data"]["height"].as_u64()), (Some(1536), Some(2048)));
    assert_eq!(served(turned["data"]["thumbnailUrl"].as_str().unwrap().to_owned()).await, (192, 256));
    let (status, small) = three("me.png", "image/png", "user_profile_photo", png(100, 50), json!({})).await;
    assert_eq!(status, StatusCode::OK, "{small}");
    assert_eq!((small["data"]["width"].as_u64(), small["data"]["height"].as_u64()), (Some(100), Some(50)));
    assert_eq!(served(small["data"]["thumbnailUrl"].as_str().unwrap().to_owned()).await, (100, 50), "never upscaled");
    let (_, me) = get(&app, "/users/profile", t).await;
    assert_eq!(served(me["data"]["profilePhotoUrl"].as_str().unwrap().to_owned()).await, (100, 50));

    // A PDF attached to a record by healthRecordId, and an image attached by fileId.
    let (_, record) = post(
        &app,
        &format!("/pets/{rex_id}/health-records"),
        t,
        json!({"recordType": "lab", "title": "Bloods", "dateAdministered": "2025-01-01"}),
    )
    .await;
    let record_id = record["data"]["id"].as_str().unwrap().to_owned();
    let pdf = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n".to_vec();
    let (status, scan) =
        three("bloods.pdf", "application/pdf", "health_record_attachment", pdf, json!({"healthRecordId": record_id}))
            .await;
    assert_eq!(status, StatusCode::OK, "{scan}");
    assert_eq!(
        (&scan["data"]["thumbnailUrl"], &scan["data"]["width"], &scan["data"]["height"]),
        (&Value::Null, &Value::Null, &Value::Null)
    );
    let (status, body) = post(
        &app,
        &format!("/pets/{rex_id}/health-records"),
        t,
        json!({"recordType": "visit", "title": "X-ray", "dateAdministered": "2025-02-01", "attachments": [{"fileId": turned["data"]["fileId"]}]}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let attached = &body["data"]["attachments"][0];
    assert_eq!((attached["filename"].as_str(), attached["type"].as_str()), (Some("turned.jpg"), Some("image/jpeg")));
    let (_, records) = get(&app, &format!("/pets/{rex_id}/health-records"), t).await;
    let bloods =
        records["data"]["records"].as_array().unwrap().iter().find(|r| r["title"] == "Bloods").unwrap().clone();
    assert_eq!(bloods["attachments"][0]["filename"], "bloods.pdf");
    assert_eq!(bloods["attachments"][0]["type"], "application/pdf");
    // A file of another household, or a made-up one, is refused and changes nothing.
    let (status, body) = post(
        &app,
        &format!("/pets/{rex_id}/health-records"),
        t,
        json!({"recordType": "visit", "title": "Nope", "dateAdministered": "2025-02-01", "attachments": [{"fileId": uuid::Uuid::new_v4()}]}),
    )
    .await;
    assert_eq!((status, fields(&body)), (StatusCode::BAD_REQUEST, vec!["attachments"]));
    let (_, records) = get(&app, &format!("/pets/{rex_id}/health-records"), t).await;
    assert_eq!(records["data"]["pagination"]["total"], 2);

    // Bytes that are not their declared type: 415, and the file is gone.
    let (status, body) = three("fake.png", "image/png", "health_record_attachment", jpeg(20, 20), json!({})).await;
    assert_eq!(
        (status, error(&body)),
        (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ("UNSUPPORTED_MEDIA_TYPE", "File content does not match its declared type")
        )
    );
}
