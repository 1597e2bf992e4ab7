//! The PetStore profile (`/compat/petstore`): the contract's worked examples with upstream's
//! keys, its pets routes and their exact errors, CORS, the public store, the query limit, and
//! the `filter_pets` tool against a wire-level fake of a chat-completions API (a call, a 500, a
//! timeout, no call, broken arguments, and the circuit breaker).

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::catalog::list_the_contract_catalog;
use crate::fake_llm::{self, Trouble};
use crate::harness::{TestApp, spawn_app, spawn_app_with};

const ROOT: &str = "/compat/petstore";

async fn send(
    app: &TestApp,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<&str>,
) -> (StatusCode, reqwest::header::HeaderMap, Value) {
    let mut req = app.client.request(method, app.url(&format!("{ROOT}{path}")));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req.header("content-type", "application/json").body(b.to_owned());
    }
    let res = req.send().await.expect("request");
    let (status, headers) = (res.status(), res.headers().clone());
    let text = res.text().await.expect("body");
    (status, headers, serde_json::from_str(&text).unwrap_or(Value::Null))
}

fn names(pets: &Value) -> Vec<&str> {
    pets.as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect()
}

#[tokio::test]
async fn the_worked_examples_answer_with_upstream_keys() {
    let app = spawn_app().await;
    let ana = app.register("Ana").await;
    let t = Some(ana.access_token.as_str());
    list_the_contract_catalog(&app, &ana.access_token).await;
    let ask = |q: &str| json!({"query": q}).to_string();
    let (status, headers, cheapest) = send(&app, Method::POST, "/pets/query", t, Some(&ask("cheapest cat"))).await;
    assert_eq!(status, StatusCode::OK, "{cheapest}");
    assert_eq!(headers["access-control-allow-origin"], "*");
    assert_eq!((names(&cheapest["pets"]), &cheapest["count"]), (vec!["Shadow"], &json!(3)));
    assert_eq!(
        cheapest["filters_applied"],
        json!({"species": ["cat"], "sort_by": "price_asc", "limit": 1, "status": "available", "type_filter": "cat",
            "source": "parser", "fallback": true})
    );
    assert_eq!(
        cheapest["pets"][0],
        json!({"id": "8", "name": "Shadow", "type": "cat", "breed": "Domestic Shorthair", "age": 1, "price": 75,
            "age_months": 13, "color": "black", "sex": "male", "status": "available"})
    );
    let (_, _, golden) = send(&app, Method::POST, "/pets/query", t, Some(&ask("golden retrievers under $500"))).await;
    assert_eq!((names(&golden["pets"]), &golden["filters_applied"]["max_price"]), (vec!["Daisy"], &json!(500)));
    assert_eq!(golden["filters_applied"]["type_filter"], "dog");
    let (_, _, three) = send(&app, Method::POST, "/pets/query", t, Some(&ask("list 3 cheapest pets"))).await;
    assert_eq!((names(&three["pets"]), &three["count"]), (vec!["Nemo", "Shadow", "Tweety"], &json!(10)));
    // No body, or no query: no filters.
    let (status, _, all) = send(&app, Method::POST, "/pets/query", t, None).await;
    assert_eq!((status, &all["count"]), (StatusCode::OK, &json!(10)));
    let (_, _, parsed) = send(&app, Method::POST, "/pets/query/parse", t, Some(&ask("cats that are not black"))).await;
    assert_eq!(
        parsed,
        json!({"filters": {"species": ["cat"], "exclude_colors": ["black"], "limit": 10, "status": "available"},
            "source": "parser"})
    );
    let (status, _, error) = send(&app, Method::POST, "/pets/query", t, Some("{\"query\": 5}")).await;
    assert_eq!(
        (status, error),
        (StatusCode::BAD_REQUEST, json!({"error": "query must be a string of at most 500 characters"}))
    );
    let (status, _, error) = send(&app, Method::POST, "/pets/query", t, Some("{nope")).await;
    assert_eq!((status, error), (StatusCode::BAD_REQUEST, json!({"error": "Invalid JSON"})));
}

