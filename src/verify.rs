//! The API server's replies → a verified token and the account metadata.

use alloc::string::String;

use crate::error::Error;
use crate::json::Json;
use crate::popup::api_url;

/// A completed HTTP reply from the API server.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Reply<'a> {
    /// The HTTP status code.
    pub status: u16,
    /// The body, as text.
    pub body: &'a str,
}

/// `{baseUrl}/v1/oauth/token/`, where a bearer token is verified.
pub fn token_url(base_url: &str) -> String {
    api_url(base_url, "/oauth/token/")
}

/// `{baseUrl}/v1/accounts/me/?retrieve_full=False`: the token's own account.
pub fn account_url(base_url: &str) -> String {
    api_url(base_url, "/accounts/me/?retrieve_full=False")
}

/// Checks the token endpoint's reply: the token must belong to `client_id`. (The account is
/// fetched as `me`, the token's own, at the same time.)
pub fn token(reply: Reply, client_id: &str) -> Result<(), Error> {
    let info = json_object(reply).ok_or(Error::TokenVerificationFailed)?;
    let owner = info.get("client_id").and_then(Json::scalar_text).ok_or(Error::TokenVerificationFailed)?;
    if owner != client_id {
        return Err(Error::ClientIdMismatch);
    }
    Ok(())
}

/// Checks the account endpoint's reply and returns the account's metadata.
pub fn account(reply: Reply) -> Result<Json, Error> {
    json_object(reply).ok_or(Error::AccountRetrievalFailed)
}

fn json_object(reply: Reply) -> Option<Json> {
    if reply.status != 200 {
        return None;
    }
    match Json::parse(reply.body)? {
        object @ Json::Object(_) => Some(object),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(body: &str) -> Reply<'_> {
        Reply { status: 200, body }
    }

    #[test]
    fn builds_the_endpoints() {
        assert_eq!(token_url("http://api.test/"), "http://api.test/v1/oauth/token/");
        assert_eq!(account_url("http://api.test/"), "http://api.test/v1/accounts/me/?retrieve_full=False");
    }

    #[test]
    fn token_must_belong_to_the_app() {
        assert_eq!(token(ok(r#"{"account_id":12,"client_id":"app","scope":"box"}"#), "app"), Ok(()));
        assert_eq!(token(ok(r#"{"client_id":"app"}"#), "app"), Ok(()));
        assert_eq!(
            token(ok(r#"{"account_id":12,"client_id":"other"}"#), "app"),
            Err(Error::ClientIdMismatch)
        );
    }

    #[test]
    fn bad_token_replies_fail_verification() {
        for reply in [
            Reply { status: 401, body: r#"{"account_id":12,"client_id":"app"}"# },
            Reply { status: 500, body: "" },
            ok("not json"),
            ok("[1]"),
            ok(r#"{"account_id":12}"#),
        ] {
            assert_eq!(token(reply, "app"), Err(Error::TokenVerificationFailed), "{reply:?}");
        }
    }

    #[test]
    fn replies_with_proto_keys_are_refused() {
        let polluted = r#"{"client_id":"app","__proto__":{"isAdmin":true}}"#;
        assert_eq!(token(ok(polluted), "app"), Err(Error::TokenVerificationFailed));
        assert_eq!(
            account(ok(r#"{"id":1,"meta":{"\u005f_proto__":{}}}"#)),
            Err(Error::AccountRetrievalFailed)
        );
    }

    #[test]
    fn account_reply_must_be_an_object() {
        assert_eq!(account(ok(r#"{"id":12}"#)).unwrap().get("id"), Some(&Json::Number("12".into())));
        assert_eq!(account(Reply { status: 404, body: "{}" }), Err(Error::AccountRetrievalFailed));
        assert_eq!(account(ok("<html>")), Err(Error::AccountRetrievalFailed));
    }
}
