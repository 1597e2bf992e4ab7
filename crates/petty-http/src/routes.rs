//! The whole URL space in one place: the API under `/api/v1`, operations endpoints, the docs
//! page, the dashboard; and the layers every request passes through, outermost first:
//! CORS (when configured) → the edge layer (request id, rate limits, authentication, security
//! headers, metrics; see `edge.rs`) → timeout → body limit → handler. The Petty profile has the
//! same stack under its own outermost layer instead of the configured CORS (`compat::petty`).

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri, header};
use axum::middleware::from_fn_with_state;
use axum::response::{IntoResponse, Response};
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::timeout::TimeoutLayer;
use utoipa::openapi::OpenApi as OpenApiDoc;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_swagger_ui::SwaggerUi;

use crate::compat;
use crate::error::{ApiError, ErrorCode};
use crate::state::AppState;
use crate::{api, edge, observability, pages};

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
    tags(
        (name = "auth", description = "Registration, sign-in, tokens"),
        (name = "household", description = "Members and invitations"),
        (name = "api keys", description = "Keys for integrations"),
        (name = "pets", description = "Pet profiles"),
        (name = "devices", description = "Collars, air monitors and their readings"),
        (name = "readings", description = "Sending readings"),
        (name = "operations", description = "Health, readiness, metrics"),
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
        .merge(api::devices::router())
        .merge(api::ingest::router())
        .merge(api::exchange::router())
        .merge(api::health::router())
        .merge(api::timeline::router())
        .merge(api::wellness::router())
        .merge(api::geofences::router())
        .merge(api::alarms::router())
        .merge(api::charts::router())
}

/// The OpenAPI 3.1 document, generated from the handlers' annotations.
pub fn openapi() -> OpenApiDoc {
    api_routes().into_openapi()
}

/// The complete application with its layers.
pub fn router(state: AppState) -> Router {
    let (api, doc) = api_routes().split_for_parts();
    let app = Router::new()
        .merge(api)
        .route("/api/v1/ws", axum::routing::get(api::ws::connect))
        .route("/hooks/twilio/voice/{token}", axum::routing::post(api::alarms::twilio_voice_keypress))
        .merge(SwaggerUi::new("/docs").url("/api/v1/openapi.json", doc))
        .merge(pages::router())
        .merge(compat::carbon::router())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed);
    let mut app = with_edge(app, &state);
    // Outside the edge layer, so that its 429s carry the CORS headers a browser needs to read them.
    if let Some(cors) = cors(&state.config.cors_allowed_origins) {
        app = app.layer(cors);
    }
    // The Petty profile is merged after the layers above are applied, so it gets its own copy of
    // the stack and, outside it, its own error shape and CORS, whatever is configured for the rest.
    let petty = compat::petty::own_shape(with_edge(compat::petty::router(), &state));
    app.merge(petty).with_state(state)
}

/// Body limit, timeout and the edge layer, innermost first.
fn with_edge(routes: Router<AppState>, state: &AppState) -> Router<AppState> {
    routes
        .layer(DefaultBodyLimit::max(state.config.max_body_bytes))
        .layer(TimeoutLayer::with_status_code(StatusCode::SERVICE_UNAVAILABLE, state.config.request_timeout))
        .layer(from_fn_with_state(state.clone(), edge::edge))
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

/// Browsers asking for a page get the dashboard's 404 page; everything else gets the API's JSON.
async fn not_found(uri: Uri, headers: HeaderMap) -> Response {
    let wants_html =
        headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|accept| accept.contains("text/html"));
    if wants_html && !uri.path().starts_with("/api/") {
        return pages::PageError::NotFound.into_response();
    }
    ApiError::new(ErrorCode::NotFound, "there is nothing at this address; the API lives under /api/v1 (see /docs)")
        .into_response()
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(ErrorCode::MethodNotAllowed, "this address does not accept that method")
}
