//! What happens to an app's accounts, told to the app: events written to an outbox in the
//! transaction of the change they report ([`crate::store`]'s `record_event!`), sent signed
//! ([`signature`]) to the app's webhook ([`settings`]) by every instance's [`sender`] with
//! retries ([`retry`]), and readable and redeliverable through the [`api`].

pub mod api;
pub mod retry;
pub mod sender;
pub mod settings;
pub mod signature;

use crate::AppState;
use crate::clock::rfc3339;
use crate::providers::services::Service;
use crate::store::{Account, Event};
use crate::token_api::api::account_json;
use axum::Router;
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;

/// How long events are kept (and listed by `GET /v1/events`): 30 days, in ms.
pub const KEPT_MS: i64 = 30 * 24 * 3600 * 1000;

/// The events' routes.
pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/v1/events", get(api::list))
        .route("/v1/events/{id}/redeliver", post(api::redeliver))
        .route("/v1/webhook/deliveries", get(api::deliveries))
}

/// An event's stored payload.
#[derive(Deserialize)]
struct Payload {
    account: Account,
    reason: Option<String>,
}

/// An event as the webhook's body and the API show it, in the shape of Kloudless's v1 event
/// objects (<https://developers.kloudless.com/docs/v1/events>): its `id`, `type`, the `account`'s
/// id, when it happened (`modified`), the user's `ip` (never known here: null) and the resource
/// it is about as `metadata` — the account as it was, as the account API shows it; with the
/// `app` and the `reason`, if any.
pub fn event_json(services: &[Service], event: &Event) -> Result<Value, serde_json::Error> {
    let payload: Payload = serde_json::from_str(&event.payload)?;
    Ok(json!({
        "id": event.id,
        "type": event.kind,
        "account": event.account_id,
        "modified": rfc3339(event.created),
        "ip": null,
        "metadata": account_json(services, &payload.account),
        "app": event.client_id,
        "reason": payload.reason,
    }))
}
