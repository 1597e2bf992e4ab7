//! Request ids, the per-request span and log line, Prometheus metrics, and security headers.

use std::collections::HashMap;
use std::sync::{OnceLock, RwLock};
use std::time::Duration;

use axum::extract::Request;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, header};
use metrics::{Counter, Histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

pub static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

tokio::task_local! {
    static REQUEST_ID: String;
}

/// The id of the request being handled on this task, if any.
pub fn current_request_id() -> Option<String> {
    REQUEST_ID.try_with(Clone::clone).ok()
}

/// Keeps a sane `X-Request-ID` from the client (or a proxy), or makes one.
pub(crate) fn request_id_for(req: &Request) -> String {
    req.headers()
        .get(&X_REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty() && v.len() <= 64 && v.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
        })
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::now_v7().simple().to_string())
}

/// Runs `fut` with `request_id` readable through [`current_request_id`]; hands the id back.
///
/// A future by hand rather than an `async fn`: the async version kept both its argument and the
/// pinned scope in its state, so every request's edge future carried the handler's future twice
/// and moved it around (about 1.1 KB copied more than once a request).
pub(crate) fn with_request_id<F: Future>(request_id: String, fut: F) -> WithRequestId<F> {
    WithRequestId { scoped: REQUEST_ID.scope(request_id, fut) }
}

pin_project_lite::pin_project! {
    /// See [`with_request_id`].
    pub(crate) struct WithRequestId<F: Future> {
        #[pin]
        scoped: tokio::task::futures::TaskLocalFuture<String, F>,
    }
}

impl<F: Future> Future for WithRequestId<F> {
    type Output = (String, F::Output);

    fn poll(self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<Self::Output> {
        let mut scoped = self.project().scoped;
        let output = std::task::ready!(scoped.as_mut().poll(cx));
        std::task::Poll::Ready((scoped.take_value().unwrap_or_default(), output))
    }
}

/// The line logged when a request ends: successes at debug (they are counted in /metrics);
/// failures and slow requests at info or above, so the default log says what went wrong
/// without a line per request. It names the request id itself, because the request's span is
/// a debug span (see `edge.rs`). `method` is the bounded label ([`method_label`]): a client's
/// 4,000-character method does not reach the log either.
pub(crate) fn log_done(request_id: &str, method: &'static str, route: &str, status: u16, elapsed: Duration) {
    let elapsed_ms = elapsed.as_secs_f64() * 1e3;
    if status >= 500 {
        tracing::warn!(request_id, method, route, status, elapsed_ms, "done");
    } else if status >= 400 || elapsed_ms > 1000.0 {
        tracing::info!(request_id, method, route, status, elapsed_ms, "done");
    } else {
        tracing::debug!(request_id, method, route, status, elapsed_ms, "done");
    }
}

/// The methods Petty serves, each its own label; any other method (`BREW`, or 4,000 random
/// characters) is counted as `OTHER`, so clients cannot add series to /metrics.
pub(crate) fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "OTHER",
    }
}

/// The route label for an address no route matched: one label, never the raw path.
pub(crate) const UNMATCHED: &str = "unmatched";

/// `petty_http_requests_total{method,route,status}` and
/// `petty_http_request_duration_seconds{method,route}`, with each series' handle looked up once
/// and kept, so counting a request costs a hash of its route and no allocation.
///
/// Every label is bounded: `method` is one of eight ([`method_label`]), `route` is the matched
/// route's template (`/api/v1/pets/{id}`) or [`UNMATCHED`], never the path the client sent, and
/// `status` is a status Petty answered with (a `StatusCode`, so at most 900 values, in practice
/// a dozen).
#[derive(Default)]
pub(crate) struct RequestMetrics {
    routes: RwLock<HashMap<Box<str>, RouteSeries>>,
}

