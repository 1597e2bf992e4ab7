//! Revocation takes effect at once (issue 13): a removed member, a sitter whose time is over, a
//! token issued before a password change or a sign-out, a revoked API key and the keys of a
//! removed member are refused on the next request, and an open WebSocket of a removed member
//! is closed within a second or two.

use std::time::Duration;

use futures_util::StreamExt;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::harness::{Account, TestApp, account, error_code, spawn_app};
use crate::ws::{next, open, send};

/// Invites a new person into `owner`'s household with `role` and registers them.
pub(crate) async fn join(
    app: &TestApp,
    owner: &Account,
    name: &str,
    role: &str,
    ends_at: Option<&str>,
) -> (Account, String) {
    let res = app
        .post_json(
            "/api/v1/household/invitations",
            &json!({"role": role, "ends_at": ends_at}),
            Some(&owner.access_token),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let token = res.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_owned();
    let email = format!("{}-{}@example.org", name.to_lowercase(), &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let password = "a member's good password".to_owned();
    let res = app
        .post_json(
            "/api/v1/auth/register",
            &json!({"email": email, "password": password, "display_name": name, "invitation_token": token}),
            None,
        )
        .await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let res = app.login(&email, &password).await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    let user_id = body["user"]["id"].as_str().unwrap().to_owned();
    (account(email, password, &body), user_id)
}

async fn remove(app: &TestApp, owner: &Account, user_id: &str) -> reqwest::Response {
    app.client
        .delete(app.url(&format!("/api/v1/household/members/{user_id}")))
        .bearer_auth(&owner.access_token)
        .send()
        .await
        .unwrap()
}

async fn make_key(app: &TestApp, token: &str, scope: &str) -> reqwest::Response {
    app.post_json("/api/v1/api-keys", &json!({"name": format!("{scope} key"), "scope": scope}), Some(token)).await
}

#[tokio::test]
async fn a_removed_members_token_is_refused_at_once() {
    let app = spawn_app().await;
    let owner = app.register("Owner").await;
    let (cat, cat_id) = join(&app, &owner, "Cat", "member", None).await;
    assert_eq!(app.get("/api/v1/pets", Some(&cat.access_token)).await.status(), StatusCode::OK);
    app.create_pet(&cat.access_token, json!({"name": "Bella", "species": "dog"})).await;

    assert_eq!(remove(&app, &owner, &cat_id).await.status(), StatusCode::NO_CONTENT);
    let (status, error) = error_code(app.get("/api/v1/pets", Some(&cat.access_token)).await).await;
    assert_eq!((status, error["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("unauthenticated")), "{error}");
    let res = app.post_json("/api/v1/pets", &json!({"name": "Rex", "species": "dog"}), Some(&cat.access_token)).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    // The owner is untouched.
    assert_eq!(app.get("/api/v1/pets", Some(&owner.access_token)).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_sitter_past_ends_at_is_refused_at_once() {
    let app = spawn_app().await;
    let owner = app.register("Owner").await;
    let ends_at = time::OffsetDateTime::now_utc() + time::Duration::seconds(2);
    let ends_at = ends_at.format(&time::format_description::well_known::Rfc3339).unwrap();
    let (sitter, _) = join(&app, &owner, "Sitter", "sitter", Some(&ends_at)).await;
    assert_eq!(app.get("/api/v1/pets", Some(&sitter.access_token)).await.status(), StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(2300)).await;
    // Within the token's leeway of a few seconds, yet refused: the end is compared with now.
    let status = app.get("/api/v1/pets", Some(&sitter.access_token)).await.status();
    assert!(status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN, "{status}");
}

#[tokio::test]
async fn a_token_issued_before_a_password_change_is_refused() {
    let app = spawn_app().await;
    let ana = app.register("Ana").await;
    // A second sign-in: the phone, say.
    let phone = app.login(&ana.email, &ana.password).await.json::<Value>().await.unwrap();
    let phone_token = phone["access_token"].as_str().unwrap().to_owned();
    let res = app
        .post_json(
            "/api/v1/auth/password",
            &json!({"current_password": ana.password, "new_password": "a brand new secret"}),
            Some(&ana.access_token),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let fresh = res.json::<Value>().await.unwrap()["access_token"].as_str().unwrap().to_owned();
    assert_eq!(app.get("/api/v1/pets", Some(&phone_token)).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(app.get("/api/v1/pets", Some(&ana.access_token)).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(app.get("/api/v1/pets", Some(&fresh)).await.status(), StatusCode::OK, "the new token works");
}

#[tokio::test]
async fn a_token_is_refused_after_logout() {
    let app = spawn_app().await;
    let ana = app.register("Ana").await;
    assert_eq!(app.get("/api/v1/pets", Some(&ana.access_token)).await.status(), StatusCode::OK);
    let res = app.post_json("/api/v1/auth/logout", &json!({"refresh_token": ana.refresh_token}), None).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let (status, error) = error_code(app.get("/api/v1/pets", Some(&ana.access_token)).await).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{error}");
    // Signing in again works.
    let again = app.login(&ana.email, &ana.password).await.json::<Value>().await.unwrap();
    assert_eq!(app.get("/api/v1/pets", again["access_token"].as_str()).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_revoked_api_key_is_refused_at_once() {
    let app = spawn_app().await;
    let owner = app.register("Owner").await;
    let created: Value = make_key(&app, &owner.access_token, "read").await.json().await.unwrap();
    let key = created["key"].as_str().unwrap();
    assert_eq!(app.get("/api/v1/pets", Some(key)).await.status(), StatusCode::OK);
    let id = created["id"].as_str().unwrap();
    let res = app
        .client
        .delete(app.url(&format!("/api/v1/api-keys/{id}")))
        .bearer_auth(&owner.access_token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(app.get("/api/v1/pets", Some(key)).await.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_keys_of_a_removed_member_stop_working() {
    let app = spawn_app().await;
    let owner = app.register("Owner").await;
    let (cat, cat_id) = join(&app, &owner, "Cat", "member", None).await;
    let res = make_key(&app, &cat.access_token, "write").await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let key = res.json::<Value>().await.unwrap()["key"].as_str().unwrap().to_owned();
    app.create_pet(&key, json!({"name": "Bella", "species": "dog"})).await;

    assert_eq!(remove(&app, &owner, &cat_id).await.status(), StatusCode::NO_CONTENT);
    assert_eq!(app.get("/api/v1/pets", Some(&key)).await.status(), StatusCode::UNAUTHORIZED);
    let listed: Value = app.get("/api/v1/api-keys", Some(&owner.access_token)).await.json().await.unwrap();
    assert!(listed["items"][0]["revoked_at"].is_string(), "the key is listed as revoked: {listed}");
}

#[tokio::test]
async fn a_member_cannot_make_a_key_beyond_their_role() {
    let app = spawn_app().await;
    let owner = app.register("Owner").await;
    let ends_at = (time::OffsetDateTime::now_utc() + time::Duration::days(2))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let (sitter, _) = join(&app, &owner, "Sitter", "sitter", Some(&ends_at)).await;
    let (cat, _) = join(&app, &owner, "Cat", "member", None).await;
    for (who, scope) in [(&sitter, "admin"), (&sitter, "write"), (&cat, "admin")] {
        let (status, error) = error_code(make_key(&app, &who.access_token, scope).await).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{scope}: {error}");
        assert!(error["message"].as_str().unwrap().contains("cannot do more than its maker"), "{error}");
    }
    assert_eq!(make_key(&app, &sitter.access_token, "read").await.status(), StatusCode::CREATED);
    assert_eq!(make_key(&app, &cat.access_token, "write").await.status(), StatusCode::CREATED);
    assert_eq!(make_key(&app, &owner.access_token, "admin").await.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn the_last_owner_cannot_be_removed_or_demoted() {
    let app = spawn_app().await;
    let owner = app.register("Owner").await;
    let me: Value = app.get("/api/v1/me", Some(&owner.access_token)).await.json().await.unwrap();
    let owner_id = me["user"]["id"].as_str().unwrap();
    let (status, error) = error_code(remove(&app, &owner, owner_id).await).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(error["message"].as_str().unwrap().contains("last owner"), "{error}");
    let res = app
        .client
        .patch(app.url(&format!("/api/v1/household/members/{owner_id}")))
        .bearer_auth(&owner.access_token)
        .json(&json!({"role": "member"}))
        .send()
        .await
        .unwrap();
    let (status, error) = error_code(res).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(error["message"].as_str().unwrap().contains("last owner"), "{error}");

    // With a second owner, the first may go.
    let (second, second_id) = join(&app, &owner, "Second", "member", None).await;
    let res = app
        .client
        .patch(app.url(&format!("/api/v1/household/members/{second_id}")))
        .bearer_auth(&owner.access_token)
        .json(&json!({"role": "owner"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    // The role change revoked the token with the old role; a refresh gets the new one.
    assert_eq!(app.get("/api/v1/pets", Some(&second.access_token)).await.status(), StatusCode::UNAUTHORIZED);
    let res = app.post_json("/api/v1/auth/refresh", &json!({"refresh_token": second.refresh_token}), None).await;
    let refreshed: Value = res.json().await.unwrap();
    assert_eq!(refreshed["membership"]["role"], "owner");
    assert_eq!(remove(&app, &owner, owner_id).await.status(), StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn an_open_websocket_of_a_removed_member_is_closed() {
    let app = spawn_app().await;
    let owner = app.register("Owner").await;
    let (cat, cat_id) = join(&app, &owner, "Cat", "member", None).await;
    let mut socket = open(&app, Some(&cat.access_token)).await;
    send(&mut socket, json!({"type": "subscribe", "topic": format!("household:{}:alarms", owner.household_id)})).await;
    assert_eq!(next(&mut socket).await["type"], "subscribed");

    assert_eq!(remove(&app, &owner, &cat_id).await.status(), StatusCode::NO_CONTENT);
    let removed_at = std::time::Instant::now();
    let mut told = false;
    let close = loop {
        let message = tokio::time::timeout(Duration::from_secs(3), socket.next())
            .await
            .expect("the socket is closed within a few seconds")
            .expect("a close frame before the end of the stream")
            .expect("frame");
        match message {
            Message::Text(text) => {
                let error: Value = serde_json::from_str(&text).unwrap();
                assert_eq!((error["type"].as_str(), error["code"].as_str()), (Some("error"), Some("unauthenticated")));
                told = true;
            }
            Message::Close(frame) => break frame.expect("a close code"),
            _ => continue,
        }
    };
    assert!(told, "the client is told why");
    assert_eq!((u16::from(close.code), close.reason.as_str()), (1008, "access revoked"));
    assert!(removed_at.elapsed() < Duration::from_secs(2), "{:?}", removed_at.elapsed());
}
