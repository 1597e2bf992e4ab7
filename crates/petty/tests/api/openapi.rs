//! The OpenAPI document against the running application, cheaply (a few seconds; Schemathesis,
//! `.ci/schemathesis.sh`, is the thorough check): every operation called without credentials,
//! with credentials that are not valid, with a device token, with an id that is not one, a body
//! that is not JSON or not of JSON's content type, and query parameters of the wrong type, answers
//! a status the document names for it, in the error shape, with a code of the error table; every
//! route the edge registers outside the documented routers is one the document leaves out on
//! purpose; and every WebSocket message of a session is one the document's schemas describe.

use std::collections::BTreeSet;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::harness::{TestApp, spawn_app, spawn_app_with};
use crate::ws::{next, open, send};

/// Routes of the edge that are not API operations, and why.
const LEFT_OUT: [(&str, &str); 5] = [
    ("/hooks/twilio/voice/{token}", "Twilio's keypress callback during a call: TwiML"),
    (
        "/.well-known/petty-passport-key",
        "the passport key at its well-known address: /api/v1/passport-keys is its documented twin",
    ),
    ("/files/{id}", "a file's bytes behind a signed link (an <img> sends no credentials)"),
    ("/files/{id}/thumbnail", "a thumbnail's bytes behind a signed link"),
    ("/mcp", "MCP's streamable HTTP: JSON-RPC messages, described by MCP's own schema and tools/list"),
];

async fn document(app: &TestApp) -> Value {
    let res = app.get("/api/v1/openapi.json", None).await;
    assert_eq!(res.status(), StatusCode::OK);
    res.json().await.unwrap()
}

/// `(method, path template, operation)` for every operation.
fn operations(doc: &Value) -> Vec<(Method, String, Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in ["get", "put", "post", "delete", "patch"] {
            if let Some(operation) = item.get(method) {
                out.push((method.to_uppercase().parse().unwrap(), path.clone(), operation.clone()));
            }
        }
    }
    out
}

fn parameters<'a>(operation: &'a Value, location: &'a str) -> impl Iterator<Item = &'a Value> {
    operation["parameters"].as_array().into_iter().flatten().filter(move |p| p["in"] == location)
}

/// The path with every placeholder replaced by `id`.
fn filled(template: &str, id: &str) -> String {
    template.split('/').map(|part| if part.starts_with('{') { id } else { part }).collect::<Vec<_>>().join("/")
}

/// One request and what it is for, to name in a failure.
struct Probe {
    what: &'static str,
    path: String,
    token: Option<String>,
    content_type: Option<&'static str>,
    body: Option<&'static str>,
}

