//! IP networks as the configuration writes them (`10.0.0.0/8`, `192.168.1.20`, `fd00::/8`):
//! the networks webhooks may reach besides public addresses, and the proxies whose
//! `X-Forwarded-For` Petty believes.

use core::fmt;
// Addresses only: `core` has no sockets.
use core::net::IpAddr;

/// An address and a prefix length; an address alone is a network of one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Network {
    addr: IpAddr,
    prefix: u8,
}

impl Network {
    /// Reads `addr/prefix` or `addr`; the error names the entry.
    pub fn parse(entry: &str) -> Result<Network, String> {
        let entry = entry.trim();
        let (addr, prefix) = match entry.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (entry, None),
        };
        let addr: IpAddr = addr.parse().map_err(|_| format!("{entry:?} is not an address or network"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p.parse::<u8>().ok().filter(|p| *p <= max).ok_or_else(|| format!("{entry:?}: bad prefix"))?,
        };
        // `::ffff:10.0.0.0/104` is `10.0.0.0/8`.
        let mapped = canonical(addr);
        let prefix = if mapped == addr { prefix } else { prefix.saturating_sub(96) };
        Ok(Network { addr: mapped, prefix })
    }

    /// Reads every entry; the error names the first that is not a network.
    pub fn parse_all<S: AsRef<str>>(entries: &[S]) -> Result<Vec<Network>, String> {
        entries.iter().map(|e| Network::parse(e.as_ref())).collect()
    }

    /// Whether `ip` is in this network (an IPv4-mapped IPv6 address counts as its IPv4 one).
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (canonical(ip), self.addr) {
            (IpAddr::V4(a), IpAddr::V4(n)) => {
                let mask = if self.prefix == 0 { 0 } else { u32::MAX << (32 - u32::from(self.prefix)) };
                u32::from(a) & mask == u32::from(n) & mask
            }
            (IpAddr::V6(a), IpAddr::V6(n)) => {
                let mask = if self.prefix == 0 { 0 } else { u128::MAX << (128 - u32::from(self.prefix)) };
                u128::from(a) & mask == u128::from(n) & mask
            }
            _ => false,
        }
    }
}

impl fmt::Display for Network {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// An IPv4-mapped IPv6 address (`::ffff:127.0.0.1`) as the IPv4 address it is.
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn networks_are_read_and_matched() {
        let lan = Network::parse(" 192.168.1.0/24 ").unwrap();
        assert!(lan.contains(ip("192.168.1.77")) && !lan.contains(ip("192.168.2.1")));
        assert!(lan.contains(ip("::ffff:192.168.1.9")), "a mapped address is its IPv4 one");
        let one = Network::parse("10.0.0.5").unwrap();
        assert!(one.contains(ip("10.0.0.5")) && !one.contains(ip("10.0.0.6")));
        let v6 = Network::parse("fd00::/8").unwrap();
        assert!(v6.contains(ip("fd12::1")) && !v6.contains(ip("fe80::1")) && !v6.contains(ip("10.0.0.5")));
        assert!(Network::parse("0.0.0.0/0").unwrap().contains(ip("8.8.8.8")));
        let mapped = Network::parse("::ffff:10.0.0.0/104").unwrap();
        assert!(mapped.contains(ip("10.1.2.3")), "a mapped network is its IPv4 one: {mapped}");
        for bad in ["", "10.0.0.0/33", "fd00::/129", "example.org", "10.0.0/8", "10.0.0.0/x"] {
            assert!(Network::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(Network::parse_all(&["10.0.0.0/8", "nope"]).unwrap_err(), "\"nope\" is not an address or network");
    }
}
