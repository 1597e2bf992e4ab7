//! Rate limits per client address and per signed-in user or API key (GCRA, via `governor`),
//! with `X-RateLimit-*` headers on every limited response and `Retry-After` on a 429.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::num::NonZeroU32;
use std::time::Duration;

use axum::extract::{ConnectInfo, Request};
use axum::http::{Extensions, HeaderMap, HeaderName, HeaderValue};
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use petty_core::accounts::ActorKind;

use crate::auth::Authentication;
use crate::config::RateLimitConfig;
use crate::error::{ApiError, ErrorCode};

type Limiter<K> = DefaultKeyedRateLimiter<K, StateInformationMiddleware>;

pub(crate) struct RateLimiters {
    config: RateLimitConfig,
    per_ip: Limiter<IpAddr>,
    per_principal: Limiter<uuid::Uuid>,
    clock: DefaultClock,
}

/// What one check decided, ready to become headers.
pub(crate) struct Decision {
    limit: u32,
    remaining: u32,
    reset: Duration,
    allowed: bool,
}

static LIMIT: HeaderName = HeaderName::from_static("x-ratelimit-limit");
static REMAINING: HeaderName = HeaderName::from_static("x-ratelimit-remaining");
static RESET: HeaderName = HeaderName::from_static("x-ratelimit-reset");

fn limiter<K: std::hash::Hash + Eq + Clone>(per_minute: u32) -> Limiter<K> {
    let n = NonZeroU32::new(per_minute.max(1)).unwrap_or(NonZeroU32::MIN);
    RateLimiter::keyed(Quota::per_minute(n)).with_middleware::<StateInformationMiddleware>()
}

impl RateLimiters {
    pub(crate) fn new(config: RateLimitConfig) -> Self {
        Self {
            config,
            per_ip: limiter(config.per_ip_per_minute),
            per_principal: limiter(config.per_principal_per_minute),
            clock: DefaultClock::default(),
        }
    }

    /// Forgets keys that are back to a full allowance, so memory follows active clients only.
    pub(crate) fn prune(&self) {
        self.per_ip.retain_recent();
        self.per_principal.retain_recent();
    }

    fn check<K: std::hash::Hash + Eq + Clone>(&self, limiter: &Limiter<K>, key: &K, per_minute: u32) -> Decision {
        let period = Duration::from_secs(60) / per_minute.max(1);
        match limiter.check_key(key) {
            Ok(snapshot) => {
                let remaining = snapshot.remaining_burst_capacity();
                Decision {
                    limit: per_minute,
                    remaining,
                    reset: period * per_minute.saturating_sub(remaining),
                    allowed: true,
                }
            }
            Err(not_until) => Decision {
                limit: per_minute,
                remaining: 0,
                reset: not_until.wait_time_from(self.clock.now()),
                allowed: false,
            },
        }
    }
}

/// The client's address: the socket peer, or the last `X-Forwarded-For` hop when Petty is told
/// to trust its proxy.
pub(crate) fn client_ip(req: &Request, trust_forwarded_for: bool) -> IpAddr {
    client_ip_of(req.headers(), req.extensions(), trust_forwarded_for)
}

/// [`client_ip`] from a request's parts (for extractors).
pub(crate) fn client_ip_of(headers: &HeaderMap, extensions: &Extensions, trust_forwarded_for: bool) -> IpAddr {
    if trust_forwarded_for
        && let Some(ip) = headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
            .and_then(|v| v.trim().parse().ok())
    {
        return ip;
    }
    extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip()).unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
}

impl RateLimiters {
    /// The per-address check; runs before authentication so bad credentials are limited too.
    /// `None` when limits are off.
    pub(crate) fn by_ip(&self, ip: IpAddr) -> Option<Decision> {
        self.config.enabled.then(|| self.check(&self.per_ip, &ip, self.config.per_ip_per_minute))
    }

    /// The per-user or per-key check, once authentication has named one.
    pub(crate) fn by_principal(&self, authentication: &Authentication) -> Option<Decision> {
        let principal = match authentication {
            Authentication::Authenticated(actor) => match actor.kind {
                ActorKind::User { user_id, .. } => user_id.0,
                ActorKind::ApiKey { key_id, .. } => key_id.0,
            },
            Authentication::Device(device) => device.device_id.0,
            Authentication::Anonymous | Authentication::Failed { .. } => return None,
        };
        self.config.enabled.then(|| self.check(&self.per_principal, &principal, self.config.per_principal_per_minute))
    }
}

impl Decision {
    pub(crate) fn allowed(&self) -> bool {
        self.allowed
    }

    /// `X-RateLimit-Limit/Remaining/Reset` for this decision, unless a response has them.
    pub(crate) fn write_headers(&self, headers: &mut HeaderMap) {
        if headers.contains_key(&LIMIT) {
            return;
        }
        let secs = self.reset.as_secs_f64().ceil() as u64;
        headers.insert(LIMIT.clone(), HeaderValue::from(self.limit));
        headers.insert(REMAINING.clone(), HeaderValue::from(self.remaining));
        headers.insert(RESET.clone(), HeaderValue::from(secs));
    }

    /// The 429 answer, saying whose allowance ran out (`"address"`, `"account or key"`).
    pub(crate) fn reject(&self, who: &str) -> Response {
        let secs = (self.reset.as_secs_f64().ceil() as u64).max(1);
        let mut response = ApiError::new(
            ErrorCode::RateLimited,
            format!("too many requests from this {who}: at most {} a minute; try again in {secs} s", self.limit),
        )
        .with_retry_after(secs)
        .into_response();
        self.write_headers(response.headers_mut());
        response
    }
}
