//! A vet sees the care records of the pets the household shares with them, and nothing else of
//! it: over the API, on the dashboard and through the Pet Management profile. Sharing and
//! taking back take effect on the next request, with the token the vet already holds.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::harness::{Account, TestApp, error_code, spawn_app};
use crate::pages::{browser, csrf_in, get_page, post_form, sign_in_through_form};

async fn call(app: &TestApp, method: Method, path: &str, token: &str, body: Option<Value>) -> (StatusCode, Value) {
    let mut req = app.client.request(method, app.url(path)).bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req.send().await.expect("request");
    let status = res.status();
    let text = res.text().await.expect("body");
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

async fn get(app: &TestApp, path: &str, token: &str) -> (StatusCode, Value) {
    call(app, Method::GET, path, token, None).await
}

async fn share(app: &TestApp, owner: &Account, vet_id: &str, pets: &[&str]) -> (StatusCode, Value) {
    let path = format!("/api/v1/household/members/{vet_id}/pets");
    call(app, Method::PUT, &path, &owner.access_token, Some(json!({ "pet_ids": pets }))).await
}

struct Household {
    owner: Account,
    bella: String,
    max: String,
    max_record: String,
}

async fn household(app: &TestApp) -> Household {
    let owner = app.register("Ana").await;
    let t = &owner.access_token;
    let bella = app.create_pet(t, json!({"name": "Bella", "species": "dog"})).await["id"].as_str().unwrap().to_owned();
    let max = app.create_pet(t, json!({"name": "Max", "species": "cat"})).await["id"].as_str().unwrap().to_owned();
    for (pet, title) in [(&bella, "Bella's rabies shot"), (&max, "Max's dental")] {
        let kind = if pet == &bella { "vaccination" } else { "dental" };
        let mut body = json!({"kind": kind, "title": title, "date": "2026-03-01"});
        if kind == "vaccination" {
            body["vaccine"] = json!("rabies");
        }
        let (status, _) = call(app, Method::POST, &format!("/api/v1/pets/{pet}/records"), t, Some(body)).await;
        assert_eq!(status, StatusCode::CREATED);
    }
    let (_, records) = get(app, &format!("/api/v1/pets/{max}/records"), t).await;
    let max_record = records["items"][0]["id"].as_str().unwrap().to_owned();
    Household { owner, bella, max, max_record }
}

#[tokio::test]
async fn a_vet_sees_only_the_pets_shared_with_them_and_loses_one_at_once() {
    let app = spawn_app().await;
    let h = household(&app).await;
    let (vet, vet_id) = crate::revocation::join(&app, &h.owner, "Vera", "vet", None).await;
    let v = &vet.access_token;

    // Nothing is shared yet: no pets, no records, and nothing else of the household.
    let (status, pets) = get(&app, "/api/v1/pets", v).await;
    assert_eq!((status, pets["total"].as_u64()), (StatusCode::OK, Some(0)), "{pets}");
    let (status, _) = get(&app, &format!("/api/v1/pets/{}/records", h.bella), v).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "an unshared pet is no pet to a vet");
    for path in ["/api/v1/devices", "/api/v1/alarms", "/api/v1/household/members", "/api/v1/contacts", "/api/v1/files"]
    {
        let (status, body) = get(&app, path, v).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}: {body}");
    }
    let (status, _) = get(&app, &format!("/api/v1/pets/{}/timeline", h.bella), v).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "collar data is not a care record");

    // The owner shares Bella: the vet's same token sees Bella and her records, not Max.
    let (status, shared) = share(&app, &h.owner, &vet_id, &[&h.bella]).await;
    assert_eq!(status, StatusCode::OK, "{shared}");
    assert_eq!(shared["pet_ids"], json!([h.bella]));
    let (_, pets) = get(&app, "/api/v1/pets", v).await;
    let names: Vec<&str> = pets["items"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!((names, pets["total"].as_u64()), (vec!["Bella"], Some(1)));
    for tail in ["", "/records", "/records/summary", "/vaccinations", "/weights"] {
        let (status, body) = get(&app, &format!("/api/v1/pets/{}{tail}", h.bella), v).await;
        assert_eq!(status, StatusCode::OK, "Bella{tail}: {body}");
        let (status, body) = get(&app, &format!("/api/v1/pets/{}{tail}", h.max), v).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "Max{tail}: {body}");
        assert!(!body.to_string().contains("dental"), "{body}");
    }
    let (_, records) = get(&app, &format!("/api/v1/pets/{}/records", h.bella), v).await;
    assert_eq!(records["items"][0]["title"], "Bella's rabies shot");
    let (status, _) = get(&app, &format!("/api/v1/records/{}", h.max_record), v).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "a record of an unshared pet");
    let (status, _) = get(&app, &format!("/api/v1/household/members/{vet_id}/pets"), v).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "who sees what is the household's business");
    // Read-only, still.
    let path = format!("/api/v1/pets/{}/records", h.bella);
    let body = json!({"kind": "visit", "title": "Checkup", "date": "2026-04-01"});
    assert_eq!(call(&app, Method::POST, &path, v, Some(body)).await.0, StatusCode::FORBIDDEN);
    // A key would act for the whole household: a vet cannot make one.
    let (status, _) =
        call(&app, Method::POST, "/api/v1/api-keys", v, Some(json!({"name": "Clinic", "scope": "read"}))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Taken back: the next request with the same token is refused.
    let (status, _) = share(&app, &h.owner, &vet_id, &[]).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = get(&app, &format!("/api/v1/pets/{}/records", h.bella), v).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, pets) = get(&app, "/api/v1/pets", v).await;
    assert_eq!(pets["total"], 0);

    // The owner's list of who sees what.
    share(&app, &h.owner, &vet_id, &[&h.max, &h.bella]).await;
    let (status, shared) = get(&app, &format!("/api/v1/household/members/{vet_id}/pets"), &h.owner.access_token).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(shared["pet_ids"].as_array().map(Vec::len), Some(2));
}

