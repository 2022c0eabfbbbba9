//! The SSRF guard: the server calls upstream URLs (an issuer, a token endpoint, later a hostname
//! a user typed), so it refuses those that resolve to loopback, private, link-local (which holds
//! the cloud metadata address 169.254.169.254), shared or unspecified addresses — in IPv6, any
//! but global unicast, and an IPv4 address carried inside an IPv6 one (NAT64, 6to4,
//! IPv4-mapped) by the IPv4 rules ([`is_refused`]) — unless the operator allows them
//! (`allow_private_upstreams`). Names are checked after DNS resolution (the
//! HTTP client's resolver is [`Resolver`]), IP literals by [`check_url`]; the client follows no
//! redirect, so there is none to check.

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// Whether `ip` is an address the server must not call unless allowed.
///
/// IPv4: loopback, private, link-local, shared (RFC 6598), unspecified, broadcast,
/// documentation, `0.0.0.0/8`, multicast and reserved are refused.
///
/// IPv6 is checked by allowing rather than refusing: only global unicast (`2000::/3`) is
/// called, without the documentation prefix (`2001:db8::/32`) and Teredo (`2001::/32`, whose
/// client address is hidden). An address that carries an IPv4 one the network may route to is
/// judged by that IPv4 address ([`embedded_ipv4`]): 6to4 (`2002::/16`), the NAT64 well-known
/// prefix (`64:ff9b::/96`) and IPv4-mapped (`::ffff:0:0/96`). Everything else outside
/// `2000::/3` is refused — loopback, unspecified, IPv4-compatible (`::/96`) and
/// IPv4-translated (`::ffff:0:0:0/96`), the local-use NAT64 prefix (`64:ff9b:1::/48`, whose
/// IPv4 address sits where its operator chose), unique local, link-local, site-local,
/// multicast, discard-only: an allow-list, so that a range we did not think of is refused.
pub fn is_refused(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_documentation()
                || a == 0
                || (a == 100 && (64..128).contains(&b)) // shared address space (RFC 6598)
                || a >= 224 // multicast and reserved
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = embedded_ipv4(v6) {
                return is_refused(IpAddr::V4(v4));
            }
            let [first, second, ..] = v6.segments();
            let global_unicast = (first & 0xe000) == 0x2000;
            let teredo_or_documentation = first == 0x2001 && (second == 0 || second == 0x0db8);
            !global_unicast || teredo_or_documentation
        }
    }
}

/// The IPv4 address that an IPv6 address reaching IPv4 carries: 6to4 (`2002:AABB:CCDD::/48`),
/// the NAT64 well-known prefix (`64:ff9b::AABB:CCDD`, RFC 6052) and IPv4-mapped
/// (`::ffff:AABB:CCDD`); `None` for any other address.
pub fn embedded_ipv4(v6: Ipv6Addr) -> Option<Ipv4Addr> {
    let segments = v6.segments();
    let octets = v6.octets();
    let last = Ipv4Addr::new(octets[12], octets[13], octets[14], octets[15]);
    match segments {
        [0x2002, ..] => Some(Ipv4Addr::new(octets[2], octets[3], octets[4], octets[5])),
        [0x64, 0xff9b, 0, 0, 0, 0, _, _] => Some(last),
        _ => v6.to_ipv4_mapped(),
    }
}

/// Refuses a URL whose host is an IP literal the guard refuses (names are checked when they
/// resolve, by [`Resolver`]).
pub fn check_url(url: &url::Url, allow_private: bool) -> Result<(), String> {
    let ip = match url.host() {
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip),
        Some(url::Host::Domain(_)) => return Ok(()),
        None => return Err("the URL has no host".to_owned()),
    };
    if !allow_private && is_refused(ip) {
        return Err(format!("the address {ip} is a private or local one, which this server does not call"));
    }
    Ok(())
}

/// Whether `host` (a hostname, optionally `:port`, as typed in the pop-up) matches `pattern`,
/// where `*` stands for one DNS label or a port number (`*.service-now.com`, `127.0.0.1:*`);
/// a pattern of several, separated by spaces, is matched by matching any of them (Zoho's data
/// centres: `accounts.zoho.* accounts.zoho.com.* accounts.zohocloud.ca`). Compared in
/// lowercase; anything but letters, digits, `-`, `.` and one `:` never matches.
pub fn matches_pattern(host: &str, pattern: &str) -> bool {
    pattern.split_whitespace().any(|one| matches_one(host, one))
}

fn matches_one(host: &str, pattern: &str) -> bool {
    let host = host.to_ascii_lowercase();
    if host.is_empty()
        || host.len() > 253
        || host.matches(':').count() > 1
        || !host.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b':')
    {
        return false;
    }
    let split = |text: &str| -> Vec<String> { text.split(['.', ':']).map(str::to_owned).collect() };
    let separators = |text: &str| -> Vec<char> { text.chars().filter(|c| *c == '.' || *c == ':').collect() };
    let pattern = pattern.to_ascii_lowercase();
    if separators(&host) != separators(&pattern) {
        return false;
    }
    split(&host)
        .iter()
        .zip(split(&pattern))
        .all(|(label, want)| !label.is_empty() && label.len() <= 63 && (want == "*" || *label == want))
}

/// Checks a typed hostname before any request is made to it: it must resolve, and (unless
/// `allow_private`) to no refused address.
pub async fn check_host(host: &str, allow_private: bool) -> Result<(), String> {
    let (name, port) = match host.rsplit_once(':') {
        Some((name, port)) => (name, port.parse::<u16>().map_err(|_| "the port is not a number".to_owned())?),
        None => (host, 443),
    };
    let found: Vec<SocketAddr> = tokio::net::lookup_host((name, port))
        .await
        .map_err(|_| format!("{name} could not be found"))?
        .collect();
    if found.is_empty() {
        return Err(format!("{name} could not be found"));
    }
    if !allow_private && found.iter().any(|addr| is_refused(addr.ip())) {
        return Err(format!("{name} is a private or local address, which this server does not call"));
    }
    Ok(())
}

