//! Accounts and credentials through the API: registration, sign-in, refresh rotation and reuse
//! detection, token tampering and expiry, invitations and roles, API keys. (The sign-in
//! throttles, password reset and email verification are `signin.rs`'s.)

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::{account, error_code, spawn_app, spawn_app_with};

#[tokio::test]
async fn register_creates_an_owned_household_and_me_reports_it() {
    let app = spawn_app().await;
    let ana = app.register("Ana").await;
    let res = app.get("/api/v1/me", Some(&ana.access_token)).await;
    assert_eq!(res.status(), StatusCode::OK);
    let me: Value = res.json().await.unwrap();
    assert_eq!(me["user"]["email"], ana.email.as_str());
    assert_eq!(me["role"], "owner");
    assert_eq!(me["household_id"], ana.household_id.as_str());
    assert_eq!(me["memberships"][0]["household_name"], "Ana's household");
    assert_eq!(me["user"]["email_verified"], false, "nothing has verified the address");

    // The same email, in other letters' case, does not register twice: the answer is the same
    // as for a new address, and the imposter's password opens nothing.
    let res = app
        .post_json(
            "/api/v1/auth/register",
            &json!({"email": ana.email.to_uppercase(), "password": "another good password", "display_name": "Imposter"}),
            None,
        )
        .await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["status"], "accepted");
    assert!(body.get("access_token").is_none(), "registration hands out no tokens");
    assert_eq!(app.login(&ana.email, "another good password").await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(app.login(&ana.email, &ana.password).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn weak_passwords_and_bad_emails_are_named() {
    let app = spawn_app().await;
    let res = app
        .post_json(
            "/api/v1/auth/register",
            &json!({"email": "not-an-email", "password": "short", "display_name": ""}),
            None,
        )
        .await;
    let (status, error) = error_code(res).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error["code"], "validation_failed");
    let fields: Vec<&str> = error["details"].as_array().unwrap().iter().map(|d| d["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["email", "password", "display_name"]);
}

#[tokio::test]
async fn login_answers_the_same_for_a_wrong_password_and_an_unknown_email() {
    let app = spawn_app().await;
    let ana = app.register("Ana").await;
    let (s1, e1) = error_code(app.login(&ana.email, "wrong password!!").await).await;
    let (s2, e2) = error_code(app.login("nobody@example.org", "wrong password!!").await).await;
    assert_eq!((s1, s2), (StatusCode::UNAUTHORIZED, StatusCode::UNAUTHORIZED));
    assert_eq!(e1["code"], "invalid_credentials");
    assert_eq!(e1["message"], e2["message"]);
    let res = app.login(&ana.email, &ana.password).await;
    assert_eq!(res.status(), StatusCode::OK);
}

#[tokio::test]
async fn refresh_tokens_rotate_and_a_replay_revokes_the_family() {
    let app = spawn_app().await;
    let ana = app.register("Ana").await;

    let res = app.post_json("/api/v1/auth/refresh", &json!({"refresh_token": ana.refresh_token}), None).await;
    assert_eq!(res.status(), StatusCode::OK);
    let second: Value = res.json().await.unwrap();
    let second_refresh = second["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(second_refresh, ana.refresh_token, "every refresh hands out a new refresh token");
    assert!(app.get("/api/v1/me", second["access_token"].as_str()).await.status().is_success());

    // The first token again: somebody replayed it.
    let res = app.post_json("/api/v1/auth/refresh", &json!({"refresh_token": ana.refresh_token}), None).await;
    let (status, error) = error_code(res).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(error["code"], "refresh_token_reused");

    // ...so the legitimate successor is dead too.
    let res = app.post_json("/api/v1/auth/refresh", &json!({"refresh_token": second_refresh}), None).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);

    // A separate sign-in is a separate family and still works.
    let res = app.login(&ana.email, &ana.password).await;
    let fresh = account(ana.email.clone(), ana.password.clone(), &res.json().await.unwrap());
    let res = app.post_json("/api/v1/auth/refresh", &json!({"refresh_token": fresh.refresh_token}), None).await;
    assert_eq!(res.status(), StatusCode::OK);
}

#[tokio::test]
async fn logout_revokes_the_refresh_token() {
    let app = spawn_app().await;
    let ana = app.register("Ana").await;
    let res = app.post_json("/api/v1/auth/logout", &json!({"refresh_token": ana.refresh_token}), None).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let res = app.post_json("/api/v1/auth/refresh", &json!({"refresh_token": ana.refresh_token}), None).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_password_change_signs_out_other_sessions() {
    let app = spawn_app().await;
    let ana = app.register("Ana").await;
    let res = app
        .post_json(
            "/api/v1/auth/password",
            &json!({"current_password": "wrong one", "new_password": "a brand new secret"}),
            Some(&ana.access_token),
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let res = app
        .post_json(
            "/api/v1/auth/password",
            &json!({"current_password": ana.password, "new_password": "a brand new secret"}),
            Some(&ana.access_token),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let old = app.post_json("/api/v1/auth/refresh", &json!({"refresh_token": ana.refresh_token}), None).await;
    assert_eq!(old.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(app.login(&ana.email, &ana.password).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(app.login(&ana.email, "a brand new secret").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn expired_and_tampered_tokens_get_401() {
    let app = spawn_app().await;
    let ana = app.register("Ana").await;

    // Tampered: change one character of the signature.
    let mut tampered = ana.access_token.clone();
    let last = tampered.pop().unwrap();
    tampered.push(if last == 'A' { 'B' } else { 'A' });
    let (status, error) = error_code(app.get("/api/v1/pets", Some(&tampered)).await).await;
    assert_eq!((status, error["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("unauthenticated")));

    // Signed with another key.
    let other = spawn_app_with(|c| c.jwt_secret = b"another-secret-another-secret-0123456789".to_vec()).await;
    let stranger = other.register("Stranger").await;
    assert_eq!(app.get("/api/v1/pets", Some(&stranger.access_token)).await.status(), StatusCode::UNAUTHORIZED);

    // Not a token at all, and no token.
    assert_eq!(app.get("/api/v1/pets", Some("garbage")).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(app.get("/api/v1/pets", None).await.status(), StatusCode::UNAUTHORIZED);

    // Expired: a token signed with the server's own key whose lifetime ended a minute ago.
    let me: Value = app.get("/api/v1/me", Some(&ana.access_token)).await.json().await.unwrap();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let claims = json!({"sub": me["user"]["id"], "hid": ana.household_id, "role": "owner",
                        "iat": now - 960, "exp": now - 60, "typ": "access"});
    let secret = petty_http::HttpConfig::for_tests().jwt_secret;
    let expired = jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(&secret),
    )
    .unwrap();
    let (status, error) = error_code(app.get("/api/v1/pets", Some(&expired)).await).await;
    assert_eq!((status, error["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("token_expired")));
    // The same claims with a future expiry are accepted, so it is the expiry that was refused.
    let claims = json!({"sub": me["user"]["id"], "hid": ana.household_id, "role": "owner",
                        "iat": now, "exp": now + 60, "typ": "access"});
    let fresh = jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(&secret),
    )
    .unwrap();
    assert_eq!(app.get("/api/v1/pets", Some(&fresh)).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn invitations_bring_members_with_roles() {
    let app = spawn_app().await;
    let owner = app.register("Owner").await;

    // A vet joins through an invitation at registration.
    let res = app.post_json("/api/v1/household/invitations", &json!({"role": "vet"}), Some(&owner.access_token)).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let invitation: Value = res.json().await.unwrap();
    let token = invitation["token"].as_str().unwrap().to_owned();
    let res = app
        .post_json(
            "/api/v1/auth/register",
            &json!({"email": "vet@example.org", "password": "the vet's password", "display_name": "Dr Vet", "invitation_token": token}),
            None,
        )
        .await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let res = app.login("vet@example.org", "the vet's password").await;
    assert_eq!(res.status(), StatusCode::OK);
    let vet: Value = res.json().await.unwrap();
    assert_eq!(vet["membership"]["household_id"], owner.household_id.as_str());
    assert_eq!(vet["membership"]["role"], "vet");
    let vet_token = vet["access_token"].as_str().unwrap();

    // The token is single-use.
    let res = app
        .post_json(
            "/api/v1/auth/register",
            &json!({"email": "second@example.org", "password": "yet another passphrase", "display_name": "Two", "invitation_token": token}),
            None,
        )
        .await;
    let (status, error) = error_code(res).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error["details"][0]["field"], "invitation_token");
    // ...and refused alike with an address that already has an account.
    let res = app
        .post_json(
            "/api/v1/auth/register",
            &json!({"email": owner.email, "password": "yet another passphrase", "display_name": "Two", "invitation_token": token}),
            None,
        )
        .await;
    let (status, same) = error_code(res).await;
    assert_eq!((status, &same["details"]), (StatusCode::UNPROCESSABLE_ENTITY, &error["details"]));

    // A vet reads the pets shared with them, and does not write.
    let bella = app.create_pet(&owner.access_token, json!({"name": "Bella", "species": "dog"})).await;
    let pets: Value = app.get("/api/v1/pets", Some(vet_token)).await.json().await.unwrap();
    assert_eq!(pets["total"], 0, "nothing is shared with the vet yet");
    let vet_id = vet["user"]["id"].as_str().unwrap();
    let res = app
        .client
        .put(app.url(&format!("/api/v1/household/members/{vet_id}/pets")))
        .bearer_auth(&owner.access_token)
        .json(&json!({"pet_ids": [bella["id"]]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let pets: Value = app.get("/api/v1/pets", Some(vet_token)).await.json().await.unwrap();
    assert_eq!(pets["total"], 1);
    let res = app.post_json("/api/v1/pets", &json!({"name": "Rex", "species": "dog"}), Some(vet_token)).await;
    let (status, error) = error_code(res).await;
    assert_eq!((status, error["code"].as_str()), (StatusCode::FORBIDDEN, Some("forbidden")));
    assert_eq!(
        app.post_json("/api/v1/household/invitations", &json!({"role": "member"}), Some(vet_token)).await.status(),
        StatusCode::FORBIDDEN
    );

    // A sitter needs an end date.
    let res =
        app.post_json("/api/v1/household/invitations", &json!({"role": "sitter"}), Some(&owner.access_token)).await;
    let (status, error) = error_code(res).await;
    assert_eq!((status, error["details"][0]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("ends_at")));
    let ends_at = (time::OffsetDateTime::now_utc() + time::Duration::days(3))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let res = app
        .post_json(
            "/api/v1/household/invitations",
            &json!({"role": "sitter", "ends_at": ends_at}),
            Some(&owner.access_token),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);

    // An existing user from another household accepts an invitation.
    let neighbour = app.register("Neighbour").await;
    let res =
        app.post_json("/api/v1/household/invitations", &json!({"role": "member"}), Some(&owner.access_token)).await;
    let token = res.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_owned();
    let res =
        app.post_json("/api/v1/invitations/accept", &json!({"token": token}), Some(&neighbour.access_token)).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let me: Value = app.get("/api/v1/me", Some(&neighbour.access_token)).await.json().await.unwrap();
    assert_eq!(me["memberships"].as_array().unwrap().len(), 2);

    let members: Value = app.get("/api/v1/household/members", Some(&owner.access_token)).await.json().await.unwrap();
    let roles: Vec<&str> = members["items"].as_array().unwrap().iter().map(|m| m["role"].as_str().unwrap()).collect();
    assert_eq!(roles, ["owner", "vet", "member"]);
    let pending: Value =
        app.get("/api/v1/household/invitations", Some(&owner.access_token)).await.json().await.unwrap();
    let pending = &pending["items"];
    assert_eq!(pending.as_array().unwrap().len(), 1, "only the sitter invitation is still pending");
    assert!(pending[0].get("token").is_none(), "tokens are shown only once");
}

#[tokio::test]
async fn api_keys_are_shown_once_scoped_and_revocable() {
    let app = spawn_app().await;
    let owner = app.register("Owner").await;
    app.create_pet(&owner.access_token, json!({"name": "Bella", "species": "dog"})).await;

    let res = app
        .post_json("/api/v1/api-keys", &json!({"name": "Home Assistant", "scope": "read"}), Some(&owner.access_token))
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let created: Value = res.json().await.unwrap();
    let key = created["key"].as_str().unwrap().to_owned();
    assert!(key.starts_with("pk_"));

    let pets: Value = app.get("/api/v1/pets", Some(&key)).await.json().await.unwrap();
    assert_eq!(pets["total"], 1);
    let res = app.client.get(app.url("/api/v1/pets")).header("x-api-key", &key).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let res = app.post_json("/api/v1/pets", &json!({"name": "Rex", "species": "dog"}), Some(&key)).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN, "a read key cannot write");

    let listed: Value = app.get("/api/v1/api-keys", Some(&owner.access_token)).await.json().await.unwrap();
    assert_eq!((listed["total"].as_u64(), listed["has_next"].as_bool()), (Some(1), Some(false)), "{listed}");
    let listed = &listed["items"];
    assert!(listed[0]["id"].is_string(), "{listed}");
    assert!(listed[0].get("key").is_none(), "the key is shown only at creation");
    assert_eq!(listed[0]["prefix"], &key[..10]);
    assert!(listed[0]["last_used_at"].is_string(), "last use is recorded");

    let id = created["id"].as_str().unwrap();
    let res = app
        .client
        .delete(app.url(&format!("/api/v1/api-keys/{id}")))
        .bearer_auth(&owner.access_token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(app.get("/api/v1/pets", Some(&key)).await.status(), StatusCode::UNAUTHORIZED);
}
