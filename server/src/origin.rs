//! Web origins (`scheme://host[:port]`), read with the `url` crate (the WHATWG URL parser browsers
//! use), and the Trusted Domains rule.

use url::Url;

/// A plain origin, as pages send it in `origin` and browsers in the `Origin` header.
#[derive(Clone, Debug, PartialEq)]
pub struct Origin {
    scheme: &'static str,
    host: String,
    port: u16,
}

impl Origin {
    /// Parses exactly `http[s]://host[:port]`: no path (not even `/`), query, fragment or
    /// userinfo, no port 0, a lower-case scheme, nothing before or after. The host is read as
    /// browsers read it (lower-cased, international names in their `xn--` form, IP addresses in
    /// their usual form), then must be a name of letters, digits, `-` and `.` (at most 253), or a
    /// bracketed IPv6 address.
    /// A default port is dropped when printed.
    pub fn parse(text: &str) -> Option<Origin> {
        let (scheme, authority) = if let Some(rest) = text.strip_prefix("https://") {
            ("https", rest)
        } else {
            ("http", text.strip_prefix("http://")?)
        };
        // What the WHATWG parser would silently drop or reinterpret (spaces and controls, `\`,
        // an empty port) or read as more than an origin (`/`, `?`, `#`, `@`) is refused here.
        let plain =
            |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | ':' | '[' | ']') || !c.is_ascii();
        if authority.is_empty() || authority.ends_with(':') || !authority.chars().all(plain) {
            return None;
        }
        let url = Url::parse(text).ok()?;
        let host = url.host_str()?;
        let port = url.port_or_known_default()?;
        let valid_host = if let Some(inner) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
            inner.bytes().all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.')
        } else {
            host.len() <= 253 && host.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
        };
        let only_origin = url.username().is_empty()
            && url.password().is_none()
            && url.path() == "/"
            && url.query().is_none()
            && url.fragment().is_none();
        (only_origin && valid_host && !host.is_empty() && port != 0).then(|| Origin {
            scheme,
            host: host.to_owned(),
            port,
        })
    }

    fn default_port(&self) -> u16 {
        if self.scheme == "https" { 443 } else { 80 }
    }

    /// Whether one of `domains` trusts this origin: an entry `host:port` trusts that host and
    /// port; an entry `host` trusts that host on the scheme's default port.
    pub fn is_trusted_by(&self, domains: &[String]) -> bool {
        domains.iter().any(|entry| {
            let entry = entry.trim().to_ascii_lowercase();
            match entry.rsplit_once(':') {
                Some((host, port)) if !port.contains(']') => {
                    host == self.host && port.parse::<u16>().is_ok_and(|p| p == self.port)
                }
                _ => entry == self.host && self.port == self.default_port(),
            }
        })
    }
}

/// Whether `entry` is a valid Trusted Domain entry: `host` or `host:port` (surrounding spaces
/// and case do not matter), as [`Origin::is_trusted_by`] reads it.
pub fn is_domain_entry(entry: &str) -> bool {
    Origin::parse(&format!("http://{}", entry.trim().to_ascii_lowercase())).is_some()
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.port == self.default_port() {
            write!(f, "{}://{}", self.scheme, self.host)
        } else {
            write!(f, "{}://{}:{}", self.scheme, self.host, self.port)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Origin;

    #[test]
    fn parses_plain_origins_only() {
        for good in
            ["http://localhost:8080", "https://App.Example.com", "http://127.0.0.1:1", "http://[::1]:3000"]
        {
            assert!(Origin::parse(good).is_some(), "{good}");
        }
        for bad in [
            "",
            "*",
            "null",
            "localhost:8080",
            "javascript:alert(1)",
            "ftp://x.test",
            "http://",
            "http://x.test/",
            "http://x.test/path",
            "http://x.test?q",
            "http://x.test#f",
            "http://user@x.test",
            "http://x.test:",
            "http://x.test:0",
            "http://x.test:65536",
            "http://x.test:80a",
            "http://x y.test",
            "http://x.test\n",
            // Read as an origin by the WHATWG parser, but not written as one.
            "http:x.test",
            "http:/x.test",
            "http:///x.test",
            "http:\\\\x.test",
            "http://x\t.test",
            " http://x.test",
            "http://x.test ",
            "http://%78.test",
            // Hosts the WHATWG parser refuses, or that a CSP source cannot hold.
            "http://999.0.0.1",
            "http://1.2.3.4.5",
            "http://[::1",
            "http://[::g]",
            "http://a_b.test",
            "http://a;b.test",
            "http://a\u{ff1b}b.test",
        ] {
            assert_eq!(Origin::parse(bad), None, "{bad:?}");
        }
        let long_host = format!("{}tests", "a.".repeat(124));
        assert!(Origin::parse(&format!("https://{long_host}")).is_some(), "{} characters", long_host.len());
        assert_eq!(Origin::parse(&format!("https://a{long_host}")), None, "longer than a DNS name");
        assert_eq!(
            Origin::parse("HTTPS://X.test:443").map(|o| o.to_string()),
            None,
            "scheme is case-sensitive"
        );
        for (text, printed) in [
            ("https://X.test:443", "https://x.test"),
            ("http://x.test:80", "http://x.test"),
            ("http://x.test:443", "http://x.test:443"),
            ("https://x.test:08443", "https://x.test:8443"),
            ("http://[0:0::1]:3000", "http://[::1]:3000"),
            ("http://127.1", "http://127.0.0.1"),
            ("https://b\u{fc}cher.test", "https://xn--bcher-kva.test"),
        ] {
            assert_eq!(Origin::parse(text).unwrap().to_string(), printed, "{text}");
        }
    }

    #[test]
    fn domain_entries() {
        for good in ["localhost:8080", "Example.com", " a.test ", "[::1]:3000", "127.0.0.1"] {
            assert!(super::is_domain_entry(good), "{good}");
        }
        for bad in ["", "*.a.test", "a.test/", "http://a.test", "a.test:0", "a.test:x", "a b", "a.test; x"] {
            assert!(!super::is_domain_entry(bad), "{bad}");
        }
    }

    #[test]
    fn trusted_domains_rule() {
        let domains = vec!["localhost:8080".to_owned(), "Example.com".to_owned()];
        let trusted = |o: &str| Origin::parse(o).unwrap().is_trusted_by(&domains);
        assert!(trusted("http://localhost:8080"));
        assert!(trusted("https://localhost:8080"));
        assert!(!trusted("http://localhost:8081"));
        assert!(!trusted("http://127.0.0.1:8080"));
        assert!(trusted("https://example.com"));
        assert!(trusted("http://example.com"));
        assert!(!trusted("https://example.com:8443"));
        assert!(!trusted("https://evil-example.com"));
        assert!(!trusted("https://sub.example.com"));
    }
}
