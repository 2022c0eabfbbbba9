//! Test-only fault injection: a tower layer built with the `test-support` feature only, enabled
//! by `--test-faults` (off by default). An app's `fault` makes one API endpoint misbehave for
//! that app's tokens, so that a client's error handling can be tested against the real server:
//!
//! ```toml
//! [[apps]]
//! client_id = "token-500"
//! trusted_domains = ["localhost:5000"]
//! fault = { endpoint = "token", kind = "status_500" }
//! ```
//!
//! The API ([`crate::token_api::api`]) marks each reply it gave a valid token with what it answered
//! ([`Answered`]); the layer ([`inject`]) then replaces or delays the reply as the token's app's
//! fault says.

use crate::AppState;
use crate::config::Config;
use crate::error::AppError;
use crate::store::Grant;
use crate::testing::fault::{Fault, Kind};
use crate::token_api::api::{self, Answered};
use crate::token_api::endpoint::Endpoint;
use axum::Json;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::sync::Arc;
use std::time::Duration;

/// The body of [`Kind::MalformedJson`]: the start of a token reply, cut short.
pub const MALFORMED_JSON: &str = "{\"account_id\": 1,";

/// What a fault does to one request.
#[derive(Debug)]
pub enum Action {
    /// This reply instead of the normal one.
    Reply(Response),
    /// The normal reply, after this delay.
    Delay(Duration),
}

/// Middleware: a reply marked ([`crate::token_api::api::mark`]) for an app with a fault on its
/// endpoint is replaced (keeping its CORS headers) or delayed, as the fault says.
pub async fn inject(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let Some(Answered { endpoint, grant }) = response.extensions().get::<Answered>().cloned() else {
        return response;
    };
    let Some(fault) = active(&state.config, &grant.client_id, endpoint) else { return response };
    match action(&state.config, fault, &grant) {
        Action::Reply(reply) => with_cors_of(reply, &response),
        Action::Delay(delay) => {
            tokio::time::sleep(delay).await;
            response
        }
    }
}

/// `reply` with the CORS headers of `response` (the reply it replaces).
fn with_cors_of(mut reply: Response, response: &Response) -> Response {
    for (name, value) in response.headers() {
        if name.as_str().starts_with("access-control-") || name == header::VARY {
            reply.headers_mut().append(name, value.clone());
        }
    }
    reply
}

/// The fault of the app `client_id` (the token's app), if it targets `endpoint`.
pub fn active<'c>(config: &'c Config, client_id: &str, endpoint: Endpoint) -> Option<&'c Fault> {
    config.app(client_id)?.fault.as_ref().filter(|fault| fault.endpoint == endpoint)
}

/// What `fault` does to a request whose token grants `grant`.
pub fn action(config: &Config, fault: &Fault, grant: &Grant) -> Action {
    let error = |status: StatusCode, code: &'static str| {
        let message = format!("Injected fault: status {}.", status.as_u16());
        AppError::Refused { status, code, message: message.into() }.into_response()
    };
    Action::Reply(match fault.kind {
        Kind::Status500 => error(StatusCode::INTERNAL_SERVER_ERROR, "server_error"),
        Kind::Status401 => error(StatusCode::UNAUTHORIZED, "invalid_token"),
        Kind::MalformedJson => ([(header::CONTENT_TYPE, "application/json")], MALFORMED_JSON).into_response(),
        Kind::Slow => return Action::Delay(fault.delay()),
        Kind::Drop => dropped(),
        Kind::OtherClientId => {
            let forged = Grant { client_id: other_client_id(config, &grant.client_id), ..grant.clone() };
            Json(api::token_info(&forged)).into_response()
        }
    })
}

/// Another app's `client_id`: the first other app configured, or a made-up one.
pub fn other_client_id(config: &Config, client_id: &str) -> String {
    config
        .apps
        .iter()
        .map(|app| &app.client_id)
        .find(|id| *id != client_id)
        .cloned()
        .unwrap_or_else(|| format!("{client_id}-other"))
}

