//! The account API for an app's backend: `GET /v1/accounts/` (the app's accounts, in pages),
//! `GET /v1/accounts/{id}/`, `PATCH /v1/accounts/{id}/` (its `custom_properties`) and
//! `DELETE /v1/accounts/{id}/`, authorized by the app's API key
//! (`Authorization: APIKey <key>`, see [`crate::config::App::api_key`]) or by an account's own
//! bearer token, which sees that account only. An app never sees another app's accounts: they
//! answer 404 as if they did not exist. Server to server: no CORS.

use crate::AppState;
use crate::accounts::as_user;
use crate::accounts::custom_properties;
use crate::accounts::refresh::RefreshError;
use crate::error::AppError;
use crate::extract::{Bearer, Caller, StrictQuery, is_api_key};
use crate::store::Account;
use crate::token_api::api::{self, account_json};
use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kloudless_protocol::codes;
use serde_json::{Value, json};
use std::sync::Arc;

const NO_ACCOUNT: AppError = AppError::fixed(StatusCode::NOT_FOUND, codes::NOT_FOUND, "No such account.");
const FORBIDDEN: AppError =
    AppError::fixed(StatusCode::FORBIDDEN, "forbidden", "The token does not grant access to this account.");
const BAD_PAGE: AppError = AppError::fixed(
    StatusCode::BAD_REQUEST,
    codes::INVALID_REQUEST,
    "Give at most page (a number from 1) and page_size (a number from 1 to 1000).",
);

/// The number of accounts per page unless `page_size` says otherwise.
pub const DEFAULT_PAGE_SIZE: i64 = 10;
/// The largest `page_size`.
pub const MAX_PAGE_SIZE: i64 = 1000;

/// Whether `caller` may see and delete `account`; an account of another app is [`NO_ACCOUNT`]
/// to an app, another account is [`FORBIDDEN`] to a token.
fn may_use(caller: &Caller, account: &Account) -> Result<(), AppError> {
    match caller {
        Caller::App { client_id } if *client_id == account.client_id => Ok(()),
        Caller::App { .. } => Err(NO_ACCOUNT),
        Caller::Account(grant) if grant.account_id == account.id => Ok(()),
        Caller::Account(_) => Err(FORBIDDEN),
    }
}

/// `page` (from 1, default 1) and `page_size` (1 to [`MAX_PAGE_SIZE`], default
/// [`DEFAULT_PAGE_SIZE`]) from a list's query string; no other parameter, none twice.
fn page(query: Result<StrictQuery, AppError>) -> Result<(i64, i64), AppError> {
    let params = query.and_then(StrictQuery::once_each).map_err(|_| BAD_PAGE)?;
    let (mut number, mut size) = (1, DEFAULT_PAGE_SIZE);
    for (name, value) in &params {
        let value = value.parse::<i64>().map_err(|_| BAD_PAGE)?;
        match name.as_str() {
            "page" => number = value,
            "page_size" => size = value,
            _ => return Err(BAD_PAGE),
        }
    }
    if number < 1 || !(1..=MAX_PAGE_SIZE).contains(&size) {
        return Err(BAD_PAGE);
    }
    Ok((number, size))
}

/// `GET /v1/accounts/`: the app's accounts (an API key), or the token's own account (a bearer
/// token), oldest first, `page_size` (default 10, at most 1000) per `page` (from 1).
pub async fn list(
    State(app): State<Arc<AppState>>,
    caller: Caller,
    query: Result<StrictQuery, AppError>,
) -> Result<impl IntoResponse, AppError> {
    let (number, size) = page(query)?;
    let offset = (number - 1).checked_mul(size).ok_or(BAD_PAGE)?;
    let (total, accounts) = match &caller {
        Caller::App { client_id } => app.store.app_accounts(client_id, size, offset).await?,
        Caller::Account(grant) => {
            let own = app.store.account(grant.account_id).await?;
            let total = i64::from(own.is_some());
            (total, own.into_iter().filter(|_| offset == 0).collect())
        }
    };
    let objects: Vec<_> = accounts.iter().map(|a| account_json(&app.config.services, a)).collect();
    let next_page = (offset + size < total).then_some(number + 1);
    let body = json!({
        "total": total,
        "count": objects.len(),
        "page": number,
        "page_size": size,
        "next_page": next_page,
        "objects": objects,
        "type": "object_list",
        "api": "meta",
    });
    Ok(Json(body))
}

/// The account `id` (a number, or `me` for a token) if the caller may use it.
pub async fn find_account(app: &AppState, caller: &Caller, id: &str) -> Result<Account, AppError> {
    let id = match (id, caller) {
        ("me", Caller::Account(grant)) => grant.account_id,
        _ => id.parse::<i64>().map_err(|_| NO_ACCOUNT)?,
    };
    let account = app.store.account(id).await?.ok_or(NO_ACCOUNT)?;
    may_use(caller, &account)?;
    Ok(account)
}

