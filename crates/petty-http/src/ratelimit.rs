//! Rate limits per client address and per signed-in user or API key (GCRA, via `governor`),
//! with `X-RateLimit-*` headers on every limited response and `Retry-After` on a 429; and the
//! daily budget of language-model calls per person, which a use case spends through
//! [`crate::AppState::llm_budget`].

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
use petty_core::ids::UserId;
use petty_core::net::Network;

use crate::auth::Authentication;
use crate::config::RateLimitConfig;
use crate::error::{ApiError, ErrorCode};

type Limiter<K> = DefaultKeyedRateLimiter<K, StateInformationMiddleware>;

pub(crate) struct RateLimiters {
    config: RateLimitConfig,
    per_ip: Limiter<IpAddr>,
    per_principal: Limiter<uuid::Uuid>,
    /// Language-model calls per person: `llm.daily_calls_per_user` a day, in a burst too. None
    /// without a model.
    llm_calls: Option<DefaultKeyedRateLimiter<uuid::Uuid>>,
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

/// `per_day` a day, all of them at once if need be; one comes back every `24 h / per_day`.
fn daily_limiter(per_day: u32) -> Option<DefaultKeyedRateLimiter<uuid::Uuid>> {
    let n = NonZeroU32::new(per_day.max(1)).unwrap_or(NonZeroU32::MIN);
    let quota = Quota::with_period(Duration::from_secs(24 * 3600) / n.get())?.allow_burst(n);
    Some(RateLimiter::keyed(quota))
}

impl RateLimiters {
    /// `llm_daily_calls`: the budget of language-model calls per person, when there is a model.
    pub(crate) fn new(config: RateLimitConfig, llm_daily_calls: Option<u32>) -> Self {
        Self {
            config,
            per_ip: limiter(config.per_ip_per_minute),
            per_principal: limiter(config.per_principal_per_minute),
            llm_calls: llm_daily_calls.and_then(daily_limiter),
            clock: DefaultClock::default(),
        }
    }

    /// Forgets keys that are back to a full allowance, so memory follows active clients only.
    pub(crate) fn prune(&self) {
        self.per_ip.retain_recent();
        self.per_principal.retain_recent();
        if let Some(llm_calls) = &self.llm_calls {
            llm_calls.retain_recent();
        }
    }

