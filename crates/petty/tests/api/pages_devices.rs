//! The device pages as a person uses them in a browser without JavaScript: adding a device and
//! copying its token, watching its readings arrive, rotating and revoking the token, and what
//! vets and other households may not do.

use reqwest::{Client, Response, StatusCode};
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::harness::{Account, TestApp, spawn_app};

/// Cookies kept as a browser keeps them; redirects shown, not followed.
fn browser() -> Client {
    Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().expect("client")
}

pub(crate) async fn open(app: &TestApp, client: &Client, path: &str) -> (StatusCode, String) {
    let res = client.get(app.url(path)).send().await.expect("request");
    (res.status(), res.text().await.expect("body"))
}

pub(crate) async fn submit(app: &TestApp, client: &Client, path: &str, fields: &[(&str, &str)]) -> Response {
    client.post(app.url(path)).form(fields).send().await.expect("request")
}

/// What the page's hidden `csrf` input holds.
pub(crate) fn csrf_of(html: &str) -> String {
    let (_, rest) = html.split_once(r#"name="csrf" value=""#).unwrap_or_else(|| panic!("no CSRF field:\n{html}"));
    rest.split('"').next().unwrap().to_owned()
}

/// Every whole device token (`dk_` and 43 base64url characters) on the page.
fn tokens_on(html: &str) -> Vec<String> {
    html.match_indices("dk_")
        .map(|(at, _)| {
            html[at..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-').collect::<String>()
        })
        .filter(|t| t.len() == 3 + 43)
        .collect()
}

/// The first `/devices/{uuid}` link on the page.
fn device_path(html: &str) -> String {
    html.split(r#"href=""#)
        .filter_map(|rest| rest.split('"').next())
        .find(|href| href.strip_prefix("/devices/").is_some_and(|id| uuid::Uuid::parse_str(id).is_ok()))
        .unwrap_or_else(|| panic!("no link to a device in:\n{html}"))
        .to_owned()
}

/// An account made through the API, signed in to the dashboard through `/login`.
pub(crate) async fn signed_in(app: &TestApp, account: &Account) -> Client {
    let client = browser();
    let (_, form) = open(app, &client, "/login").await;
    let res = submit(
        app,
        &client,
        "/login",
        &[("csrf", &csrf_of(&form)), ("email", &account.email), ("password", &account.password)],
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "signed in");
    client
}

/// Fills in the form on `/devices` and sends it.
async fn add_device(app: &TestApp, client: &Client, fields: &[(&str, &str)]) -> Response {
    let (status, html) = open(app, client, "/devices").await;
    assert_eq!(status, StatusCode::OK);
    let csrf = csrf_of(&html);
    let mut form = vec![("csrf", csrf.as_str())];
    form.extend_from_slice(fields);
    submit(app, client, "/devices", &form).await
}

/// Adds a collar through the form; returns its page's path and the token shown.
async fn add_collar(app: &TestApp, client: &Client, name: &str, pet_id: &str) -> (String, String) {
    let res = add_device(
        app,
        client,
        &[("name", name), ("kind", "collar"), ("pet_id", pet_id), ("expected_interval_secs", "60")],
    )
    .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let html = res.text().await.unwrap();
    let tokens = tokens_on(&html);
    assert_eq!(tokens.len(), 1, "the token is on the page exactly once:\n{html}");
    assert!(html.contains("will not be shown again"));
    assert!(html.contains("Authorization: Bearer dk_") && html.contains("/api/v1/ingest"), "how to use it");
    (device_path(&html), tokens[0].clone())
}

async fn ingest(app: &TestApp, token: &str, body: &Value) -> StatusCode {
    app.post_json("/api/v1/ingest", body, Some(token)).await.status()
}

fn now_ms() -> i64 {
    (OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

#[tokio::test]
async fn a_collar_is_added_its_token_shown_once_and_its_readings_appear() {
    let app = spawn_app().await;
    let ana = app.register("Ana").await;
    let pet = app.create_pet(&ana.access_token, json!({"name": "Bella", "species": "dog"})).await;
    let pet_id = pet["id"].as_str().unwrap();
    let client = signed_in(&app, &ana).await;

    let (status, html) = open(&app, &client, "/household").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(r#"href="/devices""#), "the navigation leads to the devices");
    let (_, html) = open(&app, &client, "/devices").await;
    assert!(html.contains("No devices yet"));
    assert!(html.contains(r#"<label for="f-name">"#) && html.contains(r#"<label for="f-expected_interval_secs">"#));
    assert!(html.contains(&format!(r#"<option value="{pet_id}">Bella</option>"#)), "the household's pets to choose");

    let (path, token) = add_collar(&app, &client, "Bella's collar", pet_id).await;

    let (status, page) = open(&app, &client, &path).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!page.contains(&token), "the token is never shown again");
    assert!(tokens_on(&page).is_empty());
    assert!(page.contains("Never seen") && page.contains("Nothing has arrived"));
    assert!(page.contains("Bella"), "the pet it belongs to");

    let (_, list) = open(&app, &client, "/devices").await;
    assert!(list.contains(&format!(r#"<a href="{path}">Bella's collar</a>"#)), "the name links to its page:\n{list}");
    assert!(list.contains("<caption"), "a captioned table");
    assert!(list.contains("Never seen"));

    let reading = json!({"ts": now_ms(), "heart_rate": 88, "battery_pct": 12});
    assert_eq!(ingest(&app, &token, &reading).await, StatusCode::CREATED);

    let (_, page) = open(&app, &client, &path).await;
    assert!(page.contains("88 beats per minute"), "the latest reading with its unit:\n{page}");
    assert!(page.contains("12 percent"));
    assert!(page.contains(">Low battery<"), "low battery is said in words");
    assert!(page.contains("The 1 most recent reading"), "the recent readings table");
    assert!(page.contains("<td>88</td>"));
    assert!(page.contains(">Online<"));

    let (_, list) = open(&app, &client, "/devices").await;
    assert!(list.contains(">Online<"), "the list shows it online:\n{list}");
    assert!(list.contains("12%") && list.contains(">Low battery<"));
    assert!(!list.contains("Never seen"));
}

#[tokio::test]
async fn the_device_page_lists_the_twenty_newest_readings_of_the_last_day() {
    let app = spawn_app().await;
    let ana = app.register("Ana").await;
    let client = signed_in(&app, &ana).await;
    let (path, token) = add_collar(&app, &client, "Collar", "").await;
    // Every four minutes for the last two hours, and one from two days ago.
    let now = now_ms();
    let mut readings: Vec<Value> =
        (0..30).map(|i| json!({"ts": now - (29 - i) * 240_000, "heart_rate": 100 + i})).collect();
    readings.push(json!({"ts": now - 2 * 86_400_000, "heart_rate": 42}));
    assert_eq!(ingest(&app, &token, &json!({"readings": readings})).await, StatusCode::OK, "a batch is accepted");

    let (_, page) = open(&app, &client, &path).await;
    assert!(page.contains("The 20 most recent readings of the last day, newest first"), "{page}");
    let newest = page.find("<td>129</td>").expect("the newest reading");
    let twentieth = page.find("<td>110</td>").expect("the twentieth newest");
    assert!(newest < twentieth, "newest first");
    assert!(
        !page.contains("<td>109</td>") && !page.contains("<td>42</td>"),
        "no more than twenty, none older than a day"
    );
    assert!(page.contains("129 beats per minute"), "the latest reading");
}

#[tokio::test]
async fn rotating_revoking_and_deleting_from_the_device_page() {
    let app = spawn_app().await;
    let ana = app.register("Ana").await;
    let client = signed_in(&app, &ana).await;
    let (path, old_token) = add_collar(&app, &client, "Hall sensor", "").await;
    assert_eq!(ingest(&app, &old_token, &json!({"ts": now_ms(), "heart_rate": 70})).await, StatusCode::CREATED);

    let (_, page) = open(&app, &client, &path).await;
    let csrf = csrf_of(&page);
    assert!(page.contains(&format!(r#"action="{path}/token""#)) && page.contains("Rotate token"));

    // Without the form's token nothing changes.
    let res = submit(&app, &client, &format!("{path}/token"), &[]).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(ingest(&app, &old_token, &json!({"ts": now_ms(), "heart_rate": 71})).await, StatusCode::CREATED);

    let res = submit(&app, &client, &format!("{path}/token"), &[("csrf", &csrf)]).await;
    assert_eq!(res.status(), StatusCode::OK);
    let html = res.text().await.unwrap();
    let tokens = tokens_on(&html);
    assert_eq!(tokens.len(), 1, "the new token, once");
    let new_token = &tokens[0];
    assert_ne!(new_token, &old_token);
    assert!(html.contains("will not be shown again"));
    assert_eq!(ingest(&app, &old_token, &json!({"ts": now_ms(), "heart_rate": 72})).await, StatusCode::UNAUTHORIZED);
    assert_eq!(ingest(&app, new_token, &json!({"ts": now_ms(), "heart_rate": 73})).await, StatusCode::CREATED);
    assert!(!open(&app, &client, &path).await.1.contains(new_token.as_str()));

    let res = submit(&app, &client, &format!("{path}/token/revoke"), &[("csrf", &csrf)]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()["location"], path.as_str());
    assert_eq!(ingest(&app, new_token, &json!({"ts": now_ms(), "heart_rate": 74})).await, StatusCode::UNAUTHORIZED);
    let (_, page) = open(&app, &client, &path).await;
    assert!(page.contains("Revoked: the device cannot send readings"));
    assert!(!page.contains("Revoke token"), "nothing left to revoke");

    let res = submit(&app, &client, &format!("{path}/delete"), &[("csrf", &csrf)]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()["location"], "/devices");
    assert_eq!(open(&app, &client, &path).await.0, StatusCode::NOT_FOUND);
    let (_, list) = open(&app, &client, "/devices").await;
    assert!(list.contains("No devices yet") && !list.contains("Hall sensor"));
}

#[tokio::test]
async fn a_bad_device_form_is_shown_again_with_its_errors_and_adds_nothing() {
    let app = spawn_app().await;
    let ana = app.register("Ana").await;
    let client = signed_in(&app, &ana).await;

    let res = add_device(
        &app,
        &client,
        &[("name", "Kitchen air"), ("kind", "air_monitor"), ("pet_id", ""), ("expected_interval_secs", "0")],
    )
    .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = res.text().await.unwrap();
    assert!(html.contains(r#"id="f-expected_interval_secs-error""#), "{html}");
    assert!(html.contains("Reporting interval (seconds) must be between 1 and 86400 seconds"));
    assert!(html.contains(r##"href="#f-expected_interval_secs""##), "the summary links to the field");
    assert!(html.contains(r#"value="Kitchen air""#), "what was typed stays");
    assert!(html.contains(r#"<option value="air_monitor" selected>"#));

    // Words where a number belongs, no kind, and a pet that is not the household's.
    let bo = app.register("Bo").await;
    let foreign_pet = app.create_pet(&bo.access_token, json!({"name": "Rex", "species": "dog"})).await;
    let res = add_device(
        &app,
        &client,
        &[
            ("name", "Collar"),
            ("kind", ""),
            ("pet_id", foreign_pet["id"].as_str().unwrap()),
            ("expected_interval_secs", "every minute"),
        ],
    )
    .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = res.text().await.unwrap();
    assert!(html.contains("Reporting interval (seconds) must be a whole number of seconds"), "{html}");
    assert!(html.contains("Choose what kind of device it is"));
    assert!(html.contains(r#"id="f-pet_id-error""#) && html.contains("Choose one of this household's pets"));
    assert!(!html.contains("Rex"), "another household's pet is not named");
    assert!(tokens_on(&html).is_empty());

    let (_, list) = open(&app, &client, "/devices").await;
    assert!(list.contains("No devices yet"), "nothing was added");
}

#[tokio::test]
async fn a_vet_neither_sees_nor_changes_devices_and_other_households_see_nothing() {
    let app = spawn_app().await;
    let owner = app.register("Owner").await;
    let owner_client = signed_in(&app, &owner).await;
    let (path, token) = add_collar(&app, &owner_client, "Bella's collar", "").await;

    // A vet joins through an invitation.
    let res = app.post_json("/api/v1/household/invitations", &json!({"role": "vet"}), Some(&owner.access_token)).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let invitation: Value = res.json().await.unwrap();
    let vet = browser();
    let (_, form) = open(&app, &vet, "/register").await;
    let res = submit(
        &app,
        &vet,
        "/register",
        &[
            ("csrf", &csrf_of(&form)),
            ("display_name", "Dr Vet"),
            ("email", "dr.vet.devices@example.org"),
            ("password", "correct horse battery staple"),
            ("invitation_token", invitation["token"].as_str().unwrap()),
        ],
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK, "registered; sign in next");
    let (_, login) = open(&app, &vet, "/login").await;
    let credentials = [
        ("csrf", csrf_of(&login)),
        ("email", "dr.vet.devices@example.org".to_owned()),
        ("password", "correct horse battery staple".to_owned()),
    ];
    let res = vet.post(app.url("/login")).form(&credentials).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);

    // A vet sees the care records of the pets shared with them: no devices.
    let (status, list) = open(&app, &vet, "/devices").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(!list.contains(&format!(r#"href="{path}""#)), "{list}");
    let (status, page) = open(&app, &vet, &path).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(!page.contains("Bella's collar"));
    let (_, household) = open(&app, &vet, "/household").await;
    let csrf = csrf_of(&household);
    for action in ["/token", "/token/revoke", "/delete"] {
        let res = submit(&app, &vet, &format!("{path}{action}"), &[("csrf", &csrf)]).await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{action}");
    }
    let res = submit(&app, &vet, "/devices", &[("csrf", &csrf), ("name", "Mine"), ("kind", "other")]).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);

    // Another household: the device does not exist for them.
    let stranger = app.register("Stranger").await;
    let stranger_client = signed_in(&app, &stranger).await;
    let (status, html) = open(&app, &stranger_client, &path).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(!html.contains("Bella"));
    let (_, list) = open(&app, &stranger_client, "/devices").await;
    assert!(list.contains("No devices yet"));
    let csrf = csrf_of(&list);
    for action in ["/token", "/token/revoke", "/delete"] {
        let res = submit(&app, &stranger_client, &format!("{path}{action}"), &[("csrf", &csrf)]).await;
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{action}");
    }
    assert_eq!(open(&app, &stranger_client, "/devices/not-a-uuid").await.0, StatusCode::NOT_FOUND);

    // Nothing they tried changed it: the token still works and the owner still sees it.
    assert_eq!(ingest(&app, &token, &json!({"ts": now_ms(), "heart_rate": 90})).await, StatusCode::CREATED);
    let (status, page) = open(&app, &owner_client, &path).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("90 beats per minute"));

    // Without a session, the pages send you to sign in.
    let res = app.get(&path, None).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()["location"], "/login");
}

/// The value of the first `name="..."` attribute after `after` on the page, unescaped.
fn attribute_after(html: &str, after: &str, name: &str) -> String {
    let (_, rest) = html.split_once(after).unwrap_or_else(|| panic!("no {after} on the page:\n{html}"));
    let (_, rest) = rest.split_once(&format!(r#" {name}=""#)).unwrap_or_else(|| panic!("no {name} after {after}"));
    let raw = rest.split('"').next().unwrap();
    raw.replace("&quot;", "\"").replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
}

#[tokio::test]
async fn the_device_pages_load_the_live_script_and_mark_what_it_updates() {
    let app = spawn_app().await;
    let ana = app.register("Ana").await;
    let client = signed_in(&app, &ana).await;
    let (path, token) = add_collar(&app, &client, "Bella's collar", "").await;
    let device_id = path.trim_start_matches("/devices/");

    // The device page, before anything arrived.
    let res = client.get(app.url(&path)).send().await.unwrap();
    let csp = res.headers()["content-security-policy"].to_str().unwrap().to_owned();
    let page = res.text().await.unwrap();
    let script_src = attribute_after(&page, "<script", "src");
    assert!(script_src.starts_with("/assets/petty-live.js?v="), "{script_src}");
    assert!(page.contains(r#"defer></script>"#), "the script waits for the page");
    let script_policy = csp.split(';').map(str::trim).find(|d| d.starts_with("script-src")).unwrap();
    assert_eq!(script_policy, "script-src 'self'", "the file is allowed, inline scripts are not");
    // Nothing claims to be live until the script runs.
    assert!(page.contains(r#"<p class="live-status" id="live-status" role="status" hidden"#), "{page}");
    assert_eq!(attribute_after(&page, r#"id="live-status""#, "data-live-page"), "device");
    assert_eq!(attribute_after(&page, r#"id="live-status""#, "data-device"), device_id);
    assert_eq!(attribute_after(&page, r#"id="live-status""#, "data-household"), ana.household_id);
    assert_eq!(attribute_after(&page, r#"id="live-status""#, "data-ws"), "/api/v1/ws");
    let labels: Value = serde_json::from_str(&attribute_after(&page, r#"id="live-status""#, "data-labels")).unwrap();
    assert_eq!(labels["metrics"]["heart_rate"]["label"], "Heart rate", "the server's labels: {labels}");
    assert_eq!(labels["metrics"]["heart_rate"]["suffix"], " beats per minute");
    assert_eq!(labels["metrics"]["activity_level"]["suffix"], " (0 rest, 1 light, 2 active)");
    assert_eq!(labels["statuses"]["online"], json!({"label": "Online", "class": "badge-ok"}));
    assert_eq!(labels["battery_low_below"], 20.0);
    assert_eq!(labels["columns"][0], "ts");
    assert_eq!(labels["recent_max"], 20);
    for field in ["status", "battery", "last-seen", "newest"] {
        assert!(page.contains(&format!(r#"data-live-field="{field}""#)), "{field} is marked");
    }
    assert!(page.contains(r#"<section class="section" id="latest-reading" data-live-region aria-labelledby="latest-title" aria-live="polite">"#), "{page}");
    assert!(page.contains("<div data-live-latest><p>Nothing has arrived"));
    assert!(
        page.contains(r#"<section class="section" id="recent-readings" data-live-region hidden"#),
        "an empty table waits, hidden, for the script"
    );
    assert!(page.contains(r#"data-many="The {n} most recent readings of the last day, newest first""#));

    // With a reading, the table's rows and columns say what they hold.
    let ts = now_ms() - 1000;
    assert_eq!(ingest(&app, &token, &json!({"ts": ts, "seq": 4, "heart_rate": 91})).await, StatusCode::CREATED);
    let (_, page) = open(&app, &client, &path).await;
    assert_eq!(attribute_after(&page, r#"id="device-details""#, "data-newest-ts"), ts.to_string());
    assert!(page.contains(&format!(r#"<tr data-ts="{ts}" data-seq="4">"#)), "{page}");
    assert!(page.contains(r#"<th scope="col" data-col="heart_rate">Heart rate"#));
    assert!(page.contains(r#"data-ago="exact""#), "times the script keeps current");
    assert!(!page.contains(r#"id="recent-readings" data-live-region hidden"#));

    // The list: one row per device, its fields marked, status changes said aloud.
    let (_, list) = open(&app, &client, "/devices").await;
    assert!(attribute_after(&list, "<script", "src").starts_with("/assets/petty-live.js?v="));
    assert_eq!(attribute_after(&list, r#"id="live-status""#, "data-live-page"), "list");
    assert!(list.contains(&format!(r#"<tr data-device-id="{device_id}" data-newest-ts="{ts}">"#)), "{list}");
    for field in ["status", "battery", "last-seen"] {
        assert!(list.contains(&format!(r#"<td data-live-field="{field}">"#)), "{field} is marked");
    }
    assert!(list.contains(r#"<div class="visually-hidden" id="live-announcer" aria-live="polite">"#));
    assert!(list.contains(r#"data-ago="relative""#));

    // Other pages do without it.
    let (_, household) = open(&app, &client, "/household").await;
    assert!(!household.contains("<script"), "only the device pages are live");

    // The script itself: JavaScript, cacheable by its hash, free of anything from elsewhere.
    let res = client.get(app.url(&script_src)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "text/javascript; charset=utf-8");
    assert!(res.headers()["cache-control"].to_str().unwrap().contains("immutable"));
    let script = res.text().await.unwrap();
    assert!(script.contains("/api/v1/ws") && script.contains("subscribe"));
    assert!(!script.contains("http://") && !script.contains("https://"), "nothing is loaded from elsewhere");
}

/// The example a device's token page shows is one that kind of device sends, and Petty takes it.
#[tokio::test]
async fn the_token_page_s_example_fits_the_kind_of_device_and_is_taken() {
    let app = spawn_app().await;
    let ana = app.register("Ana").await;
    let client = signed_in(&app, &ana).await;
    for (kind, wanted, unwanted) in [("air_monitor", "co_ppm", "heart_rate"), ("collar", "heart_rate", "co_ppm")] {
        let res =
            add_device(&app, &client, &[("name", "Thing"), ("kind", kind), ("expected_interval_secs", "60")]).await;
        assert_eq!(res.status(), StatusCode::CREATED);
        let html = res.text().await.unwrap();
        let token = tokens_on(&html).remove(0);
        let at = html.find(r#"<pre class="code-block"><code>"#).expect("an example")
            + r#"<pre class="code-block"><code>"#.len();
        let example = html[at..].split("</code>").next().unwrap().replace("&quot;", "\"");
        assert!(example.contains(wanted) && !example.contains(unwanted), "{kind}: {example}");
        let mut body: Value = serde_json::from_str(&example).unwrap();
        body["ts"] = json!(now_ms());
        assert!(ingest(&app, &token, &body).await.is_success(), "{kind}: the example is taken");
    }
}

/// The SVG titles of the charts drawn in the page's section `id`, in order; the sentences of
/// the charts it could not draw are in the section's text.
fn chart_titles(page: &str, id: &str) -> (Vec<String>, String) {
    let at = page.find(&format!(r#"id="{id}""#)).unwrap_or_else(|| panic!("no section {id}:\n{page}"));
    let section = page[at..].split("</section>").next().unwrap_or_default();
    let titles = section
        .split(r#"src="data:image/svg+xml;base64,"#)
        .skip(1)
        .map(|rest| {
            let encoded = rest.split('"').next().unwrap_or_default();
            let svg =
                String::from_utf8(base64::Engine::decode(&base64::engine::general_purpose::STANDARD, encoded).unwrap())
                    .unwrap();
            assert!(!svg.contains("No data in this range"), "a drawn chart has data: {svg}");
            svg.split(r#"<title id="chart-title">"#).nth(1).and_then(|t| t.split("</title>").next()).unwrap().to_owned()
        })
        .collect();
    (titles, section.to_owned())
}

/// A collar's page: its heart rate, activity and body temperature charted over the last day
/// (a metric it has not measured said in words, not drawn as an empty axis), and its readings
/// in a table that scrolls inside its card, each accelerometer window one short line.
#[tokio::test]
async fn a_collar_s_page_charts_its_day_and_sums_up_each_accelerometer_window() {
    let app = spawn_app().await;
    let ana = app.register("Ana").await;
    let pet = app.create_pet(&ana.access_token, json!({"name": "Bella", "species": "dog"})).await;
    let client = signed_in(&app, &ana).await;
    let (path, token) = add_collar(&app, &client, "Bella's collar", pet["id"].as_str().unwrap()).await;

    let (_, page) = open(&app, &client, &path).await;
    let (titles, section) = chart_titles(&page, "collar-charts");
    assert!(titles.is_empty(), "nothing to draw yet: {titles:?}");
    for sentence in ["No heart rate readings", "No activity counts", "No body temperature readings"] {
        assert!(section.contains(&format!("{sentence} in the last 24 hours")), "{sentence}:\n{section}");
    }

    // Twenty minutes of readings, each with a 50-sample window at 25 Hz; no temperature yet.
    let start = now_ms() - 20 * 60_000;
    let axis = |phase: f64| -> Vec<f64> { (0..50).map(|i| 0.123_456_7 * (f64::from(i) * 0.7 + phase).sin()).collect() };
    let z: Vec<f64> = axis(0.3).iter().map(|v| v + 0.9).collect();
    let window = json!({"hz": 25, "x": axis(0.0), "y": axis(1.1), "z": z});
    let readings: Vec<Value> = (0..20)
        .map(|i| {
            json!({"ts": start + i * 60_000, "heart_rate": 80 + i, "activity_counts": 100 + 10 * i,
                   "extra": {"wag_count": 3}, "accel": window})
        })
        .collect();
    assert_eq!(ingest(&app, &token, &json!({"readings": readings})).await, StatusCode::OK);

    let (_, page) = open(&app, &client, &path).await;
    let (titles, section) = chart_titles(&page, "collar-charts");
    assert_eq!(titles, ["Bella&#39;s collar: Heart rate", "Bella&#39;s collar: Activity counts"]);
    assert!(section.contains("No body temperature readings in the last 24 hours"), "{section}");

    // The table scrolls inside its card; every window is a summary with its features behind it.
    let table_at = page.find(r#"<table class="data-table readings-table">"#).expect("the readings table");
    let wrapper_at = page[..table_at].rfind("<div ").unwrap();
    assert!(page[wrapper_at..table_at].contains(r#"class="table-scroll""#), "{}", &page[wrapper_at..table_at]);
    let table = page[table_at..].split("</table>").next().unwrap();
    assert_eq!(table.matches("<details class=\"movement\"><summary>").count(), 20, "one summary per reading");
    let summary = table.split("<summary>").nth(1).and_then(|s| s.split("</summary>").next()).unwrap();
    assert!(summary.ends_with(" Hz") && summary.contains(" g · "), "{summary}");
    assert!(!table.contains("<code>accel_"), "the features are not listed among the other values:\n{table}");
    assert!(table.contains("<code>wag_count</code> 3"), "other extra numbers still are");
    for value in axis(0.0).iter().chain(&z).filter(|v| v.abs() > 0.01) {
        assert!(!page.contains(&value.to_string()), "a raw sample ({value}) is on the page");
    }
    // The feature values are rounded to two decimals.
    let features = table.split("<dl class=\"movement-features\">").nth(1).unwrap().split("</dl>").next().unwrap();
    for value in features.split("<dd>").skip(1).map(|dd| dd.split(['<', ' ', '°']).next().unwrap()) {
        assert!(value.split('.').nth(1).is_none_or(|decimals| decimals.len() <= 2), "{value} in {features}");
    }

    let warm: Vec<Value> = (0..5).map(|i| json!({"ts": start + i * 60_000 + 30_000, "temperature_c": 38.6})).collect();
    assert_eq!(ingest(&app, &token, &json!({"readings": warm})).await, StatusCode::OK);
    let (_, page) = open(&app, &client, &path).await;
    let (titles, section) = chart_titles(&page, "collar-charts");
    assert_eq!(
        titles,
        [
            "Bella&#39;s collar: Heart rate",
            "Bella&#39;s collar: Activity counts",
            "Bella&#39;s collar: Body temperature"
        ]
    );
    assert!(!section.contains("No "), "every chart is drawn:\n{section}");
}
