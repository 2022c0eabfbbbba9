//! Web origins (`scheme://host[:port]`) and the Trusted Domains rule.
//!
//! Both are parsed with the `url` crate (the WHATWG URL parser browsers use), once: an [`Origin`]
//! when a request arrives, a [`TrustedDomain`] when the configuration is loaded. Deciding whether
//! an origin is trusted is then a comparison.

use serde::Deserialize;
use std::fmt;
use std::str::FromStr;
use url::Url;

/// A plain origin, as pages send it in `origin` and browsers in the `Origin` header.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Origin {
    scheme: &'static str,
    host: String,
    port: u16,
}

/// The hosts a bare `host[:port]` Trusted Domain entry may name: loopback only, for development.
pub const LOCAL_DEV_HOSTS: [&str; 3] = ["localhost", "127.0.0.1", "[::1]"];

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
        default_port(self.scheme)
    }

    /// Whether one of `domains` trusts this origin (see [`TrustedDomain::trusts`]).
    pub fn is_trusted_by(&self, domains: &[TrustedDomain]) -> bool {
        domains.iter().any(|domain| domain.trusts(self))
    }
}

fn default_port(scheme: &str) -> u16 {
    if scheme == "https" { 443 } else { 80 }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.port == self.default_port() {
            write!(f, "{}://{}", self.scheme, self.host)
        } else {
            write!(f, "{}://{}:{}", self.scheme, self.host, self.port)
        }
    }
}

/// One entry of an app's `trusted_domains`, parsed once when the configuration is loaded.
///
/// An entry names its scheme: `https://app.example.com`, `https://app.example.com:8443`,
/// `http://intranet.test:8080` — exactly an origin, as [`Origin::parse`] reads it. Only for
/// development may an entry be bare, `host[:port]` with a host of [`LOCAL_DEV_HOSTS`]
/// (`localhost:3000`): it trusts `http` and `https` on that host and port (each scheme's default
/// port when none is given). Any other bare entry is refused, so that a production domain is never
/// trusted over plain `http` by accident. Surrounding spaces are ignored; the host's case does not
/// matter.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Deserialize)]
#[serde(try_from = "String")]
pub enum TrustedDomain {
    /// A scheme-bound entry: trusts exactly this origin.
    Origin(Origin),
    /// A bare loopback entry (development): trusts `http` and `https` on `host` and `port`.
    LocalDev {
        /// One of [`LOCAL_DEV_HOSTS`].
        host: String,
        /// The port; `None` means each scheme's default port (80 for `http`, 443 for `https`).
        port: Option<u16>,
    },
}

impl TrustedDomain {
    /// Parses one entry; the error is a message for the operator saying how to write it.
    pub fn parse(entry: &str) -> Result<TrustedDomain, String> {
        let entry = entry.trim();
        let malformed = || {
            format!(
                "trusted domain {entry:?} is not an origin like \"https://app.example.com\" or \
                 \"https://app.example.com:8443\": the scheme http or https, a host, an optional \
                 port, and nothing else (no path, not even \"/\", no query, fragment or user@)"
            )
        };
        if entry.contains("://") {
            return Origin::parse(entry).map(TrustedDomain::Origin).ok_or_else(malformed);
        }
        // A bare `host[:port]`, read as the WHATWG parser reads the same text after `http://` and
        // after `https://`. The port given, if any, is the one that is not dropped as the
        // scheme's default in one of the two readings (`:80` stays in `https://`, `:443` in
        // `http://`).
        let http = Origin::parse(&format!("http://{entry}")).ok_or_else(malformed)?;
        let given_port = |scheme: &str| Url::parse(&format!("{scheme}://{entry}")).ok()?.port();
        let port = given_port("http").or_else(|| given_port("https"));
        if !LOCAL_DEV_HOSTS.contains(&http.host.as_str()) {
            return Err(format!(
                "trusted domain {entry:?} has no scheme: write \"https://{entry}\" (bare host:port \
                 entries are only for localhost, 127.0.0.1 and [::1])"
            ));
        }
        Ok(TrustedDomain::LocalDev { host: http.host, port })
    }