    /// Spends one of `user`'s language-model calls of the day: `false` when they are spent, or
    /// when there is no model. The budget holds whether or not the rate limits are on: it caps
    /// what the model costs, not traffic.
    pub(crate) fn spend_llm_call(&self, user: UserId) -> bool {
        self.llm_calls.as_ref().is_some_and(|calls| calls.check_key(&user.0).is_ok())
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

/// Which `X-Forwarded-For` Petty believes: none (the default), any peer's (the older
/// `http.trust_forwarded_for`), or only that of peers in `http.trusted_proxies`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum ForwardedFor {
    #[default]
    Ignore,
    /// The last hop of any peer's header (behind a proxy no one can bypass).
    TrustAnyPeer,
    /// From these proxies only: the client is the nearest hop that is not one of them.
    TrustProxies(Vec<Network>),
}

/// The client's address: the socket peer, or, when the peer is a proxy Petty is told to trust,
/// the address that proxy (and any trusted proxies before it) saw the request come from.
pub(crate) fn client_ip(req: &Request, forwarded: &ForwardedFor) -> IpAddr {
    client_ip_of(req.headers(), req.extensions(), forwarded)
}

/// [`client_ip`] from a request's parts (for extractors).
pub(crate) fn client_ip_of(headers: &HeaderMap, extensions: &Extensions, forwarded: &ForwardedFor) -> IpAddr {
    let peer =
        extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip()).unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    forwarded_client(peer, headers, forwarded)
}

fn forwarded_client(peer: IpAddr, headers: &HeaderMap, forwarded: &ForwardedFor) -> IpAddr {
    // Every X-Forwarded-For line, in order: a proxy may add its own line after the client's.
    let hops = || {
        headers
            .get_all("x-forwarded-for")
            .iter()
            .flat_map(|v| v.to_str().unwrap_or("").split(','))
            .map(str::trim)
            .filter(|hop| !hop.is_empty())
            .rev()
    };
    match forwarded {
        ForwardedFor::Ignore => peer,
        ForwardedFor::TrustAnyPeer => hops().next().and_then(|hop| hop.parse().ok()).unwrap_or(peer),
        ForwardedFor::TrustProxies(proxies) => {
            let trusted = |ip: IpAddr| proxies.iter().any(|net| net.contains(ip));
            let mut client = peer;
            // Walk back from the peer while the hop is a proxy we trust; what a client wrote
            // further left is not believed.
            for hop in hops() {
                if !trusted(client) {
                    break;
                }
                match hop.parse::<IpAddr>() {
                    Ok(ip) => client = ip,
                    Err(_) => break,
                }
            }
            client
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn headers(lines: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for line in lines {
            headers.append("x-forwarded-for", HeaderValue::from_str(line).unwrap());
        }
        headers
    }

    #[test]
    fn each_person_spends_their_own_daily_llm_calls() {
        let (ana, bo) = (UserId::new(), UserId::new());
        let limits = RateLimiters::new(RateLimitConfig { enabled: false, ..RateLimitConfig::default() }, Some(3));
        assert_eq!([(); 4].map(|()| limits.spend_llm_call(ana)), [true, true, true, false]);
        assert!(limits.spend_llm_call(bo), "another person has their own calls");
        let no_model = RateLimiters::new(RateLimitConfig::default(), None);
        assert!(!no_model.spend_llm_call(ana));
    }

    #[test]
    fn the_client_is_the_nearest_hop_no_trusted_proxy_vouches_for() {
        let lb = ForwardedFor::TrustProxies(Network::parse_all(&["10.0.0.0/24"]).unwrap());
        // A load balancer at 10.0.0.2 adds the address it saw.
        let from_lb = headers(&["198.51.100.7"]);
        assert_eq!(forwarded_client(ip("10.0.0.2"), &from_lb, &lb), ip("198.51.100.7"));
        // A client that writes its own header is believed only as far as the proxy vouches.
        let spoofed = headers(&["1.2.3.4", "198.51.100.7"]);
        assert_eq!(forwarded_client(ip("10.0.0.2"), &spoofed, &lb), ip("198.51.100.7"));
        let one_line = headers(&["1.2.3.4, 198.51.100.7"]);
        assert_eq!(forwarded_client(ip("10.0.0.2"), &one_line, &lb), ip("198.51.100.7"));
        // Two proxies of ours in a row: the hop before both.
        let chained = headers(&["1.2.3.4, 198.51.100.7, 10.0.0.9"]);
        assert_eq!(forwarded_client(ip("10.0.0.2"), &chained, &lb), ip("198.51.100.7"));
        // Someone reaching Petty directly cannot name another address.
        assert_eq!(forwarded_client(ip("203.0.113.5"), &from_lb, &lb), ip("203.0.113.5"));
        // A proxy that sent no header, or garbage: the proxy itself.
        assert_eq!(forwarded_client(ip("10.0.0.2"), &HeaderMap::new(), &lb), ip("10.0.0.2"));
        assert_eq!(forwarded_client(ip("10.0.0.2"), &headers(&["unknown"]), &lb), ip("10.0.0.2"));
        // Without trusted proxies the header means nothing; the older switch trusts any peer.
        assert_eq!(forwarded_client(ip("10.0.0.2"), &spoofed, &ForwardedFor::Ignore), ip("10.0.0.2"));
        assert_eq!(forwarded_client(ip("203.0.113.5"), &spoofed, &ForwardedFor::TrustAnyPeer), ip("198.51.100.7"));
    }
}
