//! The account API for an app's backend: `GET /v1/accounts/` (the app's accounts, in pages),
//! `GET /v1/accounts/{id}/` and `DELETE /v1/accounts/{id}/`, authorized by the app's API key
//! (`Authorization: APIKey <key>`, see [`crate::config::App::api_key`]) or by an account's own
//! bearer token, which sees that account only. An app never sees another app's accounts: they
//! answer 404 as if they did not exist. Server to server: no CORS.

use crate::AppState;
use crate::store::{Account, Grant};
use crate::token_api::api::{self, ApiError, account_json, storage_failed};
use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{FromRequestParts, Path, RawQuery, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kloudless_protocol::codes;
use serde_json::json;
use sha2::{Digest, Sha256};
use std::sync::Arc;

const INVALID_CREDENTIALS: ApiError = ApiError::new(
    StatusCode::UNAUTHORIZED,
    codes::INVALID_TOKEN,
    "Authorization: APIKey <the app's API key> or Bearer <an account's token> is required.",
);
const NO_ACCOUNT: ApiError = ApiError::new(StatusCode::NOT_FOUND, codes::NOT_FOUND, "No such account.");
const FORBIDDEN: ApiError =
    ApiError::new(StatusCode::FORBIDDEN, "forbidden", "The token does not grant access to this account.");
const BAD_PAGE: ApiError = ApiError::new(
    StatusCode::BAD_REQUEST,
    codes::INVALID_REQUEST,
    "Give at most page (a number from 1) and page_size (a number from 1 to 1000).",
);

/// The number of accounts per page unless `page_size` says otherwise.
pub const DEFAULT_PAGE_SIZE: i64 = 10;
/// The largest `page_size`.
pub const MAX_PAGE_SIZE: i64 = 1000;

/// Who is calling the account API.
#[derive(Clone, Debug, PartialEq)]
pub enum Caller {
    /// An app's backend, by its API key: all of that app's accounts.
    App {
        /// The app.
        client_id: String,
    },
    /// A bearer token of ours: its own account only.
    Account(Grant),
}

impl Caller {
    /// Whether this caller may see and delete `account`; an account of another app is
    /// [`NO_ACCOUNT`] to an app, another account is [`FORBIDDEN`] to a token.
    fn may_use(&self, account: &Account) -> Result<(), ApiError> {
        match self {
            Caller::App { client_id } if *client_id == account.client_id => Ok(()),
            Caller::App { .. } => Err(NO_ACCOUNT),
            Caller::Account(grant) if grant.account_id == account.id => Ok(()),
            Caller::Account(_) => Err(FORBIDDEN),
        }
    }
}

/// Whether the request's `Authorization` uses the `APIKey` scheme.
pub fn is_api_key(headers: &HeaderMap) -> bool {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split_once(' '))
        .is_some_and(|(scheme, _)| scheme.eq_ignore_ascii_case("apikey"))
}

/// The app whose API key is `key`. Keys are compared by their SHA-256 hashes, so the time taken
/// says nothing about how much of a key was right.
fn app_by_key<'c>(config: &'c crate::config::Config, key: &str) -> Option<&'c str> {
    let wanted = Sha256::digest(key.as_bytes());
    config
        .apps
        .iter()
        .find(|app| app.api_key.as_ref().is_some_and(|k| Sha256::digest(k.expose().as_bytes()) == wanted))
        .map(|app| app.client_id.as_str())
}

impl FromRequestParts<Arc<AppState>> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<AppState>) -> Result<Caller, ApiError> {
        api::one_authorization(&parts.headers)?;
        if is_api_key(&parts.headers) {
            let value = parts.headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).unwrap_or("");
            let key = value.split_once(' ').map_or("", |(_, key)| key.trim());
            return match app_by_key(&app.config, key) {
                Some(client_id) if !key.is_empty() => Ok(Caller::App { client_id: client_id.to_owned() }),
                _ => Err(INVALID_CREDENTIALS),
            };
        }
        let token = api::bearer_token(&parts.headers).ok_or(INVALID_CREDENTIALS)?;
        let grant = app.store.grant(token).await.map_err(|error| storage_failed(&error))?;
        grant.map(Caller::Account).ok_or(INVALID_CREDENTIALS)
    }
}

