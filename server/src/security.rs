//! Security headers: the pop-up's strict Content-Security-Policy, the relay's `frame-ancestors`
//! (the apps' Trusted Domains), and the defaults every other response gets (never framed).

use crate::config::Config;
use crate::origin::TrustedDomain;
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use base64::Engine;
use sha2::{Digest, Sha256};

/// The policy of every response that sets none itself: it may not be framed.
pub const DEFAULT_CSP: &str = "frame-ancestors 'none'";

/// A CSP hash source for an inline `<script>` or `<style>` element's exact text:
/// `'sha256-<base64>'`.
pub fn hash_source(text: &str) -> String {
    format!("'sha256-{}'", base64(&Sha256::digest(text.as_bytes())))
}

/// The pop-up pages' policy: nothing loads or runs but the inline style and the inline
/// scripts, each allowed by its hash source ([`hash_source`], computed once by the caller), and
/// images from `img_src` only (where the app's logo is: this server or the app's own origin);
/// requests (the abandon beacon) and forms go only to this server — and, on a code flow's
/// pages, to `form_target`, the origin of its registered redirect URI, where the 303 after
/// their forms goes (a browser applies `form-action` to that redirect too); no `<base>`; never
/// framed.
pub fn popup_csp(
    style_source: &str,
    script_sources: &[&str],
    form_target: Option<&str>,
    img_src: Option<&str>,
) -> String {
    let scripts = if script_sources.is_empty() { "'none'".to_owned() } else { script_sources.join(" ") };
    let forms = form_target.map_or_else(|| "'self'".to_owned(), |origin| format!("'self' {origin}"));
    let images = img_src.map(|source| format!("img-src {source}; ")).unwrap_or_default();
    format!(
        "default-src 'none'; script-src {scripts}; style-src {style_source}; {images}connect-src 'self'; \
         form-action {forms}; base-uri 'none'; frame-ancestors 'none'"
    )
}

/// The policy of an app's logo file served by this server: an SVG opened on its own runs
/// nothing and loads nothing.
pub const LOGO_CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; sandbox";

/// The CSP source list for one Trusted Domain: exactly the origins it trusts
/// ([`TrustedDomain::origins`]), e.g. `https://app.example.com` for a scheme-bound entry and
/// `http://localhost:3000 https://localhost:3000` for a bare `localhost:3000`.
pub fn frame_sources(domain: &TrustedDomain) -> String {
    domain.origins().iter().map(ToString::to_string).collect::<Vec<_>>().join(" ")
}

/// The relay page's policy: only its own inline script (by its hash source, [`hash_source`])
/// runs, and only the origins the apps' Trusted Domains trust may frame it, each listed once
/// (`frame-ancestors 'none'` when there is none).
pub fn relay_csp(config: &Config, script_source: &str) -> String {
    let mut ancestors: Vec<String> = Vec::new();
    for domain in config.apps.iter().flat_map(|app| &app.trusted_domains) {
        for origin in domain.origins() {
            let source = origin.to_string();
            if !ancestors.contains(&source) {
                ancestors.push(source);
            }
        }
    }
    let ancestors = if ancestors.is_empty() { "'none'".to_owned() } else { ancestors.join(" ") };
    format!(
        "default-src 'none'; script-src {script_source}; base-uri 'none'; form-action 'none'; \
         frame-ancestors {ancestors}"
    )
}

/// Completes a response's headers: `X-Content-Type-Options: nosniff` always; a response that
/// sets no policy of its own gets [`DEFAULT_CSP`] and `X-Frame-Options: DENY`. (The relay sets
/// its own policy, so it stays frameable by the apps' pages.)
pub fn apply_defaults(headers: &mut HeaderMap) {
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(DEFAULT_CSP));
        headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    }
}

/// Middleware: [`apply_defaults`] on every response.
pub async fn defaults(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    apply_defaults(response.headers_mut());
    response
}