/// A reply that is never sent: its head has `Content-Length` and then `Transfer-Encoding`,
/// which hyper refuses to encode ("unexpected transfer-encoding found, canceling"), so it
/// closes the connection without writing a byte and the browser's `fetch` rejects with a
/// network error. (A body that fails after the head would let `fetch` resolve.) The HTTP tests
/// check that the client sees no response.
pub fn dropped() -> Response {
    let body = "{}";
    let mut response = Body::from(body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
    headers.insert(header::TRANSFER_ENCODING, HeaderValue::from_static("chunked"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::fault::DEFAULT_SLOW_MS;

    fn load(fault: &str) -> Result<Config, String> {
        let toml = format!(
            "[[apps]]\nclient_id = \"a\"\ntrusted_domains = []\nfault = {fault}\n\
             [[apps]]\nclient_id = \"b\"\ntrusted_domains = []\n"
        );
        Config::from_toml_with_faults(&toml, "127.0.0.1:0".parse().unwrap(), "db".into(), true)
            .map_err(|e| e.to_string())
    }

    fn grant() -> Grant {
        Grant { account_id: 7, client_id: "a".into(), scope: "box:normal.storage".into() }
    }

    #[test]
    fn reads_and_checks_faults() {
        let config = load("{ endpoint = \"token\", kind = \"status_500\" }").unwrap();
        assert_eq!(active(&config, "a", Endpoint::Token).map(|f| f.kind), Some(Kind::Status500));
        assert_eq!(active(&config, "a", Endpoint::Account), None);
        assert_eq!(active(&config, "b", Endpoint::Token), None);
        let slow = load("{ endpoint = \"account\", kind = \"slow\" }").unwrap();
        assert_eq!(slow.apps[0].fault.as_ref().unwrap().delay(), Duration::from_millis(DEFAULT_SLOW_MS));
        let slow = load("{ endpoint = \"account\", kind = \"slow\", slow_ms = 20 }").unwrap();
        assert_eq!(slow.apps[0].fault.as_ref().unwrap().delay(), Duration::from_millis(20));
        for kind in ["status_500", "status_401", "malformed_json", "slow", "drop", "other_client_id"] {
            assert!(load(&format!("{{ endpoint = \"token\", kind = \"{kind}\" }}")).is_ok(), "{kind}");
        }
        for (bad, expected) in [
            ("{ endpoint = \"account\", kind = \"other_client_id\" }", "token\" only"),
            ("{ endpoint = \"token\", kind = \"drop\", slow_ms = 5 }", "slow\" only"),
            ("{ endpoint = \"token\", kind = \"slow\", slow_ms = 600001 }", "more than"),
            ("{ endpoint = \"tokens\", kind = \"drop\" }", "unknown variant"),
            ("{ endpoint = \"token\", kind = \"status500\" }", "unknown variant"),
            ("{ endpoint = \"token\" }", "missing field `kind`"),
            ("{ endpoint = \"token\", kind = \"drop\", extra = 1 }", "unknown field"),
        ] {
            let error = load(bad).unwrap_err();
            assert!(error.contains(expected), "{bad}: {error}");
        }
    }

    #[test]
    fn actions() {
        let config = load("{ endpoint = \"token\", kind = \"drop\" }").unwrap();
        let fault = |kind| Fault { endpoint: Endpoint::Token, kind, slow_ms: None };
        let reply = |kind| match action(&config, &fault(kind), &grant()) {
            Action::Reply(response) => response,
            Action::Delay(_) => panic!("a reply"),
        };
        assert_eq!(reply(Kind::Status500).status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(reply(Kind::Status401).status(), StatusCode::UNAUTHORIZED);
        let malformed = reply(Kind::MalformedJson);
        assert_eq!(malformed.status(), StatusCode::OK);
        assert_eq!(malformed.headers()[header::CONTENT_TYPE], "application/json");
        assert!(serde_json::from_str::<serde_json::Value>(MALFORMED_JSON).is_err());
        let dropped = reply(Kind::Drop);
        assert!(dropped.headers().contains_key(header::TRANSFER_ENCODING));
        assert!(
            matches!(action(&config, &fault(Kind::Slow), &grant()), Action::Delay(d) if d.as_millis() == 5000)
        );
        assert_eq!(other_client_id(&config, "a"), "b");
        assert_eq!(other_client_id(&config, "b"), "a");
        assert_eq!(other_client_id(&config, "z"), "a");
        let lonely = Config::from_toml(
            "[[apps]]\nclient_id = \"a\"\ntrusted_domains = []\n",
            "127.0.0.1:0".parse().unwrap(),
            "db".into(),
        )
        .unwrap();
        assert_eq!(other_client_id(&lonely, "a"), "a-other");
    }
}
