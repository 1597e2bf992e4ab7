//! The dashboard over HTTP, as a browser without JavaScript uses it: HTML forms, a session
//! cookie, CSRF tokens, redirects after POST.

use reqwest::header::{CACHE_CONTROL, CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE};
use reqwest::{Client, Response, StatusCode};
use serde_json::json;

use crate::harness::{TestApp, spawn_app, spawn_app_with};

pub(crate) const PASSWORD: &str = "correct horse battery staple";

/// A client that keeps cookies like a browser, and shows redirects instead of following them.
pub(crate) fn browser() -> Client {
    Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().expect("client")
}

/// The value of a page's hidden `csrf` field.
pub(crate) fn csrf_in(html: &str) -> String {
    let marker = r#"name="csrf" value=""#;
    let start = html.find(marker).unwrap_or_else(|| panic!("no csrf field in:\n{html}")) + marker.len();
    html[start..].split('"').next().expect("closing quote").to_owned()
}

/// `Set-Cookie` headers for the cookie `name`.
pub(crate) fn set_cookies(res: &Response, name: &str) -> Vec<String> {
    res.headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter(|v| v.starts_with(&format!("{name}=")))
        .map(str::to_owned)
        .collect()
}

pub(crate) fn location(res: &Response) -> &str {
    res.headers().get(LOCATION).and_then(|v| v.to_str().ok()).unwrap_or("")
}

pub(crate) async fn get_page(app: &TestApp, client: &Client, path: &str) -> (StatusCode, String) {
    let res = client.get(app.url(path)).send().await.expect("request");
    let status = res.status();
    (status, res.text().await.expect("body"))
}

pub(crate) async fn post_form(app: &TestApp, client: &Client, path: &str, form: &[(&str, &str)]) -> Response {
    client.post(app.url(path)).form(form).send().await.expect("request")
}

