//! The edge's part of the URL space and the layers every request passes through, outermost
//! first: CORS (when configured) → the edge layer (request id, rate limits, authentication,
//! security headers, metrics; see `edge.rs`) → timeout → body limit → handler. The application
//! (`petty::router`) merges these routes with the dashboard's and the profiles' and puts the
//! layers around them; the Petty profile gets its own copy of the stack under its own outermost
//! layer instead of the configured CORS.

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::from_fn_with_state;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::timeout::TimeoutLayer;
use utoipa::openapi::OpenApi as OpenApiDoc;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use utoipa_swagger_ui::{SwaggerUi, Url};

use crate::error::{ApiError, ErrorCode};
use crate::state::AppState;
use crate::{api, edge, observability};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Petty API",
        description = "Petty's canonical REST API: a household's pets, people, devices and air. \
                       JSON in snake_case; lists as {items, total, page, page_size, has_next}; \
                       errors as {\"error\": {code, message, details, request_id}}.",
        license(name = "AGPL-3.0-or-later")
    ),
    modifiers(&SecuritySchemes),
    components(schemas(api::ws::Command, api::ws_messages::ServerMessage)),
    tags(
        (name = "auth", description = "Registration, sign-in, tokens"),
        (name = "household", description = "Members and invitations"),
        (name = "api keys", description = "Keys for integrations"),
        (name = "pets", description = "Pet profiles"),
        (name = "files", description = "Uploads (pets' photos, records' attachments), files and storage use"),
        (name = "devices", description = "Collars, air monitors and their readings"),
        (name = "readings", description = "Sending readings"),
        (name = "behaviour", description = "A pet's timeline, feedback, wellness and plan"),
        (name = "geofences", description = "Fences and who is outside them"),
        (name = "alarms", description = "Alarms, their rules, contacts, escalation, webhooks and notifications"),
        (name = "websocket", description = "Live events over one WebSocket: `GET /api/v1/ws` upgraded \
            (`Connection: Upgrade`, `Upgrade: websocket`), signed in with an `Authorization: Bearer` access token \
            or API key, `X-API-Key`, the dashboard's session cookie from Petty's own pages, or a first message \
            `{\"type\":\"auth\",\"token\":\"...\"}` within 10 seconds. JSON text messages told apart by \
            `type`: the client's are the schema `WsClientMessage`, Petty's are `WsServerMessage` (the operation \
            names both under `x-websocket-messages`). A revoked credential ends the socket with an `error` \
            message and close code 1008."),
        (name = "operations", description = "Health, readiness, metrics"),
        (name = "billing", description = "The household's plan, Stripe subscriptions and Stripe's webhook"),
    )
)]
struct ApiDoc;

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut OpenApiDoc) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT access token, or an API key pk_...")
                    .build(),
            ),
        );
        components
            .add_security_scheme("api_key", SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-API-Key"))));
    }
}

fn api_routes() -> OpenApiRouter<AppState> {
    // Paths are written out in full (`/api/v1/...`) rather than nested: a nested router strips
    // and rebuilds every request's URI.
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(api::auth::router())
        .merge(api::households::router())
        .merge(api::api_keys::router())
        .merge(api::pets::router())
        .merge(api::files::router())
        .merge(api::care::router())
        .merge(api::sharing::router())
        .merge(api::privacy::router())
        .merge(api::lifelog::router())
        .merge(api::catalog::router())
        .merge(api::devices::router())
        .merge(api::ingest::router())
        .merge(api::exchange::router())
        .merge(api::health::router())
        .merge(api::timeline::router())
        .merge(api::wellness::router())
        .merge(api::geofences::router())
        .merge(api::alarms::router())
        .merge(api::charts::router())
        .merge(api::billing::router())
        .merge(api::security::router())
        .routes(routes!(api::ws::connect))
}

/// The document as utoipa builds it from the handlers' annotations, before
/// [`crate::openapi::complete`] adds what every operation shares.
pub(crate) fn built_openapi() -> OpenApiDoc {
    api_routes().into_openapi()
}

/// The OpenAPI 3.1 document as served at `/api/v1/openapi.json`: the handlers' annotations,
/// completed with the answers, headers and limits every operation of a kind shares.
pub fn openapi() -> serde_json::Value {
    crate::openapi::complete(&built_openapi())
}

