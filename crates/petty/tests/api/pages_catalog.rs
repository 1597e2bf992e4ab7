//! The Catalog pages as a browser without JavaScript uses them: a sentence answered with its
//! filters as removable chips, listings added (every bad field named, nothing stored), changed
//! and removed through forms, the catalog made public and read there without signing in.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::catalog::list_the_contract_catalog;
use crate::fake_llm::{self, Trouble};
use crate::harness::{spawn_app, spawn_app_with};
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
    assert!(!kinds.contains(&"tool"), "no language model, no tools");
    assert_eq!(events[0].1, "Found 3 pets in the catalog; here are 1.");
    assert!(events[2].1.starts_with("Shadow: cat (Domestic Shorthair), 75.00 USD"), "{body}");
    assert_eq!(events[4].1, "catalog");
    let stranger = crate::pages::browser();
    let res = stranger.get(app.url("/chat/answer?q=cheapest+cat")).send().await.unwrap();
    assert_ne!(res.status(), StatusCode::OK, "a session is needed");
}

/// The events of a `/chat/answer` stream, as (event, data), a multi-line data joined by `\n`.
async fn chat_events(client: &reqwest::Client, app: &crate::harness::TestApp, q: &str) -> Vec<(String, String)> {
    let url = reqwest::Url::parse_with_params(&app.url("/chat/answer"), &[("q", q)]).unwrap();
    let res = client.get(url).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "text/event-stream");
    let body = res.text().await.unwrap();
    body.split("\n\n")
        .filter_map(|block| {
            let event = block.lines().find_map(|l| l.strip_prefix("event: "))?;
            let data: Vec<&str> = block.lines().filter_map(|l| l.strip_prefix("data: ")).collect();
            Some((event.to_owned(), data.join("\n")))
        })
        .collect()
}

fn kinds(events: &[(String, String)]) -> Vec<&str> {
    events.iter().map(|(k, _)| k.as_str()).collect()
}

fn text_of(events: &[(String, String)]) -> String {
    events.iter().filter(|(k, _)| k == "text").map(|(_, d)| d.as_str()).collect()
}

