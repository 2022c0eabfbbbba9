//! The JWT bearer grant (RFC 7523 §2.1): a signed assertion exchanged at a token endpoint for
//! an access token, with no client secret and no refresh token — how an organisation-wide
//! provider's token for one user is minted ([`crate::providers::org`]).

use super::reply::TokenReply;
use super::{Http, Tokens, UpstreamError, now, read_limited};
use crate::providers::catalogue::Entry;

/// The grant type of RFC 7523 §2.1.
pub const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

impl Http {
    /// Exchanges `assertion` at `token_url` for `entry`'s provider, its reply read as the entry
    /// says. A refusal is the error the endpoint names (`unauthorized_client`, `invalid_grant`,
    /// …) with its description.
    pub async fn jwt_bearer(
        &self,
        entry: &Entry,
        token_url: &str,
        assertion: &str,
    ) -> Result<Tokens, UpstreamError> {
        let what = "token endpoint";
        let url = self.check(token_url, what)?;
        let form = [("grant_type", GRANT_TYPE), ("assertion", assertion)];
        let request = self.client.post(url).header(reqwest::header::ACCEPT, "application/json").form(&form);
        let response = request.send().await.map_err(|e| UpstreamError::unreachable(what, &e))?;
        let status = response.status();
        let bytes = read_limited(response).await.map_err(|e| UpstreamError::unreadable(what, &e))?;
        let refused = "The service refused to issue a token.";
        let Ok(reply) = serde_json::from_slice::<TokenReply>(&bytes) else {
            return Err(UpstreamError::new(
                "server_error",
                format!(
                    "The service's {what} answered with status {} and no readable reply.",
                    status.as_u16()
                ),
            ));
        };
        reply.tokens(entry, false, now(), refused)
    }
}
