//! What the profiles' answers share: an error answer that is not yet in a profile's own shape
//! (the edge's 429, the body limit's 413, the timeout's 503, axum's own 404 and 405) rewritten
//! into it with its status and headers kept, the `X-RateLimit-*` headers of the profiles' own
//! limits, and times as their contracts write them.

use axum::body::Body;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::Response;
use serde_json::Value;

/// `response` itself when it is not an error or carries the marker `M` (already in the
/// profile's shape); else its status and headers with the JSON `body(status, headers)`.
pub(crate) fn reshaped<M: Send + Sync + 'static>(
    response: Response,
    body: impl FnOnce(StatusCode, &HeaderMap) -> Value,
) -> Response {
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) || response.extensions().get::<M>().is_some() {
        return response;
    }
    let (mut parts, _body) = response.into_parts();
    let bytes = serde_json::to_vec(&body(status, &parts.headers)).unwrap_or_default();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    Response::from_parts(parts, Body::from(bytes))
}

/// A number header of a refused or limited answer (`Retry-After`, `X-RateLimit-Limit`).
pub(crate) fn number_header(headers: &HeaderMap, name: impl axum::http::header::AsHeaderName) -> Option<u64> {
    headers.get(name).and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
}

static LIMIT: HeaderName = HeaderName::from_static("x-ratelimit-limit");
static REMAINING: HeaderName = HeaderName::from_static("x-ratelimit-remaining");
static RESET: HeaderName = HeaderName::from_static("x-ratelimit-reset");

/// `X-RateLimit-Limit`, `-Remaining` and `-Reset` (unix seconds) on an answer.
pub(crate) fn rate_limit_headers(response: &mut Response, limit: u32, remaining: u32, reset: u64) {
    let h = response.headers_mut();
    h.insert(LIMIT.clone(), HeaderValue::from(limit));
    h.insert(REMAINING.clone(), HeaderValue::from(remaining));
    h.insert(RESET.clone(), HeaderValue::from(reset));
}

/// `YYYY-MM-DDTHH:MM:SS` of `t` in UTC: the whole seconds of an RFC 3339 time, before any
/// fraction and the `Z`.
pub(crate) fn utc_seconds(t: time::OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}
