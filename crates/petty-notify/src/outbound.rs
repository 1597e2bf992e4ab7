//! The outbound request policy: the one place that decides whether Petty may call a URL a user
//! gave it (webhooks today). A URL is hostile until checked:
//!
//! - only `http` and `https`, with a host, no credentials, at most 2,000 characters;
//! - the host is resolved first, and every address it resolves to must be public: loopback,
//!   private, shared (CGNAT), link-local (which holds cloud metadata services), multicast,
//!   broadcast, documentation and unspecified addresses are refused, in whatever spelling the
//!   URL wrote them (`127.1`, `2130706433`, `0x7f.0.0.1`, `[::1]`, `[::ffff:127.0.0.1]`), unless
//!   the configuration's allow-list names their network;
//! - the request then goes to the addresses that were checked (the name is not looked up again,
//!   so a second DNS answer cannot move it), follows no redirect, and its answer's body is never
//!   read.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use petty_core::net::{Network, canonical};
use reqwest::Url;

/// Networks the configuration allows although they are not public, as `10.0.0.0/8` or an
/// address alone (`192.168.1.20`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OutboundPolicy {
    allow: Vec<Network>,
}

/// Why a URL may not be called. The text names the rule, and never says whether the host
/// answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refused {
    /// Not an http or https URL with a host, or too long.
    Malformed(&'static str),
    /// `user:password@` in the URL.
    Credentials,
    /// The host resolves to an address the policy refuses.
    NotPublic(IpAddr),
    /// The host does not resolve.
    Unresolvable,
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refused::Malformed(why) => write!(f, "url {why}"),
            Refused::Credentials => f.write_str("url must not carry a user name or password"),
            Refused::NotPublic(ip) => write!(
                f,
                "url must reach a public address; {ip} is loopback, private, link-local or reserved \
                 (an administrator may allow its network with notify.outbound_allow)"
            ),
            Refused::Unresolvable => f.write_str("url's host does not resolve"),
        }
    }
}

impl std::error::Error for Refused {}

impl OutboundPolicy {
    /// A policy allowing, beyond public addresses, the networks written as `addr/prefix` or
    /// `addr`. Answers the entry that is not one.
    pub fn new<S: AsRef<str>>(allow: &[S]) -> Result<Self, String> {
        Ok(Self { allow: Network::parse_all(allow)? })
    }

    /// Whether a request may go to `ip`.
    pub fn allows(&self, ip: IpAddr) -> bool {
        is_public(ip) || self.allow.iter().any(|net| net.contains(ip))
    }

    /// Checks a URL's form and, when its host is written as an address, that address: what can
    /// be known without the network (for refusing a webhook when it is made).
    pub fn check_form(&self, raw: &str) -> Result<Url, Refused> {
        let url = parse(raw)?;
        if let Some(ip) = literal_ip(&url)
            && !self.allows(ip)
        {
            return Err(Refused::NotPublic(ip));
        }
        Ok(url)
    }

    /// Resolves the URL's host and checks every address: the addresses a request may go to.
    pub async fn resolve(&self, url: &Url) -> Result<Vec<SocketAddr>, Refused> {
        let port = url.port_or_known_default().ok_or(Refused::Malformed("has no port"))?;
        let addrs: Vec<SocketAddr> = match literal_ip(url) {
            Some(ip) => vec![SocketAddr::new(ip, port)],
            None => {
                let host = url.host_str().ok_or(Refused::Malformed("has no host"))?;
                tokio::net::lookup_host((host, port)).await.map_err(|_| Refused::Unresolvable)?.collect()
            }
        };
        if addrs.is_empty() {
            return Err(Refused::Unresolvable);
        }
        // Every address, not just the first: a name that also points inside is refused.
        if let Some(bad) = addrs.iter().find(|a| !self.allows(a.ip())) {
            return Err(Refused::NotPublic(canonical(bad.ip())));
        }
        Ok(addrs)
    }

    /// A client for one request to `url`: pinned to the checked addresses, no redirects, no
    /// proxy, `timeout` for the whole exchange.
    pub async fn client(&self, url: &Url, timeout: std::time::Duration) -> Result<reqwest::Client, Refused> {
        let addrs = self.resolve(url).await?;
        let mut builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .timeout(timeout)
            .connect_timeout(timeout);
        if let Some(host) = url.host_str()
            && literal_ip(url).is_none()
        {
            builder = builder.resolve_to_addrs(host, &addrs);
        }
        builder.build().map_err(|_| Refused::Malformed("cannot be called"))
    }
}

