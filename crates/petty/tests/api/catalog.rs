//! The catalog over HTTP: listings written, checked and removed; the contract's worked
//! examples asked in plain words on both engines; Petfinder-style filters, full-text search,
//! paging; a public catalog read without signing in; and who may do what.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::harness::{Engine, TestApp, spawn_app, spawn_app_on};
use crate::lifelog::call;

/// The contract's catalog: name, type, breed, months, price, colour, sex.
pub(crate) const CATALOG: [(&str, &str, &str, u32, u32, &str, &str); 10] = [
    ("Buddy", "dog", "Golden Retriever", 38, 500, "golden", "male"),
    ("Max", "dog", "German Shepherd", 54, 800, "black and tan", "male"),
    ("Rocky", "dog", "Bulldog", 24, 700, "white", "male"),
    ("Charlie", "dog", "Labrador Retriever", 18, 600, "black", "male"),
    ("Daisy", "dog", "Golden Retriever", 7, 450, "cream", "female"),
    ("Whiskers", "cat", "Siamese", 28, 300, "cream", "female"),
    ("Luna", "cat", "Persian", 60, 450, "white", "female"),
    ("Shadow", "cat", "Domestic Shorthair", 13, 75, "black", "male"),
    ("Tweety", "bird", "Canary", 12, 150, "yellow", "male"),
    ("Nemo", "fish", "Clownfish", 11, 50, "orange", "male"),
];

/// Lists the contract's ten pets in `token`'s household, in order (numbers 1–10).
pub(crate) async fn list_the_contract_catalog(app: &TestApp, token: &str) -> Vec<Value> {
    let mut out = Vec::new();
    for (name, species, breed, months, price, color, sex) in CATALOG {
        let body = json!({"name": name, "species": species, "breed": breed, "age_months": months, "price": price,
            "color": color, "sex": sex});
        let (status, listing) = call(app, Method::POST, "/api/v1/catalog", token, Some(body)).await;
        assert_eq!(status, StatusCode::CREATED, "{listing}");
        out.push(listing);
    }
    out
}

fn names(items: &Value) -> Vec<&str> {
    items.as_array().unwrap().iter().map(|l| l["name"].as_str().unwrap()).collect()
}

async fn worked_examples_on(engine: Engine) {
    let Some(app) = spawn_app_on(engine).await else { return };
    let ana = app.register("Ana").await;
    let t = &ana.access_token;
    let listed = list_the_contract_catalog(&app, t).await;
    assert_eq!(listed[0]["number"], 1);
    assert_eq!(listed[9]["number"], 10);
    let cases: [(&str, &[&str], u64); 10] = [
        ("dogs under 2 years old", &["Charlie", "Daisy"], 2),
        ("cheapest cat", &["Shadow"], 3),
        ("golden retrievers under $500", &["Daisy"], 1),
        ("expensive dogs", &["Max", "Rocky", "Charlie", "Buddy", "Daisy"], 5),
        ("list 3 cheapest pets", &["Nemo", "Shadow", "Tweety"], 10),
        ("cats that are not black", &["Luna", "Whiskers"], 2),
        ("pets between 1 and 3 years old", &["Buddy", "Charlie", "Rocky", "Shadow", "Tweety", "Whiskers"], 6),
        ("show me catfish", &[], 0),
        ("Tell me about Buddy", &["Buddy"], 1),
        ("hello", &["Buddy", "Charlie", "Daisy", "Luna", "Max", "Nemo", "Rocky", "Shadow", "Tweety", "Whiskers"], 10),
    ];
    for (query, pets, count) in cases {
        let (status, answer) =
            call(&app, Method::POST, "/api/v1/catalog/query", t, Some(json!({"query": query}))).await;
        assert_eq!(status, StatusCode::OK, "{query}: {answer}");
        assert_eq!((names(&answer["items"]), &answer["total"]), (pets.to_vec(), &json!(count)), "{engine:?} {query}");
        assert_eq!((&answer["source"], &answer["fallback"]), (&json!("parser"), &json!(false)), "{query}");
    }
    let (_, answer) =
        call(&app, Method::POST, "/api/v1/catalog/query", t, Some(json!({"query": "golden retrievers under $500"})))
            .await;
    assert_eq!(answer["filters"]["breeds"], json!(["golden retriever"]));
    assert_eq!(answer["items"][0]["breeds"], json!(["golden retriever"]));
    assert_eq!(answer["items"][0]["price"], 450.0);
}