    /// Whether this entry trusts `origin`: the same origin for a scheme-bound entry; for a bare
    /// loopback entry, the same host and port on `http` or `https`.
    pub fn trusts(&self, origin: &Origin) -> bool {
        match self {
            TrustedDomain::Origin(trusted) => trusted == origin,
            TrustedDomain::LocalDev { host, port } => {
                *host == origin.host && port.unwrap_or(origin.default_port()) == origin.port
            }
        }
    }

    /// The origins this entry trusts: one for a scheme-bound entry; the `http` then the `https`
    /// origin for a bare loopback entry.
    pub fn origins(&self) -> Vec<Origin> {
        match self {
            TrustedDomain::Origin(origin) => vec![origin.clone()],
            TrustedDomain::LocalDev { host, port } => ["http", "https"]
                .map(|scheme| Origin {
                    scheme,
                    host: host.clone(),
                    port: port.unwrap_or(default_port(scheme)),
                })
                .to_vec(),
        }
    }
}

impl FromStr for TrustedDomain {
    type Err = String;

    fn from_str(entry: &str) -> Result<TrustedDomain, String> {
        TrustedDomain::parse(entry)
    }
}

impl TryFrom<String> for TrustedDomain {
    type Error = String;

    fn try_from(entry: String) -> Result<TrustedDomain, String> {
        TrustedDomain::parse(&entry)
    }
}

