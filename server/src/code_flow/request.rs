//! A code flow's request (`response_type=code`): its parameters checked against the app's
//! registered redirect URIs and PKCE rules, before the pop-up's own checks run; and where a
//! request refused once its app and redirect URI are known good goes: back to that URI
//! ([`ErrorRedirect`], RFC 6749 §4.1.2.1). A leaf module, so that the pop-up's request
//! validation and the error type can use it without importing the code flow's handlers.

use crate::config::App;
use crate::params::single;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

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

/// A request refused after its app and its `redirect_uri` were found good (one of the app's
/// registered `redirect_uris`): the browser goes back there (303) with `error`,
/// `error_description` and the request's `state`, if it had one (RFC 6749 §4.1.2.1).
#[derive(Clone, Debug, PartialEq)]
pub struct ErrorRedirect {
    /// The registered redirect URI.
    pub redirect_uri: String,
    /// The request's `state`, given once.
    pub state: Option<String>,
    /// The error code (`invalid_request`, `invalid_scope`, …).
    pub error: &'static str,
    /// What is wrong, for the app's developer.
    pub description: String,
}

impl ErrorRedirect {
    /// Where `params` go back to when refused for `app`: its `redirect_uri`, when given once and
    /// registered for `app` (an app without any has no code flow), with the `state` given once.
    /// `None`: the request is refused on an error page, never redirected.
    pub fn target(app: &App, params: &[(String, String)]) -> Option<(String, Option<String>)> {
        let redirect_uri = single(params, "redirect_uri").ok().flatten()?;
        app.redirect_uris.iter().any(|registered| registered == redirect_uri).then(|| {
            let state = single(params, "state").ok().flatten().map(str::to_owned);
            (redirect_uri.to_owned(), state)
        })
    }
}

/// Why an authorization request (the pop-up's or a code flow's) was refused: on the user's
/// error page, or, for a code flow whose app and redirect URI are known good, back at its
/// redirect URI.
#[derive(Clone, Debug, PartialEq)]
pub enum Invalid {
    /// The error page's code (a setup error, see [`kloudless_protocol::codes::SETUP_ERRORS`])
    /// and sentence.
    Page(&'static str, String),
    /// The way back to the redirect URI.
    Back(ErrorRedirect),
}

impl IntoResponse for ErrorRedirect {
    fn into_response(self) -> Response {
        let pairs = [("error", self.error.to_owned()), ("error_description", self.description)];
        back(&self.redirect_uri, pairs.into_iter().chain(self.state.map(|state| ("state", state))))
    }
}

/// The 303 to the (registered, so well-formed) `redirect_uri` with `pairs` added to its query.
pub fn back<'k>(redirect_uri: &str, pairs: impl IntoIterator<Item = (&'k str, String)>) -> Response {
    let Ok(mut url) = url::Url::parse(redirect_uri) else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    url.query_pairs_mut().extend_pairs(pairs);
    (StatusCode::SEE_OTHER, [(header::LOCATION, url.to_string())]).into_response()
}

/// Checks the code flow's parameters of a request to `app`; the error is a sentence (on the
/// user's error page when the redirect URI is not registered: it may be anyone's).
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
