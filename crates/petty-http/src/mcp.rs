//! Petty's MCP server (Model Context Protocol, through the official `rmcp` SDK): the household's
//! capabilities as tools an assistant can call, over streamable HTTP at `/mcp` and over stdio
//! (`petty mcp --api-key pk_...`).
//!
//! Every tool calls the REST handler that serves the same thing (`crate::api::...`) as a plain
//! function, with the caller as its `CurrentActor`: the same checks (an API key's scope, the
//! household, a vet's shared pets, a sitter's limits), the same validation, the same JSON. A
//! refusal is a tool result with `isError: true` whose text is the API's error object (code,
//! message and, for bad input, each field with its rule). Arguments that do not fit a tool's
//! schema never reach it: rmcp answers them as a tool error in its own words ("failed to
//! deserialize parameters: unknown field `pet`, expected `pet_id`"); an unknown tool is a
//! JSON-RPC error (invalid params, "tool not found").
//!
//! Who calls is read again on every call, never kept from `initialize`: over HTTP it is the
//! `Authentication` the edge layer left on that very request (every MCP message is its own
//! POST, so a revoked key or a signed-out token fails its next call); over stdio the key is
//! looked up again before each call. The dashboard's chat (`mcp/assistant.rs`) talks to the same
//! server in-process, as the signed-in person, for one answer.
//!
//! The tools live in submodules, each a `#[tool_router(router = ..., vis = "pub(super)")]`
//! block on [`PettyMcp`] (see `mcp/household.rs`), and `PettyMcp::tools` adds their routers
//! together. A new group of tools is a new submodule, `mcp/things.rs`, and one more
//! `+ Self::thing_tools()` there:
//!
//! ```ignore
//! #[tool_router(router = thing_tools, vis = "pub(super)")]
//! impl PettyMcp {
//!     #[tool(description = "What it does, in a sentence.", annotations(read_only_hint = true))]
//!     async fn find_things(
//!         &self,
//!         Parameters(args): Parameters<FindThingsArgs>, // Deserialize + schemars::JsonSchema
//!         context: RequestContext<RoleServer>,
//!     ) -> CallToolResult {
//!         self.run(&context, |caller| async move {
//!             body_of(api::things::list(self.state(), caller.current(), ApiQuery(args.into())).await).await
//!         })
//!         .await
//!     }
//! }
//! ```

pub mod assistant;
mod catalog;
mod household;

use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Arc, LazyLock};

use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::model::{CallToolResult, ContentBlock};
use rmcp::service::RequestContext;
use rmcp::transport::streamable_http_server::session::never::NeverSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{RoleServer, ServerHandler, ServiceExt, tool_handler};
use serde::Serialize;
use serde_json::{Value, json};

use crate::auth::CurrentActor;
use crate::error::{ApiError, ErrorCode};
use crate::extract::ClientIp;
use crate::state::AppState;

/// The MCP server over one application. Cheap to clone; one is made per HTTP request.
#[derive(Clone)]
pub struct PettyMcp {
    state: AppState,
    credential: Credential,
    tools: &'static ToolRouter<Self>,
}

/// The tools with their schemas, built once per process.
static TOOLS: LazyLock<ToolRouter<PettyMcp>> = LazyLock::new(PettyMcp::tools);

/// Where the caller of a tool is found.
#[derive(Clone)]
enum Credential {
    /// Over HTTP: what the edge layer found on the request that carries the call.
    Request,
    /// Over stdio: this API key, looked up again on every call.
    ApiKey(Arc<str>),
    /// In-process, for the dashboard's chat: the signed-in person who asked, for the one
    /// answer the session lives for (see `assistant.rs`).
    Actor { actor: petty_core::accounts::Actor, ip: IpAddr },
}

/// The caller of one tool call.
pub(crate) struct Caller {
    pub(crate) actor: petty_core::accounts::Actor,
    /// For the audit log: the HTTP client's address, or loopback for a local stdio client.
    pub(crate) ip: IpAddr,
}

impl Caller {
    pub(crate) fn current(&self) -> CurrentActor {
        CurrentActor(self.actor)
    }
}

impl PettyMcp {
    fn new(state: AppState, credential: Credential) -> Self {
        Self { state, credential, tools: &TOOLS }
    }

    /// Every tool Petty offers.
    fn tools() -> ToolRouter<Self> {
        Self::household_tools() + Self::catalog_tools()
    }

    /// A tool's body: `tool` runs for the caller of this call, read now, and its value or
    /// refusal becomes the tool's answer ([`reply`]).
    pub(crate) async fn run<T, F, Fut>(&self, context: &RequestContext<RoleServer>, tool: F) -> CallToolResult
    where
        T: Serialize,
        F: FnOnce(Caller) -> Fut,
        Fut: Future<Output = Result<T, ApiError>>,
    {
        let outcome = match self.caller(context).await {
            Ok(caller) => tool(caller).await,
            Err(refused) => Err(refused),
        };
        reply(outcome)
    }