fn parse(raw: &str) -> Result<Url, Refused> {
    let raw = raw.trim();
    if raw.len() > 2000 {
        return Err(Refused::Malformed("must be at most 2000 characters"));
    }
    let url = Url::parse(raw).map_err(|_| Refused::Malformed("must be an http:// or https:// URL"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(Refused::Malformed("must be an http:// or https:// URL"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(Refused::Malformed("must name a host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Refused::Credentials);
    }
    Ok(url)
}

/// The URL's host when it is an address (the URL parser has already read `127.1`,
/// `2130706433` and `0x7f.0.0.1` as 127.0.0.1).
fn literal_ip(url: &Url) -> Option<IpAddr> {
    let host = url.host_str()?;
    host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host).parse().ok()
}

/// Whether an address is on the public internet (IANA's special-purpose registries).
fn is_public(ip: IpAddr) -> bool {
    match canonical(ip) {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_multicast()
        || ip.is_broadcast()
        || ip.is_documentation()
        || a == 0 // "this network"
        || (a == 100 && (64..128).contains(&b)) // shared address space (CGNAT)
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || a >= 240) // reserved
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || (first & 0xfe00) == 0xfc00 // unique local
        || (first & 0xffc0) == 0xfe80 // link-local
        || (first & 0xffc0) == 0xfec0 // site-local (deprecated)
        || first == 0x2001 && ip.segments()[1] == 0x0db8 // documentation
        || first == 0x0064 && ip.segments()[1] == 0xff9b // NAT64, which reaches IPv4 inside
        || ip.to_ipv4().is_some()) // IPv4-compatible (::a.b.c.d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_spelling_of_an_inside_address_is_refused() {
        let policy = OutboundPolicy::default();
        for raw in [
            "http://127.0.0.1:19999/hook",
            "http://127.1/",
            "http://2130706433/",
            "http://0x7f.0.0.1/",
            "http://0177.0.0.1/",
            "http://0.0.0.0/",
            "http://[::1]/",
            "http://[::ffff:127.0.0.1]/",
            "http://[::ffff:7f00:1]/",
            "http://169.254.169.254/latest/meta-data/",
            "http://10.0.0.1/",
            "http://172.16.5.4/",
            "http://192.168.1.1/",
            "http://100.64.0.1/",
            "http://[fd00::1]/",
            "http://[fe80::1]/",
            "http://224.0.0.1/",
            "http://255.255.255.255/",
        ] {
            assert!(matches!(policy.check_form(raw), Err(Refused::NotPublic(_))), "{raw}");
        }
    }

    #[test]
    fn public_addresses_and_names_pass_the_form_check() {
        let policy = OutboundPolicy::default();
        for raw in ["https://8.8.8.8/hook", "https://hooks.example.com/petty", "http://[2606:4700::1111]/"] {
            assert!(policy.check_form(raw).is_ok(), "{raw}");
        }
    }

    #[test]
    fn credentials_schemes_and_missing_hosts_are_refused() {
        let policy = OutboundPolicy::default();
        assert_eq!(policy.check_form("https://user:pass@hooks.example.com/").unwrap_err(), Refused::Credentials);
        assert_eq!(policy.check_form("https://user@hooks.example.com/").unwrap_err(), Refused::Credentials);
        for raw in ["ftp://example.com/", "file:///etc/passwd", "gopher://x/", "not a url", "http://"] {
            assert!(matches!(policy.check_form(raw), Err(Refused::Malformed(_))), "{raw}");
        }
        assert!(policy.check_form(&format!("https://example.com/{}", "a".repeat(2000))).is_err());
    }

    #[test]
    fn the_allow_list_admits_its_networks_only() {
        let policy = OutboundPolicy::new(&["127.0.0.1", "10.1.0.0/16", "fd00::/8"]).unwrap();
        assert!(policy.allows("127.0.0.1".parse().unwrap()));
        assert!(policy.allows("::ffff:127.0.0.1".parse().unwrap()), "the mapped spelling too");
        assert!(!policy.allows("127.0.0.2".parse().unwrap()));
        assert!(policy.allows("10.1.200.3".parse().unwrap()));
        assert!(!policy.allows("10.2.0.1".parse().unwrap()));
        assert!(policy.allows("fd12::1".parse().unwrap()));
        assert!(!policy.allows("fe80::1".parse().unwrap()));
        assert!(OutboundPolicy::new(&["10.0.0.0/33"]).is_err());
        assert!(OutboundPolicy::new(&["intranet"]).is_err());
    }

    #[tokio::test]
    async fn a_name_is_resolved_and_every_address_checked() {
        let policy = OutboundPolicy::default();
        let url = policy.check_form("http://localhost:9/hook").unwrap();
        assert!(matches!(policy.resolve(&url).await, Err(Refused::NotPublic(_))), "localhost is loopback");
        let allowed = OutboundPolicy::new(&["127.0.0.0/8", "::1"]).unwrap();
        let addrs = allowed.resolve(&url).await.unwrap();
        assert!(addrs.iter().all(|a| a.ip().is_loopback() && a.port() == 9), "{addrs:?}");
        let nowhere = policy.check_form("http://no-such-host.invalid/").unwrap();
        assert_eq!(policy.resolve(&nowhere).await.unwrap_err(), Refused::Unresolvable);
    }
}
