//! The MCP server at `/mcp` through a real MCP client (rmcp's, over streamable HTTP): the
//! handshake, the tool list and its schemas, every tool on a household with real data (a pet, a
//! collar whose readings came in through the API, an alarm, a care record, a reminder, a life
//! event), and the refusals a user would meet: an unknown tool, bad arguments, a read key
//! acknowledging, another household's pet, a key revoked between two calls, no credentials.

use petty_core::alarm::Severity;
use petty_store::NewAlarm;
use reqwest::StatusCode;
use rmcp::ServiceExt;
use rmcp::model::ClientConfig;
use rmcp::model::{CallToolRequestParams, CallToolResult};
use rmcp::service::{RoleClient, RunningService, ServiceError};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use serde_json::{Value, json};

use crate::harness::{TestApp, spawn_app};

type Client = RunningService<RoleClient, ClientConfig>;

const TOOLS: [&str; 15] = [
    "list_pets",
    "get_pet",
    "latest_readings",
    "pet_timeline",
    "pet_wellness",
    "list_alarms",
    "acknowledge_alarm",
    "list_care_records",
    "upcoming_reminders",
    "list_life_events",
    "log_life_event",
    "search_catalog",
    "ask_catalog",
    "get_listing",
    "add_listing",
];

/// An MCP client connected to the test server with this bearer credential (after `initialize`).
async fn connect(app: &TestApp, credential: &str) -> Client {
    let config = StreamableHttpClientTransportConfig::with_uri(app.url("/mcp")).auth_header(credential);
    ClientConfig::default().serve(StreamableHttpClientTransport::from_config(config)).await.expect("initialize")
}

async fn call_raw(client: &Client, tool: &str, arguments: Value) -> Result<CallToolResult, ServiceError> {
    let arguments = arguments.as_object().cloned().unwrap_or_default();
    client.call_tool(CallToolRequestParams::new(tool.to_owned()).with_arguments(arguments)).await
}

/// The text a tool answered.
fn text_of(result: &CallToolResult) -> String {
    result.content.first().and_then(|c| c.as_text()).map(|t| t.text.clone()).expect("text content")
}

/// A tool's answer: whether it is an error, and its JSON text.
async fn call(client: &Client, tool: &str, arguments: Value) -> (bool, Value) {
    let result = call_raw(client, tool, arguments).await.unwrap_or_else(|e| panic!("{tool}: {e}"));
    let text = text_of(&result);
    let value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{tool} answered JSON ({e}): {text}"));
    (result.is_error == Some(true), value)
}

/// A tool's answer that must be a success.
async fn ok(client: &Client, tool: &str, arguments: Value) -> Value {
    let (is_error, value) = call(client, tool, arguments).await;
    assert!(!is_error, "{tool} failed: {value}");
    value
}

/// A tool's answer that must be a refusal: its error object.
async fn refused(client: &Client, tool: &str, arguments: Value) -> Value {
    let (is_error, value) = call(client, tool, arguments).await;
    assert!(is_error, "{tool} should have been refused: {value}");
    value["error"].clone()
}

async fn api_key(app: &TestApp, token: &str, scope: &str) -> (String, String) {
    let res =
        app.post_json("/api/v1/api-keys", &json!({"name": format!("mcp {scope}"), "scope": scope}), Some(token)).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let created: Value = res.json().await.unwrap();
    (created["key"].as_str().unwrap().to_owned(), created["id"].as_str().unwrap().to_owned())
}

/// A major heart alarm on the pet (and device), as the alarm judge raises them; answers its id.
async fn raise(app: &TestApp, household: &str, pet: &str, device: Option<&str>) -> String {
    let now = petty_store::to_ms(time::OffsetDateTime::now_utc());
    let alarm = NewAlarm {
        rule_id: None,
        source: device.map_or_else(|| "test".to_owned(), |d| format!("device:{d}")),
        alarm_type: "heart_high".into(),
        device_id: device.map(|d| d.parse().unwrap()),
        pet_id: Some(pet.parse().unwrap()),
        severity: Severity::Major,
        title: "Biscuit's heart is racing".into(),
        message: "heart rate 190".into(),
        value: Some(190.0),
        evidence: vec![(now, 190.0)],
        at_ms: now,
        quiet: true,
    };
    let household = petty_core::ids::HouseholdId(household.parse().unwrap());
    let (raised, _) = app.store.raise_alarm(household, &alarm).await.unwrap();
    raised.id.0.to_string()
}