#[tokio::test]
async fn every_answer_to_a_request_gone_wrong_is_one_the_document_names() {
    let app = spawn_app().await;
    let ana = app.register("Ana").await;
    let doc = document(&app).await;
    let device: Value = app
        .post_json("/api/v1/devices", &json!({"name": "collar", "kind": "collar"}), Some(&ana.access_token))
        .await
        .json()
        .await
        .unwrap();
    let device_token = device["token"].as_str().unwrap().to_owned();
    let codes: BTreeSet<String> = doc["components"]["schemas"]["ErrorObject"]["properties"]["code"]["enum"]
        .as_array()
        .expect("the error codes are an enumeration")
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    let nobody = "0190a6f2-8b3c-7def-8123-456789abcdef";

    let operations = operations(&doc);
    assert!(operations.len() > 60, "{} operations", operations.len());
    let mut checked = 0;
    for (method, template, operation) in &operations {
        let path = filled(template, nobody);
        let mut probes = vec![
            Probe { what: "no credentials", path: path.clone(), token: None, content_type: None, body: None },
            Probe {
                what: "a token that is not one",
                path: path.clone(),
                token: Some("not-a-token".into()),
                content_type: None,
                body: None,
            },
            Probe {
                what: "a device token",
                path: path.clone(),
                token: Some(device_token.clone()),
                content_type: None,
                body: None,
            },
        ];
        if template.contains('{') {
            probes.push(Probe {
                what: "an id that is not one",
                path: filled(template, "not-an-id"),
                token: Some(ana.access_token.clone()),
                content_type: None,
                body: None,
            });
        }
        if operation.get("requestBody").is_some() {
            for (what, content_type, body) in [
                ("a body that is not JSON", "application/json", "{"),
                ("a body of another content type", "text/plain", "hello"),
                ("a body with a field nobody knows", "application/json", r#"{"no_such_field_anywhere": 1}"#),
            ] {
                probes.push(Probe {
                    what,
                    path: path.clone(),
                    token: Some(ana.access_token.clone()),
                    content_type: Some(content_type),
                    body: Some(body),
                });
            }
        }
        let integers: Vec<String> = parameters(operation, "query")
            .filter(|p| p["schema"]["type"] == "integer")
            .map(|p| format!("{}=not-a-number", p["name"].as_str().unwrap()))
            .collect();
        if !integers.is_empty() {
            probes.push(Probe {
                what: "a query number that is not one",
                path: format!("{path}?{}", integers.join("&")),
                token: Some(ana.access_token.clone()),
                content_type: None,
                body: None,
            });
        }
        for probe in probes {
            let mut req = app.client.request(method.clone(), app.url(&probe.path));
            if let Some(token) = &probe.token {
                req = req.bearer_auth(token);
            }
            if let Some(content_type) = probe.content_type {
                req = req.header("content-type", content_type);
            }
            if let Some(body) = probe.body {
                req = req.body(body);
            }
            let res = req.send().await.unwrap();
            let status = res.status();
            let label = format!("{method} {template} with {}", probe.what);
            assert!(res.headers().contains_key("x-request-id"), "{label}: no X-Request-ID");
            let content_type = res.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
            let text = res.text().await.unwrap();
            assert!(
                operation["responses"].get(status.as_str()).is_some(),
                "{label} answered {status}, which the document does not name for it: {text}"
            );
            assert!(!status.is_server_error(), "{label} answered {status}: {text}");
            if status.is_client_error() {
                assert!(content_type.starts_with("application/json"), "{label}: {status} as {content_type}");
                let body: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{label}: {e}: {text}"));
                let code =
                    body["error"]["code"].as_str().unwrap_or_else(|| panic!("{label}: not the error shape: {text}"));
                assert!(codes.contains(code), "{label}: the code {code} is not in the document's enumeration");
            }
            checked += 1;
        }
    }
    assert!(checked > 300, "{checked} requests");
}

/// Every `.route("...")` the HTTP edge registers outside the documented routers.
fn routes_outside_the_document() -> Vec<String> {
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../petty-http/src");
    let mut files = vec![src.clone()];
    let mut found = Vec::new();
    while let Some(path) = files.pop() {
        if path.is_dir() {
            files.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
        } else if path.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&path).unwrap();
            for (at, opening) in text.match_indices(".route(\"") {
                let rest = &text[at + opening.len()..];
                found.push(rest[..rest.find('"').unwrap()].to_owned());
            }
        }
    }
    found
}

#[tokio::test]
async fn every_route_of_the_edge_is_in_the_document_or_left_out_on_purpose() {
    let app = spawn_app().await;
    let doc = document(&app).await;
    let paths: BTreeSet<&str> = doc["paths"].as_object().unwrap().keys().map(String::as_str).collect();
    for path in &paths {
        assert!(
            path.starts_with("/api/v1/") || ["/healthz", "/readyz", "/metrics"].contains(path),
            "{path}: the document is the API's"
        );
    }
    let outside = routes_outside_the_document();
    assert!(!outside.is_empty(), "the scan finds the edge's own routes");
    for route in outside {
        assert!(
            paths.contains(route.as_str()) || LEFT_OUT.iter().any(|(r, _)| *r == route),
            "{route} is registered with .route() and is not in the OpenAPI document: register it with \
             utoipa_axum's routes!() and #[utoipa::path], or add it to LEFT_OUT saying why"
        );
    }
    for (route, _) in LEFT_OUT {
        assert!(!paths.contains(route), "{route} is documented after all: take it out of LEFT_OUT");
    }
    assert!(paths.contains("/api/v1/ws"), "the WebSocket is documented");
}