/// Registers through `/register` in `client`, then signs in through `/login`, so the client
/// ends up signed in. Returns the email and the answer to the sign-in.
pub(crate) async fn register_through_form(app: &TestApp, client: &Client, name: &str) -> (String, Response) {
    let (_, html) = get_page(app, client, "/register").await;
    let email = format!("{}-{}@example.org", name.to_lowercase(), &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let res = post_form(
        app,
        client,
        "/register",
        &[
            ("csrf", &csrf_in(&html)),
            ("display_name", name),
            ("email", &email),
            ("password", PASSWORD),
            ("household_name", &format!("{name}'s home")),
            ("invitation_token", ""),
        ],
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK, "registration is accepted");
    assert!(set_cookies(&res, "petty_session").is_empty(), "registering signs nobody in");
    let page = res.text().await.unwrap();
    assert!(page.contains("Now sign in") && page.contains(r#"href="/login""#), "{page}");
    (email.clone(), sign_in_through_form(app, client, &email, PASSWORD).await)
}

/// Signs in through `/login` in `client`; answers the POST's answer (a redirect to the household).
pub(crate) async fn sign_in_through_form(app: &TestApp, client: &Client, email: &str, password: &str) -> Response {
    let (_, html) = get_page(app, client, "/login").await;
    let res =
        post_form(app, client, "/login", &[("csrf", &csrf_in(&html)), ("email", email), ("password", password)]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "sign-in succeeds");
    assert_eq!(location(&res), "/household");
    res
}

/// Adds a pet through `/pets/new`.
pub(crate) async fn add_pet_through_form(app: &TestApp, client: &Client, fields: &[(&str, &str)]) -> Response {
    let (status, html) = get_page(app, client, "/pets/new").await;
    assert_eq!(status, StatusCode::OK);
    let csrf = csrf_in(&html);
    let mut form = vec![("csrf", csrf.as_str())];
    form.extend_from_slice(fields);
    post_form(app, client, "/pets/new", &form).await
}

#[tokio::test]
async fn the_sign_in_page_is_accessible_html_with_a_csrf_field() {
    let app = spawn_app().await;
    let res = app.client.get(app.url("/login")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers()[CONTENT_TYPE].to_str().unwrap().starts_with("text/html"));
    let csp = res.headers()["content-security-policy"].to_str().unwrap().to_owned();
    assert!(csp.contains("style-src 'self'") && !csp.contains("unsafe-inline"), "{csp}");
    assert_eq!(res.headers()["referrer-policy"], "strict-origin-when-cross-origin");
    assert_eq!(res.headers()["cross-origin-opener-policy"], "same-origin");
    let cookie = set_cookies(&res, "petty_csrf").pop().expect("a petty_csrf cookie");
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"), "{cookie}");
    let html = res.text().await.unwrap();
    let token = csrf_in(&html);
    assert!(cookie.starts_with(&format!("petty_csrf={token};")), "the field repeats the cookie");
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains(r#"<html lang="en">"#));
    assert!(html.contains("<main"), "a main landmark");
    assert!(html.contains(r#"<label for="f-email">"#) && html.contains(r#"id="f-email""#));
    assert!(html.contains(r#"<label for="f-password">"#) && html.contains(r#"id="f-password""#));
    assert!(!html.contains("style="), "the CSP forbids inline styles");
    assert!(!html.contains("<script"), "the dashboard needs no JavaScript");
}

#[tokio::test]
async fn registering_and_signing_in_through_the_forms_and_added_pets_are_listed() {
    let app = spawn_app().await;
    let client = browser();
    let (_, res) = register_through_form(&app, &client, "Ana").await;
    let cookie = set_cookies(&res, "petty_session").pop().expect("a session cookie");
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=604800"] {
        assert!(cookie.contains(attribute), "{attribute} missing from {cookie}");
    }
    assert!(!cookie.contains("Secure"), "not over plain HTTP in tests");

    let (status, html) = get_page(&app, &client, "/household").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Ana&#39;s home") || html.contains("Ana's home"), "household name shown");
    assert!(html.contains("No pets yet"));
    assert!(html.contains(r#"href="/pets/new""#), "an owner may add pets");

    let res = add_pet_through_form(
        &app,
        &client,
        &[
            ("name", "Bella"),
            ("species", "dog"),
            ("breed", "Labrador"),
            ("date_of_birth", "2020-02-29"),
            ("sex", "female"),
            ("weight_kg", "21,5"),
            ("microchip_id", ""),
            ("photo_url", ""),
            ("notes", "Loves the sea"),
        ],
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/household");

    let (_, html) = get_page(&app, &client, "/household").await;
    assert!(!html.contains("No pets yet"));
    assert!(html.contains(">Bella</a>"), "{html}");
    assert!(html.contains("Labrador"));
    assert!(html.contains("21.5 kg"));
    assert!(html.contains(r#"datetime="2020-02-29""#), "age is computed from the date of birth");
    assert!(html.contains("Owner"), "members are listed with their role");
}

#[tokio::test]
async fn a_pet_can_be_edited_and_deleted() {
    let app = spawn_app().await;
    let client = browser();
    register_through_form(&app, &client, "Ana").await;
    add_pet_through_form(&app, &client, &[("name", "Bella"), ("species", "dog"), ("weight_kg", "20")]).await;
    let (_, html) = get_page(&app, &client, "/household").await;
    let edit_path = html
        .split(r#"href=""#)
        .filter_map(|rest| rest.split('"').next())
        .find(|href| href.starts_with("/pets/") && href.ends_with("/edit"))
        .expect("a link to the pet's page")
        .to_owned();

    let (status, form) = get_page(&app, &client, &edit_path).await;
    assert_eq!(status, StatusCode::OK);
    assert!(form.contains(r#"value="Bella""#) && form.contains(r#"value="20""#), "the form is filled in");
    assert!(form.contains(r#"<option value="dog" selected>"#));
    let csrf = csrf_in(&form);
    let res = post_form(
        &app,
        &client,
        &edit_path,
        &[("csrf", &csrf), ("name", "Bella II"), ("species", "cat"), ("weight_kg", "4.2")],
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, html) = get_page(&app, &client, "/household").await;
    assert!(html.contains(">Bella II</a>") && html.contains("4.2 kg") && html.contains("Cat"));

    let delete_path = edit_path.replace("/edit", "/delete");
    let res = post_form(&app, &client, &delete_path, &[("csrf", &csrf)]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, html) = get_page(&app, &client, "/household").await;
    assert!(html.contains("No pets yet"));
    let (status, _) = get_page(&app, &client, &edit_path).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_post_without_the_csrf_token_is_refused_and_changes_nothing() {
    let app = spawn_app().await;
    let client = browser();
    register_through_form(&app, &client, "Ana").await;
    let pet = [("name", "Bella"), ("species", "dog")];

    let res = post_form(&app, &client, "/pets/new", &pet).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(res.headers()[CONTENT_TYPE].to_str().unwrap().starts_with("text/html"));
    assert!(res.text().await.unwrap().contains("nothing was changed"));

    // Another session's token is no better than none.
    let other = browser();
    register_through_form(&app, &other, "Bo").await;
    let (_, other_form) = get_page(&app, &other, "/pets/new").await;
    let foreign = csrf_in(&other_form);
    let res = post_form(&app, &client, "/pets/new", &[("csrf", &foreign), ("name", "Bella"), ("species", "dog")]).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);

    let (_, html) = get_page(&app, &client, "/household").await;
    assert!(html.contains("No pets yet"), "no pet was created");

    // Signing out needs the token too, so another site cannot sign you out.
    let res = post_form(&app, &client, "/logout", &[]).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(get_page(&app, &client, "/household").await.0, StatusCode::OK, "still signed in");

    // The anonymous forms check their double-submit cookie.
    let stranger = browser();
    get_page(&app, &stranger, "/register").await;
    let email = "mallory@example.org";
    let res = post_form(
        &app,
        &stranger,
        "/register",
        &[
            ("csrf", "forged-forged-forged-forged-forged-forged"),
            ("display_name", "M"),
            ("email", email),
            ("password", PASSWORD),
        ],
    )
    .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(set_cookies(&res, "petty_session").is_empty());
    let res = app.login(email, PASSWORD).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "no account was made");
    let res = post_form(&app, &stranger, "/login", &[("email", email), ("password", PASSWORD)]).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_bad_pet_form_is_shown_again_with_every_error_and_creates_nothing() {
    let app = spawn_app().await;
    let client = browser();
    register_through_form(&app, &client, "Ana").await;
    let res = add_pet_through_form(&app, &client, &[("name", ""), ("species", "dog"), ("weight_kg", "heavy")]).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = res.text().await.unwrap();
    assert!(html.contains(r#"id="f-name-error""#), "{html}");
    assert!(html.contains("Name must not be empty"));
    assert!(html.contains(r#"id="f-weight_kg-error""#));
    assert!(html.contains("Weight (kg) must be a number"));
    assert!(html.contains(r#"aria-describedby="f-weight_kg-hint f-weight_kg-error""#), "errors are tied to fields");
    assert!(html.contains(r##"href="#f-name""##), "the summary links to the field");
    assert!(html.contains(r#"value="heavy""#), "what was typed stays");
    assert!(html.contains(r#"<option value="dog" selected>"#));

    let (_, html) = get_page(&app, &client, "/household").await;
    assert!(html.contains("No pets yet"));
}

#[tokio::test]
async fn pages_need_a_session_and_the_root_sends_each_person_where_they_belong() {
    let app = spawn_app().await;
    for path in ["/household", "/pets/new", "/"] {
        let res = app.get(path, None).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "{path}");
        assert_eq!(location(&res), "/login", "{path}");
    }
    // A made-up cookie is no session, and is cleared.
    let res = app.client.get(app.url("/household")).header(COOKIE, "petty_session=ps_made_up").send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(set_cookies(&res, "petty_session").iter().any(|c| c.contains("Max-Age=0")));

    let client = browser();
    register_through_form(&app, &client, "Ana").await;
    let res = client.get(app.url("/")).send().await.unwrap();
    assert_eq!(location(&res), "/household");
    let res = client.get(app.url("/login")).send().await.unwrap();
    assert_eq!(location(&res), "/household", "no sign-in form for someone signed in");
}

#[tokio::test]
async fn another_households_pet_is_not_found() {
    let app = spawn_app().await;
    let ana = app.register("Ana").await;
    let pet = app.create_pet(&ana.access_token, json!({"name": "Bella", "species": "dog"})).await;
    let pet_id = pet["id"].as_str().unwrap();

    let client = browser();
    register_through_form(&app, &client, "Bo").await;
    let (status, html) = get_page(&app, &client, &format!("/pets/{pet_id}/edit")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(!html.contains("Bella"));
    assert!(html.contains("Page not found"));
    let (_, form) = get_page(&app, &client, "/pets/new").await;
    let csrf = csrf_in(&form);
    let change = [("csrf", csrf.as_str()), ("name", "Stolen"), ("species", "cat")];
    let res = post_form(&app, &client, &format!("/pets/{pet_id}/edit"), &change).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let res = post_form(&app, &client, &format!("/pets/{pet_id}/delete"), &[("csrf", &csrf)]).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert_eq!(get_page(&app, &client, "/pets/not-a-uuid/edit").await.0, StatusCode::NOT_FOUND);

    let res = app.get(&format!("/api/v1/pets/{pet_id}"), Some(&ana.access_token)).await;
    let still: serde_json::Value = res.json().await.unwrap();
    assert_eq!(still["name"], "Bella", "Ana's pet is untouched");
}

#[tokio::test]
async fn signing_out_makes_the_cookie_worthless() {
    let app = spawn_app().await;
    let client = browser();
    let (_, res) = register_through_form(&app, &client, "Ana").await;
    let cookie = set_cookies(&res, "petty_session").pop().unwrap();
    let pair = cookie.split(';').next().unwrap().to_owned();

    let (_, html) = get_page(&app, &client, "/household").await;
    let res = post_form(&app, &client, "/logout", &[("csrf", &csrf_in(&html))]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/login");
    assert!(set_cookies(&res, "petty_session").iter().any(|c| c.contains("Max-Age=0")), "the cookie is cleared");

    // Even a copy of the cookie kept from before no longer signs anyone in.
    let res = app.client.get(app.url("/household")).header(COOKIE, &pair).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/login");
}

#[tokio::test]
async fn signing_in_keeps_the_email_on_errors_and_reports_the_backoff() {
    let app = spawn_app_with(|config| {
        config.signin.account.free_failures = 2;
        config.signin.account.base = time::Duration::minutes(1);
    })
    .await;
    let ana = app.register("Ana").await;
    let email = ana.email;
    // A browser that never signed in to Ana's account: an untrusted client.
    let client = browser();
    let (_, html) = get_page(&app, &client, "/login").await;
    assert!(html.contains(r#"href="/forgot-password""#), "a way out for a forgotten password");
    let csrf = csrf_in(&html);
    let res =
        post_form(&app, &client, "/login", &[("csrf", &csrf), ("email", &email), ("password", "wrong password")]).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let html = res.text().await.unwrap();
    assert!(html.contains("The email or password is wrong."));
    assert!(html.contains(&format!(r#"value="{email}""#)), "the email stays filled in");
    assert!(!html.contains("wrong password"), "a password is never echoed");

    let res =
        post_form(&app, &client, "/login", &[("csrf", &csrf), ("email", &email), ("password", "wrong again")]).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let res = post_form(&app, &client, "/login", &[("csrf", &csrf), ("email", &email), ("password", PASSWORD)]).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(res.headers().contains_key("retry-after"));
    let html = res.text().await.unwrap();
    assert!(html.contains("Too many failed sign-ins for this email. Try again in 60 seconds"), "{html}");
    assert!(html.contains("reset your password"), "{html}");
    assert!(html.contains(&format!(r#"value="{email}""#)));
}

#[tokio::test]
async fn signing_in_through_the_form_starts_a_session() {
    let app = spawn_app().await;
    let ana = app.register("Ana").await;
    let client = browser();
    let (_, html) = get_page(&app, &client, "/login").await;
    let res = post_form(
        &app,
        &client,
        "/login",
        &[("csrf", &csrf_in(&html)), ("email", &ana.email.to_uppercase()), ("password", &ana.password)],
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/household");
    assert_eq!(set_cookies(&res, "petty_session").len(), 1);
    let (status, html) = get_page(&app, &client, "/household").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Ana"));
}

#[tokio::test]
async fn registration_errors_are_shown_beside_their_fields() {
    let app = spawn_app().await;
    let client = browser();
    let (_, html) = get_page(&app, &client, "/register").await;
    let csrf = csrf_in(&html);
    let res = post_form(
        &app,
        &client,
        "/register",
        &[("csrf", &csrf), ("display_name", " "), ("email", "ana@nowhere"), ("password", "short")],
    )
    .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(set_cookies(&res, "petty_session").is_empty());
    let html = res.text().await.unwrap();
    for field in ["display_name", "email", "password"] {
        // Once as the error's id, once in the input's aria-describedby.
        assert_eq!(html.matches(&format!(r#"f-{field}-error""#)).count(), 2, "{field} error missing");
    }
    assert!(html.contains(r#"value="ana@nowhere""#), "the email stays");
    assert!(!html.contains(r#"value="short""#), "the password does not");

    // A taken email is not reported: the page is the one a new address gets.
    let (email, _) = register_through_form(&app, &browser(), "Bo").await;
    let fresh = format!("new-{}@example.org", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let mut pages = Vec::new();
    for address in [email.as_str(), fresh.as_str()] {
        let res = post_form(
            &app,
            &client,
            "/register",
            &[("csrf", &csrf), ("display_name", "Bo again"), ("email", address), ("password", PASSWORD)],
        )
        .await;
        assert_eq!(res.status(), StatusCode::OK);
        pages.push(res.text().await.unwrap());
    }
    assert_eq!(pages[0], pages[1], "the same page for a taken and a new address");
    assert!(!pages[0].contains("already"));
}

#[tokio::test]
async fn a_vet_sees_shared_pets_read_only_and_cannot_change_them() {
    let app = spawn_app().await;
    let owner = app.register("Owner").await;
    let pet = app.create_pet(&owner.access_token, json!({"name": "Bella", "species": "dog", "weight_kg": 20.0})).await;
    let res = app.post_json("/api/v1/household/invitations", &json!({"role": "vet"}), Some(&owner.access_token)).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let invitation: serde_json::Value = res.json().await.unwrap();
    let token = invitation["token"].as_str().unwrap();

    let vet = browser();
    let (_, html) = get_page(&app, &vet, &format!("/register?invitation={token}")).await;
    assert!(html.contains(&format!(r#"value="{token}""#)), "the invitation is filled in from the link");
    let res = post_form(
        &app,
        &vet,
        "/register",
        &[
            ("csrf", &csrf_in(&html)),
            ("display_name", "Dr Vet"),
            ("email", "dr.vet@example.org"),
            ("password", PASSWORD),
            ("invitation_token", token),
        ],
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    sign_in_through_form(&app, &vet, "dr.vet@example.org", PASSWORD).await;

    // Nothing is shared with the vet yet; then the owner shares Bella.
    let (_, html) = get_page(&app, &vet, "/household").await;
    assert!(!html.contains(">Bella</a>") && html.contains("No pets shared with you yet"));
    let members: serde_json::Value =
        app.get("/api/v1/household/members", Some(&owner.access_token)).await.json().await.unwrap();
    let vet_id =
        members["items"].as_array().unwrap().iter().find(|m| m["role"] == "vet").unwrap()["user"]["id"].clone();
    let res = app
        .client
        .put(app.url(&format!("/api/v1/household/members/{}/pets", vet_id.as_str().unwrap())))
        .bearer_auth(&owner.access_token)
        .json(&json!({"pet_ids": [pet["id"]]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let (_, html) = get_page(&app, &vet, "/household").await;
    let care_path = format!("/pets/{}/care", pet["id"].as_str().unwrap());
    assert!(html.contains(&format!(r#"<a href="{care_path}">Bella</a>"#)), "Bella, leading to her care records");
    assert!(!html.contains(r#"href="/pets/new""#), "no way to add a pet");
    assert!(html.contains("Vet") && html.contains("Dr Vet"));
    assert_eq!(get_page(&app, &vet, &care_path).await.0, StatusCode::OK);
    let edit_path = format!("/pets/{}/edit", pet["id"].as_str().unwrap());
    assert_eq!(get_page(&app, &vet, &edit_path).await.0, StatusCode::FORBIDDEN, "a vet sees care records only");
    assert_eq!(get_page(&app, &vet, "/pets/new").await.0, StatusCode::FORBIDDEN);
    let csrf = csrf_in(&html);
    let res = post_form(&app, &vet, "/pets/new", &[("csrf", &csrf), ("name", "Rex"), ("species", "dog")]).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = post_form(&app, &vet, &edit_path.replace("/edit", "/delete"), &[("csrf", &csrf)]).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let (_, html) = get_page(&app, &vet, "/household").await;
    assert!(html.contains(">Bella</a>") && !html.contains("Rex"));
}

#[tokio::test]
async fn the_stylesheet_is_served_as_css_and_cached_by_version() {
    let app = spawn_app().await;
    let res = app.get("/assets/petty.css", None).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers()[CONTENT_TYPE].to_str().unwrap().starts_with("text/css"));
    assert!(res.text().await.unwrap().contains(".pet-card"));

    let (_, html) = get_page(&app, &app.client, "/login").await;
    let start = html.find("/assets/petty.css?v=").expect("a versioned link");
    let href = html[start..].split('"').next().unwrap();
    let res = app.get(href, None).await;
    assert_eq!(res.status(), StatusCode::OK);
    let cache = res.headers()[CACHE_CONTROL].to_str().unwrap();
    assert!(cache.contains("max-age=31536000") && cache.contains("immutable"), "{cache}");
}

#[tokio::test]
async fn cookies_are_marked_secure_when_petty_is_served_over_https() {
    let app = spawn_app_with(|config| config.secure_cookies = true).await;
    // A cookie store would not send Secure cookies back over the test's plain HTTP.
    let res = app.get("/register", None).await;
    let csrf_cookie = set_cookies(&res, "petty_csrf").pop().expect("a petty_csrf cookie");
    assert!(csrf_cookie.contains("; Secure"), "{csrf_cookie}");
    let pair = csrf_cookie.split(';').next().unwrap().to_owned();
    let csrf = csrf_in(&res.text().await.unwrap());
    let form =
        [("csrf", csrf.as_str()), ("display_name", "Ana"), ("email", "ana.secure@example.org"), ("password", PASSWORD)];
    let res = app.client.post(app.url("/register")).header(COOKIE, &pair).form(&form).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let form = [("csrf", csrf.as_str()), ("email", "ana.secure@example.org"), ("password", PASSWORD)];
    let res = app.client.post(app.url("/login")).header(COOKIE, &pair).form(&form).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let session_cookie = set_cookies(&res, "petty_session").pop().expect("a session cookie");
    assert!(session_cookie.contains("; Secure") && session_cookie.contains("HttpOnly"), "{session_cookie}");
    let device_cookie = set_cookies(&res, "petty_trusted_device").pop().expect("a trusted-device cookie");
    assert!(device_cookie.contains("; Secure") && device_cookie.contains("HttpOnly"), "{device_cookie}");
}

#[tokio::test]
async fn the_alarms_page_acknowledges_and_clears_and_the_monitor_page_draws_its_air() {
    let app = spawn_app().await;
    let client = browser();
    let (email, _) = register_through_form(&app, &client, "Ana").await;
    let login: serde_json::Value = app.login(&email, PASSWORD).await.json().await.unwrap();
    let token = login["access_token"].as_str().unwrap();
    let (device_id, device_token) = crate::alarms::air_monitor(&app, token, "CAR-P").await;
    let t0 = petty_store::to_ms(time::OffsetDateTime::now_utc()) - 600_000;
    let batch: Vec<serde_json::Value> =
        (0..40).map(|i| json!({"ts": t0 + i * 10_000, "co_ppm": 90.0, "ambient_temp_c": 22.0})).collect();
    let res = app
        .client
        .post(app.url("/api/v1/ingest"))
        .bearer_auth(&device_token)
        .json(&json!({"readings": batch}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    petty_jobs::alarms::run_once(&app.state.app).await;

    let (status, html) = get_page(&app, &client, "/alarms").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Carbon monoxide high: Car monitor"), "{html}");
    let action =
        html.split("action=\"").find(|s| s.contains("/acknowledge\"")).unwrap().split('"').next().unwrap().to_owned();
    let csrf = csrf_in(&html);
    let res = post_form(&app, &client, &action, &[("csrf", &csrf)]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, detail) = get_page(&app, &client, location(&res)).await;
    assert!(detail.contains("acknowledged") && detail.contains("The readings that raised it"), "{detail}");
    let clear = action.replace("/acknowledge", "/clear");
    let res = post_form(&app, &client, &clear, &[("csrf", "forged")]).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN, "CSRF holds");
    let res = post_form(&app, &client, &clear, &[("csrf", &csrf)]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, html) = get_page(&app, &client, "/alarms").await;
    assert!(html.contains("Nothing needs attention."));

    let (status, page) = get_page(&app, &client, &format!("/devices/{device_id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("data:image/svg+xml;base64,") && page.contains("Alarm history"), "{page}");
    assert!(page.contains("cleared"), "the monitor's history lists the cleared alarm");
}

/// The first link on a page whose address starts with `prefix` and ends with `suffix`.
fn link(html: &str, prefix: &str, suffix: &str) -> String {
    html.split(r#"href=""#)
        .filter_map(|rest| rest.split('"').next())
        .find(|href| href.starts_with(prefix) && href.ends_with(suffix))
        .unwrap_or_else(|| panic!("no link {prefix}…{suffix} in:\n{html}"))
        .to_owned()
}

#[tokio::test]
async fn care_records_reminders_and_the_calendar_from_the_dashboard() {
    let app = spawn_app().await;
    let client = browser();
    register_through_form(&app, &client, "Ana").await;
    add_pet_through_form(&app, &client, &[("name", "Bella"), ("species", "dog"), ("date_of_birth", "2024-01-10")])
        .await;
    let (_, household) = get_page(&app, &client, "/household").await;
    assert!(household.contains("No vaccinations"), "the household list shows each pet's vaccine status");
    let care = link(&household, "/pets/", "/care");
    let (status, page) = get_page(&app, &client, &care).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("No vaccination recorded yet."));
    let csrf = csrf_in(&page);
    let records = care.replace("/care", "/records");
    let today = petty_core::pets::format_date(time::OffsetDateTime::now_utc().date());
    // A weigh-in without a weight is shown again with the field's error, and stores nothing.
    let res = post_form(&app, &client, &records, &[("csrf", &csrf), ("kind", "weight"), ("date", &today)]).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = res.text().await.unwrap();
    assert!(page.contains("Weight (kg) is required for a weight record"), "{page}");
    let res = post_form(
        &app,
        &client,
        &records,
        &[
            ("csrf", &csrf),
            ("kind", "vaccination"),
            ("title", "Rabies"),
            ("date", &today),
            ("vet", "Dr. Ng"),
            ("cost", "45,50"),
        ],
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), care);
    let (_, page) = get_page(&app, &client, &care).await;
    assert!(page.contains("Rabies") && page.contains("Dr. Ng") && page.contains("45.50"), "{page}");
    assert!(page.contains("Up to date"));
    let (_, household) = get_page(&app, &client, "/household").await;
    assert!(household.contains("Up to date"));
    // The vaccination's reminder is on the reminders page; a new one is written there and done.
    let (_, reminders) = get_page(&app, &client, "/reminders").await;
    assert!(reminders.contains("Rabies vaccination due – Bella"), "{reminders}");
    let yesterday = petty_core::pets::format_date(time::OffsetDateTime::now_utc().date() - time::Duration::days(1));
    let res = post_form(
        &app,
        &client,
        "/reminders",
        &[
            ("csrf", &csrf_in(&reminders)),
            ("title", "Walk the dog"),
            ("date", &yesterday),
            ("time", "08:00"),
            ("email", "on"),
        ],
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, reminders) = get_page(&app, &client, "/reminders?status=overdue").await;
    assert!(reminders.contains("Walk the dog"));
    let done = reminders
        .split(r#"action=""#)
        .filter_map(|rest| rest.split('"').next())
        .find(|a| a.ends_with("/complete"))
        .expect("a done button")
        .to_owned();
    let res = post_form(&app, &client, &done, &[("csrf", &csrf_in(&reminders))]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, finished) = get_page(&app, &client, "/reminders?status=completed").await;
    assert!(finished.contains("Walk the dog"));
    // The calendar address is shown once and works without a session.
    let (_, calendar) = get_page(&app, &client, "/calendar").await;
    let res = post_form(&app, &client, "/calendar/feed", &[("csrf", &csrf_in(&calendar))]).await;
    let page = res.text().await.unwrap();
    let start = page.find("/api/v1/calendar/feed.ics?token=").expect("the feed address");
    let path: String = page[start..].chars().take_while(|c| *c != '<' && *c != '"').collect();
    let res = app.client.get(app.url(&path)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.text().await.unwrap().contains("SUMMARY:Rabies vaccination due – Bella"));
    // Time zones.
    let res =
        post_form(&app, &client, "/timezone", &[("csrf", &csrf), ("whose", "me"), ("timezone", "europe/paris")]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, household) = get_page(&app, &client, "/household").await;
    assert!(household.contains(r#"value="Europe/Paris""#));
}

#[tokio::test]
async fn your_data_can_be_downloaded_and_the_account_deleted_from_the_dashboard() {
    let app = spawn_app().await;
    let client = browser();
    let (email, _) = register_through_form(&app, &client, "Dee").await;
    add_pet_through_form(&app, &client, &[("name", "Pip"), ("species", "cat")]).await;
    let (status, page) = get_page(&app, &client, "/account/data").await;
    assert_eq!(status, StatusCode::OK);
    let csrf = csrf_in(&page);
    let res = post_form(&app, &client, "/account/data/export", &[("csrf", &csrf), ("code", "")]).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()[CONTENT_TYPE], "application/zip");
    let zip = res.bytes().await.unwrap();
    assert!(zip.starts_with(b"PK"), "a zip");
    let res =
        post_form(&app, &client, "/account/data/delete", &[("csrf", &csrf), ("password", "not it"), ("code", "")])
            .await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let res =
        post_form(&app, &client, "/account/data/delete", &[("csrf", &csrf), ("password", PASSWORD), ("code", "")])
            .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.text().await.unwrap().contains("Your account is deleted"));
    let res = client.get(app.url("/household")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "signed out");
    let again = app.login(&email, PASSWORD).await;
    assert_eq!(again.status(), StatusCode::UNAUTHORIZED, "the account is gone");
}

#[tokio::test]
async fn a_lost_pets_page_is_published_with_a_qr_code_and_ended_from_the_care_page() {
    let app = spawn_app().await;
    let client = browser();
    register_through_form(&app, &client, "Eli").await;
    add_pet_through_form(&app, &client, &[("name", "Moss"), ("species", "cat")]).await;
    let (_, household) = get_page(&app, &client, "/household").await;
    let care = link(&household, "/pets/", "/care");
    let (_, page) = get_page(&app, &client, &care).await;
    let lost = care.replace("/care", "/share/lost");
    let res = post_form(&app, &client, &lost, &[("csrf", &csrf_in(&page)), ("message", "Very shy")]).await;
    assert_eq!(res.status(), StatusCode::OK);
    let page = res.text().await.unwrap();
    assert!(page.contains("<svg") && page.contains("/found/lost_"), "the link and its QR code");
    let start = page.find("/found/lost_").unwrap();
    let path: String = page[start..].chars().take_while(|c| *c != '<' && *c != '"').collect();
    let public = app.client.get(app.url(&path)).send().await.unwrap();
    assert_eq!(public.status(), StatusCode::OK);
    assert!(public.text().await.unwrap().contains("Very shy"));
    let end = care.replace("/care", "/share/lost-end");
    let res = post_form(&app, &client, &end, &[("csrf", &csrf_in(&page))]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.client.get(app.url(&path)).send().await.unwrap().status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_pets_page_lists_and_finds_the_household_s_pets_and_a_missing_page_keeps_the_navigation() {
    let app = spawn_app().await;
    let client = browser();
    register_through_form(&app, &client, "Ana").await;
    let (status, empty) = get_page(&app, &client, "/pets").await;
    assert_eq!(status, StatusCode::OK);
    assert!(empty.contains("No pets yet") && empty.contains(r#"href="/pets/new""#), "{empty}");
    for (name, species, breed) in [("Bella", "dog", "Beagle"), ("Milo", "cat", "Siamese")] {
        add_pet_through_form(&app, &client, &[("name", name), ("species", species), ("breed", breed)]).await;
    }
    let (_, all) = get_page(&app, &client, "/pets").await;
    assert!(all.contains("2 pets in") && all.contains(">Bella</a>") && all.contains(">Milo</a>"), "{all}");
    let (_, found) = get_page(&app, &client, "/pets?q=siam").await;
    assert!(found.contains(">Milo</a>") && !found.contains(">Bella</a>"), "a search by breed: {found}");
    let (_, none) = get_page(&app, &client, "/pets?q=zebra").await;
    assert!(none.contains("No pet matches"), "{none}");

    // A page that is not there: 404, inside the layout, with the navigation.
    let res = client.get(app.url("/no-such-page")).header("accept", "text/html").send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let missing = res.text().await.unwrap();
    assert!(missing.contains("Page not found"), "{missing}");
    assert!(missing.contains(r#"href="/pets""#) && missing.contains(r#"href="/alarms""#), "the navigation: {missing}");
    let stranger = browser();
    let res = stranger.get(app.url("/no-such-page")).header("accept", "text/html").send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let html = res.text().await.unwrap();
    assert!(html.contains(r#"href="/login""#) && !html.contains(r#"href="/pets""#), "signed out: {html}");
    let res = stranger.get(app.url("/api/v1/no-such-thing")).header("accept", "text/html").send().await.unwrap();
    assert_eq!(res.headers()["content-type"], "application/json", "the API answers JSON");
}