/// Standard base64 with padding, as CSP hash sources are written.
fn base64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_and_hash_sources() {
        for (input, expected) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
        ] {
            assert_eq!(base64(input.as_bytes()), expected, "{input}");
        }
        // printf 'alert(1)' | openssl dgst -sha256 -binary | base64
        assert_eq!(hash_source("alert(1)"), "'sha256-bhHHL3z2vDgxUt0W3dWQOrprscmda2Y5pLsLg4GF+pI='");
    }

    #[test]
    fn popup_policy_is_strict() {
        let csp = popup_csp(&hash_source("b{}"), &[&hash_source("go()")], None, None);
        assert!(csp.starts_with("default-src 'none'; "));
        assert!(csp.contains(&format!("script-src {};", hash_source("go()"))));
        assert!(csp.contains(&format!("style-src {};", hash_source("b{}"))));
        for part in ["form-action 'self'", "base-uri 'none'", "frame-ancestors 'none'"] {
            assert!(csp.contains(part), "{part}");
        }
        assert!(!csp.contains("unsafe") && !csp.contains("img-src"));
        assert!(popup_csp(&hash_source("b{}"), &[], None, None).contains("script-src 'none';"));
        let two = popup_csp("'s'", &["'a'", "'b'"], None, Some("https://app.test"));
        assert!(two.contains("script-src 'a' 'b'; style-src 's'; img-src https://app.test; "), "{two}");
    }

    #[test]
    fn relay_policy_lists_the_trusted_origins() {
        let toml = "[[apps]]\nclient_id = \"a\"\n\
                    trusted_domains = [\"localhost:3000\", \"https://A.test\", \"http://b.test:8080\"]\n\
                    [[apps]]\nclient_id = \"b\"\n\
                    trusted_domains = [\"http://localhost:3000\", \"[::1]:8080\", \"https://a.test:443\", \"127.0.0.1\"]\n";
        let config = Config::from_toml(toml, "127.0.0.1:0".parse().unwrap(), "db".into()).unwrap();
        let csp = relay_csp(&config, &hash_source("x()"));
        assert!(
            csp.ends_with(
                "; frame-ancestors http://localhost:3000 https://localhost:3000 https://a.test \
                 http://b.test:8080 http://[::1]:8080 https://[::1]:8080 http://127.0.0.1 https://127.0.0.1"
            ),
            "{csp}"
        );
        assert!(csp.contains(&hash_source("x()")));
        let none = Config::from_toml(
            "[[apps]]\nclient_id = \"a\"\ntrusted_domains = []\n",
            "127.0.0.1:0".parse().unwrap(),
            "db".into(),
        )
        .unwrap();
        assert!(relay_csp(&none, &hash_source("x()")).ends_with("frame-ancestors 'none'"));
    }

    #[test]
    fn frame_sources_are_the_trusted_origins() {
        let sources = |entry: &str| frame_sources(&entry.parse().unwrap());
        assert_eq!(sources("https://app.example.com"), "https://app.example.com");
        assert_eq!(sources("https://app.example.com:8443"), "https://app.example.com:8443");
        assert_eq!(sources("http://intranet.test:8080"), "http://intranet.test:8080");
        assert_eq!(sources("localhost:3000"), "http://localhost:3000 https://localhost:3000");
        assert_eq!(sources("127.0.0.1"), "http://127.0.0.1 https://127.0.0.1");
    }

    #[test]
    fn defaults_never_override_a_policy() {
        let mut plain = HeaderMap::new();
        apply_defaults(&mut plain);
        assert_eq!(plain[header::CONTENT_SECURITY_POLICY], DEFAULT_CSP);
        assert_eq!(plain[header::X_FRAME_OPTIONS], "DENY");
        assert_eq!(plain[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        let mut relay = HeaderMap::new();
        relay.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("frame-ancestors http://a.test"),
        );
        apply_defaults(&mut relay);
        assert_eq!(relay[header::CONTENT_SECURITY_POLICY], "frame-ancestors http://a.test");
        assert!(relay.get(header::X_FRAME_OPTIONS).is_none());
    }
}
