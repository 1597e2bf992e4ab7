//! The contract's rate limits: sliding 60-second windows (configuration:
//! `rate_limit.aurora_*`), keyed by the signed-in user (or API key), or by the client's address
//! without a valid token: every request under `/compat/aurora` (the health checks aside), the
//! predictions per user and kind (energy, mood), insight generations per user. A request is
//! counted only when every window it falls in lets it through.
//!
//! Limited answers carry `X-RateLimit-Limit`, `-Remaining` and `-Reset` (unix seconds) of the
//! tightest window; the request past a limit answers 429 with the contract's body and
//! `Retry-After`: the whole seconds until the oldest counted request leaves the window (1–60).
//!
//! Counted in this node's memory: with N nodes behind a load balancer a user gets up to N times
//! the allowance (the edge's own per-minute limits still hold per node too). Callers quiet for a
//! minute are forgotten as the map grows.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Extension;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use petty_core::accounts::ActorKind;
use petty_http::AppState;
use petty_http::auth::Authentication;
use petty_http::extract::ClientIp;
use serde_json::{Value, json};

use super::Fail;

const WINDOW: Duration = Duration::from_secs(60);
/// Beyond this many windows, the empty ones are dropped.
const MAX_KEYS: usize = 100_000;

/// Whom a request is counted against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Key {
    Principal(uuid::Uuid),
    Address(IpAddr),
}

/// Which allowance a window counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Bucket {
    All,
    Energy,
    Mood,
    Insights,
}

/// The profile's windows on this node: when each counted request came, per key and allowance.
#[derive(Default)]
pub(super) struct Windows {
    seen: Mutex<HashMap<(Key, Bucket), VecDeque<Instant>>>,
}

/// One window's state for a request: its allowance, what is left, when its oldest request
/// leaves it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Count {
    limit: u32,
    remaining: u32,
    /// Until the oldest counted request leaves the window (after this one is counted).
    reset: Duration,
    allowed: bool,
}

impl Windows {
    /// Checks `request` against each `(bucket, limit)` at `now`; counts it in every one only if
    /// all let it through. Answers each window's count.
    fn count(&self, key: Key, limits: &[(Bucket, u32)], now: Instant) -> Vec<Count> {
        let Ok(mut seen) = self.seen.lock() else {
            return limits
                .iter()
                .map(|(_, l)| Count { limit: *l, remaining: *l, reset: WINDOW, allowed: true })
                .collect();
        };
        if seen.len() >= MAX_KEYS {
            seen.retain(|_, times| times.back().is_some_and(|t| now.duration_since(*t) < WINDOW));
        }
        let mut counts = Vec::with_capacity(limits.len());
        for (bucket, limit) in limits {
            let times = seen.entry((key, *bucket)).or_default();
            while times.front().is_some_and(|t| now.duration_since(*t) >= WINDOW) {
                times.pop_front();
            }
            let used = u32::try_from(times.len()).unwrap_or(u32::MAX);
            let oldest = times.front().copied().unwrap_or(now);
            let reset = WINDOW.saturating_sub(now.duration_since(oldest));
            counts.push(Count { limit: *limit, remaining: limit.saturating_sub(used), reset, allowed: used < *limit });
        }
        if counts.iter().all(|c| c.allowed) {
            for ((bucket, _), c) in limits.iter().zip(counts.iter_mut()) {
                if let Some(times) = seen.get_mut(&(key, *bucket)) {
                    times.push_back(now);
                }
                c.remaining = c.remaining.saturating_sub(1);
            }
        }
        counts
    }
}

/// The contract's 429 `detail`.
pub(super) fn exceeded(limit: u64, retry_after: u64) -> Value {
    json!({
        "error": "Rate limit exceeded",
        "message": format!("Too many requests. Limit: {limit} requests per minute."),
        "retry_after": retry_after,
    })
}

/// Whole seconds, rounded up, 1–60.
fn seconds(d: Duration) -> u64 {
    (d.as_secs() + u64::from(d.subsec_nanos() > 0)).clamp(1, 60)
}

fn write_headers(response: &mut Response, c: &Count) {
    let unix = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    crate::answers::rate_limit_headers(response, c.limit, c.remaining, seconds_since_epoch(unix + c.reset));
}

