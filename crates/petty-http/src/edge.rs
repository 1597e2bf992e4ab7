//! The one layer every request passes through on its way to a handler, in this order: request
//! id and span, the per-address rate limit, authentication, the per-user rate limit; and on the
//! way out, the error shape for error answers that have none (axum's plain-text rejections,
//! the timeout's empty 503), rate-limit and security headers, `X-Request-ID`, the log line and
//! the metrics (with bounded labels: see `observability::RequestMetrics`).
//!
//! Health checks (`/healthz`, `/readyz`, the Petty profile's `/health`, `/ready` and the AURORA
//! profile's `/health`, `/health/live`, `/health/ready`) are never rate limited: a flood from one
//! address must not make a load balancer take the node out.
//!
//! It is one layer rather than five because each `from_fn` layer clones its state and boxes
//! the rest of the stack on every request; on a cached read that overhead was a third of the
//! request's cost (BENCHMARKS.md, run C).
//!
//! The request's span (`request{request_id=…}`) is at debug level: with the fmt subscriber an
//! enabled span costs a formatted copy of its fields on every request, about a tenth of a
//! cached read. At the default level, the lines that matter name the request id themselves:
//! the closing line of every failed or slow request, and every internal error.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

use crate::auth;
use crate::error::{in_error_shape, needs_error_shape};
use crate::observability::{
    UNMATCHED, X_REQUEST_ID, log_done, method_label, request_id_for, security_headers, with_request_id,
};
use crate::ratelimit::client_ip;
use crate::state::AppState;

pub(crate) async fn edge(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let request_id = request_id_for(&req);
    let header_value = HeaderValue::from_str(&request_id).ok();
    let method = method_label(req.method());
    let route = req.extensions().get::<MatchedPath>().cloned();
    let route = route.as_ref().map_or(UNMATCHED, MatchedPath::as_str);
    let is_docs = req.uri().path().starts_with("/docs");
    let span = tracing::debug_span!("request", request_id = %request_id);
    let handled = guarded(&state, req, next, is_health_check(route)).instrument(span.clone());
    let (request_id, mut response) = with_request_id(request_id, handled).await;

    let headers = response.headers_mut();
    headers.reserve(10);
    security_headers(headers, is_docs, state.config.secure_cookies);
    if let Some(v) = header_value {
        headers.insert(X_REQUEST_ID.clone(), v);
    }
    let status = response.status().as_u16();
    let elapsed = started.elapsed();
    span.in_scope(|| log_done(&request_id, method, route, status, elapsed));
    state.metrics.record(method, route, status, elapsed);
    response
}

/// The routes a load balancer polls, exempt from the rate limits.
fn is_health_check(route: &str) -> bool {
    matches!(
        route,
        "/healthz"
            | "/readyz"
            | "/compat/petty/health"
            | "/compat/petty/ready"
            | "/compat/petty/v1/health"
            | "/compat/petty/v1/ready"
            | "/compat/aurora/health"
            | "/compat/aurora/health/live"
            | "/compat/aurora/health/ready"
    )
}

/// Rate limits and authentication around the handler (no limits for health checks), and the
/// error shape for an error answer without one.
async fn guarded(state: &AppState, mut req: Request, next: Next, health_check: bool) -> Response {
    let limits = !health_check;
    let by_ip = limits.then(|| state.limits.by_ip(client_ip(&req, &state.config.forwarded_for))).flatten();
    if let Some(decision) = by_ip.as_ref().filter(|d| !d.allowed()) {
        return decision.reject("address");
    }
    let authentication = auth::authenticate(state, req.headers()).await;
    let by_principal = limits.then(|| state.limits.by_principal(&authentication)).flatten();
    if let Some(decision) = by_principal.as_ref().filter(|d| !d.allowed()) {
        return decision.reject("account or key");
    }
    req.extensions_mut().insert(authentication);
    let mut response = next.run(req).await;
    if needs_error_shape(&response) {
        // Rare, and boxed so that the common path's future stays small.
        response = Box::pin(in_error_shape(response, state.config.request_timeout)).await;
    }
    // The tighter allowance the request used speaks first; the per-address one fills in.
    for decision in [by_principal, by_ip].iter().flatten() {
        decision.write_headers(response.headers_mut());
    }
    response
}
