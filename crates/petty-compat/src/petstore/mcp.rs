//! The seed's MCP gateway at `/compat/petstore/mcp`: its REST routes as tools
//! (`PetStoreTarget___ListPets`, `___GetPetById`, `___AddPet`, `___QueryPets`, and Petty's
//! `___SearchPets`), over JSON-RPC in a POST, as the contract lists them.
//!
//! The seed's page calls `tools/call` without `initialize`, so a request without an
//! `Mcp-Session-Id` is served on its own; `initialize` hands out a session id, and a request
//! naming an id this node never gave (or has forgotten) is a 404, as the MCP transport says, so
//! the client starts again. A tool runs the route's own code (`super::list_pets`, ...), with
//! the same caller, checks, limits and errors; a refused call is a result with `isError: true`
//! holding the route's error body.
//!
//! Written here rather than with `rmcp` (which serves `/mcp`): the contract wants, on one
//! endpoint, stateless calls and sessions, its own tool names and schemas, and answers in the
//! profile's shapes, which none of the SDK's transport modes gives.

use std::collections::{HashSet, VecDeque};
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use petty_http::AppState;
use petty_http::auth::{Authentication, Caller};
use petty_http::extract::ClientIp;
use serde_json::{Map, Value, json};

use super::{QueryWindows, Refusal, Shaped, add_pet, error, list_pets, query_pets, read_pet, search_pets};

/// The protocol versions a client's may be echoed as; anything else gets the newest.
const VERSIONS: [&str; 3] = ["2024-11-05", "2025-03-26", "2025-06-18"];
/// The most sessions a node remembers; the oldest is forgotten first.
const SESSIONS_MAX: usize = 10_000;
const SESSION_HEADER: &str = "mcp-session-id";

/// The session ids this node gave out.
#[derive(Default)]
pub(super) struct Sessions {
    ids: Mutex<(HashSet<String>, VecDeque<String>)>,
}

impl Sessions {
    fn open(&self) -> String {
        let id = uuid::Uuid::new_v4().simple().to_string();
        if let Ok(mut guard) = self.ids.lock() {
            let (known, order) = &mut *guard;
            if order.len() >= SESSIONS_MAX
                && let Some(oldest) = order.pop_front()
            {
                known.remove(&oldest);
            }
            known.insert(id.clone());
            order.push_back(id.clone());
        }
        id
    }

    fn knows(&self, id: &str) -> bool {
        self.ids.lock().map(|g| g.0.contains(id)).unwrap_or(false)
    }
}

/// The tools, as the contract lists them.
fn tools() -> Value {
    json!([
        {"name": "PetStoreTarget___ListPets", "description": "List all pets in the store",
         "inputSchema": {"type": "object", "properties": {}}},
        {"name": "PetStoreTarget___GetPetById", "description": "Get a specific pet by ID",
         "inputSchema": {"type": "object", "properties": {"petId": {"type": "string", "description": "The ID of the pet to retrieve"}},
                         "required": ["petId"]}},
        {"name": "PetStoreTarget___AddPet", "description": "Add a new pet to the store",
         "inputSchema": {"type": "object", "properties": {"name": {"type": "string"}, "type": {"type": "string"},
                         "breed": {"type": "string"}, "age": {"type": "integer"}, "price": {"type": "integer"}},
                         "required": ["name", "type"]}},
        {"name": "PetStoreTarget___QueryPets", "description": "Query pets using natural language (LLM-powered)",
         "inputSchema": {"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]}},
        {"name": "PetStoreTarget___SearchPets", "description": "Search pets with structured filters",
         "inputSchema": petty_app::catalog::filters_schema()},
    ])
}

fn rpc_error(id: &Value, code: i64, message: impl Into<String>) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message.into()}})
}

/// An answer already in its final shape (the profile's outer layer leaves it alone).
fn shaped(status: StatusCode, body: Value, headers: &HeaderMap) -> Response {
    // A client that accepts only an event stream gets the message as one event.
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).unwrap_or("");
    let stream_only =
        accept.contains("text/event-stream") && !accept.contains("application/json") && !accept.contains("*/*");
    let mut response = if stream_only {
        let text = format!("event: message\ndata: {body}\n\n");
        (status, [(header::CONTENT_TYPE, "text/event-stream")], Body::from(text)).into_response()
    } else {
        (status, axum::Json(body)).into_response()
    };
    response.extensions_mut().insert(Shaped);
    response
}

/// `GET`: this gateway opens no stream of its own.
pub(super) async fn not_here() -> Response {
    let mut response = error(StatusCode::METHOD_NOT_ALLOWED, "Method not allowed");
    response.headers_mut().insert(header::ALLOW, HeaderValue::from_static("POST, OPTIONS"));
    response
}