fn seconds_since_epoch(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

/// The allowances a request to `path` counts against, beside the general one.
fn buckets(path: &str, limits: petty_http::AuroraLimits) -> Vec<(Bucket, u32)> {
    let path = path.trim_end_matches('/');
    let mut out = vec![(Bucket::All, limits.per_minute)];
    let prediction = |kind: &str| {
        path.ends_with(&format!("/predictions/{kind}"))
            || path.ends_with(&format!("/ai/predict/{kind}"))
            || path.rsplit_once('/').is_some_and(|(head, _)| head.ends_with(&format!("/ai/predict/{kind}")))
    };
    if prediction("energy") {
        out.push((Bucket::Energy, limits.predictions_per_minute));
    } else if prediction("mood") {
        out.push((Bucket::Mood, limits.predictions_per_minute));
    } else if path.ends_with("/insights/generate") {
        out.push((Bucket::Insights, limits.insights_per_minute));
    }
    out
}

/// Health checks a load balancer polls, never limited.
fn is_health_check(path: &str) -> bool {
    matches!(
        path.trim_end_matches('/'),
        "/compat/aurora/health" | "/compat/aurora/health/live" | "/compat/aurora/health/ready"
    )
}

/// The layer: counts the request, refuses it past a limit, and puts the tightest window on the
/// answer (the edge leaves an answer's own `X-RateLimit-*` alone).
pub(super) async fn limit(
    State(state): State<AppState>,
    Extension(windows): Extension<Arc<Windows>>,
    ClientIp(ip): ClientIp,
    request: Request,
    next: Next,
) -> Response {
    let settings = state.config.aurora_limits;
    let path = request.uri().path();
    if !settings.enabled || is_health_check(path) {
        return next.run(request).await;
    }
    let key = match request.extensions().get::<Authentication>() {
        Some(Authentication::Authenticated(actor)) => Key::Principal(match actor.kind {
            ActorKind::User { user_id, .. } => user_id.0,
            ActorKind::ApiKey { key_id, .. } => key_id.0,
        }),
        _ => Key::Address(ip),
    };
    let limits = buckets(path, settings);
    let counts = windows.count(key, &limits, Instant::now());
    if let Some(refused) = counts.iter().find(|c| !c.allowed) {
        let retry = seconds(refused.reset);
        let mut response = Fail::too_many(exceeded(u64::from(refused.limit), retry), retry).into_response();
        write_headers(&mut response, refused);
        return response;
    }
    let mut response = next.run(request).await;
    if let Some(tightest) = counts.iter().min_by_key(|c| c.remaining) {
        write_headers(&mut response, tightest);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_slide_and_refusals_do_not_count() {
        let windows = Windows::default();
        let key = Key::Principal(uuid::Uuid::nil());
        let t0 = Instant::now();
        let limits = [(Bucket::All, 3), (Bucket::Energy, 2)];
        let at = |s: u64| t0 + Duration::from_secs(s);
        assert!(windows.count(key, &limits, at(0)).iter().all(|c| c.allowed));
        let second = windows.count(key, &limits, at(10));
        assert_eq!(second.iter().map(|c| c.remaining).collect::<Vec<_>>(), [1, 0]);
        assert_eq!(second[1].reset, Duration::from_secs(50), "until the first leaves");
        let third = windows.count(key, &limits, at(20));
        assert!(!third[1].allowed && third[0].allowed);
        assert_eq!(seconds(third[1].reset), 40);
        // The refused one was not counted anywhere: the general window still has one left.
        assert!(windows.count(key, &[(Bucket::All, 3)], at(21))[0].allowed);
        assert!(!windows.count(key, &[(Bucket::All, 3)], at(22))[0].allowed);
        // A minute after the first, it has left every window.
        assert!(windows.count(key, &limits, at(60)).iter().all(|c| c.allowed));
    }

    #[test]
    fn predictions_and_generations_have_their_own_allowance() {
        let l = petty_http::AuroraLimits::default();
        let kinds = |p: &str| buckets(p, l).into_iter().map(|(b, _)| b).collect::<Vec<_>>();
        assert_eq!(kinds("/compat/aurora/api/v1/predictions/energy/"), [Bucket::All, Bucket::Energy]);
        assert_eq!(kinds("/compat/aurora/api/ai/predict/mood/0000"), [Bucket::All, Bucket::Mood]);
        assert_eq!(kinds("/compat/aurora/api/ai/predict/energy"), [Bucket::All, Bucket::Energy]);
        assert_eq!(kinds("/compat/aurora/api/v1/insights/generate"), [Bucket::All, Bucket::Insights]);
        assert_eq!(kinds("/compat/aurora/api/v1/events"), [Bucket::All]);
    }
}