#[tokio::test]
async fn every_tool_answers_a_real_household_over_http() {
    let app = spawn_app().await;
    let ana = app.register("Ana").await;
    let t = &ana.access_token;
    let pet = app.create_pet(t, json!({"name": "Biscuit", "species": "dog", "breed": "Beagle"})).await;
    let pet_id = pet["id"].as_str().unwrap().to_owned();
    let res = app
        .post_json(
            "/api/v1/devices",
            &json!({"name": "Biscuit's collar", "kind": "collar", "serial": "MCP-1", "pet_id": pet_id}),
            Some(t),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let device: Value = res.json().await.unwrap();
    let device_id = device["device"]["id"].as_str().unwrap().to_owned();
    let device_token = device["token"].as_str().unwrap().to_owned();
    let now = petty_store::to_ms(time::OffsetDateTime::now_utc());
    for (i, heart) in [88, 92, 97].into_iter().enumerate() {
        let reading = json!({"ts": now - 60_000 + i as i64 * 10_000, "seq": i, "heart_rate": heart, "battery_pct": 80});
        assert_eq!(app.post_json("/api/v1/ingest", &reading, Some(&device_token)).await.status(), StatusCode::CREATED);
    }
    let alarm = raise(&app, &ana.household_id, &pet_id, Some(&device_id)).await;
    let record = app
        .post_json(
            &format!("/api/v1/pets/{pet_id}/records"),
            &json!({"kind": "visit", "title": "Yearly checkup", "date": "2025-03-01"}),
            Some(t),
        )
        .await;
    assert_eq!(record.status(), StatusCode::CREATED);
    let in_a_week = (time::OffsetDateTime::now_utc() + time::Duration::days(7)).date();
    let reminder = app
        .post_json(
            "/api/v1/reminders",
            &json!({"title": "Worming tablet", "at": format!("{in_a_week}T09:00"), "pet_id": pet_id}),
            Some(t),
        )
        .await;
    assert_eq!(reminder.status(), StatusCode::CREATED);
    let walk = app
        .post_json(
            &format!("/api/v1/pets/{pet_id}/life-events"),
            &json!({"event_type": "walk", "title": "Morning walk", "event_time": time::OffsetDateTime::now_utc()
                .format(&time::format_description::well_known::Rfc3339).unwrap()}),
            Some(t),
        )
        .await;
    assert_eq!(walk.status(), StatusCode::CREATED);

    let (key, _) = api_key(&app, t, "write").await;
    let client = connect(&app, &key).await;
    let info = client.peer_info().expect("the server introduced itself");
    assert_eq!(info.server_info.as_ref().map(|s| s.name.as_str()), Some("petty"));
    assert!(info.capabilities.tools.is_some());

    // Every tool is listed with a description and an object schema for its input.
    let tools = client.list_all_tools().await.unwrap();
    let names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
    for tool in TOOLS {
        assert!(names.contains(&tool), "{tool} is listed: {names:?}");
    }
    for tool in &tools {
        assert_eq!(tool.input_schema.get("type"), Some(&json!("object")), "{}", tool.name);
        assert!(tool.description.as_deref().is_some_and(|d| !d.is_empty()), "{}", tool.name);
    }
    let get_pet = tools.iter().find(|t| t.name == "get_pet").unwrap();
    assert_eq!(get_pet.input_schema["required"], json!(["pet_id"]));

    let pets = ok(&client, "list_pets", json!({})).await;
    assert_eq!(pets["total"], 1);
    assert_eq!(pets["items"][0]["name"], "Biscuit");
    let dogs = ok(&client, "list_pets", json!({"species": "cat"})).await;
    assert_eq!(dogs["total"], 0);

    let one = ok(&client, "get_pet", json!({"pet_id": pet_id})).await;
    assert_eq!(one["pet"]["breed"], "Beagle");
    assert_eq!(one["devices"][0]["device"]["id"], device_id.as_str());
    assert_eq!(one["devices"][0]["latest_reading"]["heart_rate"], 97.0);

    let readings = ok(&client, "latest_readings", json!({"device_id": device_id, "limit": 2})).await;
    let hearts: Vec<&Value> = readings["readings"].as_array().unwrap().iter().map(|r| &r["heart_rate"]).collect();
    assert_eq!(hearts, [&json!(97.0), &json!(92.0)], "newest first: {readings}");

    let day = ok(&client, "pet_timeline", json!({"pet_id": pet_id})).await;
    assert_eq!(day["time_zone"], "UTC");
    assert!(
        day["items"].as_array().unwrap().iter().any(|i| i["kind"] == "life_event"),
        "today's walk is on the timeline: {day}"
    );
    let past = ok(&client, "pet_timeline", json!({"pet_id": pet_id, "date": "2025-03-01"})).await;
    assert_eq!(past["date"], "2025-03-01");
    assert!(past["items"].as_array().unwrap().iter().any(|i| i["kind"] == "care"), "{past}");

    let wellness = ok(&client, "pet_wellness", json!({"pet_id": pet_id})).await;
    assert!(wellness.get("history").is_some_and(Value::is_array), "{wellness}");

    let open = ok(&client, "list_alarms", json!({})).await;
    assert_eq!(open["total"], 1);
    assert_eq!(open["items"][0]["title"], "Biscuit's heart is racing");
    let acknowledged = ok(&client, "acknowledge_alarm", json!({"alarm_id": alarm, "note": "on my way"})).await;
    assert_eq!(acknowledged["state"], "acknowledged");
    let cleared = ok(&client, "list_alarms", json!({"state": "cleared"})).await;
    assert_eq!(cleared["total"], 0);

    let records = ok(&client, "list_care_records", json!({"pet_id": pet_id})).await;
    assert_eq!(records["items"][0]["title"], "Yearly checkup");

    let reminders = ok(&client, "upcoming_reminders", json!({"days": 10})).await;
    assert_eq!(reminders["items"][0]["title"], "Worming tablet");
    assert_eq!(reminders["items"][0]["pet_name"], "Biscuit");
    let later = ok(&client, "upcoming_reminders", json!({"days": 3})).await;
    assert_eq!(later["total"], 0);

    let logged = ok(
        &client,
        "log_life_event",
        json!({"pet_id": pet_id, "event_type": "meal", "title": "Dinner", "event_data": {"grams": 180}}),
    )
    .await;
    assert_eq!(logged["title"], "Dinner");
    let events = ok(&client, "list_life_events", json!({"pet_id": pet_id})).await;
    assert_eq!(events["total"], 2);
    let titles: Vec<&Value> = events["items"].as_array().unwrap().iter().map(|e| &e["title"]).collect();
    assert!(titles.contains(&&json!("Dinner")) && titles.contains(&&json!("Morning walk")), "{events}");

    // A person's own log is a person's: an API key has none, and is told so.
    let error = refused(&client, "list_life_events", json!({})).await;
    assert_eq!(error["code"], "forbidden", "{error}");
    let _ = client.cancel().await;

    // A signed-in person's access token works too, and has a log of their own.
    let person = connect(&app, t).await;
    let mine = ok(&person, "log_life_event", json!({"event_type": "mood", "title": "Good day"})).await;
    assert_eq!(mine["event_type"], "mood");
    let listed = ok(&person, "list_life_events", json!({})).await;
    assert_eq!(listed["items"][0]["title"], "Good day");
    let _ = person.cancel().await;
}

#[tokio::test]
async fn refusals_say_what_is_wrong() {
    let app = spawn_app().await;
    let ana = app.register("Ana").await;
    let bo = app.register("Bo").await;
    let pet = app.create_pet(&ana.access_token, json!({"name": "Biscuit", "species": "dog"})).await;
    let pet_id = pet["id"].as_str().unwrap();
    let theirs = app.create_pet(&bo.access_token, json!({"name": "Pixel", "species": "cat"})).await;
    let alarm = raise(&app, &ana.household_id, pet_id, None).await;

    let (read_key, read_id) = api_key(&app, &ana.access_token, "read").await;
    let client = connect(&app, &read_key).await;

    // An unknown tool is a JSON-RPC error, not a tool result.
    match call_raw(&client, "feed_the_cat", json!({})).await {
        Err(ServiceError::McpError(e)) => assert_eq!(e.message, "tool not found", "{e:?}"),
        other => panic!("unknown tool: {other:?}"),
    }
    // Arguments that do not fit the schema: rmcp answers a tool error in its own words, naming
    // the field.
    let result = call_raw(&client, "get_pet", json!({"pet": pet_id})).await.expect("a tool result");
    assert_eq!(result.is_error, Some(true));
    let text = text_of(&result);
    assert!(text.contains("unknown field `pet`, expected `pet_id`"), "{text}");
    // Arguments of the right shape that break a rule: a tool error naming the field and rule.
    let error = refused(&client, "get_pet", json!({"pet_id": "not-an-id"})).await;
    assert_eq!(error["code"], "validation_failed");
    assert_eq!(error["details"][0]["field"], "pet_id");
    assert_eq!(error["details"][0]["rule"], "format");
    let error = refused(&client, "pet_wellness", json!({"pet_id": pet_id, "days": 400})).await;
    assert_eq!((&error["details"][0]["field"], &error["details"][0]["rule"]), (&json!("days"), &json!("out_of_range")));
    let error = refused(&client, "pet_timeline", json!({"pet_id": pet_id, "date": "yesterday"})).await;
    assert_eq!(error["details"][0]["field"], "date", "{error}");

    // A read key reads, but cannot acknowledge or log.
    assert_eq!(ok(&client, "list_alarms", json!({})).await["total"], 1);
    let error = refused(&client, "acknowledge_alarm", json!({"alarm_id": alarm})).await;
    assert_eq!(error["code"], "forbidden", "{error}");
    let error =
        refused(&client, "log_life_event", json!({"pet_id": pet_id, "event_type": "walk", "title": "Out"})).await;
    assert_eq!(error["code"], "forbidden", "{error}");
    assert_eq!(ok(&client, "list_alarms", json!({})).await["items"][0]["state"], "active", "nothing changed");

    // Another household's pet is not found, as over REST.
    for tool in ["get_pet", "pet_timeline", "pet_wellness", "list_care_records", "list_life_events"] {
        let error = refused(&client, tool, json!({"pet_id": theirs["id"]})).await;
        assert_eq!(error["code"], "not_found", "{tool}: {error}");
    }
    let listed = ok(&client, "list_pets", json!({})).await;
    assert_eq!(listed["total"], 1, "only the household's own pets: {listed}");

    // Revoked between two calls: the next call fails.
    assert_eq!(ok(&client, "list_pets", json!({})).await["total"], 1);
    let res =
        app.client.delete(app.url(&format!("/api/v1/api-keys/{read_id}"))).bearer_auth(&ana.access_token).send().await;
    assert_eq!(res.unwrap().status(), StatusCode::NO_CONTENT);
    assert!(call_raw(&client, "list_pets", json!({})).await.is_err(), "a revoked key's call fails");
    let _ = client.cancel().await;
}

#[tokio::test]
async fn mcp_needs_credentials() {
    let app = spawn_app().await;
    let initialize = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "curl", "version": "1"}}});
    for credential in [None, Some("pk_not_a_key"), Some("not-a-token")] {
        let mut req =
            app.client.post(app.url("/mcp")).header("accept", "application/json, text/event-stream").json(&initialize);
        if let Some(c) = credential {
            req = req.bearer_auth(c);
        }
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{credential:?}");
        assert_eq!(res.headers()["www-authenticate"], "Bearer");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"]["code"], "unauthenticated", "{body}");
    }

    // With a key, the same request is answered by MCP.
    let ana = app.register("Ana").await;
    let (key, _) = api_key(&app, &ana.access_token, "read").await;
    let res = app
        .client
        .post(app.url("/mcp"))
        .bearer_auth(&key)
        .header("accept", "application/json, text/event-stream")
        .json(&initialize)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["result"]["serverInfo"]["name"], "petty", "{body}");

    // The README's curl: one tools/call on its own, without a session.
    app.create_pet(&ana.access_token, json!({"name": "Biscuit", "species": "dog"})).await;
    let res = app
        .client
        .post(app.url("/mcp"))
        .header("authorization", format!("Bearer {key}"))
        .header("accept", "application/json, text/event-stream")
        .header("content-type", "application/json")
        .body(r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"list_pets","arguments":{}}}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    let text = body["result"]["content"][0]["text"].as_str().unwrap_or_else(|| panic!("{body}"));
    let pets: Value = serde_json::from_str(text).unwrap();
    assert_eq!(pets["items"][0]["name"], "Biscuit");
}

