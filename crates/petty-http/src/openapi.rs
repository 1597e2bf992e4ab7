//! The OpenAPI document as Petty serves it: what utoipa builds from the handlers' annotations,
//! completed here with what the handlers do not say one by one, because it is the same for every
//! operation of a kind:
//!
//! - the error answers the edge layer, the extractors and authentication give (a 401 and a 403 on
//!   every operation that asks for credentials; a 400, 413, 415 and 422 on every one that reads
//!   a body; a 404 on every one with an id in its path; a 422 on every one with query
//!   parameters; a 429 everywhere but the health checks; a 503 for a request out of time), each
//!   a shared response in `components.responses` with the error shape and its codes, taken from
//!   the one error table ([`ErrorCode::ALL`]);
//! - the headers every answer carries (`X-Request-ID`, the rate-limit headers) and `Retry-After`
//!   on a 429;
//! - API keys as the alternative to a bearer token wherever credentials are asked for;
//! - the limits the validators enforce ([`limits`]), from the same constants the validators use;
//! - the WebSocket's messages as schemas, referenced from `GET /api/v1/ws`.
//!
//! A handler documents only what is its own: its success answers, and the errors its logic gives
//! (a 409, a 404 for an id in its body). `tests` below and `crates/petty/tests/api/openapi.rs`
//! keep the document honest.

mod limits;

use serde_json::{Map, Value, json};

use crate::error::ErrorCode;

/// An error answer shared by many operations, as `#/components/responses/{name}`.
struct Shared {
    status: u16,
    name: &'static str,
    /// When it is given, for the description (the codes are added from the error table).
    when: &'static str,
}

const SHARED: [Shared; 12] = [
    Shared { status: 400, name: "BadRequest", when: "The body is not valid JSON, or could not be read." },
    Shared {
        status: 401,
        name: "Unauthorized",
        when: "No credentials, or credentials that are not (or no longer) valid: expired, revoked, \
               signed out of, or a member who left the household.",
    },
    Shared {
        status: 403,
        name: "Forbidden",
        when: "The caller's role or key scope does not allow this, the credential is of the wrong kind \
               (a device token anywhere but ingest), or the household's plan does not allow it (`details` names \
               the limit).",
    },
    Shared {
        status: 404,
        name: "NotFound",
        when: "Nothing with this id in the caller's household (an id that is not a UUID names nothing either).",
    },
    Shared {
        status: 402,
        name: "PaymentRequired",
        when: "The payment provider declined the payment; the message is the provider's.",
    },
    Shared { status: 409, name: "Conflict", when: "The change conflicts with what is stored." },
    Shared {
        status: 413,
        name: "PayloadTooLarge",
        when: "The body is larger than the server accepts (1 MiB by default; `http.max_body_bytes`).",
    },
    Shared {
        status: 415,
        name: "UnsupportedMediaType",
        when: "The body is not of a content type this operation reads.",
    },
    Shared {
        status: 422,
        name: "ValidationFailed",
        when: "A field or query parameter broke a rule; `details` names each field and the rule.",
    },
    Shared {
        status: 429,
        name: "TooManyRequests",
        when: "Too many requests from this address, account or key (`Retry-After` says when to try again), \
               or too many failed sign-ins for one email.",
    },
    Shared {
        status: 502,
        name: "BadGateway",
        when: "The payment provider could not be reached in time or refused the call; nothing was changed.",
    },
    Shared {
        status: 503,
        name: "Unavailable",
        when: "The request did not complete in time (`http.request_timeout_secs`), or the database could not \
               take it; nothing was changed. Try again.",
    },
];

/// Routes a load balancer polls: never rate limited (see `edge.rs`).
const HEALTH_CHECKS: [&str; 2] = ["/healthz", "/readyz"];

const METHODS: [&str; 8] = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

/// The document utoipa built, completed. Every operation names the shared answers that apply
/// to it; every limit in [`limits`] is in its schema.
pub(crate) fn complete(built: &utoipa::openapi::OpenApi) -> Value {
    let mut doc = serde_json::to_value(built).unwrap_or_else(|e| {
        tracing::error!(error = %e, "the OpenAPI document could not be serialised");
        json!({"openapi": "3.1.0", "info": {"title": "Petty API", "version": env!("CARGO_PKG_VERSION")}, "paths": {}})
    });
    shared_components(&mut doc);
    if let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) {
        for (path, item) in paths.iter_mut() {
            for method in METHODS {
                if let Some(operation) = item.get_mut(method) {
                    complete_operation(path, operation);
                }
            }
        }
    }
    for missed in limits::apply(&mut doc) {
        tracing::warn!(target = %missed, "a documented limit names nothing in the OpenAPI document");
    }
    websocket_messages(&mut doc);
    doc
}