/// The edge's routes, without layers or state: the API and the WebSocket (`/api/v1/ws`), Twilio's
/// keypress callback, signed file links (`/files/{id}`), the MCP server (`/mcp`), and the docs
/// page (`/docs`) with the OpenAPI document it shows first and `other_documents` (name, address,
/// document: the compatibility profiles') in its selector.
pub fn api_router(
    other_documents: impl IntoIterator<Item = (&'static str, &'static str, serde_json::Value)>,
) -> Router<AppState> {
    let (api, doc) = api_routes().split_for_parts();
    Router::new()
        .merge(api)
        // Not part of the API: Twilio calls it back during a voice call (TwiML, not JSON).
        .route("/hooks/twilio/voice/{token}", axum::routing::post(api::alarms::twilio_voice_keypress))
        // Not part of the API either: a file's bytes behind a signed link (an <img> sends no header).
        .route("/files/{id}", axum::routing::get(api::files::signed_file))
        .route("/files/{id}/thumbnail", axum::routing::get(api::files::signed_thumbnail))
        // MCP for assistants (streamable HTTP; not REST, so not in the OpenAPI document).
        .route("/mcp", axum::routing::any(crate::mcp::endpoint))
        // The passport key where verifiers look for it (the API's own copy is documented).
        .route("/.well-known/petty-passport-key", axum::routing::get(api::sharing::passport_key))
        .merge(other_documents.into_iter().fold(
            SwaggerUi::new("/docs").external_url_unchecked(
                Url::with_primary("Petty API", "/api/v1/openapi.json", true),
                crate::openapi::complete(&doc),
            ),
            |docs, (name, url, document)| docs.external_url_unchecked(Url::new(name, url), document),
        ))
}

/// Body limit, timeout and the edge layer, innermost first.
pub fn with_edge(routes: Router<AppState>, state: &AppState) -> Router<AppState> {
    routes
        .layer(DefaultBodyLimit::max(state.config.max_body_bytes))
        .layer(TimeoutLayer::with_status_code(StatusCode::SERVICE_UNAVAILABLE, state.config.request_timeout))
        .layer(from_fn_with_state(state.clone(), edge::edge))
}

/// The configured CORS, if any origins are configured, outside everything else (so that the
/// edge layer's 429s carry the headers a browser needs to read them).
pub fn with_cors(routes: Router<AppState>, state: &AppState) -> Router<AppState> {
    match cors(&state.config.cors_allowed_origins) {
        Some(cors) => routes.layer(cors),
        None => routes,
    }
}

fn cors(origins: &[String]) -> Option<CorsLayer> {
    if origins.is_empty() {
        return None;
    }
    let allow = if origins.iter().any(|o| o == "*") {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()))
    };
    Some(
        CorsLayer::new()
            .allow_origin(allow)
            .allow_methods([Method::GET, Method::POST, Method::PUT, Method::PATCH, Method::DELETE])
            .allow_headers([
                header::AUTHORIZATION,
                header::CONTENT_TYPE,
                HeaderName::from_static("x-api-key"),
                observability::X_REQUEST_ID.clone(),
                // A browser's MCP client names its protocol version on every message to /mcp.
                HeaderName::from_static("mcp-protocol-version"),
            ])
            .expose_headers([
                observability::X_REQUEST_ID.clone(),
                header::RETRY_AFTER,
                header::LOCATION,
                HeaderName::from_static("x-ratelimit-limit"),
                HeaderName::from_static("x-ratelimit-remaining"),
                HeaderName::from_static("x-ratelimit-reset"),
            ])
            .max_age(std::time::Duration::from_secs(3600)),
    )
}

/// The API's answer to an address that has nothing (the application answers browsers asking
/// for a page with the dashboard's 404 page instead).
pub fn not_found() -> ApiError {
    ApiError::new(ErrorCode::NotFound, "there is nothing at this address; the API lives under /api/v1 (see /docs)")
}

/// The answer to a method an address does not accept.
pub async fn method_not_allowed() -> ApiError {
    ApiError::new(ErrorCode::MethodNotAllowed, "this address does not accept that method")
}
