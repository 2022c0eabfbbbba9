//! A denial without `state`. Some providers (authlib-based ones, for example) redirect an error
//! such as `?error=access_denied` to the callback without the `state` they were given. Without
//! it, the callback cannot name the flow it ends; but the pop-up's browser carries its binding
//! cookie ([`crate::popup::browser`]), and each pending request keeps its provider and that
//! browser's hash. So an error without state, on a provider's own callback path, with the
//! cookie, ends the one flow that browser has open at that provider, once, with the provider's
//! error: the app hears `access_denied` rather than, later, `popup_closed`.
//!
//! Anything else keeps the error page (400), and no flow ends: no cookie, a cookie with no flow
//! open at that provider, the bare callback path (no provider), or several flows open at that
//! provider in that browser — which one was denied cannot be told, so none is ended; each still
//! ends by its own state. An error is all such a return can bring: a `code` without state is
//! never exchanged. Like the provider's own denial page, any site can send the browser to this
//! URL (the cookie is `SameSite=Lax`): the most it can do is end the flow with an error, which
//! the user can start again; nothing is connected.

use super::{NOT_RESUMED, Pending, open_pending};
use crate::AppState;
use crate::clock::millis;
use crate::error::AppError;
use crate::popup::browser::Browser;
use crate::store::{OpenAt, PendingAt};
use std::time::SystemTime;

/// The refusal of a return without a usable state.
pub const NO_STATE: &str = "The sign-in's return has no valid state.";

/// The refusal when several flows are open at the provider in this browser.
const SEVERAL: &str = "The service's answer carries no state, and more than one sign-in with it is open \
     in this browser, so it cannot tell which one it answers: close the other sign-in windows and \
     start again from the app.";

/// The pending request of the one flow `browser` has open at `provider` (the callback path's),
/// taken: the flow an error without state ends. Refused as the module says otherwise.
pub async fn denied(
    app: &AppState,
    provider: Option<&str>,
    browser: Option<&Browser>,
) -> Result<Pending, AppError> {
    let (Some(service), Some(browser)) = (provider, browser) else {
        return Err(AppError::bad_request(NO_STATE));
    };
    let at = PendingAt { service, browser: Some(browser.hash()) };
    let open = app.store.take_only_upstream_state(at, millis(SystemTime::now())).await;
    match open.map_err(AppError::storage(NOT_RESUMED))? {
        OpenAt::One { state_hash, sealed } => open_pending(app, &state_hash, &sealed),
        OpenAt::None => Err(AppError::bad_request(NO_STATE)),
        OpenAt::Several => Err(AppError::bad_request(SEVERAL)),
    }
}
