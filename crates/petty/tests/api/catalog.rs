//! The catalog's query parser over HTTP (issue 16, begun): a sentence becomes the contract's
//! filters object and its words; nothing is searched yet.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::harness::spawn_app;
use crate::lifelog::call;

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