#[tokio::test]
async fn a_vet_and_a_sitter_meet_their_roles_limits_and_removal_ends_a_session() {
    let app = spawn_app().await;
    let ana = app.register("Ana").await;
    let t = &ana.access_token;
    let bella = app.create_pet(t, json!({"name": "Bella", "species": "dog"})).await["id"].as_str().unwrap().to_owned();
    let max = app.create_pet(t, json!({"name": "Max", "species": "cat"})).await["id"].as_str().unwrap().to_owned();
    let record = json!({"kind": "visit", "title": "Bella's checkup", "date": "2026-03-01"});
    let res = app.post_json(&format!("/api/v1/pets/{bella}/records"), &record, Some(t)).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let alarm = raise(&app, &ana.household_id, &max, None).await;

    // A vet, with Bella shared: Bella and her records, nothing else of the household.
    let (vet, vet_id) = crate::revocation::join(&app, &ana, "Vera", "vet", None).await;
    let path = format!("/api/v1/household/members/{vet_id}/pets");
    let res = app.client.put(app.url(&path)).bearer_auth(t).json(&json!({"pet_ids": [bella]})).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let client = connect(&app, &vet.access_token).await;
    let pets = ok(&client, "list_pets", json!({})).await;
    assert_eq!((pets["total"].as_u64(), &pets["items"][0]["name"]), (Some(1), &json!("Bella")), "{pets}");
    let one = ok(&client, "get_pet", json!({"pet_id": bella})).await;
    assert_eq!((&one["pet"]["name"], &one["devices"]), (&json!("Bella"), &json!([])), "no devices for a vet");
    let records = ok(&client, "list_care_records", json!({"pet_id": bella})).await;
    assert_eq!(records["items"][0]["title"], "Bella's checkup");
    assert_eq!(refused(&client, "get_pet", json!({"pet_id": max})).await["code"], "not_found");
    assert_eq!(refused(&client, "list_care_records", json!({"pet_id": max})).await["code"], "not_found");
    for (tool, arguments) in [
        ("list_alarms", json!({})),
        ("upcoming_reminders", json!({})),
        ("pet_timeline", json!({"pet_id": bella})),
        ("pet_wellness", json!({"pet_id": bella})),
        ("acknowledge_alarm", json!({"alarm_id": alarm})),
    ] {
        assert_eq!(refused(&client, tool, arguments).await["code"], "forbidden", "a vet: {tool}");
    }
    let _ = client.cancel().await;

    // A sitter sees the household and acknowledges; once removed, the next call fails.
    let until = (time::OffsetDateTime::now_utc() + time::Duration::days(7))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let (sitter, sitter_id) = crate::revocation::join(&app, &ana, "Sam", "sitter", Some(&until)).await;
    let client = connect(&app, &sitter.access_token).await;
    assert_eq!(ok(&client, "list_pets", json!({})).await["total"], 2);
    let acknowledged = ok(&client, "acknowledge_alarm", json!({"alarm_id": alarm})).await;
    assert_eq!(acknowledged["state"], "acknowledged");
    let res = app.client.delete(app.url(&format!("/api/v1/household/members/{sitter_id}"))).bearer_auth(t).send().await;
    assert_eq!(res.unwrap().status(), StatusCode::NO_CONTENT);
    assert!(call_raw(&client, "list_pets", json!({})).await.is_err(), "a removed sitter's call fails");
    let _ = client.cancel().await;
}