/// The entry in its canonical form: `https://app.example.com`, `localhost:3000`.
impl fmt::Display for TrustedDomain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrustedDomain::Origin(origin) => origin.fmt(f),
            TrustedDomain::LocalDev { host, port: None } => f.write_str(host),
            TrustedDomain::LocalDev { host, port: Some(port) } => write!(f, "{host}:{port}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Origin, TrustedDomain};

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

    fn domain(entry: &str) -> TrustedDomain {
        TrustedDomain::parse(entry).unwrap_or_else(|e| panic!("{entry}: {e}"))
    }

    #[test]
    fn entries_name_their_scheme() {
        for (entry, printed) in [
            ("https://app.example.com", "https://app.example.com"),
            ("https://App.Example.com:443", "https://app.example.com"),
            ("https://app.example.com:8443", "https://app.example.com:8443"),
            ("http://intranet.test:8080", "http://intranet.test:8080"),
            (" http://intranet.test ", "http://intranet.test"),
            ("http://localhost:3000", "http://localhost:3000"),
        ] {
            let parsed = domain(entry);
            assert!(matches!(parsed, TrustedDomain::Origin(_)), "{entry}");
            assert_eq!(parsed.to_string(), printed, "{entry}");
        }
        for bad in [
            "",
            "*",
            "https://*.example.com",
            "https://app.example.com/",
            "https://app.example.com/path",
            "https://app.example.com?q",
            "https://app.example.com#f",
            "https://user@app.example.com",
            "https://user:pw@app.example.com",
            "https://app.example.com:0",
            "https://app.example.com:",
            "ftp://app.example.com",
            "HTTPS://app.example.com",
            "https://app.example.com; script-src *",
            "localhost:3000/",
            "localhost:0",
            "user@localhost",
            "*.localhost",
        ] {
            let error = TrustedDomain::parse(bad).unwrap_err();
            assert!(error.contains("is not an origin like \"https://app.example.com\""), "{bad}: {error}");
        }
    }

    #[test]
    fn bare_entries_are_for_loopback_only() {
        for (entry, host, port) in [
            ("localhost:3000", "localhost", Some(3000)),
            ("LocalHost", "localhost", None),
            ("127.0.0.1", "127.0.0.1", None),
            ("127.0.0.1:80", "127.0.0.1", Some(80)),
            ("localhost:443", "localhost", Some(443)),
            ("[::1]:8080", "[::1]", Some(8080)),
        ] {
            assert_eq!(domain(entry), TrustedDomain::LocalDev { host: host.into(), port }, "{entry}");
        }
        for (entry, suggestion) in [
            ("app.example.com", "https://app.example.com"),
            ("app.example.com:443", "https://app.example.com:443"),
            ("intranet.test:8080", "https://intranet.test:8080"),
            ("127.0.0.2", "https://127.0.0.2"),
            ("sub.localhost:3000", "https://sub.localhost:3000"),
        ] {
            assert_eq!(
                TrustedDomain::parse(entry).unwrap_err(),
                format!(
                    "trusted domain {entry:?} has no scheme: write {suggestion:?} (bare host:port entries \
                     are only for localhost, 127.0.0.1 and [::1])"
                )
            );
        }
    }

    #[test]
    fn trusted_domains_rule() {
        let domains =
            ["localhost:8080", "https://example.com", "http://intranet.test:8080", "127.0.0.1"].map(domain);
        let trusted = |o: &str| Origin::parse(o).unwrap().is_trusted_by(&domains);
        // A bare loopback entry: both schemes, that port only.
        assert!(trusted("http://localhost:8080"));
        assert!(trusted("https://localhost:8080"));
        assert!(!trusted("http://localhost:8081"));
        assert!(!trusted("http://localhost"));
        assert!(!trusted("http://[::1]:8080"));
        // Without a port: each scheme's default port.
        assert!(trusted("http://127.0.0.1"));
        assert!(trusted("https://127.0.0.1:443"));
        assert!(!trusted("http://127.0.0.1:443"));
        assert!(!trusted("https://127.0.0.1:80"));
        assert!(!trusted("http://127.0.0.1:8080"));
        // A scheme-bound entry: that origin only.
        assert!(trusted("https://example.com"));
        assert!(trusted("https://EXAMPLE.com:443"));
        assert!(!trusted("http://example.com"), "https entry, http origin");
        assert!(!trusted("http://example.com:443"));
        assert!(!trusted("https://example.com:8443"));
        assert!(!trusted("https://evil-example.com"));
        assert!(!trusted("https://sub.example.com"));
        assert!(trusted("http://intranet.test:8080"));
        assert!(!trusted("https://intranet.test:8080"), "http entry, https origin");
        assert!(!trusted("http://intranet.test"));
        assert!(!Origin::parse("http://localhost:8080").unwrap().is_trusted_by(&[]));
    }

    #[test]
    fn trusted_origins_are_listed() {
        let listed = |entry: &str| domain(entry).origins().iter().map(Origin::to_string).collect::<Vec<_>>();
        assert_eq!(listed("https://app.example.com"), ["https://app.example.com"]);
        assert_eq!(listed("http://app.example.com:8080"), ["http://app.example.com:8080"]);
        assert_eq!(listed("localhost:3000"), ["http://localhost:3000", "https://localhost:3000"]);
        assert_eq!(listed("localhost"), ["http://localhost", "https://localhost"]);
        assert_eq!(listed("127.0.0.1:443"), ["http://127.0.0.1:443", "https://127.0.0.1"]);
        assert_eq!(domain("LOCALHOST:3000").to_string(), "localhost:3000");
    }

    #[test]
    fn entries_deserialize_from_strings() {
        #[derive(serde::Deserialize)]
        struct Entries {
            trusted_domains: Vec<TrustedDomain>,
        }
        let ok: Entries =
            toml::from_str("trusted_domains = [\"https://a.test\", \"localhost:3000\"]").unwrap();
        assert_eq!(ok.trusted_domains, [domain("https://a.test"), domain("localhost:3000")]);
        let error = toml::from_str::<Entries>("trusted_domains = [\"a.test\"]").err().unwrap().to_string();
        assert!(error.contains("trusted domain \"a.test\" has no scheme"), "{error}");
    }
}
