//! `POST /v1/upstream/{provider}/revocations`: where an upstream whose catalogue entry
//! describes a `revocation_notice` (GitHub's `github_app_authorization`, Slack's
//! `tokens_revoked`) tells us that a user revoked our app. Once the signature verifies under
//! the provider's `revocation_secret` ([`crate::providers::notice`]), the accounts of the
//! users it names, in every app, are deleted as `DELETE /v1/accounts/{id}/` deletes them
//! ([`api::disconnect`]), each adding `account.deleted` with the reason [`REASON`].
//!
//! A bad or missing signature, or a timestamp more than 5 minutes off: 401, nothing changed.
//! A notice naming no account of ours, or another event: 200, so that the upstream does not
//! send it again. Each notice is acted on once: its id is noted first
//! ([`crate::store::Store::note_notice`]), so the upstream's retry or a replay deletes
//! nothing more (and an account connected again after a notice is not deleted by an old copy
//! of it); if acting on it fails, the note is taken back and the upstream's retry does it.

use crate::AppState;
use crate::accounts::api;
use crate::clock::now_millis;
use crate::error::AppError;
use crate::providers::notice::{self, Notice};
use crate::providers::services::{self, Connect};
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use kloudless_protocol::codes;
use serde_json::{Value, json};
use std::sync::Arc;

/// The reason of the `account.deleted` events a notice adds.
pub const REASON: &str = "revoked_upstream";

/// How long a notice's id is kept against replays: 30 days, in ms (GitHub lets a delivery of
/// the past 3 days be redelivered; Slack retries within the hour).
pub const KEPT_MS: i64 = 30 * 24 * 3600 * 1000;

const NOT_TAKEN: AppError = AppError::fixed(
    StatusCode::NOT_FOUND,
    codes::NOT_FOUND,
    "This server takes no revocation notices from this provider (no revocation_secret).",
);
const NOT_JSON: AppError =
    AppError::fixed(StatusCode::BAD_REQUEST, codes::INVALID_REQUEST, "The notice is not JSON.");
const MALFORMED: AppError = AppError::fixed(
    StatusCode::BAD_REQUEST,
    codes::INVALID_REQUEST,
    "The notice names no id, or its users are not ids.",
);

/// `POST /v1/upstream/{provider}/revocations`: see the module's documentation.
pub async fn receive(
    State(app): State<Arc<AppState>>,
    Path(provider): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, AppError> {
    let service = services::find(&app.config.services, &provider).ok_or(NOT_TAKEN)?;
    let Connect::Upstream(upstream) = &service.connect else { return Err(NOT_TAKEN) };
    let (Some(described), Some(secret)) = (&upstream.entry.revocation_notice, &upstream.revocation_secret)
    else {
        return Err(NOT_TAKEN);
    };
    let now = now_millis();
    notice::verify(described.signature, secret.expose().as_bytes(), &headers, &body, now / 1000).map_err(
        |notice::Refused(why)| {
            tracing::warn!("a revocation notice for {provider} was refused: {why}");
            AppError::Refused {
                status: StatusCode::UNAUTHORIZED,
                code: "invalid_signature",
                message: format!("The notice's signature does not verify: {why}.").into(),
            }
        },
    )?;
    let parsed: Value = serde_json::from_slice(&body).map_err(|_| NOT_JSON)?;
    let (id, users) = match notice::read(described, &headers, &parsed).ok_or(MALFORMED)? {
        Notice::Challenge(challenge) => return Ok(Json(json!({ "challenge": challenge }))),
        Notice::Other => return Ok(Json(json!({ "deleted": 0 }))),
        Notice::Revoked { id, users } => (id, users),
    };
    if !app.store.note_notice(&service.id, &id, now).await? {
        return Ok(Json(json!({ "deleted": 0, "seen_before": true })));
    }
    match delete_accounts_of(&app, service, &users).await {
        Ok(deleted) => Ok(Json(json!({ "deleted": deleted }))),
        Err(error) => {
            if let Err(again) = app.store.forget_notice(&service.id, &id).await {
                tracing::error!("storage error while taking back a revocation notice: {again}");
            }
            Err(error)
        }
    }
}

/// Deletes the accounts of the upstream `users` at `service`, in every app: how many.
async fn delete_accounts_of(
    app: &AppState,
    service: &services::Service,
    users: &[String],
) -> Result<usize, AppError> {
    let ids: Vec<&str> =
        std::iter::once(service.id.as_str()).chain(service.aliases.iter().map(String::as_str)).collect();
    let mut deleted = 0;
    for user in users {
        for account in app.store.accounts_of_subject(&ids, user).await? {
            if api::disconnect(app, &account, Some(REASON)).await? {
                deleted += 1;
            }
        }
    }
    Ok(deleted)
}
