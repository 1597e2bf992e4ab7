//! Sign-in as the trusted systems do it (issue 13): failed attempts back off per account and per
//! client address instead of locking anyone out, a trusted device (the token of an earlier
//! sign-in) is never refused the right password because of others' failures, a password is
//! reset through a link sent by email (through a real SMTP server), addresses are verified the
//! same way, and nothing about registration or recovery tells whether an address has an
//! account. Through the API and through the dashboard's forms.

use std::time::Duration;

use reqwest::header::{LOCATION, SET_COOKIE};
use reqwest::{Client, Response, StatusCode};
use serde_json::{Value, json};

use crate::fakes::SmtpSink;
use crate::harness::{TestApp, error_code, spawn_app_with};

const PASSWORD: &str = "correct horse battery staple";

/// A server that mails through `sink`, with its settings adjusted by `configure`.
async fn app_mailing_to(sink: &SmtpSink, configure: impl FnOnce(&mut petty_http::HttpConfig)) -> TestApp {
    let port = sink.port;
    spawn_app_with(move |c| {
        c.notify.smtp = Some(petty_http::notify::SmtpConfig {
            host: "127.0.0.1".into(),
            port,
            tls: petty_http::notify::SmtpTls::None,
            username: None,
            password: None,
            from: "Petty <accounts@petty.test>".into(),
        });
        c.notify.public_url = "http://petty.test".into();
        configure(c);
    })
    .await
}

/// The mails to `to` so far, as a mail client reads them (quoted-printable soft breaks joined).
fn mails_to(sink: &SmtpSink, to: &str) -> Vec<String> {
    sink.messages()
        .into_iter()
        .filter(|m| m["to"].as_array().is_some_and(|a| a.iter().any(|r| r.as_str() == Some(to))))
        .filter_map(|m| m["data"].as_str().map(|d| d.replace("=\r\n", "").replace("=\n", "").replace("=3D", "=")))
        .collect()
}