/// `GET /v1/accounts/{id}/`: with an API key, one of the app's accounts; otherwise the
/// library's bearer-token endpoint ([`api::account`], with its CORS and test faults).
pub async fn get(
    State(app): State<Arc<AppState>>,
    id: Result<Path<String>, PathRejection>,
    query: Result<StrictQuery, AppError>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    if !is_api_key(&headers) {
        let bearer = Bearer::from_headers(&headers);
        return api::account(State(app), id, query, bearer, headers, body).await;
    }
    app_account(&app, id, query, &headers, &body).await.into_response()
}

/// [`get`] with an API key: the app's account `id`.
async fn app_account(
    app: &AppState,
    id: Result<Path<String>, PathRejection>,
    query: Result<StrictQuery, AppError>,
    headers: &HeaderMap,
    body: &Result<Bytes, BytesRejection>,
) -> Result<impl IntoResponse, AppError> {
    api::check_input(query, body)?;
    let caller = Caller::from_headers(app, headers).await?;
    let Path(id) = id.map_err(|_| NO_ACCOUNT)?;
    let account = find_account(app, &caller, &id).await?;
    Ok(Json(account_json(&app.config.services, &account)))
}

const APP_ONLY: AppError =
    AppError::fixed(StatusCode::FORBIDDEN, "forbidden", "Only the app's API key may change an account.");
const NOT_AN_UPDATE: AppError = AppError::fixed(
    StatusCode::BAD_REQUEST,
    codes::INVALID_REQUEST,
    "Send a JSON object with custom_properties, the one field that can be changed.",
);