/// Whether `message` is one of the variants of a `oneOf` schema told apart by `type`: its type
/// is one of them, it has that variant's required fields and no field the variant lacks.
fn conforms(doc: &Value, schema: &str, message: &Value) -> Result<(), String> {
    let variants = doc["components"]["schemas"][schema]["oneOf"].as_array().ok_or(format!("{schema} is a oneOf"))?;
    let kind = message["type"].as_str().ok_or(format!("{message}: no type"))?;
    let variant = variants
        .iter()
        .find(|v| v["properties"]["type"]["enum"].as_array().is_some_and(|e| e.iter().any(|t| t == kind)))
        .ok_or(format!("{schema} has no message of type {kind:?}: {message}"))?;
    let properties = variant["properties"].as_object().ok_or("properties")?;
    for required in variant["required"].as_array().into_iter().flatten() {
        let name = required.as_str().unwrap_or_default();
        if message.get(name).is_none() {
            return Err(format!("{message}: {schema}'s {kind} requires {name}"));
        }
    }
    for field in message.as_object().ok_or("an object")?.keys() {
        if !properties.contains_key(field) {
            return Err(format!("{message}: {schema}'s {kind} has no field {field}"));
        }
    }
    Ok(())
}

#[tokio::test]
async fn every_websocket_message_of_a_session_is_described_by_the_document() {
    let app = spawn_app().await;
    let ana = app.register("Ana").await;
    let doc = document(&app).await;
    let device: Value = app
        .post_json("/api/v1/devices", &json!({"name": "collar", "kind": "collar"}), Some(&ana.access_token))
        .await
        .json()
        .await
        .unwrap();
    let (id, device_token) = (device["device"]["id"].as_str().unwrap(), device["token"].as_str().unwrap());
    let topic = format!("device:{id}");

    // Signed in by the first message.
    let mut socket = open(&app, None).await;
    let mut received = Vec::new();
    let mut sent = Vec::new();
    let mut say = |command: Value| {
        sent.push(command.clone());
        command
    };
    send(&mut socket, say(json!({"type": "auth", "token": ana.access_token}))).await;
    received.push(next(&mut socket).await);
    send(&mut socket, say(json!({"type": "subscribe", "topic": topic}))).await;
    received.push(next(&mut socket).await);
    send(&mut socket, say(json!({"type": "subscribe", "topic": "device:not-an-id"}))).await;
    received.push(next(&mut socket).await);
    send(&mut socket, say(json!({"type": "ping"}))).await;
    received.push(next(&mut socket).await);
    let now = time::OffsetDateTime::now_utc().unix_timestamp() * 1000;
    let res = app.post_json("/api/v1/ingest", &json!({"ts": now, "heart_rate": 88}), Some(device_token)).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    received.push(next(&mut socket).await);
    send(&mut socket, say(json!({"type": "unsubscribe", "topic": topic}))).await;
    received.push(next(&mut socket).await);
    send(&mut socket, json!({"type": "dance"})).await;
    received.push(next(&mut socket).await);

    let kinds: Vec<&str> = received.iter().filter_map(|m| m["type"].as_str()).collect();
    assert_eq!(kinds, ["authenticated", "subscribed", "error", "pong", "event", "unsubscribed", "error"]);
    for message in &received {
        conforms(&doc, "WsServerMessage", message).unwrap_or_else(|e| panic!("from the server: {e}"));
    }
    for command in &sent {
        conforms(&doc, "WsClientMessage", command).unwrap_or_else(|e| panic!("from the client: {e}"));
    }
}

