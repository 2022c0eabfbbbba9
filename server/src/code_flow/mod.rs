//! The server-side code flow (RFC 6749 §4.1), as Kloudless ran it for app servers and as its
//! SDKs drive it: the app's server sends the browser to
//! `/v1/oauth?response_type=code&client_id&redirect_uri&state[&scope][&code_challenge&code_challenge_method=S256]`;
//! the user goes through the pop-up's own chooser, forms and broker; then the browser is sent
//! (303) to `redirect_uri` with `code` and `state`, or with `error`, `error_description` and
//! `state` ([`redirect`]); so is a request refused once its app and `redirect_uri` are known
//! good (a bad `scope`, `response_type`, PKCE or `extra_data`: [`ErrorRedirect`]). The app's
//! server exchanges the code for the token at `POST /v1/oauth/token` with its API key
//! ([`exchange`]).
//!
//! `redirect_uri` must be one of the app's registered `redirect_uris`, character for character:
//! anything else (another path, a trailing slash) gets an error page, never a redirect. A code
//! is random (256 bits), kept only as its hash, good once and for [`CODE_LIFETIME`], and
//! bound to the app, the redirect URI, the account and the PKCE challenge; a second use is
//! refused and revokes the token the first one gave. The token is the pop-up's own kind, issued
//! when the account is connected and kept sealed under the code until the exchange.

pub mod exchange;
pub mod request;

pub use request::{CodeRequest, ErrorRedirect, RESPONSE_TYPE};

use crate::AppState;
use crate::clock::now_millis;
use crate::popup::request::AuthRequest;
use crate::store::{self, AuthorizationCode, hash, new_token};
use axum::response::Response;
use kloudless_protocol::OAuthResult;
use std::time::Duration;

/// How long a code may wait for its exchange.
pub const CODE_LIFETIME: Duration = Duration::from_secs(60);

/// How long (ms) a code is kept past its expiry, to recognise (and answer by revoking its
/// token) a second use: the sweep deletes it then, revoking the token of a code never used.
pub const USED_CODES_KEPT_MS: i64 = 10 * 60 * 1000;

/// The end of a code flow: a 303 to its redirect URI with a code for the token of a success
/// (or `server_error` when the code cannot be kept), or with the failure; `state` always.
pub async fn redirect(
    app: &AppState,
    request: &AuthRequest,
    code: &CodeRequest,
    data: &OAuthResult,
) -> Response {
    let outcome: Vec<(&str, String)> = match data {
        OAuthResult::Success { access_token, state, .. } => {
            match mint(app, request, code, access_token).await {
                Ok(minted) => vec![("code", minted), ("state", state.clone())],
                Err(error) => {
                    tracing::error!("storage error while keeping a code: {error}");
                    let why = "The code could not be kept; try again.".to_owned();
                    vec![
                        ("error", "server_error".to_owned()),
                        ("error_description", why),
                        ("state", state.clone()),
                    ]
                }
            }
        }
        OAuthResult::Failure { error, error_description, state } => vec![
            ("error", error.clone()),
            ("error_description", error_description.clone()),
            ("state", state.clone()),
        ],
    };
    request::back(&code.redirect_uri, outcome)
}

/// What seals a code's token to it: the hash of the code, so a row cannot be opened under
/// another code.
fn owner(code_hash: &str) -> Vec<u8> {
    ["authorization code ", code_hash].concat().into_bytes()
}

/// Mints a code for `access_token`, just issued for `request`; returns it.
async fn mint(
    app: &AppState,
    request: &AuthRequest,
    code: &CodeRequest,
    access_token: &str,
) -> Result<String, store::Error> {
    let grant =
        app.store.grant(access_token).await?.ok_or(store::Error::Database(sqlx::Error::RowNotFound))?;
    let minted = new_token()?;
    let code_hash = hash(&minted);
    let sealed_token =
        app.secrets.seal(access_token.as_bytes(), &owner(&code_hash)).map_err(store::Error::Random)?;
    let stored = AuthorizationCode {
        client_id: request.client_id.clone(),
        redirect_uri: code.redirect_uri.clone(),
        account_id: grant.account_id,
        code_challenge: code.code_challenge.clone(),
        token_hash: hash(access_token),
        sealed_token,
    };
    let lifetime = i64::try_from(CODE_LIFETIME.as_millis()).unwrap_or(i64::MAX);
    app.store.put_authorization_code(&code_hash, &stored, now_millis().saturating_add(lifetime)).await?;
    Ok(minted)
}
