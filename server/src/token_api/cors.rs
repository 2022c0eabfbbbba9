//! CORS for the JSON API: granted only to origins an app trusts, never `*`.

use crate::config::Config;
use crate::origin::Origin;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// Which apps' Trusted Domains decide whether the request's origin may read the answer.
#[derive(Clone, Copy, Debug)]
pub enum Audience<'a> {
    /// The app a valid token was issued to.
    App(&'a str),
    /// Any configured app (no valid token: lets the page read the error).
    AnyApp,
}

/// The request's `Origin` header, when it is a plain origin that `audience` trusts.
pub fn allowed_origin(config: &Config, headers: &HeaderMap, audience: Audience<'_>) -> Option<HeaderValue> {
    let value = headers.get(header::ORIGIN)?;
    let origin = Origin::parse(value.to_str().ok()?)?;
    let trusted = match audience {
        Audience::App(id) => config.app(id).is_some_and(|app| origin.is_trusted_by(&app.trusted_domains)),
        Audience::AnyApp => config.apps.iter().any(|app| origin.is_trusted_by(&app.trusted_domains)),
    };
    trusted.then(|| value.clone())
}

/// Adds `Vary: Origin` and, when given, `Access-Control-Allow-Origin`.
pub fn with_cors(mut response: Response, origin: Option<HeaderValue>) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::VARY, HeaderValue::from_static("Origin"));
    if let Some(origin) = origin {
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    }
    response
}

/// The answer to a preflight: 204 with the allowed methods and headers for an origin some app
/// trusts, 403 without any grant otherwise.
pub fn preflight(config: &Config, headers: &HeaderMap) -> Response {
    let Some(origin) = allowed_origin(config, headers, Audience::AnyApp) else {
        return with_cors(StatusCode::FORBIDDEN.into_response(), None);
    };
    let response = (
        StatusCode::NO_CONTENT,
        [
            (header::ACCESS_CONTROL_ALLOW_METHODS, "GET, OPTIONS"),
            (header::ACCESS_CONTROL_ALLOW_HEADERS, "Authorization, X-Kloudless-Source, Content-Type"),
            (header::ACCESS_CONTROL_MAX_AGE, "600"),
        ],
    )
        .into_response();
    with_cors(response, Some(origin))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Config {
        let toml = "[[apps]]\nclient_id = \"a\"\ntrusted_domains = [\"https://a.test\"]\n\
                    [[apps]]\nclient_id = \"b\"\ntrusted_domains = [\"http://b.test:3000\", \"localhost:4000\"]\n";
        Config::from_toml(toml, "127.0.0.1:0".parse().unwrap(), "db".into()).unwrap()
    }

    fn origin(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::ORIGIN, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn grants_follow_the_audience() {
        let config = config();
        let a = origin("https://a.test");
        assert_eq!(allowed_origin(&config, &a, Audience::AnyApp).unwrap(), "https://a.test");
        assert_eq!(allowed_origin(&config, &a, Audience::App("a")).unwrap(), "https://a.test");
        assert_eq!(allowed_origin(&config, &a, Audience::App("b")), None);
        assert_eq!(allowed_origin(&config, &a, Audience::App("unknown")), None);
        assert_eq!(
            allowed_origin(&config, &origin("http://b.test:3000"), Audience::App("b")).unwrap(),
            "http://b.test:3000"
        );
        for bad in ["null", "*", "https://a.test/", "https://evil.test"] {
            assert_eq!(allowed_origin(&config, &origin(bad), Audience::AnyApp), None, "{bad}");
        }
        // An entry names its scheme: the other one is not granted.
        for (other_scheme, id) in [("http://a.test", "a"), ("https://b.test:3000", "b")] {
            assert_eq!(
                allowed_origin(&config, &origin(other_scheme), Audience::AnyApp),
                None,
                "{other_scheme}"
            );
            assert_eq!(
                allowed_origin(&config, &origin(other_scheme), Audience::App(id)),
                None,
                "{other_scheme}"
            );
        }
        // A bare localhost entry: both.
        for local in ["http://localhost:4000", "https://localhost:4000"] {
            assert_eq!(allowed_origin(&config, &origin(local), Audience::App("b")).unwrap(), local);
        }
        assert_eq!(allowed_origin(&config, &HeaderMap::new(), Audience::AnyApp), None);
    }

    #[test]
    fn preflight_grants_only_trusted_origins() {
        let config = config();
        let ok = preflight(&config, &origin("https://a.test"));
        assert_eq!(ok.status(), StatusCode::NO_CONTENT);
        assert_eq!(ok.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN], "https://a.test");
        assert_eq!(ok.headers()[header::VARY], "Origin");
        for untrusted in ["https://evil.test", "http://a.test"] {
            let refused = preflight(&config, &origin(untrusted));
            assert_eq!(refused.status(), StatusCode::FORBIDDEN, "{untrusted}");
            assert!(refused.headers().get(header::ACCESS_CONTROL_ALLOW_ORIGIN).is_none(), "{untrusted}");
        }
    }
}