/// The HTTP client's DNS resolver: the system's, without the refused addresses (unless
/// allowed); a name left with none fails to connect.
#[derive(Clone, Copy, Debug)]
pub struct Resolver {
    /// Whether private and local addresses are allowed (`allow_private_upstreams`).
    pub allow_private: bool,
}

/// A name that resolved to refused addresses only.
#[derive(Debug)]
struct Refused(String);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} resolves to a private or local address, which this server does not call", self.0)
    }
}

impl std::error::Error for Refused {}

impl Resolve for Resolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_private = self.allow_private;
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let kept: Vec<SocketAddr> =
                found.into_iter().filter(|addr| allow_private || !is_refused(addr.ip())).collect();
            if kept.is_empty() {
                return Err(Box::new(Refused(host)) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(kept.into_iter()) as Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_private_and_metadata_addresses_are_refused() {
        for refused in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
        ] {
            assert!(is_refused(refused.parse().unwrap()), "{refused}");
        }
        for public in ["93.184.216.34", "8.8.8.8", "2606:4700::1111", "2a00:1450:4001:82a::200e"] {
            assert!(!is_refused(public.parse().unwrap()), "{public}");
        }
        let url = |text: &str| url::Url::parse(text).unwrap();
        assert!(check_url(&url("http://127.0.0.1:9/x"), false).is_err());
        assert!(check_url(&url("http://[::1]/x"), false).is_err());
        assert!(check_url(&url("http://127.0.0.1:9/x"), true).is_ok());
        assert!(check_url(&url("https://example.com/x"), false).is_ok());
    }

    #[test]
    fn ipv4_addresses_inside_ipv6_ones_are_judged_as_ipv4_and_other_special_ranges_refused() {
        for refused in [
            // The issue's: NAT64, IPv4-translated, 6to4 and IPv4-compatible forms of 127.0.0.1.
            "64:ff9b::7f00:1",
            "::ffff:0:7f00:1",
            "2002:7f00:1::",
            "::7f00:1",
            // The metadata address and private ranges, the same ways.
            "64:ff9b::a9fe:a9fe",
            "2002:a9fe:a9fe::1",
            "2002:c0a8:101::",
            "::ffff:10.0.0.1",
            "64:ff9b:1::7f00:1",
            "64:ff9b:1:ffff::5db8:d822",
            // Public IPv4 behind a form that is not routed to it is refused too.
            "::5db8:d822",
            "::ffff:0:5db8:d822",
            // Teredo, documentation, discard-only, site-local, multicast.
            "2001:0:4136:e378:8000:63bf:3fff:fdd2",
            "2001:db8::1",
            "100::1",
            "fec0::1",
            "ff02::1",
        ] {
            assert!(is_refused(refused.parse().unwrap()), "{refused}");
        }
        for public in ["64:ff9b::5db8:d822", "2002:5db8:d822::1", "::ffff:93.184.216.34", "2001:4860::8888"] {
            assert!(!is_refused(public.parse().unwrap()), "{public}: 93.184.216.34 or a global address");
        }
        let url = |text: &str| url::Url::parse(text).unwrap();
        assert!(check_url(&url("http://[64:ff9b::7f00:1]/x"), false).is_err());
        assert!(check_url(&url("http://[2002:7f00:1::]:8080/x"), false).is_err());
    }

    #[test]
    fn hostnames_match_their_pattern_label_by_label() {
        assert!(matches_pattern("acme.service-now.com", "*.service-now.com"));
        assert!(matches_pattern("ACME.Service-Now.com", "*.service-now.com"));
        assert!(matches_pattern("127.0.0.1:8443", "127.0.0.1:*"));
        let zoho = "accounts.zoho.* accounts.zoho.com.* accounts.zohocloud.ca";
        for host in ["accounts.zoho.eu", "accounts.zoho.com.au", "accounts.zohocloud.ca"] {
            assert!(matches_pattern(host, zoho), "{host}");
        }
        for host in ["accounts.zoho.evil.test", "accounts.zohocloud.ca.evil.test", "evil.test"] {
            assert!(!matches_pattern(host, zoho), "{host}");
        }
        for bad in [
            "service-now.com",
            "a.b.service-now.com",
            "acme.service-now.com.evil.test",
            "acme.service-now.com:443",
            "evil.test/x.service-now.com",
            "acme.service-now.com@evil.test",
            "",
            "..service-now.com",
        ] {
            assert!(!matches_pattern(bad, "*.service-now.com"), "{bad}");
        }
        assert!(!matches_pattern("127.0.0.1", "127.0.0.1:*"));
    }

    #[tokio::test]
    async fn a_typed_hostname_must_resolve_to_an_allowed_address() {
        assert!(check_host("localhost:8080", false).await.unwrap_err().contains("private or local"));
        assert!(check_host("localhost:8080", true).await.is_ok());
        assert!(check_host("localhost:port", true).await.is_err());
    }

    #[tokio::test]
    async fn a_name_resolving_to_loopback_is_refused_unless_allowed() {
        let name = |text: &str| text.parse::<Name>().unwrap();
        assert!(Resolver { allow_private: false }.resolve(name("localhost")).await.is_err());
        let allowed = Resolver { allow_private: true }.resolve(name("localhost")).await.unwrap();
        assert!(allowed.into_iter().all(|addr| addr.ip().is_loopback()));
    }
}
