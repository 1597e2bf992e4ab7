//! The care passport (signed JSON a stranger can check with the server's public key, failing
//! on one changed byte) and the lost-pet page (a finder's report reaches the household's alarm
//! contacts; nothing of the household reaches the finder).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::{Signature, Verifier, VerifyingKey};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::spawn_app;

/// Checks a passport the way a kennel would: the key from the well-known address, the
/// signature over the document's canonical JSON (sorted keys, no spaces).
fn checks(key: &VerifyingKey, document: &Value, signature: &str) -> bool {
    let Ok(bytes) = URL_SAFE_NO_PAD.decode(signature) else { return false };
    let Ok(sig) = Signature::from_slice(&bytes) else { return false };
    key.verify(canonical(document).as_bytes(), &sig).is_ok()
}

/// RFC 8785 for what a passport holds (strings, integers, null, arrays, objects), written
/// here independently of the server's.
fn canonical(v: &Value) -> String {
    match v {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            let members: Vec<String> =
                keys.into_iter().map(|k| format!("{}:{}", Value::String(k.clone()), canonical(&map[k]))).collect();
            format!("{{{}}}", members.join(","))
        }
        Value::Array(items) => format!("[{}]", items.iter().map(canonical).collect::<Vec<_>>().join(",")),
        other => other.to_string(),
    }
}

#[tokio::test]
async fn a_passport_verifies_with_the_published_key_and_a_changed_byte_does_not() {
    let app = spawn_app().await;
    let owner = app.register("Ana").await;
    let t = &owner.access_token;
    let pet = app.create_pet(t, json!({"name": "Rex", "species": "dog", "microchip_id": "985112003456789"})).await;
    let id = pet["id"].as_str().unwrap();
    let res = app
        .post_json(
            &format!("/api/v1/pets/{id}/records"),
            &json!({"kind": "vaccination", "title": "Rabies", "date": "2026-06-01", "vet": "Dr. Ng"}),
            Some(t),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let res = app.post_json(&format!("/api/v1/pets/{id}/passport"), &json!({}), Some(t)).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let share: Value = res.json().await.unwrap();
    let token = share["token"].as_str().unwrap();
    // A stranger: no credentials.
    let passport: Value = app.get(&format!("/api/v1/passports/{token}"), None).await.json().await.unwrap();
    let keys: Value = app.get("/.well-known/petty-passport-key", None).await.json().await.unwrap();
    let jwk = &keys["keys"][0];
    assert_eq!((jwk["kty"].as_str(), jwk["crv"].as_str()), (Some("OKP"), Some("Ed25519")));
    assert_eq!(jwk["kid"], passport["key_id"]);
    let x: [u8; 32] = URL_SAFE_NO_PAD.decode(jwk["x"].as_str().unwrap()).unwrap().try_into().unwrap();
    let key = VerifyingKey::from_bytes(&x).unwrap();
    let document = &passport["document"];
    let signature = passport["signature"].as_str().unwrap();
    assert_eq!(document["pet"]["microchip_id"], "985112003456789");
    assert_eq!(document["vaccinations"][0]["due_date"], "2027-06-01");
    assert_eq!(document["vaccinations"][0]["vet"], "Dr. Ng");
    assert!(checks(&key, document, signature), "the passport checks out");
    let mut tampered = document.clone();
    tampered["vaccinations"][0]["due_date"] = json!("2027-06-02");
    assert!(!checks(&key, &tampered, signature), "one changed byte fails");
    let (status, page) = {
        let res = app.get(&format!("/passport/{token}"), None).await;
        (res.status(), res.text().await.unwrap())
    };
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Rex") && page.contains("2027-06-01") && page.contains(passport["key_id"].as_str().unwrap()));
    // Ending it ends the link.
    let res = app.client.delete(app.url(&format!("/api/v1/pets/{id}/passport"))).bearer_auth(t).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(app.get(&format!("/api/v1/passports/{token}"), None).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(app.get(&format!("/passport/{token}"), None).await.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_finders_report_reaches_the_households_contacts_and_reveals_nothing_of_theirs() {
    let app = spawn_app().await;
    let owner = app.register("Bo").await;
    let t = &owner.access_token;
    let res = app
        .post_json(
            "/api/v1/contacts",
            &json!({"name": "Aunt Jo", "role": "secondary", "phone": "+14155550123"}),
            Some(t),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let pet = app.create_pet(t, json!({"name": "Miso", "species": "cat"})).await;
    let id = pet["id"].as_str().unwrap();
    let res =
        app.post_json(&format!("/api/v1/pets/{id}/lost"), &json!({"message": "Shy; please call us"}), Some(t)).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let token = res.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_owned();
    let page: Value = app.get(&format!("/api/v1/lost/{token}"), None).await.json().await.unwrap();
    assert_eq!((page["name"].as_str(), page["message"].as_str()), (Some("Miso"), Some("Shy; please call us")));
    assert!(page["last_location"].is_null(), "not shown unless the owner allows it");
    let html = app.get(&format!("/found/{token}"), None).await.text().await.unwrap();
    assert!(!html.contains("+14155550123") && !html.contains(&owner.email), "nothing of the household is shown");
    // A bad report names its field and passes nothing on.
    let res = app.post_json(&format!("/api/v1/lost/{token}/found"), &json!({"message": " "}), None).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let res = app
        .post_json(
            &format!("/api/v1/lost/{token}/found"),
            &json!({"message": "She is at the bakery on Main St", "contact": "+14155550999"}),
            None,
        )
        .await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let alarms: Value = app.get("/api/v1/alarms?state=active", Some(t)).await.json().await.unwrap();
    let found =
        alarms["items"].as_array().unwrap().iter().find(|a| a["type"] == "pet_found").expect("an alarm").clone();
    assert_eq!(found["severity"], "critical");
    assert!(
        found["message"].as_str().unwrap().contains("bakery on Main St")
            && found["message"].as_str().unwrap().contains("+14155550999")
    );
    let household: petty_core::ids::HouseholdId = owner.household_id.parse().unwrap();
    let alarm_id: petty_core::ids::AlarmId = found["id"].as_str().unwrap().parse().unwrap();
    let queued = app.store.notifications(household, Some(alarm_id), 20).await.unwrap();
    assert!(queued.iter().any(|n| n.recipient == "+14155550123"), "the household's contact is paged: {queued:?}");
    // A page takes a few reports an hour.
    for _ in 0..4 {
        let res = app.post_json(&format!("/api/v1/lost/{token}/found"), &json!({"message": "again"}), None).await;
        assert_eq!(res.status(), StatusCode::ACCEPTED);
    }
    let res = app.post_json(&format!("/api/v1/lost/{token}/found"), &json!({"message": "again"}), None).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    // Home again: the page is gone.
    let res = app.client.delete(app.url(&format!("/api/v1/pets/{id}/lost"))).bearer_auth(t).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(app.get(&format!("/found/{token}"), None).await.status(), StatusCode::NOT_FOUND);
    // Ending it again is done already; another household's pet is no pet.
    let res = app.client.delete(app.url(&format!("/api/v1/pets/{id}/lost"))).bearer_auth(t).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let bo = app.register("Bo").await;
    let res = app.client.delete(app.url(&format!("/api/v1/pets/{id}/lost"))).bearer_auth(&bo.access_token).send();
    assert_eq!(res.await.unwrap().status(), StatusCode::NOT_FOUND);
}
