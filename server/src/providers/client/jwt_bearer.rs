//! The grants of organisation-wide providers ([`crate::providers::org`]), with no user present
//! and no refresh token: the JWT bearer grant (RFC 7523 §2.1, a signed assertion exchanged
//! for one user's token: Google) and the client-credentials grant (RFC 6749 §4.4, our client
//! id and secret exchanged for a tenant's token: Microsoft).

use super::reply::TokenReply;
use super::{Http, Tokens, UpstreamError, now, read_limited};
use crate::providers::catalogue::Entry;
use crate::providers::org::microsoft::{AppCredential, ClientAuth};

/// The grant type of RFC 7523 §2.1.
pub const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/// The client assertion type of RFC 7523 §2.2 (`private_key_jwt`).
pub const CLIENT_ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

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
        self.grant(entry, token_url, &[("grant_type", GRANT_TYPE), ("assertion", assertion)]).await
    }

    /// The client-credentials grant at `token_url` for `scopes` (none: no `scope`) with the
    /// provider's `extra` parameters (Box's `box_subject_type` and `box_subject_id`), at `now`,
    /// our client authenticated by `client_secret_post` or by a certificate's assertion
    /// (`private_key_jwt`), the two forms Microsoft documents:
    /// <https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-client-creds-grant-flow#get-a-token>.
    /// A refusal is as for [`Http::jwt_bearer`].
    pub async fn client_credentials(
        &self,
        entry: &Entry,
        token_url: &str,
        app: &AppCredential,
        scopes: &[String],
        extra: &[(&str, &str)],
        now: u64,
    ) -> Result<Tokens, UpstreamError> {
        let scope = scopes.join(" ");
        let mut form = vec![("grant_type", "client_credentials"), ("client_id", app.client_id.as_str())];
        if !scope.is_empty() {
            form.push(("scope", scope.as_str()));
        }
        form.extend_from_slice(extra);
        let assertion;
        match &app.auth {
            ClientAuth::Secret(secret) => form.push(("client_secret", secret.expose())),
            ClientAuth::Certificate(certificate) => {
                assertion = certificate.assertion(&app.client_id, token_url, now).map_err(|e| {
                    tracing::error!("{}: {e}", entry.id);
                    UpstreamError::new("server_error", "The service is not fully configured.")
                })?;
                form.push(("client_assertion_type", CLIENT_ASSERTION_TYPE));
                form.push(("client_assertion", &assertion));
            }
        }
        self.grant(entry, token_url, &form).await
    }

    /// Posts `form` to `token_url` and reads the tokens of the reply as `entry` says.
    async fn grant(
        &self,
        entry: &Entry,
        token_url: &str,
        form: &[(&str, &str)],
    ) -> Result<Tokens, UpstreamError> {
        let what = "token endpoint";
        let url = self.check(token_url, what)?;
        let request = self.client.post(url).header(reqwest::header::ACCEPT, "application/json").form(form);
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
