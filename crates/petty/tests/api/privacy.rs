//! The export and the account's deletion: the zip holds everything of the person's with a
//! manifest whose checksums match; after deletion every id and file link of theirs answers 404,
//! their tokens 401, and the address can register again.

use std::io::Read;

use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::Digest;

use crate::harness::{error_code, spawn_app};

#[tokio::test]
async fn export_then_delete_and_nothing_of_the_person_answers_any_more() {
    let app = spawn_app().await;
    let ana = app.register("Ana").await;
    let t = &ana.access_token;
    let pet = app.create_pet(t, json!({"name": "Rex", "species": "dog", "microchip_id": "985112003456789"})).await;
    let pet_id = pet["id"].as_str().unwrap().to_owned();
    let res = app
        .post_json(
            &format!("/api/v1/pets/{pet_id}/records"),
            &json!({"kind": "vaccination", "title": "Rabies", "date": "2026-06-01"}),
            Some(t),
        )
        .await;
    let record: Value = res.json().await.unwrap();
    let record_id = record["id"].as_str().unwrap().to_owned();
    let res = app
        .post_json("/api/v1/reminders", &json!({"title": "Walk", "at": "2030-01-01T08:00", "pet_id": pet_id}), Some(t))
        .await;
    let reminder_id = res.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
    let png = crate::files::png(40, 30);
    let file =
        crate::files::upload(&app, t, ("rex.png", "image/png", "pet_profile_photo"), png.clone(), Some(&pet_id)).await;
    let file_link = file["url"].as_str().unwrap().to_owned();
    let feed: Value = app.post_json("/api/v1/calendar/feed", &json!({}), Some(t)).await.json().await.unwrap();
    let feed_url = format!("/api/v1/calendar/feed.ics?token={}", feed["token"].as_str().unwrap());
    let key: Value = app
        .post_json("/api/v1/api-keys", &json!({"name": "Mine", "scope": "read"}), Some(t))
        .await
        .json()
        .await
        .unwrap();
    let api_key = key["key"].as_str().unwrap().to_owned();
    let res = app
        .post_json(
            "/api/v1/life-events",
            &json!({"event_type": "mood", "title": "Calm evening", "event_time": "2026-06-02T20:00:00Z",
                "event_data": {"mood_score": 7}}),
            Some(t),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let listing_photo =
        crate::files::upload(&app, t, ("patch.png", "image/png", "listing_photo"), crate::files::png(30, 20), None)
            .await;
    let listing_photo_url = format!("/files/{}", listing_photo["id"].as_str().unwrap());
    let listing = json!({"name": "Patch", "species": "cat", "price": 75, "photos": [listing_photo_url]});
    let res = app.post_json("/api/v1/catalog", &listing, Some(t)).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let listing_id = res.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();

    // The export.
    let res = app.get("/api/v1/me/export", Some(t)).await;
    assert_eq!(res.status(), StatusCode::OK);
    let disposition = res.headers()["content-disposition"].to_str().unwrap().to_owned();
    assert!(
        disposition.starts_with("attachment; filename=\"petty-export-") && disposition.ends_with(".zip\""),
        "{disposition}"
    );
    let bytes = res.bytes().await.unwrap();
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes.to_vec())).expect("a zip");
    let mut read = |name: &str| {
        let mut entry = zip.by_name(name).unwrap_or_else(|_| panic!("{name} is in the export"));
        let mut out = Vec::new();
        entry.read_to_end(&mut out).unwrap();
        out
    };
    let manifest: Value = serde_json::from_slice(&read("manifest.json")).unwrap();
    assert_eq!(manifest["format"], "petty-export");
    let listed = manifest["files"].as_array().unwrap().clone();
    for entry in &listed {
        let path = entry["path"].as_str().unwrap();
        let content = read(path);
        let sha: String = sha2::Sha256::digest(&content).iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            (entry["bytes"].as_u64(), entry["sha256"].as_str()),
            (Some(content.len() as u64), Some(sha.as_str())),
            "{path}"
        );
    }
    let paths: Vec<&str> = listed.iter().map(|e| e["path"].as_str().unwrap()).collect();
    for expected in [
        "profile.json",
        "pets.json",
        "health_records.json",
        "vaccinations.json",
        "reminders.json",
        "weights.json",
        "subscription.json",
        "logins.json",
        "audit_log.json",
        "calendar.ics",
        "pets.csv",
        "health_records.csv",
        "reminders.csv",
        "life_events.json",
        "life_insights.json",
        "life_models.json",
        "catalog.json",
    ] {
        assert!(paths.contains(&expected), "{expected} in {paths:?}");
    }
    let original =
        paths.iter().find(|p| p.starts_with("files/") && p.ends_with("-rex.png")).expect("the original upload");
    let kept = image::load_from_memory(&read(original)).expect("the image as Petty keeps it");
    assert_eq!((kept.width(), kept.height()), (40, 30));
    let pets: Value = serde_json::from_slice(&read("pets.json")).unwrap();
    assert_eq!(pets[0]["microchip_id"], "985112003456789");
    let everything = String::from_utf8_lossy(&bytes).to_string();
    assert!(!everything.contains("$argon2") && !everything.contains(&api_key), "no hashes or keys");
    let life: Value = serde_json::from_slice(&read("life_events.json")).unwrap();
    assert_eq!((life[0]["title"].as_str(), &life[0]["event_data"]), (Some("Calm evening"), &json!({"mood_score": 7})));
    let models: Value = serde_json::from_slice(&read("life_models.json")).unwrap();
    assert_eq!(models["energy"]["model_version"], "baseline-1", "no model trained yet: {models}");
    let catalog: Value = serde_json::from_slice(&read("catalog.json")).unwrap();
    let exported = &catalog[0]["listings"][0];
    assert_eq!(
        (exported["id"].as_str(), exported["name"].as_str(), &exported["price"], &exported["photos"]),
        (Some(listing_id.as_str()), Some("Patch"), &json!(75.0), &json!([listing_photo_url])),
        "{catalog}"
    );
    assert!(paths.iter().any(|p| p.ends_with("-patch.png")), "the listing's photo, uploaded: {paths:?}");
    assert_eq!(manifest["counts"]["catalog_listings"], 1, "{manifest}");
    let logins: Value = serde_json::from_slice(&read("logins.json")).unwrap();
    assert!(!logins.as_array().unwrap().is_empty(), "the sign-ins");

    // The deletion: the wrong password changes nothing.
    let wrong = app
        .client
        .post(app.url("/api/v1/me/delete"))
        .bearer_auth(t)
        .json(&json!({"password": "not it at all"}))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(wrong).await.0, StatusCode::UNAUTHORIZED);
    let res = app
        .client
        .post(app.url("/api/v1/me/delete"))
        .bearer_auth(t)
        .json(&json!({"password": ana.password}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    // Tokens and keys are dead; every id and link of theirs is gone.
    assert_eq!(app.get("/api/v1/pets", Some(t)).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(app.get("/api/v1/pets", Some(&api_key)).await.status(), StatusCode::UNAUTHORIZED);
    let refresh = app.post_json("/api/v1/auth/refresh", &json!({"refresh_token": ana.refresh_token}), None).await;
    assert_eq!(refresh.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(app.get(&file_link, None).await.status(), StatusCode::NOT_FOUND, "the file link");
    assert_eq!(app.get(&feed_url, None).await.status(), StatusCode::NOT_FOUND, "the calendar feed");
    let household: petty_core::ids::HouseholdId = ana.household_id.parse().unwrap();
    assert!(app.store.get_pet(household, pet_id.parse().unwrap()).await.is_err(), "the pet");
    assert!(app.store.get_record(household, record_id.parse().unwrap()).await.is_err(), "the record");
    assert!(app.store.get_reminder(household, reminder_id.parse().unwrap()).await.is_err(), "the reminder");
    // The address can register again, as a new person.
    let again = app
        .post_json(
            "/api/v1/auth/register",
            &json!({"email": ana.email, "password": "a brand new passphrase", "display_name": "Ana"}),
            None,
        )
        .await;
    assert_eq!(again.status(), StatusCode::ACCEPTED);
    let signed_in = app.login(&ana.email, "a brand new passphrase").await;
    assert_eq!(signed_in.status(), StatusCode::OK);
    let fresh: Value = signed_in.json().await.unwrap();
    let pets: Value =
        app.get("/api/v1/pets", Some(fresh["access_token"].as_str().unwrap())).await.json().await.unwrap();
    assert_eq!(pets["total"], 0, "a new household, empty");
}

#[tokio::test]
async fn the_only_owner_of_a_shared_household_must_hand_it_over_first() {
    let app = spawn_app().await;
    let owner = app.register("Bo").await;
    let _member = crate::revocation::join(&app, &owner, "Cy", "member", None).await;
    let res = app
        .client
        .post(app.url("/api/v1/me/delete"))
        .bearer_auth(&owner.access_token)
        .json(&json!({"password": owner.password}))
        .send()
        .await
        .unwrap();
    let (status, error) = error_code(res).await;
    assert_eq!((status, error["code"].as_str()), (StatusCode::CONFLICT, Some("conflict")), "{error}");
    assert_eq!(
        app.get("/api/v1/pets", Some(&owner.access_token)).await.status(),
        StatusCode::OK,
        "nothing was deleted"
    );
}