/// The codes of the error table answered with `status`, for the shared answers' descriptions.
fn codes_for(status: u16) -> Vec<&'static str> {
    ErrorCode::ALL.iter().filter(|c| c.status().as_u16() == status).map(|c| c.as_str()).collect()
}

fn header(description: &str, schema: Value, required: bool) -> Value {
    json!({"description": description, "required": required, "schema": schema})
}

/// Headers on every answer: the request id, and the rate-limit state when limits are on.
fn common_headers(rate_limited: bool) -> Map<String, Value> {
    let mut headers = Map::new();
    headers.insert(
        "X-Request-ID".into(),
        header(
            "This request's id, as in the server's log (the client's own X-Request-ID when it sent a usable one).",
            json!({"type": "string", "minLength": 1, "maxLength": 64}),
            true,
        ),
    );
    if rate_limited {
        let count = json!({"type": "integer", "minimum": 0});
        headers.insert(
            "X-RateLimit-Limit".into(),
            header("Requests allowed a minute (when rate limits are on).", count.clone(), false),
        );
        headers.insert("X-RateLimit-Remaining".into(), header("Requests left now.", count.clone(), false));
        headers.insert("X-RateLimit-Reset".into(), header("Seconds until the allowance is full again.", count, false));
    }
    headers
}

fn shared_components(doc: &mut Value) {
    // The stable codes, from the one table.
    let codes: Vec<&str> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
    if let Some(code) =
        doc.pointer_mut("/components/schemas/ErrorObject/properties/code").and_then(Value::as_object_mut)
    {
        code.insert("enum".into(), json!(codes));
    }
    object_entry(doc, "components");
    let responses = object_entry(&mut doc["components"], "responses");
    for shared in &SHARED {
        let codes = codes_for(shared.status);
        let description = format!("{} `error.code`: {}.", shared.when, codes.join(", "));
        let mut headers = common_headers(true);
        if shared.status == 429 {
            headers.insert(
                "Retry-After".into(),
                header("Seconds to wait before trying again.", json!({"type": "integer", "minimum": 1}), true),
            );
        }
        responses.insert(
            shared.name.into(),
            json!({
                "description": description,
                "headers": headers,
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
            }),
        );
    }
}

/// The shared answers that apply to one operation, by what it takes.
fn complete_operation(path: &str, operation: &mut Value) {
    // `[{}]` among the requirements: credentials are optional (the WebSocket's first message
    // may sign in instead); any sent are still checked.
    let requirements = operation.get("security").and_then(Value::as_array);
    let secured = requirements.is_some_and(|s| s.iter().any(|r| r.as_object().is_some_and(|o| !o.is_empty())));
    let optional = requirements.is_some_and(|s| s.iter().any(|r| r.as_object().is_some_and(Map::is_empty)));
    let body = operation.get("requestBody");
    let body_required = body.and_then(|b| b.get("required")).and_then(Value::as_bool).unwrap_or(false);
    let has_body = body.is_some();
    let params = |location: &str| {
        operation
            .get("parameters")
            .and_then(Value::as_array)
            .is_some_and(|ps| ps.iter().any(|p| p.get("in").and_then(Value::as_str) == Some(location)))
    };
    let (in_path, in_query) = (params("path"), params("query"));
    let rate_limited = !HEALTH_CHECKS.contains(&path);

    let mut statuses: Vec<u16> = Vec::new();
    if has_body {
        statuses.extend([400, 413, 422]);
        if body_required {
            statuses.push(415);
        }
    }
    if secured {
        statuses.extend([401, 403]);
    }
    if in_path {
        statuses.push(404);
    }
    if in_query {
        statuses.push(422);
    }
    if rate_limited {
        statuses.push(429);
    }
    statuses.push(503);

    let responses = object_entry(operation, "responses");
    for status in statuses {
        let Some(shared) = SHARED.iter().find(|s| s.status == status) else { continue };
        let reference = json!({"$ref": format!("#/components/responses/{}", shared.name)});
        match responses.get_mut(&status.to_string()) {
            None => {
                responses.insert(status.to_string(), reference);
            }
            Some(existing) => into_shared(existing, reference),
        }
    }
    // What the handlers wrote themselves: an error answer in the error shape becomes the shared
    // answer (keeping a description of its own), and every answer names its headers.
    let statuses: Vec<String> = responses.keys().cloned().collect();
    for status in statuses {
        let Some(response) = responses.get_mut(&status) else { continue };
        let shared = status.parse::<u16>().ok().and_then(|s| SHARED.iter().find(|shared| shared.status == s));
        if let Some(shared) = shared
            && response.get("$ref").is_none()
        {
            into_shared(response, json!({"$ref": format!("#/components/responses/{}", shared.name)}));
        }
        if response.get("$ref").is_none() {
            let headers = object_entry(response, "headers");
            for (name, value) in common_headers(rate_limited) {
                headers.entry(name).or_insert(value);
            }
        }
    }

    if secured {
        // A household API key works wherever a bearer token does (`X-API-Key: pk_...`).
        let mut security = json!([{"bearer": []}, {"api_key": []}]);
        if optional && let Some(list) = security.as_array_mut() {
            list.push(json!({}));
        }
        operation["security"] = security;
    }
}