#[derive(Default)]
struct RouteSeries {
    counters: Vec<(&'static str, u16, Counter)>,
    histograms: Vec<(&'static str, Histogram)>,
}

impl RouteSeries {
    fn record(&self, method: &'static str, status: u16, seconds: f64) -> bool {
        let counter = self.counters.iter().find(|(m, s, _)| *m == method && *s == status);
        let histogram = self.histograms.iter().find(|(m, _)| *m == method);
        match (counter, histogram) {
            (Some((_, _, c)), Some((_, h))) => {
                c.increment(1);
                h.record(seconds);
                true
            }
            _ => false,
        }
    }
}

impl RequestMetrics {
    /// Counts a request; `method` from [`method_label`], `route` a route template or [`UNMATCHED`].
    pub(crate) fn record(&self, method: &'static str, route: &str, status: u16, elapsed: Duration) {
        let seconds = elapsed.as_secs_f64();
        if let Ok(routes) = self.routes.read()
            && routes.get(route).is_some_and(|series| series.record(method, status, seconds))
        {
            return;
        }
        let Ok(mut routes) = self.routes.write() else { return };
        let series = routes.entry(route.into()).or_default();
        if !series.counters.iter().any(|(m, s, _)| *m == method && *s == status) {
            let labels = [("method", method.to_owned()), ("route", route.to_owned()), ("status", status.to_string())];
            series.counters.push((method, status, metrics::counter!("petty_http_requests_total", &labels)));
        }
        if !series.histograms.iter().any(|(m, _)| *m == method) {
            let labels = [("method", method.to_owned()), ("route", route.to_owned())];
            series.histograms.push((method, metrics::histogram!("petty_http_request_duration_seconds", &labels)));
        }
        series.record(method, status, seconds);
    }
}

static COOP: HeaderName = HeaderName::from_static("cross-origin-opener-policy");
static NOSNIFF: HeaderValue = HeaderValue::from_static("nosniff");
static DENY: HeaderValue = HeaderValue::from_static("DENY");
static REFERRER: HeaderValue = HeaderValue::from_static("strict-origin-when-cross-origin");
static SAME_ORIGIN: HeaderValue = HeaderValue::from_static("same-origin");
static HSTS: HeaderValue = HeaderValue::from_static("max-age=31536000");
/// The docs page (Swagger UI) styles itself inline; the dashboard is served from files.
static CSP_DOCS: HeaderValue = HeaderValue::from_static(
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; frame-ancestors 'none'",
);
static CSP_PAGE: HeaderValue = HeaderValue::from_static(
    "default-src 'self'; img-src 'self' data: https: http:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'",
);
/// Anything that is not an HTML page (JSON, CSS, SVG, metrics) may load and run nothing.
static CSP_NONE: HeaderValue = HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'");

/// Headers that keep browsers from sniffing, framing or leaking. HTML pages get the document
/// set (a CSP for the page, Referrer-Policy, Cross-Origin-Opener-Policy); every other answer
/// gets the short API set OWASP recommends (nosniff, no framing, a CSP that allows nothing),
/// which keeps a small JSON answer small. The values are statics: `from_static` checks every
/// byte, which for a CSP is not free on every response.
pub(crate) fn security_headers(headers: &mut HeaderMap, is_docs: bool, hsts: bool) {
    let is_html = headers.get(header::CONTENT_TYPE).is_some_and(|v| v.as_bytes().starts_with(b"text/html"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, NOSNIFF.clone());
    headers.insert(header::X_FRAME_OPTIONS, DENY.clone());
    let csp = if !is_html {
        &CSP_NONE
    } else if is_docs {
        &CSP_DOCS
    } else {
        &CSP_PAGE
    };
    headers.entry(header::CONTENT_SECURITY_POLICY).or_insert_with(|| csp.clone());
    if is_html {
        headers.insert(header::REFERRER_POLICY, REFERRER.clone());
        headers.insert(COOP.clone(), SAME_ORIGIN.clone());
    }
    if hsts {
        headers.insert(header::STRICT_TRANSPORT_SECURITY, HSTS.clone());
    }
}

/// The process-wide Prometheus recorder, installed on first use.
pub fn prometheus() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let builder = PrometheusBuilder::new()
            .set_buckets_for_metric(
                Matcher::Suffix("duration_seconds".to_owned()),
                &[0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0],
            )
            .unwrap_or_else(|_| PrometheusBuilder::new());
        match builder.install_recorder() {
            Ok(handle) => handle,
            // Another recorder is installed (a test harness): keep ours private.
            Err(_) => PrometheusBuilder::new().build_recorder().handle(),
        }
    })
}
