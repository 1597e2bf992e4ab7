//! The contract's rate limits: requests per user or API key in fixed windows of one UTC hour,
//! by the household's subscription tier (configuration: `rate_limit.petmgmt_*`), and per client
//! address a minute on `/auth/*`. A caller with neither is counted by address at the free
//! tier's hourly allowance. Every answer carries `X-RateLimit-Limit`, `-Remaining` and `-Reset`
//! (unix seconds of the window's end); past the limit, 429 RATE_LIMIT_EXCEEDED with
//! `retryAfter` and `Retry-After` (seconds to the reset).
//!
//! Counted in this node's memory: with N nodes behind a load balancer a caller gets up to N
//! times the allowance (the edge's own per-minute limits still hold per node too). Counters of
//! past windows are dropped as the maps grow.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Extension;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use petty_core::accounts::ActorKind;
use petty_core::billing::Tier;
use petty_core::ids::HouseholdId;
use petty_http::AppState;
use petty_http::auth::Authentication;
use petty_http::extract::ClientIp;
use time::OffsetDateTime;

use super::Fail;

/// What a caller is counted as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Key {
    Principal(uuid::Uuid),
    Address(IpAddr),
}

/// The profile's counters on this node.
#[derive(Default)]
pub(super) struct Counters {
    /// (window start in unix seconds, requests) per caller, windows of an hour.
    hourly: Mutex<HashMap<Key, (i64, u32)>>,
    /// The same per address on `/auth/*`, windows of a minute.
    auth: Mutex<HashMap<IpAddr, (i64, u32)>>,
    /// Each household's tier, remembered for a minute.
    tiers: Mutex<HashMap<HouseholdId, (Tier, Instant)>>,
    /// Data exports per person, windows of an hour.
    exports: Mutex<HashMap<uuid::Uuid, (i64, u32)>>,
}

/// Data exports a person may make in an hour.
const EXPORTS_PER_HOUR: u32 = 3;

/// Beyond this many callers, counters of past windows are dropped.
const MAX_KEYS: usize = 100_000;
const TIER_TTL: Duration = Duration::from_secs(60);

/// One request counted in a fixed window: (limit, remaining, reset at, allowed).
struct Count {
    limit: u32,
    remaining: u32,
    reset: i64,
    allowed: bool,
}

fn count<K: std::hash::Hash + Eq + Copy>(
    map: &Mutex<HashMap<K, (i64, u32)>>,
    key: K,
    window: i64,
    limit: u32,
    now: i64,
) -> Count {
    let start = now - now.rem_euclid(window);
    let reset = start + window;
    let Ok(mut map) = map.lock() else { return Count { limit, remaining: limit, reset, allowed: true } };
    if map.len() >= MAX_KEYS {
        map.retain(|_, (s, _)| *s == start);
    }
    let entry = map.entry(key).or_insert((start, 0));
    if entry.0 != start {
        *entry = (start, 0);
    }
    if entry.1 >= limit {
        return Count { limit, remaining: 0, reset, allowed: false };
    }
    entry.1 += 1;
    Count { limit, remaining: limit - entry.1, reset, allowed: true }
}

impl Counters {
    /// Counts an export of the person's; the seconds to wait when it is one too many.
    pub(super) fn export_wait(&self, user_id: petty_core::ids::UserId, now: i64) -> Option<u64> {
        let c = count(&self.exports, user_id.0, 3600, EXPORTS_PER_HOUR, now);
        (!c.allowed).then(|| u64::try_from(c.reset - now).unwrap_or(1))
    }

    async fn tier(&self, state: &AppState, household_id: HouseholdId) -> Tier {
        if let Ok(tiers) = self.tiers.lock()
            && let Some((tier, at)) = tiers.get(&household_id)
            && at.elapsed() < TIER_TTL
        {
            return *tier;
        }
        let tier = super::account::tier_of(state, household_id).await;
        if let Ok(mut tiers) = self.tiers.lock() {
            if tiers.len() >= MAX_KEYS {
                tiers.clear();
            }
            tiers.insert(household_id, (tier, Instant::now()));
        }
        tier
    }
}

fn write_headers(response: &mut Response, c: &Count) {
    crate::answers::rate_limit_headers(response, c.limit, c.remaining, u64::try_from(c.reset).unwrap_or(0));
}

fn refuse(c: &Count, now: i64) -> Response {
    let wait = u64::try_from(c.reset - now).unwrap_or(1);
    let mut response = Fail::new(StatusCode::TOO_MANY_REQUESTS, "RATE_LIMIT_EXCEEDED", "API rate limit exceeded")
        .retry_after(wait)
        .into_response();
    write_headers(&mut response, c);
    response
}

/// The layer: counts the request where the contract says, refuses it past a limit, and puts
/// the caller's allowance on the answer (the edge leaves an answer's own `X-RateLimit-*` alone).
pub(super) async fn limit(
    State(state): State<AppState>,
    Extension(counters): Extension<Arc<Counters>>,
    ClientIp(ip): ClientIp,
    request: Request,
    next: Next,
) -> Response {
    let settings = state.config.petmgmt_limits;
    if !settings.enabled {
        return next.run(request).await;
    }
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let path = request.uri().path();
    let is_auth = super::PREFIXES.iter().any(|p| path.strip_prefix(p).is_some_and(|rest| rest.starts_with("/auth/")));
    let auth_count = is_auth.then(|| count(&counters.auth, ip, 60, settings.auth_per_ip_per_minute, now));
    if let Some(c) = auth_count.as_ref().filter(|c| !c.allowed) {
        return refuse(c, now);
    }
    let principal = match request.extensions().get::<Authentication>() {
        Some(Authentication::Authenticated(actor)) => Some((
            match actor.kind {
                ActorKind::User { user_id, .. } => user_id.0,
                ActorKind::ApiKey { key_id, .. } => key_id.0,
            },
            actor.household_id,
        )),
        _ => None,
    };
    let hourly = match principal {
        Some((id, household_id)) => {
            let allowance = match counters.tier(&state, household_id).await {
                Tier::Free => settings.free_per_hour,
                Tier::Premium => settings.premium_per_hour,
                Tier::Enterprise => settings.enterprise_per_hour,
            };
            Some(count(&counters.hourly, Key::Principal(id), 3600, allowance, now))
        }
        // Signing in is counted by the minute above; anything else anonymous by address.
        None if !is_auth => Some(count(&counters.hourly, Key::Address(ip), 3600, settings.free_per_hour, now)),
        None => None,
    };
    if let Some(c) = hourly.as_ref().filter(|c| !c.allowed) {
        return refuse(c, now);
    }
    let mut response = next.run(request).await;
    if let Some(c) = hourly.as_ref().or(auth_count.as_ref()) {
        write_headers(&mut response, c);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_are_fixed_and_reset_at_their_end() {
        let map = Mutex::new(HashMap::new());
        let hour = 1_700_000_000 - 1_700_000_000 % 3600;
        let first = count(&map, 1u8, 3600, 2, hour + 10);
        assert_eq!((first.remaining, first.reset, first.allowed), (1, hour + 3600, true));
        assert!(count(&map, 1u8, 3600, 2, hour + 20).allowed);
        let third = count(&map, 1u8, 3600, 2, hour + 3599);
        assert!(!third.allowed && third.remaining == 0);
        assert!(count(&map, 1u8, 3600, 2, hour + 3600).allowed, "a new hour, a new allowance");
        assert!(count(&map, 2u8, 3600, 2, hour + 3599).allowed, "each caller its own");
    }
}
