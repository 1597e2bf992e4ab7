//! The household's settings pages as a browser without JavaScript uses them: geofences drawn
//! on maps of the collars' positions, members and invitations, API keys, retention. Each
//! change made on a page is checked through the API, a refused form changes nothing, and a
//! role the API refuses gets a 403 page.

use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::harness::{Account, TestApp, spawn_app};
use crate::pages::location;
use crate::pages_devices::{csrf_of, open, signed_in, submit};
use crate::revocation::join;

const HOME: (f64, f64) = (52.37, 4.89);
/// Metres per degree of latitude.
const M_PER_DEG: f64 = 111_195.0;

/// Someone who joined `owner`'s household through an invitation with `role`, signed in to the
/// dashboard; their account and user id.
pub(crate) async fn join_as(app: &TestApp, owner: &Account, role: &str, name: &str) -> (Client, Account, String) {
    let ends = (role == "sitter").then(|| {
        (OffsetDateTime::now_utc() + time::Duration::days(7))
            .format(&time::format_description::well_known::Rfc3339)
            .expect("a time")
    });
    let (joined, user_id) = join(app, owner, name, role, ends.as_deref()).await;
    (signed_in(app, &joined).await, joined, user_id)
}

/// Opens `page`, fills its form (the CSRF token added) and sends it to `action`.
async fn fill(app: &TestApp, client: &Client, page: &str, action: &str, fields: &[(&str, &str)]) -> reqwest::Response {
    let (status, html) = open(app, client, page).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let csrf = csrf_of(&html);
    let mut form = vec![("csrf", csrf.as_str())];
    form.extend_from_slice(fields);
    submit(app, client, action, &form).await
}

/// Every `<svg …>…</svg>` on the page.
fn maps(html: &str) -> Vec<&str> {
    html.match_indices("<svg").map(|(at, _)| &html[at..at + html[at..].find("</svg>").unwrap()]).collect()
}

async fn fences(app: &TestApp, owner: &Account) -> Value {
    app.get("/api/v1/geofences", Some(&owner.access_token)).await.json().await.unwrap()
}