/// The WebSocket's operation is under its tag, names its messages' schemas, and every example
/// those schemas give is a message they describe (a client author copies them).
#[tokio::test]
async fn the_websocket_is_documented_with_its_messages_and_their_examples() {
    let app = spawn_app().await;
    let doc = document(&app).await;
    let ws = &doc["paths"]["/api/v1/ws"]["get"];
    assert_eq!(ws["tags"], json!(["websocket"]));
    assert!(ws["responses"].get("101").is_some(), "the upgrade's answer");
    let tag = doc["tags"].as_array().unwrap().iter().find(|t| t["name"] == "websocket").expect("the websocket tag");
    for name in ["WsClientMessage", "WsServerMessage"] {
        assert!(tag["description"].as_str().unwrap().contains(name), "the tag names {name}");
    }
    for (side, schema) in [("client", "WsClientMessage"), ("server", "WsServerMessage")] {
        assert_eq!(ws["x-websocket-messages"][side]["$ref"], format!("#/components/schemas/{schema}"));
        let examples = doc["components"]["schemas"][schema]["examples"].as_array().expect("examples").clone();
        assert!(examples.len() >= 4, "{schema}: {} examples", examples.len());
        let mut kinds = BTreeSet::new();
        for example in &examples {
            conforms(&doc, schema, example).unwrap_or_else(|e| panic!("an example of {schema}: {e}"));
            kinds.insert(example["type"].as_str().unwrap().to_owned());
        }
        let variants = doc["components"]["schemas"][schema]["oneOf"].as_array().unwrap().len();
        let expected = if side == "client" { variants } else { variants - 1 };
        assert!(kinds.len() >= expected, "{schema}: examples of {kinds:?}, of {variants} kinds");
    }
}

/// The tag of each profile, by the prefix its routes live under.
const PROFILE_TAGS: [(&str, &str); 5] = [
    ("/compat/petty", "compat: Petty collar"),
    ("/compat/carbon", "compat: Car-Bon"),
    ("/compat/aurora", "compat: AURORA_LIFE"),
    ("/compat/petmgmt", "compat: Pet Management"),
    ("/compat/petstore", "compat: PetStore"),
];

/// Routes of the profiles that are not operations of the compatibility document, and why.
const COMPAT_LEFT_OUT: [(&str, &str); 9] = [
    ("/compat/petty", "the profile's root: the seed's 404 for anything not served"),
    ("/compat/petty/v1", "the same under the second prefix"),
    ("/compat/aurora", "the profile's root: FastAPI's 404 for anything not served"),
    ("/compat/petmgmt", "the profile's root: the envelope's 404 for anything not served"),
    ("/compat/petstore", "the chat page (HTML)"),
    ("/compat/petstore/", "the chat page (HTML)"),
    ("/compat/petstore/chat.js", "the chat page's script"),
    ("/compat/petstore/chat.css", "the chat page's stylesheet"),
    ("/compat/petstore/mcp", "MCP's JSON-RPC, described by MCP's own schema and tools/list"),
];

/// Methods a documented route answers with its seed's 404 rather than a 405, and why (at every
/// address of the route, a trailing slash or not).
const COMPAT_METHODS_LEFT_OUT: [(&str, &str, &str); 5] = [
    ("GET", "/events/batch", "`batch` is not an event: upstream's /events/{id} answered 404"),
    ("PUT", "/events/batch", "likewise"),
    ("PATCH", "/events/batch", "likewise"),
    ("DELETE", "/events/batch", "likewise"),
    ("GET", "/insights/generate", "`generate` is not an insight: upstream's /insights/{id} answered 404"),
];

/// Every route path under `/compat` the application's router holds, as axum itself lists them
/// (its `Debug` names each route's path), so the list follows the routers.
fn compat_routes(app: &TestApp) -> BTreeSet<String> {
    let listing = format!("{:?}", petty::router(app.state.clone()));
    listing.split('"').filter(|s| s.starts_with("/compat")).map(str::to_owned).collect()
}

