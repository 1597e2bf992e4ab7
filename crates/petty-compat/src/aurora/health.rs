//! `/compat/aurora/health`, `/health/ready`, `/health/live` and `/health/detailed`. Petty has no
//! Redis: the `redis` key is kept because AURORA's clients and tests read it, and it reports the
//! event bus that does Redis's job here (in-process, or NATS across nodes).

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::StatusCode;
use petty_http::AppState;
use serde_json::{Value, json};
use time::OffsetDateTime;

use super::{Answer, Caller, ok, ts};

/// When the profile was mounted: the process's start, near enough.
static STARTED: OnceLock<Instant> = OnceLock::new();

pub(super) fn note_start() {
    STARTED.get_or_init(Instant::now);
}

const SERVICE: &str = "aurora-life-api";

fn environment() -> &'static str {
    if cfg!(debug_assertions) { "development" } else { "production" }
}

/// Whether the database answers within 2 seconds.
async fn database_answers(state: &AppState) -> bool {
    match tokio::time::timeout(Duration::from_secs(2), state.store.ping()).await {
        Ok(Ok(())) => true,
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "compat/aurora: readiness check failed");
            false
        }
        Err(_) => false,
    }
}

/// `GET /compat/aurora/health`.
pub(super) async fn health(State(state): State<AppState>) -> Answer {
    let database = if database_answers(&state).await { "connected" } else { "disconnected" };
    Ok(ok(
        StatusCode::OK,
        json!({
            "status": "healthy",
            "service": SERVICE,
            "timestamp": ts(OffsetDateTime::now_utc()),
            "environment": environment(),
            "database": database,
            "redis": "connected",
        }),
    ))
}

/// The readiness fields, and whether the node is ready.
async fn readiness(state: &AppState) -> (bool, Value) {
    let up = database_answers(state).await;
    let database = json!({
        "status": if up { "healthy" } else { "unhealthy" },
        "backend": state.store.backend_name(),
    });
    let bus = json!({
        "status": "healthy",
        "backend": if state.bus.spans_nodes() { "nats" } else { "in-process" },
    });
    let body = json!({
        "status": if up { "ready" } else { "not_ready" },
        "timestamp": ts(OffsetDateTime::now_utc()),
        "database": database,
        "redis": bus,
        "checks": {"database": database, "redis": bus},
    });
    (up, body)
}

/// `GET /compat/aurora/health/ready`: 503 while the database does not answer.
pub(super) async fn ready(State(state): State<AppState>) -> Answer {
    let (up, body) = readiness(&state).await;
    let status = if up { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    let mut response = ok(status, body);
    response.extensions_mut().insert(super::Shaped);
    Ok(response)
}

/// `GET /compat/aurora/health/live`.
pub(super) async fn live() -> Answer {
    Ok(ok(StatusCode::OK, json!({"status": "alive", "timestamp": ts(OffsetDateTime::now_utc())})))
}

/// `GET /compat/aurora/health/detailed`: any valid token (a member's or an API key).
pub(super) async fn detailed(State(state): State<AppState>, _caller: Caller) -> Answer {
    let (up, mut body) = readiness(&state).await;
    let uptime = STARTED.get().map_or(0, |t| t.elapsed().as_secs());
    body["application"] = json!({
        "name": "petty",
        "version": env!("CARGO_PKG_VERSION"),
        "environment": environment(),
        "uptime_seconds": uptime,
    });
    body["system"] = json!({
        "cpu_count": std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get),
        "memory_rss_bytes": resident_bytes(),
        "disk_free_bytes": Value::Null,
    });
    let status = if up { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    let mut response = ok(status, body);
    response.extensions_mut().insert(super::Shaped);
    Ok(response)
}

/// The process's resident memory, where the system tells it (`/proc/self/status` on Linux).
fn resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}