#[tokio::test]
async fn with_a_language_model_the_chat_streams_an_answer_made_with_petty_s_own_read_only_tools() {
    let fake = fake_llm::llm().await;
    let settings = fake.settings(100, Duration::from_secs(5));
    let app = spawn_app_with(move |c| c.llm = Some(settings)).await;
    let ana = app.register("Ana").await;
    let pet = app.create_pet(&ana.access_token, json!({"name": "Bella", "species": "dog"})).await;
    let pet_id = pet["id"].as_str().unwrap().to_owned();
    let client = browser();
    sign_in_through_form(&app, &client, &ana.email, PASSWORD).await;

    // The model asks for list_pets; Petty calls it over MCP and hands the answer back; the model
    // streams its answer, which the page gets piece by piece, then the records it used.
    fake.chat_calls("list_pets", json!({"page_size": 10}));
    let events = chat_events(&client, &app, "which pets do I have?").await;
    assert_eq!(kinds(&events), ["tool", "text", "text", "text", "text", "link", "done"], "{events:?}");
    assert_eq!(events[0].1, "list_pets");
    let text = text_of(&events);
    assert!(text.starts_with("You asked: which pets do I have?. The tools answered: "), "{text}");
    assert!(text.contains(r#""name":"Bella""#), "the tool's answer reached the model: {text}");
    assert_eq!(events[5].1, json!({"label": "Bella", "href": format!("/pets/{pet_id}")}).to_string());
    assert_eq!(events[6].1, "llm");
    let asked = fake.requests();
    assert_eq!(asked.len(), 2, "a tool call, then the answer");
    for request in &asked {
        assert_eq!(request.body["stream"], true);
        let offered: Vec<&str> =
            request.body["tools"].as_array().unwrap().iter().filter_map(|t| t["function"]["name"].as_str()).collect();
        for read in ["list_pets", "get_pet", "pet_timeline", "pet_wellness", "list_alarms", "search_catalog"] {
            assert!(offered.contains(&read), "{read} is offered: {offered:?}");
        }
        for write in ["acknowledge_alarm", "add_listing", "log_life_event"] {
            assert!(!offered.contains(&write), "{write} is not offered in the chat: {offered:?}");
        }
        let schema = &request.body["tools"][0]["function"]["parameters"];
        assert_eq!(schema["type"], "object", "each tool carries its JSON Schema: {schema}");
    }
    let messages = asked[1].body["messages"].as_array().unwrap();
    let roles: Vec<&str> = messages.iter().filter_map(|m| m["role"].as_str()).collect();
    assert_eq!(roles, ["system", "user", "assistant", "tool"]);
    assert_eq!(messages[2]["tool_calls"][0]["function"]["name"], "list_pets");
    assert_eq!(messages[2]["tool_calls"][0]["function"]["arguments"], json!({"page_size": 10}).to_string());
    assert_eq!(messages[3]["tool_call_id"], "call_fake_chat");
    let listed: Value = serde_json::from_str(messages[3]["content"].as_str().unwrap()).unwrap();
    assert_eq!(listed["items"][0]["id"], pet_id.as_str(), "the tool answered as the API does: {listed}");

    // Without the script, the same answer in the page.
    let (_, html) = get_page(&app, &client, "/chat").await;
    let csrf = csrf_in(&html);
    let res = post_form(&app, &client, "/chat", &[("csrf", &csrf), ("q", "which pets do I have?")]).await;
    let page = res.text().await.unwrap();
    assert!(page.contains("Looked at: list_pets"), "{page}");
    assert!(page.contains("You asked: which pets do I have?"), "{page}");
    assert!(page.contains(&format!(r#"href="/pets/{pet_id}""#)), "{page}");

    // A write tool the model names is refused to it, and nothing changes.
    fake.chat_calls("acknowledge_alarm", json!({"alarm_id": pet_id}));
    let events = chat_events(&client, &app, "acknowledge everything").await;
    assert_eq!(events.last().unwrap(), &("done".to_owned(), "llm".to_owned()), "{events:?}");
    let refused = fake.requests().last().unwrap().body["messages"][3]["content"].as_str().unwrap().to_owned();
    assert!(refused.contains(r#"there is no tool \"acknowledge_alarm\" in this chat"#), "{refused}");

    // The model failing before it writes: the fixed intents answer, and say why.
    fake.trouble_next(Trouble::Fail);
    let events = chat_events(&client, &app, "how did Bella sleep?").await;
    assert_eq!(kinds(&events), ["line", "line", "link", "done"], "{events:?}");
    assert!(
        events[0].1.starts_with("(Answered without the language model: the language model did not answer"),
        "{events:?}"
    );
    assert!(events[0].1.contains("500"), "{events:?}");
    assert!(events[1].1.contains("no night of Bella"), "{events:?}");
    assert_eq!(events[3].1, "pet");

    // The model failing mid-answer: what it wrote stays, with a note that it was cut off.
    fake.chat_answers_directly();
    fake.trouble_next(Trouble::CutOff);
    let events = chat_events(&client, &app, "which pets do I have?").await;
    assert_eq!(kinds(&events), ["text", "failed"], "{events:?}");
    assert_eq!(events[0].1, "You asked: ");
    assert!(events[1].1.starts_with("The answer was cut off"), "{events:?}");
}

#[tokio::test]
async fn photos_are_uploaded_reordered_and_removed_on_the_listing_page_and_shown_on_its_card() {
    use crate::files::{jpeg, multipart};
    let app = spawn_app().await;
    let ana = app.register("Ana").await;
    let (status, rex) =
        call(&app, Method::POST, "/api/v1/catalog", &ana.access_token, Some(json!({"name": "Rex", "species": "dog"})))
            .await;
    assert_eq!(status, StatusCode::CREATED, "{rex}");
    let id = rex["id"].as_str().unwrap();
    let page = format!("/catalog/{id}");
    let client = browser();
    sign_in_through_form(&app, &client, &ana.email, PASSWORD).await;
    let (_, html) = get_page(&app, &client, &page).await;
    assert!(html.contains("No photos of Rex yet."), "{html}");
    let csrf = csrf_in(&html);
    let upload = |filename: &'static str, content_type: &'static str, bytes: Vec<u8>| {
        let (kind, body) = multipart(&csrf, filename, content_type, &bytes);
        client.post(app.url(&format!("{page}/photos"))).header("content-type", kind).body(body).send()
    };

    // A file that is not what it claims is refused, named on the page, and not kept.
    let res = upload("rex.png", "image/png", jpeg(300, 200)).await.unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await.unwrap().contains("not the declared image/png"));
    let res = upload("rex.jpg", "image/jpeg", jpeg(300, 200)).await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), format!("{page}#photos"));
    let add = [("csrf", csrf.as_str()), ("url", "https://example.org/rex-outside.jpg")];
    let res = post_form(&app, &client, &format!("{page}/photos/address"), &add).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, listing) = call(&app, Method::GET, &format!("/api/v1/catalog/{id}"), &ana.access_token, None).await;
    let urls: Vec<String> =
        listing["photos"].as_array().unwrap().iter().map(|p| p["url"].as_str().unwrap().to_owned()).collect();
    assert_eq!(urls.len(), 2, "{listing}");
    assert!(urls[0].starts_with("/files/") && urls[1] == "https://example.org/rex-outside.jpg", "{urls:?}");
    let (_, files) = call(&app, Method::GET, "/api/v1/files", &ana.access_token, None).await;
    assert_eq!(files["total"], 1, "the refused upload was not kept: {files}");

    // The uploaded photo is the card's thumbnail, on the catalog and on the listing's page.
    for shown in ["/catalog", page.as_str()] {
        let (_, html) = get_page(&app, &client, shown).await;
        assert!(html.contains(r#"class="listing-photo""#), "{shown} shows the photo");
        let at = html.find("src=\"/files/").unwrap() + "src=\"".len();
        let link = html[at..].split('"').next().unwrap().replace("&amp;", "&");
        let res = reqwest::get(app.url(&link)).await.unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{link}");
    }
    // Make the outside one the main photo; remove the uploaded one: its file goes.
    let res = post_form(&app, &client, &format!("{page}/photos/main"), &[("csrf", &csrf), ("photo", &urls[1])]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, listing) = call(&app, Method::GET, &format!("/api/v1/catalog/{id}"), &ana.access_token, None).await;
    assert_eq!(listing["photo_url"], "https://example.org/rex-outside.jpg");
    let res = post_form(&app, &client, &format!("{page}/photos/remove"), &[("csrf", &csrf), ("photo", &urls[0])]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, files) = call(&app, Method::GET, "/api/v1/files", &ana.access_token, None).await;
    assert_eq!(files["total"], 0, "{files}");
    let (_, html) = get_page(&app, &client, &page).await;
    assert!(!html.contains(r#"class="listing-photo""#));
    assert!(html.contains("Photo 1 (at another site)"), "{html}");
    // An address that is no photo's is named on the page, and nothing changes.
    let bad = [("csrf", csrf.as_str()), ("url", "javascript:alert(1)")];
    let res = post_form(&app, &client, &format!("{page}/photos/address"), &bad).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = res.text().await.unwrap();
    assert!(html.contains(r##"<a href="#f-url">Each of photos must be an http(s) address"##), "{html}");
}
