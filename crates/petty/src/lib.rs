//! The whole HTTP application, composed in one place: the edge's routes (`petty-http`: the API,
//! the WebSocket, the docs), the dashboard (`petty-web`) and the compatibility profiles
//! (`petty-compat`), with the layers around them. The `petty` binary serves it; the in-process
//! tests (`tests/api`) serve it on port 0.
//!
//! Architecture invariant: this is the only place that knows all of the HTTP crates; none of
//! them knows the others' routes. Composition only: no handlers, no rules.
//!
//! API boundary: [`router`] and [`serve`].

use std::future::Future;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, Uri, header};
use axum::response::{IntoResponse, Response};
use petty_http::AppState;
use tokio::net::TcpListener;

/// The complete application with its layers, outermost first: CORS (when configured) → the
/// edge layer (request id, rate limits, authentication, security headers, metrics) → timeout →
/// body limit → handler. The Petty profile is merged after those layers are applied, so it gets
/// its own copy of the stack and, outside it, its own error shape and CORS, whatever is
/// configured for the rest.
pub fn router(state: AppState) -> Router {
    let compat_document =
        (petty_compat::openapi::DOCUMENT_NAME, petty_compat::openapi::DOCUMENT_URL, petty_compat::openapi::document());
    let app = petty_http::api_router([compat_document])
        .merge(petty_web::router())
        .merge(petty_compat::carbon::router())
        .fallback(not_found)
        .method_not_allowed_fallback(petty_http::method_not_allowed);
    // CORS outside the edge layer, so that its 429s carry the headers a browser needs to read them.
    let app = petty_http::with_cors(petty_http::with_edge(app, &state), &state);
    let petty = petty_compat::petty::own_shape(petty_http::with_edge(petty_compat::petty::router(), &state));
    // The Pet Management profile likewise: its own stack, its envelope outside it.
    let petmgmt = petty_compat::petmgmt::mounted(&state);
    // The AURORA_LIFE profile likewise, in FastAPI's error shape.
    let aurora = petty_compat::aurora::mounted(&state);
    // The PetStore profile likewise, in its Lambda's error shape with CORS open.
    let petstore = petty_compat::petstore::mounted(&state);
    app.merge(petty).merge(petmgmt).merge(aurora).merge(petstore).with_state(state)
}

/// Serves [`router`] on `listener` until `shutdown` resolves, then waits for requests in flight
/// (see `petty_http::serve`).
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    petty_http::serve(listener, state.clone(), router(state), shutdown).await
}

/// Browsers asking for a page get the dashboard's 404 page (with its navigation); everything
/// else gets the API's JSON.
async fn not_found(State(state): State<AppState>, uri: Uri, headers: HeaderMap) -> Response {
    let wants_html =
        headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|accept| accept.contains("text/html"));
    if wants_html && !uri.path().starts_with("/api/") {
        return petty_web::not_found_page(&state, &headers).await;
    }
    petty_http::not_found().into_response()
}
