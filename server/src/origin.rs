//! Web origins (`scheme://host[:port]`) and the Trusted Domains rule.

/// A plain origin, as pages send it in `origin` and browsers in the `Origin` header.
#[derive(Clone, Debug, PartialEq)]
pub struct Origin {
    scheme: &'static str,
    host: String,
    port: u16,
}

impl Origin {
    /// Parses exactly `http[s]://host[:port]`: no path (not even `/`), query, fragment or
    /// userinfo. The host is lower-cased; a default port is dropped.
    pub fn parse(text: &str) -> Option<Origin> {
        let (scheme, rest) = text.split_once("://")?;
        let (scheme, default_port) = match scheme {
            "http" => ("http", 80),
            "https" => ("https", 443),
            _ => return None,
        };
        let (host, port) = match rest.rsplit_once(':') {
            Some((host, port)) if !port.contains(']') => {
                let valid = !port.is_empty() && port.len() <= 5 && port.bytes().all(|b| b.is_ascii_digit());
                (host, valid.then(|| port.parse::<u16>().ok()).flatten().filter(|&p| p > 0)?)
            }
            _ => (rest, default_port),
        };
        let valid_host = if let Some(inner) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
            !inner.is_empty() && inner.bytes().all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.')
        } else {
            !host.is_empty()
                && host.len() <= 253
                && host.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
        };
        valid_host.then(|| Origin { scheme, host: host.to_ascii_lowercase(), port })
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
        ] {
            assert_eq!(Origin::parse(bad), None, "{bad:?}");
        }
        assert_eq!(
            Origin::parse("HTTPS://X.test:443").map(|o| o.to_string()),
            None,
            "scheme is case-sensitive"
        );
        assert_eq!(Origin::parse("https://X.test:443").unwrap().to_string(), "https://x.test");
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