#[tokio::test]
async fn the_contract_worked_examples_answer_over_http_on_sqlite() {
    worked_examples_on(Engine::Sqlite).await;
}

#[tokio::test]
async fn the_contract_worked_examples_answer_over_http_on_postgresql() {
    worked_examples_on(Engine::Postgres).await;
}

#[tokio::test]
async fn listings_are_written_checked_changed_removed_and_their_numbers_never_reused() {
    let app = spawn_app().await;
    let ana = app.register("Ana").await;
    let t = &ana.access_token;
    let body = json!({"name": "Patch", "species": "Puppy", "breed": "Labrador mix", "age_months": 5, "price": 120.5,
        "color": "Black & White", "size": "medium", "sex": "female", "good_with_children": true, "house_trained": false,
        "location": "Leeds", "description": "Loves a ball.", "photo_url": "https://example.org/patch.jpg"});
    let (status, patch) = call(&app, Method::POST, "/api/v1/catalog", t, Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{patch}");
    assert_eq!(
        (&patch["species"], &patch["breeds"], &patch["colors"], &patch["currency"], &patch["status"]),
        (
            &json!("dog"),
            &json!(["labrador retriever", "mixed"]),
            &json!(["black", "white"]),
            &json!("USD"),
            &json!("available")
        )
    );
    let id = patch["id"].as_str().unwrap();
    let path = format!("/api/v1/catalog/{id}");
    let (status, read) = call(&app, Method::GET, &path, t, None).await;
    assert_eq!((status, &read), (StatusCode::OK, &patch));

    // Every broken field at once, and nothing changes.
    let bad = json!({"name": "", "species": "dragon", "price": -1, "size": "huge-ish", "photo_url": "ftp://x"});
    let (status, error) = call(&app, Method::POST, "/api/v1/catalog", t, Some(bad)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");
    let fields: Vec<&str> =
        error["error"]["details"].as_array().unwrap().iter().map(|d| d["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["name", "species", "size", "price", "photo_url"]);
    let (_, all) = call(&app, Method::GET, "/api/v1/catalog?status=any", t, None).await;
    assert_eq!(all["total"], 1);

    let (status, changed) =
        call(&app, Method::PATCH, &path, t, Some(json!({"status": "adopted", "price": null, "name": "Patches"}))).await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert_eq!(
        (&changed["status"], &changed["price"], &changed["name"]),
        (&json!("adopted"), &Value::Null, &json!("Patches"))
    );
    assert_eq!(changed["breed"], "Labrador mix", "fields left out stay");
    let (_, available) = call(&app, Method::GET, "/api/v1/catalog", t, None).await;
    assert_eq!(available["total"], 0, "the default list holds available listings only");

    let (status, _) = call(&app, Method::DELETE, &path, t, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = call(&app, Method::GET, &path, t, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, next) =
        call(&app, Method::POST, "/api/v1/catalog", t, Some(json!({"name": "Rex", "species": "dog"}))).await;
    assert_eq!((&next["number"], &next["breed"]), (&json!(2), &json!("Mixed")), "number 1 is not given again");
}

#[tokio::test]
async fn filters_words_and_pages_narrow_the_list_and_bad_ones_are_named() {
    let app = spawn_app().await;
    let ana = app.register("Ana").await;
    let t = &ana.access_token;
    list_the_contract_catalog(&app, t).await;
    let get = |path: &'static str| call(&app, Method::GET, path, t, None);
    let (_, dogs) = get("/api/v1/catalog?species=dog&max_price=600&sort=price_desc").await;
    assert_eq!(names(&dogs["items"]), ["Charlie", "Buddy", "Daisy"]);
    let (_, golden) = get("/api/v1/catalog?q=golden").await;
    assert_eq!(names(&golden["items"]), ["Buddy", "Daisy"], "by breed words");
    let (_, cream) = get("/api/v1/catalog?color=cream&min_age=1").await;
    assert_eq!(names(&cream["items"]), ["Whiskers"]);
    let (_, page) = get("/api/v1/catalog?sort=price_asc&page=2&page_size=3").await;
    assert_eq!(names(&page["items"]), ["Whiskers", "Daisy", "Luna"]);
    assert_eq!((&page["total"], &page["page"], &page["has_next"]), (&json!(10), &json!(2), &json!(true)));
    let (status, error) = get("/api/v1/catalog?species=dragon&sort=random&min_price=-5").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");
    let fields: Vec<&str> =
        error["error"]["details"].as_array().unwrap().iter().map(|d| d["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["species", "min_price", "sort"]);
}

#[tokio::test]
async fn a_public_catalog_is_read_without_signing_in_and_a_private_one_is_not_found() {
    let app = spawn_app().await;
    let ana = app.register("Ana").await;
    let t = &ana.access_token;
    let listed = list_the_contract_catalog(&app, t).await;
    let public = format!("/api/v1/public/catalogs/{}", ana.household_id);
    assert_eq!(app.get(&public, None).await.status(), StatusCode::NOT_FOUND, "private by default");
    let (status, settings) =
        call(&app, Method::PUT, "/api/v1/catalog/settings", t, Some(json!({"public": true, "title": "Ana's Ark"})))
            .await;
    assert_eq!((status, &settings["public"]), (StatusCode::OK, &json!(true)), "{settings}");
    let res = app.get(&format!("{public}?species=cat&sort=price_asc"), None).await;
    assert_eq!(res.status(), StatusCode::OK);
    let cats: Value = res.json().await.unwrap();
    assert_eq!(names(&cats["items"]), ["Shadow", "Whiskers", "Luna"]);
    let one = app.get(&format!("{public}/{}", listed[0]["id"].as_str().unwrap()), None).await;
    assert_eq!(one.status(), StatusCode::OK);
    // Reading is all it allows.
    let res = app.post_json("/api/v1/catalog", &json!({"name": "Rex", "species": "dog"}), None).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);

    // A read-only key reads the catalog and cannot write it; another household sees none of it.
    let res = app.post_json("/api/v1/api-keys", &json!({"name": "site", "scope": "read"}), Some(t)).await;
    let key = res.json::<Value>().await.unwrap()["key"].as_str().unwrap().to_owned();
    let (status, _) = call(&app, Method::GET, "/api/v1/catalog", &key, None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) =
        call(&app, Method::POST, "/api/v1/catalog", &key, Some(json!({"name": "Rex", "species": "dog"}))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let bo = app.register("Bo").await;
    let (_, theirs) = call(&app, Method::GET, "/api/v1/catalog", &bo.access_token, None).await;
    assert_eq!(theirs["total"], 0);
    let other = format!("/api/v1/catalog/{}", listed[0]["id"].as_str().unwrap());
    let (status, _) = call(&app, Method::PATCH, &other, &bo.access_token, Some(json!({"price": 1}))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    call(&app, Method::PUT, "/api/v1/catalog/settings", t, Some(json!({"public": false}))).await;
    assert_eq!(app.get(&public, None).await.status(), StatusCode::NOT_FOUND, "private again at once");
}

#[tokio::test]
async fn a_sentence_becomes_the_catalog_s_filters() {
    let app = spawn_app().await;
    let ana = app.register("Ana").await;
    let t = &ana.access_token;
    let parse = "/api/v1/catalog/query/parse";
    let (status, parsed) =
        call(&app, Method::POST, parse, t, Some(json!({"query": "golden retrievers under $500"}))).await;
    assert_eq!(status, StatusCode::OK, "{parsed}");
    assert_eq!(
        parsed["filters"],
        json!({"species": ["dog"], "breeds": ["golden retriever"], "price": {"lt": 500}, "currency": "USD",
            "limit": 10, "status": "available"})
    );
    assert_eq!(parsed["source"], "parser");
    assert!(parsed["description"].as_str().unwrap().contains("golden retriever"), "{parsed}");
    let (_, cheapest) = call(&app, Method::POST, parse, t, Some(json!({"query": "cheapest cat"}))).await;
    let (_, ages) = call(&app, Method::POST, parse, t, Some(json!({"query": "pets between 1 and 3 years old"}))).await;
    assert_eq!(ages["filters"]["age_years"], json!({"gte": 1, "lt": 4}));
    assert_eq!(
        cheapest["filters"],
        json!({"species": ["cat"], "sort_by": "price_asc", "limit": 1, "status": "available"})
    );

    let (status, error) = call(&app, Method::POST, parse, t, Some(json!({"query": "x".repeat(501)}))).await;
    assert_eq!((status, &error["error"]["details"][0]["field"]), (StatusCode::UNPROCESSABLE_ENTITY, &json!("query")));
    let res = app.post_json(parse, &json!({"query": "dogs"}), None).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_listing_shows_uploaded_photos_through_signed_links_and_they_go_with_it() {
    let app = spawn_app().await;
    let ana = app.register("Ana").await;
    let t = &ana.access_token;
    let photo = |name: &'static str| {
        crate::files::upload(&app, t, (name, "image/png", "listing_photo"), crate::files::png(640, 480), None)
    };
    let (first, second) = (photo("rex-1.png").await, photo("rex-2.png").await);
    let file = |f: &Value| format!("/files/{}", f["id"].as_str().unwrap());
    let outside = "https://example.org/rex.jpg";
    let body = json!({"name": "Rex", "species": "dog", "photos": [file(&first), outside, file(&second)]});
    let (status, rex) = call(&app, Method::POST, "/api/v1/catalog", t, Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{rex}");
    assert_eq!(rex["photo_url"], file(&first), "the first is the main photo");
    let urls: Vec<&str> = rex["photos"].as_array().unwrap().iter().map(|p| p["url"].as_str().unwrap()).collect();
    assert_eq!(urls, [file(&first).as_str(), outside, file(&second).as_str()]);
    assert_eq!(rex["photos"][1]["link"], outside);
    assert_eq!(rex["photos"][1]["thumbnail_link"], Value::Null);
    // An uploaded photo's links are signed: anyone (an <img>, a public catalog's visitor) may follow them.
    for key in ["link", "thumbnail_link"] {
        let link = rex["photos"][0][key].as_str().unwrap();
        assert!(link.starts_with(&file(&first)) && link.contains("?exp="), "{link}");
        let res = app.client.get(app.url(link)).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{key}");
        assert!(res.headers()["content-type"].to_str().unwrap().starts_with("image/"), "{key}");
        assert!(!res.bytes().await.unwrap().is_empty(), "{key}");
    }

    // Only the household's confirmed listing photos: not a pet's photo, not another's file.
    let pet = app.create_pet(t, json!({"name": "Bella", "species": "dog"})).await;
    let pet_photo = crate::files::upload(
        &app,
        t,
        ("bella.png", "image/png", "pet_profile_photo"),
        crate::files::png(64, 64),
        pet["id"].as_str(),
    )
    .await;
    let bob = app.register("Bob").await;
    let bobs = crate::files::upload(
        &app,
        &bob.access_token,
        ("b.png", "image/png", "listing_photo"),
        crate::files::png(64, 64),
        None,
    )
    .await;
    let id = rex["id"].as_str().unwrap();
    let path = format!("/api/v1/catalog/{id}");
    for (photos, rule) in [
        (json!([file(&pet_photo)]), "listing_photo"),
        (json!([file(&bobs)]), "exists"),
        (json!(vec![outside; 7]), "max_items"),
        (json!(["javascript:alert(1)"]), "url"),
    ] {
        let (status, error) = call(&app, Method::PATCH, &path, t, Some(json!({"photos": photos}))).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");
        assert_eq!(error["error"]["details"][0]["field"], "photos", "{error}");
        assert_eq!(error["error"]["details"][0]["rule"], rule, "{error}");
    }
    let (_, unchanged) = call(&app, Method::GET, &path, t, None).await;
    assert_eq!(unchanged["photos"].as_array().unwrap().len(), 3, "a refusal changes nothing");

    // A photo taken off the listing is deleted; a file deleted leaves the listing's other photos.
    let (status, changed) =
        call(&app, Method::PATCH, &path, t, Some(json!({"photos": [outside, file(&second)]}))).await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert_eq!(changed["photo_url"], outside);
    let first_file = format!("/api/v1/files/{}", first["id"].as_str().unwrap());
    let (status, _) = call(&app, Method::GET, &first_file, t, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "the photo no listing shows is gone");
    let second_file = format!("/api/v1/files/{}", second["id"].as_str().unwrap());
    let (status, _) = call(&app, Method::DELETE, &second_file, t, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, after) = call(&app, Method::GET, &path, t, None).await;
    let urls: Vec<&str> = after["photos"].as_array().unwrap().iter().map(|p| p["url"].as_str().unwrap()).collect();
    assert_eq!(urls, [outside]);

    // The listing's removal takes its uploaded photos with it.
    let third = photo("rex-3.png").await;
    let (status, _) = call(&app, Method::PATCH, &path, t, Some(json!({"photo_url": file(&third)}))).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = call(&app, Method::DELETE, &path, t, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) =
        call(&app, Method::GET, &format!("/api/v1/files/{}", third["id"].as_str().unwrap()), t, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