/// `PATCH /v1/accounts/{id}/` with the app's API key and `{"custom_properties": {...}}`:
/// replaces the account's custom properties ([`custom_properties`]) and answers the account.
/// Anything else in the body, or properties that are not an object of at most 4 KiB, is a 400
/// and changes nothing.
pub async fn update(
    State(app): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<impl IntoResponse, AppError> {
    if !matches!(caller, Caller::App { .. }) {
        return Err(APP_ONLY);
    }
    let account = find_account(&app, &caller, &id).await?;
    let body: Value = body.ok().and_then(|bytes| serde_json::from_slice(&bytes).ok()).ok_or(NOT_AN_UPDATE)?;
    let properties = match body.as_object() {
        Some(fields) if fields.len() == 1 => fields.get(custom_properties::PARAM).ok_or(NOT_AN_UPDATE)?,
        _ => return Err(NOT_AN_UPDATE),
    };
    let text = custom_properties::check(properties).map_err(AppError::bad_request)?;
    if !app.store.set_custom_properties(account.id, &text).await? {
        return Err(NO_ACCOUNT);
    }
    let updated = app.store.account(account.id).await?.ok_or(NO_ACCOUNT)?;
    Ok(Json(account_json(&app.config.services, &updated)))
}

/// `DELETE /v1/accounts/{id}/`: disconnects the account — revokes its upstream grant where the
/// provider has a revocation endpoint ([`revoke_upstream`]), then deletes it, our tokens for it
/// and its sealed upstream credentials. 204 No Content.
pub async fn delete(
    State(app): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, AppError> {
    let account = find_account(&app, &caller, &id).await?;
    disconnect(&app, &account, None).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Disconnects `account`: revokes its upstream grant ([`revoke_upstream`]), then deletes it
/// with everything kept for it, adding `account.deleted` with `reason`. Returns whether it
/// still existed.
pub async fn disconnect(app: &AppState, account: &Account, reason: Option<&str>) -> Result<bool, AppError> {
    revoke_upstream(app, account).await?;
    Ok(app.store.delete_account_because(account.id, reason).await?)
}

/// Revokes an OAuth account's upstream grant — its refresh token, else its access token — at
/// the provider's revocation endpoint, if it has one. A provider that cannot be reached or
/// refuses is logged (its error code, never a token) and the account is disconnected anyway:
/// the user asked for it, and tokens kept because they could not be revoked would be worse.
pub async fn revoke_upstream(app: &AppState, account: &Account) -> Result<(), AppError> {
    let Some(service) = crate::providers::services::find(&app.config.services, &account.service) else {
        return Ok(());
    };
    let crate::providers::services::Connect::Upstream(upstream) = &service.connect else { return Ok(()) };
    let sealed = app.store.upstream_credentials(account.id).await?;
    let subject = app.store.account_subject(account.id).await?;
    let (Some(sealed), Some(subject)) = (sealed, subject) else { return Ok(()) };
    let owner = crate::secrets::account_owner(&account.client_id, &account.service, &subject);
    let tokens = app
        .secrets
        .open(&sealed, owner.as_bytes())
        .ok()
        .and_then(|plain| serde_json::from_slice::<crate::providers::client::Tokens>(&plain).ok());
    let Some(tokens) = tokens else {
        tracing::warn!("account {}: its upstream tokens do not open; not revoked", account.id);
        return Ok(());
    };
    let (token, hint) = match &tokens.refresh_token {
        Some(refresh) => (refresh.as_str(), "refresh_token"),
        None => (tokens.access_token.as_str(), "access_token"),
    };
    let revoked = match app.http.endpoints(upstream, tokens.hostname.as_deref()).await {
        Ok(endpoints) => app.http.revoke(upstream, &endpoints, token, hint).await,
        Err(error) => Err(error),
    };
    if let Err(error) = revoked {
        tracing::warn!(
            "account {}: upstream revocation failed ({}); disconnected anyway",
            account.id,
            error.code
        );
    }
    Ok(())
}

const CREDENTIALS_NOT_ALLOWED: AppError = AppError::fixed(
    StatusCode::FORBIDDEN,
    "forbidden",
    "This app's configuration does not allow reading upstream credentials (allow_credentials).",
);
const NOT_OAUTH: AppError =
    AppError::fixed(StatusCode::NOT_FOUND, codes::NOT_FOUND, "This account has no upstream OAuth tokens.");
const REFRESH_FAILED: AppError = AppError::fixed(
    StatusCode::INTERNAL_SERVER_ERROR,
    "server_error",
    "The account's upstream tokens could not be read or refreshed.",
);

/// A failed refresh as an API error: an inactive account is a 401 `account_inactive` with the
/// reason; an upstream failure a 502 (504 when it timed out) with its code; the cooldown after
/// one a 503 with the same code and `Retry-After` (whole seconds, rounded up).
impl From<RefreshError> for AppError {
    fn from(error: RefreshError) -> AppError {
        match error {
            RefreshError::Inactive(reason) => AppError::Inactive(reason),
            RefreshError::Upstream(error) => error.into(),
            RefreshError::CoolingDown { error, retry_after } => {
                let retry_after = u64::try_from(retry_after.as_millis().div_ceil(1000)).unwrap_or(u64::MAX);
                AppError::CoolingDown { error, retry_after }
            }
            RefreshError::NotOAuth => NOT_OAUTH,
            RefreshError::Server => REFRESH_FAILED,
        }
    }
}

/// `GET /v1/accounts/{id}/credentials/`: the account's current upstream access token, refreshed
/// first if due ([`crate::accounts::refresh`]) — to the app's API key only, and only when the app's
/// configuration has `allow_credentials = true`. Never stored by a cache (`Cache-Control:
/// no-store`).
pub async fn credentials(
    State(app): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
    query: Result<StrictQuery, AppError>,
) -> impl IntoResponse {
    let no_store = [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))];
    (no_store, upstream_token(&app, &caller, &id, query).await)
}

const BAD_CREDENTIALS_QUERY: AppError = AppError::fixed(
    StatusCode::BAD_REQUEST,
    codes::INVALID_REQUEST,
    "Give at most as_user (the user of an organisation-wide account to act as), once.",
);

/// [`credentials`]' reply: on an organisation-wide account, the token of the user `as_user`
/// names (default: its admin, [`as_user::tokens`]).
async fn upstream_token(
    app: &AppState,
    caller: &Caller,
    id: &str,
    query: Result<StrictQuery, AppError>,
) -> Result<Json<Value>, AppError> {
    let Caller::App { client_id } = caller else { return Err(CREDENTIALS_NOT_ALLOWED) };
    if !app.config.app(client_id).is_some_and(|a| a.allow_credentials) {
        return Err(CREDENTIALS_NOT_ALLOWED);
    }
    let params = query.and_then(StrictQuery::once_each).map_err(|_| BAD_CREDENTIALS_QUERY)?;
    if params.iter().any(|(name, _)| name != "as_user") {
        return Err(BAD_CREDENTIALS_QUERY);
    }
    let account = find_account(app, caller, id).await?;
    let org = as_user::provider(app, &account);
    let user = params.first().map(|(_, value)| as_user::user(value, org.is_some())).transpose()?;
    let tokens = as_user::tokens(app, &account, org, user.as_deref(), None).await?;
    Ok(Json(json!({
        "access_token": tokens.access_token,
        "token_type": "Bearer",
        "expires_at": tokens.expires_at,
        "scope": tokens.scope,
    })))
}
