//! Accounts that protect health data (issue 14): TOTP MFA turned on over HTTP and asked for at
//! every sign-in (a missing, wrong, replayed or reused code refused; a backup code works once),
//! a fresh code for sensitive actions, sign-ins listed and revoked with immediate effect (the
//! refresh token, the access token and an open WebSocket), a sitter refused after the end date
//! on the WebSocket and the dashboard, the audit log of pet changes with the right actor, and
//! the dashboard's second sign-in step, Security page and Audit log page.

use std::time::Duration;

use futures_util::StreamExt;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::harness::{Account, TestApp, error_code, spawn_app};
use crate::pages::{browser, csrf_in, get_page, location, post_form, register_through_form, set_cookies};
use crate::revocation::join;
use crate::ws::{next, open, send};

fn unix_now() -> u64 {
    u64::try_from(time::OffsetDateTime::now_utc().unix_timestamp()).unwrap()
}

/// A code of the step after the current one: accepted (±1 step) and newer than any used.
fn next_code(secret: &[u8]) -> String {
    petty_core::mfa::code_at(secret, unix_now() + 30)
}

/// A well-formed code that is none of the codes accepted now.
fn wrong_code(secret: &[u8]) -> String {
    let now = unix_now();
    let accepted: Vec<String> =
        [now - 30, now, now + 30, now + 60].iter().map(|t| petty_core::mfa::code_at(secret, *t)).collect();
    ["000000", "111111", "222222", "333333", "444444"]
        .iter()
        .find(|c| !accepted.iter().any(|a| a == *c))
        .unwrap()
        .to_string()
}

fn is_backup_code(code: &str) -> bool {
    code.len() == 9
        && code
            .char_indices()
            .all(|(i, c)| if i == 4 { c == '-' } else { c.is_ascii_lowercase() || ('2'..='7').contains(&c) })
}

/// Sets MFA up and turns it on over the API: the secret and the backup codes.
fn secret_of(setup: &Value) -> Vec<u8> {
    petty_core::mfa::secret_from_base32(setup["secret"].as_str().unwrap()).unwrap()
}