#[tokio::test]
async fn sharing_names_a_vet_and_the_household_s_own_pets() {
    let app = spawn_app().await;
    let h = household(&app).await;
    let (_, vet_id) = crate::revocation::join(&app, &h.owner, "Vera", "vet", None).await;
    let (member, member_id) = crate::revocation::join(&app, &h.owner, "Mo", "member", None).await;
    let stranger = app.register("Bo").await;
    let theirs = app.create_pet(&stranger.access_token, json!({"name": "Stray", "species": "dog"})).await["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // A member already sees every pet.
    let path = format!("/api/v1/household/members/{member_id}/pets");
    let res = app.client.put(app.url(&path)).bearer_auth(&h.owner.access_token).json(&json!({"pet_ids": [h.bella]}));
    let (status, error) = error_code(res.send().await.unwrap()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        (error["details"][0]["field"].as_str(), error["details"][0]["rule"].as_str()),
        (Some("user_id"), Some("vet_only")),
        "{error}"
    );
    // Another household's pet is not the owner's to share, and nothing changes.
    share(&app, &h.owner, &vet_id, &[&h.bella]).await;
    let (status, error) = share(&app, &h.owner, &vet_id, &[&h.max, &theirs]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");
    assert_eq!(error["error"]["details"][0]["field"], "pet_ids");
    let (_, shared) = get(&app, &format!("/api/v1/household/members/{vet_id}/pets"), &h.owner.access_token).await;
    assert_eq!(shared["pet_ids"], json!([h.bella]), "the refused change changed nothing");
    // Only an owner shares; a stranger finds no such member.
    let (status, _) = call(
        &app,
        Method::PUT,
        &format!("/api/v1/household/members/{vet_id}/pets"),
        &member.access_token,
        Some(json!({"pet_ids": []})),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = share(&app, &stranger, &vet_id, &[]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn on_the_dashboard_the_owner_ticks_pets_and_the_vet_sees_those_alone() {
    let app = spawn_app().await;
    let h = household(&app).await;
    let (vet, vet_id) = crate::revocation::join(&app, &h.owner, "Vera", "vet", None).await;
    let owner = browser();
    sign_in_through_form(&app, &owner, &h.owner.email, &h.owner.password).await;
    let (_, html) = get_page(&app, &owner, "/household").await;
    let action = format!(r#"action="/household/members/{vet_id}/pets""#);
    assert!(html.contains(&action), "a form beside the vet");
    let res = post_form(
        &app,
        &owner,
        &format!("/household/members/{vet_id}/pets"),
        &[("csrf", &csrf_in(&html)), ("pet_id", &h.bella)],
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, html) = get_page(&app, &owner, "/household").await;
    assert!(html.contains(&format!(r#"value="{}" checked"#, h.bella)), "Bella is ticked now");

    let client = browser();
    sign_in_through_form(&app, &client, &vet.email, &vet.password).await;
    let (status, html) = get_page(&app, &client, "/household").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Bella") && !html.contains("Max"), "only the shared pet");
    assert!(!html.contains(r#"href="/devices""#) && !html.contains("members-title"), "nothing else of the household");
    let (status, html) = get_page(&app, &client, &format!("/pets/{}/care", h.bella)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Bella&#39;s rabies shot") || html.contains("Bella's rabies shot"));
    let (status, _) = get_page(&app, &client, &format!("/pets/{}/care", h.max)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    for page in ["/devices", "/alarms", "/reminders", "/calendar", &format!("/pets/{}", h.bella), "/household/audit"] {
        let (status, _) = get_page(&app, &client, page).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{page}");
    }
    // Their own account's pages stay open.
    let (status, _) = get_page(&app, &client, "/account/security").await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn the_pet_management_profile_shows_a_vet_the_shared_pets_alone() {
    let app = spawn_app().await;
    let h = household(&app).await;
    let (vet, vet_id) = crate::revocation::join(&app, &h.owner, "Vera", "vet", None).await;
    share(&app, &h.owner, &vet_id, &[&h.max]).await;
    let (status, body) = get(&app, "/compat/petmgmt/api/v1/pets", &vet.access_token).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let names: Vec<&str> =
        body["data"]["pets"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Max"]);
    let (status, _) = get(&app, &format!("/compat/petmgmt/api/v1/pets/{}", h.bella), &vet.access_token).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) =
        get(&app, &format!("/compat/petmgmt/api/v1/pets/{}/health-records", h.bella), &vet.access_token).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) =
        get(&app, &format!("/compat/petmgmt/api/v1/pets/{}/health-records", h.max), &vet.access_token).await;
    assert_eq!(status, StatusCode::OK);
}
