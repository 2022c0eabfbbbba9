//! A code flow's request (`response_type=code`): its parameters checked against the app's
//! registered redirect URIs and PKCE rules, before the pop-up's own checks run. A leaf module,
//! so that the pop-up's request validation can use it without importing the code flow's handlers.

use crate::config::App;
use crate::params::single;

/// The `response_type` of the code flow.
pub const RESPONSE_TYPE: &str = "code";

/// The one PKCE method accepted.
const S256: &str = "S256";

/// What a code flow's request adds to a pop-up request.
#[derive(Clone, Debug, PartialEq)]
pub struct CodeRequest {
    /// The registered redirect URI the browser goes back to.
    pub redirect_uri: String,
    /// The PKCE `code_challenge` (S256), if given.
    pub code_challenge: Option<String>,
}

/// Checks the code flow's parameters of a request to `app`; the error is a sentence for the
/// user's error page (never a redirect: the redirect URI may be anyone's).
pub fn check(app: &App, params: &[(String, String)]) -> Result<CodeRequest, String> {
    let id = &app.client_id;
    if app.redirect_uris.is_empty() {
        return Err(format!("The response_type code needs redirect_uris registered for app {id}."));
    }
    let redirect_uri = single(params, "redirect_uri")?.unwrap_or_default();
    if !app.redirect_uris.iter().any(|registered| registered == redirect_uri) {
        return Err(format!(
            "The redirect_uri {redirect_uri:?} is not registered for app {id}: it must be one of its \
             redirect_uris exactly."
        ));
    }
    let method = single(params, "code_challenge_method")?;
    let code_challenge = single(params, "code_challenge")?;
    if method.is_some_and(|m| m != S256) || (method.is_some() && code_challenge.is_none()) {
        return Err(format!("The code_challenge_method must be {S256}, with a code_challenge."));
    }
    if code_challenge.is_some_and(|c| !is_pkce_text(c) || c.len() != 43) {
        return Err("The code_challenge is not an S256 challenge (43 base64url characters).".to_owned());
    }
    if app.public && code_challenge.is_none() {
        return Err(format!("App {id} is public: its code flow needs PKCE (code_challenge, {S256})."));
    }
    Ok(CodeRequest {
        redirect_uri: redirect_uri.to_owned(),
        code_challenge: code_challenge.map(str::to_owned),
    })
}

/// Whether `text` is made of PKCE's characters (RFC 7636 §4.1: unreserved URI characters).
pub(crate) fn is_pkce_text(text: &str) -> bool {
    text.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}