/// Makes `existing` (a handler's own entry for a shared status) the shared answer, keeping its
/// description if it has one.
fn into_shared(existing: &mut Value, reference: Value) {
    let description =
        existing.get("description").and_then(Value::as_str).filter(|d| !d.trim().is_empty()).map(str::to_owned);
    *existing = reference;
    if let Some(description) = description {
        existing["description"] = Value::String(description);
    }
}

/// `value[key]` as an object, made one if it is missing or not one.
fn object_entry<'a>(value: &'a mut Value, key: &str) -> &'a mut Map<String, Value> {
    if !value.get(key).is_some_and(Value::is_object) {
        value[key] = Value::Object(Map::new());
    }
    match value.get_mut(key) {
        Some(Value::Object(map)) => map,
        _ => unreachable!("just made an object"),
    }
}

/// `GET /api/v1/ws` names the schemas of the messages each side sends (`x-websocket-messages`).
fn websocket_messages(doc: &mut Value) {
    if let Some(operation) = doc.pointer_mut("/paths/~1api~1v1~1ws/get").and_then(Value::as_object_mut) {
        operation.insert(
            "x-websocket-messages".into(),
            json!({
                "client": {"$ref": "#/components/schemas/WsClientMessage"},
                "server": {"$ref": "#/components/schemas/WsServerMessage"},
            }),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc() -> Value {
        crate::routes::openapi()
    }

    /// The document names each schema once: two types of one name (a calendar import's answer
    /// and a readings import's) would silently share one entry, and one route would document
    /// the other's answer.
    #[test]
    fn no_two_schemas_share_a_name() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = vec![dir.join("api.rs")];
        // The application layer's shapes (readings, alarms, reminders, the life log's) are in
        // the document too; modules may be folders of their own.
        let mut folders = vec![dir.join("api"), dir.join("../../petty-app/src")];
        while let Some(folder) = folders.pop() {
            for entry in std::fs::read_dir(folder).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() { folders.push(path) } else { files.push(path) }
            }
        }
        let mut seen: std::collections::HashMap<String, std::path::PathBuf> = Default::default();
        for file in files.iter().filter(|f| f.extension().is_some_and(|e| e == "rs")) {
            let text = std::fs::read_to_string(file).unwrap();
            let mut schema_next = false;
            for line in text.lines().map(str::trim) {
                if line.starts_with("#[derive(") && line.contains("ToSchema") {
                    schema_next = true;
                    continue;
                }
                if schema_next && !line.starts_with("#[") && !line.starts_with("///") {
                    schema_next = false;
                    let name = line
                        .split(|c: char| !c.is_alphanumeric() && c != '_')
                        .skip_while(|w| *w != "struct" && *w != "enum")
                        .nth(1);
                    if let Some(name) = name {
                        if let Some(other) = seen.insert(name.to_owned(), file.clone()) {
                            panic!("{name} is a schema in {} and in {}", other.display(), file.display());
                        }
                    }
                }
            }
        }
        assert!(seen.len() > 50, "{} schemas found", seen.len());
    }

    fn operations(doc: &Value) -> Vec<(String, String, Value)> {
        let mut out = Vec::new();
        for (path, item) in doc["paths"].as_object().expect("paths") {
            for method in METHODS {
                if let Some(operation) = item.get(method) {
                    out.push((method.to_owned(), path.clone(), operation.clone()));
                }
            }
        }
        out
    }

    fn documents(operation: &Value, status: u16) -> bool {
        operation["responses"].get(status.to_string()).is_some()
    }

    #[test]
    fn every_operation_documents_the_answers_its_kind_can_give() {
        let doc = doc();
        let operations = operations(&doc);
        assert!(operations.len() > 60, "{} operations", operations.len());
        for (method, path, op) in &operations {
            let label = format!("{} {path}", method.to_uppercase());
            let secured = op["security"].as_array().is_some_and(|s| !s.is_empty());
            if secured {
                for status in [401, 403] {
                    assert!(documents(op, status), "{label} asks for credentials but does not document {status}");
                }
                assert_eq!(op["security"][0], json!({"bearer": []}), "{label}");
                assert_eq!(op["security"][1], json!({"api_key": []}), "{label}");
            }
            if let Some(body) = op.get("requestBody") {
                for status in [400, 413, 422] {
                    assert!(documents(op, status), "{label} reads a body but does not document {status}");
                }
                if body["required"] == true {
                    assert!(documents(op, 415), "{label}");
                }
            }
            let params = op["parameters"].as_array().cloned().unwrap_or_default();
            if params.iter().any(|p| p["in"] == "path") {
                assert!(documents(op, 404), "{label} has an id in its path but does not document 404");
            }
            if params.iter().any(|p| p["in"] == "query") {
                assert!(documents(op, 422), "{label} reads its query but does not document 422");
            }
            assert!(documents(op, 503), "{label}: every request may run out of time");
            assert_eq!(documents(op, 429), !HEALTH_CHECKS.contains(&path.as_str()), "{label}: rate limits");
            for (status, response) in op["responses"].as_object().expect("responses") {
                let code: u16 = status.parse().expect("a numeric status");
                if code >= 400 {
                    assert!(
                        response["$ref"].as_str().is_some_and(|r| r.starts_with("#/components/responses/")),
                        "{label} {status}: an error answer is one of the shared ones (the error shape)"
                    );
                } else {
                    assert_eq!(
                        response["headers"]["X-Request-ID"]["required"], true,
                        "{label} {status}: every answer carries X-Request-ID"
                    );
                }
            }
        }
    }

    #[test]
    fn shared_answers_carry_the_error_shape_and_every_code_of_their_status() {
        let doc = doc();
        for shared in &SHARED {
            let response = &doc["components"]["responses"][shared.name];
            assert_eq!(
                response["content"]["application/json"]["schema"]["$ref"], "#/components/schemas/ErrorBody",
                "{}",
                shared.name
            );
            let description = response["description"].as_str().expect("a description");
            for code in codes_for(shared.status) {
                assert!(description.contains(code), "{}: {code} missing", shared.name);
            }
        }
        // Every status of the error table a client can meet on an operation is a shared answer,
        // except those only the edge gives outside any operation (405) and the 500 that is a bug.
        for code in ErrorCode::ALL {
            let status = code.status().as_u16();
            assert!(
                SHARED.iter().any(|s| s.status == status) || matches!(status, 405 | 500),
                "{} ({status}) has no shared answer",
                code.as_str()
            );
        }
        let codes = doc["components"]["schemas"]["ErrorObject"]["properties"]["code"]["enum"].clone();
        assert_eq!(codes.as_array().map(Vec::len), Some(ErrorCode::ALL.len()));
    }

    #[test]
    fn every_limit_names_a_field_of_the_document() {
        let built = crate::routes::built_openapi();
        let mut doc = serde_json::to_value(&built).unwrap();
        let missed = limits::apply(&mut doc);
        assert!(missed.is_empty(), "limits naming nothing: {missed:?}");
    }

    #[test]
    fn the_websocket_route_names_its_messages() {
        let doc = doc();
        let ws = &doc["paths"]["/api/v1/ws"]["get"];
        for side in ["client", "server"] {
            let reference = ws["x-websocket-messages"][side]["$ref"].as_str().expect("a reference");
            let name = reference.rsplit('/').next().unwrap();
            assert!(doc["components"]["schemas"].get(name).is_some(), "{reference} is not in the document");
        }
    }
}