    /// The application state, as the REST handlers take it.
    pub(crate) fn state(&self) -> State<AppState> {
        State(self.state.clone())
    }

    /// The caller of this call, read now (see the module's comment).
    async fn caller(&self, context: &RequestContext<RoleServer>) -> Result<Caller, ApiError> {
        match &self.credential {
            Credential::Request => {
                let Some(parts) = context.extensions.get::<Parts>() else {
                    return Err(ApiError::unauthenticated("this call came without its HTTP request"));
                };
                let mut parts = parts.clone();
                let CurrentActor(actor) = CurrentActor::from_request_parts(&mut parts, &self.state).await?;
                let Ok(ClientIp(ip)) = ClientIp::from_request_parts(&mut parts, &self.state).await;
                Ok(Caller { actor, ip })
            }
            Credential::ApiKey(key) => {
                let actor = crate::auth::authenticate_api_key(&self.state, key).await?;
                Ok(Caller { actor, ip: IpAddr::V4(Ipv4Addr::LOCALHOST) })
            }
            Credential::Actor { actor, ip } => Ok(Caller { actor: *actor, ip: *ip }),
        }
    }
}

/// `initialize` answers the name `petty` and these instructions.
#[tool_handler(
    router = self.tools,
    name = "petty",
    instructions = "Petty: a household's pets, their collars' readings, behaviour timeline and wellness, alarms, care records, reminders and life log. Ids are UUIDs: start with list_pets. Every answer is JSON; a refusal has isError set and says why."
)]
impl ServerHandler for PettyMcp {}

/// A tool's answer: the value as JSON text, or the API's error object with `isError` set.
fn reply<T: Serialize>(outcome: Result<T, ApiError>) -> CallToolResult {
    match outcome.and_then(|value| serde_json::to_string(&value).map_err(ApiError::internal)) {
        Ok(text) => CallToolResult::success(vec![ContentBlock::text(text)]),
        Err(e) => {
            let error = json!({"error": {"code": e.code.as_str(), "message": e.message, "details": e.details}});
            CallToolResult::error(vec![ContentBlock::text(error.to_string())])
        }
    }
}

/// The JSON body a REST handler answered with (`null` for an empty answer such as a 204).
pub(crate) async fn body_of(answer: Result<impl IntoResponse, ApiError>) -> Result<Value, ApiError> {
    let response = answer?.into_response();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.map_err(ApiError::internal)?;
    if bytes.is_empty() {
        return Ok(Value::Null);
    }
    serde_json::from_slice(&bytes).map_err(ApiError::internal)
}

/// An id argument, as a UUID.
pub(crate) fn uuid_arg(field: &str, raw: &str) -> Result<uuid::Uuid, ApiError> {
    raw.trim().parse().map_err(|_| {
        ApiError::field(
            ErrorCode::ValidationFailed,
            field,
            "format",
            format!("{field} must be a UUID like 0192f0c1-7a2b-7c3d-8e4f-5a6b7c8d9e0f"),
        )
    })
}

/// `POST /mcp` (and the other methods, which rmcp answers): streamable HTTP, stateless, one
/// JSON answer per request. A caller without valid credentials gets 401 with
/// `WWW-Authenticate: Bearer` before anything reaches MCP.
pub(crate) async fn endpoint(
    State(state): State<AppState>,
    actor: Result<CurrentActor, ApiError>,
    request: Request,
) -> Response {
    if let Err(e) = actor {
        let mut response = e.into_response();
        if response.status() == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        return response;
    }
    let config = StreamableHttpServerConfig::default()
        .with_legacy_session_mode(false)
        .with_json_response(true)
        .with_sse_keep_alive(None)
        .with_max_request_body_bytes(state.config.max_body_bytes)
        // The DNS-rebinding guard is for servers that trust whoever reaches them; every request
        // here carries its own bearer credential, which a rebound page cannot send, and Petty is
        // reached under whatever name its owner gives it.
        .disable_allowed_hosts();
    let service = StreamableHttpService::new(
        move || Ok(PettyMcp::new(state.clone(), Credential::Request)),
        Arc::new(NeverSessionManager::default()),
        config,
    );
    service.handle(request).await.map(axum::body::Body::new)
}

/// Why `petty mcp` could not serve.
#[derive(Debug)]
pub struct StdioError(String);

impl std::fmt::Display for StdioError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for StdioError {}

/// Serves MCP on this process's stdin and stdout until the client closes them, acting with
/// `api_key` (checked now, and again on every call).
pub async fn serve_stdio(state: AppState, api_key: &str) -> Result<(), StdioError> {
    let key = api_key.trim();
    crate::auth::authenticate_api_key(&state, key).await.map_err(|e| StdioError(e.message))?;
    let server = PettyMcp::new(state, Credential::ApiKey(key.into()));
    let running = server
        .serve(rmcp::transport::stdio())
        .await
        .map_err(|e| StdioError(format!("the MCP client did not start a session: {e}")))?;
    running.waiting().await.map_err(|e| StdioError(format!("the MCP session ended with an error: {e}")))?;
    Ok(())
}
