//! Pets through the API: the profile's rules, paging, filters, partial updates, and tenancy.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::{error_code, spawn_app};

#[tokio::test]
async fn a_pet_round_trips() {
    let app = spawn_app().await;
    let ana = app.register("Ana").await;
    let res = app
        .post_json(
            "/api/v1/pets",
            &json!({"name": "Bella", "species": "Dog", "breed": "Border Collie", "date_of_birth": "2021-04-30",
                    "sex": "female", "weight_kg": 19.5, "microchip_id": "985 112 003 456 789"}),
            Some(&ana.access_token),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    let created: Value = res.json().await.unwrap();
    assert_eq!(created["species"], "dog");
    assert_eq!(created["microchip_id"], "985112003456789");
    let fetched: Value = app.get(&location, Some(&ana.access_token)).await.json().await.unwrap();
    assert_eq!(fetched, created);
}

#[tokio::test]
async fn patch_changes_only_what_it_names_and_null_clears() {
    let app = spawn_app().await;
    let ana = app.register("Ana").await;
    let pet = app
        .create_pet(&ana.access_token, json!({"name": "Bella", "species": "dog", "breed": "Collie", "weight_kg": 20}))
        .await;
    let url = app.url(&format!("/api/v1/pets/{}", pet["id"].as_str().unwrap()));
    let res = app
        .client
        .patch(&url)
        .bearer_auth(&ana.access_token)
        .json(&json!({"weight_kg": 21.5, "breed": null}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let updated: Value = res.json().await.unwrap();
    assert_eq!(updated["weight_kg"], 21.5);
    assert_eq!(updated["breed"], Value::Null);
    assert_eq!(updated["name"], "Bella");

    let res =
        app.client.patch(&url).bearer_auth(&ana.access_token).json(&json!({"weight_kg": -1})).send().await.unwrap();
    let (status, error) = error_code(res).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error["details"][0]["field"], "weight_kg");
    assert_eq!(error["details"][0]["rule"], "out_of_range");
    let unchanged: Value = app
        .get(&format!("/api/v1/pets/{}", pet["id"].as_str().unwrap()), Some(&ana.access_token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(unchanged["weight_kg"], 21.5, "a rejected change changes nothing");
}

/// Reads of an unchanged pet are served from a cached snapshot and a reused body; a change,
/// a deletion or another household must never see the old one.
#[tokio::test]
async fn repeated_reads_follow_every_change() {
    let app = spawn_app().await;
    let ana = app.register("Ana").await;
    let bo = app.register("Bo").await;
    let pet = app.create_pet(&ana.access_token, json!({"name": "Bella", "species": "dog"})).await;
    let path = format!("/api/v1/pets/{}", pet["id"].as_str().unwrap());
    let read = |token: String| {
        let app = &app;
        let path = path.clone();
        async move {
            let res = app.get(&path, Some(&token)).await;
            let status = res.status();
            (status, res.json::<Value>().await.unwrap())
        }
    };
    for _ in 0..3 {
        assert_eq!(read(ana.access_token.clone()).await, (StatusCode::OK, pet.clone()));
    }
    assert_eq!(read(bo.access_token.clone()).await.0, StatusCode::NOT_FOUND, "the reused body is not shared");
    let created_at = pet["created_at"].as_str().unwrap();
    assert!(created_at.ends_with('Z') && created_at.len() == 24, "RFC 3339 in UTC with milliseconds: {created_at}");

    let res = app.client.patch(app.url(&path)).bearer_auth(&ana.access_token).json(&json!({"name": "Belle"})).send();
    let updated: Value = res.await.unwrap().json().await.unwrap();
    assert_eq!(updated["name"], "Belle");
    assert_eq!(read(ana.access_token.clone()).await, (StatusCode::OK, updated));

    let res = app.client.delete(app.url(&path)).bearer_auth(&ana.access_token).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(read(ana.access_token.clone()).await.0, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn lists_page_and_filter() {
    let app = spawn_app().await;
    let ana = app.register("Ana").await;
    for (name, species) in [("Bella", "dog"), ("Miso", "cat"), ("Rex", "dog"), ("Max_1", "dog"), ("Luna", "cat")] {
        app.create_pet(&ana.access_token, json!({"name": name, "species": species})).await;
    }
    let page: Value = app.get("/api/v1/pets?page=1&page_size=2", Some(&ana.access_token)).await.json().await.unwrap();
    assert_eq!(
        (page["total"].as_u64(), page["has_next"].as_bool(), page["page_size"].as_u64()),
        (Some(5), Some(true), Some(2))
    );
    let names: Vec<&str> = page["items"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Bella", "Luna"]);
    let last: Value = app.get("/api/v1/pets?page=3&page_size=2", Some(&ana.access_token)).await.json().await.unwrap();
    assert_eq!(last["has_next"], false);
    assert_eq!(last["items"].as_array().unwrap().len(), 1);

    let cats: Value = app.get("/api/v1/pets?species=cat", Some(&ana.access_token)).await.json().await.unwrap();
    assert_eq!(cats["total"], 2);
    let search: Value = app.get("/api/v1/pets?q=x_", Some(&ana.access_token)).await.json().await.unwrap();
    assert_eq!(search["total"], 1, "`_` is matched literally");

    let (status, error) = error_code(app.get("/api/v1/pets?page_size=100000", Some(&ana.access_token)).await).await;
    assert_eq!((status, error["details"][0]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("page_size")));
    let (status, error) = error_code(app.get("/api/v1/pets?page=abc", Some(&ana.access_token)).await).await;
    assert_eq!((status, error["details"][0]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("page")));
}

#[tokio::test]
async fn another_households_pet_is_not_found() {
    let app = spawn_app().await;
    let ana = app.register("Ana").await;
    let bob = app.register("Bob").await;
    let bella = app.create_pet(&ana.access_token, json!({"name": "Bella", "species": "dog"})).await;
    let path = format!("/api/v1/pets/{}", bella["id"].as_str().unwrap());

    let (status, error) = error_code(app.get(&path, Some(&bob.access_token)).await).await;
    assert_eq!((status, error["code"].as_str()), (StatusCode::NOT_FOUND, Some("not_found")));
    let res = app
        .client
        .patch(app.url(&path))
        .bearer_auth(&bob.access_token)
        .json(&json!({"name": "Mine"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let res = app.client.delete(app.url(&path)).bearer_auth(&bob.access_token).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let list: Value = app.get("/api/v1/pets", Some(&bob.access_token)).await.json().await.unwrap();
    assert_eq!(list["total"], 0);

    // Ana's pet is untouched.
    let still: Value = app.get(&path, Some(&ana.access_token)).await.json().await.unwrap();
    assert_eq!(still["name"], "Bella");
    let res = app.client.delete(app.url(&path)).bearer_auth(&ana.access_token).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(app.get(&path, Some(&ana.access_token)).await.status(), StatusCode::NOT_FOUND);
}
