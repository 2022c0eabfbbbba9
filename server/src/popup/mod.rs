//! The pop-up: the page the library opens (`/v1/oauth`: the chooser, the connect and credential
//! forms, the result page, [`oauth`]), bound to the browser that opened it ([`browser`]), and
//! the second channel for pages whose pop-up reads as closed: where each flow is ([`progress`])
//! and the one-time codes of results brought back to a return page ([`returns`]).

pub mod browser;
pub mod flow;
pub mod oauth;
pub mod prefill;
pub mod progress;
pub mod request;
pub mod returns;
pub mod settings;

use crate::AppState;
use crate::error;
use axum::Router;
use axum::routing::{get, post};
use kloudless_protocol::{ABANDON_PATH, POPUP_PATH, PROGRESS_PATH, REDEEM_PATH};
use std::sync::Arc;

/// The pop-up's routes. The pop-up's own page renders its errors as pages ([`error::as_pages`]);
/// the waiting page's calls get JSON.
pub fn router() -> Router<Arc<AppState>> {
    let as_pages = axum::middleware::from_fn(error::as_pages);
    Router::new()
        .route(POPUP_PATH, get(oauth::show).post(oauth::submit).layer(as_pages))
        .route(PROGRESS_PATH, post(progress::status))
        .route(ABANDON_PATH, post(progress::abandon))
        .route(REDEEM_PATH, post(returns::redeem))
}