#[tokio::test]
async fn pets_are_added_read_changed_and_removed_with_the_lambda_s_errors() {
    let app = spawn_app().await;
    let ana = app.register("Ana").await;
    let t = Some(ana.access_token.as_str());
    let (status, _, added) = send(&app, Method::POST, "/pets", t, Some(r#"{"name": "Max", "type": "Puppy"}"#)).await;
    assert_eq!(status, StatusCode::CREATED, "{added}");
    assert_eq!(
        added,
        json!({"id": "1", "name": "Max", "type": "dog", "breed": "Mixed", "age": 1, "price": 100, "age_months": 12,
            "status": "available"}),
        "upstream's defaults"
    );
    let body = r#"{"name": "Luna", "type": "cat", "breed": "Persian", "age": "5", "price": 450.5, "color": "white"}"#;
    let (_, _, luna) = send(&app, Method::POST, "/pets", t, Some(body)).await;
    assert_eq!((&luna["id"], &luna["age"], &luna["price"]), (&json!("2"), &json!(5), &json!(450.5)));
    // The same listing in the canonical API.
    let (_, canonical) =
        crate::lifelog::call(&app, Method::GET, "/api/v1/catalog?species=cat", &ana.access_token, None).await;
    assert_eq!((&canonical["items"][0]["name"], &canonical["items"][0]["number"]), (&json!("Luna"), &json!(2)));

    let refused = [
        (r#"{"type": "dog"}"#, "Missing required field: name"),
        (r#"{"name": "Rex"}"#, "Missing required field: type"),
        (r#"{"name": "Rex", "type": "dragon"}"#, "Invalid pet type: dragon"),
        (r#"{"name": "Rex", "type": "dog", "age": 2.5}"#, "age must be a whole number of years (0-50)"),
        (r#"{"name": "Rex", "type": "dog", "age": 51}"#, "age must be a whole number of years (0-50)"),
        (r#"{"name": "Rex", "type": "dog", "price": 10.001}"#, "price must be a number from 0 to 1000000"),
        (r#"{"name": "Rex", "type": "dog", "price": -1}"#, "price must be a number from 0 to 1000000"),
        ("[1]", "Invalid JSON"),
    ];
    for (body, message) in refused {
        let (status, _, error) = send(&app, Method::POST, "/pets", t, Some(body)).await;
        assert_eq!((status, error), (StatusCode::BAD_REQUEST, json!({"error": message})), "{body}");
    }
    let (_, headers, listed) = send(&app, Method::GET, "/pets", t, None).await;
    assert_eq!(
        (names(&listed), headers["x-total-count"].to_str().unwrap()),
        (vec!["Max", "Luna"], "2"),
        "nothing refused was stored"
    );

    let (status, _, changed) =
        send(&app, Method::PUT, "/pets/1", t, Some(r#"{"price": 80, "status": "pending"}"#)).await;
    assert_eq!(
        (status, &changed["price"], &changed["status"], &changed["age"]),
        (StatusCode::OK, &json!(80), &json!("pending"), &json!(1))
    );
    let (_, _, cats) = send(&app, Method::GET, "/pets?type=cat", t, None).await;
    assert_eq!(names(&cats), ["Luna"]);
    let (_, _, page) = send(&app, Method::GET, "/pets?limit=1&offset=1", t, None).await;
    assert_eq!(names(&page), ["Luna"]);
    let (status, _, error) = send(&app, Method::GET, "/pets?type=unicorn", t, None).await;
    assert_eq!((status, error), (StatusCode::BAD_REQUEST, json!({"error": "Invalid pet type: unicorn"})));

    let (status, _, _) = send(&app, Method::DELETE, "/pets/1", t, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    for path in ["/pets/1", "/pets/abc", "/pets/99"] {
        let (status, _, error) = send(&app, Method::GET, path, t, None).await;
        assert_eq!((status, error), (StatusCode::NOT_FOUND, json!({"error": "Pet not found"})), "{path}");
    }
    let (_, _, next) = send(&app, Method::POST, "/pets", t, Some(r#"{"name": "Rex", "type": "dog"}"#)).await;
    assert_eq!(next["id"], "3", "an id is never reused");

    let (status, _, error) = send(&app, Method::GET, "/nothing-here", t, None).await;
    assert_eq!((status, error), (StatusCode::NOT_FOUND, json!({"error": "Not found"})));
    let (status, _, error) = send(&app, Method::PATCH, "/pets", t, None).await;
    assert_eq!((status, error), (StatusCode::METHOD_NOT_ALLOWED, json!({"error": "Method not allowed"})));
    let (status, headers, _) = send(&app, Method::OPTIONS, "/pets/7", None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["access-control-allow-methods"], "GET,POST,PUT,DELETE,OPTIONS");
    assert_eq!(headers["access-control-allow-headers"], "Content-Type,Authorization");
    assert_eq!(headers["access-control-max-age"], "86400");

    // Who may: nobody unsigned, a read key only reads, another household sees none of it.
    let (status, headers, error) = send(&app, Method::GET, "/pets", None, None).await;
    assert_eq!((status, error), (StatusCode::UNAUTHORIZED, json!({"error": "Authentication required"})));
    assert_eq!(headers["access-control-allow-origin"], "*");
    let res = app.post_json("/api/v1/api-keys", &json!({"name": "shop", "scope": "read"}), t).await;
    let key = res.json::<Value>().await.unwrap()["key"].as_str().unwrap().to_owned();
    let (status, _, _) = send(&app, Method::GET, "/pets/2", Some(&key), None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, error) =
        send(&app, Method::POST, "/pets", Some(&key), Some(r#"{"name": "Rex", "type": "dog"}"#)).await;
    assert_eq!((status, error), (StatusCode::FORBIDDEN, json!({"error": "Forbidden"})));
    let bo = app.register("Bo").await;
    let (status, _, _) = send(&app, Method::GET, "/pets/2", Some(&bo.access_token), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_public_store_is_read_anonymously_and_queries_are_limited_per_caller() {
    let app = spawn_app_with(|c| c.petstore_query_per_minute = 3).await;
    let ana = app.register("Ana").await;
    list_the_contract_catalog(&app, &ana.access_token).await;
    let (status, _, _) = send(&app, Method::GET, "/pets", None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "no public store is named");

    let ask = json!({"query": "dogs"}).to_string();
    for _ in 0..3 {
        let (status, _, _) = send(&app, Method::POST, "/pets/query", Some(&ana.access_token), Some(&ask)).await;
        assert_eq!(status, StatusCode::OK);
    }
    let (status, headers, error) = send(&app, Method::POST, "/pets/query", Some(&ana.access_token), Some(&ask)).await;
    assert_eq!((status, error), (StatusCode::TOO_MANY_REQUESTS, json!({"error": "Too many requests"})));
    let retry: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    let bo = app.register("Bo").await;
    let (status, _, _) = send(&app, Method::POST, "/pets/query", Some(&bo.access_token), Some(&ask)).await;
    assert_eq!(status, StatusCode::OK, "another caller has their own allowance");

    let shop = spawn_shop().await;
    let (status, _, pets) = send(&shop.app, Method::GET, "/pets?type=dog", None, None).await;
    assert_eq!((status, names(&pets)), (StatusCode::OK, vec!["Buddy", "Max", "Rocky", "Charlie", "Daisy"]));
    let (status, _, found) =
        send(&shop.app, Method::POST, "/pets/query", None, Some(&json!({"query": "cheapest cat"}).to_string())).await;
    assert_eq!((status, names(&found["pets"])), (StatusCode::OK, vec!["Shadow"]));
    let (status, _, _) = send(&shop.app, Method::POST, "/pets", None, Some(r#"{"name": "Rex", "type": "dog"}"#)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "anonymous callers only read");
    // A signed-in caller reads their own household's catalog, not the public store; a token
    // that is not valid is refused, never read as anonymous.
    let cy = shop.app.register("Cy").await;
    let (_, _, own) = send(&shop.app, Method::GET, "/pets", Some(&cy.access_token), None).await;
    assert_eq!(own, json!([]));
    let (status, _, _) = send(&shop.app, Method::GET, "/pets", Some("not-a-token"), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

/// A server whose configuration names a public store: a household listing the contract's
/// catalog, made through a first server on the same database before the second starts.
struct Shop {
    app: TestApp,
    _first: TestApp,
}

async fn spawn_shop() -> Shop {
    let first = spawn_app().await;
    let owner = first.register("Shop").await;
    list_the_contract_catalog(&first, &owner.access_token).await;
    let household = petty_core::ids::HouseholdId(owner.household_id.parse().unwrap());
    let app = crate::harness::spawn_beside(&first, move |c| c.petstore_public_store = Some(household)).await;
    Shop { app, _first: first }
}

#[tokio::test]
async fn a_configured_model_fills_the_filters_and_any_failure_falls_back_to_the_parser() {
    let fake = fake_llm::llm().await;
    let settings = fake.settings(100, Duration::from_secs(1));
    let app = spawn_app_with(move |c| c.llm = Some(settings)).await;
    let ana = app.register("Ana").await;
    let t = Some(ana.access_token.as_str());
    list_the_contract_catalog(&app, &ana.access_token).await;
    fake.call_tools_with(json!({"type_filter": "dog", "sort_by": "price_desc"}));
    let ask = json!({"query": "show me the priciest pups"}).to_string();

    let (status, _, answer) = send(&app, Method::POST, "/pets/query", t, Some(&ask)).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(names(&answer["pets"]), ["Max", "Rocky", "Charlie", "Buddy", "Daisy"]);
    assert_eq!(
        (&answer["filters_applied"]["source"], answer["filters_applied"].get("fallback")),
        (&json!("llm"), None)
    );
    let sent = fake.requests().last().cloned().unwrap();
    assert_eq!(sent.body["tools"][0]["function"]["name"], "filter_pets");
    assert_eq!((&sent.body["temperature"], &sent.body["tool_choice"]), (&json!(0), &json!("auto")));
    assert!(sent.message("user").starts_with("User query: show me the priciest pups\n\n"), "{}", sent.message("user"));

    // Each failure is answered by the parser, marked so.
    for trouble in [Trouble::Fail, Trouble::Hang, Trouble::NoToolCall] {
        fake.trouble_next(trouble);
        let (status, _, answer) =
            send(&app, Method::POST, "/pets/query", t, Some(&json!({"query": "cheapest cat"}).to_string())).await;
        assert_eq!(status, StatusCode::OK, "{trouble:?}");
        assert_eq!(names(&answer["pets"]), ["Shadow"], "{trouble:?}");
        assert_eq!(
            (&answer["filters_applied"]["source"], &answer["filters_applied"]["fallback"]),
            (&json!("parser"), &json!(true))
        );
    }
    // Three in a row: the model rests for a minute and is not asked.
    let asked = fake.requests().len();
    let (_, _, rested) = send(&app, Method::POST, "/pets/query", t, Some(&ask)).await;
    assert_eq!(rested["filters_applied"]["fallback"], true);
    assert_eq!(fake.requests().len(), asked, "the breaker is open");

    // Broken arguments fall back too (a fresh server: its breaker closed).
    let fake = fake_llm::llm().await;
    let settings = fake.settings(100, Duration::from_secs(1));
    let app = spawn_app_with(move |c| c.llm = Some(settings)).await;
    let bo = app.register("Bo").await;
    list_the_contract_catalog(&app, &bo.access_token).await;
    fake.trouble_next(Trouble::BrokenArguments);
    let (_, answer) = crate::lifelog::call(
        &app,
        Method::POST,
        "/api/v1/catalog/query",
        &bo.access_token,
        Some(json!({"query": "cheapest cat"})),
    )
    .await;
    assert_eq!((&answer["source"], &answer["fallback"]), (&json!("parser"), &json!(true)));
    assert_eq!(answer["items"][0]["name"], "Shadow");
    assert_eq!(fake.requests().len(), 1);
}

/// One JSON-RPC message to the profile's MCP gateway; answers the status, headers and body.
async fn rpc(
    app: &TestApp,
    token: Option<&str>,
    session: Option<&str>,
    message: Value,
) -> (StatusCode, reqwest::header::HeaderMap, Value) {
    let mut req = app.client.post(app.url(&format!("{ROOT}/mcp"))).json(&message);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(s) = session {
        req = req.header("mcp-session-id", s);
    }
    let res = req.send().await.unwrap();
    let (status, headers) = (res.status(), res.headers().clone());
    let text = res.text().await.unwrap();
    (status, headers, serde_json::from_str(&text).unwrap_or(Value::Null))
}

fn tool_text(answer: &Value) -> Value {
    serde_json::from_str(answer["result"]["content"][0]["text"].as_str().expect("a text content")).unwrap()
}

#[tokio::test]
async fn the_mcp_gateway_serves_the_seed_s_tools_with_and_without_a_session() {
    let app = spawn_app().await;
    let ana = app.register("Ana").await;
    let t = Some(ana.access_token.as_str());
    list_the_contract_catalog(&app, &ana.access_token).await;

    // The seed's page calls a tool straight away, with no session.
    let call = |name: &str, arguments: Value| json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"name": name, "arguments": arguments}});
    let (status, _, answer) =
        rpc(&app, t, None, call("PetStoreTarget___QueryPets", json!({"query": "cheapest cat"}))).await;
    assert_eq!(
        (status, &answer["id"], &answer["result"]["isError"]),
        (StatusCode::OK, &json!(7), &json!(false)),
        "{answer}"
    );
    let body = tool_text(&answer);
    assert_eq!(
        (names(&body["pets"]), &body["count"], &body["filters_applied"]["type_filter"]),
        (vec!["Shadow"], &json!(3), &json!("cat"))
    );

    // initialize: the version echoed when known, a session id handed out.
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-03-26", "capabilities": {}, "clientInfo": {"name": "test", "version": "1"}}});
    let (status, headers, answer) = rpc(&app, t, None, init).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        answer["result"],
        json!({"protocolVersion": "2025-03-26", "capabilities": {"tools": {"listChanged": false}},
            "serverInfo": {"name": "petty", "version": env!("CARGO_PKG_VERSION")}})
    );
    let session = headers["mcp-session-id"].to_str().unwrap().to_owned();
    let note = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    let (status, _, _) = rpc(&app, t, Some(&session), note).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let (_, _, listed) = rpc(&app, t, Some(&session), json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"})).await;
    let tools: Vec<&str> =
        listed["result"]["tools"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(
        tools,
        [
            "PetStoreTarget___ListPets",
            "PetStoreTarget___GetPetById",
            "PetStoreTarget___AddPet",
            "PetStoreTarget___QueryPets",
            "PetStoreTarget___SearchPets"
        ]
    );
    assert_eq!(listed["result"]["tools"][1]["inputSchema"]["required"], json!(["petId"]));

    // Every tool, with the session.
    let (_, _, all) = rpc(&app, t, Some(&session), call("PetStoreTarget___ListPets", json!({}))).await;
    assert_eq!(tool_text(&all).as_array().unwrap().len(), 10);
    let (_, _, max) = rpc(&app, t, Some(&session), call("PetStoreTarget___GetPetById", json!({"petId": "2"}))).await;
    assert_eq!(tool_text(&max)["name"], "Max");
    let (_, _, added) = rpc(
        &app,
        t,
        Some(&session),
        call("PetStoreTarget___AddPet", json!({"name": "Rex", "type": "dog", "price": 90})),
    )
    .await;
    assert_eq!((tool_text(&added)["id"].as_str(), tool_text(&added)["breed"].as_str()), (Some("11"), Some("Mixed")));
    let filters = json!({"species": ["dog"], "price": {"lt": 500}, "sort_by": "price_asc"});
    let (_, _, searched) = rpc(&app, t, Some(&session), call("PetStoreTarget___SearchPets", filters)).await;
    assert_eq!(names(&tool_text(&searched)["pets"]), ["Rex", "Daisy"]);

    // Errors: a refused call is a tool error with the route's body; the protocol's own codes.
    let (_, _, missing) = rpc(&app, t, None, call("PetStoreTarget___GetPetById", json!({"petId": "99"}))).await;
    assert_eq!((&missing["result"]["isError"], tool_text(&missing)), (&json!(true), json!({"error": "Pet not found"})));
    let (_, _, bad) =
        rpc(&app, t, None, call("PetStoreTarget___AddPet", json!({"name": "Rex", "type": "dragon"}))).await;
    assert_eq!(tool_text(&bad), json!({"error": "Invalid pet type: dragon"}));
    let (_, _, bad) = rpc(&app, t, None, call("PetStoreTarget___SearchPets", json!({"colour": ["black"]}))).await;
    assert_eq!(tool_text(&bad), json!({"error": "colour is not a filter"}));
    let (_, _, unknown) = rpc(&app, t, None, call("DeleteEverything", json!({}))).await;
    assert_eq!(unknown["error"], json!({"code": -32602, "message": "Unknown tool: DeleteEverything"}));
    let (_, _, nothing) = rpc(&app, t, None, json!({"jsonrpc": "2.0", "id": 3, "method": "resources/list"})).await;
    assert_eq!(nothing["error"]["code"], -32601);
    let (status, _, batch) = rpc(&app, t, None, json!([{"jsonrpc": "2.0", "id": 4, "method": "ping"}])).await;
    assert_eq!((status, &batch["error"]["code"]), (StatusCode::BAD_REQUEST, &json!(-32600)));
    let res = app
        .client
        .post(app.url(&format!("{ROOT}/mcp")))
        .bearer_auth(&ana.access_token)
        .body("{nope")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(res.json::<Value>().await.unwrap()["error"]["code"], -32700);
    let (status, _, _) =
        rpc(&app, t, Some("not-a-session"), json!({"jsonrpc": "2.0", "id": 5, "method": "ping"})).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "an unknown session starts again");
    let (status, headers, _) = rpc(&app, None, None, json!({"jsonrpc": "2.0", "id": 6, "method": "ping"})).await;
    assert_eq!((status, headers["www-authenticate"].to_str().unwrap()), (StatusCode::UNAUTHORIZED, "Bearer"));
    let res = app.client.get(app.url(&format!("{ROOT}/mcp"))).bearer_auth(&ana.access_token).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::METHOD_NOT_ALLOWED);
    // A client that takes only an event stream gets the answer as one event.
    let res = app
        .client
        .post(app.url(&format!("{ROOT}/mcp")))
        .bearer_auth(&ana.access_token)
        .header("accept", "text/event-stream")
        .json(&json!({"jsonrpc": "2.0", "id": 9, "method": "ping"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["content-type"], "text/event-stream");
    assert_eq!(res.text().await.unwrap(), "event: message\ndata: {\"id\":9,\"jsonrpc\":\"2.0\",\"result\":{}}\n\n");
}