/// `page` (from 1, default 1) and `page_size` (1 to [`MAX_PAGE_SIZE`], default
/// [`DEFAULT_PAGE_SIZE`]) from a list's query string; no other parameter, none twice.
fn page(query: Option<&str>) -> Result<(i64, i64), ApiError> {
    let params = crate::params::parse(query.unwrap_or("").as_bytes()).map_err(|_| BAD_PAGE)?;
    if crate::params::repeated(&params).is_some() {
        return Err(BAD_PAGE);
    }
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
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let (number, size) = page(query.as_deref())?;
    let offset = (number - 1).checked_mul(size).ok_or(BAD_PAGE)?;
    let (total, accounts) = match &caller {
        Caller::App { client_id } => {
            app.store.app_accounts(client_id, size, offset).await.map_err(|error| storage_failed(&error))?
        }
        Caller::Account(grant) => {
            let own = app.store.account(grant.account_id).await.map_err(|error| storage_failed(&error))?;
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
    Ok(Json(body).into_response())
}

/// The account `id` (a number, or `me` for a token) if the caller may use it.
pub async fn find_account(app: &AppState, caller: &Caller, id: &str) -> Result<Account, ApiError> {
    let id = match (id, caller) {
        ("me", Caller::Account(grant)) => grant.account_id,
        _ => id.parse::<i64>().map_err(|_| NO_ACCOUNT)?,
    };
    let account = app.store.account(id).await.map_err(|error| storage_failed(&error))?;
    let account = account.ok_or(NO_ACCOUNT)?;
    caller.may_use(&account)?;
    Ok(account)
}

/// `GET /v1/accounts/{id}/`: with an API key, one of the app's accounts; otherwise the
/// library's bearer-token endpoint ([`api::account`], with its CORS and test faults).
pub async fn get(
    State(app): State<Arc<AppState>>,
    id: Result<Path<String>, PathRejection>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    if !is_api_key(&headers) {
        return api::account(State(app), id, RawQuery(query), headers, body).await;
    }
    if let Err(error) = api::check_input(query.as_deref(), &body) {
        return error.into_response();
    }
    let mut parts = match axum::http::Request::builder().body(()) {
        Ok(request) => request.into_parts().0,
        Err(_) => return INVALID_CREDENTIALS.into_response(),
    };
    parts.headers = headers;
    let caller = match Caller::from_request_parts(&mut parts, &app).await {
        Ok(caller) => caller,
        Err(error) => return error.into_response(),
    };
    let Ok(Path(id)) = id else { return NO_ACCOUNT.into_response() };
    match find_account(&app, &caller, &id).await {
        Ok(account) => Json(account_json(&app.config.services, &account)).into_response(),
        Err(error) => error.into_response(),
    }
}

/// `DELETE /v1/accounts/{id}/`: disconnects the account — revokes its upstream grant where the
/// provider has a revocation endpoint ([`revoke_upstream`]), then deletes it, our tokens for it
/// and its sealed upstream credentials. 204 No Content.
pub async fn delete(
    State(app): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let account = find_account(&app, &caller, &id).await?;
    revoke_upstream(&app, &account).await?;
    app.store.delete_account(account.id).await.map_err(|error| storage_failed(&error))?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Revokes an OAuth account's upstream grant — its refresh token, else its access token — at
/// the provider's revocation endpoint, if it has one. A provider that cannot be reached or
/// refuses is logged (its error code, never a token) and the account is disconnected anyway:
/// the user asked for it, and tokens kept because they could not be revoked would be worse.
pub async fn revoke_upstream(app: &AppState, account: &Account) -> Result<(), ApiError> {
    let Some(service) = crate::providers::services::find(&app.config.services, &account.service) else {
        return Ok(());
    };
    let crate::providers::services::Connect::Upstream(upstream) = &service.connect else { return Ok(()) };
    let sealed = app.store.upstream_credentials(account.id).await.map_err(|error| storage_failed(&error))?;
    let subject = app.store.account_subject(account.id).await.map_err(|error| storage_failed(&error))?;
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

const CREDENTIALS_NOT_ALLOWED: ApiError = ApiError::new(
    StatusCode::FORBIDDEN,
    "forbidden",
    "This app's configuration does not allow reading upstream credentials (allow_credentials).",
);
const NOT_OAUTH: ApiError =
    ApiError::new(StatusCode::NOT_FOUND, codes::NOT_FOUND, "This account has no upstream OAuth tokens.");
const REFRESH_FAILED: ApiError = ApiError::new(
    StatusCode::INTERNAL_SERVER_ERROR,
    "server_error",
    "The account's upstream tokens could not be read or refreshed.",
);

/// A failed refresh as an API reply: an inactive account is a 401 `account_inactive` with the
/// reason; an upstream failure a 502 (504 when it timed out) with its code.
pub fn refresh_failed(error: crate::accounts::refresh::RefreshError) -> Response {
    use crate::accounts::refresh::RefreshError;
    match error {
        RefreshError::Inactive(reason) => {
            let body = json!({
                "error": "account_inactive",
                "error_description": format!("The account's upstream grant no longer works ({reason}); connect it again."),
            });
            (StatusCode::UNAUTHORIZED, Json(body)).into_response()
        }
        RefreshError::Upstream(error) => {
            let status = if error.description.contains("did not answer in time") {
                StatusCode::GATEWAY_TIMEOUT
            } else {
                StatusCode::BAD_GATEWAY
            };
            let body = json!({ "error": error.code, "error_description": error.description });
            (status, Json(body)).into_response()
        }
        RefreshError::NotOAuth => NOT_OAUTH.into_response(),
        RefreshError::Server => REFRESH_FAILED.into_response(),
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
) -> Response {
    let mut response = upstream_token(&app, &caller, &id).await;
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// [`credentials`]' reply.
async fn upstream_token(app: &AppState, caller: &Caller, id: &str) -> Response {
    let Caller::App { client_id } = caller else { return CREDENTIALS_NOT_ALLOWED.into_response() };
    if !app.config.app(client_id).is_some_and(|a| a.allow_credentials) {
        return CREDENTIALS_NOT_ALLOWED.into_response();
    }
    let account = match find_account(app, caller, id).await {
        Ok(account) => account,
        Err(error) => return error.into_response(),
    };
    match crate::accounts::refresh::fresh_tokens(app, &account, None).await {
        Ok(tokens) => Json(json!({
            "access_token": tokens.access_token,
            "token_type": "Bearer",
            "expires_at": tokens.expires_at,
            "scope": tokens.scope,
        }))
        .into_response(),
        Err(error) => refresh_failed(error),
    }
}