#[tokio::test]
async fn every_compat_route_is_in_the_compat_document_under_its_profile_with_the_methods_it_answers() {
    let app = spawn_app_with(|c| {
        c.rate_limit.enabled = false;
        c.petmgmt_limits.enabled = false;
        c.aurora_limits.enabled = false;
    })
    .await;
    let res = app.get("/api/v1/openapi-compat.json", None).await;
    assert_eq!(res.status(), StatusCode::OK);
    let doc: Value = res.json().await.unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    let tags: BTreeSet<&str> = doc["tags"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
    for (prefix, tag) in PROFILE_TAGS {
        assert!(tags.contains(tag), "{tag} is a tag");
        let description = doc["tags"].as_array().unwrap().iter().find(|t| t["name"] == tag).unwrap()["description"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(description.contains("shared/compat/") && description.contains(prefix), "{tag}: {description}");
    }

    // Where each route is documented, and at which other addresses.
    let mut documented: Vec<(String, Vec<String>, BTreeSet<String>)> = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        let (_, tag) = PROFILE_TAGS
            .iter()
            .find(|(prefix, _)| path.starts_with(&format!("{prefix}/")))
            .unwrap_or_else(|| panic!("{path} is under no profile"));
        let mut methods = BTreeSet::new();
        for (method, operation) in item.as_object().unwrap().iter().filter(|(k, _)| !k.starts_with("x-")) {
            assert_eq!(operation["tags"], json!([tag]), "{method} {path}");
            methods.insert(method.to_uppercase());
        }
        let also: Vec<String> =
            item["x-also-at"].as_array().into_iter().flatten().map(|p| p.as_str().unwrap().to_owned()).collect();
        documented.push((path.clone(), also, methods));
    }

    let routes = compat_routes(&app);
    assert!(routes.len() > 100, "the listing finds the profiles' routes: {}", routes.len());
    let addresses: BTreeSet<&str> = documented
        .iter()
        .flat_map(|(p, also, _)| std::iter::once(p.as_str()).chain(also.iter().map(String::as_str)))
        .collect();
    let undocumented: Vec<&String> = routes
        .iter()
        .filter(|r| !r.contains("{*") && !COMPAT_LEFT_OUT.iter().any(|(left, _)| left == r))
        .filter(|r| !addresses.contains(r.as_str()))
        .collect();
    assert!(
        undocumented.is_empty(),
        "routes of the profiles not in the compatibility document (document them in \
         crates/petty-compat/src/openapi/, or add them to COMPAT_LEFT_OUT saying why): {undocumented:?}"
    );
    let unserved: Vec<&&str> = addresses.iter().filter(|a| !routes.contains(**a)).collect();
    assert!(unserved.is_empty(), "documented but served by no profile: {unserved:?}");
    for (route, _) in COMPAT_LEFT_OUT {
        assert!(routes.contains(route), "{route} is left out but no longer a route: take it out of COMPAT_LEFT_OUT");
    }

    // Each address answers exactly the documented methods: any other is the profile's 405.
    let nobody = "0190a6f2-8b3c-7def-8123-456789abcdef";
    let mut checked = 0;
    for (path, also, methods) in &documented {
        for address in std::iter::once(path).chain(also) {
            for method in ["GET", "POST", "PUT", "PATCH", "DELETE"] {
                let left_out = COMPAT_METHODS_LEFT_OUT
                    .iter()
                    .any(|(m, p, _)| *m == method && address.trim_end_matches('/').ends_with(p));
                let url = app.url(&filled(address, nobody));
                let res = app.client.request(method.parse().unwrap(), url).send().await.unwrap();
                let answered = res.status() != StatusCode::METHOD_NOT_ALLOWED;
                assert_eq!(
                    answered,
                    methods.contains(method) || left_out,
                    "{method} {address} answered {}; the document names {methods:?} for {path}",
                    res.status()
                );
                checked += 1;
            }
        }
    }
    assert!(checked > 500, "{checked} requests");
}

/// `/docs` offers both documents in its selector, Petty's API first.
#[tokio::test]
async fn the_docs_page_offers_the_api_and_the_compatibility_profiles() {
    let app = spawn_app().await;
    let init = app.client.get(app.url("/docs/swagger-initializer.js")).send().await.unwrap().text().await.unwrap();
    let (api, compat) = (init.find("/api/v1/openapi.json"), init.find("/api/v1/openapi-compat.json"));
    assert!(api.is_some() && compat.is_some(), "both documents in the page's configuration: {init}");
    assert!(init.contains("Compatibility profiles") && init.contains("Petty API"), "named in the selector: {init}");
    for url in ["/api/v1/openapi.json", "/api/v1/openapi-compat.json"] {
        let res = app.get(url, None).await;
        assert_eq!(res.status(), StatusCode::OK, "{url}");
        let doc: Value = res.json().await.unwrap();
        assert!(doc["paths"].as_object().is_some_and(|p| p.len() > 20), "{url} has its operations");
    }
}
