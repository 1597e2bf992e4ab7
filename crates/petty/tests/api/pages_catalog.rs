//! The Catalog pages as a browser without JavaScript uses them: a sentence answered with its
//! filters as removable chips, listings added (every bad field named, nothing stored), changed
//! and removed through forms, the catalog made public and read there without signing in.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::catalog::list_the_contract_catalog;
use crate::harness::spawn_app;
use crate::lifelog::call;
use crate::pages::{PASSWORD, browser, csrf_in, get_page, location, post_form, sign_in_through_form};

/// The `href`s in a page that start with `prefix`, HTML entities for `&` undone.
fn links(html: &str, prefix: &str) -> Vec<String> {
    html.split(r#"href=""#)
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .filter(|href| href.starts_with(prefix))
        .map(|href| href.replace("&amp;", "&"))
        .collect()
}

/// The names of the listing cards on a page, in order.
fn cards(html: &str) -> Vec<String> {
    html.split("data-listing=")
        .skip(1)
        .filter_map(|card| card.split("<h3>").nth(1))
        .map(|h3| {
            let text = h3.split("</h3>").next().unwrap_or_default();
            let text = text.split('>').nth(1).map_or(text, |t| t.split('<').next().unwrap_or(t));
            text.split('<').next().unwrap_or_default().trim().to_owned()
        })
        .collect()
}

#[tokio::test]
async fn a_sentence_shows_its_chips_and_removing_one_asks_again_without_it() {
    let app = spawn_app().await;
    let ana = app.register("Ana").await;
    list_the_contract_catalog(&app, &ana.access_token).await;
    let client = browser();
    sign_in_through_form(&app, &client, &ana.email, PASSWORD).await;

    let (status, html) = get_page(&app, &client, "/catalog?query=cheapest+cat").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(cards(&html), ["Shadow"]);
    assert!(html.contains("Understood by Petty"), "who understood it is said");
    assert!(html.contains("Showing 1 of 3 pets."), "{html}");
    let chips = links(&html, "/catalog?");
    assert_eq!(chips.len(), 3, "cat, cheapest first, top 1: {chips:?}");
    let without_cat = chips.iter().find(|l| l.ends_with("drop=species")).expect("the cat chip's link");
    let (_, html) = get_page(&app, &client, without_cat).await;
    assert_eq!(cards(&html), ["Nemo"], "the cheapest of every pet");
    let without_limit = links(&html, "/catalog?").into_iter().find(|l| l.ends_with("drop=species%2Climit")).unwrap();
    let (_, html) = get_page(&app, &client, &without_limit).await;
    assert_eq!(cards(&html)[..3], ["Nemo", "Shadow", "Tweety"]);

    // Everything, any status, for someone who manages the catalog.
    let (_, html) = get_page(&app, &client, "/catalog").await;
    assert_eq!(cards(&html).len(), 10);
}

#[tokio::test]
async fn listings_are_added_changed_and_removed_through_forms_and_a_public_catalog_is_read_by_anyone() {
    let app = spawn_app().await;
    let ana = app.register("Ana").await;
    let client = browser();
    sign_in_through_form(&app, &client, &ana.email, PASSWORD).await;
    let (_, html) = get_page(&app, &client, "/catalog").await;
    let csrf = csrf_in(&html);

    let bad = [("csrf", csrf.as_str()), ("name", ""), ("species", "dragon"), ("price", "cheap"), ("age_months", "700")];
    let res = post_form(&app, &client, "/catalog/listings", &bad).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = res.text().await.unwrap();
    for field in ["name", "species", "age_months", "price"] {
        assert!(page.contains(&format!(r##"href="#f-{field}""##)), "{field} is named in the summary");
    }
    let (_, all) = call(&app, Method::GET, "/api/v1/catalog?status=any", &ana.access_token, None).await;
    assert_eq!(all["total"], 0, "nothing is stored");

    let name = "<img src=x onerror=alert(1)>";
    let good = [
        ("csrf", csrf.as_str()),
        ("name", name),
        ("species", "dog"),
        ("breed", "Labrador mix"),
        ("age_months", "14"),
        ("price", "120.50"),
        ("good_with_children", "yes"),
        ("description", "Loves a ball"),
    ];
    let res = post_form(&app, &client, "/catalog/listings", &good).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let listing_page = location(&res).to_owned();
    let (_, listed) = call(&app, Method::GET, "/api/v1/catalog", &ana.access_token, None).await;
    let made = &listed["items"][0];
    assert_eq!(
        (&made["name"], &made["price"], &made["good_with_children"]),
        (&json!(name), &json!(120.5), &json!(true))
    );
    assert_eq!(listing_page, format!("/catalog/{}", made["id"].as_str().unwrap()));
    let (_, html) = get_page(&app, &client, &listing_page).await;
    assert!(!html.contains(name) && html.contains("&lt;img src=x onerror=alert(1)&gt;"), "a name is text, never HTML");

    let change =
        [("csrf", csrf.as_str()), ("name", "Patch"), ("species", "dog"), ("price", "99"), ("status", "pending")];
    let res = post_form(&app, &client, &listing_page, &change).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, read) = call(&app, Method::GET, &format!("/api/v1{listing_page}"), &ana.access_token, None).await;
    assert_eq!((&read["name"], &read["price"], &read["status"]), (&json!("Patch"), &json!(99.0), &json!("pending")));

    // Public: anyone reads it, with the same questions; private again, it is gone.
    let res =
        post_form(&app, &client, "/catalog/settings", &[("csrf", &csrf), ("public", "yes"), ("title", "Ana's Ark")])
            .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    list_the_contract_catalog(&app, &ana.access_token).await;
    let public = format!("/catalog/public/{}", ana.household_id);
    let stranger = browser();
    let (status, html) = get_page(&app, &stranger, &format!("{public}?query=dogs+under+2+years+old")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Ana&#39;s Ark") || html.contains("Ana's Ark"), "the title");
    assert_eq!(cards(&html), ["Charlie", "Daisy"], "the pending listing is not offered");
    assert!(!html.contains(r#"action="/catalog/listings""#), "nothing to change there");
    post_form(&app, &client, "/catalog/settings", &[("csrf", &csrf), ("public", "no"), ("title", "")]).await;
    let (status, _) = get_page(&app, &stranger, &public).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let res = post_form(&app, &client, &format!("{listing_page}/delete"), &[("csrf", &csrf)]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (status, _) = get_page(&app, &client, &listing_page).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_chat_answers_from_the_household_s_records_with_or_without_its_script() {
    let app = spawn_app().await;
    let ana = app.register("Ana").await;
    list_the_contract_catalog(&app, &ana.access_token).await;
    let pet = app.create_pet(&ana.access_token, json!({"name": "Bella", "species": "dog"})).await;
    let monitor = json!({"name": "Car monitor", "kind": "air_monitor"});
    let (status, made) = call(&app, Method::POST, "/api/v1/devices", &ana.access_token, Some(monitor)).await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    let client = browser();
    sign_in_through_form(&app, &client, &ana.email, PASSWORD).await;
    let (status, html) = get_page(&app, &client, "/chat").await;
    assert_eq!(status, StatusCode::OK);
    let csrf = csrf_in(&html);

    // Without the script: the form posts and the page shows the answer.
    let res = post_form(&app, &client, "/chat", &[("csrf", &csrf), ("q", "how did Bella sleep?")]).await;
    let page = res.text().await.unwrap();
    assert!(page.contains("no night of Bella"), "no number without data: {page}");
    assert!(page.contains(&format!(r#"href="/pets/{}""#, pet["id"].as_str().unwrap())));
    let res = post_form(&app, &client, "/chat", &[("csrf", &csrf), ("q", "is the car's CO OK?")]).await;
    let page = res.text().await.unwrap();
    assert!(page.contains("Car monitor has sent no CO reading yet, and no alarm is open."), "{page}");
    let res = post_form(&app, &client, "/chat", &[("csrf", &csrf), ("q", "hello")]).await;
    assert!(res.text().await.unwrap().contains("I can tell you how your pets slept"));

    // The stream: lines, then links, then which intent answered.
    let res = client.get(app.url("/chat/answer?q=cheapest+cat")).send().await.unwrap();
    assert_eq!(res.headers()["content-type"], "text/event-stream");
    let body = res.text().await.unwrap();
    let events: Vec<(&str, &str)> = body
        .split("\n\n")
        .filter_map(|block| {
            let event = block.lines().find_map(|l| l.strip_prefix("event: "))?;
            Some((event, block.lines().find_map(|l| l.strip_prefix("data: ")).unwrap_or("")))
        })
        .collect();
    let kinds: Vec<&str> = events.iter().map(|(k, _)| *k).collect();
    assert_eq!(kinds, ["line", "line", "line", "link", "done"], "{body}");
    assert_eq!(events[0].1, "Found 3 pets in the catalog; here are 1.");
    assert!(events[2].1.starts_with("Shadow: cat (Domestic Shorthair), 75.00 USD"), "{body}");
    assert_eq!(events[4].1, "catalog");
    let stranger = crate::pages::browser();
    let res = stranger.get(app.url("/chat/answer?q=cheapest+cat")).send().await.unwrap();
    assert_ne!(res.status(), StatusCode::OK, "a session is needed");
}
