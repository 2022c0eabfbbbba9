//! The account API for an app's backend and what keeps accounts usable: the accounts themselves
//! ([`api`], with the app's [`custom_properties`]), the pass-through calls to their providers
//! ([`raw`], streamed by [`relay`], with the caller's [`raw_headers`] and an API-key or basic
//! account's [`kept`] credential, checked again when refused: [`recheck`]), an
//! organisation-wide account's users ([`org_users`], acting as one of them: [`as_user`]), the
//! upstream token refresh
//! ([`refresh`], backing off by [`cooldown`] when it fails) and the idle accounts' sweep
//! ([`keep_alive`]), and the upstreams' revocation notices that delete accounts
//! ([`revocations`]). One folder because they share the account lookup and the refresh rules.

pub mod api;
pub mod as_user;
pub mod cooldown;
pub mod custom_properties;
pub mod keep_alive;
pub mod kept;
pub mod org_users;
pub mod raw;
pub mod raw_headers;
pub mod recheck;
pub mod refresh;
pub mod relay;
pub mod revocations;
pub mod settings;

use crate::AppState;
use axum::Router;
use axum::routing::{any, get, post};
use kloudless_protocol::ACCOUNTS_PATH;
use std::sync::Arc;

/// The account API's routes (the bearer-token preflight of `/v1/accounts/{id}` is
/// [`crate::token_api`]'s), and where upstreams send their revocation notices.
pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route(ACCOUNTS_PATH, get(api::list))
        .route(&format!("{ACCOUNTS_PATH}/{{id}}"), get(api::get).patch(api::update).delete(api::delete))
        .route(&format!("{ACCOUNTS_PATH}/{{id}}/raw"), any(raw::raw))
        .route(&format!("{ACCOUNTS_PATH}/{{id}}/credentials"), get(api::credentials))
        .route(&format!("{ACCOUNTS_PATH}/{{id}}/users"), get(org_users::list))
        .route("/v1/upstream/{provider}/revocations", post(revocations::receive))
}