async fn enable_mfa(app: &TestApp, who: &Account) -> (Vec<u8>, Vec<String>) {
    let res = app.post_json("/api/v1/auth/mfa/setup", &json!({}), Some(&who.access_token)).await;
    assert_eq!(res.status(), StatusCode::OK);
    let setup: Value = res.json().await.unwrap();
    let secret_text = setup["secret"].as_str().unwrap();
    assert_eq!(secret_text.len(), 32, "{setup}");
    assert_eq!(
        setup["otpauth_url"].as_str().unwrap(),
        format!(
            "otpauth://totp/Petty:{}?secret={secret_text}&issuer=Petty&algorithm=SHA1&digits=6&period=30",
            who.email
        )
    );
    let secret = petty_core::mfa::secret_from_base32(secret_text).unwrap();
    // Not on yet: signing in needs no code.
    assert_eq!(app.login(&who.email, &who.password).await.status(), StatusCode::OK);

    let (status, error) =
        error_code(app.post_json("/api/v1/auth/mfa/verify", &json!({"code": "abcdef"}), Some(&who.access_token)).await)
            .await;
    assert_eq!(
        (status, error["details"][0]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("code")),
        "{error}"
    );
    let wrong = json!({"code": wrong_code(&secret_of(&setup))});
    let (status, error) =
        error_code(app.post_json("/api/v1/auth/mfa/verify", &wrong, Some(&who.access_token)).await).await;
    assert_eq!((status, error["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("invalid_mfa_code")), "{error}");
    let code = petty_core::mfa::code_at(&secret, unix_now());
    let res = app.post_json("/api/v1/auth/mfa/verify", &json!({"code": code}), Some(&who.access_token)).await;
    assert_eq!(res.status(), StatusCode::OK);
    let on: Value = res.json().await.unwrap();
    assert_eq!(on["enabled"], true);
    let codes: Vec<String> =
        on["backup_codes"].as_array().unwrap().iter().map(|c| c.as_str().unwrap().to_owned()).collect();
    assert_eq!(codes.len(), 10);
    assert!(codes.iter().all(|c| is_backup_code(c)), "{codes:?}");
    (secret, codes)
}

async fn login_with(app: &TestApp, who: &Account, code: Option<&str>) -> reqwest::Response {
    let mut body = json!({"email": who.email, "password": who.password});
    if let Some(code) = code {
        body["mfa_code"] = json!(code);
    }
    app.post_json("/api/v1/auth/login", &body, None).await
}

#[tokio::test]
async fn with_mfa_on_signing_in_needs_a_right_unused_code() {
    let app = spawn_app().await;
    let ana = app.register("Ana").await;
    let (secret, backup) = enable_mfa(&app, &ana).await;
    let me: Value = app.get("/api/v1/me", Some(&ana.access_token)).await.json().await.unwrap();
    assert_eq!(me["mfa_enabled"], true);

    let (status, error) = error_code(login_with(&app, &ana, None).await).await;
    assert_eq!((status, error["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("mfa_required")), "{error}");
    let (status, error) = error_code(login_with(&app, &ana, Some(&wrong_code(&secret))).await).await;
    assert_eq!((status, error["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("invalid_mfa_code")), "{error}");
    // The code already used to turn MFA on is spent.
    let (status, error) =
        error_code(login_with(&app, &ana, Some(&petty_core::mfa::code_at(&secret, unix_now()))).await).await;
    assert_eq!((status, error["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("invalid_mfa_code")), "{error}");

    let code = next_code(&secret);
    let res = login_with(&app, &ana, Some(&code)).await;
    assert_eq!(res.status(), StatusCode::OK);
    // Replayed: refused.
    let (status, error) = error_code(login_with(&app, &ana, Some(&code)).await).await;
    assert_eq!((status, error["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("invalid_mfa_code")), "{error}");

    // A backup code works once, in any case and without its dash.
    let typed = backup[3].to_uppercase().replace('-', "");
    assert_eq!(login_with(&app, &ana, Some(&typed)).await.status(), StatusCode::OK);
    let (status, error) = error_code(login_with(&app, &ana, Some(&backup[3])).await).await;
    assert_eq!((status, error["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("invalid_mfa_code")), "{error}");
    let status: Value = app.get("/api/v1/auth/mfa", Some(&ana.access_token)).await.json().await.unwrap();
    assert_eq!(status["backup_codes_left"], 9, "{status}");

    // The history says what happened, newest first.
    let logins: Value = app.get("/api/v1/auth/logins", Some(&ana.access_token)).await.json().await.unwrap();
    let outcomes: Vec<&str> =
        logins["items"].as_array().unwrap().iter().map(|l| l["outcome"].as_str().unwrap()).collect();
    assert_eq!(
        &outcomes[..7],
        [
            "invalid_mfa_code",
            "success",
            "invalid_mfa_code",
            "success",
            "invalid_mfa_code",
            "invalid_mfa_code",
            "mfa_required"
        ],
        "{logins}"
    );
    assert_eq!(logins["items"][0]["address"], "127.0.0.1");
}

#[tokio::test]
async fn wrong_codes_count_as_failed_sign_ins() {
    let app = spawn_app().await;
    let ana = app.register("Ana").await;
    let (secret, _) = enable_mfa(&app, &ana).await;
    for _ in 0..5 {
        let (status, error) = error_code(login_with(&app, &ana, Some("aaaa-aaaa")).await).await;
        assert_eq!((status, error["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("invalid_mfa_code")));
    }
    // The account's throttle now holds back even the right password and code.
    let res = login_with(&app, &ana, Some(&next_code(&secret))).await;
    assert!(res.headers().contains_key("retry-after"));
    let (status, error) = error_code(res).await;
    assert_eq!((status, error["code"].as_str()), (StatusCode::TOO_MANY_REQUESTS, Some("account_locked")), "{error}");
}

#[tokio::test]
async fn sensitive_actions_need_a_fresh_code() {
    let app = spawn_app().await;
    let ana = app.register("Ana").await;
    let (secret, backup) = enable_mfa(&app, &ana).await;
    let key = json!({"name": "feeder", "scope": "read"});
    let post_with = |code: Option<String>| {
        let mut req = app.client.post(app.url("/api/v1/api-keys")).bearer_auth(&ana.access_token).json(&key);
        if let Some(code) = code {
            req = req.header("X-MFA-Code", code);
        }
        req.send()
    };
    let (status, error) = error_code(post_with(None).await.unwrap()).await;
    assert_eq!((status, error["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("mfa_required")), "{error}");
    let (status, error) = error_code(post_with(Some("bbbb-bbbb".into())).await.unwrap()).await;
    assert_eq!((status, error["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("invalid_mfa_code")), "{error}");
    let keys: Value = app.get("/api/v1/api-keys", Some(&ana.access_token)).await.json().await.unwrap();
    assert_eq!(keys["total"], 0, "nothing was made");
    assert_eq!(post_with(Some(next_code(&secret))).await.unwrap().status(), StatusCode::CREATED);
    assert_eq!(post_with(Some(backup[0].clone())).await.unwrap().status(), StatusCode::CREATED);

    // Changing the password, too.
    let change = json!({"current_password": ana.password, "new_password": "another long secret 42"});
    let (status, error) =
        error_code(app.post_json("/api/v1/auth/password", &change, Some(&ana.access_token)).await).await;
    assert_eq!((status, error["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("mfa_required")), "{error}");

    // Turning MFA off needs the password and a code.
    let off = |password: &str, code: &str| json!({"password": password, "code": code});
    let res =
        app.post_json("/api/v1/auth/mfa/disable", &off("not my password", &backup[1]), Some(&ana.access_token)).await;
    let (status, error) = error_code(res).await;
    assert_eq!((status, error["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("invalid_credentials")), "{error}");
    let res =
        app.post_json("/api/v1/auth/mfa/disable", &off(&ana.password, "cccc-cccc"), Some(&ana.access_token)).await;
    let (status, error) = error_code(res).await;
    assert_eq!((status, error["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("invalid_mfa_code")), "{error}");
    let res = app.post_json("/api/v1/auth/mfa/disable", &off(&ana.password, &backup[1]), Some(&ana.access_token)).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(login_with(&app, &ana, None).await.status(), StatusCode::OK, "no code needed any more");
    let res = app.post_json("/api/v1/auth/password", &change, Some(&ana.access_token)).await;
    assert_eq!(res.status(), StatusCode::OK, "and no code for the password either");
}

#[tokio::test]
async fn a_revoked_sign_in_stops_at_once_with_its_websocket() {
    let app = spawn_app().await;
    let ana = app.register("Ana").await;
    let res = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .header("user-agent", "Ana's phone/1.0")
        .json(&json!({"email": ana.email, "password": ana.password}))
        .send()
        .await
        .unwrap();
    let phone: Value = res.json().await.unwrap();
    let phone_access = phone["access_token"].as_str().unwrap().to_owned();
    let phone_refresh = phone["refresh_token"].as_str().unwrap().to_owned();
    let mut socket = open(&app, Some(&phone_access)).await;
    send(&mut socket, json!({"type": "subscribe", "topic": format!("household:{}:alarms", ana.household_id)})).await;
    assert_eq!(next(&mut socket).await["type"], "subscribed");

    let listed: Value = app.get("/api/v1/auth/sessions", Some(&ana.access_token)).await.json().await.unwrap();
    let api: Vec<&Value> = listed["items"].as_array().unwrap().iter().filter(|s| s["kind"] == "api").collect();
    assert_eq!(api.len(), 2, "{listed}");
    let current: Vec<&&Value> = api.iter().filter(|s| s["current"] == true).collect();
    assert_eq!(current.len(), 1, "the caller's own sign-in is marked: {listed}");
    let phone_entry = api.iter().find(|s| s["user_agent"] == "Ana's phone/1.0").expect("the phone's sign-in");
    assert_eq!(phone_entry["address"], "127.0.0.1");
    assert_eq!(phone_entry["current"], false);
    assert_eq!(listed["items"].as_array().unwrap().iter().filter(|s| s["kind"] == "trusted_device").count(), 2);

    let own = current[0]["id"].as_str().unwrap();
    let res = app.client.delete(app.url(&format!("/api/v1/auth/sessions/{own}"))).bearer_auth(&ana.access_token).send();
    assert_eq!(res.await.unwrap().status(), StatusCode::CONFLICT, "signing out is /auth/logout's");
    let id = phone_entry["id"].as_str().unwrap();
    let res = app.client.delete(app.url(&format!("/api/v1/auth/sessions/{id}"))).bearer_auth(&ana.access_token).send();
    assert_eq!(res.await.unwrap().status(), StatusCode::NO_CONTENT);
    let revoked_at = std::time::Instant::now();

    // Its refresh token and access token stop working at once.
    let res = app.post_json("/api/v1/auth/refresh", &json!({"refresh_token": phone_refresh}), None).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(app.get("/api/v1/pets", Some(&phone_access)).await.status(), StatusCode::UNAUTHORIZED);
    // Its WebSocket is closed within a second or two.
    let close = loop {
        let message = tokio::time::timeout(Duration::from_secs(3), socket.next())
            .await
            .expect("the socket is closed within a few seconds")
            .expect("a close frame")
            .expect("frame");
        if let Message::Close(frame) = message {
            break frame.expect("a close code");
        }
    };
    assert_eq!((u16::from(close.code), close.reason.as_str()), (1008, "access revoked"));
    assert!(revoked_at.elapsed() < Duration::from_secs(2), "{:?}", revoked_at.elapsed());
    // Ana's own sign-in goes on untouched; the phone's is no longer listed.
    assert_eq!(app.get("/api/v1/pets", Some(&ana.access_token)).await.status(), StatusCode::OK);
    let fresh = ana.access_token.clone();
    let listed: Value = app.get("/api/v1/auth/sessions", Some(&fresh)).await.json().await.unwrap();
    assert!(listed["items"].as_array().unwrap().iter().all(|s| s["id"] != id), "{listed}");
    // Someone else's sign-in is not found.
    let bob = app.register("Bob").await;
    let bobs: Value = app.get("/api/v1/auth/sessions", Some(&bob.access_token)).await.json().await.unwrap();
    let bobs_id = bobs["items"][0]["id"].as_str().unwrap();
    let res = app.client.delete(app.url(&format!("/api/v1/auth/sessions/{bobs_id}"))).bearer_auth(&fresh).send();
    assert_eq!(res.await.unwrap().status(), StatusCode::NOT_FOUND);
    assert_eq!(app.get("/api/v1/pets", Some(&bob.access_token)).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn signing_out_everywhere_else_keeps_the_callers_sign_in() {
    let app = spawn_app().await;
    let ana = app.register("Ana").await;
    let phone: Value = app.login(&ana.email, &ana.password).await.json().await.unwrap();
    let client = browser();
    crate::pages::sign_in_through_form(&app, &client, &ana.email, &ana.password).await;
    assert_eq!(get_page(&app, &client, "/household").await.0, StatusCode::OK);

    let phone_access = phone["access_token"].as_str().unwrap();
    let res = app.post_json("/api/v1/auth/sessions/revoke-others", &json!({}), Some(&ana.access_token)).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.json::<Value>().await.unwrap()["revoked"].as_u64().unwrap() >= 2);
    assert_eq!(app.get("/api/v1/pets", Some(phone_access)).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(app.get("/api/v1/pets", Some(&ana.access_token)).await.status(), StatusCode::OK, "the caller goes on");
    let res = app.post_json("/api/v1/auth/refresh", &json!({"refresh_token": phone["refresh_token"]}), None).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "the phone is signed out");
    let (status, _) = get_page(&app, &client, "/household").await;
    assert_eq!(status, StatusCode::SEE_OTHER, "the browser is signed out");
    let res = app.post_json("/api/v1/auth/refresh", &json!({"refresh_token": ana.refresh_token}), None).await;
    assert_eq!(res.status(), StatusCode::OK, "and refreshes");
}

#[tokio::test]
async fn a_sitter_past_the_end_date_is_refused_on_the_websocket_and_the_dashboard() {
    let app = spawn_app().await;
    let owner = app.register("Owner").await;
    let ends_at = time::OffsetDateTime::now_utc() + time::Duration::seconds(3);
    let ends_at = ends_at.format(&time::format_description::well_known::Rfc3339).unwrap();
    let (sitter, _) = join(&app, &owner, "Sitter", "sitter", Some(&ends_at)).await;
    let mut socket = open(&app, Some(&sitter.access_token)).await;
    send(&mut socket, json!({"type": "subscribe", "topic": format!("household:{}:alarms", owner.household_id)})).await;
    assert_eq!(next(&mut socket).await["type"], "subscribed");
    let client = browser();
    crate::pages::sign_in_through_form(&app, &client, &sitter.email, &sitter.password).await;
    assert_eq!(get_page(&app, &client, "/household").await.0, StatusCode::OK);

    let close = loop {
        let message = tokio::time::timeout(Duration::from_secs(6), socket.next())
            .await
            .expect("the socket is closed once the sitter's time is over")
            .expect("a close frame")
            .expect("frame");
        if let Message::Close(frame) = message {
            break frame.expect("a close code");
        }
    };
    assert_eq!((u16::from(close.code), close.reason.as_str()), (1008, "access revoked"));
    let res = client.get(app.url("/household")).send().await.unwrap();
    assert_eq!((res.status(), location(&res)), (StatusCode::SEE_OTHER, "/login"), "the dashboard signs the sitter out");
    let status = app.get("/api/v1/pets", Some(&sitter.access_token)).await.status();
    assert!(status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN, "{status}");
    // Signing in again finds no household to enter.
    let client = browser();
    let (_, html) = get_page(&app, &client, "/login").await;
    let form = [("csrf", csrf_in(&html)), ("email", sitter.email.clone()), ("password", sitter.password.clone())];
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let res = post_form(&app, &client, "/login", &form).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn pet_changes_are_audited_with_their_actor() {
    let app = spawn_app().await;
    let owner = app.register("Owner").await;
    let (cat, cat_id) = join(&app, &owner, "Cat", "member", None).await;
    let key: Value = app
        .post_json("/api/v1/api-keys", &json!({"name": "sync", "scope": "write"}), Some(&owner.access_token))
        .await
        .json()
        .await
        .unwrap();
    let me: Value = app.get("/api/v1/me", Some(&owner.access_token)).await.json().await.unwrap();
    let owner_id = me["user"]["id"].as_str().unwrap().to_owned();

    let pet = app.create_pet(&owner.access_token, json!({"name": "Bella", "species": "dog"})).await;
    let pet_id = pet["id"].as_str().unwrap();
    let res = app
        .client
        .patch(app.url(&format!("/api/v1/pets/{pet_id}")))
        .bearer_auth(&cat.access_token)
        .json(&json!({"name": "Bella II", "weight_kg": 12.5, "breed": null}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let res = app.client.delete(app.url(&format!("/api/v1/pets/{pet_id}"))).bearer_auth(key["key"].as_str().unwrap());
    assert_eq!(res.send().await.unwrap().status(), StatusCode::NO_CONTENT);

    let log: Value = app
        .get(&format!("/api/v1/audit?entity_type=pet&entity_id={pet_id}"), Some(&owner.access_token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(log["total"], 3, "{log}");
    let items = log["items"].as_array().unwrap();
    let seen: Vec<(&str, &str, &str)> = items
        .iter()
        .map(|e| (e["action"].as_str().unwrap(), e["actor_kind"].as_str().unwrap(), e["actor_id"].as_str().unwrap()))
        .collect();
    assert_eq!(
        seen,
        [
            ("delete", "api_key", key["id"].as_str().unwrap()),
            ("update", "user", cat_id.as_str()),
            ("create", "user", owner_id.as_str())
        ]
    );
    assert_eq!(items[1]["detail"], json!({"fields": ["name", "weight_kg"]}), "the breed was already empty");
    assert!(items.iter().all(|e| e["address"] == "127.0.0.1" && e["entity_id"] == pet_id), "{log}");
    assert!(!log.to_string().contains("Bella II"), "values are not kept");

    // A member sees their own entries only.
    let theirs: Value = app.get("/api/v1/audit", Some(&cat.access_token)).await.json().await.unwrap();
    assert_eq!(theirs["total"], 2, "their update and their joining: {theirs}");
    assert!(theirs["items"].as_array().unwrap().iter().all(|e| e["actor_id"] == cat_id.as_str()), "{theirs}");
    let others: Value =
        app.get(&format!("/api/v1/audit?actor_id={owner_id}"), Some(&cat.access_token)).await.json().await.unwrap();
    assert_eq!(others["total"], 0, "{others}");
    // Another household sees none of it.
    let stranger = app.register("Stranger").await;
    let none: Value =
        app.get("/api/v1/audit?entity_type=pet", Some(&stranger.access_token)).await.json().await.unwrap();
    assert_eq!(none["total"], 0);
}

#[tokio::test]
async fn the_dashboard_sets_up_mfa_asks_for_the_code_and_revokes_sessions() {
    let app = spawn_app().await;
    let client = browser();
    let (email, _) = register_through_form(&app, &client, "Ana").await;
    let (status, html) = get_page(&app, &client, "/account/security").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(r#"href="/account/security""#) && html.contains(r#"href="/household/audit""#), "linked");
    assert!(html.contains("Set up two-step sign-in"));
    let res = post_form(&app, &client, "/account/security/mfa/setup", &[("csrf", &csrf_in(&html))]).await;
    assert_eq!((res.status(), location(&res)), (StatusCode::SEE_OTHER, "/account/security"));
    let (_, html) = get_page(&app, &client, "/account/security").await;
    assert!(html.contains("<svg") && !html.contains("<?xml"), "the QR code is inline SVG");
    assert!(!html.contains("<script"));
    let key_start = html.find("Key: <code>").expect("the key is shown") + "Key: <code>".len();
    let secret_text = &html[key_start..key_start + 32];
    let secret = petty_core::mfa::secret_from_base32(secret_text).unwrap();

    let csrf = csrf_in(&html);
    let res = post_form(&app, &client, "/account/security/mfa/verify", &[("csrf", &csrf), ("code", "123")]).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "a malformed code");
    let code = petty_core::mfa::code_at(&secret, unix_now());
    let res = post_form(&app, &client, "/account/security/mfa/verify", &[("csrf", &csrf), ("code", &code)]).await;
    assert_eq!(res.status(), StatusCode::OK);
    let html = res.text().await.unwrap();
    assert!(html.contains("Two-step sign-in is on"));
    let shown = html.matches("<li><code>").count();
    assert_eq!(shown, 10, "ten backup codes, once");
    let (_, again) = get_page(&app, &client, "/account/security").await;
    assert_eq!(again.matches("<li><code>").count(), 0, "never shown again");

    // Signing in again takes two steps.
    let other = browser();
    let (_, html) = get_page(&app, &other, "/login").await;
    let res = post_form(
        &app,
        &other,
        "/login",
        &[("csrf", &csrf_in(&html)), ("email", &email), ("password", crate::pages::PASSWORD)],
    )
    .await;
    assert_eq!((res.status(), location(&res)), (StatusCode::SEE_OTHER, "/login/mfa"));
    assert!(set_cookies(&res, "petty_session").is_empty(), "no session before the code");
    let pending = set_cookies(&res, "petty_mfa_pending").pop().expect("the pending sign-in");
    assert!(pending.contains("HttpOnly") && pending.contains("Path=/login"), "{pending}");
    let (status, html) = get_page(&app, &other, "/login/mfa").await;
    assert_eq!(status, StatusCode::OK);
    let res = post_form(&app, &other, "/login/mfa", &[("csrf", &csrf_in(&html)), ("code", "999999x")]).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert!(res.text().await.unwrap().contains("That code is not right"));
    let res = post_form(&app, &other, "/login/mfa", &[("csrf", &csrf_in(&html)), ("code", &next_code(&secret))]).await;
    assert_eq!((res.status(), location(&res)), (StatusCode::SEE_OTHER, "/household"));
    assert!(!set_cookies(&res, "petty_session").is_empty());

    // The first browser lists both and revokes the other.
    let (_, html) = get_page(&app, &client, "/account/security").await;
    assert!(html.contains("(this browser)"));
    assert!(html.contains("Signed in") && html.contains("Wrong code") && html.contains("Password right, code asked"));
    let forms: Vec<&str> = html.match_indices("/account/security/sessions/").map(|(i, _)| &html[i..i + 80]).collect();
    let revoke: Vec<String> = forms
        .iter()
        .filter(|f| !f.starts_with("/account/security/sessions/revoke-others"))
        .map(|f| f.split('"').next().unwrap().to_owned())
        .collect();
    assert!(revoke.len() >= 2, "{revoke:?}");
    // The other browser's session is the newest one not marked as this browser.
    let (_, before) = get_page(&app, &other, "/household").await;
    assert!(before.contains("Ana"));
    let res = post_form(&app, &client, "/account/security/sessions/revoke-others", &[("csrf", &csrf_in(&html))]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let res = other.get(app.url("/household")).send().await.unwrap();
    assert_eq!((res.status(), location(&res)), (StatusCode::SEE_OTHER, "/login"), "signed out at once");
    assert_eq!(get_page(&app, &client, "/household").await.0, StatusCode::OK, "this browser stays");

    // Turning it off within 10 minutes of a code needs only the password.
    let (_, html) = get_page(&app, &client, "/account/security").await;
    let res = post_form(
        &app,
        &client,
        "/account/security/mfa/disable",
        &[("csrf", &csrf_in(&html)), ("password", "wrong password"), ("code", "")],
    )
    .await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let res = post_form(
        &app,
        &client,
        "/account/security/mfa/disable",
        &[("csrf", &csrf_in(&html)), ("password", crate::pages::PASSWORD), ("code", "")],
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, html) = get_page(&app, &client, "/account/security").await;
    assert!(html.contains("Set up two-step sign-in"), "off again");
}

#[tokio::test]
async fn the_dashboard_audit_log_shows_who_changed_what() {
    let app = spawn_app().await;
    let client = browser();
    register_through_form(&app, &client, "Ana").await;
    let (_, html) = get_page(&app, &client, "/pets/new").await;
    let res =
        post_form(&app, &client, "/pets/new", &[("csrf", &csrf_in(&html)), ("name", "Bella"), ("species", "dog")])
            .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (status, html) = get_page(&app, &client, "/household/audit").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("<td>Ana</td>") && html.contains("<td>create</td>") && html.contains("pet "), "{html}");
    let (_, filtered) = get_page(&app, &client, "/household/audit?entity_type=device").await;
    assert!(filtered.contains("Nothing yet"), "{filtered}");
}

#[tokio::test]
async fn a_session_list_does_not_leak_across_people() {
    let app: TestApp = spawn_app().await;
    let ana = app.register("Ana").await;
    let key: Value = app
        .post_json("/api/v1/api-keys", &json!({"name": "k", "scope": "admin"}), Some(&ana.access_token))
        .await
        .json()
        .await
        .unwrap();
    let (status, _) = error_code(app.get("/api/v1/auth/sessions", key["key"].as_str()).await).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "an API key has no sessions");
    let (status, _) = error_code(app.get("/api/v1/auth/sessions", None).await).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}