#[tokio::test]
async fn a_browsers_mcp_client_passes_the_configured_cors() {
    let app =
        crate::harness::spawn_app_with(|c| c.cors_allowed_origins = vec!["https://assistant.example".into()]).await;
    let res = app
        .client
        .request(reqwest::Method::OPTIONS, app.url("/mcp"))
        .header("origin", "https://assistant.example")
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "authorization, content-type, mcp-protocol-version")
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "{}", res.status());
    let allowed = res.headers()["access-control-allow-headers"].to_str().unwrap().to_lowercase();
    assert!(allowed.contains("mcp-protocol-version") && allowed.contains("authorization"), "{allowed}");
}

#[tokio::test]
async fn the_catalog_tools_search_ask_read_and_add_and_the_petstore_gateway_serves_a_real_client() {
    let app = spawn_app().await;
    let ana = app.register("Ana").await;
    let t = &ana.access_token;
    crate::catalog::list_the_contract_catalog(&app, t).await;
    let (key, _) = api_key(&app, t, "write").await;
    let client = connect(&app, &key).await;

    let found = ok(&client, "search_catalog", json!({"species": "dog", "max_price": 600, "sort": "price_desc"})).await;
    let names: Vec<&str> = found["items"].as_array().unwrap().iter().map(|l| l["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Charlie", "Buddy", "Daisy"]);
    let asked = ok(&client, "ask_catalog", json!({"query": "golden retrievers under $500"})).await;
    assert_eq!(
        (&asked["items"][0]["name"], &asked["total"], &asked["source"]),
        (&json!("Daisy"), &json!(1), &json!("parser"))
    );
    assert_eq!(asked["filters"]["breeds"], json!(["golden retriever"]));
    let id = asked["items"][0]["id"].as_str().unwrap();
    let one = ok(&client, "get_listing", json!({"listing_id": id})).await;
    assert_eq!(one["price"], 450.0);
    let added = ok(&client, "add_listing", json!({"name": "Rex", "species": "puppy", "price": 90})).await;
    assert_eq!((&added["species"], &added["number"]), (&json!("dog"), &json!(11)));
    let error = refused(&client, "add_listing", json!({"name": "", "species": "dragon"})).await;
    assert_eq!(error["details"][0]["field"], "name", "{error}");
    let (read_key, _) = api_key(&app, t, "read").await;
    let reader = connect(&app, &read_key).await;
    let error = refused(&reader, "add_listing", json!({"name": "Rex", "species": "dog"})).await;
    assert_eq!(error["code"], "forbidden", "{error}");

    // rmcp's own client against the seed's gateway: initialize, the seed's tool names, a call.
    let config =
        StreamableHttpClientTransportConfig::with_uri(app.url("/compat/petstore/mcp")).auth_header(key.clone());
    let seed =
        ClientConfig::default().serve(StreamableHttpClientTransport::from_config(config)).await.expect("initialize");
    let tools = seed.list_all_tools().await.unwrap();
    assert!(tools.iter().any(|t| t.name == "PetStoreTarget___QueryPets"), "{tools:?}");
    let answer = ok(&seed, "PetStoreTarget___QueryPets", json!({"query": "cheapest cat"})).await;
    assert_eq!(answer["pets"][0]["name"], "Shadow");
}