/// One JSON-RPC message in a POST.
pub(super) async fn serve(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ClientIp(ip): ClientIp,
    axum::Extension(windows): axum::Extension<Arc<QueryWindows>>,
    axum::Extension(sessions): axum::Extension<Arc<Sessions>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let refused = match &caller {
        Authentication::Authenticated(_) => false,
        Authentication::Anonymous => state.config.petstore_public_store.is_none(),
        _ => true,
    };
    if refused {
        let mut response = error(StatusCode::UNAUTHORIZED, "Authentication required");
        response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        return response;
    }
    if let Some(id) = headers.get(SESSION_HEADER) {
        if !id.to_str().is_ok_and(|id| sessions.knows(id)) {
            return error(StatusCode::NOT_FOUND, "Session not found: initialize again");
        }
    }
    let message: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(_) => return shaped(StatusCode::BAD_REQUEST, rpc_error(&Value::Null, -32700, "Parse error"), &headers),
    };
    let Value::Object(message) = message else {
        let why = "Invalid Request: one JSON-RPC object per POST (batches are not taken)";
        return shaped(StatusCode::BAD_REQUEST, rpc_error(&Value::Null, -32600, why), &headers);
    };
    let method = message.get("method").and_then(Value::as_str);
    let (Some("2.0"), Some(method)) = (message.get("jsonrpc").and_then(Value::as_str), method) else {
        let id = message.get("id").cloned().unwrap_or(Value::Null);
        return shaped(StatusCode::BAD_REQUEST, rpc_error(&id, -32600, "Invalid Request"), &headers);
    };
    let Some(id) = message.get("id").cloned() else {
        // A notification (`notifications/initialized`, ...): taken, nothing to answer.
        let mut response = StatusCode::ACCEPTED.into_response();
        response.extensions_mut().insert(Shaped);
        return response;
    };
    let params = message.get("params").cloned().unwrap_or(Value::Null);
    match method {
        "initialize" => {
            let asked = params.get("protocolVersion").and_then(Value::as_str);
            let version = asked.filter(|v| VERSIONS.contains(v)).unwrap_or(VERSIONS[2]);
            let result = json!({
                "protocolVersion": version,
                "capabilities": {"tools": {"listChanged": false}},
                "serverInfo": {"name": "petty", "version": env!("CARGO_PKG_VERSION")},
            });
            let mut response = shaped(StatusCode::OK, json!({"jsonrpc": "2.0", "id": id, "result": result}), &headers);
            if let Ok(value) = HeaderValue::from_str(&sessions.open()) {
                response.headers_mut().insert(SESSION_HEADER, value);
            }
            response
        }
        "ping" => shaped(StatusCode::OK, json!({"jsonrpc": "2.0", "id": id, "result": {}}), &headers),
        "tools/list" => {
            shaped(StatusCode::OK, json!({"jsonrpc": "2.0", "id": id, "result": {"tools": tools()}}), &headers)
        }
        "tools/call" => {
            let name = params.get("name").and_then(Value::as_str).unwrap_or_default();
            let arguments = match params.get("arguments") {
                None | Some(Value::Null) => Map::new(),
                Some(Value::Object(a)) => a.clone(),
                Some(_) => {
                    return shaped(StatusCode::OK, rpc_error(&id, -32602, "arguments must be an object"), &headers);
                }
            };
            let Some(outcome) = call(&state, &caller, ip, &windows, name, &arguments).await else {
                return shaped(StatusCode::OK, rpc_error(&id, -32602, format!("Unknown tool: {name}")), &headers);
            };
            let (text, is_error) = match outcome {
                Ok(body) => (body.to_string(), false),
                Err(refusal) => (json!({"error": refusal.message}).to_string(), true),
            };
            let result = json!({"content": [{"type": "text", "text": text}], "isError": is_error});
            shaped(StatusCode::OK, json!({"jsonrpc": "2.0", "id": id, "result": result}), &headers)
        }
        other => shaped(StatusCode::OK, rpc_error(&id, -32601, format!("Method not found: {other}")), &headers),
    }
}

/// Runs tool `name` as its route would; `None` for a tool that does not exist.
async fn call(
    state: &AppState,
    caller: &Authentication,
    ip: IpAddr,
    windows: &QueryWindows,
    name: &str,
    arguments: &Map<String, Value>,
) -> Option<Result<Value, Refusal>> {
    Some(match name {
        "PetStoreTarget___ListPets" => {
            list_pets(state, caller, &super::ListParams::default()).await.map(|(page, _)| page)
        }
        "PetStoreTarget___GetPetById" => match arguments.get("petId") {
            Some(Value::String(id)) => read_pet(state, caller, id).await,
            Some(Value::Number(n)) => read_pet(state, caller, &n.to_string()).await,
            _ => Err(super::refuse(StatusCode::BAD_REQUEST, "Missing required field: petId")),
        },
        "PetStoreTarget___AddPet" => add_pet(state, caller, arguments).await,
        "PetStoreTarget___QueryPets" => {
            let query = match arguments.get("query") {
                None | Some(Value::Null) => Ok(String::new()),
                Some(Value::String(q)) if q.chars().count() <= 500 => Ok(q.clone()),
                Some(_) => {
                    Err(super::refuse(StatusCode::BAD_REQUEST, "query must be a string of at most 500 characters"))
                }
            };
            query_pets(state, caller, ip, windows, query).await
        }
        "PetStoreTarget___SearchPets" => search_pets(state, caller, &Value::Object(arguments.clone())).await,
        _ => return None,
    })
}