/// Waits until `to` has `count` mails whose text contains `needle`; answers the newest.
async fn mail(sink: &SmtpSink, to: &str, needle: &str, count: usize) -> String {
    for _ in 0..100 {
        let found: Vec<String> = mails_to(sink, to).into_iter().filter(|m| m.contains(needle)).collect();
        if found.len() >= count {
            return found.last().cloned().unwrap_or_default();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no mail with {needle:?} reached {to}; it got: {:#?}", mails_to(sink, to));
}

/// The token of the link to `page` in a mail.
fn token_in(mail: &str, page: &str) -> String {
    let marker = format!("http://petty.test/{page}?token=");
    let start = mail.find(&marker).unwrap_or_else(|| panic!("no {page} link in:\n{mail}")) + marker.len();
    mail[start..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-').collect()
}

fn unique(name: &str) -> String {
    format!("{name}-{}@example.org", &uuid::Uuid::new_v4().simple().to_string()[..8])
}

async fn register(app: &TestApp, email: &str, password: &str) -> Response {
    app.post_json("/api/v1/auth/register", &json!({"email": email, "password": password, "display_name": "Ana"}), None)
        .await
}

async fn login_with(app: &TestApp, email: &str, password: &str, trusted_device: Option<&str>) -> Response {
    let mut body = json!({"email": email, "password": password});
    if let Some(token) = trusted_device {
        body["trusted_device_token"] = json!(token);
    }
    app.post_json("/api/v1/auth/login", &body, None).await
}

fn retry_after(res: &Response) -> u64 {
    res.headers().get("retry-after").and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok()).unwrap_or(0)
}

#[tokio::test]
async fn the_right_password_on_a_trusted_device_gets_in_while_an_attacker_is_held_back() {
    let app = spawn_app_with(|c| {
        c.signin.account.free_failures = 3;
        c.signin.account.base = time::Duration::minutes(10);
    })
    .await;
    let ana = app.register("Ana").await;
    let res = login_with(&app, &ana.email, &ana.password, None).await;
    assert_eq!(res.status(), StatusCode::OK);
    let session: Value = res.json().await.unwrap();
    let device = session["trusted_device_token"].as_str().expect("a sign-in hands out a trusted-device token");
    assert!(device.starts_with("td_"), "{device}");

    // An attacker who knows Ana's email, from the same address (the household's NAT).
    for _ in 0..3 {
        assert_eq!(login_with(&app, &ana.email, "guess guess guess", None).await.status(), StatusCode::UNAUTHORIZED);
    }
    let res = login_with(&app, &ana.email, "guess guess guess", None).await;
    assert!(retry_after(&res) > 0);
    let (status, error) = error_code(res).await;
    assert_eq!((status, error["code"].as_str()), (StatusCode::TOO_MANY_REQUESTS, Some("account_locked")));
    // Untrusted, even the right password waits...
    let res = login_with(&app, &ana.email, &ana.password, None).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    // ...as does someone else's device token, or a forged one.
    let bo = app.register("Bo").await;
    let bos: Value = login_with(&app, &bo.email, &bo.password, None).await.json().await.unwrap();
    let bos_device = bos["trusted_device_token"].as_str().unwrap();
    let last = if device.ends_with('A') { 'B' } else { 'A' };
    let altered = format!("{}{last}", &device[..device.len() - 1]);
    for other in [bos_device, "td_forged", altered.as_str()] {
        assert_eq!(
            login_with(&app, &ana.email, &ana.password, Some(other)).await.status(),
            StatusCode::TOO_MANY_REQUESTS
        );
    }
    // Ana's own device gets in, and is handed a fresh token.
    let res = login_with(&app, &ana.email, &ana.password, Some(device)).await;
    assert_eq!(res.status(), StatusCode::OK);
    let again: Value = res.json().await.unwrap();
    let fresh = again["trusted_device_token"].as_str().unwrap();
    assert_ne!(fresh, device);
    assert_eq!(login_with(&app, &ana.email, &ana.password, Some(fresh)).await.status(), StatusCode::OK);
    // The attacker is still held back.
    assert_eq!(login_with(&app, &ana.email, &ana.password, None).await.status(), StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn untrusted_attempts_back_off_and_the_wait_doubles() {
    let app = spawn_app_with(|c| {
        c.signin.account.free_failures = 2;
        c.signin.account.base = time::Duration::seconds(1);
    })
    .await;
    let ana = app.register("Ana").await.email;
    let mut locked = Vec::new();
    for email in ["ghost@example.org", ana.as_str()] {
        for _ in 0..2 {
            assert_eq!(login_with(&app, email, "not the password", None).await.status(), StatusCode::UNAUTHORIZED);
        }
        let res = login_with(&app, email, "not the password", None).await;
        assert!(retry_after(&res) >= 1);
        let (status, error) = error_code(res).await;
        assert_eq!((status, error["code"].as_str()), (StatusCode::TOO_MANY_REQUESTS, Some("account_locked")));
        assert!(error["message"].as_str().unwrap().contains("reset the password"), "{error}");
        locked.push(error["message"].clone());
    }
    // The same for an address nobody has (whole seconds may differ).
    let digits = |m: &Value| m.as_str().unwrap_or_default().replace(|c: char| c.is_ascii_digit(), "");
    assert_eq!(digits(&locked[0]), digits(&locked[1]));

    // Each failure after the free ones doubles the wait: 1 s, 2 s, 4 s.
    let mut waits = Vec::new();
    for _ in 0..3 {
        let res = login_with(&app, &ana, "not the password", None).await;
        assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
        let wait = retry_after(&res);
        waits.push(wait);
        // Waiting it out allows one more attempt, which fails and doubles the wait.
        tokio::time::sleep(Duration::from_millis(wait * 1000 + 100)).await;
        assert_eq!(login_with(&app, &ana, "not the password", None).await.status(), StatusCode::UNAUTHORIZED);
    }
    assert!(waits[0] <= 1 && waits[1] > waits[0] && waits[1] <= 2 && waits[2] > waits[1] && waits[2] <= 4, "{waits:?}");
}

#[tokio::test]
async fn one_address_failing_across_many_accounts_backs_off_but_a_trusted_device_behind_it_does_not() {
    let app = spawn_app_with(|c| {
        c.signin.address.free_failures = 4;
        c.signin.address.base = time::Duration::minutes(10);
    })
    .await;
    let ana = app.register("Ana").await;
    let session: Value = login_with(&app, &ana.email, &ana.password, None).await.json().await.unwrap();
    let device = session["trusted_device_token"].as_str().unwrap().to_owned();

    // Password spraying: one guess for each of many accounts, from one address.
    for i in 0..4 {
        let res = login_with(&app, &format!("victim{i}@example.org"), "Summer2026!", None).await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    }
    let res = login_with(&app, "victim9@example.org", "Summer2026!", None).await;
    let wait = retry_after(&res);
    let (status, error) = error_code(res).await;
    assert_eq!((status, error["code"].as_str()), (StatusCode::TOO_MANY_REQUESTS, Some("rate_limited")));
    assert!(wait > 500 && wait <= 600, "{wait}");
    // Every account is held back from this address, Ana's too, unless it is her device.
    assert_eq!(login_with(&app, &ana.email, &ana.password, None).await.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(login_with(&app, &ana.email, &ana.password, Some(&device)).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_trusted_device_that_keeps_failing_is_locked_itself() {
    let app = spawn_app_with(|c| {
        c.signin.account.free_failures = 2;
        c.signin.account.base = time::Duration::minutes(10);
        c.signin.trusted_device_max_failures = 3;
    })
    .await;
    let ana = app.register("Ana").await;
    let session: Value = login_with(&app, &ana.email, &ana.password, None).await.json().await.unwrap();
    let device = session["trusted_device_token"].as_str().unwrap().to_owned();
    for _ in 0..2 {
        assert_eq!(login_with(&app, &ana.email, "wrong", None).await.status(), StatusCode::UNAUTHORIZED);
    }
    assert_eq!(login_with(&app, &ana.email, &ana.password, None).await.status(), StatusCode::TOO_MANY_REQUESTS);
    // A stolen device token buys its holder 3 guesses and no more; the failures are the
    // token's own, so the backoff of strangers did not stop them.
    for _ in 0..3 {
        let res = login_with(&app, &ana.email, "still wrong", Some(&device)).await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    }
    // Locked: the token now counts as absent, and the account's backoff applies.
    let res = login_with(&app, &ana.email, &ana.password, Some(&device)).await;
    assert_eq!(error_code(res).await.1["code"], "account_locked");
}

#[tokio::test]
async fn a_password_reset_by_email_ends_every_sign_in_at_once() {
    let Some(sink) = SmtpSink::start() else { return };
    let app = app_mailing_to(&sink, |c| {
        c.signin.account.free_failures = 1;
        c.signin.account.base = time::Duration::minutes(10);
    })
    .await;
    let ana = app.register("Ana").await;
    let browser = Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let login_page = browser.get(app.url("/login")).send().await.unwrap().text().await.unwrap();
    let csrf = csrf_in(&login_page);
    let form = [("csrf", csrf.as_str()), ("email", ana.email.as_str()), ("password", ana.password.as_str())];
    assert_eq!(browser.post(app.url("/login")).form(&form).send().await.unwrap().status(), StatusCode::SEE_OTHER);
    assert_eq!(browser.get(app.url("/household")).send().await.unwrap().status(), StatusCode::OK);
    // Someone else's failures hold the account back.
    login_with(&app, &ana.email, "wrong password", None).await;
    assert_eq!(login_with(&app, &ana.email, &ana.password, None).await.status(), StatusCode::TOO_MANY_REQUESTS);

    // Asking for a link answers the same for an account's address and for any other.
    let mut answers = Vec::new();
    for email in [ana.email.to_uppercase(), "nobody@example.org".to_owned()] {
        let res = app.post_json("/api/v1/auth/password-reset", &json!({"email": email}), None).await;
        assert_eq!(res.status(), StatusCode::ACCEPTED);
        answers.push(res.text().await.unwrap());
    }
    assert_eq!(answers[0], answers[1]);
    let reset = mail(&sink, &ana.email, "Reset your Petty password", 1).await;
    let token = token_in(&reset, "reset-password");
    assert!(token.starts_with("pr_") && token.len() > 40, "{token}");
    assert!(!reset.contains(&ana.password));

    // A weak password is refused, naming the field, and the token is not spent.
    let res = app
        .post_json("/api/v1/auth/password-reset/confirm", &json!({"token": token, "new_password": "password123"}), None)
        .await;
    let (status, error) = error_code(res).await;
    assert_eq!(
        (status, error["details"][0]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("new_password"))
    );
    assert_eq!(error["details"][0]["rule"], "common");

    let res = app
        .post_json(
            "/api/v1/auth/password-reset/confirm",
            &json!({"token": token, "new_password": "a brand new secret"}),
            None,
        )
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    // Every sign-in ended at once: the access token, the refresh token, the dashboard session.
    assert_eq!(app.get("/api/v1/me", Some(&ana.access_token)).await.status(), StatusCode::UNAUTHORIZED);
    let res = app.post_json("/api/v1/auth/refresh", &json!({"refresh_token": ana.refresh_token}), None).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let res = browser.get(app.url("/household")).send().await.unwrap();
    assert_eq!(res.headers()[LOCATION], "/login");
    // The link works once.
    let res = app
        .post_json(
            "/api/v1/auth/password-reset/confirm",
            &json!({"token": token, "new_password": "and another one again"}),
            None,
        )
        .await;
    let (status, error) = error_code(res).await;
    assert_eq!((status, error["details"][0]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("token")));
    // The throttle was cleared; the new password works, the old does not.
    let res = login_with(&app, &ana.email, "a brand new secret", None).await;
    assert_eq!(res.status(), StatusCode::OK);
    let session: Value = res.json().await.unwrap();
    assert_eq!(session["user"]["email_verified"], true, "the link reached the address");
    assert_eq!(login_with(&app, &ana.email, &ana.password, None).await.status(), StatusCode::UNAUTHORIZED);
    // Nobody got a mail for the address without an account.
    assert!(mails_to(&sink, "nobody@example.org").is_empty());
}

#[tokio::test]
async fn a_reset_link_expires() {
    let Some(sink) = SmtpSink::start() else { return };
    let app = app_mailing_to(&sink, |c| c.account_mail.reset_ttl = Duration::from_secs(1)).await;
    let ana = app.register("Ana").await;
    let res = app.post_json("/api/v1/auth/password-reset", &json!({"email": ana.email}), None).await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let token = token_in(&mail(&sink, &ana.email, "Reset your Petty password", 1).await, "reset-password");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let res = app
        .post_json(
            "/api/v1/auth/password-reset/confirm",
            &json!({"token": token, "new_password": "a brand new secret"}),
            None,
        )
        .await;
    let (status, error) = error_code(res).await;
    assert_eq!((status, error["details"][0]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("token")));
    assert_eq!(login_with(&app, &ana.email, &ana.password, None).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_reset_mail_waits_out_an_smtp_outage_and_the_queue_holds_no_link() {
    let Some(port) = crate::fakes::free_port() else { return };
    // The mail server is down when the reset is asked for.
    let app = spawn_app_with(move |c| {
        c.notify.smtp = Some(petty_http::notify::SmtpConfig {
            host: "127.0.0.1".into(),
            port,
            tls: petty_http::notify::SmtpTls::None,
            username: None,
            password: None,
            from: "Petty <accounts@petty.test>".into(),
        });
        c.notify.public_url = "http://petty.test".into();
        c.notify.backoff_base = Duration::from_secs(1);
    })
    .await;
    let ana = app.register("Ana").await;
    let res = app.post_json("/api/v1/auth/password-reset", &json!({"email": ana.email}), None).await;
    assert_eq!(res.status(), StatusCode::ACCEPTED, "accepted while the mail server is down");
    let email = petty_core::accounts::Email::parse("email", &ana.email).unwrap();
    let mut queued = Vec::new();
    for _ in 0..100 {
        queued = app.store.account_mail_to(&email).await.unwrap();
        if queued
            .iter()
            .any(|m| m.kind == petty_store::AccountMailKind::PasswordReset && m.attempts > 0 && m.last_error.is_some())
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let reset = queued.iter().find(|m| m.kind == petty_store::AccountMailKind::PasswordReset).expect("queued");
    assert_eq!(reset.status, petty_store::AccountMailStatus::Pending, "kept for a retry: {reset:?}");
    assert!(!format!("{queued:?}").contains("token="), "the queue holds no link");

    // The server is back; the outbox job's next pass sends it (run here as the scheduler would).
    let Some(sink) = SmtpSink::start_on(port) else { return };
    let later = petty_store::to_ms(time::OffsetDateTime::now_utc()) + 10_000;
    let sent = petty_app::account_mail::deliver_due(&app.state.app, later).await.unwrap();
    assert!(sent >= 1);
    let token = token_in(&mail(&sink, &ana.email, "Reset your Petty password", 1).await, "reset-password");
    let res = app
        .post_json(
            "/api/v1/auth/password-reset/confirm",
            &json!({"token": token, "new_password": "a brand new secret"}),
            None,
        )
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn bad_input_is_named_by_field_and_rule() {
    let app = spawn_app_with(|_| {}).await;
    for (path, body, field, rule) in [
        ("/api/v1/auth/password-reset", json!({"email": "not an address"}), "email", "format"),
        ("/api/v1/auth/verify-email/resend", json!({"email": ""}), "email", "required"),
        ("/api/v1/auth/password-reset/confirm", json!({"token": " ", "new_password": PASSWORD}), "token", "required"),
        (
            "/api/v1/auth/password-reset/confirm",
            json!({"token": "x".repeat(101), "new_password": PASSWORD}),
            "token",
            "too_long",
        ),
        (
            "/api/v1/auth/password-reset/confirm",
            json!({"token": "pr_unknown", "new_password": PASSWORD}),
            "token",
            "invalid",
        ),
        ("/api/v1/auth/verify-email", json!({"token": "ev_unknown"}), "token", "invalid"),
    ] {
        let (status, error) = error_code(app.post_json(path, &body, None).await).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{path} {body}");
        assert_eq!(
            (error["details"][0]["field"].as_str(), error["details"][0]["rule"].as_str()),
            (Some(field), Some(rule)),
            "{path}"
        );
    }
    let res = app.post_json("/api/v1/auth/password-reset", &json!({"email": "a@example.org", "extra": 1}), None).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "unknown fields are named too");
}

#[tokio::test]
async fn registering_a_taken_address_answers_the_same_and_mails_its_owner() {
    let Some(sink) = SmtpSink::start() else { return };
    let app = app_mailing_to(&sink, |_| {}).await;
    let ana = unique("ana");
    assert_eq!(register(&app, &ana, PASSWORD).await.status(), StatusCode::ACCEPTED);
    mail(&sink, &ana, "Confirm your email address", 1).await;

    let fresh = unique("fresh");
    let new = register(&app, &fresh, "a different passphrase").await;
    let taken = register(&app, &ana.to_uppercase(), "a different passphrase").await;
    assert_eq!((new.status(), taken.status()), (StatusCode::ACCEPTED, StatusCode::ACCEPTED));
    let content_type = |r: &Response| r.headers()["content-type"].to_str().unwrap().to_owned();
    assert_eq!(content_type(&new), content_type(&taken));
    let (new, taken) = (new.text().await.unwrap(), taken.text().await.unwrap());
    assert_eq!(new, taken, "byte for byte");
    let body: Value = serde_json::from_str(&new).unwrap();
    assert_eq!(body["status"], "accepted");
    assert!(body.get("access_token").is_none() && body.get("user").is_none());

    // The owner hears of it; the new address gets its verification link.
    let warning = mail(&sink, &ana, "Someone tried to register", 1).await;
    assert!(warning.contains("http://petty.test/forgot-password"), "{warning}");
    mail(&sink, &fresh, "Confirm your email address", 1).await;
    // Nothing changed for the owner.
    assert_eq!(login_with(&app, &ana, PASSWORD, None).await.status(), StatusCode::OK);
    assert_eq!(login_with(&app, &ana, "a different passphrase", None).await.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn under_required_verification_an_unverified_account_signs_in_only_after_the_link() {
    let Some(sink) = SmtpSink::start() else { return };
    let app = app_mailing_to(&sink, |c| c.email_verification = petty_core::accounts::EmailVerification::Required).await;
    let ana = unique("ana");
    let res = register(&app, &ana, PASSWORD).await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    assert_eq!(res.json::<Value>().await.unwrap()["email_verification"], "required");
    let first = mail(&sink, &ana, "Confirm your email address", 1).await;

    // The right password before the link is answered as a wrong one is (nothing tells that the
    // address registered), and mails a new link.
    let (s1, right) = error_code(login_with(&app, &ana, PASSWORD, None).await).await;
    let (s2, wrong) = error_code(login_with(&app, &ana, "not the password", None).await).await;
    let (s3, nobody) = error_code(login_with(&app, "nobody@example.org", PASSWORD, None).await).await;
    assert_eq!((s1, s2, s3), (StatusCode::UNAUTHORIZED, StatusCode::UNAUTHORIZED, StatusCode::UNAUTHORIZED));
    assert_eq!((&right["code"], &right["message"]), (&wrong["code"], &wrong["message"]));
    assert_eq!(right["message"], nobody["message"]);
    assert!(right["message"].as_str().unwrap().contains("not verified"));
    let second = mail(&sink, &ana, "Confirm your email address", 2).await;
    let (old, new) = (token_in(&first, "verify-email"), token_in(&second, "verify-email"));
    assert_ne!(old, new);

    let res = app.post_json("/api/v1/auth/verify-email", &json!({"token": new}), None).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let res = login_with(&app, &ana, PASSWORD, None).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.json::<Value>().await.unwrap()["user"]["email_verified"], true);
    // Spent, and the older link with it.
    for token in [new, old] {
        let (status, error) =
            error_code(app.post_json("/api/v1/auth/verify-email", &json!({"token": token}), None).await).await;
        assert_eq!((status, error["details"][0]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("token")));
    }
    // A new link is asked for alike for any address; a verified one gets none.
    let mut answers = Vec::new();
    for email in [ana.as_str(), "nobody@example.org"] {
        let res = app.post_json("/api/v1/auth/verify-email/resend", &json!({"email": email}), None).await;
        assert_eq!(res.status(), StatusCode::ACCEPTED);
        answers.push(res.text().await.unwrap());
    }
    assert_eq!(answers[0], answers[1]);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(mails_to(&sink, &ana).len(), 2, "no link for a verified address");
}

// ---- the dashboard ----

fn browser() -> Client {
    Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().expect("client")
}

fn csrf_in(html: &str) -> String {
    let marker = r#"name="csrf" value=""#;
    let start = html.find(marker).unwrap_or_else(|| panic!("no csrf field in:\n{html}")) + marker.len();
    html[start..].split('"').next().expect("closing quote").to_owned()
}

async fn page(app: &TestApp, client: &Client, path: &str) -> (StatusCode, String) {
    let res = client.get(app.url(path)).send().await.unwrap();
    (res.status(), res.text().await.unwrap())
}

async fn submit(app: &TestApp, client: &Client, path: &str, form: &[(&str, &str)]) -> Response {
    client.post(app.url(path)).form(form).send().await.unwrap()
}

#[tokio::test]
async fn a_forgotten_password_is_reset_through_the_dashboard() {
    let Some(sink) = SmtpSink::start() else { return };
    let app = app_mailing_to(&sink, |_| {}).await;
    let ana = app.register("Ana").await;
    let client = browser();
    let (_, login) = page(&app, &client, "/login").await;
    assert!(login.contains(r#"href="/forgot-password""#));
    let (status, forgot) = page(&app, &client, "/forgot-password").await;
    assert_eq!(status, StatusCode::OK);
    let csrf = csrf_in(&forgot);
    // A forged form changes nothing; a bad address is named at its field.
    let res = submit(
        &app,
        &client,
        "/forgot-password",
        &[("csrf", "forged-forged-forged-forged-forged"), ("email", &ana.email)],
    )
    .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = submit(&app, &client, "/forgot-password", &[("csrf", &csrf), ("email", "ana@")]).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await.unwrap().contains(r#"id="f-email-error""#));
    let mut pages = Vec::new();
    for email in [ana.email.as_str(), "nobody@example.org"] {
        let res = submit(&app, &client, "/forgot-password", &[("csrf", &csrf), ("email", email)]).await;
        assert_eq!(res.status(), StatusCode::OK);
        pages.push(res.text().await.unwrap());
    }
    assert_eq!(pages[0], pages[1], "the same page for every address");
    assert!(pages[0].contains("Check your email"));

    let token = token_in(&mail(&sink, &ana.email, "Reset your Petty password", 1).await, "reset-password");
    let (status, form) = page(&app, &client, &format!("/reset-password?token={token}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(form.contains(&format!(r#"name="token" value="{token}""#)) && form.contains(r#"id="f-new_password""#));
    let csrf = csrf_in(&form);
    let res =
        submit(&app, &client, "/reset-password", &[("csrf", &csrf), ("token", &token), ("new_password", "short")])
            .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await.unwrap().contains(r#"id="f-new_password-error""#));
    let res = submit(
        &app,
        &client,
        "/reset-password",
        &[("csrf", &csrf), ("token", &token), ("new_password", "a brand new secret")],
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.text().await.unwrap().contains("Your password is set"));
    assert_eq!(app.get("/api/v1/me", Some(&ana.access_token)).await.status(), StatusCode::UNAUTHORIZED);
    // The link is spent; its page says so.
    let (status, spent) = page(&app, &client, &format!("/reset-password?token={token}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(spent.contains("Ask for a new link"));
    // Signing in with the new password through the form leaves a trusted-device cookie.
    let (_, login) = page(&app, &client, "/login").await;
    let res = submit(
        &app,
        &client,
        "/login",
        &[("csrf", &csrf_in(&login)), ("email", &ana.email), ("password", "a brand new secret")],
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let cookie = res
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("petty_trusted_device="))
        .expect("a trusted-device cookie")
        .to_owned();
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/login"] {
        assert!(cookie.contains(attribute), "{attribute} missing from {cookie}");
    }
}

#[tokio::test]
async fn the_dashboard_keeps_a_trusted_browser_signed_in_through_an_attack() {
    let app = spawn_app_with(|c| {
        c.signin.account.free_failures = 2;
        c.signin.account.base = time::Duration::minutes(10);
    })
    .await;
    let ana = app.register("Ana").await;
    let client = browser();
    let (_, login) = page(&app, &client, "/login").await;
    let csrf = csrf_in(&login);
    let form = [("csrf", csrf.as_str()), ("email", ana.email.as_str()), ("password", ana.password.as_str())];
    assert_eq!(submit(&app, &client, "/login", &form).await.status(), StatusCode::SEE_OTHER);
    let (_, household) = page(&app, &client, "/household").await;
    assert_eq!(
        submit(&app, &client, "/logout", &[("csrf", &csrf_in(&household))]).await.status(),
        StatusCode::SEE_OTHER
    );

    for _ in 0..4 {
        login_with(&app, &ana.email, "attacker's guess", None).await;
    }
    // A browser that never signed in waits; Ana's gets in.
    let stranger = browser();
    let (_, other) = page(&app, &stranger, "/login").await;
    let stranger_form = [("csrf", csrf_in(&other)), ("email", ana.email.clone()), ("password", ana.password.clone())];
    assert_eq!(
        stranger.post(app.url("/login")).form(&stranger_form).send().await.unwrap().status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    let (_, login) = page(&app, &client, "/login").await;
    let form = [("csrf", csrf_in(&login)), ("email", ana.email.clone()), ("password", ana.password.clone())];
    let res = client.post(app.url("/login")).form(&form).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()[LOCATION], "/household");
}

#[tokio::test]
async fn an_address_is_verified_through_the_dashboard() {
    let Some(sink) = SmtpSink::start() else { return };
    let app = app_mailing_to(&sink, |_| {}).await;
    let client = browser();
    let (_, form) = page(&app, &client, "/register").await;
    let ana = unique("ana");
    let res = submit(
        &app,
        &client,
        "/register",
        &[("csrf", &csrf_in(&form)), ("display_name", "Ana"), ("email", &ana), ("password", PASSWORD)],
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    let first = mail(&sink, &ana, "Confirm your email address", 1).await;

    // Signed in (verification is optional here), every page offers a new link.
    let (_, login) = page(&app, &client, "/login").await;
    let res =
        submit(&app, &client, "/login", &[("csrf", &csrf_in(&login)), ("email", &ana), ("password", PASSWORD)]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, household) = page(&app, &client, "/household").await;
    assert!(household.contains("not confirmed yet") && household.contains(r#"action="/verify-email/resend""#));
    let res = submit(&app, &client, "/verify-email/resend", &[("csrf", "forged")]).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = submit(&app, &client, "/verify-email/resend", &[("csrf", &csrf_in(&household))]).await;
    assert_eq!(res.status(), StatusCode::OK);
    let second = mail(&sink, &ana, "Confirm your email address", 2).await;
    assert_ne!(token_in(&first, "verify-email"), token_in(&second, "verify-email"));

    // The link's page changes nothing by itself (mail scanners open links); its button does.
    let token = token_in(&second, "verify-email");
    let anonymous = browser();
    let (status, confirm) = page(&app, &anonymous, &format!("/verify-email?token={token}")).await;
    assert_eq!(status, StatusCode::OK);
    let (_, still) = page(&app, &client, "/household").await;
    assert!(still.contains("not confirmed yet"));
    let res = submit(&app, &anonymous, "/verify-email", &[("csrf", &csrf_in(&confirm)), ("token", &token)]).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.text().await.unwrap().contains("Your email address is confirmed"));
    let (_, household) = page(&app, &client, "/household").await;
    assert!(!household.contains("not confirmed yet"));
    // Used: the same button now explains and offers a new link.
    let res = submit(&app, &anonymous, "/verify-email", &[("csrf", &csrf_in(&confirm)), ("token", &token)]).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await.unwrap().contains(r#"action="/verify-email/resend""#));
    // Asking for a link while signed out answers alike for every address.
    let (_, resend) = page(&app, &anonymous, "/verify-email").await;
    let csrf = csrf_in(&resend);
    let mut pages = Vec::new();
    for email in [ana.as_str(), "nobody@example.org"] {
        let res = submit(&app, &anonymous, "/verify-email/resend", &[("csrf", &csrf), ("email", email)]).await;
        assert_eq!(res.status(), StatusCode::OK);
        pages.push(res.text().await.unwrap());
    }
    assert_eq!(pages[0], pages[1]);
}
