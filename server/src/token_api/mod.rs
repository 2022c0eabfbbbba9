//! The JSON API the library calls from the app's page: the token's grant
//! (`GET /v1/oauth/token/`; its `POST` is the code flow's exchange) and its own account (`GET /v1/accounts/me/`), CORS-enabled for the
//! apps' trusted origins ([`cors`]). Its error body and input checks ([`api`]) are shared by
//! the other JSON endpoints.

pub mod api;
pub mod cors;
pub mod endpoint;

use crate::AppState;
use axum::Router;
use axum::routing::{get, options};
use kloudless_protocol::{ACCOUNTS_PATH, TOKEN_PATH};
use std::sync::Arc;

/// The token endpoint (its `POST`: the code flow's exchange, [`crate::code_flow::exchange`]), and the CORS preflight of the account endpoint (whose `GET` the account
/// API routes here for bearer tokens: [`crate::accounts::api::get`]).
pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route(
            crate::routed(TOKEN_PATH),
            get(api::token).post(crate::code_flow::exchange::exchange).options(api::preflight),
        )
        .route(&format!("{ACCOUNTS_PATH}/{{id}}"), options(api::preflight))
}