#[tokio::test]
async fn geofences_are_drawn_with_the_collars_positions_and_made_changed_and_removed_from_their_page() {
    let app = spawn_app().await;
    let owner = app.register("Ana").await;
    let client = signed_in(&app, &owner).await;
    let res = app
        .post_json("/api/v1/devices", &json!({"name": "Bella's collar", "kind": "collar"}), Some(&owner.access_token))
        .await;
    let device: Value = res.json().await.unwrap();
    let token = device["token"].as_str().unwrap().to_owned();

    let (status, html) = open(&app, &client, "/geofences").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("No geofences yet") && html.contains("type the coordinates"), "{html}");

    // A bad radius is named with its rule, and nothing is stored.
    let res = fill(
        &app,
        &client,
        "/geofences",
        "/geofences",
        &[("name", "Garden"), ("kind", "circle"), ("lat", "52.37"), ("lon", "4.89"), ("radius_m", "5")],
    )
    .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = res.text().await.unwrap();
    assert!(html.contains("Radius (metres) must be between 10 and 50000 metres"), "{html}");
    assert!(html.contains(r#"value="Garden""#), "what was typed is kept");
    assert_eq!(fences(&app, &owner).await["total"], 0);
    // A form without its CSRF token is refused.
    let res = submit(
        &app,
        &client,
        "/geofences",
        &[("name", "Garden"), ("kind", "circle"), ("lat", "52.37"), ("lon", "4.89"), ("radius_m", "50")],
    )
    .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(fences(&app, &owner).await["total"], 0);

    let res = fill(
        &app,
        &client,
        "/geofences",
        "/geofences",
        &[
            ("name", "Garden"),
            ("kind", "circle"),
            ("lat", "52.37"),
            ("lon", "4.89"),
            ("radius_m", "50"),
            ("dwell_secs", ""),
        ],
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let list = fences(&app, &owner).await;
    assert_eq!(list["total"], 1);
    let garden = &list["items"][0];
    assert_eq!(
        (garden["name"].as_str(), garden["radius_m"].as_f64(), garden["dwell_secs"].as_i64()),
        (Some("Garden"), Some(50.0), Some(60))
    );
    let fence_path = format!("/geofences/{}", garden["id"].as_str().unwrap());

    // The collar reports from the fence's centre, then from 30 m north of it.
    let now = OffsetDateTime::now_utc().unix_timestamp() * 1000;
    let fix = |secs_ago: i64, north_m: f64| json!({"ts": now - secs_ago * 1000, "location": {"lat": HOME.0 + north_m / M_PER_DEG, "lon": HOME.1, "accuracy_m": 5}});
    let readings = json!({"readings": [fix(300, 0.0), fix(200, 0.0), fix(100, 30.0)]});
    assert_eq!(app.post_json("/api/v1/ingest", &readings, Some(&token)).await.status(), StatusCode::OK);
    petty_jobs::analysis::run_once(&app.state.app, app.state.app.now()).await.expect("the analysis pass");

    let (status, html) = open(&app, &client, &fence_path).await;
    assert_eq!(status, StatusCode::OK);
    let map = maps(&html);
    assert_eq!(map.len(), 1, "{html}");
    let map = map[0];
    // The fence fills 80 % of the map around its centre; the fixes are where they were sent.
    assert!(map.contains(r#"data-fence-shape="circle" cx="200.0" cy="200.0" r="160.0""#), "{map}");
    assert_eq!(map.matches(r#"class="geo-fix"#).count(), 3, "every fix is drawn: {map}");
    assert!(map.contains(r#"class="geo-fix" cx="200.0" cy="200.0""#), "a fix at the centre: {map}");
    assert!(map.contains(r#"class="geo-fix geo-fix-latest" cx="200.0" cy="104.0""#), "the newest, 30 m north: {map}");
    assert!(map.contains("Bella&#39;s collar") || map.contains("Bella's collar"));
    assert!(map.contains(">20 m<"), "a scale bar of 20 m (a quarter of the map, rounded down): {map}");
    assert!(!map.contains("http"), "no outside address in the map: {map}");
    assert!(!html.contains("https://") && !html.contains("http://"), "the page loads nothing from elsewhere");
    // The collar's status, as the API says it.
    let status: Value =
        app.get(&format!("/api/v1{fence_path}/status"), Some(&owner.access_token)).await.json().await.unwrap();
    assert_eq!(status["items"][0]["state"], "inside", "{status}");
    assert!(
        html.contains("Bella&#39;s collar</strong>: <span class=\"badge badge-ok\">Inside</span>")
            || html.contains("Bella's collar</strong>: <span class=\"badge badge-ok\">Inside</span>"),
        "{html}"
    );
    // The list page draws it too, and its new-fence map is centred on the recent positions.
    let (_, list_html) = open(&app, &client, "/geofences").await;
    let list_maps = maps(&list_html);
    assert_eq!(list_maps.len(), 2);
    assert!(list_maps[0].contains(r#"data-fence-shape="circle""#));
    assert!(list_maps[1].contains(r#"data-geo-form="new-fence""#) && !list_maps[1].contains("data-fence-shape"));

    // Changed into a polygon; a polygon of two corners is refused and changes nothing.
    let res = fill(
        &app,
        &client,
        &fence_path,
        &fence_path,
        &[("name", "Yard"), ("kind", "polygon"), ("points", "52.3700, 4.8900\n52.3710, 4.8900")],
    )
    .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = res.text().await.unwrap();
    assert!(html.contains("A polygon needs between 3 and 100 points (got 2)"), "{html}");
    let same: Value = app.get(&format!("/api/v1{fence_path}"), Some(&owner.access_token)).await.json().await.unwrap();
    assert_eq!((same["name"].as_str(), same["kind"].as_str()), (Some("Garden"), Some("circle")));
    let res = fill(
        &app,
        &client,
        &fence_path,
        &fence_path,
        &[
            ("name", "Yard"),
            ("kind", "polygon"),
            ("points", "52.3700, 4.8900\n52.3710, 4.8900\n52.3705 4.8915"),
            ("max_accuracy_m", "20"),
        ],
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), fence_path);
    let yard: Value = app.get(&format!("/api/v1{fence_path}"), Some(&owner.access_token)).await.json().await.unwrap();
    assert_eq!(
        (yard["name"].as_str(), yard["kind"].as_str(), yard["max_accuracy_m"].as_f64()),
        (Some("Yard"), Some("polygon"), Some(20.0))
    );
    assert_eq!(yard["points"].as_array().unwrap().len(), 3);
    let (_, html) = open(&app, &client, &fence_path).await;
    assert!(maps(&html)[0].contains(r#"data-fence-shape="polygon""#));

    // A sitter sees the fences and where the collars are, and may change nothing.
    let (sitter, _, _) = join_as(&app, &owner, "sitter", "Sam").await;
    let (status, html) = open(&app, &sitter, "/geofences").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Yard") && !html.contains("New geofence"), "no forms for a sitter");
    let csrf = csrf_of(&html);
    let res = submit(&app, &sitter, &format!("{fence_path}/delete"), &[("csrf", &csrf)]).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = submit(
        &app,
        &sitter,
        "/geofences",
        &[("csrf", &csrf), ("name", "Mine"), ("kind", "circle"), ("lat", "52"), ("lon", "4"), ("radius_m", "100")],
    )
    .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(fences(&app, &owner).await["total"], 1);

    // Removed.
    let res = fill(&app, &client, &fence_path, &format!("{fence_path}/delete"), &[]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(fences(&app, &owner).await["total"], 0);
    assert_eq!(open(&app, &client, &fence_path).await.0, StatusCode::NOT_FOUND);
    // Another household's fence is not found either.
    let other = app.register("Bo").await;
    let res = app
        .post_json(
            "/api/v1/geofences",
            &json!({"name": "Theirs", "kind": "circle", "center": {"lat": 52.0, "lon": 4.0}, "radius_m": 100}),
            Some(&other.access_token),
        )
        .await;
    let theirs: Value = res.json().await.unwrap();
    assert_eq!(
        open(&app, &client, &format!("/geofences/{}", theirs["id"].as_str().unwrap())).await.0,
        StatusCode::NOT_FOUND
    );
}

async fn members(app: &TestApp, owner: &Account) -> Vec<Value> {
    let list: Value = app.get("/api/v1/household/members", Some(&owner.access_token)).await.json().await.unwrap();
    list["items"].as_array().unwrap().clone()
}

async fn pending(app: &TestApp, owner: &Account) -> Vec<Value> {
    let list: Value = app.get("/api/v1/household/invitations", Some(&owner.access_token)).await.json().await.unwrap();
    list["items"].as_array().unwrap().clone()
}

#[tokio::test]
async fn owners_invite_change_roles_and_remove_people_from_the_members_page_and_the_last_owner_stays() {
    let app = spawn_app().await;
    let owner = app.register("Ana").await;
    let client = signed_in(&app, &owner).await;
    let (status, html) = open(&app, &client, "/household").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(r#"href="/household/members""#), "linked from the household's settings");
    let (status, html) = open(&app, &client, "/household/members").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Ana") && html.contains(&owner.email));

    // A sitter without an end, and an address that is not one: each named, nothing made.
    let res = fill(
        &app,
        &client,
        "/household/members",
        "/household/invitations",
        &[("email", "ben@"), ("role", "sitter"), ("ends_at", "")],
    )
    .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = res.text().await.unwrap();
    assert!(html.contains("A sitter needs an end date"), "{html}");
    assert!(html.contains(r##"href="#f-email""##) && html.contains(r#"value="ben@""#), "{html}");
    assert!(pending(&app, &owner).await.is_empty());

    let res = fill(
        &app,
        &client,
        "/household/members",
        "/household/invitations",
        &[("email", "ben@example.org"), ("role", "member"), ("ends_at", "")],
    )
    .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let html = res.text().await.unwrap();
    let code = html
        .split(r#"<code id="invitation-code">"#)
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .expect("the code")
        .to_owned();
    assert!(code.starts_with("inv_"), "{code}");
    assert_eq!(html.matches(&code).count(), 2, "the code, and the link that fills it in, once each");
    let invited = pending(&app, &owner).await;
    assert_eq!(
        (invited.len(), invited[0]["email"].as_str(), invited[0]["role"].as_str()),
        (1, Some("ben@example.org"), Some("member"))
    );
    let (_, html) = open(&app, &client, "/household/members").await;
    assert!(html.contains("ben@example.org") && !html.contains(&code), "listed, the code never again");

    // Ben accepts by registering with the link.
    let ben = crate::pages::browser();
    let (_, form) = crate::pages::get_page(&app, &ben, &format!("/register?invitation={code}")).await;
    let res = crate::pages::post_form(
        &app,
        &ben,
        "/register",
        &[
            ("csrf", &crate::pages::csrf_in(&form)),
            ("display_name", "Ben"),
            ("email", "ben@example.org"),
            ("password", crate::pages::PASSWORD),
            ("invitation_token", &code),
        ],
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    crate::pages::sign_in_through_form(&app, &ben, "ben@example.org", crate::pages::PASSWORD).await;
    let (_, html) = crate::pages::get_page(&app, &ben, "/household").await;
    assert!(html.contains("Ana&#39;s household") || html.contains("Ana's household"), "Ben is in Ana's household");
    assert!(pending(&app, &owner).await.is_empty(), "the invitation is used");
    let ben_id = members(&app, &owner).await.iter().find(|m| m["role"] == "member").expect("Ben")["user"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // A member may not manage people.
    assert_eq!(crate::pages::get_page(&app, &ben, "/household/members").await.0, StatusCode::FORBIDDEN);
    let res = crate::pages::post_form(
        &app,
        &ben,
        "/household/invitations",
        &[("csrf", &crate::pages::csrf_in(&html)), ("role", "owner")],
    )
    .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(pending(&app, &owner).await.is_empty());

    // Ben becomes a sitter for a week; without an end date he stays a member.
    let role_path = format!("/household/members/{ben_id}/role");
    let res = fill(&app, &client, "/household/members", &role_path, &[("role", "sitter"), ("ends_at", "")]).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await.unwrap().contains("A sitter needs an end date"));
    let ben_now = |list: Vec<Value>| list.into_iter().find(|m| m["user"]["id"] == ben_id.as_str()).expect("Ben");
    assert_eq!(ben_now(members(&app, &owner).await)["role"], "member");
    let week = petty_core::pets::format_date((OffsetDateTime::now_utc() + time::Duration::days(7)).date());
    let res = fill(&app, &client, "/household/members", &role_path, &[("role", "sitter"), ("ends_at", &week)]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let ben_member = ben_now(members(&app, &owner).await);
    assert_eq!(ben_member["role"], "sitter");
    assert!(ben_member["ends_at"].as_str().is_some(), "{ben_member}");

    // The last owner can neither step down nor leave.
    let owner_id = members(&app, &owner).await.iter().find(|m| m["role"] == "owner").unwrap()["user"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let res = fill(
        &app,
        &client,
        "/household/members",
        &format!("/household/members/{owner_id}/role"),
        &[("role", "member")],
    )
    .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert!(res.text().await.unwrap().contains("last owner cannot be given another role"));
    let res = fill(&app, &client, "/household/members", &format!("/household/members/{owner_id}/remove"), &[]).await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert!(members(&app, &owner).await.iter().any(|m| m["role"] == "owner"));

    // Ben is removed, and his session with him.
    let res = fill(&app, &client, "/household/members", &format!("/household/members/{ben_id}/remove"), &[]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(members(&app, &owner).await.len(), 1);
    assert_ne!(crate::pages::get_page(&app, &ben, "/household").await.0, StatusCode::OK);

    // An invitation revoked is gone at once.
    let res = fill(&app, &client, "/household/members", "/household/invitations", &[("role", "vet")]).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let code = res
        .text()
        .await
        .unwrap()
        .split(r#"<code id="invitation-code">"#)
        .nth(1)
        .and_then(|r| r.split('<').next())
        .unwrap()
        .to_owned();
    let id = pending(&app, &owner).await[0]["id"].as_str().unwrap().to_owned();
    let res = fill(&app, &client, "/household/members", &format!("/household/invitations/{id}/revoke"), &[]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(pending(&app, &owner).await.is_empty());
    let late = app.register("Cy").await;
    let res = app.post_json("/api/v1/invitations/accept", &json!({"token": code}), Some(&late.access_token)).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "a revoked code does not work");
}

async fn keys(app: &TestApp, owner: &Account) -> Vec<Value> {
    let list: Value = app.get("/api/v1/api-keys", Some(&owner.access_token)).await.json().await.unwrap();
    list["items"].as_array().unwrap().clone()
}

#[tokio::test]
async fn an_api_key_is_made_shown_once_and_revoked_from_its_page_and_stops_working_at_once() {
    let app = spawn_app().await;
    let owner = app.register("Ana").await;
    let client = signed_in(&app, &owner).await;
    let (status, html) = open(&app, &client, "/household/api-keys").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("No keys yet."));

    let res =
        fill(&app, &client, "/household/api-keys", "/household/api-keys", &[("name", " "), ("scope", "write")]).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await.unwrap().contains("Name must not be empty"));
    assert!(keys(&app, &owner).await.is_empty());

    let res = fill(
        &app,
        &client,
        "/household/api-keys",
        "/household/api-keys",
        &[("name", "Garden sensor hub"), ("scope", "write")],
    )
    .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let html = res.text().await.unwrap();
    let key =
        html.split(r#"<code id="api-key">"#).nth(1).and_then(|r| r.split('<').next()).expect("the key").to_owned();
    assert!(key.starts_with("pk_"), "{key}");
    assert!(
        html.contains(&format!("curl -H &quot;Authorization: Bearer {key}&quot; {}/api/v1/pets", app.address))
            || html.contains(&format!("curl -H \"Authorization: Bearer {key}\" {}/api/v1/pets", app.address)),
        "{html}"
    );
    let made = keys(&app, &owner).await;
    assert_eq!(
        (made.len(), made[0]["name"].as_str(), made[0]["scope"].as_str()),
        (1, Some("Garden sensor hub"), Some("write"))
    );
    assert_eq!(app.get("/api/v1/pets", Some(&key)).await.status(), StatusCode::OK, "the key works");
    let (_, html) = open(&app, &client, "/household/api-keys").await;
    assert!(html.contains("Garden sensor hub") && !html.contains(&key), "listed, never shown again");

    // A member makes keys of no more than a member's scope, and sees nobody's keys.
    let (ben, _, _) = join_as(&app, &owner, "member", "Ben").await;
    let (status, html) = open(&app, &ben, "/household/api-keys").await;
    assert_eq!(status, StatusCode::OK);
    assert!(!html.contains("Garden sensor hub") && !html.contains(r#"value="admin""#), "{html}");
    let res =
        fill(&app, &ben, "/household/api-keys", "/household/api-keys", &[("name", "Mine"), ("scope", "admin")]).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await.unwrap().contains("a member may make keys of scope read or write"));
    let id = made[0]["id"].as_str().unwrap();
    let res = fill(&app, &ben, "/household/api-keys", &format!("/household/api-keys/{id}/revoke"), &[]).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(keys(&app, &owner).await.len(), 1);

    let res = fill(&app, &client, "/household/api-keys", &format!("/household/api-keys/{id}/revoke"), &[]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.get("/api/v1/pets", Some(&key)).await.status(), StatusCode::UNAUTHORIZED, "refused at once");
    assert!(keys(&app, &owner).await[0]["revoked_at"].is_string());
    let (_, html) = open(&app, &client, "/household/api-keys").await;
    assert!(html.contains("Revoked "));
}

#[tokio::test]
async fn retention_is_shown_with_its_ranges_and_changed_by_owners_only() {
    let app = spawn_app().await;
    let owner = app.register("Ana").await;
    let client = signed_in(&app, &owner).await;
    let (status, html) = open(&app, &client, "/household/retention").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("kept for <strong>90 days</strong>") && html.contains("1 to 3650 days"), "{html}");
    let policy = || async {
        app.get("/api/v1/household/retention", Some(&owner.access_token)).await.json::<Value>().await.unwrap()
    };

    for (readings, rollups, message) in [
        ("0", "365", "Raw readings (days) must be between 1 and 3650 days"),
        ("thirty", "365", "Raw readings (days) must be a whole number of days"),
        ("30", "10", "Summaries (days) must be at least readings_days"),
    ] {
        let res = fill(
            &app,
            &client,
            "/household/retention",
            "/household/retention",
            &[("readings_days", readings), ("rollups_days", rollups)],
        )
        .await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "{readings} {rollups}");
        let html = res.text().await.unwrap();
        assert!(html.contains(message), "{message}: {html}");
        assert_eq!(policy().await, json!({"readings_days": 90, "rollups_days": 1825}), "nothing changed");
    }
    let res = fill(
        &app,
        &client,
        "/household/retention",
        "/household/retention",
        &[("readings_days", "30"), ("rollups_days", "365")],
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(policy().await, json!({"readings_days": 30, "rollups_days": 365}));
    let (_, html) = open(&app, &client, "/household/retention").await;
    assert!(html.contains("kept for <strong>30 days</strong>"));

    // A member reads it and may not change it.
    let (ben, _, _) = join_as(&app, &owner, "member", "Ben").await;
    let (status, html) = open(&app, &ben, "/household/retention").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("kept for <strong>30 days</strong>") && !html.contains(r#"name="readings_days""#));
    let res = submit(
        &app,
        &ben,
        "/household/retention",
        &[("csrf", &csrf_of(&html)), ("readings_days", "1"), ("rollups_days", "1")],
    )
    .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(policy().await, json!({"readings_days": 30, "rollups_days": 365}));
}

#[tokio::test]
async fn the_pet_form_takes_every_field_the_pet_api_takes() {
    let app = spawn_app().await;
    let owner = app.register("Ana").await;
    let client = signed_in(&app, &owner).await;
    let (status, html) = open(&app, &client, "/pets/new").await;
    assert_eq!(status, StatusCode::OK);
    // Every field of the API's PetIn, as the OpenAPI document lists it.
    let doc: Value = app.get("/api/v1/openapi.json", None).await.json().await.unwrap();
    let fields = doc["components"]["schemas"]["PetIn"]["properties"].as_object().expect("PetIn").clone();
    assert!(fields.len() >= 11, "{fields:?}");
    for field in fields.keys() {
        assert!(html.contains(&format!(r#"name="{field}""#)), "the form has no {field}");
    }
    let res = fill(
        &app,
        &client,
        "/pets/new",
        "/pets/new",
        &[
            ("name", "Bella"),
            ("species", "dog"),
            ("breed", "Beagle"),
            ("date_of_birth", "2020-04-01"),
            ("birth_precision", "month"),
            ("sex", "female"),
            ("neutered", "yes"),
            ("weight_kg", "12.5"),
            ("microchip_id", "985 141 000 123 456"),
            ("photo_url", "https://example.org/bella.jpg"),
            ("notes", "Afraid of thunder"),
        ],
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let pets: Value = app.get("/api/v1/pets", Some(&owner.access_token)).await.json().await.unwrap();
    let pet = &pets["items"][0];
    for (field, value) in [
        ("breed", json!("Beagle")),
        ("date_of_birth", json!("2020-04-01")),
        ("birth_precision", json!("month")),
        ("sex", json!("female")),
        ("neutered", json!(true)),
        ("weight_kg", json!(12.5)),
        ("microchip_id", json!("985141000123456")),
        ("photo_url", json!("https://example.org/bella.jpg")),
        ("notes", json!("Afraid of thunder")),
    ] {
        assert_eq!(pet[field], value, "{field} in {pet}");
    }
}
