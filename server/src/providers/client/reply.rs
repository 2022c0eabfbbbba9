//! A token endpoint's reply, read as providers write it rather than only as RFC 6749 §5.1 does:
//! `expires_in` as a number or a string of digits; the user's token nested where the entry's
//! `token_path` points (Slack's `oauth.v2.access` reply: `/authed_user`); an error answered
//! with status 200 (GitHub; Slack with `"ok": false`) read as the error it is; Salesforce's
//! `instance_url` kept as an origin.

use super::{Tokens, UpstreamError, sanitize};
use crate::providers::catalogue::Entry;
use oauth2::basic::BasicTokenType;
use oauth2::{AccessToken, RefreshToken, Scope, TokenResponse};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};
use std::time::Duration;

/// A token endpoint's JSON reply (a 200: the `oauth2` crate reads the errors of any other
/// status), kept whole for [`TokenReply::tokens`]. The crate's [`TokenResponse`] view of it is
/// its top level, an absent access token being empty.
#[derive(Debug)]
pub struct TokenReply {
    fields: Map<String, Value>,
    access_token: AccessToken,
    token_type: BasicTokenType,
    refresh_token: Option<RefreshToken>,
    scopes: Option<Vec<Scope>>,
}

impl<'de> Deserialize<'de> for TokenReply {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<TokenReply, D::Error> {
        let fields = Map::<String, Value>::deserialize(deserializer)?;
        let text = |name: &str| fields.get(name).and_then(Value::as_str).map(str::to_owned);
        let token_type = match text("token_type").unwrap_or_default().to_ascii_lowercase().as_str() {
            "" | "bearer" => BasicTokenType::Bearer,
            "mac" => BasicTokenType::Mac,
            other => BasicTokenType::Extension(other.to_owned()),
        };
        Ok(TokenReply {
            access_token: AccessToken::new(text("access_token").unwrap_or_default()),
            token_type,
            refresh_token: text("refresh_token").map(RefreshToken::new),
            scopes: text("scope").map(|s| s.split_whitespace().map(|s| Scope::new(s.to_owned())).collect()),
            fields,
        })
    }
}

impl Serialize for TokenReply {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.fields.serialize(serializer)
    }
}

impl TokenResponse for TokenReply {
    type TokenType = BasicTokenType;

    fn access_token(&self) -> &AccessToken {
        &self.access_token
    }

    fn token_type(&self) -> &BasicTokenType {
        &self.token_type
    }

    fn expires_in(&self) -> Option<Duration> {
        lifetime(self.fields.get("expires_in")).map(Duration::from_secs)
    }

    fn refresh_token(&self) -> Option<&RefreshToken> {
        self.refresh_token.as_ref()
    }

    fn scopes(&self) -> Option<&Vec<Scope>> {
        self.scopes.as_ref()
    }
}

/// `expires_in` in seconds: a number, or a string of digits.
fn lifetime(value: Option<&Value>) -> Option<u64> {
    match value? {
        Value::Number(n) => n.as_u64().or_else(|| n.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64)),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

impl TokenReply {
    /// The tokens the reply gives at `now` (seconds since the Unix epoch), read as `entry`
    /// says: those of the object at its `token_path` (a JSON pointer) when `nested` (the code
    /// exchange), else of the top level; without `expires_in`, the entry's documented
    /// `default_expires_in`; the API server from the top level's `instance_url_field`. A reply
    /// without an access token there is the error it names (`error`, with
    /// `error_description`, else `refused`), or an unreadable reply.
    pub fn tokens(
        &self,
        entry: &Entry,
        nested: bool,
        now: u64,
        refused: &str,
    ) -> Result<Tokens, UpstreamError> {
        let top = Value::Object(self.fields.clone());
        let path = entry.token_path.as_deref().filter(|_| nested);
        let at = path.map_or(Some(&top), |pointer| top.pointer(pointer));
        let text =
            |name: &str| at.and_then(|v| v.get(name)).and_then(Value::as_str).filter(|t| !t.is_empty());
        let Some(access_token) = text("access_token") else { return Err(self.error(refused)) };
        Ok(Tokens {
            access_token: access_token.to_owned(),
            refresh_token: text("refresh_token").map(str::to_owned),
            expires_at: lifetime(at.and_then(|v| v.get("expires_in")))
                .or(entry.default_expires_in)
                .map(|secs| now.saturating_add(secs)),
            scope: text("scope").map(|s| s.split_whitespace().collect::<Vec<_>>().join(" ")),
            hostname: None,
            site: None,
            instance_url: self
                .fields
                .get(&entry.instance_url_field)
                .and_then(Value::as_str)
                .and_then(api_origin),
        })
    }

    /// The error a reply without an access token names.
    fn error(&self, refused: &str) -> UpstreamError {
        let text = |name: &str| self.fields.get(name).and_then(Value::as_str).map(|t| sanitize(t, 300));
        match text("error").filter(|code| !code.is_empty()) {
            Some(code) => UpstreamError::new(
                &sanitize(&code, 64),
                text("error_description").filter(|d| !d.is_empty()).unwrap_or_else(|| refused.to_owned()),
            ),
            None => UpstreamError::new(
                "server_error",
                "The service's token endpoint gave a reply that could not be read.",
            ),
        }
    }
}

/// `url` as an API server's origin (`https://host[:port]`, or `http://` for a test's local
/// upstream, which the SSRF guard refuses unless private upstreams are allowed): nothing but a
/// scheme, a host and a port; `None` for anything else.
fn api_origin(url: &str) -> Option<String> {
    let parsed = url::Url::parse(url).ok()?;
    let plain = matches!(parsed.scheme(), "https" | "http")
        && parsed.username().is_empty()
        && parsed.password().is_none()
        && parsed.path() == "/"
        && parsed.query().is_none()
        && parsed.fragment().is_none();
    plain.then(|| parsed.origin().ascii_serialization())
}
