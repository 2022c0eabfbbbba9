//! A flow's admission and its end, shared by the pop-up's handlers and the broker's callback:
//! a validated request admitted in its browser ([`admitted`]) and its result page ([`deliver`]).

use crate::AppState;
use crate::error::AppError;
use crate::pages;
use crate::popup::browser::{self, Browser};
use crate::popup::request::AuthRequest;
use crate::popup::returns;
use crate::sign_in;
use crate::store;
use axum::response::Response;
use kloudless_protocol::{OAuthResult, codes};
use std::time::SystemTime;

/// The sentence of a page whose flow could not be started (or resumed) for a server failure.
pub const NOT_STARTED: &str = "The sign-in could not be started; try again.";

/// What [`admitted`] decided for a flow.
pub enum Admission {
    /// The flow goes on, in the browser it was admitted in.
    Admitted(Box<AuthRequest>),
    /// The flow's sign-in token does not admit it: the flow ends on its result page, which
    /// gives the page's callback `invalid_sign_in_token`.
    Ended(Response),
}

/// The validated `request` once it comes from a `browser` ([`browser::check`]) and its sign-in
/// token admits it there ([`sign_in::admit`]), with its browser; or the result page with
/// `invalid_sign_in_token`; or the refusal.
pub async fn admitted(
    app: &AppState,
    mut request: AuthRequest,
    browser: Option<&Browser>,
) -> Result<Admission, AppError> {
    browser::check(browser, None)?;
    let hash = browser.map(Browser::hash).unwrap_or_default();
    match sign_in::admit(app, &request, hash).await.map_err(AppError::storage(NOT_STARTED))? {
        Ok(bound_to) => {
            browser::check(browser, bound_to.as_deref())?;
            request.browser = Some(hash.to_owned());
            Ok(Admission::Admitted(Box::new(request)))
        }
        Err(sign_in::InvalidToken(code, description)) => {
            let refused = failure(&request, code, description);
            Ok(Admission::Ended(deliver(app, &request, &refused).await))
        }
    }
}

/// The failure result `error` with `description` and the page's state.
pub fn failure(request: &AuthRequest, error: &str, description: &str) -> OAuthResult {
    OAuthResult::Failure {
        error: error.to_owned(),
        error_description: description.to_owned(),
        state: request.state.clone(),
    }
}

/// The result of a denial: `access_denied`, with the page's state.
pub fn denied(request: &AuthRequest) -> OAuthResult {
    failure(request, codes::ACCESS_DENIED, "The user denied access.")
}

/// The result page for `request`, with (when the flow has a return page) a one-time code for its
/// result to bring back there, the flow noted as returned; or, for the code flow, the redirect
/// with a code ([`crate::code_flow::redirect`]). The flow's sign-in token ends with it.
pub async fn deliver(app: &AppState, request: &AuthRequest, data: &OAuthResult) -> Response {
    sign_in::end(app, request).await;
    if let Some(code) = &request.code_flow {
        return crate::code_flow::redirect(app, request, code, data).await;
    }
    let message = pages::message(&request.request_id, data);
    let code = match &request.return_to {
        Some(_) => returned(app, request, &message).await,
        None => None,
    };
    let back = request
        .return_to
        .as_ref()
        .zip(code.as_deref())
        .map(|(return_to, code)| pages::Back { return_to, code });
    let locale = crate::i18n::Locale::for_params(&request.params);
    pages::result(locale, &request.request_id, &request.origin, back, &message, data)
}

/// For a flow with a return page: a one-time code for its result `message` ([`returns`]), the
/// flow noted as returned. `None` when the code cannot be kept (the result then goes by
/// postMessage only).
async fn returned(app: &AppState, request: &AuthRequest, message: &str) -> Option<String> {
    let browser = request.browser.as_deref().unwrap_or_default();
    let flow = store::CodeFlow {
        client_id: &request.client_id,
        request_id: &request.request_id,
        origin: &request.origin,
    };
    let code = returns::mint(app, flow, message)
        .await
        .map_err(|error| tracing::error!("storage error: {error}"))
        .ok()?;
    if let Err(error) =
        app.progress.returned(&request.request_id, &request.client_id, browser, SystemTime::now()).await
    {
        // The code still goes back; only a progress check may find the flow unknown.
        tracing::error!("storage error: {error}");
    }
    Some(code)
}
