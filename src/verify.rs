//! The API server's replies → a verified token and the account metadata.

use crate::error::Error;
use crate::popup::api_url;
use kloudless_protocol::{OWN_ACCOUNT_PATH, TOKEN_PATH};

/// The token endpoint's reply, as the shell read it: its status and the `client_id` of its
/// JSON object (a string, or a number as its text; `None` when there is no such object or
/// member).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TokenReply<'a> {
    /// The HTTP status.
    pub status: u16,
    /// The token's app.
    pub client_id: Option<&'a str>,
}

/// The account endpoint's reply, as the shell read it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AccountReply {
    /// The HTTP status.
    pub status: u16,
    /// Whether its body is a JSON object (the account, handed to the callback as parsed).
    pub object: bool,
}

/// `{baseUrl}/v1/oauth/token/`, where a bearer token is verified.
pub fn token_url(base_url: &str) -> String {
    api_url(base_url, TOKEN_PATH)
}

/// `{baseUrl}/v1/accounts/me/?retrieve_full=False`: the token's own account.
pub fn account_url(base_url: &str) -> String {
    api_url(base_url, OWN_ACCOUNT_PATH)
}

/// Checks the token endpoint's reply: the token must belong to `client_id`. (The account is
/// fetched as `me`, the token's own, at the same time.)
pub fn token(reply: TokenReply, client_id: &str) -> Result<(), Error> {
    let owner = reply.client_id.filter(|_| reply.status == 200).ok_or(Error::TokenVerificationFailed)?;
    if owner == client_id { Ok(()) } else { Err(Error::ClientIdMismatch) }
}

/// Checks the account endpoint's reply: a JSON object, with status 200.
pub fn account(reply: AccountReply) -> Result<(), Error> {
    if reply.status == 200 && reply.object { Ok(()) } else { Err(Error::AccountRetrievalFailed) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_the_endpoints() {
        assert_eq!(token_url("http://api.test/"), "http://api.test/v1/oauth/token/");
        assert_eq!(account_url("http://api.test/"), "http://api.test/v1/accounts/me/?retrieve_full=False");
    }

    #[test]
    fn the_token_must_belong_to_the_app() {
        let reply = |status, client_id| TokenReply { status, client_id };
        assert_eq!(token(reply(200, Some("app")), "app"), Ok(()));
        assert_eq!(token(reply(200, Some("other")), "app"), Err(Error::ClientIdMismatch));
        assert_eq!(token(reply(200, None), "app"), Err(Error::TokenVerificationFailed));
        assert_eq!(token(reply(401, Some("app")), "app"), Err(Error::TokenVerificationFailed));
    }

    #[test]
    fn the_account_is_an_object_with_status_200() {
        assert_eq!(account(AccountReply { status: 200, object: true }), Ok(()));
        assert_eq!(account(AccountReply { status: 200, object: false }), Err(Error::AccountRetrievalFailed));
        assert_eq!(account(AccountReply { status: 500, object: true }), Err(Error::AccountRetrievalFailed));
    }
}
